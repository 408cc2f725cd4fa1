// Package lease decides which instances a session host runs. Hosts run side by side; each
// runs only the instances it holds a lease on in the instances table, and a lease has one
// holder at a time (see store.InstanceStore.AcquireLease). A host's Manager renews its leases
// every Interval, stops the sessions whose leases it lost, and, while it runs fewer than
// Capacity, takes the leases no host holds or whose holder stopped renewing them.
//
// A host that crashes keeps its leases until they end, TTL after its last renewal; other hosts
// take them at their next sweep after that, so within TTL+Interval. A host that stops on
// SIGTERM releases its leases, and other hosts take them at their next sweep.
package lease

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wagate/wagate/shared/store"
)

// Sessions runs the WhatsApp sessions of instances; the host implements it.
type Sessions interface {
	// Start begins running the instance's session and returns without waiting for it to
	// connect: the Manager starts sessions one after the other in the loop that renews its
	// leases. ctx bounds the call only, never the session. An error means it does not run.
	Start(ctx context.Context, id string) error
	// Stop ends the instance's session before returning.
	Stop(id string)
}

// Store keeps the leases; *store.InstanceStore implements it.
type Store interface {
	AcquireLease(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error)
	RenewLease(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, id, owner string) error
	ListLeases(ctx context.Context, limit int, after string) ([]store.LeaseState, string, error)
}

// Config holds a Manager's dependencies and settings; zero settings take their defaults.
type Config struct {
	Owner    string // this host's id, unique among the hosts
	Store    Store
	Sessions Sessions
	Capacity int              // instances at most; default 500
	Interval time.Duration    // between sweeps; default 10 s
	TTL      time.Duration    // how long a lease lasts unless renewed; default 30 s
	Logger   *slog.Logger     // default slog.Default()
	Now      func() time.Time // default time.Now
}

const (
	defaultCapacity = 500
	defaultInterval = 10 * time.Second
	defaultTTL      = 30 * time.Second

	// listPage is how many leases a sweep reads at a time looking for free ones.
	listPage = 100
	// releaseWorkers bounds how many sessions Release stops and releases at once.
	releaseWorkers = 16
)

// Manager keeps one host's leases and starts and stops its sessions to match.
type Manager struct {
	owner    string
	store    Store
	sessions Sessions
	capacity int
	interval time.Duration
	ttl      time.Duration
	logger   *slog.Logger
	now      func() time.Time

	mu   sync.Mutex           // held by a sweep and by Release
	held map[string]time.Time // instance → when its lease ends unless renewed, as last written
}

// New returns a Manager for c.Owner. Interval must be shorter than TTL, so that a lease is
// renewed before it ends.
func New(c Config) (*Manager, error) {
	m := &Manager{
		owner: c.Owner, store: c.Store, sessions: c.Sessions,
		capacity: c.Capacity, interval: c.Interval, ttl: c.TTL, logger: c.Logger, now: c.Now,
		held: map[string]time.Time{},
	}
	if m.capacity == 0 {
		m.capacity = defaultCapacity
	}
	if m.interval == 0 {
		m.interval = defaultInterval
	}
	if m.ttl == 0 {
		m.ttl = defaultTTL
	}
	if m.logger == nil {
		m.logger = slog.Default()
	}
	if m.now == nil {
		m.now = time.Now
	}
	switch {
	case m.owner == "":
		return nil, errors.New("lease manager: no owner")
	case m.store == nil || m.sessions == nil:
		return nil, errors.New("lease manager: no store or no sessions")
	case m.capacity < 0 || m.interval < 0:
		return nil, fmt.Errorf("lease manager: negative capacity %d or interval %s", m.capacity, m.interval)
	case m.interval >= m.ttl:
		return nil, fmt.Errorf("lease manager: interval %s must be shorter than the lease TTL %s", m.interval, m.ttl)
	}
	m.logger = m.logger.With("owner", m.owner)
	return m, nil
}

// Run sweeps at once and then every Interval until ctx is done, and returns nil then. A
// failed store call is logged and tried again at the next sweep, never returned: an outage
// must not end the host. Run leaves the leases held and their sessions running: call Release
// after it to hand them over at once (on SIGTERM); without it, as after a crash, other hosts
// take them once they end.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		m.sweep(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Release stops every session the Manager runs and releases its lease, so that other hosts
// take them at their next sweep rather than TTL later. ctx bounds the releases; the error
// joins those that failed, whose leases end on their own. Call it once Run has returned.
func (m *Manager) Release(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, releaseWorkers)
		emu  sync.Mutex
		errs []error
	)
	for id := range m.held {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			// The session ends before its lease, so no other host connects it meanwhile.
			m.sessions.Stop(id)
			if err := m.store.ReleaseLease(ctx, id, m.owner); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	m.logger.Info("released leases", "instances", len(m.held), "failed", len(errs))
	clear(m.held)
	return errors.Join(errs...)
}

// sweep renews the leases the host holds, then takes free ones while it has room. Taking
// stops after an Interval, to go on at the next sweep, so that a host starting many sessions
// still renews its leases about every Interval plus the time renewing them takes.
func (m *Manager) sweep(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.renew(ctx)
	if len(m.held) < m.capacity && ctx.Err() == nil {
		m.acquire(ctx, m.now().Add(m.interval))
	}
}

// call bounds one store or session call. It outlives ctx, which only ends the sweep between
// calls: a write cut off midway could hold a lease the Manager doesn't know of. A call can
// take as long as a renewed lease has left when its renewal starts, after which it is useless.
func (m *Manager) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), m.ttl-m.interval)
}

// renew renews every lease the host holds. The session of a lease lost is stopped. So is the
// session of a lease that could not be renewed and would end before the next sweep could
// try again, since another host may take it then.
func (m *Manager) renew(ctx context.Context) {
	for id, ends := range m.held {
		if ctx.Err() != nil {
			return
		}
		now := m.now()
		c, cancel := m.call(ctx)
		ok, err := m.store.RenewLease(c, id, m.owner, now, m.ttl)
		cancel()
		switch {
		case err == nil && ok:
			m.held[id] = now.Add(m.ttl)
		case err == nil:
			m.logger.Warn("lease lost (taken over, released, or instance deleted); stopping the session", "instanceId", id)
			m.stop(id)
		case !m.now().Add(m.interval).Before(ends):
			m.logger.Error("lease not renewed and about to end; stopping the session", "instanceId", id, "endsAt", ends, "error", err)
			m.stop(id)
		default:
			m.logger.Warn("lease not renewed; trying again at the next sweep", "instanceId", id, "endsAt", ends, "error", err)
		}
	}
}

func (m *Manager) stop(id string) {
	m.sessions.Stop(id)
	delete(m.held, id)
}

// acquire pages through the instances, taking free leases until the host is full, every
// instance was seen, ctx is done, or deadline passes with at least one lease taken (so that
// a sweep slower than the deadline still makes progress).
func (m *Manager) acquire(ctx context.Context, deadline time.Time) {
	after, took := "", false
	for {
		c, cancel := m.call(ctx)
		page, next, err := m.store.ListLeases(c, listPage, after)
		cancel()
		if err != nil {
			m.logger.Warn("cannot look for free leases; trying again at the next sweep", "error", err)
			return
		}
		for _, l := range page {
			if len(m.held) >= m.capacity || ctx.Err() != nil || took && !m.now().Before(deadline) {
				return
			}
			if _, ok := m.held[l.InstanceID]; ok {
				continue
			}
			// A lease of ours the Manager doesn't hold is one whose release failed, or one from
			// before this host restarted under the same id: take it back.
			if l.Owner == m.owner || l.Free(m.now()) {
				took = m.take(ctx, l.InstanceID) || took
			}
		}
		if next == "" {
			return
		}
		after = next
	}
}

// take acquires an instance's lease and starts its session, and reports whether it did. A
// session that fails to start gives its lease back, for this or another host to try again at
// a next sweep.
func (m *Manager) take(ctx context.Context, id string) bool {
	now := m.now()
	c, cancel := m.call(ctx)
	ok, err := m.store.AcquireLease(c, id, m.owner, now, m.ttl)
	cancel()
	if err != nil {
		m.logger.Warn("cannot acquire lease", "instanceId", id, "error", err)
		return false
	}
	if !ok {
		return false // another host was first
	}
	c, cancel = m.call(ctx)
	defer cancel()
	if err := m.sessions.Start(c, id); err != nil {
		m.logger.Error("session did not start; releasing its lease", "instanceId", id, "error", err)
		c, cancel := m.call(ctx)
		defer cancel()
		if err := m.store.ReleaseLease(c, id, m.owner); err != nil {
			m.logger.Warn("lease not released; it ends on its own", "instanceId", id, "error", err)
		}
		return false
	}
	m.held[id] = now.Add(m.ttl)
	m.logger.Info("session started", "instanceId", id)
	return true
}
