package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/outbox"
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
	steps := []struct {
		name string
		u    store.SessionUpdate
		want store.SessionState
	}{
		{"qr codes", store.SessionUpdate{Status: str("qr"), QRCodes: []string{"2@a", "2@b"}},
			store.SessionState{Status: "qr", QRCodes: []string{"2@a", "2@b"}, QRIssuedAt: &now}},
		{"paired", store.SessionUpdate{Status: str("connected"), ClearQR: true, PhoneNumber: str("6281"), DeviceJID: str("6281:3@s.whatsapp.net")},
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
			if got.Status != st.want.Status || got.PhoneNumber != st.want.PhoneNumber || got.DeviceJID != st.want.DeviceJID ||
				!slices.Equal(got.QRCodes, st.want.QRCodes) || (got.QRIssuedAt == nil) != (st.want.QRIssuedAt == nil) ||
				(got.QRIssuedAt != nil && !got.QRIssuedAt.Equal(*st.want.QRIssuedAt)) {
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

func TestSendPace(t *testing.T) {
	res := awstest.Stack(t)
	s := store.NewInstanceStore(dynamodb.NewFromConfig(awstest.Config(t)), res.Table("InstancesTable"))
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.Create(ctx, &webhook.Instance{ID: "inst_p", WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	read := func() outbox.Pace {
		t.Helper()
		st, err := s.GetSession(ctx, "inst_p")
		if err != nil {
			t.Fatal(err)
		}
		return st.SendPace
	}
	if got := read(); got != outbox.DefaultPace {
		t.Fatalf("unset pace reads %+v, want the default", got)
	}
	pace := outbox.Pace{PerMinute: 6, JitterMs: 500, Typing: true}
	if _, err := s.Update(ctx, "inst_p", store.UpdateInstance{SendPace: &pace}, now); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != pace {
		t.Fatalf("pace reads %+v, want %+v", got, pace)
	}
	name := "renamed"
	if _, err := s.Update(ctx, "inst_p", store.UpdateInstance{Name: &name}, now); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != pace {
		t.Fatalf("an update of the name changed the pace to %+v", got)
	}
}

func TestCurrentQR(t *testing.T) {
	issued := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
	rotating := store.SessionState{QRCodes: []string{"c1", "c2", "c3"}, QRIssuedAt: &issued}
	tests := []struct {
		name     string
		st       store.SessionState
		after    time.Duration
		want     string
		wantEnds time.Duration // after issued
	}{
		{"first code at once", rotating, 0, "c1", 60 * time.Second},
		{"first code lasts 60 s", rotating, 59 * time.Second, "c1", 60 * time.Second},
		{"second code then", rotating, 60 * time.Second, "c2", 80 * time.Second},
		{"third code", rotating, 99 * time.Second, "c3", 100 * time.Second},
		{"none once all ran out", rotating, 100 * time.Second, "", 0},
		{"no code", store.SessionState{Status: "connected"}, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ends, ok := tt.st.CurrentQR(issued.Add(tt.after))
			if code != tt.want || ok != (tt.want != "") || (ok && !ends.Equal(issued.Add(tt.wantEnds))) {
				t.Fatalf("got %q until %s (%v), want %q until +%s", code, ends, ok, tt.want, tt.wantEnds)
			}
		})
	}
}
