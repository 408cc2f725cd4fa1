package host

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

// Event is one webhook event that something happening on WhatsApp turns into.
type Event struct {
	Name string // webhook event name, e.g. message.received
	Data json.RawMessage
	// Key identifies what happened (a message id, a receipt), so the same WhatsApp event,
	// redelivered after a failed ack, gets the same webhook id.
	Key string
	At  time.Time
	// Redelivered says WhatsApp delivers what the event came from again when Handle reports
	// failure (messages and receipts, with SynchronousAck); the Sink keeps the others itself.
	Redelivered bool
}

// Converter turns a whatsmeow event into webhook events; none for events wagate ignores.
type Converter func(evt any) []Event

// EnvelopePublisher puts one envelope on the events queue and returns once it is there.
type EnvelopePublisher interface {
	Publish(ctx context.Context, env *webhook.Envelope) error
}

// publishTimeout bounds how long an event handler waits for the queue; WhatsApp's ack waits
// with it.
const publishTimeout = 30 * time.Second

// Sink is an instance's whatsmeow event handler. With SynchronousAck, whatsmeow acks a
// message to WhatsApp only when Handle reports success, that is once every webhook event it
// became is on the queue; otherwise WhatsApp delivers the message again later. Other events
// (connection status, QR codes, a logout, the sender's own) come once whatever Handle says:
// what of them the queue did not take, the Sink keeps and publishes again, in order, until it
// is taken or the session ends.
type Sink struct {
	ctx        context.Context // the session's: held events are given up when it ends
	instanceID string
	convert    Converter
	publisher  EnvelopePublisher
	logger     *slog.Logger
	backoff    []time.Duration // between tries of held events, the last repeating

	mu      sync.Mutex
	held    []*webhook.Envelope
	retrier bool // a goroutine is publishing held
}

// maxHeld bounds the events a Sink keeps for the queue; beyond it the oldest are given up.
const maxHeld = 1000

// NewSink returns the event handler of one instance's session, which runs until ctx ends.
func NewSink(ctx context.Context, instanceID string, convert Converter, publisher EnvelopePublisher, logger *slog.Logger) *Sink {
	return &Sink{
		ctx: ctx, instanceID: instanceID, convert: convert, publisher: publisher, logger: logger.With("instanceId", instanceID),
		backoff: []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second},
	}
}

// Handle publishes what evt becomes and reports whether all of it reached the queue, or will:
// events WhatsApp does not deliver again are kept and published again (see Sink).
func (s *Sink) Handle(evt any) bool {
	converted := s.convert(evt)
	if len(converted) == 0 {
		return true
	}
	if s.queueBehind(converted) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	envs := make([]*webhook.Envelope, len(converted))
	errs := make([]error, len(converted))
	var wg sync.WaitGroup
	for i, e := range converted {
		envs[i] = s.envelope(e)
		wg.Go(func() { errs[i] = s.publisher.Publish(ctx, envs[i]) })
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err == nil {
		return true
	}
	var again bool
	var keep []*webhook.Envelope
	for i, env := range envs {
		switch {
		case errs[i] == nil:
		case converted[i].Redelivered:
			again = true
		default:
			keep = append(keep, env)
		}
	}
	if again {
		s.logger.Error("publish events; WhatsApp will deliver them again", "events", len(converted), "error", err)
	}
	if len(keep) > 0 {
		s.logger.Error("publish events; keeping them to publish again", "events", len(keep), "error", err)
		s.hold(keep)
	}
	return !again
}

// queueBehind keeps converted behind the events already held, in order, when they all are of
// the kind the Sink keeps and some are held: publishing them now would overtake those (a newer
// "connected" before an older "disconnected").
func (s *Sink) queueBehind(converted []Event) bool {
	for _, e := range converted {
		if e.Redelivered {
			return false
		}
	}
	s.mu.Lock()
	behind := s.retrier
	s.mu.Unlock()
	if !behind {
		return false
	}
	envs := make([]*webhook.Envelope, len(converted))
	for i, e := range converted {
		envs[i] = s.envelope(e)
	}
	s.hold(envs)
	return true
}

// envelope is e's envelope, under the webhook id e always gets.
func (s *Sink) envelope(e Event) *webhook.Envelope {
	return &webhook.Envelope{
		Event: e.Name, InstanceID: s.instanceID, Timestamp: webhook.FormatTime(e.At), Data: e.Data,
		WebhookID: webhook.DeriveWebhookID(e.At, s.instanceID+"/"+e.Name+"/"+e.Key),
	}
}

// hold keeps envs for the queue, and starts publishing them again unless that is under way.
func (s *Sink) hold(envs []*webhook.Envelope) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held = append(s.held, envs...)
	if over := len(s.held) - maxHeld; over > 0 {
		s.logger.Error("too many events waiting for the queue; giving up the oldest", "events", over)
		s.held = s.held[over:]
	}
	if !s.retrier {
		s.retrier = true
		go s.publishHeld()
	}
}

// publishHeld publishes the held events in order, waiting after each failure, until none is
// left or the session ends.
func (s *Sink) publishHeld() {
	for try := 0; ; {
		s.mu.Lock()
		if len(s.held) == 0 || s.ctx.Err() != nil {
			if n := len(s.held); n > 0 {
				s.logger.Error("session ended with events the queue did not take", "events", n)
			}
			s.held, s.retrier = nil, false
			s.mu.Unlock()
			return
		}
		env := s.held[0]
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(s.ctx, publishTimeout)
		err := s.publisher.Publish(ctx, env)
		cancel()
		if err == nil || webhook.ErrorCode(err) == webhook.EPayloadTooLarge {
			if err != nil {
				s.logger.Error("event too large for the queue; giving it up", "webhookId", env.WebhookID, "error", err)
			}
			s.mu.Lock()
			if len(s.held) > 0 && s.held[0] == env { // unless given up meanwhile (maxHeld)
				s.held = s.held[1:]
			}
			s.mu.Unlock()
			try = 0
			continue
		}
		select {
		case <-s.ctx.Done():
		case <-time.After(s.backoff[min(try, len(s.backoff)-1)]):
		}
		try++
	}
}
