package lambdaemu

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// A schedule invokes its handler once a period with EventBridge's scheduled event, goes on
// after a failed invocation, and stops with its context.
func TestScheduleInvokesEveryPeriod(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int32
	s := &Schedule{Every: 10 * time.Millisecond, Region: "us-east-1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx, func(_ context.Context, ev events.EventBridgeEvent) error {
			if ev.DetailType != "Scheduled Event" || ev.Source != "aws.events" || ev.Region != "us-east-1" || ev.ID == "" {
				t.Errorf("event %+v, want a scheduled event from aws.events in us-east-1", ev)
			}
			if calls.Add(1) == 1 {
				return errors.New("the first invocation fails")
			}
			if calls.Load() == 3 {
				cancel()
			}
			return nil
		})
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%d invocations after 5 s, want 3 within 30 ms or so", calls.Load())
	}
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d invocations, want 3 (none after the context ended)", n)
	}
}
