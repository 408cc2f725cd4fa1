package dynamo

import (
	"context"
	"math/rand/v2"
	"time"
)

// Backoff spaces the tries of a request DynamoDB did not complete (unprocessed keys or items,
// a transaction conflict): the wait before retry number n (from 0) is First doubled n times,
// at most Max, of which a random half to all is waited, so that writers racing on the same
// items do not retry in step.
type Backoff struct {
	First, Max time.Duration
}

// DefaultBackoff is the stores' Backoff: 20 ms, doubling up to a second.
var DefaultBackoff = Backoff{First: 20 * time.Millisecond, Max: time.Second}

// Wait waits before retry number try (from 0), or until ctx is done.
func (b Backoff) Wait(ctx context.Context, try int) error {
	t := time.NewTimer(b.delay(try))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (b Backoff) delay(try int) time.Duration {
	wait := b.First << try
	if wait > b.Max || wait <= 0 {
		wait = b.Max
	}
	return wait/2 + rand.N(wait/2+1)
}
