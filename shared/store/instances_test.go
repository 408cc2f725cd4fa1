package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// instanceRig is an InstanceStore over a fresh copy of the template's tables, with the raw
// client beside it to look at and change items the way another service would.
type instanceRig struct {
	t     *testing.T
	ctx   context.Context
	db    *dynamodb.Client
	table string
	s     *store.InstanceStore
}

func newInstanceRig(t *testing.T) *instanceRig {
	res := awstest.Stack(t)
	db := dynamodb.NewFromConfig(awstest.Config(t))
	table := res.Table("InstancesTable")
	return &instanceRig{t: t, ctx: context.Background(), db: db, table: table, s: store.NewInstanceStore(db, table)}
}

func (r *instanceRig) create(id string) *webhook.Instance {
	r.t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	in := &webhook.Instance{ID: id, WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}
	if err := r.s.Create(r.ctx, in); err != nil {
		r.t.Fatal(err)
	}
	return in
}

func (r *instanceRig) rawItem(id string) map[string]types.AttributeValue {
	r.t.Helper()
	out, err := r.db.GetItem(r.ctx, &dynamodb.GetItemInput{
		TableName: &r.table, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"instanceId": &types.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return out.Item
}

func TestInstanceCreateAndGet(t *testing.T) {
	r := newInstanceRig(t)
	s, ctx := r.s, r.ctx
	now := time.Now().UTC().Truncate(time.Millisecond)
	in := &webhook.Instance{
		ID: "inst_1", Name: "Sales", WebhookURL: "https://example.com/hook",
		WebhookEvents: []string{webhook.EventMessageReceived}, WebhookSecret: webhook.NewSecret(),
		PreviousSecret: webhook.NewSecret(), PreviousSecretExpiresAt: now.Add(time.Hour),
		CreatedAt: now, UpdatedAt: now,
	}
	if err := s.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, in); webhook.ErrorCode(err) != webhook.EConflict {
		t.Fatalf("second create: %v", err)
	}
	got, err := s.Get(ctx, "inst_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != in.Name || got.WebhookURL != in.WebhookURL || got.WebhookSecret != in.WebhookSecret ||
		got.PreviousSecret != in.PreviousSecret || !got.PreviousSecretExpiresAt.Equal(in.PreviousSecretExpiresAt) ||
		len(got.WebhookEvents) != 1 || !got.CreatedAt.Equal(now) {
		t.Fatalf("got %+v\nwant %+v", got, in)
	}
	if _, err := s.Get(ctx, "inst_nope"); webhook.ErrorCode(err) != webhook.ENotFound {
		t.Fatalf("missing instance: %v", err)
	}
	shard, ok := r.rawItem("inst_1")["listShard"].(*types.AttributeValueMemberS)
	if !ok || !slices.Contains([]string{"0", "1", "2", "3"}, shard.Value) {
		t.Fatalf("listShard = %#v, want one of 0-3", r.rawItem("inst_1")["listShard"])
	}
}

func TestInstanceList(t *testing.T) {
	r := newInstanceRig(t)
	var want []string
	for i := range 25 {
		want = append(want, r.create(fmt.Sprintf("inst_%02d", i)).ID)
	}
	shards := map[string]bool{}
	for _, id := range want {
		shards[r.rawItem(id)["listShard"].(*types.AttributeValueMemberS).Value] = true
	}
	if len(shards) < 2 {
		t.Fatalf("25 instances all in shards %v: the listing test would not merge shards", shards)
	}

	tests := []struct {
		limit int
		pages []int // instances on each page
	}{
		{limit: 10, pages: []int{10, 10, 5}},
		{limit: 5, pages: []int{5, 5, 5, 5, 5}}, // an exact multiple ends without an empty page
		{limit: 1, pages: slices.Repeat([]int{1}, 25)},
		{limit: 25, pages: []int{25}},
		{limit: 100, pages: []int{25}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit %d", tt.limit), func(t *testing.T) {
			var got []string
			after := ""
			for i, n := range tt.pages {
				page, next, err := r.s.List(r.ctx, tt.limit, after)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) != n {
					t.Fatalf("page %d has %d instances, want %d", i, len(page), n)
				}
				for _, in := range page {
					got = append(got, in.ID)
					if in.WebhookSecret == "" || in.CreatedAt.IsZero() {
						t.Fatalf("instance %s read incompletely: %+v", in.ID, in)
					}
				}
				if last := i == len(tt.pages)-1; last != (next == "") {
					t.Fatalf("page %d: next %q", i, next)
				}
				after = next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("listed %v\nwant %v", got, want)
			}
		})
	}

	t.Run("deleted instances are left out", func(t *testing.T) {
		if err := r.s.Delete(r.ctx, "inst_03"); err != nil {
			t.Fatal(err)
		}
		page, next, err := r.s.List(r.ctx, 5, "")
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]string, len(page))
		for i, in := range page {
			ids[i] = in.ID
		}
		if want := []string{"inst_00", "inst_01", "inst_02", "inst_04", "inst_05"}; !slices.Equal(ids, want) || next != "inst_05" {
			t.Fatalf("page %v next %q, want %v next inst_05", ids, next, want)
		}
	})

	t.Run("empty table", func(t *testing.T) {
		page, next, err := newInstanceRig(t).s.List(context.Background(), 10, "")
		if err != nil || len(page) != 0 || next != "" {
			t.Fatalf("page %v next %q err %v", page, next, err)
		}
	})
}

func TestInstanceUpdate(t *testing.T) {
	r := newInstanceRig(t)
	in := r.create("inst_u")
	// Another service keeps its own attribute on the item; updates must leave it alone.
	if _, err := r.db.UpdateItem(r.ctx, &dynamodb.UpdateItemInput{
		TableName: &r.table, Key: map[string]types.AttributeValue{"instanceId": &types.AttributeValueMemberS{Value: in.ID}},
		UpdateExpression:          aws.String("SET #s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "connected"}},
	}); err != nil {
		t.Fatal(err)
	}
	str := func(s string) *string { return &s }
	events := func(e ...string) *[]string { return &e }
	t0 := in.CreatedAt

	tests := []struct {
		name   string
		update store.UpdateInstance
		want   webhook.Instance // the settings after the update
	}{
		{"set all", store.UpdateInstance{Name: str("Sales"), WebhookURL: str("https://example.com/a"), WebhookEvents: events(webhook.EventMessageSent)},
			webhook.Instance{Name: "Sales", WebhookURL: "https://example.com/a", WebhookEvents: []string{webhook.EventMessageSent}}},
		{"only the url", store.UpdateInstance{WebhookURL: str("https://example.com/b")},
			webhook.Instance{Name: "Sales", WebhookURL: "https://example.com/b", WebhookEvents: []string{webhook.EventMessageSent}}},
		{"webhooks off, every event", store.UpdateInstance{WebhookURL: str(""), WebhookEvents: events()},
			webhook.Instance{Name: "Sales"}},
		{"name removed", store.UpdateInstance{Name: str("")}, webhook.Instance{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0.Add(time.Duration(i+1) * time.Minute)
			got, err := r.s.Update(r.ctx, in.ID, tt.update, now)
			if err != nil {
				t.Fatal(err)
			}
			read, err := r.s.Get(r.ctx, in.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range []*webhook.Instance{got, read} {
				if g.Name != tt.want.Name || g.WebhookURL != tt.want.WebhookURL || !slices.Equal(g.WebhookEvents, tt.want.WebhookEvents) ||
					!g.UpdatedAt.Equal(now) || !g.CreatedAt.Equal(t0) || g.WebhookSecret != in.WebhookSecret {
					t.Fatalf("got %+v, want settings %+v updated at %v", g, tt.want, now)
				}
			}
			item := r.rawItem(in.ID)
			if s, ok := item["status"].(*types.AttributeValueMemberS); !ok || s.Value != "connected" {
				t.Fatalf("another service's attribute was lost: %v", item)
			}
			for attr, v := range map[string]string{"name": tt.want.Name, "webhookUrl": tt.want.WebhookURL} {
				if _, stored := item[attr]; stored != (v != "") {
					t.Fatalf("attribute %s stored %v, want it removed when empty", attr, item[attr])
				}
			}
		})
	}

	t.Run("missing instance", func(t *testing.T) {
		_, err := r.s.Update(r.ctx, "inst_nope", store.UpdateInstance{Name: str("x")}, time.Now())
		if webhook.ErrorCode(err) != webhook.ENotFound {
			t.Fatalf("err %v, want not_found", err)
		}
		if r.rawItem("inst_nope") != nil {
			t.Fatal("update created the missing instance")
		}
	})
}

func TestInstanceDelete(t *testing.T) {
	r := newInstanceRig(t)
	r.create("inst_d")
	if err := r.s.Delete(r.ctx, "inst_d"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.Get(r.ctx, "inst_d"); webhook.ErrorCode(err) != webhook.ENotFound {
		t.Fatalf("get after delete: %v", err)
	}
	if err := r.s.Delete(r.ctx, "inst_d"); webhook.ErrorCode(err) != webhook.ENotFound {
		t.Fatalf("second delete: %v", err)
	}
}

func TestInstanceRotateSecret(t *testing.T) {
	r := newInstanceRig(t)
	in := r.create("inst_r")
	now := in.CreatedAt.Add(time.Hour)
	s1 := webhook.NewSecret()
	got, err := r.s.RotateSecret(r.ctx, in.ID, s1, now)
	if err != nil {
		t.Fatal(err)
	}
	if got.WebhookSecret != s1 || got.PreviousSecret != in.WebhookSecret ||
		!got.PreviousSecretExpiresAt.Equal(now.Add(webhook.SecretOverlap)) || !got.UpdatedAt.Equal(now) {
		t.Fatalf("after rotation: %+v", got)
	}
	if secrets := got.SigningSecrets(now); !slices.Equal(secrets, []string{s1, in.WebhookSecret}) {
		t.Fatalf("signing secrets during the overlap: %v", secrets)
	}
	if secrets := got.SigningSecrets(now.Add(webhook.SecretOverlap)); !slices.Equal(secrets, []string{s1}) {
		t.Fatalf("signing secrets after the overlap: %v", secrets)
	}

	s2 := webhook.NewSecret()
	got, err = r.s.RotateSecret(r.ctx, in.ID, s2, now.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if got.WebhookSecret != s2 || got.PreviousSecret != s1 {
		t.Fatalf("second rotation: %+v", got)
	}
	if _, err := r.s.RotateSecret(r.ctx, "inst_nope", webhook.NewSecret(), now); webhook.ErrorCode(err) != webhook.ENotFound {
		t.Fatalf("missing instance: %v", err)
	}
	if r.rawItem("inst_nope") != nil {
		t.Fatal("rotation created the missing instance")
	}
}

// Rotations at the same moment apply one after the other: each one's previous secret is the
// secret another one (or the original) installed, so following previous → current from the
// original secret visits every new secret once, and none is lost.
func TestInstanceConcurrentRotations(t *testing.T) {
	r := newInstanceRig(t)
	in := r.create("inst_c")
	const n = 8
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		next = map[string]string{} // previous secret → the secret that replaced it
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := r.s.RotateSecret(r.ctx, in.ID, webhook.NewSecret(), time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if _, dup := next[got.PreviousSecret]; dup {
				t.Errorf("two rotations replaced the same secret %s", got.PreviousSecret)
			}
			next[got.PreviousSecret] = got.WebhookSecret
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	secret := in.WebhookSecret
	for i := range n {
		s, ok := next[secret]
		if !ok {
			t.Fatalf("the chain of rotations stops after %d of %d: %s was never replaced", i, n, secret)
		}
		secret = s
	}
	final, err := r.s.Get(r.ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if final.WebhookSecret != secret {
		t.Fatalf("current secret %s, want the last of the chain %s", final.WebhookSecret, secret)
	}
}
