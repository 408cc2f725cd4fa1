package lambdas_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wagate/wagate/shared/env"
	"github.com/wagate/wagate/shared/lambdas"
)

func build(t *testing.T, id string, vars map[string]string) (lambdas.Handler, error) {
	t.Helper()
	f, ok := lambdas.Lookup(id)
	if !ok {
		t.Fatalf("no function %s", id)
	}
	return f.Build(lambdas.Input{AWS: aws.Config{Region: "us-east-1"}, Env: env.Map(vars), Logger: slog.New(slog.DiscardHandler), Metrics: io.Discard})
}

func TestBuildReportsEveryBadSetting(t *testing.T) {
	instances := map[string]string{"INSTANCES_TABLE": "instances", "API_CURSOR_KEY": "0123456789abcdef"}
	messages := map[string]string{"OUTBOX_TABLE": "outbox", "INSTANCES_TABLE": "instances", "API_CURSOR_KEY": "0123456789abcdef", "MEDIA_BUCKET": "media"}
	mediaVars := map[string]string{"INSTANCES_TABLE": "instances", "MEDIA_BUCKET": "media", "MEDIA_LINK_KEY": "0123456789abcdef", "MEDIA_LINK_BASE": "https://api.example/v1"}
	delivery := map[string]string{
		"WEBHOOK_LOG_TABLE": "logs", "WEBHOOK_STATS_TABLE": "stats", "INSTANCES_TABLE": "instances",
		"EVENTS_QUEUE_URL": "http://queue", "SLOW_EVENTS_QUEUE_URL": "http://slow",
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	tests := []struct {
		name string
		id   string
		vars map[string]string
		want []string // parts of the error; none for a good configuration
	}{
		{"instances defaults", "InstancesFunction", instances, nil},
		{"instances, http allowed", "InstancesFunction", with(instances, "WEBHOOK_ALLOW_HTTP", "true"), nil},
		{"instances, no table", "InstancesFunction", with(instances, "INSTANCES_TABLE", ""), []string{"INSTANCES_TABLE: is not set"}},
		{"instances, short key and bad flag", "InstancesFunction", with(instances, "API_CURSOR_KEY", "0123456789abcde", "WEBHOOK_ALLOW_HTTP", "yes please"),
			[]string{"API_CURSOR_KEY: must be at least 16 characters", "WEBHOOK_ALLOW_HTTP: want true or false"}},
		{"messages defaults", "MessagesFunction", messages, nil},
		{"messages, nothing set", "MessagesFunction", nil, []string{"OUTBOX_TABLE: is not set", "INSTANCES_TABLE: is not set", "API_CURSOR_KEY", "MEDIA_BUCKET: is not set"}},
		{"messages, bad retention and cidr", "MessagesFunction", with(messages, "RETENTION_DAYS", "0", "WEBHOOK_ALLOW_CIDRS", "10.0.0.0/99"),
			[]string{"RETENTION_DAYS: want a whole number >= 1", "WEBHOOK_ALLOW_CIDRS: "}},
		{"media defaults", "MediaFunction", mediaVars, nil},
		{"media, nothing set", "MediaFunction", nil, []string{"INSTANCES_TABLE: is not set", "MEDIA_BUCKET: is not set", "MEDIA_LINK_KEY", "MEDIA_LINK_BASE: is not set"}},
		{"media, short key and bad lifetime", "MediaFunction", with(mediaVars, "MEDIA_LINK_KEY", "0123456789abcde", "MEDIA_LINK_TTL", "a day"),
			[]string{"MEDIA_LINK_KEY: must be at least 16 characters", "MEDIA_LINK_TTL: "}},
		{"delivery defaults", "WebhookDeliveryFunction", delivery, nil},
		{"delivery, bad schedule", "WebhookDeliveryFunction", with(delivery, "WEBHOOK_RETRY_DELAYS", "soon"), []string{"WEBHOOK_RETRY_DELAYS: "}},
		{"delivery, schedule fits a raised redrive limit", "WebhookDeliveryFunction", with(delivery, "WEBHOOK_RETRY_DELAYS", "1s,1s,1s,1s,1s", "EVENTS_MAX_RECEIVE_COUNT", "11"), nil},
		{"delivery, schedule longer than the redrive limit", "WebhookDeliveryFunction", with(delivery, "WEBHOOK_RETRY_DELAYS", "1s,1s,1s,1s,1s"),
			[]string{"WEBHOOK_RETRY_DELAYS and EVENTS_MAX_RECEIVE_COUNT: ", "redrive limit of at least 11", "the events queue's is 10", "EventsMaxReceiveCount"}},
		{"delivery, redrive limit too low for the default schedule", "WebhookDeliveryFunction", with(delivery, "EVENTS_MAX_RECEIVE_COUNT", "8"),
			[]string{"redrive limit of at least 9", "the events queue's is 8"}},
		{"delivery, bad redrive limit", "WebhookDeliveryFunction", with(delivery, "EVENTS_MAX_RECEIVE_COUNT", "many"), []string{"EVENTS_MAX_RECEIVE_COUNT: want a whole number"}},
		{"delivery, bad retention and cidr", "WebhookDeliveryFunction", with(delivery, "RETENTION_DAYS", "0", "WEBHOOK_ALLOW_CIDRS", "10.0.0.0/99"),
			[]string{"RETENTION_DAYS: want a whole number >= 1", "WEBHOOK_ALLOW_CIDRS: "}},
		{"delivery, nothing set", "WebhookDeliveryFunction", nil,
			[]string{"WEBHOOK_LOG_TABLE", "WEBHOOK_STATS_TABLE", "INSTANCES_TABLE", "EVENTS_QUEUE_URL", "SLOW_EVENTS_QUEUE_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := build(t, tt.id, tt.vars)
			if len(tt.want) == 0 {
				if err != nil || (h.API == nil && h.SQS == nil) {
					t.Fatalf("Build = %+v, %v", h, err)
				}
				return
			}
			if err == nil {
				t.Fatal("Build succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "0123456789abcde") {
				t.Errorf("error %q shows the cursor key", err)
			}
		})
	}
}

func TestLookupUnknown(t *testing.T) {
	if _, ok := lambdas.Lookup("NoSuchFunction"); ok {
		t.Fatal("Lookup found a function that is not in the table")
	}
}
