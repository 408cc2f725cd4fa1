// Package sender sends an instance's outbox (DESIGN.md §7): one Sender per running session
// hands the instance's accepted messages to WhatsApp, in each chat's order, at the instance's
// pace, while the session holds its lease, and records what became of them.
//
// A Sender keeps the instance's pending messages as it last read them and reads them again
// when woken (new work, a new connection) or when it has sent them all; the message it hands
// over next is the oldest accepted whose chat has nothing older pending. Every hand-over is
// written first (sending, one more attempt), so a host that dies midway leaves the message
// sending, and the host that takes the lease over sends it again with the same WhatsApp id.
package sender

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"golang.org/x/sync/semaphore"

	"github.com/wagate/wagate/session-host/send"
	"github.com/wagate/wagate/shared/outbox"
)

// Store is the outbox as a Sender uses it: *store.OutboxStore.
type Store interface {
	Get(ctx context.Context, instanceID, messageID string) (*outbox.Record, error)
	Update(ctx context.Context, prev, next *outbox.Record) error
	Pending(ctx context.Context, instanceID string, limit int) ([]*outbox.Record, error)
}

// Client is the session's connection to WhatsApp (the host's Client).
type Client interface {
	send.Builders
	IsConnected() bool
	IsLoggedIn() bool
	SendMessage(ctx context.Context, to types.JID, message *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
	Upload(ctx context.Context, plaintext []byte, appInfo whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	SendChatPresence(ctx context.Context, jid types.JID, state types.ChatPresence, media types.ChatPresenceMedia) error
	MarkRead(ctx context.Context, ids []types.MessageID, timestamp time.Time, chat, sender types.JID, receiptTypeExtra ...types.ReceiptType) error
	IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error)
}

// Paces tells an instance's send pace.
type Paces interface {
	PaceOf(ctx context.Context, instanceID string) (outbox.Pace, error)
}

// Events is the session's event sink: it turns whatsmeow's events, Sent and Failure, into
// webhook events on the queue, and reports whether they got there (or will: it keeps what no
// one would deliver again, as Sent and Failure).
type Events interface {
	Handle(evt any) bool
}

// Sent is a message WhatsApp acknowledged, as a message this account sent: the session's
// converter turns it into message.sent, as it does one sent from the phone.
type Sent struct {
	Message *events.Message
}

// Failure is what the Sender reports when a message ends failed: the session's converter turns
// it into message.updated with status failed.
type Failure struct {
	MessageID string
	Chat      types.JID
	Reason    string
	At        time.Time
}

// Clock is the time as a Sender sees it; tests pass one that does not sleep.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Config is what a Sender is made of. Clock, Random and Paced have defaults.
type Config struct {
	InstanceID string
	Client     Client
	Store      Store
	Paces      Paces
	Events     Events
	Media      Fetcher
	// Uploads reads the uploads a message's mediaId names; nil refuses such messages.
	Uploads Uploads
	// MediaBudget bounds the bytes of fetched media all the host's senders hold at once (a
	// file and its encrypted copy while it uploads), so that a few large documents queue
	// rather than run the host out of memory; nil for no bound.
	MediaBudget *semaphore.Weighted
	// Own returns the account's JID, empty while unpaired.
	Own func() types.JID
	// PollKey is the key poll secrets are derived from (see PollKey).
	PollKey []byte
	Logger  *slog.Logger
	Clock   Clock
	Random  func() float64 // in [0, 1), for the pace's jitter
	// Paced reports whether messages of a type wait for the pace and their chat's turn; those
	// that do not (read receipts, presence) go at once. Default: every type waits.
	Paced func(outbox.Type) bool
	// Calls does the request–answer calls (contacts and groups); nil answers them unavailable.
	Calls Calls
}

// pendingLimit is how many pending messages a Sender reads at a time: the oldest, enough for
// the heads of as many chats. When a full read holds nothing that may go (one busy chat whose
// head waits for its retry), the next read is twice as wide, up to maxPendingRead, so the
// other chats' messages behind them are seen and sent meanwhile.
const (
	pendingLimit   = 100
	maxPendingRead = 1600
)

// receiptQueue bounds the receipts waiting to be written; more are dropped (see Receipt).
const receiptQueue = 256

// Sender sends one instance's outbox while its session runs.
type Sender struct {
	id      string
	client  Client
	store   Store
	paces   Paces
	events  Events
	media   Fetcher
	uploads Uploads
	budget  *semaphore.Weighted
	own     func() types.JID
	pollKey []byte
	builder *send.Builder
	logger  *slog.Logger
	clock   Clock
	random  func() float64
	paced   func(outbox.Type) bool
	calls   Calls

	wake     chan struct{}
	receipts chan receipt

	mu sync.Mutex
	// afterRead is called once the next read of the pending messages is done (the work
	// watcher clears the instance's mark then).
	afterRead func()

	// The rest belongs to Run's goroutine.
	pending []*outbox.Record // as last read, less those done since
	stale   bool             // read the pending messages again before choosing
	full    bool             // the last read held as many as it could
	read    int              // how many the next read takes
	// acked are messages WhatsApp acknowledged whose sent status is not written yet, or whose
	// message.sent is not published yet: they are never handed over again.
	acked map[string]*ack
	// onWhatsApp caches whether a user is on WhatsApp, for this session.
	onWhatsApp map[string]bool
	// nextAt is the earliest time of the next paced hand-over.
	nextAt time.Time
	// storeFailed is set by a write the store failed: wait before going on.
	storeFailed bool
}

// New returns the Sender of c.InstanceID.
func New(c Config) *Sender {
	s := &Sender{
		id: c.InstanceID, client: c.Client, store: c.Store, paces: c.Paces, events: c.Events, media: c.Media, uploads: c.Uploads, budget: c.MediaBudget,
		own: c.Own, pollKey: c.PollKey, builder: send.NewBuilder(c.Client),
		logger: c.Logger.With("instanceId", c.InstanceID), clock: c.Clock, random: c.Random, paced: c.Paced, calls: c.Calls,
		wake: make(chan struct{}, 1), receipts: make(chan receipt, receiptQueue),
		stale: true, read: pendingLimit, acked: map[string]*ack{}, onWhatsApp: map[string]bool{},
	}
	if s.clock == nil {
		s.clock = realClock{}
	}
	if s.random == nil {
		s.random = rand.Float64
	}
	if s.paced == nil {
		s.paced = func(outbox.Type) bool { return true }
	}
	return s
}

// Wake tells the Sender to read its pending messages again: there is new work, or it can now
// send. after, if not nil, is called once that read is done; it replaces the after of a wake
// not yet served, the later one covering more.
func (s *Sender) Wake(after func()) {
	if after != nil {
		s.mu.Lock()
		s.afterRead = after
		s.mu.Unlock()
	}
	select {
	case s.wake <- struct{}{}:
	default: // a wake is pending already
	}
}

// Run sends until ctx ends; it starts by reading what is pending, which resumes the work of a
// host that held the lease before. Nothing is handed to WhatsApp once ctx has ended.
func (s *Sender) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.writeReceipts(ctx) })
	defer wg.Wait()
	for ctx.Err() == nil {
		s.sleep(ctx, s.step(ctx))
	}
	if len(s.acked) > 0 {
		// One last try at what WhatsApp acknowledged, or the next host sends it again (with
		// the same id, which the recipient's app shows once).
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		s.flushAcked(wctx)
	}
}

// forever is a wait that only a wake or the end of the context ends.
const forever = time.Duration(-1)

// storeRetry is the wait after the store failed.
const storeRetry = 5 * time.Second

// sleep waits d (forever: until woken) unless woken or ctx ends; a wake marks the pending
// messages to be read again.
func (s *Sender) sleep(ctx context.Context, d time.Duration) {
	if d == 0 || ctx.Err() != nil {
		return
	}
	var timer <-chan time.Time
	if d > 0 {
		timer = s.clock.After(d)
	}
	select {
	case <-ctx.Done():
	case <-s.wake:
		s.stale = true
	case <-timer:
	}
}

// step does the next thing there is to do, and returns how long to wait before the one after.
func (s *Sender) step(ctx context.Context) time.Duration {
	if wait, done := s.flushAcked(ctx); !done {
		return wait // the store is failing: nothing more goes until the acks are written
	}
	if s.stale {
		recs, err := s.store.Pending(ctx, s.id, s.read)
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("read pending messages; retrying", "error", err)
			}
			return storeRetry
		}
		s.pending, s.stale, s.full = recs, false, len(recs) == s.read
		if !s.full {
			s.read = pendingLimit // it all fit: the next read need not be wider
		}
		s.mu.Lock()
		after := s.afterRead
		s.afterRead = nil
		s.mu.Unlock()
		if after != nil {
			after()
		}
	}
	now := s.clock.Now()
	next, immediate, wakeAt := s.choose(ctx, now)
	switch {
	case s.storeFailed:
		s.storeFailed, s.stale = false, true
		return storeRetry
	case immediate:
		s.handOver(ctx, next, false, 0)
		return 0
	case next != nil:
		typing := s.typing(ctx, next)
		if wait := s.nextAt.Add(-typing).Sub(now); wait > 0 {
			return wait
		}
		s.handOver(ctx, next, true, typing)
		return 0
	case s.stale:
		return 0
	case wakeAt.IsZero():
		return forever // until new work or a connection wakes it
	}
	return max(wakeAt.Sub(now), time.Millisecond)
}

// choose fails the pending messages whose time to live passed and returns the message to hand
// over next, whether it goes at once (outside the pace and its chat's queue), and, when there
// is none, when one may be: a retry's time, or an expiry. Nothing is chosen while the client is
// not connected and logged in.
func (s *Sender) choose(ctx context.Context, now time.Time) (next *outbox.Record, immediate bool, wakeAt time.Time) {
	connected := s.client.IsConnected() && s.client.IsLoggedIn()
	soonest := func(t time.Time) {
		if wakeAt.IsZero() || t.Before(wakeAt) {
			wakeAt = t
		}
	}
	var first, now1 *outbox.Record // the first ready paced message, and non-paced one
	held := map[string]bool{}      // chats whose head is found
	live := s.pending[:0]
	for _, r := range s.pending {
		if !now.Before(r.ExpiresAt) {
			s.fail(ctx, r, "time to live passed before the message could be sent")
			continue
		}
		live = append(live, r)
		soonest(r.ExpiresAt)
		paced := s.paced(r.Message.Type)
		if paced {
			// Pending messages come in Seq order within a chat: only its first may go, and
			// one waiting for its retry holds the rest.
			if held[r.Message.Chat] {
				continue
			}
			held[r.Message.Chat] = true
		}
		switch {
		case !connected:
		case r.NextAttemptAt != nil && now.Before(*r.NextAttemptAt):
			soonest(*r.NextAttemptAt)
		case !paced && now1 == nil:
			now1 = r
		case paced && first == nil:
			first = r
		}
	}
	s.pending = live
	switch {
	case now1 != nil:
		return now1, true, wakeAt
	case first != nil:
		return first, false, wakeAt
	case len(live) == 0 && s.full:
		// All sent or failed, and more may be pending than the read held: read again.
		s.stale = true
	case connected && s.full && s.read < maxPendingRead:
		// Nothing that was read may go now, and more is pending: look further.
		s.read, s.stale = min(2*s.read, maxPendingRead), true
	}
	return nil, false, wakeAt
}

// typing is how long "typing…" shows before next when the pace asks for it: as long as a
// person takes to type the text, at 50 ms a character, from 1 s up to the pace's gap.
func (s *Sender) typing(ctx context.Context, next *outbox.Record) time.Duration {
	if next.Message.Type != outbox.TypeText || next.Message.Text == nil {
		return 0
	}
	pace := s.pace(ctx)
	if !pace.Typing {
		return 0
	}
	d := time.Duration(len([]rune(next.Message.Text.Body))) * 50 * time.Millisecond
	return min(max(d, time.Second), pace.Gap(func() float64 { return 0 }))
}

// pace reads the instance's pace, the default when it cannot.
func (s *Sender) pace(ctx context.Context) outbox.Pace {
	p, err := s.paces.PaceOf(ctx, s.id)
	if err != nil {
		s.logger.Warn("read the send pace; using the default", "error", err)
		return outbox.DefaultPace
	}
	return p
}

// replace puts r in place of the pending message with its id, or drops that when r is no
// longer pending.
func (s *Sender) replace(r *outbox.Record) {
	i := slices.IndexFunc(s.pending, func(p *outbox.Record) bool { return p.MessageID == r.MessageID })
	switch {
	case i < 0:
	case r.Status.Pending():
		s.pending[i] = r
	default:
		s.pending = slices.Delete(s.pending, i, i+1)
	}
}

var errNoOwnJID = errors.New("the account has no JID: not paired")

// ownJID is the account's user JID.
func (s *Sender) ownJID() (types.JID, error) {
	own := s.own()
	if own.IsEmpty() {
		return types.JID{}, errNoOwnJID
	}
	return own.ToNonAD(), nil
}

// publish hands evt to the session's sink, trying three times: the message's status is
// written already, so a webhook it cannot publish is logged and lost.
func (s *Sender) publish(ctx context.Context, evt any, what string) bool {
	for try := range 3 {
		if s.events.Handle(evt) {
			return true
		}
		if try < 2 {
			select {
			case <-ctx.Done():
				return false
			case <-s.clock.After(time.Duration(try+1) * time.Second):
			}
		}
	}
	s.logger.Error("publish webhook; giving up", "event", what)
	return false
}

// Receipt takes a receipt WhatsApp sent for messages of this account, to move their outbox
// records forward. It never blocks the event that carries it: when too many wait, it is
// dropped (the webhook still goes out; only the outbox's status stays behind).
func (s *Sender) Receipt(e *events.Receipt) {
	status, ok := receiptStatus(e)
	if !ok {
		return
	}
	select {
	case s.receipts <- receipt{ids: e.MessageIDs, status: status}:
	default:
		s.logger.Warn("receipt queue full; outbox status not updated", "messages", len(e.MessageIDs), "status", status)
	}
}
