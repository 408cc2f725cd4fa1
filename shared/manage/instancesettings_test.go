package manage_test

import (
	"maps"
	"strings"
	"testing"

	"github.com/wagate/wagate/shared/manage"
)

func TestLoadInstanceSettings(t *testing.T) {
	base := map[string]string{"INSTANCES_TABLE": "instances", "API_CURSOR_KEY": "0123456789abcdef"}
	tests := []struct {
		name      string
		set       map[string]string
		allowHTTP bool
		wantErr   string
	}{
		{name: "defaults"},
		{name: "http allowed", set: map[string]string{"WEBHOOK_ALLOW_HTTP": "true"}, allowHTTP: true},
		{name: "http refused", set: map[string]string{"WEBHOOK_ALLOW_HTTP": "false"}},
		{name: "no table", set: map[string]string{"INSTANCES_TABLE": ""}, wantErr: "INSTANCES_TABLE"},
		{name: "no cursor key", set: map[string]string{"API_CURSOR_KEY": ""}, wantErr: "API_CURSOR_KEY"},
		{name: "short cursor key", set: map[string]string{"API_CURSOR_KEY": "0123456789abcde"}, wantErr: "API_CURSOR_KEY"},
		{name: "bad allow http", set: map[string]string{"WEBHOOK_ALLOW_HTTP": "yes please"}, wantErr: "WEBHOOK_ALLOW_HTTP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := maps.Clone(base)
			maps.Copy(env, tt.set)
			s, err := manage.LoadInstanceSettings(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.InstancesTable != "instances" || string(s.CursorKey) != base["API_CURSOR_KEY"] || s.AllowHTTP != tt.allowHTTP {
				t.Fatalf("settings %+v", s)
			}
		})
	}
}
