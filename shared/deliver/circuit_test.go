package deliver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"code.dny.dev/ssrf"

	"github.com/wagate/wagate/shared/webhook"
)

func TestCircuits(t *testing.T) {
	// Each step moves the clock on by after, then either asks Allow (want: "go", "probe" or
	// "open <wait>") or reports an attempt: fail / answer / unknown, as a probe or not.
	type step struct {
		after time.Duration
		do    string
		want  string
	}
	fails := func(n int) []step {
		s := make([]step, n)
		for i := range s {
			s[i] = step{do: "fail"}
		}
		return s
	}
	cat := func(parts ...[]step) []step {
		var out []step
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"closed below the threshold", cat(fails(2), []step{{do: "allow", want: "go"}})},
		{"an answer resets the count", cat(fails(2), []step{{do: "answer"}}, fails(2), []step{{do: "allow", want: "go"}})},
		{"opens at the threshold", cat(fails(3), []step{{after: 10 * time.Second, do: "allow", want: "open 20s"}})},
		{"one probe after the open period", cat(fails(3), []step{
			{after: 30 * time.Second, do: "allow", want: "probe"},
			{do: "allow", want: "open 30s"}, // the probe is in flight
		})},
		{"a probe answered closes it", cat(fails(3), []step{
			{after: 30 * time.Second, do: "allow", want: "probe"},
			{do: "probe-answer"},
			{do: "allow", want: "go"},
		}, fails(2), []step{{do: "allow", want: "go"}})},
		{"a failed probe opens it twice as long", cat(fails(3), []step{
			{after: 30 * time.Second, do: "allow", want: "probe"},
			{do: "probe-fail"},
			{after: 59 * time.Second, do: "allow", want: "open 1s"},
			{after: time.Second, do: "allow", want: "probe"},
			{do: "probe-fail"},
			{after: 2 * time.Minute, do: "allow", want: "probe"},
			{do: "probe-fail"},
			{do: "allow", want: "open 3m0s"}, // at most MaxOpen
		})},
		{"a probe that tells nothing lets the next one go", cat(fails(3), []step{
			{after: 30 * time.Second, do: "allow", want: "probe"},
			{do: "probe-unknown"},
			{do: "allow", want: "probe"},
		})},
		{"a late answer from before it opened closes it", cat(fails(3), []step{
			{do: "answer"},
			{do: "allow", want: "go"},
		})},
		{"late failures do not extend the open period", cat(fails(3), []step{
			{after: 10 * time.Second, do: "fail"},
			{do: "allow", want: "open 20s"},
		})},
		{"a refused destination counts nothing", cat(fails(2), []step{{do: "unknown"}, {do: "allow", want: "go"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			c := NewCircuits(CircuitOptions{Threshold: 3, Open: 30 * time.Second, MaxOpen: 3 * time.Minute})
			c.now = func() time.Time { return now }
			const url = "https://example.com/hook"
			for i, s := range tt.steps {
				now = now.Add(s.after)
				switch s.do {
				case "allow":
					probe, open := c.Allow(url)
					got := "go"
					switch {
					case open != nil:
						got = "open " + open.Wait.String()
					case probe:
						got = "probe"
					}
					if got != s.want {
						t.Fatalf("step %d: Allow = %s, want %s", i, got, s.want)
					}
				case "fail", "probe-fail":
					c.Done(url, s.do == "probe-fail", healthUnreachable)
				case "answer", "probe-answer":
					c.Done(url, s.do == "probe-answer", healthAnswered)
				case "unknown", "probe-unknown":
					c.Done(url, s.do == "probe-unknown", healthUnknown)
				default:
					t.Fatalf("step %d: unknown action %q", i, s.do)
				}
			}
			if _, open := c.Allow("https://example.com/other"); open != nil {
				t.Fatal("another URL on the same host is refused too")
			}
		})
	}
}

func TestOpenErrorSaysWhy(t *testing.T) {
	err := &OpenError{Failures: 5, Wait: 30 * time.Second}
	if got, want := err.Error(), "endpoint circuit open: 5 consecutive timeouts or failed connections"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
}

func TestHealthOf(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: ssrf.ErrProhibitedIP}
	tests := []struct {
		name string
		res  webhook.Result
		want health
	}{
		{"2xx", webhook.Result{StatusCode: 200}, healthAnswered},
		{"500", webhook.Result{StatusCode: 500, Err: errors.New("read answer: reset")}, healthAnswered},
		{"timeout", webhook.Result{Err: describe(context.DeadlineExceeded)}, healthUnreachable},
		{"connection refused", webhook.Result{Err: describe(fmt.Errorf("Post: %w", dial))}, healthUnreachable},
		{"destination refused", webhook.Result{Err: describe(fmt.Errorf("Post: %w", refused))}, healthUnknown},
		{"invalid URL", webhook.Result{Err: errors.New("url: must be https")}, healthUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := healthOf(tt.res); got != tt.want {
				t.Fatalf("health %d, want %d (error %v)", got, tt.want, tt.res.Err)
			}
		})
	}
}
