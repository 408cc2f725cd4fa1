package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Shared, when set, shares each URL's circuit with every other delivery function
	// (store.InstanceStore keeps it on the instance's item).
	Shared CircuitStore
	// ProbeHold is how long a probe keeps the other functions from probing: past the
	// attempt's timeout. 15 s.
	ProbeHold time.Duration
}

// CircuitStore keeps the circuits every delivery function shares, per instance and URL.
type CircuitStore interface {
	AddCircuitFailure(ctx context.Context, instanceID, url string) (webhook.Circuit, error)
	OpenCircuit(ctx context.Context, instanceID, url string, seen, until time.Time, period time.Duration) (bool, error)
	CloseCircuit(ctx context.Context, instanceID, url string) error
	ReadCircuit(ctx context.Context, instanceID, url string) (webhook.Circuit, error)
}

// Circuits keeps one circuit breaker per webhook URL, so an endpoint that keeps timing out or
// refusing connections stops holding the batches it shares with other instances' webhooks.
// The key is the whole URL, not its host: a host serving many customers' paths (a webhook
// relay, a shared ingress) may hang on one path and answer the others, and a circuit must
// never refuse an endpoint that is not itself failing.
//
// Only attempts that got no answer in time count (timeouts, failed connections): an endpoint
// that answers, even 500, does not hold a batch, so its answers go through the retry
// schedule. The state lives in memory, per warm Lambda container; with a CircuitStore it is
// also shared: failures count across containers, an open circuit reaches every container
// with the instance (within its cache's 5 s), and one container at a time probes.
type Circuits struct {
	threshold     int
	open, maxOpen time.Duration
	probeHold     time.Duration
	shared        CircuitStore
	now           func() time.Time

	mu       sync.Mutex
	circuits map[string]*circuit
}

type circuit struct {
	failures  int           // consecutive unreachable attempts
	lastSeen  time.Time     // when the last of them ended
	openUntil time.Time     // zero while closed
	period    time.Duration // the current open period, doubled by each failed probe
	probing   bool          // the half-open probe is in flight
	stored    time.Time     // openUntil as the shared store has it, as far as known
}

// NewCircuits returns closed circuits.
func NewCircuits(o CircuitOptions) *Circuits {
	c := &Circuits{
		threshold: o.Threshold, open: o.Open, maxOpen: o.MaxOpen, probeHold: o.ProbeHold, shared: o.Shared,
		now: time.Now, circuits: map[string]*circuit{},
	}
	if c.probeHold <= 0 {
		c.probeHold = 15 * time.Second
	}
	if c.threshold <= 0 {
		c.threshold = 5 // counted across every container when shared
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

// suspectMemory is how long a container's own unanswered attempt makes its endpoint suspect:
// as long as the instance it has cached may hide the shared circuit's count (the instance
// cache's 5 s).
const suspectMemory = 5 * time.Second

// suspect reports whether url's endpoint stopped answering, as far as any container knows:
// the shared circuit (read with the instance) counts failures with no answer since, or is
// open; or this container's own last attempt went unanswered moments ago. The container's
// own view fades, because the answer that clears it may come to another container; the
// shared one lasts until an answer closes it.
func (c *Circuits) suspect(url string, shared webhook.Circuit) bool {
	if shared.Failures > 0 || !shared.OpenUntil.IsZero() {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.circuits[url]
	return s != nil && s.failures > 0 && c.now().Sub(s.lastSeen) < suspectMemory
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
		s.lastSeen = c.now()
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
	case errors.As(res.Err, new(*cutError)) && res.Unwritten:
		return healthUnknown // cut by wagate's hedge before the request went out
	case errors.Is(res.Err, errTimeout) || errors.As(res.Err, new(*cutError)):
		return healthUnreachable
	case errors.As(res.Err, &op) && op.Op == "dial":
		return healthUnreachable // refused, unreachable, or a name that does not resolve
	}
	return healthUnknown
}

// adopt takes a circuit another container opened (as the instance read brought it) when
// this container knows of no later opening.
func (c *Circuits) adopt(url string, shared webhook.Circuit) {
	if shared.OpenUntil.IsZero() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.circuits[url]
	if s == nil {
		s = &circuit{}
		c.circuits[url] = s
	}
	if !shared.OpenUntil.After(s.stored) || s.probing {
		return
	}
	s.stored, s.failures, s.period = shared.OpenUntil, max(s.failures, shared.Failures), max(shared.Period, c.open)
	if shared.OpenUntil.After(s.openUntil) {
		s.openUntil = shared.OpenUntil
	}
}

// state returns what this container knows of url's circuit.
func (c *Circuits) state(url string) circuit {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.circuits[url]; s != nil {
		return *s
	}
	return circuit{}
}

// opened records that the store has url's circuit open until until.
func (c *Circuits) opened(url string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.circuits[url]; s != nil {
		s.stored = until
		if until.After(s.openUntil) {
			s.openUntil = until
		}
	}
}

// send makes the attempt through its URL's circuit. When the circuit is open no request is
// made and open says why. A failure of the shared store only costs the sharing: it is
// logged, and the attempt goes on as the local circuit decides.
func (c *Circuits) send(ctx context.Context, log *slog.Logger, s *Sender, in *webhook.Instance, r Request, hedge *batchHedge) (webhook.Result, *OpenError) {
	shared := in.Circuit.For(r.URL)
	if c.shared != nil {
		c.adopt(r.URL, shared)
	}
	probe, open := c.Allow(r.URL)
	if open != nil {
		return webhook.Result{}, open
	}
	if probe && c.shared != nil {
		// One probe for every container: hold the circuit open past this attempt. Losing
		// means another container probes, or closed it; either way this one waits.
		st := c.state(r.URL)
		hold := c.now().Add(c.probeHold)
		won, err := c.shared.OpenCircuit(ctx, in.ID, r.URL, st.stored, hold, st.period)
		if err != nil {
			log.WarnContext(ctx, "claim the circuit's probe", "url", r.URL, "error", err)
		} else if !won {
			c.Done(r.URL, true, healthUnknown)
			return webhook.Result{}, &OpenError{Failures: st.failures, Wait: c.open}
		} else {
			c.opened(r.URL, hold)
		}
	}
	actx, ended := hedge.attempt(ctx)
	res := s.Send(actx, r)
	var cut *cutError
	if res.StatusCode == 0 && errors.As(context.Cause(actx), &cut) {
		res.Err = cut
	}
	ended()
	h := healthOf(res)
	before := c.state(r.URL)
	c.Done(r.URL, probe, h)
	if c.shared != nil {
		c.share(ctx, log, in, r.URL, probe, h, shared, before)
	}
	return res, nil
}

// share tells the other containers what an attempt found: a failure counts in the shared
// circuit, and opens it there when the count or this container's circuit says so; an answer
// after failures closes it.
func (c *Circuits) share(ctx context.Context, log *slog.Logger, in *webhook.Instance, url string, probe bool, h health, shared webhook.Circuit, before circuit) {
	switch h {
	case healthUnreachable:
		counted, err := c.shared.AddCircuitFailure(ctx, in.ID, url)
		if err != nil {
			log.WarnContext(ctx, "count a failure in the shared circuit", "url", url, "error", err)
			return
		}
		after := c.state(url)
		if counted.Failures < c.threshold && after.openUntil.IsZero() {
			return
		}
		if after.openUntil.IsZero() || !after.openUntil.After(c.now()) {
			// The count across containers opens it here too.
			c.mu.Lock()
			if s := c.circuits[url]; s != nil {
				s.failures, s.period = max(s.failures, counted.Failures), max(s.period, c.open)
				s.openUntil = c.now().Add(s.period)
			}
			c.mu.Unlock()
			after = c.state(url)
		}
		if err := c.openShared(ctx, in.ID, url, after); err != nil {
			log.WarnContext(ctx, "open the shared circuit", "url", url, "error", err)
		}
	case healthAnswered:
		if probe || before.failures > 0 || shared.Failures > 0 || !shared.OpenUntil.IsZero() {
			if err := c.shared.CloseCircuit(ctx, in.ID, url); err != nil {
				log.WarnContext(ctx, "close the shared circuit", "url", url, "error", err)
			}
		}
	}
}

// openShared opens url's shared circuit as this container's is. When the store's state is
// not the one this container knows, it is read: a later opening by another container is
// taken instead; an older one is replaced.
func (c *Circuits) openShared(ctx context.Context, instanceID, url string, local circuit) error {
	seen := local.stored
	for try := 0; try < 2; try++ {
		opened, err := c.shared.OpenCircuit(ctx, instanceID, url, seen, local.openUntil, local.period)
		if err != nil || opened {
			if opened {
				c.opened(url, local.openUntil)
			}
			return err
		}
		stored, err := c.shared.ReadCircuit(ctx, instanceID, url)
		if err != nil {
			return err
		}
		if stored.OpenUntil.After(c.now()) {
			c.adopt(url, stored)
			return nil
		}
		seen = stored.OpenUntil
	}
	return nil
}
