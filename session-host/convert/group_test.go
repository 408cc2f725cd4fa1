package convert

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/types/events"
)

// TestGroupInfo converts whatsmeow's events.GroupInfo values, kept in testdata/groupinfo as
// whatsmeow's own type encodes them (each as its parseGroupChange makes it from a
// notification: who joined, left, was promoted or demoted, a new subject, description or
// settings), and compares the group.updated data with testdata/<name>.json.
func TestGroupInfo(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "groupinfo", "*.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	wantEvents := map[string]int{"group_promote_and_subject": 2, "group_settings": 1, "group_ephemeral_only": 0}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			var evt events.GroupInfo
			if err := dec.Decode(&evt); err != nil {
				t.Fatalf("%s is not an events.GroupInfo: %v", in, err)
			}
			datas := GroupInfo(&evt)
			want, ok := wantEvents[name]
			if !ok {
				want = 1
			}
			if len(datas) != want {
				t.Fatalf("%d events, want %d", len(datas), want)
			}
			all, err := json.Marshal(datas)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, all)
		})
	}
}
