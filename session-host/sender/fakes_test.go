package sender

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/media"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

var (
	quiet  = slog.New(slog.NewTextHandler(io.Discard, nil))
	ownJID = types.NewJID("6281111111111", types.DefaultUserServer)
	epoch  = time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
)

// fakeClock moves only when waited on: After(d) moves it d on and fires at once, so a sender
// runs through hours of pace in no time. Waits longer than horizon (when set) never fire, as
// in a test that ends before them.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	horizon time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.horizon > 0 && d > c.horizon {
		return nil
	}
	c.t = c.t.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.t
	return ch
}

// memStore is the outbox in memory, with OutboxStore's versioned writes and order.
type memStore struct {
	mu   sync.Mutex
	recs map[string]*outbox.Record
	// failUpdate, when set, may fail a write before it happens.
	failUpdate func(prev, next *outbox.Record) error
	updates    int
}

func newMemStore(recs ...*outbox.Record) *memStore {
	s := &memStore{recs: map[string]*outbox.Record{}}
	for _, r := range recs {
		s.recs[r.MessageID] = clone(r)
	}
	return s
}

func clone(r *outbox.Record) *outbox.Record { c := *r; return &c }

func (s *memStore) Get(_ context.Context, instanceID, id string) (*outbox.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.recs[id]
	if !ok || r.InstanceID != instanceID {
		return nil, webhook.Errorf(webhook.ENotFound, "message %s not found", id)
	}
	return clone(r), nil
}

func (s *memStore) Update(_ context.Context, prev, next *outbox.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates++
	if s.failUpdate != nil {
		if err := s.failUpdate(prev, next); err != nil {
			return err
		}
	}
	cur, ok := s.recs[prev.MessageID]
	if !ok || cur.Version != prev.Version {
		return webhook.Errorf(webhook.EConflict, "message %s changed", prev.MessageID)
	}
	s.recs[prev.MessageID] = clone(next)
	return nil
}

func (s *memStore) Pending(_ context.Context, instanceID string, limit int) ([]*outbox.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*outbox.Record
	for _, r := range s.recs {
		if r.InstanceID == instanceID && r.Status.Pending() {
			out = append(out, clone(r))
		}
	}
	slices.SortFunc(out, func(a, b *outbox.Record) int {
		return cmp.Or(a.AcceptedAt.Compare(b.AcceptedAt), cmp.Compare(a.Seq, b.Seq))
	})
	return out[:min(limit, len(out))], nil
}

func (s *memStore) get(t *testing.T, id string) *outbox.Record {
	t.Helper()
	r, err := s.Get(context.Background(), "inst", id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// sent is one SendMessage call.
type sent struct {
	id   string
	chat string
	at   time.Time
	msg  *waE2E.Message
}

// fakeClient is a WhatsApp connection that acks every send with the clock's time, unless
// sendErr says otherwise.
type fakeClient struct {
	*whatsmeow.Client // the builders
	clock             *fakeClock

	mu        sync.Mutex
	connected bool
	calls     []sent
	presences int
	// lastPresence is the state and media of the last chat presence.
	lastPresence [2]string
	// reads are the MarkRead calls: chat, sender, then the ids.
	reads [][]string
	notOn map[string]bool // users not on WhatsApp
	// sendErr, when set, may fail the n-th (from 1) attempt of a message.
	sendErr func(id string, n int) error
	// onSend, when set, runs in each SendMessage after it is recorded.
	onSend func(n int)
}

func newFakeClient(clock *fakeClock) *fakeClient {
	own := ownJID
	return &fakeClient{Client: whatsmeow.NewClient(&store.Device{ID: &own}, nil), clock: clock, connected: true, notOn: map[string]bool{}}
}

func (c *fakeClient) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

func (c *fakeClient) IsLoggedIn() bool { return true }

func (c *fakeClient) setConnected(v bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.connected = v
}

func (c *fakeClient) SendMessage(_ context.Context, to types.JID, msg *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	c.mu.Lock()
	id := extra[0].ID
	c.calls = append(c.calls, sent{id: id, chat: to.String(), at: c.clock.Now(), msg: msg})
	n := 0
	for _, s := range c.calls {
		if s.id == id {
			n++
		}
	}
	total, sendErr, onSend := len(c.calls), c.sendErr, c.onSend
	c.mu.Unlock()
	if onSend != nil {
		onSend(total)
	}
	if sendErr != nil {
		if err := sendErr(id, n); err != nil {
			return whatsmeow.SendResponse{}, err
		}
	}
	return whatsmeow.SendResponse{ID: id, Timestamp: c.clock.Now().Truncate(time.Second)}, nil
}

func (c *fakeClient) Upload(context.Context, []byte, whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	return whatsmeow.UploadResponse{URL: "https://mmg.whatsapp.net/x", DirectPath: "/x", MediaKey: make([]byte, 32), FileLength: 3}, nil
}

func (c *fakeClient) SendChatPresence(_ context.Context, _ types.JID, state types.ChatPresence, media types.ChatPresenceMedia) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.presences++
	c.lastPresence = [2]string{string(state), string(media)}
	return nil
}

func (c *fakeClient) MarkRead(_ context.Context, ids []types.MessageID, _ time.Time, chat, sender types.JID, _ ...types.ReceiptType) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads = append(c.reads, append([]string{chat.String(), sender.String()}, ids...))
	return nil
}

func (c *fakeClient) IsOnWhatsApp(_ context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error) {
	var out []types.IsOnWhatsAppResponse
	for _, p := range phones {
		user := p[1:]
		out = append(out, types.IsOnWhatsAppResponse{Query: p, JID: types.NewJID(user, types.DefaultUserServer), IsIn: !c.notOn[user]})
	}
	return out, nil
}

func (c *fakeClient) sends() []sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// fakeEvents records what the sender publishes.
type fakeEvents struct {
	mu   sync.Mutex
	evts []any
}

func (e *fakeEvents) Handle(evt any) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evts = append(e.evts, evt)
	return true
}

func (e *fakeEvents) failures() []Failure {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Failure
	for _, evt := range e.evts {
		if f, ok := evt.(Failure); ok {
			out = append(out, f)
		}
	}
	return out
}

func (e *fakeEvents) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.evts)
}

type fixedPace outbox.Pace

func (p fixedPace) PaceOf(context.Context, string) (outbox.Pace, error) { return outbox.Pace(p), nil }

type fakeFetcher struct{ err error }

func (f fakeFetcher) Fetch(context.Context, string, int64) ([]byte, string, error) {
	if f.err != nil {
		return nil, "", f.err
	}
	return []byte("\x89PNG\r\n\x1a\n"), "image/png", nil
}

// fakeUploads holds uploads by key.
type fakeUploads map[string][]byte

func (f fakeUploads) Get(_ context.Context, key string, limit int64) ([]byte, media.Object, error) {
	b, ok := f[key]
	if !ok {
		return nil, media.Object{}, webhook.Errorf(webhook.ENotFound, "no such media")
	}
	return b, media.Object{Size: int64(len(b)), ContentType: "image/png"}, nil
}

// rig is a sender over fakes.
type rig struct {
	t      *testing.T
	clock  *fakeClock
	store  *memStore
	client *fakeClient
	events *fakeEvents
	sender *Sender
	cancel context.CancelFunc
	done   chan struct{}
}

func newRig(t *testing.T, pace outbox.Pace, recs ...*outbox.Record) *rig {
	clock := &fakeClock{t: epoch}
	r := &rig{t: t, clock: clock, store: newMemStore(recs...), client: newFakeClient(clock), events: &fakeEvents{}}
	r.sender = New(Config{
		InstanceID: "inst", Client: r.client, Store: r.store, Paces: fixedPace(pace), Events: r.events,
		Media: fakeFetcher{}, Own: func() types.JID { return ownJID }, PollKey: PollKey([]byte("identity")),
		Logger: quiet, Clock: clock, Random: func() float64 { return 0.25 },
	})
	return r
}

func (r *rig) run() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel, r.done = cancel, make(chan struct{})
	go func() {
		defer close(r.done)
		r.sender.Run(ctx)
	}()
	r.t.Cleanup(r.stop)
}

func (r *rig) stop() {
	r.cancel()
	<-r.done
}

// eventually polls cond until it returns nil, failing the test after 10 s.
func eventually(t *testing.T, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settled is a condition: no message of the store is pending.
func (r *rig) settled() error {
	recs, _ := r.store.Pending(context.Background(), "inst", 1000)
	if len(recs) > 0 {
		return fmt.Errorf("%d messages pending, the first %s %s", len(recs), recs[0].MessageID, recs[0].Status)
	}
	return nil
}

var noPace = outbox.Pace{PerMinute: outbox.MaxPerMinute}

// text is a queued text message of chat, the seq-th of its chat, accepted at epoch+at.
func text(id, chat string, seq int64, at time.Duration) *outbox.Record {
	return &outbox.Record{
		InstanceID: "inst", MessageID: id, Seq: seq, Status: outbox.StatusQueued,
		Message:    &outbox.Message{Chat: chat, Type: outbox.TypeText, Text: &outbox.Text{Body: "hello " + id}},
		AcceptedAt: epoch.Add(at), UpdatedAt: epoch.Add(at), ExpiresAt: epoch.Add(at + outbox.DefaultTTL), Version: 1,
	}
}

func chatJID(n int) string { return fmt.Sprintf("62812000000%02d@s.whatsapp.net", n) }
