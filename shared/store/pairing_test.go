package store_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// A pairing request goes to the host holding the lease, and only it; its answer comes back to
// whoever asked, once, and a newer request supersedes an older one.
func TestPairingRequestsReachTheLeaseHolder(t *testing.T) {
	r := newInstanceRig(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	held, other, free := r.create("inst_pair_held"), r.create("inst_pair_other"), r.create("inst_pair_free")
	r.acquire(held.ID, "host-a", now, leaseTTL)
	r.acquire(other.ID, "host-b", now, leaseTTL)

	for _, tt := range []struct {
		name string
		id   string
		at   time.Time
		code string
	}{
		{"no host holds it", free.ID, now, webhook.EConflict},
		{"lease has ended", held.ID, now.Add(leaseTTL), webhook.EConflict},
		{"no such instance", "inst_pair_missing", now, webhook.ENotFound},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := r.s.RequestPairing(r.ctx, store.PairRequest{InstanceID: tt.id, RequestID: "r0", Phone: "6281234567890"}, tt.at)
			if webhook.ErrorCode(err) != tt.code {
				t.Fatalf("got %v, want code %s", err, tt.code)
			}
		})
	}

	first := store.PairRequest{InstanceID: held.ID, RequestID: "r1", Phone: "6281234567890"}
	if err := r.s.RequestPairing(r.ctx, first, now); err != nil {
		t.Fatal(err)
	}
	if err := r.s.RequestPairing(r.ctx, store.PairRequest{InstanceID: other.ID, RequestID: "r2", Phone: "447700900123"}, now); err != nil {
		t.Fatal(err)
	}
	pending := func(host string) []store.PairRequest {
		t.Helper()
		reqs, err := r.s.PendingPairings(r.ctx, host)
		if err != nil {
			t.Fatal(err)
		}
		return reqs
	}
	if got := pending("host-a"); len(got) != 1 || got[0] != first {
		t.Fatalf("host-a's requests: %+v", got)
	}
	if got := pending("host-c"); len(got) != 0 {
		t.Fatalf("host-c holds nothing but got %+v", got)
	}

	// A second request replaces the first: the first one's answer is refused.
	second := store.PairRequest{InstanceID: held.ID, RequestID: "r3", Phone: "6281234567891"}
	if err := r.s.RequestPairing(r.ctx, second, now); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.s.AnswerPairing(r.ctx, held.ID, store.PairAnswer{RequestID: "r1", Code: "OLD1CODE"}); err != nil || ok {
		t.Fatalf("answer to a replaced request: %v %v", ok, err)
	}
	if ok, err := r.s.AnswerPairing(r.ctx, held.ID, store.PairAnswer{RequestID: "r3", Code: "ABCD1234"}); err != nil || !ok {
		t.Fatalf("answer: %v %v", ok, err)
	}
	if got := pending("host-a"); len(got) != 0 {
		t.Fatalf("answered request still listed: %+v", got)
	}
	if got, err := r.s.GetPairAnswer(r.ctx, held.ID); err != nil || got != (store.PairAnswer{RequestID: "r3", Code: "ABCD1234"}) {
		t.Fatalf("answer read back: %+v %v", got, err)
	}
	if ok, err := r.s.AnswerPairing(r.ctx, held.ID, store.PairAnswer{RequestID: "r3", Code: "AGAIN123"}); err != nil || ok {
		t.Fatalf("second answer to one request: %v %v", ok, err)
	}

	// An error answer, then a new request clears it.
	if ok, err := r.s.AnswerPairing(r.ctx, other.ID, store.PairAnswer{RequestID: "r2", Error: "renewing the connection", ErrorCode: webhook.EUnavailable}); err != nil || !ok {
		t.Fatalf("error answer: %v %v", ok, err)
	}
	if got, _ := r.s.GetPairAnswer(r.ctx, other.ID); got.Error != "renewing the connection" || got.ErrorCode != webhook.EUnavailable || got.Code != "" {
		t.Fatalf("error answer read back: %+v", got)
	}
	if err := r.s.RequestPairing(r.ctx, store.PairRequest{InstanceID: other.ID, RequestID: "r4", Phone: "447700900123"}, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.s.GetPairAnswer(r.ctx, other.ID); got != (store.PairAnswer{}) {
		t.Fatalf("a new request left the old answer: %+v", got)
	}
	// The rest of the item is untouched: the lease is still host-b's.
	if l := r.lease(other.ID); l.Owner != "host-b" {
		t.Fatalf("lease after pairing: %+v", l)
	}
}
