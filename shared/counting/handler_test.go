package counting

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/shared/store"
)

// recordingCounter keeps what the handler hands over.
type recordingCounter struct {
	shard   string
	changes []store.LogChange
	err     error
}

func (c *recordingCounter) CountChanges(_ context.Context, shardID string, changes []store.LogChange) error {
	c.shard, c.changes = shardID, changes
	return c.err
}

func image(status string) map[string]events.DynamoDBAttributeValue {
	return map[string]events.DynamoDBAttributeValue{
		"webhookId":  events.NewStringAttribute("wh_01JDXYZ"),
		"instanceId": events.NewStringAttribute("inst_a"),
		"event":      events.NewStringAttribute("message.received"),
		"status":     events.NewStringAttribute(status),
		"createdAt":  events.NewStringAttribute("2026-11-29T09:56:03.803Z"),
		"version":    events.NewNumberAttribute("1"),
	}
}

func record(seq, name string, old, new map[string]events.DynamoDBAttributeValue) events.DynamoDBEventRecord {
	return events.DynamoDBEventRecord{EventName: name, EventID: "e" + seq, Change: events.DynamoDBStreamRecord{
		SequenceNumber: seq, OldImage: old, NewImage: new,
	}}
}

func TestHandle(t *testing.T) {
	created := time.Date(2026, 11, 29, 9, 56, 3, 803e6, time.UTC)
	counted := func(status string) *store.CountedLog {
		return &store.CountedLog{InstanceID: "inst_a", Event: "message.received", Status: status, CreatedAt: created}
	}
	// A log removed by its TTL comes as a REMOVE from DynamoDB's own service principal.
	expired := record("4", "REMOVE", image("success"), nil)
	expired.UserIdentity = &events.DynamoDBUserIdentity{Type: "Service", PrincipalID: "dynamodb.amazonaws.com"}
	unreadable := record("5", "INSERT", nil, map[string]events.DynamoDBAttributeValue{"webhookId": events.NewStringAttribute("wh_x")})

	tests := []struct {
		name    string
		ev      events.DynamoDBTimeWindowEvent
		counter *recordingCounter
		want    []store.LogChange
		wantErr bool
	}{
		{
			name: "created, moved, cleared, expired; an unreadable record is skipped",
			ev: window("shard-1",
				record("1", "INSERT", nil, image("retrying")),
				record("2", "MODIFY", image("retrying"), image("success")),
				record("3", "REMOVE", image("failed"), nil),
				expired, unreadable),
			counter: &recordingCounter{},
			want: []store.LogChange{
				{Seq: "1", New: counted("retrying")},
				{Seq: "2", Old: counted("retrying"), New: counted("success")},
				{Seq: "3", Old: counted("failed")},
				{Seq: "4", Old: counted("success")},
			},
		},
		{name: "the end of a window brings no records", ev: window("shard-1"), counter: &recordingCounter{}},
		{name: "no shard id: the mapping lacks its window", ev: window("", record("1", "INSERT", nil, image("success"))),
			counter: &recordingCounter{}, wantErr: true},
		{name: "the store fails: the batch comes back", ev: window("shard-1", record("1", "INSERT", nil, image("success"))),
			counter: &recordingCounter{err: errors.New("throttled")}, want: []store.LogChange{{Seq: "1", New: counted("success")}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHandler(tt.counter, slog.New(slog.DiscardHandler))
			_, err := h.Handle(context.Background(), tt.ev)
			if (err != nil) != tt.wantErr {
				t.Fatalf("error %v, want one: %v", err, tt.wantErr)
			}
			if len(tt.counter.changes) != len(tt.want) {
				t.Fatalf("%d changes handed over, want %d", len(tt.counter.changes), len(tt.want))
			}
			for i, ch := range tt.counter.changes {
				w := tt.want[i]
				if ch.Seq != w.Seq || !same(ch.Old, w.Old) || !same(ch.New, w.New) {
					t.Fatalf("change %d: %+v %+v %+v, want %+v %+v %+v", i, ch.Seq, ch.Old, ch.New, w.Seq, w.Old, w.New)
				}
			}
			if len(tt.want) > 0 && tt.counter.shard != tt.ev.ShardID {
				t.Fatalf("shard %q handed over, want %q", tt.counter.shard, tt.ev.ShardID)
			}
		})
	}
}

func window(shard string, recs ...events.DynamoDBEventRecord) events.DynamoDBTimeWindowEvent {
	ev := events.DynamoDBTimeWindowEvent{}
	ev.Records, ev.ShardID = recs, shard
	return ev
}

func same(a, b *store.CountedLog) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.InstanceID == b.InstanceID && a.Event == b.Event && a.Status == b.Status && a.CreatedAt.Equal(b.CreatedAt)
}
