package host

import (
	"context"
	"log/slog"
	"time"

	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/store"
)

// WorkStore is where the API marks instances with messages for this host to send.
type WorkStore interface {
	WorkFor(ctx context.Context, host string) ([]store.Work, error)
	DoneWith(ctx context.Context, w store.Work) error
}

// Waker wakes the sender of an instance this host runs; false when it runs none.
type Waker interface {
	Wake(id string, after func()) bool
}

// WorkWatcher wakes the senders of the instances the API marked with new messages.
type WorkWatcher struct {
	host     string
	store    WorkStore
	waker    Waker
	interval time.Duration
	logger   *slog.Logger
}

// indexLag is how old a mark must be before it is cleared. A woken sender reads the pending
// messages through an eventually consistent index that may not show the newest accept yet; a
// younger mark stays, so the next poll wakes the sender again, for one read more.
const indexLag = 2 * time.Second

// NewWorkWatcher returns a watcher that looks for work every interval.
func NewWorkWatcher(host string, s WorkStore, w Waker, interval time.Duration, logger *slog.Logger) *WorkWatcher {
	return &WorkWatcher{host: host, store: s, waker: w, interval: interval, logger: logger}
}

// Run wakes senders until ctx ends.
func (w *WorkWatcher) Run(ctx context.Context) {
	every(ctx, w.interval, func() { w.poll(ctx) })
}

func (w *WorkWatcher) poll(ctx context.Context) {
	work, err := w.store.WorkFor(ctx, w.host)
	if err != nil {
		if ctx.Err() == nil {
			w.logger.Error("read outbox work", "error", err)
		}
		return
	}
	for _, wk := range work {
		done := func() { w.done(wk) }
		// An instance this host does not run (any more) has its pending messages read when
		// the host holding its lease starts it: its mark can go.
		if !w.waker.Wake(wk.InstanceID, done) {
			done()
		}
	}
}

// done clears wk's mark once the sender read the pending messages after it.
func (w *WorkWatcher) done(wk store.Work) {
	if time.Since(wk.At) < indexLag {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.store.DoneWith(ctx, wk); err != nil {
		w.logger.Warn("clear outbox mark", "instanceId", wk.InstanceID, "error", err)
	}
}

// instancePaces reads each instance's pace with its session state: one projected read per
// paced hand-over, so a pace changed through the API holds from the next message on.
type instancePaces struct{ state SessionStore }

func (p instancePaces) PaceOf(ctx context.Context, id string) (outbox.Pace, error) {
	st, err := p.state.GetSession(ctx, id)
	if err != nil {
		return outbox.Pace{}, err
	}
	return st.SendPace, nil
}
