package deliver

import (
	"context"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wagate/wagate/shared/webhook"
)

// InstanceGetter loads an instance; a missing one is a webhook.ENotFound error.
type InstanceGetter interface {
	Get(ctx context.Context, id string) (*webhook.Instance, error)
}

// InstanceBatchGetter loads several instances in one request; a missing one is absent.
type InstanceBatchGetter interface {
	InstanceGetter
	GetMany(ctx context.Context, ids []string) (map[string]*webhook.Instance, error)
}

// InstanceCache keeps instances for a short while, so a batch of ten events for one instance
// reads it once, even when all ten miss at the same moment. Settings changed through the API
// reach deliveries within the TTL.
type InstanceCache struct {
	src InstanceGetter
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
	loads   singleflight.Group
	// sharing, when set, is called by each Get that missed once it shares the read of id in
	// flight (or started it): for tests to know when misses overlap.
	sharing func(id string)
}

type cacheEntry struct {
	in      *webhook.Instance
	err     error // only not-found errors are kept
	expires time.Time
}

// NewInstanceCache returns a cache over src keeping each answer for ttl. When src can read
// several instances at once (InstanceBatchGetter), Prefetch does.
func NewInstanceCache(src InstanceGetter, ttl time.Duration) *InstanceCache {
	return &InstanceCache{src: src, ttl: ttl, now: time.Now, entries: map[string]cacheEntry{}}
}

// Get returns the instance from the cache or from src.
func (c *InstanceCache) Get(ctx context.Context, id string) (*webhook.Instance, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[id]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.in, e.err
	}
	// Misses for one id at the same moment share one read.
	read := c.loads.DoChan(id, func() (any, error) {
		in, err := c.src.Get(ctx, id)
		if err != nil && webhook.ErrorCode(err) != webhook.ENotFound {
			return nil, err // a store failure is not an answer worth keeping
		}
		c.mu.Lock()
		if len(c.entries) > 10000 {
			clear(c.entries) // bound memory in a long-lived process
		}
		c.entries[id] = cacheEntry{in: in, err: err, expires: now.Add(c.ttl)}
		c.mu.Unlock()
		return in, err
	})
	if c.sharing != nil {
		c.sharing(id)
	}
	res := <-read
	in, _ := res.Val.(*webhook.Instance)
	return in, res.Err
}

// Prefetch reads, in one request, the instances of ids that are not in the cache, so a batch
// of events for many instances reads them together rather than one request each. One missing
// instance is left to Get. A failure is only logged by the caller: Get reads again.
func (c *InstanceCache) Prefetch(ctx context.Context, ids []string) error {
	many, ok := c.src.(InstanceBatchGetter)
	if !ok {
		return nil
	}
	now := c.now()
	var missing []string
	c.mu.Lock()
	for _, id := range ids {
		if e, ok := c.entries[id]; (!ok || !now.Before(e.expires)) && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	c.mu.Unlock()
	if len(missing) < 2 {
		return nil
	}
	found, err := many.GetMany(ctx, missing)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries)+len(missing) > 10000 {
		clear(c.entries)
	}
	for _, id := range missing {
		e := cacheEntry{in: found[id], expires: now.Add(c.ttl)}
		if e.in == nil {
			e.err = webhook.Errorf(webhook.ENotFound, "instance %s not found", id)
		}
		c.entries[id] = e
	}
	return nil
}
