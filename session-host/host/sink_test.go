package host

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/session-host/sender"
	"github.com/wagate/wagate/shared/webhook"
)

// flakyQueue stands for the events queue: it fails while down and records what it took.
type flakyQueue struct {
	down    atomic.Bool
	refused atomic.Int32
	mu      sync.Mutex
	got     []*webhook.Envelope
}

func (q *flakyQueue) Publish(_ context.Context, env *webhook.Envelope) error {
	if q.down.Load() {
		q.refused.Add(1)
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
	return []Event{{Name: webhook.EventMessageReceived, Data: json.RawMessage(`{"n":` + string(rune('0'+n%10)) + `}`), Key: "msg" + string(rune('A'+n)), At: at, Redelivered: true}}
}

func TestSinkReportsFailureUntilTheQueueIsBack(t *testing.T) {
	q := &flakyQueue{}
	s := NewSink(context.Background(), "inst_1", messages, q, quietLogger)
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

// statuses is a converter that turns a string into one session.status event keyed by it, an
// event WhatsApp does not deliver again.
func statuses(evt any) []Event {
	st, ok := evt.(string)
	if !ok {
		return nil
	}
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	return []Event{{Name: webhook.EventSessionStatus, Data: json.RawMessage(`{"status":"` + st + `"}`), Key: "status/" + st, At: at}}
}

// Session statuses, QR codes and logouts come once: what the queue did not take is kept and
// published again, in order and under the same webhook ids, once the queue is back; none is
// lost, none doubled; and a session that ends gives up what it still holds.
func TestSinkKeepsWhatWhatsAppWillNotDeliverAgain(t *testing.T) {
	q := &flakyQueue{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := NewSink(ctx, "inst_1", statuses, q, quietLogger)
	s.backoff = []time.Duration{time.Millisecond}
	q.down.Store(true)
	for _, st := range []string{"disconnected", "connecting", "connected"} {
		if !s.Handle(st) {
			t.Fatalf("%s: reported failed; WhatsApp would not send it again anyway", st)
		}
	}
	q.mu.Lock()
	if len(q.got) != 0 {
		t.Fatalf("published while the queue was down: %d", len(q.got))
	}
	q.mu.Unlock()
	q.down.Store(false)
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for len(got) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("published %v", got)
		}
		time.Sleep(time.Millisecond)
		q.mu.Lock()
		got = got[:0]
		for _, env := range q.got {
			got = append(got, string(env.Data))
		}
		q.mu.Unlock()
	}
	want := []string{`{"status":"disconnected"}`, `{"status":"connecting"}`, `{"status":"connected"}`}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("published %v, want %v in order, once each", got, want)
	}
	q.mu.Lock()
	id := q.got[0].WebhookID
	q.mu.Unlock()
	if id != webhook.DeriveWebhookID(time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC), "inst_1/"+webhook.EventSessionStatus+"/status/disconnected") {
		t.Fatalf("webhook id %s is not the event's own", id)
	}

	// The queue down again, and the session ends: the held event is given up, not retried for
	// ever.
	q.down.Store(true)
	s.Handle("logged_out")
	cancel()
	deadline = time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		done := !s.retrier && len(s.held) == 0
		s.mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sink still retries after its session ended")
		}
		time.Sleep(time.Millisecond)
	}
}

// published are the data of what q took, in order.
func (q *flakyQueue) published() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, env := range q.got {
		out = append(out, string(env.Data))
	}
	return out
}

// An event the sink keeps is not overtaken: a newer status waits behind the held ones.
func TestSinkKeepsHeldEventsInOrder(t *testing.T) {
	q := &flakyQueue{}
	s := NewSink(context.Background(), "inst_1", statuses, q, quietLogger)
	s.backoff = []time.Duration{300 * time.Millisecond} // the retrier is waiting when the queue comes back
	q.down.Store(true)
	s.Handle("disconnected")
	for q.refused.Load() < 2 { // the sink's own try and its retrier's first: it waits now
		time.Sleep(time.Millisecond)
	}
	q.down.Store(false)
	s.Handle("connected")
	deadline := time.Now().Add(10 * time.Second)
	for len(q.published()) < 2 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := q.published(); len(got) != 2 || got[0] != `{"status":"disconnected"}` || got[1] != `{"status":"connected"}` {
		t.Fatalf("published %v, want disconnected then connected", got)
	}
}

// The sender's message.sent is made by the host, not delivered by WhatsApp: when the queue
// refuses it, the sink keeps it and publishes it once the queue is back.
func TestSinkKeepsTheSendersMessageSent(t *testing.T) {
	q := &flakyQueue{}
	own := types.NewJID("6281111111111", types.DefaultUserServer)
	s := NewSink(context.Background(), "inst_1", whatsappEvents(func() types.JID { return own }, nil), q, quietLogger)
	s.backoff = []time.Duration{time.Millisecond}
	sent := sender.Sent{Message: &events.Message{
		Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: types.NewJID("6281234567890", types.DefaultUserServer), Sender: own, IsFromMe: true},
			ID:            "3EB0AABBCCDDEEFF001122", Timestamp: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC),
		},
		Message: &waE2E.Message{Conversation: proto.String("hello")},
	}}
	q.down.Store(true)
	if !s.Handle(sent) {
		t.Fatal("reported failed: nothing would publish it again")
	}
	q.down.Store(false)
	deadline := time.Now().Add(10 * time.Second)
	for len(q.published()) < 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.got) != 1 || q.got[0].Event != webhook.EventMessageSent || !strings.Contains(string(q.got[0].Data), "3EB0AABBCCDDEEFF001122") {
		t.Fatalf("published %+v, want the message.sent", q.got)
	}
}
