package lambdaemu

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// ScheduleHandler is a Lambda handler for an EventBridge schedule.
type ScheduleHandler func(ctx context.Context, ev events.EventBridgeEvent) error

// Schedule invokes a handler as an EventBridge rule with a rate expression does: once per
// period, the first a period after Run starts, with a "Scheduled Event" from aws.events. An
// invocation that outlasts the period delays the next rather than running beside it.
type Schedule struct {
	Every  time.Duration
	Region string
	Logger *slog.Logger
}

// Run invokes h until ctx ends; a failed invocation is logged, and the next comes on time.
func (s *Schedule) Run(ctx context.Context, h ScheduleHandler) {
	tick := time.NewTicker(s.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if ctx.Err() != nil {
				return // both were ready: ending wins
			}
			if err := h(ctx, s.event(now)); err != nil && ctx.Err() == nil {
				s.logger().Error("scheduled invocation", "error", err)
			}
		}
	}
}

func (s *Schedule) event(now time.Time) events.EventBridgeEvent {
	return events.EventBridgeEvent{
		Version: "0", ID: rand.Text(), DetailType: "Scheduled Event", Source: "aws.events",
		AccountID: "000000000000", Time: now.UTC().Truncate(time.Second), Region: s.Region,
		Detail: json.RawMessage(`{}`),
	}
}

func (s *Schedule) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}
