package lambdas

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/env"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/media"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// Each environment variable the functions read is read here, by one function, so it is
// parsed one way everywhere.

// logStore reads WEBHOOK_LOG_TABLE, WEBHOOK_STATS_TABLE and the retention.
func logStore(v *env.Vars, db *dynamodb.Client) *store.LogStore {
	return store.NewLogStore(db, v.Required("WEBHOOK_LOG_TABLE"), v.Required("WEBHOOK_STATS_TABLE"), retention(v))
}

// retention reads RETENTION_DAYS (default 30): how long logs, and what is kept about them,
// are kept.
func retention(v *env.Vars) time.Duration {
	return time.Duration(v.Int("RETENTION_DAYS", 30, 1)) * 24 * time.Hour
}

// jobStore reads WEBHOOK_STATS_TABLE, where the progress of background jobs is kept, and the
// retention, how long it is kept after a job's last run.
func jobStore(v *env.Vars, db *dynamodb.Client) *store.JobStore {
	return store.NewJobStore(db, v.Required("WEBHOOK_STATS_TABLE"), retention(v))
}

// instanceStore reads INSTANCES_TABLE.
func instanceStore(v *env.Vars, db *dynamodb.Client) *store.InstanceStore {
	return store.NewInstanceStore(db, v.Required("INSTANCES_TABLE"))
}

// outboxStore reads OUTBOX_TABLE, INSTANCES_TABLE (where an accept marks the host's work)
// and RETENTION_DAYS (default 30), how long messages are kept, as logs are.
func outboxStore(v *env.Vars, db *dynamodb.Client) *store.OutboxStore {
	days := v.Int("RETENTION_DAYS", 30, 1)
	return store.NewOutboxStore(db, v.Required("OUTBOX_TABLE"), v.Required("INSTANCES_TABLE"), time.Duration(days)*24*time.Hour)
}

// instanceCacheTTL reads INSTANCE_CACHE_TTL (default 5 s): how long the delivery function
// trusts an instance it read.
func instanceCacheTTL(v *env.Vars) time.Duration {
	return v.Duration("INSTANCE_CACHE_TTL", 5*time.Second)
}

// eventsQueueURL reads EVENTS_QUEUE_URL.
func eventsQueueURL(v *env.Vars) string { return v.Required("EVENTS_QUEUE_URL") }

func publisher(v *env.Vars, q *sqs.Client) *queue.Publisher {
	return queue.NewPublisher(q, eventsQueueURL(v))
}

// jobs reads JOBS_QUEUE_URL.
func jobs(v *env.Vars, q *sqs.Client) manage.SQSJobs {
	return manage.SQSJobs{SQS: q, QueueURL: v.Required("JOBS_QUEUE_URL")}
}

// cursorKeyLen is the shortest API_CURSOR_KEY accepted.
const cursorKeyLen = 16

// cursors reads API_CURSOR_KEY, which seals the listings' cursors.
func cursors(v *env.Vars) *apigw.Cursors {
	return apigw.NewCursors([]byte(v.Secret("API_CURSOR_KEY", cursorKeyLen)))
}

// allowHTTP reads WEBHOOK_ALLOW_HTTP (default false): whether plain http webhook URLs are
// accepted.
func allowHTTP(v *env.Vars) bool { return v.Bool("WEBHOOK_ALLOW_HTTP", false) }

// allowedCIDRs reads WEBHOOK_ALLOW_CIDRS: private destinations allowed, none by default. The
// message routes apply it to media links, which the host fetches through the same checks.
func allowedCIDRs(v *env.Vars) []netip.Prefix { return v.Prefixes("WEBHOOK_ALLOW_CIDRS") }

// senderOptions reads WEBHOOK_TIMEOUT (default 10 s), WEBHOOK_ALLOW_CIDRS and
// WEBHOOK_ALLOW_HTTP.
func senderOptions(v *env.Vars) deliver.SenderOptions {
	return deliver.SenderOptions{
		Timeout:         v.Duration("WEBHOOK_TIMEOUT", 10*time.Second),
		AllowedPrefixes: allowedCIDRs(v),
		AllowHTTP:       allowHTTP(v),
	}
}

// retryPolicy reads WEBHOOK_RETRY_DELAYS (default 5s,10s,15s), WEBHOOK_MAX_RETRY_AFTER
// (default 1 h, the longest wait a Retry-After answer can ask for) and
// EVENTS_MAX_RECEIVE_COUNT (default 10), the events queue's redrive limit, which the schedule
// must fit: CloudFormation cannot derive the limit from the schedule, so a schedule that
// does not fit is refused here, at cold start, rather than found in the dead-letter queue.
func retryPolicy(v *env.Vars) webhook.RetryPolicy {
	p := webhook.RetryPolicy{
		Schedule:      env.Parse(v, "WEBHOOK_RETRY_DELAYS", webhook.DefaultRetryDelays, webhook.ParseRetrySchedule),
		MaxRetryAfter: v.Duration("WEBHOOK_MAX_RETRY_AFTER", time.Hour),
	}
	if err := p.Schedule.FitRedrive(v.Int("EVENTS_MAX_RECEIVE_COUNT", 10, 1)); err != nil {
		v.Fail(fmt.Errorf("WEBHOOK_RETRY_DELAYS and EVENTS_MAX_RECEIVE_COUNT: %w: shorten the schedule (the template's WebhookRetryDelays) or raise the limit (EventsMaxReceiveCount)", err))
	}
	return p
}

// mediaBucket reads MEDIA_BUCKET.
func mediaBucket(v *env.Vars, cfg aws.Config) *store.MediaBucket {
	return store.NewMediaBucket(s3.NewFromConfig(cfg), v.Required("MEDIA_BUCKET"))
}

// mediaLinks reads MEDIA_LINK_KEY, MEDIA_LINK_BASE (the API's URL, which links name) and
// MEDIA_LINK_TTL (default 24 h).
func mediaLinks(v *env.Vars) *media.Links {
	return media.NewLinks([]byte(v.Secret("MEDIA_LINK_KEY", media.MinLinkKey)), v.Required("MEDIA_LINK_BASE"), v.Duration("MEDIA_LINK_TTL", media.DefaultLinkTTL))
}
