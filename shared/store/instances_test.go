package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/shared/awstest"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

func TestInstanceCreateAndGet(t *testing.T) {
	res := awstest.Stack(t)
	s := store.NewInstanceStore(dynamodb.NewFromConfig(awstest.Config(t)), res.Table("InstancesTable"))
	ctx := context.Background()
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
}
