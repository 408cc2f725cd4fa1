package deliverycheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/shared/counting"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var quiet = slog.New(slog.DiscardHandler)

const retention = 30 * 24 * time.Hour

// backlog is how many messages publish keeps in the events queue at most (see publish):
// enough that the workers never wait for work.
const backlog = 150

// workers is how many batches the delivery function handles at once: as many pollers, each
// with a handler of its own (a warm container's caches and circuits).
const workers = 8

// rig is the delivery half of the gateway on the emulator: the template's tables and queues,
// instances whose webhooks go to a real HTTP receiver, the delivery function driven from the
// events queue, and the counting function driven from the log table's stream.
type rig struct {
	t         *testing.T
	ctx       context.Context
	res       *samtemplate.Resources
	sqs       *sqs.Client // the test's own: never frozen
	logs      *store.LogStore
	instances *store.InstanceStore
	eventsURL string
	slowURL   string // the slow lane's queue
	// sys is the AWS config of everything the gateway runs here (delivery, publishing, the
	// API, counting): freeze holds its calls.
	sys    aws.Config
	freeze *freezer
	// trail keeps what the gateway's parts log.
	trail *trail
	log   *slog.Logger
}

func newRig(t *testing.T) *rig {
	t.Helper()
	res := awstest.Stack(t)
	cfg := awstest.Config(t)
	db := dynamodb.NewFromConfig(cfg)
	r := &rig{
		t: t, ctx: context.Background(), res: res, sqs: sqs.NewFromConfig(cfg),
		logs:      store.NewLogStore(db, res.Table("WebhookLogTable"), res.Table("WebhookStatsTable"), retention),
		instances: store.NewInstanceStore(db, res.Table("InstancesTable")),
		eventsURL: res.QueueURL("EventsQueue"), slowURL: res.QueueURL("SlowEventsQueue"),
		freeze: &freezer{}, trail: &trail{},
	}
	r.log = r.trail.logger()
	r.sys = cfg.Copy()
	r.sys.APIOptions = append(r.sys.APIOptions, r.freeze.register)
	return r
}

// deliveryQueues returns the URLs of the delivery function's queues by ARN: the events queue
// and the slow lane.
func (r *rig) deliveryQueues() map[string]string {
	qs := map[string]string{}
	for _, id := range []string{"EventsQueue", "SlowEventsQueue"} {
		q := r.res.Queue(id)
		qs[q.ARN] = q.URL
	}
	return qs
}

// logStore is a log store over db, as the functions build theirs.
func (r *rig) logStore(db *dynamodb.Client) *store.LogStore {
	return store.NewLogStore(db, r.res.Table("WebhookLogTable"), r.res.Table("WebhookStatsTable"), retention)
}

// createInstances creates n instances whose webhooks go to rc, each to a path of its own (so
// each has its own circuit, as separate customers' endpoints do).
func (r *rig) createInstances(n int, rc *receiver) []string {
	r.t.Helper()
	ids := make([]string, n)
	now := time.Now()
	for i := range ids {
		ids[i] = fmt.Sprintf("inst_check%02d", i)
		in := &webhook.Instance{
			ID: ids[i], WebhookURL: rc.URL + "/hook/" + ids[i], WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now,
		}
		if err := r.instances.Create(r.ctx, in); err != nil {
			r.t.Fatal(err)
		}
		rc.secrets.Store(ids[i], in.WebhookSecret)
	}
	return ids
}

// eventKinds are the events published; the counters keep each apart.
var eventKinds = []string{webhook.EventMessageReceived, webhook.EventMessageReceived, webhook.EventMessageUpdated, webhook.EventSessionStatus, webhook.EventMessageSent}

// publish puts n events, spread over the instances and eventKinds, on the events queue as
// the session hosts do, 50 at a time whenever fewer than backlog messages are in the queue
// (waiting, in flight or hidden for a retry), and returns their webhook ids in order. moto's
// SQS costs time in proportion to a queue's length on every call (a visibility change or a
// delete looks at every message): a steady flow, not all at once, keeps the run short. It
// publishes through the gateway's config, so a freeze holds it too.
func (r *rig) publish(instances []string, n, backlog int) ([]string, error) {
	pub := queue.NewPublisher(sqs.NewFromConfig(r.sys), r.eventsURL)
	ids := make([]string, 0, n)
	for start := 0; start < n; start += 50 {
		for {
			depth, err := r.depth(r.eventsURL)
			if err != nil {
				return ids, err
			}
			if depth < backlog {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		envs := make([]*webhook.Envelope, 0, 50)
		for i := start; i < min(start+50, n); i++ {
			envs = append(envs, &webhook.Envelope{
				Event: eventKinds[i%len(eventKinds)], InstanceID: instances[i%len(instances)],
				Data: json.RawMessage(fmt.Sprintf(`{"messageId":"m%d","from":"6281234567890@s.whatsapp.net","body":"event %d"}`, i, i)),
			})
		}
		if err := pub.Publish(r.ctx, envs); err != nil {
			return ids, err
		}
		for _, e := range envs {
			ids = append(ids, e.WebhookID)
		}
	}
	return ids, nil
}

// queueDepth counts a queue's messages: visible, in flight and delayed.
func (r *rig) queueDepth(url string) int {
	r.t.Helper()
	n, err := r.depth(url)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *rig) depth(url string) (int, error) {
	return awstest.QueueDepth(r.ctx, r.sqs, url)
}

// waitIdle waits until done holds and the queues are empty, three looks in a row a quarter
// second apart, or fails the test after limit.
func (r *rig) waitIdle(limit time.Duration, done func() bool, queues ...string) {
	r.t.Helper()
	deadline := time.Now().Add(limit)
	for calm := 0; calm < 3; {
		if time.Now().After(deadline) {
			depths := make([]int, len(queues))
			for i, q := range queues {
				depths[i] = r.queueDepth(q)
			}
			r.t.Fatalf("not idle after %s: done %v, queue depths %v", limit, done(), depths)
		}
		time.Sleep(250 * time.Millisecond)
		idle := done()
		for _, q := range queues {
			idle = idle && r.queueDepth(q) == 0
		}
		if idle {
			calm++
		} else {
			calm = 0
		}
	}
}

// pipeline is the delivery function on the events queue and the slow lane: pollers for each,
// each invoking a handler of its own, as Lambda's event source mappings invoke warm
// containers.
type pipeline struct {
	sources []*lambdaemu.SQSEventSource
	hidden  sync.Map // receipt handles a handler hid (a retry's delay)

	mu       sync.Mutex
	inFlight map[string]map[string]bool // message id -> receipt handles of the receives being handled
	twice    map[string]int             // webhook id -> times a handler got it while another held it
	cancel   context.CancelFunc
	done     sync.WaitGroup
}

// slowLanePollers caps the slow lane's MaximumConcurrency (5) here: moto's SQS serves only so
// many long polls at once, and the events queue has workers of them.
const slowLanePollers = 3

// startDelivery runs the delivery function until stop, on every queue template.yaml feeds
// it. The handler is the function's, built as shared/lambdas builds it, with the given retry
// policy and attempt timeout; wrap, when set, stands between the event source and each
// handler.
func (r *rig) startDelivery(policy webhook.RetryPolicy, timeout time.Duration, wrap func(lambdaemu.SQSHandler, *pipeline) lambdaemu.SQSHandler) *pipeline {
	r.t.Helper()
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		r.t.Fatal(err)
	}
	sources, err := tpl.SQSSources()
	if err != nil {
		r.t.Fatal(err)
	}
	q := sqs.NewFromConfig(r.sys)
	p := &pipeline{inFlight: map[string]map[string]bool{}, twice: map[string]int{}}
	for _, src := range sources {
		if src.Function != "WebhookDeliveryFunction" {
			continue
		}
		queue, pollers := r.res.Queue(src.Queue), workers
		if src.Queue != "EventsQueue" {
			pollers = min(src.MaxConcurrency, slowLanePollers)
		}
		p.sources = append(p.sources, &lambdaemu.SQSEventSource{
			SQS: q, QueueURL: queue.URL, QueueARN: queue.ARN, Region: "us-east-1",
			BatchSize: src.BatchSize, WaitTime: time.Second, Concurrency: pollers, Logger: r.log,
		})
	}
	if len(p.sources) != 2 {
		r.t.Fatalf("template.yaml feeds WebhookDeliveryFunction from %d queues, want 2 (the events queue and the slow lane)", len(p.sources))
	}
	container := func() lambdaemu.SQSHandler {
		db := dynamodb.NewFromConfig(r.sys)
		h := deliver.NewHandler(deliver.Config{
			Logs:      r.logStore(db),
			Instances: deliver.NewInstanceCache(store.NewInstanceStore(db, r.res.Table("InstancesTable")), instanceCacheTTL),
			Queue:     &hideRecorder{sqs: q, p: p},
			QueueURL:  r.eventsURL,
			SlowLane:  &deliver.SlowLane{Queue: q, URL: r.slowURL},
			Sender:    deliver.NewSender(senderOptions(timeout)),
			Policy:    policy,
			Metrics:   metrics.NewEmitter(io.Discard, "wagate"),
			Logger:    r.log,
		})
		if wrap != nil {
			return wrap(p.track(h.Handle), p)
		}
		return p.track(h.Handle)
	}
	ctx, cancel := context.WithCancel(r.ctx)
	p.cancel = cancel
	for _, src := range p.sources {
		p.done.Go(func() { src.Run(ctx, container) })
	}
	r.t.Cleanup(p.stop)
	return p
}

// track notes the messages a handler gets while another handler is still at them (from its
// receive until it hides the message or its batch ends): SQS delivers at least once, and a
// standard queue may hand a message to two receivers at once. Both copies are then sent, with
// the same X-Webhook-Attempt.
func (p *pipeline) track(h lambdaemu.SQSHandler) lambdaemu.SQSHandler {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		ids := webhookIDs(ev)
		p.mu.Lock()
		for i, rec := range ev.Records {
			handles := p.inFlight[rec.MessageId]
			if handles == nil {
				handles = map[string]bool{}
				p.inFlight[rec.MessageId] = handles
			}
			if len(handles) > 0 && i < len(ids) {
				p.twice[ids[i]]++
			}
			handles[rec.ReceiptHandle] = true
		}
		p.mu.Unlock()
		defer func() {
			p.mu.Lock()
			for _, rec := range ev.Records {
				delete(p.inFlight[rec.MessageId], rec.ReceiptHandle)
			}
			p.mu.Unlock()
		}()
		return h(ctx, ev)
	}
}

// duplicates returns the webhook ids handed to two handlers at once, with how often.
func (p *pipeline) duplicates() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.twice)
}

func (p *pipeline) stop() {
	p.cancel()
	p.done.Wait()
}

// instanceCacheTTL is the delivery function's INSTANCE_CACHE_TTL here: a minute, not the
// default 5 s, as no test here changes an instance, and eight containers reading ten instances
// every 5 s would take a good share of what the emulator serves.
const instanceCacheTTL = time.Minute

func senderOptions(timeout time.Duration) deliver.SenderOptions {
	return deliver.SenderOptions{Timeout: timeout, AllowHTTP: true, AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
}

// hideRecorder is the handler's queue: it records the messages it hid. A message the handler
// hid (for a retry, or after a failure) is done with, though the batch may run on.
type hideRecorder struct {
	sqs *sqs.Client
	p   *pipeline
}

func (h *hideRecorder) ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	out, err := h.sqs.ChangeMessageVisibility(ctx, in, opts...)
	if err == nil {
		rh := aws.ToString(in.ReceiptHandle)
		h.p.hidden.Store(rh, true)
		h.p.mu.Lock()
		for _, handles := range h.p.inFlight {
			delete(handles, rh)
		}
		h.p.mu.Unlock()
	}
	return out, err
}

// countingRun is the counting function on the log table's stream, as Lambda's mapping runs it.
type countingRun struct {
	source  *lambdaemu.StreamEventSource
	handler lambdaemu.StreamHandler
	cancel  context.CancelFunc
	done    chan struct{}
}

// countingHandler is the counting function's handler, its DynamoDB client made with opts.
func (r *rig) countingHandler(opts ...func(*dynamodb.Options)) lambdaemu.StreamHandler {
	return counting.NewHandler(r.logStore(dynamodb.NewFromConfig(r.sys, opts...)), quiet).Handle
}

// startCounting runs h on the log table's stream until stop, reading every 2 s, as the
// template's MaximumBatchingWindowInSeconds lets Lambda gather a batch.
func (r *rig) startCounting(h lambdaemu.StreamHandler) *countingRun {
	c := &countingRun{
		source: &lambdaemu.StreamEventSource{
			Streams: dynamodbstreams.NewFromConfig(r.sys), StreamARN: r.res.StreamARN("WebhookLogTable"),
			Region: "us-east-1", BatchSize: 1000, Interval: 2 * time.Second, Logger: quiet,
		},
		handler: h,
		done:    make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(r.ctx)
	c.cancel = cancel
	go func() {
		defer close(c.done)
		c.source.Run(ctx, h)
	}()
	r.t.Cleanup(c.stop)
	return c
}

func (c *countingRun) stop() {
	c.cancel()
	<-c.done
}

// finish stops the mapping and hands every change left over to handler, retrying a batch it
// fails a few times, as Lambda does.
func (c *countingRun) finish(t *testing.T, handler lambdaemu.StreamHandler) {
	t.Helper()
	c.stop()
	for try := 0; ; try++ {
		err := c.source.Drain(context.Background(), handler)
		if err == nil {
			return
		}
		if try == 5 {
			t.Fatalf("count the last changes: %v", err)
		}
	}
}

// storedLog is what the checks read of a stored log, straight from the table.
type storedLog struct {
	WebhookID  string    `dynamodbav:"webhookId"`
	InstanceID string    `dynamodbav:"instanceId"`
	Event      string    `dynamodbav:"event"`
	Status     string    `dynamodbav:"status"`
	Attempts   int       `dynamodbav:"attempts"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
}

// scanLogs reads every log in the table: the truth the counters and listings answer to.
func (r *rig) scanLogs() map[string]storedLog {
	r.t.Helper()
	table := r.res.Table("WebhookLogTable")
	db := dynamodb.NewFromConfig(awstest.Config(r.t))
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName: &table, ConsistentRead: aws.Bool(true),
		ProjectionExpression:     aws.String("webhookId, instanceId, #e, #s, attempts, createdAt"),
		ExpressionAttributeNames: map[string]string{"#e": "event", "#s": "status"},
	})
	out := map[string]storedLog{}
	for p.HasMorePages() {
		page, err := p.NextPage(r.ctx)
		if err != nil {
			r.t.Fatal(err)
		}
		var logs []storedLog
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &logs); err != nil {
			r.t.Fatal(err)
		}
		for _, l := range logs {
			out[l.WebhookID] = l
		}
	}
	return out
}

// checkStatsEqualLogs checks every day's counters, of each instance and of all, equal the
// logs stored, event by event and status by status, and that the log listing (every filter
// combination's indexes merged) lists exactly the stored logs in their state. It returns the
// logs.
func (r *rig) checkStatsEqualLogs(instances []string) map[string]storedLog {
	r.t.Helper()
	stored := r.scanLogs()

	// The listing of all logs, through the indexes, as GET /api/webhook/logs pages it.
	listed := map[string]string{}
	before := ""
	for {
		page, err := r.logs.List(r.ctx, webhook.LogFilter{}, 1000, before, 1<<40)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, l := range page.Logs {
			if _, dup := listed[l.WebhookID]; dup {
				r.t.Errorf("log %s listed twice", l.WebhookID)
			}
			listed[l.WebhookID] = l.Status
		}
		if page.Before == "" {
			break
		}
		before = page.Before
	}
	for id, l := range stored {
		if listed[id] != l.Status {
			r.t.Errorf("log %s is %s; the listing says %q", id, l.Status, listed[id])
		}
	}
	for id := range listed {
		if _, ok := stored[id]; !ok {
			r.t.Errorf("the listing has %s, which is not stored", id)
		}
	}

	// What the counters should say: per instance ("" for all), day and event.
	type key struct{ instance, day, event string }
	want := map[key]*store.Counter{}
	add := func(k key, status string) {
		c := want[k]
		if c == nil {
			c = &store.Counter{}
			want[k] = c
		}
		c.Total++
		switch status {
		case webhook.StatusSuccess:
			c.Success++
		case webhook.StatusFailed:
			c.Failed++
		case webhook.StatusRetrying:
			c.Retrying++
		}
	}
	var earliest time.Time
	for _, l := range stored {
		day := l.CreatedAt.UTC().Format(time.DateOnly)
		add(key{l.InstanceID, day, l.Event}, l.Status)
		add(key{"", day, l.Event}, l.Status)
		if earliest.IsZero() || l.CreatedAt.Before(earliest) {
			earliest = l.CreatedAt
		}
	}
	if earliest.IsZero() {
		earliest = time.Now()
	}
	from, to := earliest.Add(-24*time.Hour), time.Now().Add(24*time.Hour)
	for _, inst := range append(slices.Clone(instances), "") {
		cs, err := r.logs.Counters(r.ctx, inst, from, to)
		if err != nil {
			r.t.Fatal(err)
		}
		got := map[key]store.Counter{}
		for _, c := range cs {
			got[key{inst, c.Day, c.Event}] = store.Counter{Total: c.Total, Success: c.Success, Failed: c.Failed, Retrying: c.Retrying}
		}
		for k, w := range want {
			if k.instance == inst && got[k] != *w {
				r.t.Errorf("counters of %q on %s for %s: %+v; the logs: %+v", inst, k.day, k.event, got[k], *w)
			}
		}
		for k, g := range got {
			if _, ok := want[k]; !ok && g != (store.Counter{}) {
				r.t.Errorf("counters of %q on %s for %s: %+v; no such logs", inst, k.day, k.event, g)
			}
		}
	}
	return stored
}

// byStatus counts logs by state.
func byStatus(logs map[string]storedLog) map[string]int {
	n := map[string]int{}
	for _, l := range logs {
		n[l.Status]++
	}
	return n
}

// answer is what a receiver does with one request.
type answer int

const (
	answerOK       answer = iota // 200
	answerFail                   // 500
	answerRedirect               // 302 elsewhere (not followed: not a 2xx)
	answerReset                  // reads the request, then resets the connection
	answerHang                   // answers nothing until the client gives up
)

func (a answer) String() string {
	return [...]string{"200", "500", "302", "reset", "hang"}[a]
}

// received is one request a receiver got.
type received struct {
	attempt int // X-Webhook-Attempt
	answer  answer
}

// receiver is a webhook endpoint on a real HTTP server answering by script, per webhook id
// and the request's number for that id (from 0): the answers do not depend on the order
// concurrent deliveries arrive in. It checks every request's signature and records what it
// got and answered.
type receiver struct {
	*httptest.Server
	script    func(id string, n int, accepted bool) answer
	onRequest func(id string, a answer) // called once a request is recorded, before it is answered
	secrets   sync.Map                  // instance id -> its signing secret

	mu       sync.Mutex
	got      map[string][]received
	total    int
	badSigns []string
}

func newReceiver(t *testing.T, script func(id string, n int, accepted bool) answer, onRequest func(string, answer)) *receiver {
	rc := &receiver{script: script, onRequest: onRequest, got: map[string][]received{}}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the client gave up
	}
	id := req.Header.Get("webhook-id")
	attempt, _ := strconv.Atoi(req.Header.Get(webhook.HeaderAttempt))
	secret, _ := rc.secrets.Load(strings.TrimPrefix(req.URL.Path, "/hook/"))
	s, _ := secret.(string)
	rc.mu.Lock()
	if err := webhook.Verify(s, body, req.Header); err != nil {
		rc.badSigns = append(rc.badSigns, fmt.Sprintf("%s %s: %v", req.URL.Path, id, err))
	}
	prev := rc.got[id]
	accepted := slices.ContainsFunc(prev, func(r received) bool { return r.answer == answerOK })
	a := rc.script(id, len(prev), accepted)
	rc.got[id] = append(prev, received{attempt: attempt, answer: a})
	rc.total++
	rc.mu.Unlock()
	if rc.onRequest != nil {
		rc.onRequest(id, a)
	}
	switch a {
	case answerOK:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"received":true}`))
	case answerFail:
		http.Error(w, "receiver failing", http.StatusInternalServerError)
	case answerRedirect:
		w.Header().Set("Location", "/moved")
		w.WriteHeader(http.StatusFound)
	case answerReset:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			tcp.SetLinger(0) // close with a reset, not a clean end
		}
		conn.Close()
	case answerHang:
		select {
		case <-req.Context().Done():
		case <-time.After(time.Minute):
		}
	}
}

func (rc *receiver) requests() (map[string][]received, int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string][]received, len(rc.got))
	for id, rs := range rc.got {
		out[id] = slices.Clone(rs)
	}
	return out, rc.total
}

func (rc *receiver) seen() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.total
}

// roll is a number in [0, 100) that depends only on its arguments.
func roll(seed uint64, id string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	return rand.New(rand.NewPCG(seed^h.Sum64(), uint64(n))).IntN(100)
}

// freezer holds every AWS call of a config while on, as an emulator process that is stopped
// holds them: a call made meanwhile waits, and so does the answer to one already made; none
// fails. A call whose context ends while it waits returns the context's error.
type freezer struct {
	mu     sync.Mutex
	thawed chan struct{} // nil unless frozen; closed when the freeze ends
	held   atomic.Int64
}

func (f *freezer) register(s *middleware.Stack) error {
	// In the finalize step after the SDK's retries: each HTTP attempt waits.
	return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("freeze",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if err := f.wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			out, md, err := next.HandleFinalize(ctx, in)
			if werr := f.wait(ctx); werr != nil && err == nil {
				err = werr
			}
			return out, md, err
		}), middleware.After)
}

func (f *freezer) wait(ctx context.Context) error {
	f.mu.Lock()
	ch := f.thawed
	f.mu.Unlock()
	if ch == nil {
		return nil
	}
	f.held.Add(1)
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hold freezes for d.
func (f *freezer) hold(d time.Duration) {
	ch := make(chan struct{})
	f.mu.Lock()
	f.thawed = ch
	f.mu.Unlock()
	time.Sleep(d)
	f.mu.Lock()
	f.thawed = nil
	f.mu.Unlock()
	close(ch)
}

// webhookIDs are the webhook ids of a batch's events.
func webhookIDs(ev events.SQSEvent) []string {
	var ids []string
	for _, rec := range ev.Records {
		var env webhook.Envelope
		if json.Unmarshal([]byte(rec.Body), &env) == nil {
			ids = append(ids, env.WebhookID)
		}
	}
	return ids
}
