package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// CountChanges is exact however its changes are handed over: twice, overlapping, in pieces,
// from several shards, and it makes no counter again for removals alone.
func TestCountChangesExactlyOnce(t *testing.T) {
	day := time.Now().UTC()
	log := func(inst, status string) *store.CountedLog {
		return &store.CountedLog{InstanceID: inst, Event: webhook.EventMessageReceived, Status: status, CreatedAt: day}
	}
	// Ten changes of shard A in order: five new logs, two of them retried into success, one
	// failed, and one deleted.
	seq := func(n int) string { return strconv.Itoa(4000000000000000000 + n) }
	changes := []store.LogChange{
		{Seq: seq(1), New: log("inst_x", webhook.StatusRetrying)},
		{Seq: seq(2), New: log("inst_x", webhook.StatusRetrying)},
		{Seq: seq(3), New: log("inst_x", webhook.StatusSuccess)},
		{Seq: seq(4), New: log("inst_x", webhook.StatusSuccess)},
		{Seq: seq(5), New: log("inst_x", webhook.StatusSuccess)},
		{Seq: seq(6), Old: log("inst_x", webhook.StatusRetrying), New: log("inst_x", webhook.StatusSuccess)},
		{Seq: seq(7), Old: log("inst_x", webhook.StatusRetrying), New: log("inst_x", webhook.StatusFailed)},
		{Seq: seq(8), Old: log("inst_x", webhook.StatusSuccess), New: log("inst_x", webhook.StatusSuccess)},
		{Seq: seq(9), Old: log("inst_x", webhook.StatusSuccess)},
		{Seq: seq(10), New: log("inst_x", webhook.StatusSuccess)},
	}
	want := store.Counter{Total: 5, Success: 4, Failed: 1}
	type handover struct {
		shard    string
		from, to int // changes[from:to]
	}
	tests := []struct {
		name  string
		plan  []handover
		twice store.Counter // what a second shard's copy of the same changes adds
	}{
		{"one batch", []handover{{"A", 0, 10}}, store.Counter{}},
		{"the batch handed over twice", []handover{{"A", 0, 10}, {"A", 0, 10}}, store.Counter{}},
		{"in pieces", []handover{{"A", 0, 3}, {"A", 3, 7}, {"A", 7, 10}}, store.Counter{}},
		{"a retry that overlaps and goes further", []handover{{"A", 0, 4}, {"A", 2, 8}, {"A", 5, 10}}, store.Counter{}},
		{"a piece again after later ones", []handover{{"A", 0, 6}, {"A", 6, 10}, {"A", 3, 6}}, store.Counter{}},
		{"another shard counts on its own", []handover{{"A", 0, 10}, {"B", 0, 10}}, want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLogStore(t)
			for _, h := range tt.plan {
				if err := s.CountChanges(context.Background(), h.shard, changes[h.from:h.to]); err != nil {
					t.Fatal(err)
				}
			}
			w := want
			w.Total += tt.twice.Total
			w.Success += tt.twice.Success
			w.Failed += tt.twice.Failed
			if got := sum(t, s, "inst_x"); got != w {
				t.Fatalf("instance counters %+v, want %+v", got, w)
			}
			if got := sum(t, s, ""); got != w {
				t.Fatalf("all-instance counters %+v, want %+v", got, w)
			}
		})
	}
	t.Run("removals of a counter that is gone", func(t *testing.T) {
		s := newLogStore(t)
		gone := []store.LogChange{{Seq: seq(1), Old: log("inst_y", webhook.StatusSuccess)}}
		if err := s.CountChanges(context.Background(), "A", gone); err != nil {
			t.Fatal(err)
		}
		cs, err := s.Counters(context.Background(), "inst_y", day.Add(-24*time.Hour), day.Add(24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 0 {
			t.Fatalf("a removal made counters %+v", cs)
		}
	})
}
