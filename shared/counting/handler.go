// Package counting is the counting function: it keeps the daily webhook counters from the
// log table's DynamoDB stream, so that no delivery writes a counter.
package counting

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/shared/store"
)

// Counter applies a shard's changes to the counters, exactly once each.
type Counter interface {
	CountChanges(ctx context.Context, shardID string, changes []store.LogChange) error
}

// Handler is the counting function's handler for the log table's stream.
type Handler struct {
	counter Counter
	logger  *slog.Logger
}

// NewHandler returns a Handler.
func NewHandler(c Counter, logger *slog.Logger) *Handler {
	return &Handler{counter: c, logger: logger}
}

// Handle counts one batch of one stream shard. The event comes from a mapping with a
// tumbling window, the one kind of stream event that names its shard; the window's state is
// not used. An error fails the batch, which Lambda hands over again: counting is idempotent.
func (h *Handler) Handle(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
	if len(ev.Records) == 0 {
		return events.DynamoDBTimeWindowEventResponse{}, nil
	}
	if ev.ShardID == "" {
		return events.DynamoDBTimeWindowEventResponse{}, fmt.Errorf("stream event without a shard id: the mapping needs TumblingWindowInSeconds")
	}
	changes := make([]store.LogChange, 0, len(ev.Records))
	for _, rec := range ev.Records {
		ch := store.LogChange{Seq: rec.Change.SequenceNumber}
		var err error
		if ch.Old, err = countedLog(rec.Change.OldImage); err == nil {
			ch.New, err = countedLog(rec.Change.NewImage)
		}
		if err != nil {
			// A record that can't be read never will be: count the others, say so loudly.
			h.logger.ErrorContext(ctx, "unreadable log change; not counted", "eventId", rec.EventID, "error", err)
			continue
		}
		changes = append(changes, ch)
	}
	if err := h.counter.CountChanges(ctx, ev.ShardID, changes); err != nil {
		h.logger.ErrorContext(ctx, "count changes; the batch comes back", "shardId", ev.ShardID, "records", len(ev.Records), "error", err)
		return events.DynamoDBTimeWindowEventResponse{}, err
	}
	h.logger.DebugContext(ctx, "counted", "shardId", ev.ShardID, "records", len(ev.Records))
	return events.DynamoDBTimeWindowEventResponse{}, nil
}

// countedLog reads what the counters need of a stream image; nil for no image.
func countedLog(image map[string]events.DynamoDBAttributeValue) (*store.CountedLog, error) {
	if len(image) == 0 {
		return nil, nil
	}
	str := func(name string) string {
		if v, ok := image[name]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	l := &store.CountedLog{InstanceID: str("instanceId"), Event: str("event"), Status: str("status")}
	created, err := time.Parse(time.RFC3339Nano, str("createdAt"))
	if err != nil || l.Event == "" || l.Status == "" {
		return nil, fmt.Errorf("image of %q: createdAt %q, event %q, status %q", str("webhookId"), str("createdAt"), l.Event, l.Status)
	}
	l.CreatedAt = created
	return l, nil
}
