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
// became is on the queue; otherwise WhatsApp delivers the message again later.
type Sink struct {
	instanceID string
	convert    Converter
	publisher  EnvelopePublisher
	logger     *slog.Logger
}

// NewSink returns the event handler of one instance.
func NewSink(instanceID string, convert Converter, publisher EnvelopePublisher, logger *slog.Logger) *Sink {
	return &Sink{instanceID: instanceID, convert: convert, publisher: publisher, logger: logger.With("instanceId", instanceID)}
}

// Handle publishes what evt becomes and reports whether all of it reached the queue.
func (s *Sink) Handle(evt any) bool {
	events := s.convert(evt)
	if len(events) == 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	errs := make([]error, len(events))
	var wg sync.WaitGroup
	for i, e := range events {
		env := &webhook.Envelope{
			Event: e.Name, InstanceID: s.instanceID, Timestamp: webhook.FormatTime(e.At), Data: e.Data,
			WebhookID: webhook.DeriveWebhookID(e.At, s.instanceID+"/"+e.Name+"/"+e.Key),
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.publisher.Publish(ctx, env)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		s.logger.Error("publish events; WhatsApp will deliver them again", "events", len(events), "error", err)
		return false
	}
	return true
}
