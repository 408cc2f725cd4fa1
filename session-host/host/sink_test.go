package host

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

// flakyQueue stands for the events queue: it fails while down and records what it took.
type flakyQueue struct {
	down atomic.Bool
	mu   sync.Mutex
	got  []*webhook.Envelope
}

func (q *flakyQueue) Publish(_ context.Context, env *webhook.Envelope) error {
	if q.down.Load() {
		return errors.New("sqs unreachable")
	}
	q.mu.Lock()
	q.got = append(q.got, env)
	q.mu.Unlock()
	return nil
}

// messages is a converter that turns an int n into one message.received event keyed n.
func messages(evt any) []Event {
	n, ok := evt.(int)
	if !ok {
		return nil
	}
	at := time.Date(2026, 11, 29, 8, 0, 0, n*int(time.Millisecond), time.UTC)
	return []Event{{Name: webhook.EventMessageReceived, Data: json.RawMessage(`{"n":` + string(rune('0'+n%10)) + `}`), Key: "msg" + string(rune('A'+n)), At: at}}
}

func TestSinkReportsFailureUntilTheQueueIsBack(t *testing.T) {
	q := &flakyQueue{}
	s := NewSink("inst_1", messages, q, quietLogger)
	if !s.Handle("ignored") {
		t.Fatal("an event that becomes nothing must succeed")
	}
	// WhatsApp delivers 5 messages while SQS is down: none is acked.
	q.down.Store(true)
	for n := range 5 {
		if s.Handle(n) {
			t.Fatalf("message %d acked while the queue was down", n)
		}
	}
	// SQS is back; WhatsApp redelivers the unacked messages, some twice.
	q.down.Store(false)
	for _, n := range []int{0, 1, 2, 3, 4, 2, 4} {
		if !s.Handle(n) {
			t.Fatalf("message %d not acked with the queue up", n)
		}
	}
	ids := map[string]int{}
	for _, env := range q.got {
		ids[env.WebhookID]++
		if env.InstanceID != "inst_1" || env.Event != webhook.EventMessageReceived {
			t.Fatalf("envelope %+v", env)
		}
	}
	// Every message is on the queue; a redelivered one carries the same webhook id, so the
	// copy is a duplicate receivers (and the delivery function) drop, never a new webhook.
	if len(ids) != 5 || ids[q.got[2].WebhookID] != 2 || ids[q.got[4].WebhookID] != 2 {
		t.Fatalf("ids %v", ids)
	}
}
