package store_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/infra/storetest"
	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/store"
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

// staleIndex answers queries of one index partition with its own keys and those of another,
// as a GSI does for a moment after an item's key moved from one to the other.
type staleIndex struct {
	dynamo.Client
	partition, alsoFrom string
}

func (s staleIndex) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out, err := s.Client.Query(ctx, in, opts...)
	pk, _ := in.ExpressionAttributeValues[":pk"].(*ddbtypes.AttributeValueMemberS)
	if err != nil || pk == nil || pk.Value != s.partition {
		return out, err
	}
	moved := *in
	moved.ExpressionAttributeValues = maps.Clone(in.ExpressionAttributeValues)
	moved.ExpressionAttributeValues[":pk"] = &ddbtypes.AttributeValueMemberS{Value: s.alsoFrom}
	more, err := s.Client.Query(ctx, &moved, opts...)
	if err != nil {
		return nil, err
	}
	out.Items = append(out.Items, more.Items...)
	slices.SortFunc(out.Items, func(a, b map[string]ddbtypes.AttributeValue) int {
		return strings.Compare(b["webhookId"].(*ddbtypes.AttributeValueMemberS).Value, a["webhookId"].(*ddbtypes.AttributeValueMemberS).Value)
	})
	return out, nil
}

// A log whose state changed while a listing read the index sits, for a moment, in both of
// its partitions: listed, and handed to a clear, once.
func TestLogInTwoPartitionsListedOnce(t *testing.T) {
	s := newLogStore(t)
	ctx := context.Background()
	logs := []*webhook.Log{newLog("inst_d", webhook.StatusSuccess), newLog("inst_d", webhook.StatusSuccess)}
	if err := storetest.SaveNew(ctx, s, logs); err != nil {
		t.Fatal(err)
	}
	stale := store.NewLogStore(staleIndex{Client: s.db, partition: "inst_d#retrying#message.received", alsoFrom: "inst_d#success#message.received"},
		s.logTable, s.statsTable, 30*24*time.Hour)
	page, err := stale.List(ctx, webhook.LogFilter{InstanceID: "inst_d"}, 10, "", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Logs) != 2 || page.Logs[0].WebhookID == page.Logs[1].WebhookID {
		t.Fatalf("listed %d logs, want the 2 once each", len(page.Logs))
	}
	ids, err := stale.FindIDs(ctx, webhook.LogFilter{InstanceID: "inst_d"}, webhook.IDRange{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 {
		t.Fatalf("found %v, want the 2 ids once each", ids)
	}
}
