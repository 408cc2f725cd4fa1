package deliver_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// rig is the delivery pipeline against the emulated AWS: the tables and queues of
// template.yaml, the real stores and publisher, the handler, and the event source driving it.
type rig struct {
	t         *testing.T
	ctx       context.Context
	res       *samtemplate.Resources
	sqs       *sqs.Client
	queueURL  string
	logs      *store.LogStore
	instances *store.InstanceStore
	pub       *queue.Publisher
	source    *lambdaemu.SQSEventSource
	vis       *visibilityRecorder
	handler   *deliver.Handler
	counting  *awstest.Counting
	// logStore is what the handler writes through; tests may wrap it to inject failures.
	logStore deliver.LogStore
}

type rigOptions struct {
	policy     webhook.RetryPolicy
	sender     deliver.SenderOptions
	wrapLogs   func(deliver.LogStore) deliver.LogStore
	wrapInsts  func(deliver.InstanceGetter) deliver.InstanceGetter
	metricsOut io.Writer
	logOut     io.Writer // the handler's log, at INFO
	circuits   *deliver.Circuits
	dbOptions  func(*dynamodb.Options) // the handler's DynamoDB client, e.g. to inject faults
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	ctx := context.Background()
	res := awstest.Stack(t)
	cfg := awstest.Config(t)
	db := dynamodb.NewFromConfig(cfg)
	sq := sqs.NewFromConfig(cfg)
	if o.policy.Schedule == nil {
		o.policy = webhook.RetryPolicy{Schedule: webhook.DefaultRetryDelays, MaxRetryAfter: time.Hour}
	}
	if o.sender.Timeout == 0 {
		o.sender = deliver.SenderOptions{
			Timeout: 5 * time.Second, AllowHTTP: true,
			AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		}
	}
	if o.metricsOut == nil {
		o.metricsOut = io.Discard
	}
	if o.logOut == nil {
		o.logOut = io.Discard
	}
	r := &rig{
		t: t, ctx: ctx, res: res, sqs: sq, queueURL: res.QueueURL("EventsQueue"),
		logs:      store.NewLogStore(db, res.Table("WebhookLogTable"), res.Table("WebhookStatsTable"), 30*24*time.Hour),
		instances: store.NewInstanceStore(db, res.Table("InstancesTable")),
		counting:  awstest.NewCounting(t, res),
	}
	r.logStore = r.logs
	var insts deliver.InstanceGetter = r.instances
	if o.dbOptions != nil {
		// The handler's client only: the test reads what was stored through clean ones.
		db := dynamodb.NewFromConfig(cfg, o.dbOptions)
		r.logStore = store.NewLogStore(db, res.Table("WebhookLogTable"), res.Table("WebhookStatsTable"), 30*24*time.Hour)
		insts = store.NewInstanceStore(db, res.Table("InstancesTable"))
	}
	if o.wrapLogs != nil {
		r.logStore = o.wrapLogs(r.logStore)
	}
	if o.wrapInsts != nil {
		insts = o.wrapInsts(insts)
	}
	r.vis = &visibilityRecorder{sqs: sq}
	r.pub = queue.NewPublisher(sq, r.queueURL)
	r.source = &lambdaemu.SQSEventSource{SQS: sq, QueueURL: r.queueURL, QueueARN: "arn:aws:sqs:us-east-1:000000000000:events", Region: "us-east-1", BatchSize: 10, WaitTime: 0}
	r.handler = deliver.NewHandler(deliver.Config{
		Logs: r.logStore, Instances: insts, Queue: r.vis, QueueURL: r.queueURL,
		Sender: deliver.NewSender(o.sender), Policy: o.policy,
		Metrics: metrics.NewEmitter(o.metricsOut, "wagate"), Logger: slog.New(slog.NewJSONHandler(o.logOut, nil)),
		Circuits: o.circuits,
	})
	return r
}

// instance creates an instance with a webhook URL and returns it.
func (r *rig) instance(url string, events ...string) *webhook.Instance {
	r.t.Helper()
	now := time.Now()
	in := &webhook.Instance{
		ID: "inst_" + webhook.NewWebhookID(now)[3:], WebhookURL: url, WebhookEvents: events,
		WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now,
	}
	if err := r.instances.Create(r.ctx, in); err != nil {
		r.t.Fatal(err)
	}
	return in
}

// publish puts n message.received events for the instance on the queue.
func (r *rig) publish(instanceID string, n int) []*webhook.Envelope {
	r.t.Helper()
	envs := make([]*webhook.Envelope, n)
	for i := range envs {
		envs[i] = &webhook.Envelope{
			Event: webhook.EventMessageReceived, InstanceID: instanceID,
			Data: json.RawMessage(`{"messageId":"m1","from":"6281234567890@s.whatsapp.net","body":"Hello!","type":"text"}`),
		}
	}
	if err := r.pub.Publish(r.ctx, envs); err != nil {
		r.t.Fatal(err)
	}
	return envs
}

// drain polls the queue as Lambda would until it is empty, or fails the test after maxPolls.
func (r *rig) drain(maxPolls int) {
	r.t.Helper()
	empty := 0
	for range maxPolls {
		n, err := r.source.PollOnce(r.ctx, r.handler.Handle)
		if err != nil {
			r.t.Fatal(err)
		}
		if n > 0 {
			empty = 0
			continue
		}
		if r.queueDepth() == 0 {
			return
		}
		empty++
		time.Sleep(50 * time.Millisecond) // let a hidden message become visible again
	}
	r.t.Fatalf("queue not drained after %d polls (depth %d)", maxPolls, r.queueDepth())
}

// queueDepth counts the events queue's visible and in-flight messages.
func (r *rig) queueDepth() int {
	r.t.Helper()
	return r.depthOf(r.queueURL)
}

// depthOf counts a queue's messages not yet deleted.
func (r *rig) depthOf(queueURL string) int {
	r.t.Helper()
	n, err := awstest.QueueDepth(r.ctx, r.sqs, queueURL)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *rig) log(webhookID string) *webhook.Log {
	r.t.Helper()
	l, err := r.logs.Get(r.ctx, webhookID)
	if err != nil {
		r.t.Fatal(err)
	}
	return l
}

// counters counts the log changes so far, as the counting function does, and sums the
// instance's counters over today.
func (r *rig) counters(instanceID string) store.Counter {
	r.t.Helper()
	return r.counting.Today(r.t, instanceID)
}

// visibilityRecorder records every visibility change the handler asks for, then makes the
// message visible at once, so tests check the schedule without waiting it out.
type visibilityRecorder struct {
	sqs *sqs.Client
	mu  sync.Mutex
	set []time.Duration
}

func (v *visibilityRecorder) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	v.mu.Lock()
	v.set = append(v.set, time.Duration(in.VisibilityTimeout)*time.Second)
	v.mu.Unlock()
	forward := *in
	forward.VisibilityTimeout = 0
	return v.sqs.ChangeMessageVisibility(ctx, &forward, opts...)
}

func (v *visibilityRecorder) delays() []time.Duration {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]time.Duration(nil), v.set...)
}

// receiver is a webhook endpoint that answers from a script and records what it got.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	answer   func(n int, w http.ResponseWriter) // n counts requests from 1
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	rc := &receiver{answer: answer}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, received{req.Header.Clone(), body})
		n := len(rc.requests)
		rc.mu.Unlock()
		rc.answer(n, w)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) got() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.requests...)
}

func answerStatus(code int) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) { w.WriteHeader(code) }
}

// sqsEvent receives one batch by hand, for tests that replay it.
func (r *rig) receiveBatch() events.SQSEvent {
	r.t.Helper()
	var ev events.SQSEvent
	_, err := r.source.PollOnce(r.ctx, func(_ context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
		ev = e
		// Report every record failed so nothing is deleted; the test hands the batch on.
		resp := events.SQSEventResponse{}
		for _, rec := range e.Records {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
		return resp, nil
	})
	if err != nil {
		r.t.Fatal(err)
	}
	return ev
}
