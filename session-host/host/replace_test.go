package host

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	wastore "github.com/wagate/wagate/shared/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// A session that can no longer pair or connect as it is gets a new one: an unpaired device
// WhatsApp dropped after its last QR code, or a device unlinked from the phone. A paired
// device's disconnection is whatsmeow's to mend, and a session stopped meanwhile stays
// stopped.
func TestSessionsReplaceWhatCannotGoOn(t *testing.T) {
	r := newHostRig(t)
	tests := []struct {
		name     string
		paired   bool
		events   []any
		stop     bool // Stop the instance right after the events
		replaced bool
	}{
		{"unpaired, dropped after its codes", false, []any{&events.Disconnected{}}, false, true},
		{"unpaired, dropped twice", false, []any{&events.Disconnected{}, &events.Disconnected{}}, false, true},
		{"paired, dropped", true, []any{&events.Disconnected{}}, false, false},
		{"paired, unlinked from the phone", true, []any{&events.LoggedOut{Reason: events.ConnectFailureLoggedOut}}, false, true},
		{"pairing failed on the device", false, []any{&events.PairError{}}, false, true},
		{"unpaired, dropped, then stopped", false, []any{&events.Disconnected{}}, true, false},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dials atomic.Int32
			sessions := r.sessions()
			sessions.dial = func(Client) error { dials.Add(1); return nil }
			sessions.replacePause = 20 * time.Millisecond
			defer sessions.StopAll()
			id := "inst_replace_" + string(rune('a'+n))
			r.createInstances(id)
			if tt.paired {
				r.pair(id, types.JID{User: "62811" + string(rune('0'+n)), Device: 3, Server: types.DefaultUserServer})
			}
			if err := sessions.Start(r.ctx, id); err != nil {
				t.Fatal(err)
			}
			first, _ := sessions.current(id)
			if (first.device.ID != nil) != tt.paired {
				t.Fatalf("started with device %v", first.device.ID)
			}
			if !tt.paired {
				sessions.onEvent(id, first, &events.QR{Codes: []string{"2@old-connection"}})
			}
			for _, evt := range tt.events {
				sessions.onEvent(id, first, evt)
			}
			if tt.stop {
				sessions.Stop(id)
			}
			// Handling the events started every replacement they call for; each has run once
			// this returns, whatever its pause, so a late one is seen as well.
			sessions.replacements.Wait()
			now2, running := sessions.current(id)
			switch {
			case tt.stop:
				if running {
					t.Fatal("a stopped session was started again")
				}
			case tt.replaced:
				if !running || now2 == first || now2.device.ID != nil || dials.Load() != 2 {
					t.Fatalf("running %v, replaced %v, device %v, %d dials; want one new unpaired session", running, now2 != first, now2.device.ID, dials.Load())
				}
				st, err := r.instances.GetSession(r.ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if code, _, ok := st.CurrentQR(time.Now()); ok {
					t.Fatalf("the old connection's code %q is still served", code)
				}
			default:
				if now2 != first || dials.Load() != 1 {
					t.Fatalf("replaced %v, %d dials; want the same session", now2 != first, dials.Load())
				}
			}
		})
	}
}

// flakyState fails the first reads of session state, as a store that is down for a while.
type flakyState struct {
	SessionStore
	failures atomic.Int32
}

func (f *flakyState) GetSession(ctx context.Context, id string) (wastore.SessionState, error) {
	if f.failures.Add(-1) >= 0 {
		return wastore.SessionState{}, errors.New("dynamodb unreachable")
	}
	return f.SessionStore.GetSession(ctx, id)
}

// A replacement that cannot read the instance's state while the store is down tries again
// with backoff, and the instance gets its new session once the store is back.
func TestReplaceWaitsOutAStoreOutage(t *testing.T) {
	r := newHostRig(t)
	r.createInstances("inst_replace_outage")
	state := &flakyState{SessionStore: r.instances}
	sessions := NewSessions(r.devices, state, nil, quietLogger)
	sessions.dial = func(Client) error { return nil }
	sessions.backoff = []time.Duration{10 * time.Millisecond}
	sessions.replacePause = time.Millisecond
	defer sessions.StopAll()
	if err := sessions.Start(r.ctx, "inst_replace_outage"); err != nil {
		t.Fatal(err)
	}
	first, _ := sessions.current("inst_replace_outage")
	state.failures.Store(3)
	sessions.onEvent("inst_replace_outage", first, &events.Disconnected{})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if sess, ok := sessions.current("inst_replace_outage"); ok && sess != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new session after the store came back")
		}
	}
	if left := state.failures.Load(); left >= 0 {
		t.Fatalf("the store failed fewer times than set (%d left): the outage was not waited out", left+1)
	}
}
