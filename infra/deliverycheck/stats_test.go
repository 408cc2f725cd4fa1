package deliverycheck_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// cutoff fails every counter write of a DynamoDB client once allowance of them went through,
// as an invocation that dies partway does.
type cutoff struct{ left atomic.Int64 }

func (c *cutoff) register(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("cutoff",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) == "UpdateItem" && c.left.Add(-1) < 0 {
					return middleware.InitializeOutput{}, middleware.Metadata{}, errors.New("the invocation died")
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
}

// stutter stands between the stream's event source and the counting function and hands
// batches over more than once, as Lambda may: every third batch twice in a row (the first
// handling counted it all, and its answer was lost), and every third, from the fourth on, to a
// handler whose counter writes stop after two, failing the batch, which the source then hands
// over again, whole.
type stutter struct {
	handler, dying lambdaemu.StreamHandler
	cut            *cutoff
	n, twice, died atomic.Int64
}

var errDied = errors.New("the counting invocation died partway")

func (s *stutter) handle(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error) {
	switch n := s.n.Add(1); {
	case n%3 == 0:
		if resp, err := s.handler(ctx, ev); err != nil {
			return resp, err
		}
		s.twice.Add(1)
	case n%3 == 1 && n > 1:
		s.cut.left.Store(2)
		s.dying(ctx, ev)
		s.died.Add(1)
		return events.DynamoDBTimeWindowEventResponse{}, errDied
	}
	return s.handler(ctx, ev)
}

// statsScript answers 200 to 75% of requests, 500 to 15% and a redirect to 10%, by a seeded
// roll per webhook id and request: a quarter of first attempts are retried, and about one
// webhook in 250 fails all four.
func statsScript(seed uint64) func(string, int, bool) answer {
	return func(id string, n int, _ bool) answer {
		switch r := roll(seed, id, n); {
		case r < 75:
			return answerOK
		case r < 90:
			return answerFail
		default:
			return answerRedirect
		}
	}
}

// recentIDs keeps the last webhook ids the receiver failed and accepted.
type recentIDs struct {
	mu               sync.Mutex
	failed, accepted []string
}

func (r *recentIDs) add(id string, a answer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a == answerOK {
		r.accepted = append(r.accepted[max(len(r.accepted)-49, 0):], id)
	} else {
		r.failed = append(r.failed[max(len(r.failed)-49, 0):], id)
	}
}

func (r *recentIDs) pick(rng *rand.Rand, accepted bool) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	from := r.failed
	if accepted {
		from = r.accepted
	}
	if len(from) == 0 {
		return ""
	}
	return from[rng.IntN(len(from))]
}

// apiCall is an API Gateway request to the webhook routes.
func apiCall(ctx context.Context, router *apigw.Router, method, resource, id, body string, query map[string]string) (int, string, error) {
	ev := events.APIGatewayProxyRequest{HTTPMethod: method, Resource: resource, Path: resource, Body: body, QueryStringParameters: query}
	if id != "" {
		ev.Path = "/api/webhook/retry/" + id
		ev.PathParameters = map[string]string{"webhookId": id}
	}
	resp, err := router.Serve(ctx, ev)
	return resp.StatusCode, resp.Body, err
}

// Stats exact against the logs: 5,000 events over ten instances delivered from the template's
// events queue by the delivery function (8 concurrent invocations, three 1 s retries), to a
// receiver that answers 200, 500 or a redirect at random, while:
//   - manual retries (POST /api/webhook/retry/{id}, some forced) go to logs still retrying,
//     failed or delivered, racing the automatic attempts of the same webhooks;
//   - two instances' logs are cleared (DELETE /api/webhook/logs) while their webhooks are still
//     being delivered, the first 100 logs within the request and the rest by the jobs function;
//   - the counting function runs on the log table's stream all along, with batches handed
//     over twice and batches cut off partway and handed over again (see stutter).
//
// Then every day's counters, per instance and for all, equal the stored logs, event by event
// and status by status; the listing lists exactly the stored logs; every event of an
// instance not cleared has a final log. The emulator, serving some 15,000 requests, sets the
// pace: several minutes with -race on a busy machine.
func TestStatsExact(t *testing.T) {
	const total, nInstances = 5000, 10
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	r := newRig(t)
	recent := &recentIDs{}
	rc := newReceiver(t, statsScript(seed), recent.add)
	instances := r.createInstances(nInstances, rc)
	clearedInstances := instances[:2]
	start := time.Now()

	// The API's retry and clear routes and the jobs function, as the functions build them.
	db, sq := dynamodb.NewFromConfig(r.sys), sqs.NewFromConfig(r.sys)
	jobsURL := r.res.QueueURL("JobsQueue")
	api := manage.NewWebhookAPI(manage.WebhookDeps{
		Logs: r.logStore(db), Instances: store.NewInstanceStore(db, r.res.Table("InstancesTable")),
		Sender: deliver.NewSender(senderOptions(5 * time.Second)), Publisher: queue.NewPublisher(sq, r.eventsURL),
		Jobs: manage.SQSJobs{SQS: sq, QueueURL: jobsURL}, AllowHTTP: true, InlineItems: 100,
		Progress: store.NewJobStore(db, r.res.Table("WebhookStatsTable"), retention),
	})
	router := apigw.NewRouter(r.log)
	api.RegisterRetry(router)
	api.RegisterClear(router)
	jobsCtx, stopJobs := context.WithCancel(r.ctx)
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		(&lambdaemu.SQSEventSource{SQS: sq, QueueURL: jobsURL, BatchSize: 1, WaitTime: time.Second, Logger: r.log}).
			Run(jobsCtx, func() lambdaemu.SQSHandler { return api.HandleJobs(10 * time.Second) })
	}()
	t.Cleanup(func() { stopJobs(); <-jobsDone })

	p := r.startDelivery(webhook.RetryPolicy{Schedule: webhook.RetrySchedule{time.Second, time.Second, time.Second}}, 5*time.Second, nil)
	cut := &cutoff{}
	st := &stutter{handler: r.countingHandler(), dying: r.countingHandler(cut.register), cut: cut}
	count := r.startCounting(st.handle)

	var published []string
	var pubErr error
	var publishing sync.WaitGroup
	publishing.Go(func() { published, pubErr = r.publish(instances, total, backlog) })
	var finished atomic.Bool
	go func() { publishing.Wait(); finished.Store(true) }()

	// Manual retries until every event is published, one every 200 ms: of a webhook the
	// receiver just failed (still retrying, or failed), or, forced, of one it accepted.
	var manual sync.WaitGroup
	var mu sync.Mutex
	answered := map[int]int{}
	var manualErrs []string
	manual.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 3))
		for !finished.Load() {
			time.Sleep(200 * time.Millisecond)
			force := rng.IntN(4) == 0
			id := recent.pick(rng, force)
			if id == "" {
				continue
			}
			var query map[string]string
			if force {
				query = map[string]string{"force": "true"}
			}
			code, body, err := apiCall(r.ctx, router, http.MethodPost, "/api/webhook/retry/{webhookId}", id, "", query)
			mu.Lock()
			answered[code]++
			if err != nil || (code != 200 && code != 404 && code != 409) {
				manualErrs = append(manualErrs, fmt.Sprintf("retry %s (force %v): %d %s %v", id, force, code, body, err))
			}
			mu.Unlock()
		}
	})

	// Clear two instances' logs while their webhooks are being delivered.
	var clears []string
	for i, inst := range clearedInstances {
		for rc.seen() < total*(i+2)/4 {
			if time.Since(start) > 10*time.Minute {
				t.Fatalf("only %d requests after 10 minutes", rc.seen())
			}
			time.Sleep(50 * time.Millisecond)
		}
		code, body, err := apiCall(r.ctx, router, http.MethodDelete, "/api/webhook/logs", "", fmt.Sprintf(`{"instanceId":%q}`, inst), nil)
		if err != nil || (code != 200 && code != 202) {
			t.Fatalf("clear %s: %d %s %v", inst, code, body, err)
		}
		clears = append(clears, fmt.Sprintf("%s after %d requests: %d %s", inst, rc.seen(), code, body))
	}

	manual.Wait()
	// Generous: the whole suite runs beside it under the race detector on two cores.
	r.waitIdle(10*time.Minute, finished.Load, r.eventsURL, r.slowURL, jobsURL)
	p.stop()
	stopJobs()
	<-jobsDone
	count.finish(t, r.countingHandler())
	elapsed := time.Since(start)
	if pubErr != nil {
		t.Fatalf("publish: %v", pubErr)
	}
	for _, dlq := range []string{"EventsDeadLetterQueue", "JobsDeadLetterQueue"} {
		if n := r.queueDepth(r.res.QueueURL(dlq)); n != 0 {
			t.Errorf("%d messages in %s", n, dlq)
		}
	}
	for _, e := range manualErrs {
		t.Error(e)
	}
	if answered[200] < 20 {
		t.Errorf("manual retries answered %v: too few went through", answered)
	}
	if st.twice.Load() == 0 || st.died.Load() == 0 {
		t.Errorf("stream batches handed over twice: %d, cut off and handed over again: %d", st.twice.Load(), st.died.Load())
	}

	logs := r.checkStatsEqualLogs(instances)
	got, _ := rc.requests()
	isCleared := map[string]bool{}
	for _, inst := range clearedInstances {
		isCleared[inst] = true
	}
	want := map[string]bool{}
	kept := 0
	for i, id := range published {
		want[id] = true
		l, ok := logs[id]
		switch {
		case !ok && !isCleared[instances[i%nInstances]]:
			t.Errorf("webhook %s of %s: no log; the receiver got %v\n%s", id, instances[i%nInstances], got[id], r.trail.about(id))
		case ok && l.Status != webhook.StatusSuccess && l.Status != webhook.StatusFailed:
			t.Errorf("webhook %s: %s", id, l.Status)
		case ok && isCleared[l.InstanceID]:
			kept++
		}
	}
	for id := range logs {
		if !want[id] {
			t.Errorf("log %s of no published event", id)
		}
	}
	_, requests := rc.requests()
	t.Logf("%d events in %s: %d requests; logs %v (%d of the cleared instances'); manual retries answered %v; clears: %v; "+
		"counting: %d batches, %d handed over twice, %d cut off and handed over again",
		len(published), elapsed.Round(time.Second), requests, byStatus(logs), kept, answered, clears, st.n.Load(), st.twice.Load(), st.died.Load())
}
