package deliver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/webhook"
)

func TestFailsTwiceThenSucceeds(t *testing.T) {
	r := newRig(t, rigOptions{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"received":true}`))
	})
	in := r.instance(rc.URL + "/hook")
	env := r.publish(in.ID, 1)[0]

	r.drain(20)

	l := r.log(env.WebhookID)
	if l.Status != webhook.StatusSuccess || l.Attempts != 3 || l.StatusCode == nil || *l.StatusCode != 200 {
		t.Fatalf("log: status %s attempts %d code %v", l.Status, l.Attempts, l.StatusCode)
	}
	if string(l.Response) != `{"received":true}` || l.Error != nil || l.NextRetryAt != nil {
		t.Fatalf("log response %s error %v next %v", l.Response, l.Error, l.NextRetryAt)
	}
	if got, want := r.vis.delays(), []time.Duration{5 * time.Second, 10 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("visibility changes %v, want %v", got, want)
	}
	reqs := rc.got()
	if len(reqs) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(reqs))
	}
	for i, req := range reqs {
		if id := req.header.Get("webhook-id"); id != env.WebhookID {
			t.Errorf("request %d: webhook-id %q, want %q", i+1, id, env.WebhookID)
		}
		if err := webhook.Verify(in.WebhookSecret, req.body, req.header); err != nil {
			t.Errorf("request %d: signature: %v", i+1, err)
		}
		if a := req.header.Get("X-Webhook-Attempt"); a != string(rune('1'+i)) {
			t.Errorf("request %d: attempt header %q", i+1, a)
		}
		var body webhook.Envelope
		if err := json.Unmarshal(req.body, &body); err != nil || body.WebhookID != env.WebhookID || body.Event != webhook.EventMessageReceived {
			t.Errorf("request %d: body %s (%v)", i+1, req.body, err)
		}
		if ua := req.header.Get("User-Agent"); !strings.HasPrefix(ua, "wagate/") {
			t.Errorf("user agent %q", ua)
		}
		if ct := req.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q", ct)
		}
	}
	if c := r.counters(in.ID); c.Total != 1 || c.Success != 1 || c.Failed != 0 || c.Retrying != 0 {
		t.Fatalf("counters %+v", c)
	}
}

func TestAlwaysFailingEndpoint(t *testing.T) {
	r := newRig(t, rigOptions{})
	rc := newReceiver(t, answerStatus(http.StatusInternalServerError))
	in := r.instance(rc.URL)
	env := r.publish(in.ID, 1)[0]

	r.drain(30)

	l := r.log(env.WebhookID)
	if l.Status != webhook.StatusFailed || l.Attempts != 4 || len(rc.got()) != 4 {
		t.Fatalf("status %s attempts %d requests %d", l.Status, l.Attempts, len(rc.got()))
	}
	if l.Error == nil || *l.Error != "HTTP 500 Internal Server Error" {
		t.Fatalf("error %v", l.Error)
	}
	if got, want := r.vis.delays(), []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second}; !slices.Equal(got, want) {
		t.Fatalf("visibility changes %v, want %v", got, want)
	}
	if d := r.queueDepth(); d != 0 {
		t.Fatalf("queue depth %d after the final attempt", d)
	}
	if c := r.counters(in.ID); c.Total != 1 || c.Failed != 1 || c.Success != 0 || c.Retrying != 0 {
		t.Fatalf("counters %+v", c)
	}
	if c := r.counters(""); c.Total < 1 || c.Retrying != 0 {
		t.Fatalf("all-instance counters %+v", c)
	}
}

func TestGoneIsFinalAtOnce(t *testing.T) {
	r := newRig(t, rigOptions{})
	rc := newReceiver(t, answerStatus(http.StatusGone))
	in := r.instance(rc.URL)
	env := r.publish(in.ID, 1)[0]
	r.drain(10)
	l := r.log(env.WebhookID)
	if l.Status != webhook.StatusFailed || l.Attempts != 1 || len(r.vis.delays()) != 0 {
		t.Fatalf("status %s attempts %d visibility %v", l.Status, l.Attempts, r.vis.delays())
	}
}

func TestRetryAfterHonouredWithinBounds(t *testing.T) {
	tests := []struct {
		name       string
		code       int
		retryAfter string
		want       time.Duration
	}{
		{"429 asks for longer", http.StatusTooManyRequests, "30", 30 * time.Second},
		{"503 asks for longer", http.StatusServiceUnavailable, "45", 45 * time.Second},
		{"429 asks for shorter: schedule wins", http.StatusTooManyRequests, "1", 5 * time.Second},
		{"429 asks for too long: capped", http.StatusTooManyRequests, "86400", time.Minute},
		{"500 is not honoured", http.StatusInternalServerError, "30", 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, rigOptions{policy: webhook.RetryPolicy{Schedule: webhook.DefaultRetryDelays, MaxRetryAfter: time.Minute}})
			rc := newReceiver(t, func(n int, w http.ResponseWriter) {
				if n == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					w.WriteHeader(tt.code)
				}
			})
			in := r.instance(rc.URL)
			r.publish(in.ID, 1)
			r.drain(10)
			if got := r.vis.delays(); len(got) != 1 || got[0] != tt.want {
				t.Fatalf("visibility changes %v, want [%v]", got, tt.want)
			}
		})
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var hits atomic.Int32
	target := newReceiver(t, func(int, http.ResponseWriter) { hits.Add(1) })
	r := newRig(t, rigOptions{policy: webhook.RetryPolicy{Schedule: webhook.RetrySchedule{}}})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter) {
		w.Header().Set("Location", target.URL)
		w.WriteHeader(http.StatusFound)
	})
	in := r.instance(rc.URL)
	env := r.publish(in.ID, 1)[0]
	r.drain(10)
	l := r.log(env.WebhookID)
	if hits.Load() != 0 {
		t.Fatal("the redirect was followed")
	}
	if l.Status != webhook.StatusFailed || l.StatusCode == nil || *l.StatusCode != 302 || l.Error == nil || !strings.Contains(*l.Error, "redirect") {
		t.Fatalf("log: status %s code %v error %v", l.Status, l.StatusCode, l.Error)
	}
}

// A message handled again after its webhook succeeded: as a retry (a later receive), it is
// dropped unsent; as a second copy of a first receive, which reads no log, it is sent again
// (delivery is at least once) and counted as an attempt, and the log stays a success.
func TestDuplicateMessageAfterSuccess(t *testing.T) {
	tests := []struct {
		name         string
		receiveCount string
		requests     int
	}{
		{"a retry still queued", "2", 1},
		{"a second copy of the first receive", "1", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			rc := newReceiver(t, answerStatus(http.StatusOK))
			in := r.instance(rc.URL)
			env := r.publish(in.ID, 1)[0]

			batch := r.receiveBatch()
			if len(batch.Records) != 1 {
				t.Fatalf("received %d records", len(batch.Records))
			}
			for round := 1; round <= 2; round++ {
				if round == 2 {
					batch.Records[0].Attributes["ApproximateReceiveCount"] = tt.receiveCount
				}
				resp, err := r.handler.Handle(r.ctx, batch)
				if err != nil || len(resp.BatchItemFailures) != 0 {
					t.Fatalf("round %d: %v %+v", round, err, resp)
				}
			}
			if n := len(rc.got()); n != tt.requests {
				t.Fatalf("receiver got %d requests, want %d", n, tt.requests)
			}
			l := r.log(env.WebhookID)
			if l.Status != webhook.StatusSuccess || l.Attempts != tt.requests {
				t.Fatalf("status %s attempts %d", l.Status, l.Attempts)
			}
			if c := r.counters(in.ID); c.Total != 1 || c.Success != 1 {
				t.Fatalf("counters %+v", c)
			}
		})
	}
}

func TestUnsubscribedAndDisabledInstancesAreSkipped(t *testing.T) {
	r := newRig(t, rigOptions{})
	rc := newReceiver(t, answerStatus(http.StatusOK))
	off := r.instance("")
	statusOnly := r.instance(rc.URL, webhook.EventSessionStatus)
	envs := append(r.publish(off.ID, 1), r.publish(statusOnly.ID, 1)...)
	envs = append(envs, r.publish("inst_missing", 1)...)
	r.drain(10)
	if n := len(rc.got()); n != 0 {
		t.Fatalf("receiver got %d requests", n)
	}
	for _, e := range envs {
		if _, err := r.logs.Get(r.ctx, e.WebhookID); webhook.ErrorCode(err) != webhook.ENotFound {
			t.Fatalf("%s: a skipped event left a log (err %v)", e.WebhookID, err)
		}
	}
}

// flakyLogs fails the calls whose number (from 1, Get and Save counted together) is in fail.
type flakyLogs struct {
	deliver.LogStore
	calls atomic.Int32
	fail  func(n int32) bool
}

var errStoreDown = errors.New("store is down")

func (f *flakyLogs) Get(ctx context.Context, id string) (*webhook.Log, error) {
	if f.fail(f.calls.Add(1)) {
		return nil, errStoreDown
	}
	return f.LogStore.Get(ctx, id)
}

func (f *flakyLogs) Save(ctx context.Context, prev, next *webhook.Log) error {
	if f.fail(f.calls.Add(1)) {
		return errStoreDown
	}
	return f.LogStore.Save(ctx, prev, next)
}

type flakyInstances struct {
	deliver.InstanceGetter
	calls atomic.Int32
	fail  func(n int32) bool
}

func (f *flakyInstances) Get(ctx context.Context, id string) (*webhook.Instance, error) {
	if f.fail(f.calls.Add(1)) {
		return nil, errStoreDown
	}
	return f.InstanceGetter.Get(ctx, id)
}

func TestStoreFailingMidBatchLosesNothing(t *testing.T) {
	everyThird := func(n int32) bool { return n%3 == 0 && n < 40 }
	tests := []struct {
		name string
		opts rigOptions
	}{
		{"log store fails", rigOptions{wrapLogs: func(s deliver.LogStore) deliver.LogStore {
			return &flakyLogs{LogStore: s, fail: everyThird}
		}}},
		{"instances fail", rigOptions{wrapInsts: func(g deliver.InstanceGetter) deliver.InstanceGetter {
			return &flakyInstances{InstanceGetter: g, fail: everyThird}
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.opts)
			rc := newReceiver(t, answerStatus(http.StatusOK))
			in := r.instance(rc.URL)
			envs := r.publish(in.ID, 10)

			r.drain(60)

			seen := map[string]bool{}
			for _, req := range rc.got() {
				seen[req.header.Get("webhook-id")] = true
			}
			for _, e := range envs {
				if !seen[e.WebhookID] {
					t.Errorf("%s never reached the receiver", e.WebhookID)
				}
				if l := r.log(e.WebhookID); l.Status != webhook.StatusSuccess {
					t.Errorf("%s: status %s", e.WebhookID, l.Status)
				}
			}
			if len(r.vis.delays()) == 0 {
				t.Error("no failed record was brought back early")
			}
			if c := r.counters(in.ID); c.Total != 10 || c.Success != 10 {
				t.Fatalf("counters %+v", c)
			}
		})
	}
}

func TestDestinationsCheckedAtDialTime(t *testing.T) {
	rc := newReceiver(t, answerStatus(http.StatusOK))
	port := rc.URL[strings.LastIndex(rc.URL, ":"):]
	strict := deliver.NewSender(deliver.SenderOptions{Timeout: 2 * time.Second, AllowHTTP: true})
	allowing := deliver.NewSender(deliver.SenderOptions{
		Timeout: 2 * time.Second, AllowHTTP: true,
		AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	tests := []struct {
		name    string
		sender  *deliver.Sender
		url     string
		refused bool
	}{
		{"hostname resolving to loopback", strict, "http://localhost" + port + "/hook", true},
		{"loopback literal", strict, rc.URL, true},
		{"metadata address", strict, "http://169.254.169.254/latest/meta-data/", true},
		{"private range", strict, "http://10.0.0.1/", true},
		{"ipv6 loopback", strict, "http://[::1]" + port + "/", true},
		{"allow-listed loopback by name", allowing, "http://localhost" + port + "/hook", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.sender.Send(context.Background(), deliver.Request{
				URL: tt.url, WebhookID: "wh_1", Event: webhook.EventWebhookTest, Attempt: 1,
				Body: []byte(`{}`), Secrets: []string{webhook.NewSecret()},
			})
			refused := res.Err != nil && strings.Contains(res.Err.Error(), "destination refused")
			if refused != tt.refused {
				t.Fatalf("refused=%v (status %d, err %v), want refused=%v", refused, res.StatusCode, res.Err, tt.refused)
			}
			if !tt.refused && res.StatusCode != 200 {
				t.Fatalf("status %d err %v", res.StatusCode, res.Err)
			}
		})
	}
}

func TestRefusedDestinationIsAFailedAttempt(t *testing.T) {
	r := newRig(t, rigOptions{
		sender: deliver.SenderOptions{Timeout: 2 * time.Second, AllowHTTP: true},
		policy: webhook.RetryPolicy{Schedule: webhook.RetrySchedule{time.Second}},
	})
	in := r.instance("http://169.254.169.254/latest/meta-data/")
	env := r.publish(in.ID, 1)[0]
	r.drain(10)
	l := r.log(env.WebhookID)
	if l.Status != webhook.StatusFailed || l.Attempts != 2 || l.Error == nil || !strings.Contains(*l.Error, "destination refused") {
		t.Fatalf("status %s attempts %d error %v", l.Status, l.Attempts, l.Error)
	}
}

// Each invocation writes one metrics line, whatever its batch holds, and the application log
// only what needs a look: a success is in the log table alone.
func TestOneMetricsLinePerInvocation(t *testing.T) {
	tests := []struct {
		name      string
		answer    int
		events    int
		delivered float64
		retried   float64
		logLines  int
	}{
		{"one success", http.StatusOK, 1, 1, 0, 0},
		{"ten successes", http.StatusOK, 10, 10, 0, 0},
		{"one failure retried", http.StatusBadGateway, 1, 0, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var metricsOut, logOut bytes.Buffer
			r := newRig(t, rigOptions{metricsOut: &metricsOut, logOut: &logOut})
			rc := newReceiver(t, answerStatus(tt.answer))
			in := r.instance(rc.URL)
			r.publish(in.ID, tt.events)
			invocations := 0
			var handled int
			for handled < tt.events {
				n, err := r.source.PollOnce(r.ctx, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
					invocations++
					return r.handler.Handle(ctx, ev)
				})
				if err != nil {
					t.Fatal(err)
				}
				handled += n
			}
			lines := strings.Split(strings.TrimSpace(metricsOut.String()), "\n")
			if len(lines) != invocations {
				t.Fatalf("%d metric lines for %d invocations: %s", len(lines), invocations, metricsOut.String())
			}
			var delivered, retried, attempts float64
			latencies := 0
			for _, line := range lines {
				var rec struct {
					Delivered, Retried, Attempts float64
					AttemptLatency               []float64
					Event                        *string
					AWS                          any `json:"_aws"`
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatal(err)
				}
				if rec.AWS == nil || rec.Event != nil {
					t.Fatalf("metric line %s", line)
				}
				delivered += rec.Delivered
				retried += rec.Retried
				attempts += rec.Attempts
				latencies += len(rec.AttemptLatency)
			}
			if delivered != tt.delivered || retried != tt.retried || attempts != float64(tt.events) || latencies != tt.events {
				t.Fatalf("delivered %v retried %v attempts %v latencies %d: %s", delivered, retried, attempts, latencies, metricsOut.String())
			}
			if got := strings.Count(logOut.String(), "\n"); got != tt.logLines {
				t.Fatalf("%d log lines, want %d: %s", got, tt.logLines, logOut.String())
			}
		})
	}
}

func TestUnreadableEventEndsInDeadLetterQueue(t *testing.T) {
	r := newRig(t, rigOptions{})
	for _, body := range []string{"not json", `{"event":"message.exploded","webhookId":"wh_1","timestamp":"2024-01-01T00:00:00.000Z","data":{}}`} {
		if _, err := r.sqs.SendMessage(r.ctx, &sqs.SendMessageInput{QueueUrl: &r.queueURL, MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	r.drain(40)
	dlq := r.res.Queue("EventsDeadLetterQueue").URL
	got := 0
	for range 5 {
		out, err := r.sqs.ReceiveMessage(r.ctx, &sqs.ReceiveMessageInput{QueueUrl: &dlq, MaxNumberOfMessages: 10})
		if err != nil {
			t.Fatal(err)
		}
		got += len(out.Messages)
		if got == 2 {
			break
		}
	}
	if got != 2 {
		t.Fatalf("%d messages in the dead-letter queue, want 2", got)
	}
}

// brokenQueue fails every visibility change.
type brokenQueue struct{}

func (brokenQueue) ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	return nil, errors.New("sqs is down")
}

func TestRetryStillReportedWhenVisibilityChangeFails(t *testing.T) {
	r := newRig(t, rigOptions{})
	rc := newReceiver(t, answerStatus(http.StatusBadGateway))
	in := r.instance(rc.URL)
	env := r.publish(in.ID, 1)[0]
	h := deliver.NewHandler(deliver.Config{
		Logs: r.logs, Instances: r.instances, Queue: brokenQueue{}, QueueURL: r.queueURL,
		Sender: deliver.NewSender(deliver.SenderOptions{Timeout: time.Second, AllowHTTP: true, AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}),
		Policy: webhook.RetryPolicy{Schedule: webhook.DefaultRetryDelays}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	batch := r.receiveBatch()
	resp, err := h.Handle(r.ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("resp %+v err %v: the record must come back", resp, err)
	}
	if l := r.log(env.WebhookID); l.Status != webhook.StatusRetrying || l.Attempts != 1 || l.NextRetryAt == nil {
		t.Fatalf("status %s attempts %d", l.Status, l.Attempts)
	}
}

// A batch of events for several instances reads those instances in one request, not one each
// (on the emulator, whose DynamoDB serves one request at a time, the reads were a third of
// all the delivery's requests).
func TestBatchReadsItsInstancesTogether(t *testing.T) {
	calls := &callRecorder{}
	r := newRig(t, rigOptions{
		dbOptions: func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, calls.register) },
		wrapInsts: func(g deliver.InstanceGetter) deliver.InstanceGetter { return deliver.NewInstanceCache(g, time.Minute) },
	})
	rc := newReceiver(t, answerStatus(http.StatusOK))
	const instances = 5
	for range instances {
		r.publish(r.instance(rc.URL).ID, 2)
	}
	r.drain(20)

	if got := len(rc.got()); got != 2*instances {
		t.Fatalf("%d webhooks delivered, want %d", got, 2*instances)
	}
	made, _ := calls.take()
	reads, batches := 0, 0
	for _, c := range made {
		switch in := c.in.(type) {
		case *dynamodb.GetItemInput:
			if aws.ToString(in.TableName) == r.res.Table("InstancesTable") {
				reads++
			}
		case *dynamodb.BatchGetItemInput:
			batches++
		}
	}
	if batches == 0 || reads+batches > 2 {
		t.Fatalf("%d instances read with %d GetItem and %d BatchGetItem requests, want one batch read (two if the queue split the events)",
			instances, reads, batches)
	}
}
