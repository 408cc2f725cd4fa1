package deliver

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// cutError is the error of an attempt cut short, after waiting for an answer, because it alone
// kept its batch waiting; it is also the cause of the attempt's cancelled context.
type cutError struct{ after time.Duration }

func (e *cutError) Error() string {
	return fmt.Sprintf("no answer within %s while the rest of its batch waited; cut short and sent again at once in the slow lane, with the whole timeout", e.after)
}

// batchHedge cuts short the first attempts that keep an events-queue batch waiting. A batch
// returns when its slowest record does, so one endpoint that stops answering holds every
// other record's instance until its timeout, once per container, before the circuits move its
// records to the slow lane. Once every record of the batch left is waiting on an endpoint,
// each such first attempt that has waited after is cut, and the batch returns. The cut
// attempt counts in attempts (the endpoint got the request) and in the circuit as one with no
// answer, but not in the schedule: its record moves to the slow lane at once and is sent
// again there with the whole timeout, so an endpoint that answers within the contract's
// timeout still succeeds, at the price of a second copy (which receivers drop by webhook-id).
// A retry is never cut, nor a batch of one record, which holds no other. An attempt cut
// before its request went out was none: its record moves unsent (Handler.deliverOnce).
type batchHedge struct {
	after time.Duration

	mu      sync.Mutex
	records int           // the batch's records not done
	waiting int           // of them, those in an attempt that may be cut
	changed chan struct{} // closed, and replaced, when records or waiting change
}

// newBatchHedge returns the hedge of a batch of n records, nil (no hedge) when after is not
// positive or the batch has a single record.
func newBatchHedge(after time.Duration, n int) *batchHedge {
	if after <= 0 || n < 2 {
		return nil
	}
	return &batchHedge{after: after, records: n, changed: make(chan struct{})}
}

// change applies f to the counts and wakes the attempts watching them; b.mu is not held.
func (b *batchHedge) change(f func()) {
	b.mu.Lock()
	f()
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

// recordDone notes that one of the batch's records is done with.
func (b *batchHedge) recordDone() {
	if b == nil {
		return
	}
	b.change(func() { b.records-- })
}

// holding reports whether every record left is waiting on an endpoint, and returns the
// channel closed at the next change.
func (b *batchHedge) holding() (bool, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records == b.waiting, b.changed
}

// attempt returns the context for one attempt that may be cut, and the function to call
// when it ends. With a nil b it is ctx itself.
func (b *batchHedge) attempt(ctx context.Context) (context.Context, func()) {
	if b == nil {
		return ctx, func() {}
	}
	actx, cancel := context.WithCancelCause(ctx)
	b.change(func() { b.waiting++ })
	ended := make(chan struct{})
	go func() {
		wait := time.NewTimer(b.after)
		defer wait.Stop()
		select {
		case <-ended:
			return
		case <-wait.C:
		}
		for {
			hold, changed := b.holding()
			if hold {
				break
			}
			select {
			case <-ended:
				return
			case <-changed:
			}
		}
		cancel(&cutError{after: b.after})
	}()
	return actx, func() {
		close(ended)
		b.change(func() { b.waiting-- })
		cancel(nil)
	}
}
