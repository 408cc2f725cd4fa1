package deliver_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/shared/webhook"
)

// move moves want messages from one queue to another the way docs/deploy.md redrives the
// events dead-letter queue where StartMessageMoveTask is missing (the emulator, LocalStack):
// receive with the message attributes, send body and attributes on, then delete.
func (r *rig) move(from, to string, want int) {
	r.t.Helper()
	moved := 0
	for deadline := time.Now().Add(10 * time.Second); moved < want && time.Now().Before(deadline); {
		out, err := r.sqs.ReceiveMessage(r.ctx, &sqs.ReceiveMessageInput{
			QueueUrl: &from, MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1,
		})
		if err != nil {
			r.t.Fatal(err)
		}
		for _, m := range out.Messages {
			attrs := map[string]sqstypes.MessageAttributeValue{}
			for k, v := range m.MessageAttributes {
				attrs[k] = sqstypes.MessageAttributeValue{DataType: v.DataType, StringValue: v.StringValue}
			}
			if _, err := r.sqs.SendMessage(r.ctx, &sqs.SendMessageInput{QueueUrl: &to, MessageBody: m.Body, MessageAttributes: attrs}); err != nil {
				r.t.Fatal(err)
			}
			if _, err := r.sqs.DeleteMessage(r.ctx, &sqs.DeleteMessageInput{QueueUrl: &from, ReceiptHandle: m.ReceiptHandle}); err != nil {
				r.t.Fatal(err)
			}
			moved++
		}
	}
	if moved != want {
		r.t.Fatalf("moved %d messages, want %d", moved, want)
	}
}

// depth counts a queue's visible and in-flight messages.
func (r *rig) depth(url string) int {
	r.t.Helper()
	saved := r.queueURL
	defer func() { r.queueURL = saved }()
	r.queueURL = url
	return r.queueDepth()
}

// An event in the dead-letter queue, redriven as docs/deploy.md shows, is delivered with its
// own webhook id and its log ends as the endpoint answers: success, or failed once the
// schedule is spent.
func TestDeadLetterRedrive(t *testing.T) {
	tests := []struct {
		name string
		// logged: the event had a failed attempt (its log left retrying) before it reached
		// the dead-letter queue; otherwise it got there before any log, its store down.
		logged       bool
		answer       int // the endpoint's answer after the redrive
		wantStatus   string
		wantAttempts int
	}{
		{"never logged, delivered", false, http.StatusOK, webhook.StatusSuccess, 1},
		{"never logged, refused", false, http.StatusInternalServerError, webhook.StatusRetrying, 1},
		{"left retrying, delivered", true, http.StatusOK, webhook.StatusSuccess, 2},
		{"left retrying, refused: the schedule is spent", true, http.StatusInternalServerError, webhook.StatusFailed, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// One retry, a second after the first failure.
			r := newRig(t, rigOptions{policy: webhook.RetryPolicy{Schedule: webhook.RetrySchedule{time.Second}}})
			rc := newReceiver(t, func(n int, w http.ResponseWriter) {
				if tt.logged && n == 1 {
					w.WriteHeader(http.StatusBadGateway)
					return
				}
				w.WriteHeader(tt.answer)
			})
			in := r.instance(rc.URL)
			env := r.publish(in.ID, 1)[0]
			if tt.logged {
				if n, err := r.source.PollOnce(r.ctx, r.handler.Handle); err != nil || n != 1 {
					t.Fatalf("first attempt: %d records, %v", n, err)
				}
				if l := r.log(env.WebhookID); l.Status != webhook.StatusRetrying || l.Attempts != 1 {
					t.Fatalf("after the first attempt: %s with %d attempts", l.Status, l.Attempts)
				}
			}
			// What SQS does past the redrive limit.
			dlq := r.res.QueueURL("EventsDeadLetterQueue")
			r.move(r.queueURL, dlq, 1)
			if got := r.depth(dlq); got != 1 {
				t.Fatalf("%d messages in the dead-letter queue, want 1", got)
			}

			r.move(dlq, r.queueURL, 1) // the redrive
			if tt.wantStatus == webhook.StatusRetrying {
				// Deliver once only: the retry stays on the queue, as any other.
				if n, err := r.source.PollOnce(r.ctx, r.handler.Handle); err != nil || n != 1 {
					t.Fatalf("redriven attempt: %d records, %v", n, err)
				}
			} else {
				r.drain(100)
			}

			l := r.log(env.WebhookID)
			if l.Status != tt.wantStatus || l.Attempts != tt.wantAttempts {
				t.Fatalf("log %s with %d attempts, want %s with %d", l.Status, l.Attempts, tt.wantStatus, tt.wantAttempts)
			}
			got := rc.got()
			if len(got) != tt.wantAttempts {
				t.Fatalf("endpoint got %d requests, want %d", len(got), tt.wantAttempts)
			}
			if id := got[len(got)-1].header.Get("webhook-id"); id != env.WebhookID {
				t.Fatalf("redriven webhook sent as %q, want its own id %s", id, env.WebhookID)
			}
			if n := r.depth(dlq); n != 0 {
				t.Fatalf("%d messages left in the dead-letter queue", n)
			}
		})
	}
}
