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

func TestSessionState(t *testing.T) {
	res := awstest.Stack(t)
	s := store.NewInstanceStore(dynamodb.NewFromConfig(awstest.Config(t)), res.Table("InstancesTable"))
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.Create(ctx, &webhook.Instance{ID: "inst_s", WebhookURL: "https://example.com", WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	str := func(v string) *string { return &v }
	exp := now.Add(time.Minute)
	steps := []struct {
		name string
		u    store.SessionUpdate
		want store.SessionState
	}{
		{"qr", store.SessionUpdate{Status: str("qr"), QR: str("2@abc"), QRExpiresAt: &exp}, store.SessionState{Status: "qr", QR: "2@abc", QRExpiresAt: &exp}},
		{"paired", store.SessionUpdate{Status: str("connected"), QR: str(""), PhoneNumber: str("6281"), DeviceJID: str("6281:3@s.whatsapp.net")},
			store.SessionState{Status: "connected", PhoneNumber: "6281", DeviceJID: "6281:3@s.whatsapp.net"}},
		{"logged out", store.SessionUpdate{Status: str("logged_out"), DeviceJID: str("")}, store.SessionState{Status: "logged_out", PhoneNumber: "6281"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := s.SetSession(ctx, "inst_s", st.u, now); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetSession(ctx, "inst_s")
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != st.want.Status || got.QR != st.want.QR || got.PhoneNumber != st.want.PhoneNumber ||
				got.DeviceJID != st.want.DeviceJID || (got.QRExpiresAt == nil) != (st.want.QRExpiresAt == nil) {
				t.Fatalf("got %+v, want %+v", got, st.want)
			}
		})
	}
	if in, err := s.Get(ctx, "inst_s"); err != nil || in.WebhookURL != "https://example.com" {
		t.Fatalf("webhook settings lost: %+v %v", in, err)
	}
	if err := s.SetSession(ctx, "inst_missing", store.SessionUpdate{Status: str("qr")}, now); webhook.ErrorCode(err) != webhook.ENotFound {
		t.Fatalf("missing instance: %v", err)
	}
}
