// Package storetest fills the log store for tests that need many logs. It writes through the
// store's own Save, so the logs, their index keys and their counters are exactly what delivery
// would have written: a test helper that encoded items itself could drift from the store.
package storetest

import (
	"context"
	"fmt"
	"sync"

	"github.com/wagate/wagate/shared/webhook"
)

// LogSaver is the part of *store.LogStore that SaveNew writes through.
type LogSaver interface {
	Save(ctx context.Context, prev, next *webhook.Log) error
}

// saveWorkers is how many saves run at once: enough to keep a local emulator busy.
const saveWorkers = 8

// SaveNew saves logs that don't exist yet, several at once, each as the first write of its
// log, counted in the daily counters like any new log. It returns the first error, and a log
// that already exists is an error (a conflict).
func SaveNew(ctx context.Context, s LogSaver, logs []*webhook.Log) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan *webhook.Log)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range saveWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for l := range next {
				if err := s.Save(ctx, nil, l); err != nil {
					once.Do(func() {
						firstErr = fmt.Errorf("save new log %s: %w", l.WebhookID, err)
						cancel()
					})
				}
			}
		}()
	}
feed:
	for _, l := range logs {
		select {
		case next <- l:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err() // the caller's context ended before every log was handed out
	}
	return firstErr
}
