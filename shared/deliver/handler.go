package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/webhook"
)

// LogStore reads and writes webhook logs, as webhook.RecordAttempt needs: Save writes next only
// over prev, the version read, and answers a webhook.EConflict error when the log changed
// meanwhile.
type LogStore interface {
	Get(ctx context.Context, webhookID string) (*webhook.Log, error)
	Save(ctx context.Context, prev, next *webhook.Log) error
}

// VisibilityChanger hides a received message for the retry delay.
type VisibilityChanger interface {
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Handler is the delivery Lambda's SQS handler.
type Handler struct {
	logs      LogStore
	instances InstanceGetter
	queue     VisibilityChanger
	queueURL  string
	sender    *Sender
	policy    webhook.RetryPolicy
	metrics   *metrics.Emitter
	logger    *slog.Logger
	now       func() time.Time
}

// Config holds a Handler's dependencies and settings.
type Config struct {
	Logs      LogStore
	Instances InstanceGetter
	Queue     VisibilityChanger
	QueueURL  string
	Sender    *Sender
	Policy    webhook.RetryPolicy
	Metrics   *metrics.Emitter
	Logger    *slog.Logger
}

// NewHandler returns a Handler.
func NewHandler(c Config) *Handler {
	return &Handler{
		logs: c.Logs, instances: c.Instances, queue: c.Queue, queueURL: c.QueueURL,
		sender: c.Sender, policy: c.Policy, metrics: c.Metrics, logger: c.Logger, now: time.Now,
	}
}

// Handle delivers every record of the batch concurrently. A record comes back in
// BatchItemFailures when it must be seen again: a retry is scheduled (its visibility already
// set to the delay), or something it needs (the store, the queue) failed. Every other record
// is done with and may be deleted.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu   sync.Mutex
		resp events.SQSEventResponse
		wg   sync.WaitGroup
	)
	for _, rec := range ev.Records {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h.deliver(ctx, rec) {
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return resp, nil
}

// deliver handles one record and reports whether it must come back.
func (h *Handler) deliver(ctx context.Context, rec events.SQSMessage) (again bool) {
	again, backoff := h.deliverOnce(ctx, rec)
	if backoff {
		// Something wagate depends on failed: bring the message back soon rather than after
		// the queue's whole visibility timeout, a little later each time.
		h.hide(ctx, rec, infraBackoff(rec))
	}
	return again
}

// infraBackoff is how long a message waits after an infrastructure failure: 10 s per receive
// so far, at most two minutes.
func infraBackoff(rec events.SQSMessage) time.Duration {
	n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		n = 1
	}
	return min(time.Duration(n)*10*time.Second, 2*time.Minute)
}

// hide makes a received message invisible for d. If that fails the message still comes back,
// after the queue's own visibility timeout.
func (h *Handler) hide(ctx context.Context, rec events.SQSMessage, d time.Duration) {
	_, err := h.queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          &h.queueURL,
		ReceiptHandle:     &rec.ReceiptHandle,
		VisibilityTimeout: int32(d / time.Second),
	})
	if err != nil {
		h.logger.WarnContext(ctx, "change message visibility", "messageId", rec.MessageId, "delay", d, "error", err)
	}
}

// deliverOnce handles one record. It reports whether the record must come back, and whether
// it should come back soon: after an infrastructure failure, or for a message no attempt can
// read, which then reaches the dead-letter queue after maxReceiveCount receives.
func (h *Handler) deliverOnce(ctx context.Context, rec events.SQSMessage) (again, infra bool) {
	log := h.logger.With("messageId", rec.MessageId)
	var env webhook.Envelope
	if err := json.Unmarshal([]byte(rec.Body), &env); err != nil {
		log.ErrorContext(ctx, "unreadable event; leaving it for the dead-letter queue", "error", err)
		return true, true
	}
	if err := env.Validate(); err != nil {
		log.ErrorContext(ctx, "invalid event; leaving it for the dead-letter queue", "error", err)
		return true, true
	}
	log = log.With("webhookId", env.WebhookID, "event", env.Event, "instanceId", env.InstanceID)

	// A message's first receive goes straight to its attempt: its log rarely exists yet, and
	// the conditional create finds out when it does (a recovered webhook, a second copy of
	// an event), after which the attempt is recorded over the stored log, which a failure
	// never reopens. A retry reads the log first and is never sent once the log is final.
	var prev *webhook.Log
	if rec.Attributes["ApproximateReceiveCount"] != "1" {
		var err error
		prev, err = h.logs.Get(ctx, env.WebhookID)
		switch {
		case webhook.ErrorCode(err) == webhook.ENotFound:
			prev = nil
		case err != nil:
			log.ErrorContext(ctx, "read log; the event comes back", "error", err)
			return true, true
		case prev.Status != webhook.StatusRetrying:
			// Already final: a duplicate SQS delivery, or a retry that was queued before another
			// copy succeeded. Never send it again.
			log.InfoContext(ctx, "webhook already final; dropping this copy", "status", prev.Status)
			return false, false
		}
	}

	var in *webhook.Instance
	if env.InstanceID != "" {
		var err error
		in, err = h.instances.Get(ctx, env.InstanceID)
		if err != nil && webhook.ErrorCode(err) != webhook.ENotFound {
			log.ErrorContext(ctx, "read instance; the event comes back", "error", err)
			return true, true
		}
	}
	if in == nil || in.WebhookURL == "" || !in.Subscribes(env.Event) {
		if prev == nil && rec.Attributes["ApproximateReceiveCount"] == "1" {
			// Not read yet: a recovered webhook has a log, which must not stay retrying.
			var err error
			if prev, err = h.logs.Get(ctx, env.WebhookID); err != nil && webhook.ErrorCode(err) != webhook.ENotFound {
				log.ErrorContext(ctx, "read log; the event comes back", "error", err)
				return true, true
			}
		}
		if prev == nil || prev.Status != webhook.StatusRetrying {
			log.DebugContext(ctx, "instance takes no webhook for this event; skipped")
			return false, false
		}
		// Webhooks were turned off while this one was being retried: close its log.
		return h.record(ctx, log, rec, &env, prev, "", webhook.Result{Err: errors.New("webhooks were turned off for the instance")}, 0)
	}

	attempt := 1
	if prev != nil {
		attempt = prev.Attempts + 1
	}
	res := h.sender.Send(ctx, Request{
		URL: in.WebhookURL, WebhookID: env.WebhookID, Event: env.Event, Attempt: attempt,
		Body: []byte(rec.Body), Secrets: in.SigningSecrets(h.now()),
	})
	return h.record(ctx, log, rec, &env, prev, in.WebhookURL, res, 1)
}

// record stores the outcome of an attempt (attempts is 1, or 0 when none was made) and schedules
// the next one. It reports whether the record must come back, and whether because of an
// infrastructure failure.
func (h *Handler) record(ctx context.Context, log *slog.Logger, rec events.SQSMessage, env *webhook.Envelope,
	prev *webhook.Log, url string, res webhook.Result, attempts int) (again, infra bool) {
	var decide webhook.Decider = func(_ *webhook.Log, o webhook.Outcome, n int) webhook.Decision {
		return h.policy.Decide(o, n)
	}
	if attempts == 0 { // no request was made: the log closes
		decide = func(*webhook.Log, webhook.Outcome, int) webhook.Decision {
			return webhook.Decision{Status: webhook.StatusFailed}
		}
	}
	a := webhook.Attempt{Envelope: env, Body: []byte(rec.Body), URL: url, Result: res, Count: attempts}
	next, dec, err := webhook.RecordAttempt(ctx, h.logs, prev, a, decide, h.now)
	if err != nil {
		// The attempt happened but is not recorded; the message comes back and the webhook
		// is sent again (at least once).
		log.ErrorContext(ctx, "record attempt; the event comes back", "error", err)
		return true, true
	}
	h.emit(ctx, env.Event, next.Status, res, attempts)
	errText := ""
	if next.Error != nil {
		errText = *next.Error
	}
	log.InfoContext(ctx, "webhook attempt", "status", next.Status, "attempts", next.Attempts, "statusCode", res.StatusCode,
		"durationMs", res.Duration.Milliseconds(), "error", errText)

	if next.Status != webhook.StatusRetrying {
		return false, false
	}
	h.hide(ctx, rec, dec.Delay)
	return true, false
}

func (h *Handler) emit(ctx context.Context, event, status string, res webhook.Result, attempts int) {
	if h.metrics == nil {
		return
	}
	var delivered, failed, retried float64
	switch status {
	case webhook.StatusSuccess:
		delivered = 1
	case webhook.StatusFailed:
		failed = 1
	case webhook.StatusRetrying:
		retried = 1
	}
	ms := []metrics.Metric{
		{Name: "Attempts", Unit: metrics.UnitCount, Value: float64(attempts)},
		{Name: "Delivered", Unit: metrics.UnitCount, Value: delivered},
		{Name: "Failed", Unit: metrics.UnitCount, Value: failed},
		{Name: "Retried", Unit: metrics.UnitCount, Value: retried},
	}
	if attempts > 0 {
		ms = append(ms, metrics.Metric{Name: "AttemptLatency", Unit: metrics.UnitMilliseconds, Value: float64(res.Duration.Milliseconds())})
	}
	if err := h.metrics.Emit(map[string]string{"Event": event}, ms...); err != nil {
		h.logger.WarnContext(ctx, "emit metrics", "error", err)
	}
}
