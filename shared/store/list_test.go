package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/wagate/wagate/infra/storetest"
	"github.com/wagate/wagate/shared/webhook"
)

// Every filter's listing, paged through, is exactly the logs that match it, newest first,
// whatever partitions of the indexes they sit in.
func TestListMergesPartitionsExactly(t *testing.T) {
	s := newLogStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 13))
	instances := []string{"inst_m1", "inst_m2", ""}
	start := time.Now().Add(-time.Hour)
	logs := make([]*webhook.Log, 200)
	for i := range logs {
		l := newLog(instances[rng.IntN(len(instances))], webhook.Statuses[rng.IntN(len(webhook.Statuses))])
		l.Event = webhook.Events[rng.IntN(len(webhook.Events))]
		l.CreatedAt = start.Add(time.Duration(i) * time.Second).UTC().Truncate(time.Millisecond)
		l.WebhookID, l.ID = webhook.NewWebhookID(l.CreatedAt), webhook.NewLogID(l.CreatedAt)
		logs[i] = l
	}
	if err := storetest.SaveNew(ctx, s, logs); err != nil {
		t.Fatal(err)
	}
	filters := []webhook.LogFilter{
		{}, {InstanceID: "inst_m1"}, {Status: webhook.StatusFailed}, {Event: webhook.EventWebhookTest},
		{InstanceID: "inst_m2", Status: webhook.StatusSuccess}, {InstanceID: "inst_m1", Event: webhook.EventMessageSent},
		{Status: webhook.StatusRetrying, Event: webhook.EventMessageReceived},
		{InstanceID: "inst_m2", Status: webhook.StatusFailed, Event: webhook.EventSessionStatus},
	}
	for _, f := range filters {
		var want []string
		for _, l := range logs {
			if f.Matches(l) {
				want = append(want, l.WebhookID)
			}
		}
		slices.Reverse(want)
		for _, limit := range []int{30, 100} {
			t.Run(fmt.Sprintf("%+v limit %d", f, limit), func(t *testing.T) {
				var got []string
				before := ""
				for page := 0; ; page++ {
					if page > len(want)+1 {
						t.Fatal("paging does not end")
					}
					p, err := s.List(ctx, f, limit, before, 1<<20)
					if err != nil {
						t.Fatal(err)
					}
					if len(p.Logs) > limit {
						t.Fatalf("page of %d logs, limit %d", len(p.Logs), limit)
					}
					for _, l := range p.Logs {
						got = append(got, l.WebhookID)
					}
					if p.Before == "" {
						break
					}
					before = p.Before
				}
				if !slices.Equal(got, want) {
					t.Fatalf("listed %d logs, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
				}
			})
		}
	}
}
