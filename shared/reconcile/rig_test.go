package reconcile_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/reconcile"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

// rig is one instance's webhooks through the real pipeline against the emulator: the tables
// and queues of template.yaml (the events queue's redrive policy among them), the delivery
// handler driven as Lambda's event source drives it, and the counting function.
type rig struct {
	t         *testing.T
	ctx       context.Context
	res       *samtemplate.Resources
	sqs       *sqs.Client
	queueURL  string
	dlqURL    string
	logs      *store.LogStore
	source    *lambdaemu.SQSEventSource
	handler   *deliver.Handler
	counting  *awstest.Counting
	instance  string
	instances *store.InstanceStore
	requests  atomic.Int32
	storeDown atomic.Bool // the handler's log store fails every call
}

// newRig starts an endpoint that answers the nth request (from 1) with answer(n) and an
// instance whose webhooks go there.
func newRig(t *testing.T, answer func(n int) (status int, header http.Header)) *rig {
	t.Helper()
	res := awstest.Stack(t)
	cfg := awstest.Config(t)
	db, sq := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	r := &rig{
		t: t, ctx: context.Background(), res: res, sqs: sq,
		queueURL: res.QueueURL("EventsQueue"), dlqURL: res.QueueURL("EventsDeadLetterQueue"),
		logs:     store.NewLogStore(db, res.Table("WebhookLogTable"), res.Table("WebhookStatsTable"), 30*24*time.Hour),
		counting: awstest.NewCounting(t, res),
	}
	endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		status, header := answer(int(r.requests.Add(1)))
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(endpoint.Close)

	instances := store.NewInstanceStore(db, res.Table("InstancesTable"))
	now := time.Now()
	in := &webhook.Instance{
		ID: "inst_" + webhook.NewWebhookID(now)[3:], WebhookURL: endpoint.URL,
		WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now,
	}
	if err := instances.Create(r.ctx, in); err != nil {
		t.Fatal(err)
	}
	r.instance, r.instances = in.ID, instances
	r.source = &lambdaemu.SQSEventSource{SQS: sq, QueueURL: r.queueURL, QueueARN: res.Queue("EventsQueue").ARN, Region: cfg.Region, BatchSize: 10}
	r.handler = deliver.NewHandler(deliver.Config{
		Logs: failingStore{r.logs, &r.storeDown}, Instances: instances, Queue: visibleAtOnce{sq}, QueueURL: r.queueURL,
		Sender: deliver.NewSender(deliver.SenderOptions{
			Timeout: 5 * time.Second, AllowHTTP: true, AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		}),
		Policy: webhook.RetryPolicy{Schedule: webhook.DefaultRetryDelays, MaxRetryAfter: time.Hour},
		Logger: quiet,
	})
	return r
}

// publish queues one event of the instance that happened age ago (its webhook id carries the
// time) and returns its webhook id.
func (r *rig) publish(age time.Duration) string {
	r.t.Helper()
	env := &webhook.Envelope{
		Event: webhook.EventMessageReceived, InstanceID: r.instance, WebhookID: webhook.NewWebhookID(time.Now().Add(-age)),
		Data: json.RawMessage(`{"messageId":"m1","from":"6281234567890@s.whatsapp.net","body":"Hello!","type":"text"}`),
	}
	if err := queue.NewPublisher(r.sqs, r.queueURL).Publish(r.ctx, []*webhook.Envelope{env}); err != nil {
		r.t.Fatal(err)
	}
	return env.WebhookID
}

// poll hands one batch of the events queue to the delivery handler and returns its size.
func (r *rig) poll() int {
	r.t.Helper()
	n, err := r.source.PollOnce(r.ctx, r.handler.Handle)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// deliverOnce polls until one message was handled.
func (r *rig) deliverOnce() {
	r.t.Helper()
	for range 50 {
		if r.poll() > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatal("no message to deliver")
}

// forceIntoDLQ fails every call of the handler's log store, so each receive of the event is an
// infrastructure failure, until the events queue's redrive policy moves it to the
// dead-letter queue.
func (r *rig) forceIntoDLQ() {
	r.t.Helper()
	r.storeDown.Store(true)
	defer r.storeDown.Store(false)
	sent := r.requests.Load()
	for range 100 {
		r.poll()
		if r.depth(r.dlqURL) == 1 && r.depth(r.queueURL) == 0 {
			if r.requests.Load() != sent {
				r.t.Fatal("the endpoint was called while the store was down")
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	r.t.Fatalf("not in the dead-letter queue after 100 polls (queue %d, dead-letter queue %d)", r.depth(r.queueURL), r.depth(r.dlqURL))
}

// turnOff turns the instance's webhooks off.
func (r *rig) turnOff() {
	r.t.Helper()
	if _, err := r.instances.Update(r.ctx, r.instance, store.UpdateInstance{WebhookURL: new("")}, time.Now()); err != nil {
		r.t.Fatal(err)
	}
}

// redrive moves the dead-letter queue's one message back to the events queue, as
// docs/deploy.md does by hand where StartMessageMoveTask is missing.
func (r *rig) redrive() {
	r.t.Helper()
	out, err := r.sqs.ReceiveMessage(r.ctx, &sqs.ReceiveMessageInput{QueueUrl: &r.dlqURL, MaxNumberOfMessages: 1, WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 {
		r.t.Fatalf("receive from the dead-letter queue: %v, %v", out, err)
	}
	m := out.Messages[0]
	if _, err := r.sqs.SendMessage(r.ctx, &sqs.SendMessageInput{QueueUrl: &r.queueURL, MessageBody: m.Body}); err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.sqs.DeleteMessage(r.ctx, &sqs.DeleteMessageInput{QueueUrl: &r.dlqURL, ReceiptHandle: m.ReceiptHandle}); err != nil {
		r.t.Fatal(err)
	}
}

// recoverCutOff runs a recover of the last hour whose publish does not return before the
// jobs function's deadline: the logs were saved retrying, and putting them back fails too,
// since the deadline has passed.
func (r *rig) recoverCutOff() {
	r.t.Helper()
	progress := store.NewJobStore(dynamodb.NewFromConfig(awstest.Config(r.t)), r.res.Table("WebhookStatsTable"), 30*24*time.Hour)
	api := manage.NewWebhookAPI(manage.WebhookDeps{Logs: r.logs, Publisher: stalled{}, Jobs: noJobs{}, Progress: progress})
	now := time.Now()
	job, err := json.Marshal(manage.Job{
		Kind: manage.JobRecover, From: webhook.FirstWebhookID(now.Add(-time.Hour)), To: webhook.LastWebhookID(now), Started: now,
	})
	if err != nil {
		r.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(r.ctx, 500*time.Millisecond)
	defer cancel()
	resp, err := api.HandleJobs(90*time.Second)(ctx, events.SQSEvent{Records: []events.SQSMessage{{MessageId: "job", Body: string(job)}}})
	if err != nil || len(resp.BatchItemFailures) != 1 {
		r.t.Fatalf("the cut-off recover answered %+v, %v; want its job failed", resp, err)
	}
}

// reconciler returns a reconciler over the rig's tables whose clock is ahead of this one.
func (r *rig) reconciler(ahead time.Duration, logs reconcile.LogStore) *reconcile.Reconciler {
	if logs == nil {
		logs = r.logs
	}
	return reconcile.New(reconcile.Config{
		Logs: logs, Queue: r.sqs, QueueURL: r.queueURL, Logger: quiet, Budget: 10 * time.Second,
		Now: func() time.Time { return time.Now().Add(ahead) },
	})
}

// create stores a new log. A conflict on a log that holds l's own log id is the SDK sending
// again a put whose answer the loaded emulator cut off: the first one was written.
func (r *rig) create(l *webhook.Log) {
	r.t.Helper()
	err := r.logs.Save(r.ctx, nil, l)
	if webhook.ErrorCode(err) == webhook.EConflict && r.log(l.WebhookID).ID == l.ID {
		return
	}
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) log(webhookID string) *webhook.Log {
	r.t.Helper()
	l, err := r.logs.Get(r.ctx, webhookID)
	if err != nil {
		r.t.Fatal(err)
	}
	return l
}

// counters hands the log table's changes so far to the counting function, then sums the
// instance's counters around today.
func (r *rig) counters() store.Counter {
	r.t.Helper()
	return r.counting.Today(r.t, r.instance)
}

// depth counts a queue's messages not yet deleted.
func (r *rig) depth(url string) int {
	r.t.Helper()
	n, err := awstest.QueueDepth(r.ctx, r.sqs, url)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// visibleAtOnce makes every message the handler hides visible again at once, so a test walks
// a schedule (or the redrive limit) without waiting it out.
type visibleAtOnce struct{ sqs *sqs.Client }

func (v visibleAtOnce) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	at := *in
	at.VisibilityTimeout = 0
	return v.sqs.ChangeMessageVisibility(ctx, &at, opts...)
}

// failingStore fails every call while down is set.
type failingStore struct {
	deliver.LogStore
	down *atomic.Bool
}

var errStoreDown = errors.New("store down (injected)")

func (s failingStore) Get(ctx context.Context, id string) (*webhook.Log, error) {
	if s.down.Load() {
		return nil, errStoreDown
	}
	return s.LogStore.Get(ctx, id)
}

func (s failingStore) Save(ctx context.Context, prev, next *webhook.Log) error {
	if s.down.Load() {
		return errStoreDown
	}
	return s.LogStore.Save(ctx, prev, next)
}

// stalled is a publisher that does not return before its context ends.
type stalled struct{}

func (stalled) Publish(ctx context.Context, _ []*webhook.Envelope) error {
	<-ctx.Done()
	return ctx.Err()
}

type noJobs struct{}

func (noJobs) SendJob(context.Context, manage.Job) error { return nil }

// racingStore is the reconciler's store with a delivery landing between its read of a log
// and its write: the first Save first lets the rig deliver the event.
type racingStore struct {
	*store.LogStore
	deliver func()
	once    sync.Once
}

func (s *racingStore) Save(ctx context.Context, prev, next *webhook.Log) error {
	s.once.Do(s.deliver)
	return s.LogStore.Save(ctx, prev, next)
}

// answers answers the requests with the statuses given, in order, and the last one after.
func answers(statuses ...int) func(int) (int, http.Header) {
	return func(n int) (int, http.Header) { return statuses[min(n, len(statuses))-1], nil }
}
