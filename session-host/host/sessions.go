package host

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"
	"golang.org/x/sync/semaphore"

	"github.com/wagate/wagate/session-host/calls"
	"github.com/wagate/wagate/session-host/convert"
	"github.com/wagate/wagate/session-host/sender"
	"github.com/wagate/wagate/shared/outbox"
	wastore "github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// SessionStore records what the host learns about an instance's WhatsApp session.
type SessionStore interface {
	GetSession(ctx context.Context, id string) (wastore.SessionState, error)
	SetSession(ctx context.Context, id string, u wastore.SessionUpdate, now time.Time) error
}

// Sessions runs one whatsmeow client per instance this host holds.
type Sessions struct {
	devices   Devices
	state     SessionStore
	publisher EnvelopePublisher
	logger    *slog.Logger
	waLog     waLog.Logger
	// backoff is the wait before each new connection attempt, the last one repeating.
	backoff []time.Duration
	// newClient makes each session's client: whatsmeow's, or the local stack's simulation.
	newClient NewClientFunc
	// dial opens a client's connection to WhatsApp: Connect, but for tests.
	dial func(Client) error
	// replacePause is the least time between a session and its replacement.
	replacePause time.Duration
	// replacements are the replace goroutines under way, for tests to wait on.
	replacements sync.WaitGroup

	// outbox, when set, gives each session a sender of the instance's outbox.
	outbox *Outbox
	// media, when set, stores the files of the messages sessions receive.
	media *Media

	mu      sync.Mutex
	running map[string]*session
}

// Outbox is what the sessions need to send their instances' outboxes.
type Outbox struct {
	Store sender.Store
	Paces sender.Paces
	Media sender.Fetcher
	// Uploads reads the uploads messages name by mediaId; nil without a media bucket.
	Uploads sender.Uploads
	// MediaBudget bounds the media all the host's senders hold at once; nil for no bound.
	MediaBudget *semaphore.Weighted
	Clock       sender.Clock // nil for the real one
}

type session struct {
	client Client
	device *store.Device
	ctx    context.Context // ends when the session stops
	cancel context.CancelFunc
	done   chan struct{}
	// sender sends the instance's outbox while the session runs, nil without an outbox;
	// sent is closed once it has stopped.
	sender *sender.Sender
	sent   chan struct{}
	// calls makes the sender's calls (contacts, groups); nil without an outbox.
	calls *calls.Caller
	// replacing is set once a replacement of this session is under way.
	replacing atomic.Bool
	// firstQR is when this connection got its first QR codes, in unix milliseconds; 0 before.
	firstQR atomic.Int64
	// paired follows the device's pairing from whatsmeow's events, as whatsmeow sets
	// Store.ID from goroutines of its own.
	paired atomic.Bool
	// pairing lets one pairing-code request at a time use the client: a second would replace
	// the state of the first.
	pairing sync.Mutex
}

// NewSessions returns the sessions of a host.
func NewSessions(devices Devices, state SessionStore, publisher EnvelopePublisher, logger *slog.Logger) *Sessions {
	return &Sessions{
		devices: devices, state: state, publisher: publisher, logger: logger,
		waLog:     newWALogger(logger.With("component", "whatsmeow")),
		backoff:   []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute},
		running:   map[string]*session{},
		newClient: NewWhatsmeowClient,
		dial:      Client.Connect,
		// At most one new connection, so one set of QR codes, every 5 s per instance.
		replacePause: 5 * time.Second,
	}
}

// UseMedia stores the files of the messages every session started from now on receives.
func (s *Sessions) UseMedia(m Media) { s.media = &m }

// UseOutbox gives every session started from now on a sender of its instance's outbox.
func (s *Sessions) UseOutbox(o Outbox) { s.outbox = &o }

// UseClients makes every session started from now on connect through newClient instead of
// whatsmeow: the local stack's simulated WhatsApp account.
func (s *Sessions) UseClients(newClient NewClientFunc) { s.newClient = newClient }

// Start connects an instance's WhatsApp session in the background.
func (s *Sessions) Start(ctx context.Context, id string) error {
	s.mu.Lock()
	_, ok := s.running[id]
	s.mu.Unlock()
	if ok {
		return nil
	}
	sess, err := s.newSession(ctx, id)
	if err != nil {
		return err
	}
	s.mu.Lock()
	if _, ok := s.running[id]; ok { // started meanwhile
		s.mu.Unlock()
		sess.cancel()
		return nil
	}
	s.running[id] = sess
	s.mu.Unlock()
	go s.run(id, sess)
	return nil
}

// newSession builds the instance's client over the device the store has for it.
func (s *Sessions) newSession(ctx context.Context, id string) (*session, error) {
	device, err := s.device(ctx, id)
	if err != nil {
		return nil, err
	}
	ownID := func() types.JID {
		if jid := device.ID; jid != nil {
			return *jid
		}
		return types.JID{}
	}
	sctx, cancel := context.WithCancel(context.Background())
	sess := &session{device: device, ctx: sctx, cancel: cancel, done: make(chan struct{}), sent: make(chan struct{})}
	var store func(*events.Message) *convert.Stored
	if m := s.media; m != nil {
		store = func(e *events.Message) *convert.Stored { return m.Store(sess.client, id, e) }
	}
	sink := NewSink(sctx, id, whatsappEvents(ownID, store), s.publisher, s.logger)
	sess.paired.Store(device.ID != nil)
	sess.client = s.newClient(ClientOptions{
		Device: device, Log: s.waLog.Sub(id), Context: sctx,
		Handle: func(evt any) bool {
			s.onEvent(id, sess, evt)
			return sink.Handle(evt)
		},
	})
	if s.outbox == nil {
		close(sess.sent)
		return sess, nil
	}
	var pollKey []byte
	if device.IdentityKey != nil {
		pollKey = sender.PollKey(device.IdentityKey.Priv[:])
	}
	sess.calls = calls.New(sess.client, func() calls.Contacts { return device.Contacts }, func() time.Duration {
		ctx, cancel := context.WithTimeout(sctx, 5*time.Second)
		defer cancel()
		p, err := s.outbox.Paces.PaceOf(ctx, id)
		if err != nil {
			p = outbox.DefaultPace
		}
		return p.Gap(rand.Float64)
	})
	sess.sender = sender.New(sender.Config{
		InstanceID: id, Client: sess.client, Store: s.outbox.Store, Paces: s.outbox.Paces, Events: sink,
		Media: s.outbox.Media, Uploads: s.outbox.Uploads, MediaBudget: s.outbox.MediaBudget, Own: ownID, PollKey: pollKey, Logger: s.logger, Clock: s.outbox.Clock,
		Paced: outbox.Type.Paced, Calls: sess.calls,
	})
	return sess, nil
}

// run starts the session's sender and connects the session; once connected, whatsmeow
// reconnects a paired device by itself.
func (s *Sessions) run(id string, sess *session) {
	defer close(sess.done)
	if sess.sender != nil {
		go func() {
			defer close(sess.sent)
			sess.sender.Run(sess.ctx)
		}()
	}
	s.connect(sess.ctx, id, sess.client)
}

// wait returns once a stopped session's connection loop and sender have ended.
func (sess *session) wait() {
	<-sess.done
	<-sess.sent
}

// Wake tells the sender of an instance this host runs to read its outbox again, and calls
// after once it has; false when the instance has no sender here.
func (s *Sessions) Wake(id string, after func()) bool {
	s.mu.Lock()
	sess, ok := s.running[id]
	s.mu.Unlock()
	if !ok || sess.sender == nil {
		return false
	}
	sess.sender.Wake(after)
	return true
}

// onEvent records what whatsmeow reports, and replaces the session of a device that can no
// longer pair or connect as it is.
func (s *Sessions) onEvent(id string, sess *session, evt any) {
	s.record(id, evt)
	switch e := evt.(type) {
	case *events.Connected:
		if sess.sender != nil {
			sess.sender.Wake(nil) // what queued while disconnected can go
		}
	case *events.Receipt:
		if sess.sender != nil {
			sess.sender.Receipt(e) // queued: the outbox write does not hold the ack
		}
	case *events.GroupInfo, *events.JoinedGroup:
		if sess.calls != nil {
			sess.calls.GroupsChanged() // the kept list of joined groups is out of date
		}
	case *events.QR:
		sess.firstQR.CompareAndSwap(0, time.Now().UnixMilli())
	case *events.PairSuccess:
		sess.paired.Store(true)
	case *events.Disconnected:
		// whatsmeow reconnects paired devices, not one waiting to be paired: WhatsApp drops
		// it after its last QR code, and a new connection brings new codes.
		if !sess.paired.Load() {
			s.replacements.Go(func() { s.replace(id, sess, "pairing codes ran out") })
		}
	case *events.PairError:
		// WhatsApp paired the phone but the device could not finish; whatsmeow disconnects it.
		s.replacements.Go(func() { s.replace(id, sess, "pairing failed") })
	case *events.LoggedOut:
		// The device was unlinked and its keys deleted: a new device, with a QR code to pair.
		sess.paired.Store(false)
		s.replacements.Go(func() { s.replace(id, sess, "logged out") })
	}
}

// replace stops old and, unless the instance's session was stopped or replaced meanwhile, runs
// a new one over the device the store now has for the instance, after replacePause and, if
// that fails, after each step of the backoff.
func (s *Sessions) replace(id string, old *session, why string) {
	if !old.replacing.CompareAndSwap(false, true) {
		return
	}
	old.cancel()
	old.client.Disconnect()
	old.wait()
	s.logger.Info("starting the session again", "instanceId", id, "reason", why)
	// The old connection's QR codes died with it (unless another host runs the instance now,
	// with codes of its own).
	if !old.paired.Load() && s.isCurrent(id, old) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := s.state.SetSession(ctx, id, wastore.SessionUpdate{ClearQR: true}, time.Now()); err != nil && webhook.ErrorCode(err) != webhook.ENotFound {
			s.logger.Error("clear the old connection's QR codes", "instanceId", id, "error", err)
		}
		cancel()
	}
	for attempt := 0; ; attempt++ {
		wait := s.replacePause
		if attempt > 0 {
			wait = max(wait, s.backoff[min(attempt, len(s.backoff))-1])
		}
		time.Sleep(wait)
		if !s.isCurrent(id, old) {
			return // stopped, or its lease lost, meanwhile
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sess, err := s.newSession(ctx, id)
		cancel()
		if err != nil {
			s.logger.Error("start the session again; retrying", "instanceId", id, "error", err)
			continue
		}
		s.mu.Lock()
		if s.running[id] != old {
			s.mu.Unlock()
			sess.cancel()
			return
		}
		s.running[id] = sess
		s.mu.Unlock()
		s.run(id, sess)
		return
	}
}

func (s *Sessions) isCurrent(id string, sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.running[id] == sess
}

// device loads the instance's paired device, or a new one to pair.
func (s *Sessions) device(ctx context.Context, id string) (*store.Device, error) {
	st, err := s.state.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if st.DeviceJID != "" {
		jid, err := types.ParseJID(st.DeviceJID)
		if err != nil {
			return nil, fmt.Errorf("instance %s: device id %q: %w", id, st.DeviceJID, err)
		}
		device, err := s.devices.GetDevice(ctx, jid)
		if err != nil {
			return nil, fmt.Errorf("instance %s: load device: %w", id, err)
		}
		if device != nil {
			return device, nil
		}
		s.logger.Warn("device keys missing from the store; pairing again", "instanceId", id, "device", st.DeviceJID)
	}
	return s.devices.NewDevice(), nil
}

// connect dials WhatsApp until it succeeds or the session stops, backing off between tries
// with one log line each. Once connected, whatsmeow reconnects by itself.
func (s *Sessions) connect(ctx context.Context, id string, client Client) {
	for attempt := 1; ctx.Err() == nil; attempt++ {
		err := s.dial(client)
		if err == nil {
			return
		}
		wait := s.backoff[min(attempt, len(s.backoff))-1]
		s.logger.Warn("connect to WhatsApp failed; retrying", "instanceId", id, "attempt", attempt, "retryIn", wait.String(), "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// record keeps the instance's session state in step with what whatsmeow reports.
func (s *Sessions) record(id string, evt any) {
	str := func(v string) *string { return &v }
	var u wastore.SessionUpdate
	now := time.Now()
	switch e := evt.(type) {
	case *events.QR:
		if len(e.Codes) == 0 {
			return
		}
		// The API shows whichever of the codes WhatsApp would show at the time it is asked.
		u = wastore.SessionUpdate{Status: str("qr"), QRCodes: e.Codes}
	case *events.PairSuccess:
		u = wastore.SessionUpdate{DeviceJID: str(e.ID.String()), PhoneNumber: str(e.ID.User), ClearQR: true}
	case *events.Connected:
		u = wastore.SessionUpdate{Status: str("connected"), ClearQR: true}
	case *events.Disconnected, *events.StreamReplaced:
		u = wastore.SessionUpdate{Status: str("disconnected")}
	case *events.LoggedOut:
		u = wastore.SessionUpdate{Status: str("logged_out"), DeviceJID: str("")}
	default:
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.state.SetSession(ctx, id, u, now); err != nil {
		s.logger.Error("record session state", "instanceId", id, "error", err)
	}
}

// Stop disconnects an instance's session and waits for its connection loop to end. When the
// instance itself is gone (deleted through the API), its device is logged out of WhatsApp and
// its keys are deleted, so nothing of it stays paired.
func (s *Sessions) Stop(id string) {
	s.mu.Lock()
	sess, ok := s.running[id]
	delete(s.running, id)
	s.mu.Unlock()
	if !ok {
		return
	}
	sess.cancel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.state.GetSession(ctx, id); webhook.ErrorCode(err) == webhook.ENotFound {
		s.forget(ctx, id, sess)
	}
	sess.client.Disconnect()
	sess.wait()
}

// forget unpairs a deleted instance's device: through WhatsApp when connected, else by
// deleting its keys from the store.
func (s *Sessions) forget(ctx context.Context, id string, sess *session) {
	if sess.device.ID == nil {
		return // never paired
	}
	var err error
	if sess.client.IsConnected() && sess.client.IsLoggedIn() {
		err = sess.client.Logout(ctx) // also deletes the device from the store
	} else {
		err = sess.device.Delete(ctx)
	}
	if err != nil {
		s.logger.Error("unpair deleted instance", "instanceId", id, "error", err)
		return
	}
	s.logger.Info("deleted instance unpaired and its device keys removed", "instanceId", id)
}

// pairWindow is how long after a connection's first QR codes a pairing code is still asked
// for on it: WhatsApp closes an unpaired connection about 160 s after it opened, which takes
// the code with it, so a code is only given with a minute or more left to type it in.
const pairWindow = 100 * time.Second

// Pair asks WhatsApp for a code that links the phone to the instance's unpaired device, as
// "Link with phone number" on the phone expects. Errors a client may see are coded.
func (s *Sessions) Pair(ctx context.Context, id, phone string) (string, error) {
	s.mu.Lock()
	sess, ok := s.running[id]
	s.mu.Unlock()
	switch {
	case !ok:
		return "", webhook.Errorf(webhook.EConflict, "the session is not running on its host; try again in a few seconds")
	case sess.paired.Load():
		return "", webhook.Errorf(webhook.EConflict, "the session is already paired")
	case sess.firstQR.Load() == 0 && !sess.client.IsConnected():
		return "", webhook.Errorf(webhook.EConflict, "the session is not connected to WhatsApp yet; try again in a few seconds")
	case sess.firstQR.Load() == 0:
		return "", webhook.Errorf(webhook.EUnavailable, "the session is still opening its connection to WhatsApp; try again in a few seconds")
	case time.Since(time.UnixMilli(sess.firstQR.Load())) > pairWindow:
		// Too little of this connection is left for a code: a new one, then ask again.
		s.replacements.Go(func() { s.replace(id, sess, "pairing code asked late in the connection") })
		return "", webhook.Errorf(webhook.EUnavailable, "the session is renewing its connection to WhatsApp; try again in 10 seconds")
	case !sess.client.IsConnected():
		return "", webhook.Errorf(webhook.EUnavailable, "the session is renewing its connection to WhatsApp; try again in 10 seconds")
	}
	sess.pairing.Lock()
	defer sess.pairing.Unlock()
	// WhatsApp checks the display name against the browsers and systems it knows.
	code, err := sess.client.PairPhone(ctx, phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	if err != nil {
		return "", fmt.Errorf("pair instance %s: %w", id, err)
	}
	return code, nil
}

// Counts reports how many sessions this host runs, and how many of them are connected to
// WhatsApp and logged in.
func (s *Sessions) Counts() (running, connected int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.running {
		if sess.client.IsConnected() && sess.client.IsLoggedIn() {
			connected++
		}
	}
	return len(s.running), connected
}

// StopAll stops every session.
func (s *Sessions) StopAll() {
	s.mu.Lock()
	ids := make([]string, 0, len(s.running))
	for id := range s.running {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Stop(id)
		}()
	}
	wg.Wait()
}
