package manage_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/wagate/wagate/shared/store"
)

// One instance's answer shows its session as the host last recorded it (the console shows
// whether it is connected): null before a host ran it, then its status and phone number.
func TestInstanceShowsItsSession(t *testing.T) {
	r := newAPIRig(t, false)
	str := func(v string) *string { return &v }
	in := r.create(`{"name":"session"}`)
	type session struct {
		Status      *string `json:"status"`
		PhoneNumber *string `json:"phoneNumber"`
	}
	read := func() session {
		t.Helper()
		var v struct {
			Session *session `json:"session"`
		}
		a := r.ok(request{method: "GET", resource: "/api/instance/{instanceId}", id: in.ID}, 200, nil)
		if err := json.Unmarshal(a.Data, &v); err != nil || v.Session == nil {
			t.Fatalf("GET answers %s: %v", a.Data, err)
		}
		return *v.Session
	}
	if s := read(); s.Status != nil || s.PhoneNumber != nil {
		t.Fatalf("a new instance's session is %+v, want nulls", s)
	}
	if err := r.store.SetSession(context.Background(), in.ID, store.SessionUpdate{Status: str("qr")}, r.clock()); err != nil {
		t.Fatal(err)
	}
	if s := read(); s.Status == nil || *s.Status != "qr" || s.PhoneNumber != nil {
		t.Fatalf("waiting for a scan: %+v", s)
	}
	if err := r.store.SetSession(context.Background(), in.ID, store.SessionUpdate{Status: str("connected"), PhoneNumber: str("6281234567890")}, r.clock()); err != nil {
		t.Fatal(err)
	}
	if s := read(); s.Status == nil || *s.Status != "connected" || s.PhoneNumber == nil || *s.PhoneNumber != "6281234567890" {
		t.Fatalf("paired: %+v", s)
	}
}
