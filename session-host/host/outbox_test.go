package host

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/session-host/lease"
	"github.com/wagate/wagate/shared/outbox"
	wastore "github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// phone is a connected WhatsApp account that acks every message; the builders and the rest
// of Client are not used by these tests.
type phone struct {
	Client
	handle func(any) bool
	delay  time.Duration // each send takes this long

	mu    sync.Mutex
	sends []phoneSend
}

type phoneSend struct {
	id string
	at time.Time
}

func (p *phone) Connect() error {
	p.handle(&events.Connected{})
	return nil
}
func (p *phone) Disconnect()       {}
func (p *phone) IsConnected() bool { return true }
func (p *phone) IsLoggedIn() bool  { return true }

func (p *phone) IsOnWhatsApp(_ context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error) {
	out := make([]types.IsOnWhatsAppResponse, len(phones))
	for i, ph := range phones {
		out[i] = types.IsOnWhatsAppResponse{Query: ph, JID: types.NewJID(ph[1:], types.DefaultUserServer), IsIn: true}
	}
	return out, nil
}

func (p *phone) SendMessage(_ context.Context, _ types.JID, _ *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	p.mu.Lock()
	p.sends = append(p.sends, phoneSend{id: extra[0].ID, at: time.Now()})
	p.mu.Unlock()
	time.Sleep(p.delay)
	return whatsmeow.SendResponse{ID: extra[0].ID, Timestamp: time.Now().Truncate(time.Second)}, nil
}

func (p *phone) sent() []phoneSend {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]phoneSend(nil), p.sends...)
}

// fastClock is real time that jumps over every wait at once: the pace does not slow the tests.
type fastClock struct{ skipped atomic.Int64 }

func (c *fastClock) Now() time.Time { return time.Now().Add(time.Duration(c.skipped.Load())) }
func (c *fastClock) After(d time.Duration) <-chan time.Time {
	c.skipped.Add(int64(d))
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

type outboxRig struct {
	*hostRig
	outbox *wastore.OutboxStore
	queue  *flakyQueue
	phone  *phone
}

func newOutboxRig(t *testing.T, delay time.Duration) *outboxRig {
	r := &outboxRig{hostRig: newHostRig(t), queue: &flakyQueue{}, phone: &phone{delay: delay}}
	r.outbox = wastore.NewOutboxStore(dynamodb.NewFromConfig(r.awsCfg), r.res.Table("OutboxTable"), r.res.Table("InstancesTable"), 30*24*time.Hour)
	return r
}

// sessions are sessions whose every instance talks to the rig's phone.
func (r *outboxRig) outboxSessions() *Sessions {
	s := NewSessions(r.devices, r.instances, r.queue, quietLogger)
	s.backoff = []time.Duration{time.Hour}
	s.UseOutbox(Outbox{Store: r.outbox, Paces: instancePaces{r.instances}, Clock: &fastClock{}})
	s.UseClients(func(o ClientOptions) Client {
		r.phone.handle = o.Handle
		return r.phone
	})
	return s
}

func (r *outboxRig) accept(id, chat, body string) *outbox.Record {
	r.t.Helper()
	now := time.Now()
	rec, _, err := r.outbox.Accept(r.ctx, &outbox.Record{
		InstanceID: id, MessageID: outbox.NewMessageID(), Status: outbox.StatusQueued,
		Message:    &outbox.Message{Chat: chat, Type: outbox.TypeText, Text: &outbox.Text{Body: body}},
		AcceptedAt: now, ExpiresAt: now.Add(outbox.DefaultTTL),
	}, "", now)
	if err != nil {
		r.t.Fatal(err)
	}
	return rec
}

func (r *outboxRig) status(id, messageID string) *outbox.Record {
	r.t.Helper()
	rec, err := r.outbox.Get(r.ctx, id, messageID)
	if err != nil {
		r.t.Fatal(err)
	}
	return rec
}

func eventually(t *testing.T, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", within, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A host resumes what a dead one left: a message left sending is sent with its id, and its
// message.sent, made by the session's converter, carries that id. New work is found through
// the mark an accept leaves.
func TestSessionSendsItsOutbox(t *testing.T) {
	r := newOutboxRig(t, 0)
	const id = "inst_s"
	r.createInstances(id)
	r.pair(id, types.NewJID("6281999", types.DefaultUserServer))
	chat := "6281234567890@s.whatsapp.net"
	left := r.accept(id, chat, "first")
	sending := *left
	sending.Status, sending.Attempts, sending.Version = outbox.StatusSending, 1, left.Version+1
	if err := r.outbox.Update(r.ctx, left, &sending); err != nil {
		t.Fatal(err)
	}

	if ok, err := r.instances.AcquireLease(r.ctx, id, "H", time.Now(), time.Minute); err != nil || !ok {
		t.Fatalf("lease: %v %v", ok, err)
	}
	s := r.outboxSessions()
	if err := s.Start(r.ctx, id); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.StopAll)
	eventually(t, 10*time.Second, func() error {
		if got := r.status(id, left.MessageID); got.Status != outbox.StatusSent || got.Attempts != 2 {
			return fmt.Errorf("resumed message %s after %d attempts", got.Status, got.Attempts)
		}
		return nil
	})
	var env *webhook.Envelope
	eventually(t, 5*time.Second, func() error {
		r.queue.mu.Lock()
		defer r.queue.mu.Unlock()
		for _, e := range r.queue.got {
			if e.Event == webhook.EventMessageSent {
				env = e
				return nil
			}
		}
		return fmt.Errorf("no message.sent among %d envelopes", len(r.queue.got))
	})
	var data struct {
		MessageID, ChatID, To, From, Body string
		FromMe                            bool
	}
	if err := json.Unmarshal(env.Data, &data); err != nil {
		t.Fatal(err)
	}
	if data.MessageID != left.MessageID || !data.FromMe || data.To != chat || data.ChatID != chat || data.From != "6281999@s.whatsapp.net" || data.Body != "first" {
		t.Fatalf("message.sent %s", env.Data)
	}

	// New work: the accept marks the lease holder, whose watcher wakes the sender.
	w := NewWorkWatcher("H", r.outbox, s, 50*time.Millisecond, quietLogger)
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	go w.Run(ctx)
	next := r.accept(id, chat, "second")
	eventually(t, 10*time.Second, func() error {
		if got := r.status(id, next.MessageID); got.Status != outbox.StatusSent {
			return fmt.Errorf("new message %s", got.Status)
		}
		return nil
	})
	eventually(t, 10*time.Second, func() error {
		work, err := r.outbox.WorkFor(r.ctx, "H")
		if err != nil || len(work) > 0 {
			return fmt.Errorf("work left %v %v", work, err)
		}
		return nil
	})
}

// leaseSessions records when the manager's Stop of a session returned.
type leaseSessions struct {
	*Sessions
	stopped atomic.Int64 // unix nanoseconds
}

func (l *leaseSessions) Stop(id string) {
	l.Sessions.Stop(id)
	l.stopped.Store(time.Now().UnixNano())
}

// renewals counts the renewals of a lease store, and remembers the first that found the lease
// lost.
type renewals struct {
	lease.Store
	n    atomic.Int32
	lost atomic.Int32 // the renewal that found it lost, 0 before
}

func (c *renewals) RenewLease(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	n := c.n.Add(1)
	ok, err := c.Store.RenewLease(ctx, id, owner, now, ttl)
	if err == nil && !ok {
		c.lost.CompareAndSwap(0, n)
	}
	return ok, err
}

// Once another host takes the lease, the old host's sender stops at its next renewal: no
// message is handed to WhatsApp after that sweep.
func TestLostLeaseStopsTheSender(t *testing.T) {
	r := newOutboxRig(t, 20*time.Millisecond)
	const id = "inst_l"
	r.createInstances(id)
	r.pair(id, types.NewJID("6281999", types.DefaultUserServer))
	for i := range 200 {
		r.accept(id, fmt.Sprintf("62812345%05d@s.whatsapp.net", i%7), fmt.Sprintf("m%d", i))
	}
	var mu sync.Mutex
	clk := time.Now().Truncate(time.Millisecond)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clk }
	sessions := &leaseSessions{Sessions: r.outboxSessions()}
	t.Cleanup(sessions.StopAll)
	counted := &renewals{Store: r.instances}
	const interval, ttl = 50 * time.Millisecond, time.Second
	m, err := lease.New(lease.Config{Owner: "A", Store: counted, Sessions: sessions, Interval: interval, TTL: ttl, Logger: quietLogger, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	go m.Run(ctx)
	eventually(t, 10*time.Second, func() error {
		if n := len(r.phone.sent()); n < 5 {
			return fmt.Errorf("%d sent", n)
		}
		return nil
	})

	// B takes the lease as if A's had ended.
	before := counted.n.Load()
	if ok, err := r.instances.AcquireLease(r.ctx, id, "B", now().Add(2*ttl), ttl); err != nil || !ok {
		t.Fatalf("B's lease: %v %v", ok, err)
	}
	eventually(t, 10*time.Second, func() error {
		if sessions.stopped.Load() == 0 {
			return fmt.Errorf("A still runs the session")
		}
		return nil
	})
	if lost := counted.lost.Load(); lost != before+1 {
		t.Fatalf("A found its lease lost at renewal %d, want its first after the takeover, %d", lost, before+1)
	}
	stoppedAt := time.Unix(0, sessions.stopped.Load())
	time.Sleep(10 * interval)
	sends := r.phone.sent()
	after := 0
	for _, s := range sends {
		if s.at.After(stoppedAt) {
			after++
		}
	}
	if after > 0 || len(sends) >= 200 {
		t.Fatalf("%d of %d sends after A stopped the session", after, len(sends))
	}
}
