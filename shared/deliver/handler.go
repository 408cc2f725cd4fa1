package deliver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/queue"
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

// MessageSender queues a message: the slow lane takes records whose endpoint stopped
// answering.
type MessageSender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SlowLane is the queue that takes the records of endpoints that stopped answering, so they
// share batches only with each other (docs/decisions.md, "Isolation"). The same function
// reads it, through an event source of its own.
type SlowLane struct {
	Queue MessageSender
	URL   string
}

// Handler is the delivery Lambda's SQS handler.
type Handler struct {
	logs      LogStore
	instances InstanceGetter
	queue     VisibilityChanger
	queueURL  string
	slow      *SlowLane
	sender    *Sender
	policy    webhook.RetryPolicy
	metrics   *metrics.Emitter
	logger    *slog.Logger
	circuits  *Circuits
	hedge     time.Duration
	now       func() time.Time
}

// Config holds a Handler's dependencies and settings.
type Config struct {
	Logs      LogStore
	Instances InstanceGetter
	Queue     VisibilityChanger
	QueueURL  string
	// SlowLane, when set, takes the records of endpoints that stopped answering out of
	// the events queue's batches.
	SlowLane *SlowLane
	Sender   *Sender
	Policy   webhook.RetryPolicy
	Metrics  *metrics.Emitter
	Logger   *slog.Logger
	// Circuits are the endpoints' circuit breakers; nil gets the defaults. One Handler lives
	// as long as its warm container, and so do they.
	Circuits *Circuits
	// Hedge is how long a first attempt may keep the rest of its events-queue batch waiting
	// before it is cut short (batchHedge), with a slow lane to take its retries: 0 is half
	// the sender's timeout, a negative value never.
	Hedge time.Duration
}

// NewHandler returns a Handler.
func NewHandler(c Config) *Handler {
	if c.Circuits == nil {
		c.Circuits = NewCircuits(CircuitOptions{})
	}
	if c.Hedge == 0 {
		c.Hedge = c.Sender.timeout / 2
	}
	if c.SlowLane == nil {
		c.Hedge = 0 // a cut attempt's retry would wait in the same batches
	}
	return &Handler{
		logs: c.Logs, instances: c.Instances, queue: c.Queue, queueURL: c.QueueURL, slow: c.SlowLane,
		sender: c.Sender, policy: c.Policy, metrics: c.Metrics, logger: c.Logger, circuits: c.Circuits,
		hedge: c.Hedge, now: time.Now,
	}
}

// Handle delivers every record of the batch concurrently. A record comes back in
// BatchItemFailures when it must be seen again: a retry is scheduled (its visibility already
// set to the delay), or something it needs (the store, the queue) failed. Every other record
// is done with and may be deleted. The batch's metrics go out as one line when all are done.
//
// The invocation lasts as long as its slowest record: an endpoint that hangs holds the
// others' answers until its timeout. Circuits keep that to the first few attempts, and the
// hedge cuts those short once they alone keep the batch waiting.
func (h *Handler) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	var (
		mu    sync.Mutex
		resp  events.SQSEventResponse
		wg    sync.WaitGroup
		sum   tally
		hedge = newBatchHedge(h.hedge, len(ev.Records))
	)
	if p, ok := h.instances.(instancePrefetcher); ok {
		if err := p.Prefetch(ctx, instanceIDs(ev.Records)); err != nil {
			h.logger.WarnContext(ctx, "read the batch's instances together; each record reads its own", "error", err)
		}
	}
	for _, rec := range ev.Records {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer hedge.recordDone()
			if h.deliver(ctx, rec, &sum, hedge) {
				mu.Lock()
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	h.emit(ctx, &sum)
	return resp, nil
}

// instancePrefetcher reads the instances of a batch together before its records are handled
// (InstanceCache).
type instancePrefetcher interface {
	Prefetch(ctx context.Context, ids []string) error
}

// instanceIDs lists the instances of records, from the attribute the publisher sets.
func instanceIDs(records []events.SQSMessage) []string {
	ids := make([]string, 0, len(records))
	for _, rec := range records {
		if id := instanceID(rec); id != "" {
			ids = append(ids, id)
		}
	}
	return ids
}

// instanceID is a record's instance, from the attribute the publisher sets ("" without it).
func instanceID(rec events.SQSMessage) string {
	if a, ok := rec.MessageAttributes[queue.AttrInstanceID]; ok && a.StringValue != nil {
		return *a.StringValue
	}
	return ""
}

// deliver handles one record and reports whether it must come back.
func (h *Handler) deliver(ctx context.Context, rec events.SQSMessage, sum *tally, hedge *batchHedge) (again bool) {
	again, backoff := h.deliverOnce(ctx, rec, sum, hedge)
	if backoff {
		// Something wagate depends on failed: bring the message back soon rather than after
		// the queue's whole visibility timeout, a little later each time.
		h.hide(ctx, rec, infraBackoff(rec))
	}
	return again
}

// MaxInfraBackoff is the longest a message waits after an infrastructure failure, its log
// unchanged: a log's nextRetryAt may be that far past with its message still alive.
const MaxInfraBackoff = 2 * time.Minute

// infraBackoff is how long a message waits after an infrastructure failure: 10 s per receive
// so far, at most MaxInfraBackoff.
func infraBackoff(rec events.SQSMessage) time.Duration {
	return min(time.Duration(receives(rec))*10*time.Second, MaxInfraBackoff)
}

// receives is how often SQS has handed the message out, this time included.
func receives(rec events.SQSMessage) int {
	n, err := strconv.Atoi(rec.Attributes["ApproximateReceiveCount"])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// hide makes a received message invisible for d. If that fails the message still comes back,
// after the queue's own visibility timeout.
func (h *Handler) hide(ctx context.Context, rec events.SQSMessage, d time.Duration) {
	queueURL := h.queueURL
	if h.inSlowLane(rec) {
		queueURL = h.slow.URL
	}
	_, err := h.queue.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          &queueURL,
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
func (h *Handler) deliverOnce(ctx context.Context, rec events.SQSMessage, sum *tally, hedge *batchHedge) (again, infra bool) {
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
	// In the slow lane, a record moved on its first receive is still at its first sight;
	// one moved later had been tried, and its log is read.
	slowLane := h.inSlowLane(rec)
	firstSight := receives(rec) == 1 && (!slowLane || movedAtFirstSight(rec))
	var prev *webhook.Log
	if !firstSight {
		var err error
		prev, err = h.logs.Get(ctx, env.WebhookID)
		switch {
		case webhook.ErrorCode(err) == webhook.ENotFound:
			prev = nil
		case err != nil:
			log.ErrorContext(ctx, "read log; the event comes back", "error", err)
			return true, true
		case prev.Status != webhook.StatusRetrying && !prev.Orphaned():
			// Already final: a duplicate SQS delivery, or a retry that was queued before another
			// copy succeeded. Never send it again. An orphaned log was closed because no message
			// seemed left; this is one (redriven, or late), so it carries on.
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
		if prev == nil && firstSight {
			// Not read yet: a recovered webhook has a log, which must not stay retrying.
			var err error
			if prev, err = h.logs.Get(ctx, env.WebhookID); err != nil && webhook.ErrorCode(err) != webhook.ENotFound {
				log.ErrorContext(ctx, "read log; the event comes back", "error", err)
				return true, true
			}
		}
		if prev == nil || (prev.Status != webhook.StatusRetrying && !prev.Orphaned()) {
			log.DebugContext(ctx, "instance takes no webhook for this event; skipped")
			return false, false
		}
		// Webhooks were turned off while this one was being retried: close its log, with the
		// reason (also over an orphaned log, which this message shows was not lost).
		return h.record(ctx, log, rec, sum, &env, prev, "", webhook.Result{Err: errors.New("webhooks were turned off for the instance")}, 0, closeLog)
	}

	if h.slow != nil && !slowLane && h.circuits.suspect(in.WebhookURL, in.Circuit.For(in.WebhookURL)) {
		return h.moveToSlowLane(ctx, log, rec, firstSight, sum)
	}
	attempts := 0
	if prev != nil {
		attempts = prev.Attempts
	}
	if attempts > 0 || slowLane {
		hedge = nil // a retry, and the slow lane, take the whole timeout
	}
	res, open := h.circuits.send(ctx, log, h.sender, in, Request{
		URL: in.WebhookURL, WebhookID: env.WebhookID, Event: env.Event, Attempt: attempts + 1,
		Body: []byte(rec.Body), Secrets: in.SigningSecrets(h.now()),
	}, hedge)
	if open != nil {
		return h.deferAttempt(ctx, log, rec, sum, &env, prev, in.WebhookURL, open, attempts)
	}
	if errors.As(res.Err, new(*cutError)) {
		if res.Unwritten {
			// Cut before its request went out: the endpoint has nothing, so no attempt was
			// made. The record moves unsent, as a suspect endpoint's does.
			return h.moveToSlowLane(ctx, log, rec, firstSight, sum)
		}
		return h.resendInSlowLane(ctx, log, rec, sum, &env, prev, in.WebhookURL, res)
	}
	return h.record(ctx, log, rec, sum, &env, prev, in.WebhookURL, res, 1, func(_ *webhook.Log, o webhook.Outcome, n int) webhook.Decision {
		return h.policy.Decide(o, n)
	})
}

// inSlowLane reports whether rec came from the slow lane's queue. Queue URLs end in the
// queue's name, as ARNs do.
func (h *Handler) inSlowLane(rec events.SQSMessage) bool {
	if h.slow == nil {
		return false
	}
	i := strings.LastIndexByte(rec.EventSourceARN, ':')
	return i >= 0 && rec.EventSourceARN[i+1:] == path.Base(h.slow.URL)
}

// firstSightAttribute marks a record moved to the slow lane on its first receive, its log not
// read: the slow lane's first receive of it goes straight to its attempt too.
const firstSightAttribute = "wagateFirstSight"

// movedAtFirstSight reports whether rec was moved to the slow lane on its first receive.
func movedAtFirstSight(rec events.SQSMessage) bool {
	a, ok := rec.MessageAttributes[firstSightAttribute]
	return ok && a.StringValue != nil && *a.StringValue == "true"
}

// moveToSlowLane queues rec in the slow lane, unsent and its log untouched, and reports it
// done here; when the move fails it comes back, in this queue. A record moved after its first
// receive has its log read there, so an attempt made before the move counts and a log that
// became final meanwhile stops it.
func (h *Handler) moveToSlowLane(ctx context.Context, log *slog.Logger, rec events.SQSMessage, firstSight bool, sum *tally) (again, infra bool) {
	attrs := map[string]sqstypes.MessageAttributeValue{}
	size := len(rec.Body)
	add := func(name, value string) {
		if size += len(name) + len("String") + len(value); size <= queue.MaxMessageBytes {
			attrs[name] = sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
		}
	}
	if firstSight {
		add(firstSightAttribute, "true")
	}
	// The instance's id lets the slow lane read a batch's instances together; an event at
	// SQS's size limit goes without it.
	if id := instanceID(rec); id != "" {
		add(queue.AttrInstanceID, id)
	}
	in := &sqs.SendMessageInput{QueueUrl: &h.slow.URL, MessageBody: &rec.Body, MessageAttributes: attrs}
	_, err := h.slow.Queue.SendMessage(ctx, in)
	if err != nil {
		log.ErrorContext(ctx, "move to the slow lane; the event comes back", "error", err)
		return true, true
	}
	log.DebugContext(ctx, "endpoint not answering; moved to the slow lane")
	sum.move()
	return false, false
}

// closeLog ends a log for which no request was made.
func closeLog(*webhook.Log, webhook.Outcome, int) webhook.Decision {
	return webhook.Decision{Status: webhook.StatusFailed}
}

// maxDeferrals is how many times one message is put back, unsent, because its endpoint's
// circuit is open. A deferral is no HTTP attempt, so it neither counts in the log's attempts
// nor spends the retry schedule; but it is a receive, and the events queue sends a message to
// the dead-letter queue at its 10th. The default schedule's 4 attempts and 3 deferrals leave 3
// receives for infrastructure failures. A message whose circuit is still open after that
// ends failed, with the circuit's error, rather than in the dead-letter queue: the endpoint
// has been unreachable for longer than the schedule would have waited.
const maxDeferrals = 3

// deferAttempt records that no request was made because the endpoint's circuit is open, and
// hides the message until the circuit lets a probe go, or closes the log when the message was
// deferred maxDeferrals times already. attempts is the log's count so far: every receive
// beyond those was a deferral (or an infrastructure failure, which counts against the same
// redrive limit).
func (h *Handler) deferAttempt(ctx context.Context, log *slog.Logger, rec events.SQSMessage, sum *tally, env *webhook.Envelope,
	prev *webhook.Log, url string, open *OpenError, attempts int) (again, infra bool) {
	if receives(rec)-1-attempts >= maxDeferrals {
		err := fmt.Errorf("%w; gave up after %d deferrals", open, maxDeferrals)
		return h.record(ctx, log, rec, sum, env, prev, url, webhook.Result{Err: err}, 0, closeLog)
	}
	// SQS hides in whole seconds: round up, so the message does not come back just before.
	wait := max(open.Wait.Round(time.Second), time.Second)
	if wait < open.Wait {
		wait += time.Second
	}
	return h.record(ctx, log, rec, sum, env, prev, url, webhook.Result{Err: open}, 0, func(*webhook.Log, webhook.Outcome, int) webhook.Decision {
		return webhook.Decision{Status: webhook.StatusRetrying, Delay: wait}
	})
}

// record stores the outcome of an attempt (count is 1, or 0 when no request was made) in the
// state decide picks, and schedules the next one. It reports whether the record must come
// back, and whether because of an infrastructure failure.
func (h *Handler) record(ctx context.Context, log *slog.Logger, rec events.SQSMessage, sum *tally, env *webhook.Envelope,
	prev *webhook.Log, url string, res webhook.Result, count int, decide webhook.Decider) (again, infra bool) {
	a := webhook.Attempt{Envelope: env, Body: []byte(rec.Body), URL: url, Result: res, Count: count}
	next, dec, ok := h.save(ctx, log, sum, prev, a, decide)
	if !ok {
		return true, true
	}
	if next.Status != webhook.StatusRetrying {
		return false, false
	}
	h.hide(ctx, rec, dec.Delay)
	return true, false
}

// resendInSlowLane records an attempt the hedge cut short and moves its record to the slow
// lane at once, where it is sent again with the whole timeout: the endpoint still gets the
// contract's timeout to answer, and the cut spends nothing of the schedule.
func (h *Handler) resendInSlowLane(ctx context.Context, log *slog.Logger, rec events.SQSMessage, sum *tally, env *webhook.Envelope,
	prev *webhook.Log, url string, res webhook.Result) (again, infra bool) {
	a := webhook.Attempt{Envelope: env, Body: []byte(rec.Body), URL: url, Result: res, Count: 1, Cut: true}
	next, _, ok := h.save(ctx, log, sum, prev, a, func(*webhook.Log, webhook.Outcome, int) webhook.Decision {
		return webhook.Decision{Status: webhook.StatusRetrying}
	})
	if !ok {
		return true, true
	}
	if next.Status != webhook.StatusRetrying {
		return false, false // final already: another copy was delivered
	}
	return h.moveToSlowLane(ctx, log, rec, false, sum)
}

// save records attempt a over prev and logs it; ok is false when the store failed, and the
// record must come back.
func (h *Handler) save(ctx context.Context, log *slog.Logger, sum *tally, prev *webhook.Log, a webhook.Attempt, decide webhook.Decider) (next *webhook.Log, dec webhook.Decision, ok bool) {
	next, dec, err := webhook.RecordAttempt(ctx, h.logs, prev, a, decide, h.now)
	if err != nil {
		// The attempt happened but is not recorded; the message comes back and the webhook
		// is sent again (at least once).
		log.ErrorContext(ctx, "record attempt; the event comes back", "error", err)
		return nil, webhook.Decision{}, false
	}
	res := a.Result
	sum.add(next.Status, a.Count, res.Duration)
	// A success is in the log table; the function's log keeps what needs a look.
	level := slog.LevelInfo
	if next.Status == webhook.StatusSuccess {
		level = slog.LevelDebug
	}
	if log.Enabled(ctx, level) {
		errText := ""
		if next.Error != nil {
			errText = *next.Error
		}
		log.Log(ctx, level, "webhook attempt", "status", next.Status, "attempts", next.Attempts, "statusCode", res.StatusCode,
			"durationMs", res.Duration.Milliseconds(), "error", errText)
	}
	return next, dec, true
}

// tally adds up one invocation's metrics.
type tally struct {
	mu                                             sync.Mutex
	attempts, delivered, failed, retried, deferred float64
	moved                                          float64   // to the slow lane
	latencies                                      []float64 // ms, one per HTTP attempt
}

// add counts a recorded outcome: count HTTP attempts (0 or 1) that took d.
func (t *tally) add(status string, count int, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.attempts += float64(count)
	switch {
	case status == webhook.StatusSuccess:
		t.delivered++
	case status == webhook.StatusFailed:
		t.failed++
	case count == 0:
		t.deferred++
	default:
		t.retried++
	}
	if count > 0 {
		t.latencies = append(t.latencies, float64(d.Milliseconds()))
	}
}

// move counts a record moved to the slow lane.
func (t *tally) move() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.moved++
}

// emit writes the invocation's metrics as one EMF line: counts summed, every attempt's latency
// as a list of values (at most 10 per batch, under EMF's 100), so percentiles stay exact.
// A batch mixes events, and an EMF line has one value per dimension, so the line has none.
func (h *Handler) emit(ctx context.Context, t *tally) {
	if h.metrics == nil {
		return
	}
	ms := []metrics.Metric{
		{Name: "Attempts", Unit: metrics.UnitCount, Value: t.attempts},
		{Name: "Delivered", Unit: metrics.UnitCount, Value: t.delivered},
		{Name: "Failed", Unit: metrics.UnitCount, Value: t.failed},
		{Name: "Retried", Unit: metrics.UnitCount, Value: t.retried},
		{Name: "Deferred", Unit: metrics.UnitCount, Value: t.deferred},
		{Name: "MovedToSlowLane", Unit: metrics.UnitCount, Value: t.moved},
	}
	if len(t.latencies) > 0 {
		ms = append(ms, metrics.Metric{Name: "AttemptLatency", Unit: metrics.UnitMilliseconds, Values: t.latencies})
	}
	if err := h.metrics.Emit(nil, ms...); err != nil {
		h.logger.WarnContext(ctx, "emit metrics", "error", err)
	}
}
