package deliver

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/wagate/wagate/shared/webhook"
)

// InstanceGetter loads an instance; a missing one is a webhook.ENotFound error.
type InstanceGetter interface {
	Get(ctx context.Context, id string) (*webhook.Instance, error)
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

// NewInstanceCache returns a cache over src keeping each answer for ttl.
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
