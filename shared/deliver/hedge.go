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
// A retry is never cut, nor a batch of one record, which holds no other.
type batchHedge struct {
	after time.Duration

	mu      sync.Mutex
	records int // the batch's records not done
	waiting int // of them, those in an attempt that may be cut
}

// newBatchHedge returns the hedge of a batch of n records, nil (no hedge) when after is not
// positive or the batch has a single record.
func newBatchHedge(after time.Duration, n int) *batchHedge {
	if after <= 0 || n < 2 {
		return nil
	}
	return &batchHedge{after: after, records: n}
}

// recordDone notes that one of the batch's records is done with.
func (b *batchHedge) recordDone() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.records--
	b.mu.Unlock()
}

// holding reports whether every record left is waiting on an endpoint.
func (b *batchHedge) holding() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.records == b.waiting
}

// hedgeCheck is how often a waiting attempt past after looks at the rest of its batch.
const hedgeCheck = 20 * time.Millisecond

// attempt returns the context for one attempt that may be cut, and the function to call
// when it ends. With a nil b it is ctx itself.
func (b *batchHedge) attempt(ctx context.Context) (context.Context, func()) {
	if b == nil {
		return ctx, func() {}
	}
	actx, cancel := context.WithCancelCause(ctx)
	b.mu.Lock()
	b.waiting++
	b.mu.Unlock()
	ended := make(chan struct{})
	go func() {
		wait := time.NewTimer(b.after)
		defer wait.Stop()
		select {
		case <-ended:
			return
		case <-wait.C:
		}
		tick := time.NewTicker(hedgeCheck)
		defer tick.Stop()
		for !b.holding() {
			select {
			case <-ended:
				return
			case <-tick.C:
			}
		}
		cancel(&cutError{after: b.after})
	}()
	return actx, func() {
		close(ended)
		b.mu.Lock()
		b.waiting--
		b.mu.Unlock()
		cancel(nil)
	}
}
