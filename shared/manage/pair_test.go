package manage_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/store"
)

// fakeHost answers the pairing requests addressed to it the way a session host does, over
// the real store: code for a phone number, or answerErr.
func fakeHost(ctx context.Context, t *testing.T, s *store.InstanceStore, host string, answer func(store.PairRequest) store.PairAnswer) {
	go func() {
		for ctx.Err() == nil {
			reqs, err := s.PendingPairings(ctx, host)
			if err != nil && ctx.Err() == nil {
				t.Error(err)
				return
			}
			for _, req := range reqs {
				a := answer(req)
				a.RequestID = req.RequestID
				if _, err := s.AnswerPairing(ctx, req.InstanceID, a); err != nil && ctx.Err() == nil {
					t.Error(err)
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
}

func TestInstancePair(t *testing.T) {
	r := newAPIRig(t, true)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	hosted, failing, unhosted, paired, silent, renewing := r.create(`{"name":"hosted"}`), r.create(`{"name":"failing"}`),
		r.create(`{"name":"unhosted"}`), r.create(`{"name":"paired"}`), r.create(`{"name":"silent"}`), r.create(`{"name":"renewing"}`)
	for id, host := range map[string]string{hosted.ID: "host-a", failing.ID: "host-b", paired.ID: "host-a", silent.ID: "host-quiet", renewing.ID: "host-c"} {
		if ok, err := r.store.AcquireLease(ctx, id, host, r.clock(), time.Hour); err != nil || !ok {
			t.Fatalf("lease %s: %v %v", id, ok, err)
		}
	}
	str := func(v string) *string { return &v }
	if err := r.store.SetSession(ctx, paired.ID, store.SessionUpdate{Status: str("connected"), DeviceJID: str("6281234567890.0:3@s.whatsapp.net")}, r.clock()); err != nil {
		t.Fatal(err)
	}
	fakeHost(ctx, t, r.store, "host-a", func(req store.PairRequest) store.PairAnswer {
		return store.PairAnswer{Code: "C0DE-" + req.Phone[len(req.Phone)-4:]}
	})
	fakeHost(ctx, t, r.store, "host-b", func(store.PairRequest) store.PairAnswer {
		return store.PairAnswer{Error: "the session is not connected to WhatsApp yet", ErrorCode: "conflict"}
	})
	fakeHost(ctx, t, r.store, "host-c", func(store.PairRequest) store.PairAnswer {
		return store.PairAnswer{Error: "the session is renewing its connection to WhatsApp; try again in 10 seconds", ErrorCode: "unavailable"}
	})

	var got struct{ InstanceID, PhoneNumber, PairingCode string }
	r.ok(request{method: "POST", resource: "/api/instance/{instanceId}/pair", id: hosted.ID, body: `{"phoneNumber":"+6281234567890"}`}, 200, &got)
	if got.InstanceID != hosted.ID || got.PhoneNumber != "6281234567890" || got.PairingCode != "C0DE-7890" {
		t.Fatalf("pair: %+v", got)
	}
	// Asked again, the host's newer answer comes back, not the first one.
	r.ok(request{method: "POST", resource: "/api/instance/{instanceId}/pair", id: hosted.ID, body: `{"phoneNumber":"447700900123"}`}, 200, &got)
	if got.PairingCode != "C0DE-0123" {
		t.Fatalf("second pair: %+v", got)
	}

	for _, tt := range []struct {
		name, id, body string
		status         int
		code, inMsg    string
	}{
		{"host cannot pair", failing.ID, `{"phoneNumber":"6281234567890"}`, 409, "conflict", "not connected to WhatsApp"},
		{"host asks to try again", renewing.ID, `{"phoneNumber":"6281234567890"}`, 503, "unavailable", "try again in 10 seconds"},
		{"no host runs it", unhosted.ID, `{"phoneNumber":"6281234567890"}`, 409, "conflict", "no session host runs"},
		{"already paired", paired.ID, `{"phoneNumber":"6281234567890"}`, 409, "conflict", "already paired"},
		{"unknown instance", "inst_nobody", `{"phoneNumber":"6281234567890"}`, 404, "not_found", "not found"},
		{"bad instance id", "no way", `{"phoneNumber":"6281234567890"}`, 400, "invalid_request", "instanceId"},
		{"no phone", hosted.ID, `{}`, 400, "invalid_request", "phoneNumber: required"},
		{"no body", hosted.ID, ``, 400, "invalid_request", "phoneNumber: required"},
		{"phone as number", hosted.ID, `{"phoneNumber":6281234567890}`, 400, "invalid_request", "phoneNumber"},
		{"letters", hosted.ID, `{"phoneNumber":"+62812345abc"}`, 400, "invalid_request", "phoneNumber"},
		{"spaces", hosted.ID, `{"phoneNumber":"+62 812 3456 7890"}`, 400, "invalid_request", "phoneNumber"},
		{"national form", hosted.ID, `{"phoneNumber":"081234567890"}`, 400, "invalid_request", "phoneNumber"},
		{"too short", hosted.ID, `{"phoneNumber":"+123456"}`, 400, "invalid_request", "phoneNumber"},
		{"too long", hosted.ID, `{"phoneNumber":"+1234567890123456"}`, 400, "invalid_request", "phoneNumber"},
		{"unknown field", hosted.ID, `{"phoneNumber":"6281234567890","phone":"x"}`, 400, "invalid_request", "phone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := r.do(request{method: "POST", resource: "/api/instance/{instanceId}/pair", id: tt.id, body: tt.body})
			if a.status != tt.status || a.Error.Code != tt.code || !strings.Contains(a.Error.Message, tt.inMsg) {
				t.Fatalf("got %d %s, want %d %s with %q", a.status, a.raw, tt.status, tt.code, tt.inMsg)
			}
		})
	}

	t.Run("host does not answer", func(t *testing.T) {
		quick := &apiRig{t: t, res: r.res, router: apigw.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil))), store: r.store, cursors: r.cursors, now: r.clock()}
		manage.NewInstanceAPI(manage.InstanceDeps{Store: r.store, Cursors: r.cursors, Now: r.clock, PairWait: 600 * time.Millisecond}).Register(quick.router)
		a := quick.do(request{method: "POST", resource: "/api/instance/{instanceId}/pair", id: silent.ID, body: `{"phoneNumber":"6281234567890"}`})
		if a.status != 503 || a.Error.Code != "unavailable" || !strings.Contains(a.Error.Message, "did not answer") {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
}
