package deliver_test

import (
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
