package deliver_test

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/webhook"
)

// An endpoint that keeps timing out opens its circuit: its later webhooks are deferred
// without a request, neither counting an attempt nor spending the schedule, each hidden until
// the circuit may probe; after maxDeferrals (3) they end failed instead of in the dead-letter
// queue. Another instance's webhooks in the same batches go out as usual.
func TestOpenCircuitDefersWithoutAnAttempt(t *testing.T) {
	r := newRig(t, rigOptions{
		sender: deliver.SenderOptions{
			Timeout: 300 * time.Millisecond, AllowHTTP: true,
			AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		},
		circuits: deliver.NewCircuits(deliver.CircuitOptions{Threshold: 2, Open: time.Minute}),
	})
	hang := newReceiver(t, func(_ int, w http.ResponseWriter) { time.Sleep(time.Second) })
	ok := newReceiver(t, answerStatus(http.StatusOK))
	slow, fine := r.instance(hang.URL), r.instance(ok.URL)
	first := r.publish(slow.ID, 2)
	r.publish(fine.ID, 3)
	r.drain(10) // the first two time out and open the circuit
	later := r.publish(slow.ID, 3)
	r.publish(fine.ID, 3)
	r.drain(40)

	if got := len(hang.got()); got != 2 {
		t.Fatalf("the hanging endpoint got %d requests, want 2 (then its circuit opened)", got)
	}
	if got := len(ok.got()); got != 6 {
		t.Fatalf("the other endpoint got %d webhooks, want 6", got)
	}
	for _, env := range append(first, later...) {
		l := r.log(env.WebhookID)
		wantAttempts := 0
		if env == first[0] || env == first[1] {
			wantAttempts = 1
		}
		if l.Status != webhook.StatusFailed || l.Attempts != wantAttempts || l.Error == nil ||
			!strings.HasPrefix(*l.Error, "endpoint circuit open: ") || !strings.HasSuffix(*l.Error, "; gave up after 3 deferrals") {
			t.Fatalf("webhook %s: status %s, %d attempts (want %d), error %v", env.WebhookID, l.Status, l.Attempts, wantAttempts, l.Error)
		}
	}
	deferrals := 0
	for _, d := range r.vis.delays() {
		if d > 50*time.Second && d <= time.Minute {
			deferrals++ // hidden until the circuit may probe, not for a retry delay
		}
	}
	if deferrals != 5*3 {
		t.Fatalf("%d deferrals of about a minute, want 15: %v", deferrals, r.vis.delays())
	}
}

// Two containers share an endpoint's circuit through the instance's item: the failures one
// container sees open it for the other, which defers without a request; when the open period
// ends one container probes for both, and a probe that fails opens it again for both.
func TestSharedCircuitAcrossContainers(t *testing.T) {
	sender := deliver.SenderOptions{
		Timeout: 300 * time.Millisecond, AllowHTTP: true,
		AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}
	r := newRig(t, rigOptions{sender: sender})
	hang := newReceiver(t, func(_ int, w http.ResponseWriter) { time.Sleep(time.Second) })
	slow := r.instance(hang.URL)
	container := func() *deliver.Handler {
		return deliver.NewHandler(deliver.Config{
			// The queue's own visibility: retries (a minute away) and deferrals stay hidden.
			Logs: r.logs, Instances: r.instances, Queue: r.sqs, QueueURL: r.queueURL,
			Sender: deliver.NewSender(sender), Policy: webhook.RetryPolicy{Schedule: webhook.RetrySchedule{time.Minute}},
			Logger: slog.New(slog.DiscardHandler),
			Circuits: deliver.NewCircuits(deliver.CircuitOptions{
				Threshold: 2, Open: 2 * time.Second, Shared: r.instances, ProbeHold: time.Second,
			}),
		})
	}
	a, b := container(), container()
	// one hands one new event to h, and reports whether the endpoint got a request.
	one := func(h *deliver.Handler) bool {
		t.Helper()
		before := len(hang.got())
		r.publish(slow.ID, 1)
		for {
			n, err := r.source.PollOnce(r.ctx, h.Handle)
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				return len(hang.got()) > before
			}
		}
	}
	steps := []struct {
		name string
		h    *deliver.Handler
		sent bool
	}{
		{"a: first timeout", a, true},
		{"a: second timeout opens the circuit", a, true},
		{"b: defers, having read the open circuit", b, false},
		{"a: defers", a, false},
	}
	for _, st := range steps {
		if got := one(st.h); got != st.sent {
			t.Fatalf("%s: sent %v", st.name, got)
		}
	}
	time.Sleep(2500 * time.Millisecond) // the open period ends
	if !one(b) {
		t.Fatal("b did not probe once the open period ended")
	}
	if one(a) {
		t.Fatal("a sent while b's probe had failed: the circuit should be open again for both")
	}
	if got := len(hang.got()); got != 3 {
		t.Fatalf("the hanging endpoint got %d requests, want 3", got)
	}
	in, err := r.instances.Get(r.ctx, slow.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := in.Circuit.For(hang.URL); c.Failures != 3 || !c.OpenUntil.After(time.Now()) || c.Period != 4*time.Second {
		t.Fatalf("the stored circuit: %+v", c)
	}
}
