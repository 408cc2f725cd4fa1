package queue

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

// countingPublisher records batches and fails while down is set.
type countingPublisher struct {
	mu      sync.Mutex
	batches [][]string
	down    atomic.Bool
}

func (c *countingPublisher) Publish(_ context.Context, envs []*webhook.Envelope) error {
	if c.down.Load() {
		return errors.New("sqs unreachable")
	}
	ids := make([]string, len(envs))
	for i, e := range envs {
		ids[i] = e.WebhookID
	}
	c.mu.Lock()
	c.batches = append(c.batches, ids)
	c.mu.Unlock()
	return nil
}

func env(id string) *webhook.Envelope {
	return &webhook.Envelope{Event: webhook.EventMessageReceived, WebhookID: id, InstanceID: "i", Timestamp: "2024-01-01T00:00:00.000Z", Data: json.RawMessage(`{}`)}
}

func TestBatcherGathersConcurrentPublishes(t *testing.T) {
	pub := &countingPublisher{}
	b := NewBatcher(pub, 50*time.Millisecond)
	var wg sync.WaitGroup
	for i := range 25 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Publish(context.Background(), env(string(rune('a'+i)))); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, batch := range pub.batches {
		if len(batch) > MaxBatch {
			t.Fatalf("batch of %d", len(batch))
		}
		total += len(batch)
	}
	if total != 25 || len(pub.batches) >= 25 {
		t.Fatalf("%d envelopes in %d batches", total, len(pub.batches))
	}
}

func TestBatcherReportsFailureAndCloseFlushes(t *testing.T) {
	pub := &countingPublisher{}
	pub.down.Store(true)
	b := NewBatcher(pub, time.Millisecond)
	if err := b.Publish(context.Background(), env("x")); err == nil {
		t.Fatal("published while the queue was down")
	}
	pub.down.Store(false)

	// A long linger: only Close sends these.
	b = NewBatcher(pub, time.Hour)
	errs := make(chan error, 3)
	for _, id := range []string{"p1", "p2", "p3"} {
		go func() { errs <- b.Publish(context.Background(), env(id)) }()
	}
	for {
		b.mu.Lock()
		n := len(b.pending)
		b.mu.Unlock()
		if n == 3 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.Close()
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Publish(context.Background(), env("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}
