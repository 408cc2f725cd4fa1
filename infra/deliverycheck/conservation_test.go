package deliverycheck_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/shared/webhook"
)

// killer crashes the delivery function mid-batch now and then, as a Lambda container dies:
// at the first request of a chosen batch that reaches the receiver (and a few milliseconds
// more), the invocation's context ends and whatever it did not finish is lost. The event
// source gets no answer and deletes nothing. On Lambda the batch's messages come back when the
// queue's visibility timeout (180 s) ends; here those the handler had not hidden itself (a
// retry's delay) are made visible 2 s after the kill, as that timeout would, only sooner.
// (Sooner still, and a write the dead invocation had sent could land after the next copy
// read the log: then both requests are attempts, and the log counts both.)
type killer struct {
	first, every, most int // kill batch first, then every every-th, at most most times
	sqs                *sqs.Client
	queueURLs          map[string]string // by queue ARN: the events queue and the slow lane

	batches atomic.Int64
	busy    atomic.Bool // one kill at a time

	mu     sync.Mutex
	rng    *rand.Rand
	watch  map[string]chan struct{} // webhook ids of the batch being killed
	killed map[string]int           // webhook id -> kills of a batch that held it
	kills  int
	errs   []error // releasing a killed batch's messages
}

var errKilled = errors.New("the invocation was killed")

// saw is the receiver's hook: a request for id arrived.
func (k *killer) saw(id string, _ answer) {
	k.mu.Lock()
	ch := k.watch[id]
	k.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (k *killer) wrap(h lambdaemu.SQSHandler, p *pipeline) lambdaemu.SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		n := int(k.batches.Add(1))
		if n < k.first || (n-k.first)%k.every != 0 || !k.busy.CompareAndSwap(false, true) {
			return h(ctx, ev)
		}
		defer k.busy.Store(false)
		k.mu.Lock()
		if k.kills >= k.most {
			k.mu.Unlock()
			return h(ctx, ev)
		}
		ids := webhookIDs(ev)
		reached := make(chan struct{}, 1)
		for _, id := range ids {
			k.watch[id] = reached
		}
		after := time.Duration(k.rng.IntN(30)) * time.Millisecond
		k.mu.Unlock()

		hctx, cancel := context.WithCancel(ctx)
		finished := make(chan struct{})
		var cut atomic.Bool
		go func() {
			select {
			case <-reached:
				time.Sleep(after)
				cut.Store(true)
				cancel()
			case <-finished:
			}
		}()
		resp, err := h(hctx, ev)
		close(finished)
		cancel()
		k.mu.Lock()
		for _, id := range ids {
			delete(k.watch, id)
		}
		if !cut.Load() {
			k.mu.Unlock()
			return resp, err // no request went out before the batch was done: not killed
		}
		k.kills++
		for _, id := range ids {
			k.killed[id]++
		}
		k.mu.Unlock()

		var entries []sqstypes.ChangeMessageVisibilityBatchRequestEntry
		queueURL := k.queueURLs[ev.Records[0].EventSourceARN] // a batch comes from one queue
		for i, rec := range ev.Records {
			if _, hid := p.hidden.Load(rec.ReceiptHandle); !hid {
				entries = append(entries, sqstypes.ChangeMessageVisibilityBatchRequestEntry{
					Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(rec.ReceiptHandle), VisibilityTimeout: 0,
				})
			}
		}
		if len(entries) > 0 {
			time.AfterFunc(2*time.Second, func() {
				out, err := k.sqs.ChangeMessageVisibilityBatch(context.Background(), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &queueURL, Entries: entries})
				if err == nil && len(out.Failed) > 0 {
					err = errors.New(aws.ToString(out.Failed[0].Message))
				}
				if err != nil {
					k.mu.Lock()
					k.errs = append(k.errs, err)
					k.mu.Unlock()
				}
			})
		}
		return events.SQSEventResponse{}, errKilled
	}
}

// conservationScript answers 200 to 60% of requests, 500 to 15%, a redirect to 8%, resets 8%
// and hangs past the timeout on 9%, by a seeded roll per webhook id and request. An id it
// accepted once it accepts again: a receiver that has the webhook says so (deduplicating by
// webhook-id, as Standard Webhooks asks). About 2.5% of webhooks fail all four attempts.
func conservationScript(seed uint64) func(string, int, bool) answer {
	return func(id string, n int, accepted bool) answer {
		if accepted {
			return answerOK
		}
		switch r := roll(seed, id, n); {
		case r < 60:
			return answerOK
		case r < 75:
			return answerFail
		case r < 83:
			return answerRedirect
		case r < 91:
			return answerReset
		default:
			return answerHang
		}
	}
}

// Conservation: 2,000 events over ten instances against a receiver that fails, resets,
// redirects and hangs at random, with the delivery function (8 concurrent invocations, batches
// of the template's size, from the template's events queue) killed mid-batch five times and
// every AWS call of the gateway frozen for 3 s (see freezer) while deliveries run. The attempt
// timeout is 1 s and the schedule three 1 s retries (the shortest ParseRetrySchedule allows),
// which keeps the wait for retries short; the emulator, which serves some 9,000 requests one
// at a time, sets the pace (2 minutes alone, up to 5 with -race on a busy 2-core machine).
// The counting function runs on the stream meanwhile.
//
// Every event ends success or failed (none missing, none retrying, none in the dead-letter
// queue); success exactly when the receiver answered 2xx; a failed log records the answer the
// receiver gave last; attempts equal the requests the receiver got for the webhook, a timed
// out one included, except that a request cut off by a kill is not recorded (the crash loses
// it, and the webhook is sent again with the same X-Webhook-Attempt), at most once per kill;
// every request was signed with its instance's secret; and the counters equal the logs.
func TestConservation(t *testing.T) {
	const total, nInstances = 2000, 10
	const timeout, freezeFor = time.Second, 3 * time.Second
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)

	r := newRig(t)
	k := &killer{
		first: 20, every: 25, most: 5, sqs: r.sqs, queueURLs: r.deliveryQueues(),
		rng: rand.New(rand.NewPCG(seed, 7)), watch: map[string]chan struct{}{}, killed: map[string]int{},
	}
	rc := newReceiver(t, conservationScript(seed), k.saw)
	instances := r.createInstances(nInstances, rc)
	start := time.Now()
	p := r.startDelivery(webhook.RetryPolicy{Schedule: webhook.RetrySchedule{time.Second, time.Second, time.Second}}, timeout, k.wrap)
	count := r.startCounting(r.countingHandler())

	var published []string
	var publishing sync.WaitGroup
	var pubErr error
	publishing.Go(func() { published, pubErr = r.publish(instances, total, backlog) })

	// Freeze the emulator once deliveries are well under way.
	for rc.seen() < 1200 {
		if time.Since(start) > 10*time.Minute {
			t.Fatalf("only %d requests after 10 minutes", rc.seen())
		}
		time.Sleep(20 * time.Millisecond)
	}
	seenBefore := rc.seen()
	r.freeze.hold(freezeFor)
	t.Logf("froze the emulator for %s after %d requests; %d calls held", freezeFor, seenBefore, r.freeze.held.Load())

	var done atomic.Bool
	go func() { publishing.Wait(); done.Store(true) }()
	// Generous: the whole suite runs beside it under the race detector on two cores.
	r.waitIdle(10*time.Minute, done.Load, r.eventsURL, r.slowURL)
	p.stop()
	count.finish(t, r.countingHandler())
	elapsed := time.Since(start)
	if pubErr != nil {
		t.Fatalf("publish: %v", pubErr)
	}
	if n := r.queueDepth(r.res.QueueURL("EventsDeadLetterQueue")); n != 0 {
		t.Errorf("%d events in the dead-letter queue", n)
	}
	if r.freeze.held.Load() == 0 {
		t.Error("the freeze held no call")
	}
	k.mu.Lock()
	kills, killed, releaseErrs := k.kills, k.killed, k.errs
	k.mu.Unlock()
	if kills < 3 {
		t.Errorf("only %d kills", kills)
	}
	for _, err := range releaseErrs {
		t.Errorf("release a killed batch: %v", err)
	}

	dups := p.duplicates()
	logs := r.checkStatsEqualLogs(instances)
	got, requests := rc.requests()
	rc.mu.Lock()
	for _, bad := range rc.badSigns {
		t.Errorf("bad signature: %s", bad)
	}
	rc.mu.Unlock()

	// What the gateway logged about a webhook found wrong, for the first few.
	stories := 0
	story := func(id string) string {
		if stories++; stories > 3 {
			return ""
		}
		return "\n" + r.trail.about(id)
	}
	lost, deferred := 0, 0
	answers := map[string]int{}
	want := map[string]bool{}
	for _, id := range published {
		want[id] = true
		l, ok := logs[id]
		reqs := got[id]
		switch {
		case !ok:
			t.Errorf("webhook %s: no log (%d requests)%s", id, len(reqs), story(id))
			continue
		case l.Status != webhook.StatusSuccess && l.Status != webhook.StatusFailed:
			t.Errorf("webhook %s: %s after %d attempts", id, l.Status, l.Attempts)
			continue
		}
		accepted := false
		for _, q := range reqs {
			accepted = accepted || q.answer == answerOK
			answers[q.answer.String()]++
		}
		if accepted != (l.Status == webhook.StatusSuccess) {
			t.Errorf("webhook %s is %s; the receiver answered %v", id, l.Status, reqs)
		}
		// Every request is an attempt, numbered 1 on: a request the kill cut off is sent
		// again under the same number, and so are two copies of a message handled at once.
		extra := len(reqs) - l.Attempts
		if extra < 0 || extra > killed[id] {
			t.Errorf("webhook %s: %d attempts, %d requests %v, in %d killed batches%s", id, l.Attempts, len(reqs), reqs, killed[id], story(id))
		}
		lost += max(extra, 0)
		// Else each request numbered one more than the one before: the same number twice
		// (or a number skipped, when two copies were both recorded) only for a webhook in a
		// killed batch or handed to two handlers at once.
		top := 0
		for i, q := range reqs {
			if q.attempt < 1 || (i > 0 && q.attempt != reqs[i-1].attempt+1 && killed[id] == 0 && dups[id] == 0) {
				t.Errorf("webhook %s: attempts numbered %v", id, reqs)
				break
			}
			top = max(top, q.attempt)
		}
		if top > l.Attempts || (top < l.Attempts && killed[id] == 0 && dups[id] == 0) {
			t.Errorf("webhook %s: %d attempts; the last request was numbered %d %v", id, l.Attempts, top, reqs)
		}
		if l.Status == webhook.StatusFailed {
			full, err := r.logs.Get(r.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if full.Error != nil && strings.HasPrefix(*full.Error, "endpoint circuit open") {
				deferred++ // five hangs in a row on its endpoint: given up unsent
				continue
			}
			if len(reqs) == 0 {
				t.Errorf("webhook %s failed with no request: %+v", id, full)
				continue
			}
			if msg := lastAnswerMismatch(reqs[len(reqs)-1].answer, full); msg != "" && dups[id] == 0 {
				t.Errorf("webhook %s: %s", id, msg)
			}
		}
	}
	if len(logs) != len(published) {
		t.Errorf("%d logs for %d events", len(logs), len(published))
	}
	for id := range got {
		if !want[id] {
			t.Errorf("the receiver got %s, which was never published", id)
		}
	}
	t.Logf("%d events in %s: %d requests %v, logs %v; %d kills cut %d attempts off; %d given up with the circuit open; %d handed to two handlers at once",
		len(published), elapsed.Round(time.Second), requests, answers, byStatus(logs), kills, lost, deferred, len(dups))
}

// lastAnswerMismatch says how a failed log disagrees with the last answer the receiver gave.
func lastAnswerMismatch(a answer, l *webhook.Log) string {
	code, errText := 0, ""
	if l.StatusCode != nil {
		code = *l.StatusCode
	}
	if l.Error != nil {
		errText = *l.Error
	}
	ok := false
	switch a {
	case answerFail:
		ok = code == 500
	case answerRedirect:
		ok = code == 302
	case answerReset:
		ok = code == 0 && errText != "" && !strings.Contains(errText, "timed out")
	case answerHang:
		ok = code == 0 && strings.Contains(errText, "timed out")
	}
	if ok {
		return ""
	}
	return "failed with status " + strconv.Itoa(code) + " and error " + strconv.Quote(errText) + "; the receiver's last answer: " + a.String()
}
