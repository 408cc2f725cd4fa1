package queue

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

// ErrClosed is returned by Batcher.Publish after Close.
var ErrClosed = errors.New("batcher closed")

// envelopePublisher is what a Batcher sends through; *Publisher implements it.
type envelopePublisher interface {
	Publish(ctx context.Context, envs []*webhook.Envelope) error
}

// Batcher gathers envelopes published from many goroutines into batches of up to ten, each
// sent after a short linger. Publish returns only once its envelope is on the queue, or with
// the error that kept it off, so a caller (the session host's event handler) can let
// WhatsApp's ack wait for the queue.
type Batcher struct {
	pub    envelopePublisher
	linger time.Duration

	mu      sync.Mutex
	pending []pendingEnvelope
	timer   *time.Timer
	closed  bool
	sending sync.WaitGroup
}

type pendingEnvelope struct {
	env  *webhook.Envelope
	done chan error
}

// NewBatcher returns a Batcher sending through pub; linger is how long the first envelope of
// a batch waits for others.
func NewBatcher(pub envelopePublisher, linger time.Duration) *Batcher {
	return &Batcher{pub: pub, linger: linger}
}

// Publish queues env and waits for its batch to be sent. If ctx ends first, Publish returns
// ctx's error; the envelope may still be sent.
func (b *Batcher) Publish(ctx context.Context, env *webhook.Envelope) error {
	done := make(chan error, 1)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	b.pending = append(b.pending, pendingEnvelope{env, done})
	switch {
	case len(b.pending) >= MaxBatch:
		b.flushLocked()
	case b.timer == nil:
		b.timer = time.AfterFunc(b.linger, b.flush)
	}
	b.mu.Unlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *Batcher) flush() {
	b.mu.Lock()
	b.flushLocked()
	b.mu.Unlock()
}

// flushLocked sends what is pending in the background. b.mu is held.
func (b *Batcher) flushLocked() {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	if len(b.pending) == 0 {
		return
	}
	batch := b.pending
	b.pending = nil
	b.sending.Add(1)
	go func() {
		defer b.sending.Done()
		envs := make([]*webhook.Envelope, len(batch))
		for i, p := range batch {
			envs[i] = p.env
		}
		// The sender's own retries bound this; a caller's deadline must not cut a batch
		// that others wait on.
		err := b.pub.Publish(context.Background(), envs)
		for _, p := range batch {
			p.done <- err
		}
	}()
}

// Close sends what is pending, waits for every batch in flight, and refuses new envelopes.
func (b *Batcher) Close() {
	b.mu.Lock()
	b.closed = true
	b.flushLocked()
	b.mu.Unlock()
	b.sending.Wait()
}
