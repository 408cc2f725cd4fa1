package lease_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/session-host/lease"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

const (
	interval = 50 * time.Millisecond
	// ttl leaves a host a second to renew: more than a sweep takes against moto under -race
	// on a busy machine, where a shorter lease can end before its holder renews it.
	ttl = time.Second
	// settle bounds the wait for what a few sweeps do; tests poll, they don't time sweeps.
	settle = 10 * time.Second
)

// world is where sessions run, across hosts. It fails the test when a host starts an
// instance that runs already, on it or on another host.
type world struct {
	t         *testing.T
	mu        sync.Mutex
	running   map[string]string    // instance → the host running it
	startedAt map[string]time.Time // instance → when it last started
	max       map[string]int       // host → the most instances it ran at once
	stopped   map[string][]string  // host → the instances it stopped, in order
}

func newWorld(t *testing.T) *world {
	return &world{t: t, running: map[string]string{}, startedAt: map[string]time.Time{}, max: map[string]int{}, stopped: map[string][]string{}}
}

// sessions is one host's Sessions in w. fail, when set, runs first and may refuse to start.
func (w *world) sessions(host string, fail func(id string) error) lease.Sessions {
	return &sessions{w: w, host: host, fail: fail}
}

type sessions struct {
	w    *world
	host string
	fail func(id string) error
}

func (s *sessions) Start(_ context.Context, id string) error {
	if s.fail != nil {
		if err := s.fail(id); err != nil {
			return err
		}
	}
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if other, ok := w.running[id]; ok {
		w.t.Errorf("%s started %s, which runs on %s", s.host, id, other)
	}
	w.running[id] = s.host
	w.startedAt[id] = time.Now()
	w.max[s.host] = max(w.max[s.host], w.countLocked(s.host))
	return nil
}

func (s *sessions) Stop(id string) {
	w := s.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.running[id] == s.host {
		delete(w.running, id)
	}
	w.stopped[s.host] = append(w.stopped[s.host], id)
}

func (w *world) countLocked(host string) int {
	n := 0
	for _, h := range w.running {
		if h == host {
			n++
		}
	}
	return n
}

// on returns the instances host runs, in order.
func (w *world) on(host string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var ids []string
	for id, h := range w.running {
		if h == host {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// crashed forgets host's sessions: they ended with its process.
func (w *world) crashed(host string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	maps.DeleteFunc(w.running, func(_, h string) bool { return h == host })
}

func (w *world) stops(host string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.stopped[host])
}

// rig is a fresh instances table holding n instances, inst_0 to inst_<n-1>.
type rig struct {
	t     *testing.T
	store *store.InstanceStore
	ids   []string
}

func newRig(t *testing.T, n int) *rig {
	res := awstest.Stack(t)
	r := &rig{t: t, store: store.NewInstanceStore(dynamodb.NewFromConfig(awstest.Config(t)), res.Table("InstancesTable"))}
	now := time.Now()
	for i := range n {
		id := fmt.Sprintf("inst_%d", i)
		if err := r.store.Create(context.Background(), &webhook.Instance{ID: id, WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		r.ids = append(r.ids, id)
	}
	return r
}

// host is a Manager running in the background.
type host struct {
	m      *lease.Manager
	cancel context.CancelFunc
	done   chan struct{}
}

// run starts a Manager over the rig's table with c, whose zero Interval and TTL become the
// tests' short ones. The test stops it when it ends, without releasing.
func (r *rig) run(c lease.Config) *host {
	r.t.Helper()
	c.Store = cmp(c.Store, lease.Store(r.store))
	c.Interval = cmp(c.Interval, interval)
	c.TTL = cmp(c.TTL, ttl)
	c.Logger = slog.New(slog.NewTextHandler(r.t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	m, err := lease.New(c)
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &host{m: m, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		if err := m.Run(ctx); err != nil {
			r.t.Errorf("run %s: %v", c.Owner, err)
		}
	}()
	r.t.Cleanup(h.stop)
	return h
}

// cmp returns v, or def when v is the zero value.
func cmp[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// stop ends Run and returns once it has; leases and sessions stay, as after a crash.
func (h *host) stop() {
	h.cancel()
	<-h.done
}

// leases reads every instance's lease.
func (r *rig) leases() map[string]store.LeaseState {
	r.t.Helper()
	out := map[string]store.LeaseState{}
	after := ""
	for {
		page, next, err := r.store.ListLeases(context.Background(), 100, after)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, l := range page {
			out[l.InstanceID] = l
		}
		if next == "" {
			return out
		}
		after = next
	}
}

// settled reports why the rig's instances are not yet each running on the one host among
// hosts that holds its live lease.
func (r *rig) settled(w *world, hosts ...string) error {
	return r.settledAt(w, time.Now(), hosts...)
}

// settledAt is settled with the leases' liveness judged at now.
func (r *rig) settledAt(w *world, now time.Time, hosts ...string) error {
	leases := r.leases()
	for _, id := range r.ids {
		l := leases[id]
		if l.Free(now) || !slices.Contains(hosts, l.Owner) {
			return fmt.Errorf("%s: lease %+v, want a live one of %v", id, l, hosts)
		}
		if on := w.on(l.Owner); !slices.Contains(on, id) {
			return fmt.Errorf("%s: held by %s, which runs %v", id, l.Owner, on)
		}
	}
	for _, h := range hosts {
		for _, id := range w.on(h) {
			if l := leases[id]; l.Owner != h {
				return fmt.Errorf("%s runs on %s, lease %+v", id, h, l)
			}
		}
	}
	return nil
}

// eventually polls cond until it returns nil, failing the test if within passes first.
func eventually(t *testing.T, within time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hostRuns is a condition: host runs exactly want.
func hostRuns(w *world, host string, want ...string) func() error {
	return func() error {
		if got := w.on(host); !slices.Equal(got, want) {
			return fmt.Errorf("%s runs %v, want %v", host, got, want)
		}
		return nil
	}
}

func TestTwoHostsRunEachInstanceOnce(t *testing.T) {
	r, w := newRig(t, 6), newWorld(t)
	renewals := &renewalCounter{Store: r.store, n: map[string]int{}}
	r.run(lease.Config{Owner: "A", Sessions: w.sessions("A", nil), Store: renewals})
	r.run(lease.Config{Owner: "B", Sessions: w.sessions("B", nil), Store: renewals})
	eventually(t, settle, func() error { return r.settled(w, "A", "B") })

	// Renewals keep it so: after five more renewals of every lease no session has moved.
	want, now := map[string]int{}, renewals.counts()
	for _, id := range r.ids {
		want[id] = now[id] + 5
	}
	eventually(t, settle, func() error {
		got := renewals.counts()
		for id, n := range want {
			if got[id] < n {
				return fmt.Errorf("%s renewed %d times, want %d", id, got[id], n)
			}
		}
		return nil
	})
	if err := r.settled(w, "A", "B"); err != nil {
		t.Fatal(err)
	}
	if a, b := w.stops("A"), w.stops("B"); len(a)+len(b) > 0 {
		t.Fatalf("sessions stopped while both hosts ran: A %v, B %v", a, b)
	}
}

func TestCapacity(t *testing.T) {
	t.Run("one host after the other", func(t *testing.T) {
		r, w := newRig(t, 6), newWorld(t)
		r.run(lease.Config{Owner: "A", Sessions: w.sessions("A", nil), Capacity: 4})
		eventually(t, settle, func() error {
			if n := len(w.on("A")); n != 4 {
				return fmt.Errorf("A runs %d, want 4", n)
			}
			return nil
		})
		free := 0
		for _, l := range r.leases() {
			if l.Owner == "" {
				free++
			}
		}
		if free != 2 {
			t.Fatalf("%d instances without a lease, want the 2 beyond A's capacity", free)
		}
		r.run(lease.Config{Owner: "B", Sessions: w.sessions("B", nil), Capacity: 4})
		eventually(t, settle, func() error { return r.settled(w, "A", "B") })
		if a, b := len(w.on("A")), len(w.on("B")); a != 4 || b != 2 {
			t.Fatalf("A runs %d and B %d, want 4 and 2", a, b)
		}
		checkMax(t, w, 4, "A", "B")
	})

	t.Run("side by side", func(t *testing.T) {
		r, w := newRig(t, 6), newWorld(t)
		r.run(lease.Config{Owner: "A", Sessions: w.sessions("A", nil), Capacity: 4})
		r.run(lease.Config{Owner: "B", Sessions: w.sessions("B", nil), Capacity: 4})
		eventually(t, settle, func() error { return r.settled(w, "A", "B") })
		checkMax(t, w, 4, "A", "B")
	})
}

func checkMax(t *testing.T, w *world, capacity int, hosts ...string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, h := range hosts {
		if w.max[h] > capacity {
			t.Errorf("%s ran %d instances at once, capacity %d", h, w.max[h], capacity)
		}
	}
}

// A crashed host keeps its leases until they end: the other host takes none of them
// meanwhile, and all of them at its first sweep after they end. The hosts' clock moves only
// when told, so the test counts sweeps instead of timing them.
func TestCrashedHostsInstancesTakenOver(t *testing.T) {
	r, w := newRig(t, 6), newWorld(t)
	clk := &clock{t: time.Now().Truncate(time.Millisecond)} // as leases are stored
	a := r.run(lease.Config{Owner: "A", Sessions: w.sessions("A", nil), Now: clk.Now})
	eventually(t, settle, func() error { return r.settledAt(w, clk.Now(), "A") })
	sweeps := &sweepCounter{Store: r.store}
	var mu sync.Mutex
	takenAt := map[string]int{} // instance → the sweep of B's that started its session
	r.run(lease.Config{Owner: "B", Store: sweeps, Now: clk.Now, Sessions: w.sessions("B", func(id string) error {
		mu.Lock()
		defer mu.Unlock()
		takenAt[id] = sweeps.count()
		return nil
	})})

	a.stop()
	w.crashed("A")
	ended := r.leases() // A's, as it last renewed them
	more := sweeps.count() + 3
	eventually(t, settle, func() error {
		if n := sweeps.count(); n < more {
			return fmt.Errorf("B swept %d times, want %d", n, more)
		}
		return nil
	})
	if on := w.on("B"); len(on) > 0 {
		t.Fatalf("B took %v while A's leases lasted", on)
	}

	var last time.Time
	for _, id := range r.ids {
		if l := ended[id]; l.Owner != "A" {
			t.Fatalf("%s: lease %+v, want A's", id, l)
		}
		if ends := ended[id].ExpiresAt; ends.After(last) {
			last = ends
		}
	}
	clk.Add(last.Sub(clk.Now()) + time.Millisecond) // every lease of A's has ended
	// The sweep under way may have read the leases before; the next one reads them after.
	next := sweeps.count() + 1
	eventually(t, settle, func() error { return r.settledAt(w, clk.Now(), "B") })
	mu.Lock()
	defer mu.Unlock()
	for _, id := range r.ids {
		if takenAt[id] > next {
			t.Errorf("%s taken at B's sweep %d; its lease ended before sweep %d", id, takenAt[id], next)
		}
	}
}

// sweepCounter counts a host's sweeps that look for free leases: their first page of leases.
type sweepCounter struct {
	lease.Store
	n atomic.Int32
}

func (c *sweepCounter) ListLeases(ctx context.Context, limit int, after string) ([]store.LeaseState, string, error) {
	if after == "" {
		c.n.Add(1)
	}
	return c.Store.ListLeases(ctx, limit, after)
}

func (c *sweepCounter) count() int { return int(c.n.Load()) }

// A host that releases on the way out hands its instances over at the other's next sweep,
// long before its leases would have ended.
func TestReleasedInstancesTakenOverAtOnce(t *testing.T) {
	r, w := newRig(t, 6), newWorld(t)
	const long = time.Minute
	a := r.run(lease.Config{Owner: "A", Sessions: w.sessions("A", nil), TTL: long})
	eventually(t, settle, func() error { return r.settled(w, "A") })
	r.run(lease.Config{Owner: "B", Sessions: w.sessions("B", nil), TTL: long})

	a.stop()
	if err := a.m.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
	if on := w.on("A"); len(on) > 0 {
		t.Fatalf("A still runs %v after Release", on)
	}
	if stops := w.stops("A"); len(stops) != 6 {
		t.Fatalf("A stopped %v, want all 6", stops)
	}
	// B can only have them before their TTL of a minute if A released them.
	eventually(t, settle, func() error { return r.settled(w, "B") })
}

// A host that stalls past its leases' end loses them to the other host, and stops their
// sessions once it resumes and its renewals fail.
func TestStalledHostStopsWhatItLost(t *testing.T) {
	r := newRig(t, 6)
	// A and B run in worlds of their own: the stalled A runs its sessions until it notices.
	wa, wb := newWorld(t), newWorld(t)
	stalled, resume := make(chan struct{}), make(chan struct{})
	r.run(lease.Config{Owner: "A", Sessions: wa.sessions("A", func(id string) error {
		if id == "inst_5" {
			close(stalled)
			<-resume
		}
		return nil
	})})
	<-stalled // A holds every lease and is stuck starting the last session

	r.run(lease.Config{Owner: "B", Sessions: wb.sessions("B", nil)})
	eventually(t, settle, func() error { return r.settled(wb, "B") })

	close(resume)
	eventually(t, settle, hostRuns(wa, "A"))
	if stops := wa.stops("A"); len(stops) != 6 {
		t.Fatalf("A stopped %v, want all 6", stops)
	}
	if err := r.settled(wb, "B"); err != nil {
		t.Fatalf("after A resumed: %v", err)
	}
}

// flakyStore fails lease writes while fail is set.
type flakyStore struct {
	*store.InstanceStore
	fail   atomic.Bool
	failed atomic.Int64 // renewals failed
}

var errUnreachable = errors.New("connection refused")

func (f *flakyStore) AcquireLease(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if f.fail.Load() {
		return false, errUnreachable
	}
	return f.InstanceStore.AcquireLease(ctx, id, owner, now, ttl)
}

func (f *flakyStore) RenewLease(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if f.fail.Load() {
		f.failed.Add(1)
		return false, errUnreachable
	}
	return f.InstanceStore.RenewLease(ctx, id, owner, now, ttl)
}

// renewalCounter counts each instance's renewed leases.
type renewalCounter struct {
	lease.Store
	mu sync.Mutex
	n  map[string]int
}

func (c *renewalCounter) RenewLease(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	ok, err := c.Store.RenewLease(ctx, id, owner, now, ttl)
	if ok && err == nil {
		c.mu.Lock()
		c.n[id]++
		c.mu.Unlock()
	}
	return ok, err
}

func (c *renewalCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// clock is a time that moves when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// While renewals fail, a host keeps its sessions as long as their leases last past its next
// sweep, and stops them before another host could take them.
func TestFailedRenewalsStopSessionsBeforeLeasesEnd(t *testing.T) {
	r, w := newRig(t, 1), newWorld(t)
	fs := &flakyStore{InstanceStore: r.store}
	clk := &clock{t: time.Now().Truncate(time.Millisecond)} // as leases are stored
	r.run(lease.Config{Owner: "A", Sessions: w.sessions("A", nil), Store: fs, Now: clk.Now})
	eventually(t, settle, hostRuns(w, "A", "inst_0"))
	// The clock stands still: every renewal so far made the lease end at the same time.
	ends := r.leases()["inst_0"].ExpiresAt

	fs.fail.Store(true)
	failures := func(n int64) {
		t.Helper()
		want := fs.failed.Load() + n
		eventually(t, settle, func() error {
			if got := fs.failed.Load(); got < want {
				return fmt.Errorf("%d failed renewals, want %d", got, want)
			}
			return nil
		})
	}
	failures(3)
	if on := w.on("A"); len(on) != 1 {
		t.Fatalf("session stopped at the first failed renewals, its lease lasting %s more", ends.Sub(clk.Now()))
	}
	// A millisecond more than the next sweep needs...
	clk.Add(ends.Sub(clk.Now()) - interval - time.Millisecond)
	failures(3)
	if on := w.on("A"); len(on) != 1 {
		t.Fatal("session stopped while its lease lasts past the next sweep")
	}
	// ...and then not.
	clk.Add(time.Millisecond)
	eventually(t, settle, hostRuns(w, "A"))
	if l := r.leases()["inst_0"]; l.Owner != "A" || !l.ExpiresAt.Equal(ends) {
		t.Fatalf("lease %+v, want A's, ending at %v", l, ends)
	}
}

func TestDeletedInstanceStops(t *testing.T) {
	r, w := newRig(t, 3), newWorld(t)
	r.run(lease.Config{Owner: "A", Sessions: w.sessions("A", nil)})
	eventually(t, settle, hostRuns(w, "A", "inst_0", "inst_1", "inst_2"))
	if err := r.store.Delete(context.Background(), "inst_1"); err != nil {
		t.Fatal(err)
	}
	eventually(t, settle, hostRuns(w, "A", "inst_0", "inst_2"))
	if stops := w.stops("A"); !slices.Equal(stops, []string{"inst_1"}) {
		t.Fatalf("A stopped %v, want inst_1", stops)
	}
}

// A session that fails to start gives its lease back at once, for another host to take.
func TestFailedStartReleasesLease(t *testing.T) {
	r, w := newRig(t, 3), newWorld(t)
	const long = time.Minute
	r.run(lease.Config{Owner: "A", TTL: long, Sessions: w.sessions("A", func(id string) error {
		if id == "inst_1" {
			return errors.New("device store unreachable")
		}
		return nil
	})})
	eventually(t, settle, hostRuns(w, "A", "inst_0", "inst_2"))
	r.run(lease.Config{Owner: "B", TTL: long, Sessions: w.sessions("B", nil)})
	eventually(t, settle, func() error { return r.settled(w, "A", "B") })
	if on := w.on("B"); !slices.Equal(on, []string{"inst_1"}) {
		t.Fatalf("B runs %v, want inst_1", on)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	s, w := store.NewInstanceStore(nil, "t"), newWorld(t).sessions("A", nil)
	tests := []struct {
		name string
		c    lease.Config
	}{
		{"no owner", lease.Config{Store: s, Sessions: w}},
		{"no store", lease.Config{Owner: "A", Sessions: w}},
		{"no sessions", lease.Config{Owner: "A", Store: s}},
		{"negative capacity", lease.Config{Owner: "A", Store: s, Sessions: w, Capacity: -1}},
		{"interval as long as the TTL", lease.Config{Owner: "A", Store: s, Sessions: w, Interval: time.Second, TTL: time.Second}},
		{"default interval, shorter TTL", lease.Config{Owner: "A", Store: s, Sessions: w, TTL: 5 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := lease.New(tt.c); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if _, err := lease.New(lease.Config{Owner: "A", Store: s, Sessions: w}); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}
