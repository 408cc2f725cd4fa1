package wiringcheck

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wagate/wagate/shared/env"
	"github.com/wagate/wagate/shared/lambdas"
	"github.com/wagate/wagate/shared/webhook"
)

// deliveryFunction is the logical id of the function the events queue feeds.
const deliveryFunction = "WebhookDeliveryFunction"

// eventsRedriveLimit returns the events queue's maxReceiveCount as the template sets it.
func eventsRedriveLimit(t *testing.T) int {
	t.Helper()
	q, err := template(t).CloudFormation().GetSQSQueueWithName("EventsQueue")
	if err != nil {
		t.Fatal(err)
	}
	policy, ok := q.RedrivePolicy.(map[string]any)
	if !ok {
		t.Fatalf("EventsQueue's RedrivePolicy is %#v, want an object", q.RedrivePolicy)
	}
	n, err := strconv.Atoi(fmt.Sprint(policy["maxReceiveCount"]))
	if err != nil {
		t.Fatalf("EventsQueue's maxReceiveCount: %v", err)
	}
	return n
}

// The delivery function knows the events queue's redrive limit, and the template's schedule
// fits it: no webhook reaches the dead-letter queue before its last retry for lack of
// receives.
func TestDefaultScheduleFitsTheRedriveLimit(t *testing.T) {
	limit := eventsRedriveLimit(t)
	vars, err := template(t).Env(deliveryFunction)
	if err != nil {
		t.Fatal(err)
	}
	if got := vars["EVENTS_MAX_RECEIVE_COUNT"]; got != strconv.Itoa(limit) {
		t.Fatalf("%s has EVENTS_MAX_RECEIVE_COUNT %q; the events queue's maxReceiveCount is %d", deliveryFunction, got, limit)
	}
	schedule, err := webhook.ParseRetrySchedule(vars["WEBHOOK_RETRY_DELAYS"])
	if err != nil {
		t.Fatal(err)
	}
	if err := schedule.FitRedrive(limit); err != nil {
		t.Fatalf("the template's schedule %q: %v", vars["WEBHOOK_RETRY_DELAYS"], err)
	}
	t.Logf("%d attempts, %d receives kept for failures, limit %d", len(schedule)+1, webhook.InfraReceives, limit)
}

// With the template's redrive limit, the delivery function starts with a schedule that fits
// and refuses, with an error that names both settings, one that does not.
func TestDeliveryRefusesAScheduleBeyondTheRedriveLimit(t *testing.T) {
	limit := eventsRedriveLimit(t)
	f, ok := lambdas.Lookup(deliveryFunction)
	if !ok {
		t.Fatalf("no function %s", deliveryFunction)
	}
	delays := func(n int) string { return strings.TrimSuffix(strings.Repeat("1s,", n), ",") }
	longest := limit - webhook.InfraReceives - 1 // retries that fit
	tests := []struct {
		name    string
		delays  string
		wantErr bool
	}{
		{"the longest schedule that fits", delays(longest), false},
		{"one retry more", delays(longest + 1), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, err := template(t).Env(deliveryFunction)
			if err != nil {
				t.Fatal(err)
			}
			vars["WEBHOOK_RETRY_DELAYS"] = tt.delays
			_, err = f.Build(lambdas.Input{AWS: aws.Config{Region: "us-east-1"}, Env: env.Map(vars), Logger: slog.New(slog.DiscardHandler), Metrics: io.Discard})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Build with %q = %v, wantErr %v", tt.delays, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "EVENTS_MAX_RECEIVE_COUNT") {
				t.Errorf("error %q does not name EVENTS_MAX_RECEIVE_COUNT", err)
			}
		})
	}
}
