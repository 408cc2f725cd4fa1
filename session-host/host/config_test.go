package host

import (
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/env"
)

func TestLoadConfig(t *testing.T) {
	base := map[string]string{"INSTANCES_TABLE": "instances", "EVENTS_QUEUE_URL": "http://queue", "OUTBOX_TABLE": "outbox"}
	tests := []struct {
		name    string
		env     map[string]string
		check   func(Config) bool
		wantErr string
	}{
		{"defaults", nil, func(c Config) bool {
			return c.Store == "sqlite" && c.DataDir == "data" && c.Capacity == 500 && c.LeaseTTL == 30*time.Second &&
				c.LeaseInterval == 10*time.Second && c.HealthAddr == ":8081" && len(c.HostID) > 7 &&
				c.OutboxTable == "outbox" && c.Retention == 30*24*time.Hour && len(c.MediaAllow) == 0
		}, ""},
		{"media allowed from loopback", map[string]string{"WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8", "RETENTION_DAYS": "7"}, func(c Config) bool {
			return len(c.MediaAllow) == 1 && c.MediaAllow[0].String() == "127.0.0.0/8" && c.Retention == 7*24*time.Hour
		}, ""},
		{"no outbox table", map[string]string{"OUTBOX_TABLE": ""}, nil, "OUTBOX_TABLE"},
		{"postgres", map[string]string{"WA_STORE": "postgres", "WA_STORE_DSN": "postgres://u@db/wa"}, func(c Config) bool {
			return c.Store == "postgres" && c.StoreDSN == "postgres://u@db/wa"
		}, ""},
		{"postgres without a DSN", map[string]string{"WA_STORE": "postgres"}, nil, "WA_STORE_DSN: is not set"},
		{"DSN without postgres", map[string]string{"WA_STORE_DSN": "postgres://u@db/wa"}, nil, "WA_STORE_DSN: is only read with WA_STORE=postgres"},
		{"unknown store", map[string]string{"WA_STORE": "redis"}, nil, "WA_STORE: want"},
		{"dynamodb", map[string]string{"WA_STORE": "dynamodb", "DEVICES_TABLE": "devices"}, func(c Config) bool {
			return c.Store == "dynamodb" && c.DevicesTable == "devices"
		}, ""},
		{"dynamodb without a table", map[string]string{"WA_STORE": "dynamodb"}, nil, "DEVICES_TABLE: is not set"},
		{"table without dynamodb", map[string]string{"DEVICES_TABLE": "devices"}, nil, "DEVICES_TABLE: is only read with WA_STORE=dynamodb"},
		{"no table", map[string]string{"INSTANCES_TABLE": ""}, nil, "INSTANCES_TABLE"},
		{"bad capacity", map[string]string{"HOST_CAPACITY": "0"}, nil, "HOST_CAPACITY"},
		{"bad duration", map[string]string{"LEASE_TTL": "soon"}, nil, "LEASE_TTL"},
		{"interval not under ttl", map[string]string{"LEASE_TTL": "10s", "LEASE_INTERVAL": "10s"}, nil, "must be shorter"},
		{"every problem at once", map[string]string{"INSTANCES_TABLE": "", "LEASE_TTL": "soon", "HOST_CAPACITY": "x"}, nil, "HOST_CAPACITY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range base {
				vars[k] = v
			}
			for k, v := range tt.env {
				vars[k] = v
			}
			c, err := LoadConfig(env.Map(vars))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("%+v %v", c, err)
			}
		})
	}
}
