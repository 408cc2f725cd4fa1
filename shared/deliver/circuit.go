package deliver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

// CircuitOptions configures Circuits. Zero fields take the defaults.
type CircuitOptions struct {
	Threshold int           // consecutive unreachable attempts that open a circuit; 5
	Open      time.Duration // how long a circuit first stays open; 30 s
	MaxOpen   time.Duration // the longest it stays open after failed probes; 5 min
}

// Circuits keeps one circuit breaker per webhook URL, so an endpoint that keeps timing out or
// refusing connections stops holding the batches it shares with other instances' webhooks.
// The key is the whole URL, not its host: a host serving many customers' paths (a webhook
// relay, a shared ingress) may hang on one path and answer the others, and a circuit must
// never refuse an endpoint that is not itself failing.
//
// Only attempts that got no answer in time count (timeouts, failed connections): an endpoint
// that answers, even 500, does not hold a batch, so its answers go through the retry
// schedule. The state lives in memory, per warm Lambda container: every container learns on
// its own, and a cold start begins with every circuit closed.
type Circuits struct {
	threshold     int
	open, maxOpen time.Duration
	now           func() time.Time

	mu       sync.Mutex
	circuits map[string]*circuit
}

type circuit struct {
	failures  int           // consecutive unreachable attempts
	openUntil time.Time     // zero while closed
	period    time.Duration // the current open period, doubled by each failed probe
	probing   bool          // the half-open probe is in flight
}

// NewCircuits returns closed circuits.
func NewCircuits(o CircuitOptions) *Circuits {
	c := &Circuits{threshold: o.Threshold, open: o.Open, maxOpen: o.MaxOpen, now: time.Now, circuits: map[string]*circuit{}}
	if c.threshold <= 0 {
		c.threshold = 5
	}
	if c.open <= 0 {
		c.open = 30 * time.Second
	}
	if c.maxOpen <= 0 {
		c.maxOpen = 5 * time.Minute
	}
	c.maxOpen = max(c.maxOpen, c.open)
	return c
}

// OpenError is the answer for an endpoint whose circuit is open: no request was made.
type OpenError struct {
	Failures int           // consecutive unreachable attempts that opened it
	Wait     time.Duration // until a probe may go
}

func (e *OpenError) Error() string {
	return fmt.Sprintf("endpoint circuit open: %d consecutive timeouts or failed connections", e.Failures)
}

// Allow reports whether an attempt to url may go now; probe is set for the one attempt let
// through a circuit whose open period ended (half-open). The caller reports the attempt's
// result with Done. When the circuit is open, open says why and for how long.
func (c *Circuits) Allow(url string) (probe bool, open *OpenError) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.circuits[url]
	if s == nil || s.openUntil.IsZero() {
		return false, nil
	}
	if wait := s.openUntil.Sub(c.now()); wait > 0 {
		return false, &OpenError{Failures: s.failures, Wait: wait}
	}
	if s.probing {
		// The probe ends within one attempt's timeout; a full open period is beyond that.
		return false, &OpenError{Failures: s.failures, Wait: c.open}
	}
	s.probing = true
	return true, nil
}

// health is what an attempt tells about its endpoint.
type health int

const (
	healthUnknown     health = iota // no request reached the network (a refused destination)
	healthAnswered                  // the endpoint answered, whatever it said
	healthUnreachable               // no answer in time, or no connection
)

// Done records the result of an attempt Allow let go.
func (c *Circuits) Done(url string, probe bool, h health) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.circuits[url]
	switch h {
	case healthAnswered:
		delete(c.circuits, url) // closed: the usual state takes no memory
	case healthUnreachable:
		if s == nil {
			if len(c.circuits) >= 10000 {
				clear(c.circuits) // bound memory in a long-lived container
			}
			s = &circuit{}
			c.circuits[url] = s
		}
		s.failures++
		switch {
		case probe:
			s.probing = false
			s.period = min(max(2*s.period, c.open), c.maxOpen)
			s.openUntil = c.now().Add(s.period)
		case s.openUntil.IsZero() && s.failures >= c.threshold:
			s.period = c.open
			s.openUntil = c.now().Add(s.period)
		}
	default:
		if s != nil && probe {
			s.probing = false // the probe told nothing: the next attempt probes instead
		}
	}
}

// errTimeout is the error of an attempt the endpoint did not answer in time.
var errTimeout = errors.New("timed out waiting for the endpoint")

// healthOf reads an attempt's result for the circuit.
func healthOf(res webhook.Result) health {
	var op *net.OpError
	switch {
	case res.StatusCode != 0:
		return healthAnswered
	case Refused(res.Err):
		return healthUnknown // the dial-time check, not the endpoint
	case errors.Is(res.Err, errTimeout):
		return healthUnreachable
	case errors.As(res.Err, &op) && op.Op == "dial":
		return healthUnreachable // refused, unreachable, or a name that does not resolve
	}
	return healthUnknown
}

// send makes the attempt through its URL's circuit. When the circuit is open no request is
// made and open says why.
func (c *Circuits) send(ctx context.Context, s *Sender, r Request) (webhook.Result, *OpenError) {
	probe, open := c.Allow(r.URL)
	if open != nil {
		return webhook.Result{}, open
	}
	res := s.Send(ctx, r)
	c.Done(r.URL, probe, healthOf(res))
	return res, nil
}
