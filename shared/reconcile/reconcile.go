// Package reconcile closes webhook logs left retrying with no message to deliver them: an event
// moved to the dead-letter queue after its last receive, or a recover cut off between marking
// its logs retrying and queueing their events. Nothing else would ever change such a log, so
// it would stay retrying, counted as such, forever.
//
// A run, on a schedule, reads the retrying logs older than a grace period through the
// listing index (keys only, status in the partition key) and turns those whose nextRetryAt
// is more than the grace in the past into failed, with webhook.NoDeliveryLeft as their error,
// by a write conditioned on the version read: a delivery racing it wins. The counters follow
// from the log table's stream, as for any log write.
//
// The grace is derived from the events queue: a live message is seen again at most its
// visibility timeout after a receive whose invocation crashed or failed to hide it, or
// deliver.MaxInfraBackoff after an infrastructure failure, its log unchanged meanwhile. A
// message that stays away longer (a backlog, repeated failures) and finds its log closed
// carries on: an orphaned log is not final to its own event (webhook.Log.Orphaned), so a
// reconciliation that came too early costs only a few minutes of a wrong status.
package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/webhook"
)

// LogStore is what a run needs of the log store: a page of logs by filter and id range with
// the oldest id read (store.LogStore.FindPage), and a write conditioned on the version read.
type LogStore interface {
	FindPage(ctx context.Context, f webhook.LogFilter, r webhook.IDRange, limit int) ([]*webhook.Log, string, error)
	Save(ctx context.Context, prev, next *webhook.Log) error
}

// QueueAttributes reads the events queue's visibility timeout.
type QueueAttributes interface {
	GetQueueAttributes(ctx context.Context, in *sqs.GetQueueAttributesInput, opts ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
}

// pageSize is how many retrying logs a run reads at once.
const pageSize = 100

// Config holds a Reconciler's dependencies.
type Config struct {
	Logs     LogStore
	Queue    QueueAttributes
	QueueURL string // the events queue
	Logger   *slog.Logger
	// Budget bounds the time a run spends reading (at least one page); what it did not
	// reach, the next run does.
	Budget time.Duration
	// Now is the clock logs are judged by; time.Now when nil.
	Now func() time.Time
}

// Reconciler closes orphaned retrying logs.
type Reconciler struct{ c Config }

// New returns a Reconciler.
func New(c Config) *Reconciler {
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Reconciler{c: c}
}

// Result is what one run did.
type Result struct {
	Grace  time.Duration // how long past its nextRetryAt a log was left alone
	Read   int           // retrying logs read
	Closed int           // of those, turned failed
	Done   bool          // every retrying log old enough was read
}

// Handle is the scheduled function's handler.
func (r *Reconciler) Handle(ctx context.Context, _ events.EventBridgeEvent) error {
	res, err := r.Run(ctx)
	if err != nil {
		return err
	}
	level := slog.LevelDebug
	if res.Closed > 0 || !res.Done {
		level = slog.LevelInfo
	}
	r.c.Logger.Log(ctx, level, "reconciled retrying logs", "grace", res.Grace, "read", res.Read, "closed", res.Closed, "done", res.Done)
	return nil
}

// Run reads the retrying logs created before now minus the grace, newest first, and closes
// those overdue by more than the grace. A log created later cannot be: its nextRetryAt is
// after its creation. Logs older than the retention are gone by TTL, which bounds the read.
func (r *Reconciler) Run(ctx context.Context) (Result, error) {
	started := time.Now()
	grace, err := r.grace(ctx)
	if err != nil {
		return Result{}, err
	}
	res := Result{Grace: grace}
	cutoff := r.c.Now().Add(-grace)
	before := webhook.FirstWebhookID(cutoff)
	for {
		logs, last, err := r.c.Logs.FindPage(ctx, webhook.LogFilter{Status: webhook.StatusRetrying}, webhook.IDRange{Before: before}, pageSize)
		if err != nil {
			return res, err
		}
		if last == "" {
			res.Done = true
			return res, nil
		}
		for _, l := range logs {
			res.Read++
			if !overdue(l, cutoff) {
				continue
			}
			closed, err := r.close(ctx, l)
			if err != nil {
				return res, err
			}
			if closed {
				res.Closed++
			}
		}
		if time.Since(started) >= r.c.Budget {
			return res, nil
		}
		before = last
	}
}

// overdue reports whether a retrying log's next attempt was due before cutoff.
func overdue(l *webhook.Log, cutoff time.Time) bool {
	due := l.UpdatedAt
	if l.NextRetryAt != nil {
		due = *l.NextRetryAt
	}
	return due.Before(cutoff)
}

// close turns l failed with NoDeliveryLeft, keeping the last attempt's error beside it. It
// reports false when the log changed since it was read: something delivered it meanwhile.
func (r *Reconciler) close(ctx context.Context, l *webhook.Log) (bool, error) {
	next := *l
	msg := webhook.NoDeliveryLeft
	if l.Error != nil {
		msg += " (last attempt: " + *l.Error + ")"
	}
	next.Status, next.Error, next.NextRetryAt, next.UpdatedAt, next.Unqueued = webhook.StatusFailed, &msg, nil, r.c.Now().UTC(), true
	err := r.c.Logs.Save(ctx, l, &next)
	switch {
	case webhook.ErrorCode(err) == webhook.EConflict:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("close log %s: %w", l.WebhookID, err)
	}
	r.c.Logger.WarnContext(ctx, "closed a webhook log left retrying without a message", "webhookId", l.WebhookID,
		"instanceId", l.InstanceID, "nextRetryAt", l.NextRetryAt, "attempts", l.Attempts)
	return true, nil
}

// grace is how long past its nextRetryAt a retrying log may be while its message is still
// alive: the events queue's visibility timeout (a receive that crashed, or failed to hide
// the message) and deliver.MaxInfraBackoff (a receive whose store or queue failed).
func (r *Reconciler) grace(ctx context.Context) (time.Duration, error) {
	out, err := r.c.Queue.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: &r.c.QueueURL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameVisibilityTimeout},
	})
	if err != nil {
		return 0, fmt.Errorf("read the events queue's visibility timeout: %w", err)
	}
	secs, err := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameVisibilityTimeout)])
	if err != nil {
		return 0, fmt.Errorf("the events queue's visibility timeout: %w", err)
	}
	return time.Duration(secs)*time.Second + deliver.MaxInfraBackoff, nil
}
