package manage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/middleware"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/infra/storetest"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// webhookRig serves the webhook routes beside the instance routes, over the same tables, with
// the delivery function and the jobs function driven from their queues as Lambda would.
type webhookRig struct {
	*apiRig
	logs     *store.LogStore
	progress *store.JobStore
	reads    *readCounter
	deletes  *deleteCounter
	counting *awstest.Counting
	api      *manage.WebhookAPI
	sender   *deliver.Sender
	events   *lambdaemu.SQSEventSource
	jobs     *lambdaemu.SQSEventSource
	delivery *deliver.Handler
}

// newWebhookRig returns a rig whose WebhookAPI has the dependencies set, then changed by opts.
func newWebhookRig(t *testing.T, opts ...func(*manage.WebhookDeps)) *webhookRig {
	t.Helper()
	base := newAPIRig(t, true)
	reads := &readCounter{ops: map[string]int{}}
	db := dynamodb.NewFromConfig(awstest.Config(t), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, reads.register)
	})
	sq := sqs.NewFromConfig(awstest.Config(t))
	logs := store.NewLogStore(db, base.res.Table("WebhookLogTable"), base.res.Table("WebhookStatsTable"), 30*24*time.Hour)
	sender := deliver.NewSender(deliver.SenderOptions{
		Timeout: 5 * time.Second, AllowHTTP: true,
		AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	eventsURL, jobsURL := base.res.QueueURL("EventsQueue"), base.res.QueueURL("JobsQueue")
	r := &webhookRig{
		apiRig: base, logs: logs, reads: reads, deletes: &deleteCounter{LogStore: logs}, sender: sender,
		counting: awstest.NewCounting(t, base.res),
		progress: store.NewJobStore(db, base.res.Table("WebhookStatsTable"), 30*24*time.Hour),
	}
	deps := manage.WebhookDeps{
		Logs: r.deletes, Instances: base.store, Sender: sender, Publisher: queue.NewPublisher(sq, eventsURL),
		Jobs: manage.SQSJobs{SQS: sq, QueueURL: jobsURL}, Progress: r.progress, Cursors: base.cursors, AllowHTTP: true,
		// Only the item bound (the default, 5,000 logs) ends the work within a request, so
		// what goes to the background does not depend on the machine's speed.
		Inline: time.Hour,
	}
	for _, o := range opts {
		o(&deps)
	}
	r.api = manage.NewWebhookAPI(deps)
	r.api.RegisterTest(base.router)
	r.api.RegisterLogs(base.router)
	r.api.RegisterRetry(base.router)
	r.api.RegisterStats(base.router)
	r.api.RegisterClear(base.router)
	r.api.RegisterJobs(base.router)
	r.events = &lambdaemu.SQSEventSource{SQS: sq, QueueURL: eventsURL, BatchSize: 10}
	r.jobs = &lambdaemu.SQSEventSource{SQS: sq, QueueURL: jobsURL, BatchSize: 1}
	r.delivery = deliver.NewHandler(deliver.Config{
		Logs: logs, Instances: base.store, Queue: sq, QueueURL: eventsURL, Sender: sender,
		Policy: webhook.RetryPolicy{Schedule: webhook.DefaultRetryDelays}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	return r
}

// drain runs h on the queue until a poll finds nothing.
func (r *webhookRig) drain(src *lambdaemu.SQSEventSource, h lambdaemu.SQSHandler) {
	r.t.Helper()
	for range 1000 {
		n, err := src.PollOnce(context.Background(), h)
		if err != nil {
			r.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	r.t.Fatal("queue never emptied")
}

// deleteCounter counts the logs deleted through it.
type deleteCounter struct {
	manage.LogStore
	n atomic.Int64
}

func (d *deleteCounter) DeleteLogs(ctx context.Context, ids []string) (int, error) {
	n, err := d.LogStore.DeleteLogs(ctx, ids)
	d.n.Add(int64(n))
	return n, err
}

// readCounter is an SDK middleware that counts the items DynamoDB reads for each operation:
// ScannedCount for queries and scans, the items returned for gets.
type readCounter struct {
	mu    sync.Mutex
	items int
	ops   map[string]int
}

func (c *readCounter) register(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("countReads",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			n := 0
			switch res := out.Result.(type) {
			case *dynamodb.QueryOutput:
				n = int(res.ScannedCount)
			case *dynamodb.ScanOutput:
				n = int(res.ScannedCount)
			case *dynamodb.BatchGetItemOutput:
				for _, items := range res.Responses {
					n += len(items)
				}
			case *dynamodb.GetItemOutput:
				if res.Item != nil {
					n = 1
				}
			}
			c.mu.Lock()
			c.items += n
			c.ops[awsmiddleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return out, md, err
		}), middleware.Before)
}

// measure returns the items read and the operations called while f runs.
func (c *readCounter) measure(f func()) (int, map[string]int) {
	c.mu.Lock()
	c.items, c.ops = 0, map[string]int{}
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.items, c.ops
}

// fixtureLogs returns n logs of the instances, spread over the last `days` days, every 100th
// failed.
func fixtureLogs(n int, instances []string, days int) []*webhook.Log {
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Now()
	events := []string{webhook.EventMessageReceived, webhook.EventMessageReceived, webhook.EventSessionStatus, webhook.EventMessageUpdated, webhook.EventMessageSent}
	out := make([]*webhook.Log, n)
	for i := range out {
		at := now.Add(-time.Duration(rng.Int64N(int64(days) * int64(24*time.Hour))))
		id := webhook.NewWebhookID(at)
		status, code := webhook.StatusSuccess, 200
		if i%100 == 0 {
			status, code = webhook.StatusFailed, 500
		}
		inst, event := instances[i%len(instances)], events[rng.IntN(len(events))]
		out[i] = &webhook.Log{
			ID: webhook.NewLogID(at), WebhookID: id, InstanceID: inst, URL: "https://example.com/hook", Event: event,
			Payload: json.RawMessage(fmt.Sprintf(`{"event":%q,"instanceId":%q,"timestamp":%q,"webhookId":%q,"data":{}}`, event, inst, webhook.FormatTime(at), id)),
			Status:  status, StatusCode: &code, Attempts: 1, CreatedAt: at.UTC(), UpdatedAt: at.UTC(),
		}
	}
	return out
}

func (r *webhookRig) load(logs []*webhook.Log) {
	r.t.Helper()
	if err := storetest.SaveNew(context.Background(), r.logs, logs); err != nil {
		r.t.Fatalf("save %d logs: %v", len(logs), err)
	}
}

type statsView struct {
	Period      string
	Total       int
	Success     int
	Failed      int
	SuccessRate string
	TopEvents   []struct {
		Event string
		Count struct{ Event int } `json:"_count"`
	}
	InstanceID *string
}

func (r *webhookRig) stats(query map[string]string) statsView {
	r.t.Helper()
	r.counting.Count(r.t) // the counting function, seconds behind the logs on AWS
	var s statsView
	r.ok(request{method: "GET", resource: "/api/webhook/stats", query: query}, 200, &s)
	return s
}

// TestCostDoesNotGrowWithTheTable loads 20,000 logs over three instances, 1% failed, and
// counts what DynamoDB reads to answer the API; then clears them all with two clears at once.
func TestCostDoesNotGrowWithTheTable(t *testing.T) {
	r := newWebhookRig(t)
	instances := []string{"inst_a", "inst_b", "inst_c"}
	logs := fixtureLogs(20000, instances, 29)
	start := time.Now()
	r.load(logs)
	t.Logf("loaded %d logs in %s", len(logs), time.Since(start))

	t.Run("failed logs, limit 50", func(t *testing.T) {
		var got []webhook.Log
		items, ops := r.reads.measure(func() {
			r.ok(request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"status": "failed", "limit": "50"}}, 200, &got)
		})
		if len(got) != 50 {
			t.Fatalf("got %d logs", len(got))
		}
		for _, l := range got {
			if l.Status != webhook.StatusFailed {
				t.Fatalf("log %s is %s", l.WebhookID, l.Status)
			}
		}
		assertReads(t, items, ops, listingBound(50, len(webhook.Events)*store.Shards))
	})
	t.Run("first page of one instance", func(t *testing.T) {
		var got []webhook.Log
		items, ops := r.reads.measure(func() {
			r.ok(request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"instanceId": "inst_b"}}, 200, &got)
		})
		if len(got) != 50 {
			t.Fatalf("got %d logs", len(got))
		}
		for i, l := range got {
			if l.InstanceID != "inst_b" || (i > 0 && l.WebhookID >= got[i-1].WebhookID) {
				t.Fatalf("log %d: %s of %s, not newest first for inst_b", i, l.WebhookID, l.InstanceID)
			}
		}
		assertReads(t, items, ops, listingBound(50, len(webhook.Events)*len(webhook.Statuses)))
	})
	t.Run("stats over 30 days", func(t *testing.T) {
		for _, inst := range []string{"inst_a", ""} {
			var s statsView
			items, ops := r.reads.measure(func() {
				q := map[string]string{"days": "30"}
				if inst != "" {
					q["instanceId"] = inst
				}
				s = r.stats(q)
			})
			want := 20000
			if inst != "" {
				want = 20000/3 + 1 // inst_a is every third log from the first
			}
			if s.Total < want-1 || s.Total > want+1 || s.Failed == 0 || s.Success+s.Failed != s.Total {
				t.Fatalf("%q: stats %+v", inst, s)
			}
			// One item per day and event, never per log.
			assertReads(t, items, ops, 31*len(webhook.Events))
		}
	})
	t.Run("two clears at once", func(t *testing.T) {
		start := time.Now()
		// Everything, and at the same time one instance's share of it.
		var wg sync.WaitGroup
		answers := make([]answer, 2)
		bodies := []string{"", `{"instanceId":"inst_a"}`}
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = r.do(request{method: "DELETE", resource: "/api/webhook/logs", body: bodies[i]})
			}()
		}
		wg.Wait()
		t.Logf("two clears answered in %s", time.Since(start))
		accepted, inline := 0, 0
		for _, a := range answers {
			if a.status != 200 && a.status != 202 {
				t.Fatalf("clear answered %d: %s", a.status, a.raw)
			}
			var res struct{ Deleted int }
			if err := json.Unmarshal(a.Data, &res); err != nil {
				t.Fatalf("clear answered %s: %v", a.Data, err)
			}
			if res.Deleted < 0 || res.Deleted > 5000 {
				t.Fatalf("a clear deleted %d logs within the request, want at most 5,000", res.Deleted)
			}
			inline += res.Deleted
			if a.status == 202 {
				accepted++
			}
		}
		if accepted == 0 {
			t.Fatal("20,000 logs were cleared within the request; the background path was not exercised")
		}
		// Each log deleted is counted once, by the one clear that deleted it.
		if n := r.deletes.n.Load(); int(n) != inline {
			t.Fatalf("the clears answered %d deleted, and deleted %d", inline, n)
		}
		r.drain(r.jobs, r.api.HandleJobs(10*time.Second))
		t.Logf("cleared in %s", time.Since(start))
		if n := r.deletes.n.Load(); n != 20000 {
			t.Fatalf("%d logs deleted, want the 20,000", n)
		}
		var left []webhook.Log
		r.ok(request{method: "GET", resource: "/api/webhook/logs"}, 200, &left)
		if len(left) != 0 {
			t.Fatalf("%d logs left", len(left))
		}
		for _, inst := range append(instances, "") {
			q := map[string]string{"days": "90"}
			if inst != "" {
				q["instanceId"] = inst
			}
			if s := r.stats(q); s.Total != 0 || s.Success != 0 || s.Failed != 0 {
				t.Fatalf("%q: stats after clearing everything: %+v", inst, s)
			}
		}
	})
}

// listingBound is the most a listing of limit logs may read when its filter spans partitions
// index partitions: the limit's keys, each partition's first page (limit/partitions+1 keys),
// as many keys again for pages that double as the merge takes from them, and the logs.
func listingBound(limit, partitions int) int {
	return partitions*(limit/partitions+1) + 2*limit + limit
}

func assertReads(t *testing.T, items int, ops map[string]int, bound int) {
	t.Helper()
	if ops["Scan"] > 0 {
		t.Fatalf("a request path scanned the table: %v", ops)
	}
	if items > bound {
		t.Fatalf("read %d items (%v), bound %d", items, ops, bound)
	}
	t.Logf("read %d items in %v", items, ops)
}

// receiverOf returns a local endpoint answering with code, counting requests.
func receiverOf(t *testing.T, code *int) (*httptest.Server, *[]http.Header) {
	var mu sync.Mutex
	var got []http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		mu.Lock()
		h := req.Header.Clone()
		h.Set("X-Test-Body", string(body))
		got = append(got, h)
		c := *code
		mu.Unlock()
		w.WriteHeader(c)
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func TestWebhookTestRoute(t *testing.T) {
	r := newWebhookRig(t)
	code := 200
	srv, got := receiverOf(t, &code)
	inst := r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL))
	var secret struct{ WebhookSecret string }
	r.ok(request{method: "GET", resource: "/api/instance/{instanceId}/webhook-secret", id: inst.ID}, 200, &secret)

	type result struct {
		WebhookID  string
		URL        string
		Delivered  bool
		StatusCode *int
		DurationMs int64
		Response   json.RawMessage
		Error      *string
	}
	ownSecret := webhook.NewSecret()
	tests := []struct {
		name      string
		body      string
		code      int
		delivered bool
		verifyKey string
		inError   string
	}{
		{"by url, unsigned", fmt.Sprintf(`{"url":%q}`, srv.URL), 200, true, "", ""},
		{"by url, signed with a given secret", fmt.Sprintf(`{"url":%q,"secret":%q}`, srv.URL, ownSecret), 200, true, ownSecret, ""},
		{"by instance, signed with its secret", fmt.Sprintf(`{"instanceId":%q}`, inst.ID), 200, true, secret.WebhookSecret, ""},
		{"endpoint fails", fmt.Sprintf(`{"url":%q}`, srv.URL), 503, false, "", "HTTP 503"},
		{"metadata address refused", `{"url":"http://169.254.169.254/latest/meta-data/"}`, 200, false, "", "destination refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code = tt.code
			before := len(*got)
			var res result
			r.ok(request{method: "POST", resource: "/api/webhook/test", body: tt.body}, 200, &res)
			if res.Delivered != tt.delivered || (tt.inError != "" && (res.Error == nil || !strings.Contains(*res.Error, tt.inError))) {
				t.Fatalf("result %+v", res)
			}
			var l webhook.Log
			r.ok(request{method: "GET", resource: "/api/webhook/logs/{webhookId}", id: res.WebhookID}, 200, &l)
			wantStatus := webhook.StatusFailed
			if tt.delivered {
				wantStatus = webhook.StatusSuccess
			}
			if l.Event != webhook.EventWebhookTest || l.Status != wantStatus || l.Attempts != 1 {
				t.Fatalf("log %+v", l)
			}
			if tt.inError == "destination refused" {
				return
			}
			h := (*got)[before]
			if h.Get("webhook-id") != res.WebhookID || h.Get("X-Webhook-Event") != webhook.EventWebhookTest {
				t.Fatalf("headers %v", h)
			}
			if tt.verifyKey != "" {
				body := []byte(h.Get("X-Test-Body"))
				if err := webhook.Verify(tt.verifyKey, body, h); err != nil {
					t.Fatalf("signature: %v", err)
				}
			} else if h.Get("webhook-signature") != "" {
				t.Fatalf("unexpected signature %q", h.Get("webhook-signature"))
			}
		})
	}
}

func TestLogListingPagesAndFilters(t *testing.T) {
	r := newWebhookRig(t)
	logs := fixtureLogs(230, []string{"inst_x", "inst_y"}, 3)
	r.load(logs)
	tests := []struct {
		name  string
		query map[string]string
		want  func(*webhook.Log) bool
	}{
		{"all", nil, func(*webhook.Log) bool { return true }},
		{"instance", map[string]string{"instanceId": "inst_x"}, func(l *webhook.Log) bool { return l.InstanceID == "inst_x" }},
		{"status", map[string]string{"status": "failed"}, func(l *webhook.Log) bool { return l.Status == webhook.StatusFailed }},
		{"event", map[string]string{"event": "session.status"}, func(l *webhook.Log) bool { return l.Event == webhook.EventSessionStatus }},
		{"instance and event", map[string]string{"instanceId": "inst_y", "event": "message.received"}, func(l *webhook.Log) bool {
			return l.InstanceID == "inst_y" && l.Event == webhook.EventMessageReceived
		}},
		{"all three", map[string]string{"instanceId": "inst_x", "status": "success", "event": "message.sent"}, func(l *webhook.Log) bool {
			return l.InstanceID == "inst_x" && l.Status == webhook.StatusSuccess && l.Event == webhook.EventMessageSent
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := map[string]bool{}
			for _, l := range logs {
				if tt.want(l) {
					want[l.WebhookID] = true
				}
			}
			seen := map[string]bool{}
			last := "wh_~"
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 50 {
					t.Fatal("too many pages")
				}
				q := map[string]string{"limit": "17"}
				for k, v := range tt.query {
					q[k] = v
				}
				if cursor != "" {
					q["cursor"] = cursor
				}
				var page []webhook.Log
				a := r.ok(request{method: "GET", resource: "/api/webhook/logs", query: q}, 200, &page)
				if a.Pagination == nil || a.Pagination.Limit != 17 || len(page) > 17 {
					t.Fatalf("pagination %+v with %d logs", a.Pagination, len(page))
				}
				for _, l := range page {
					if !want[l.WebhookID] || seen[l.WebhookID] || l.WebhookID >= last {
						t.Fatalf("log %s: wanted %v, seen %v, order ok %v", l.WebhookID, want[l.WebhookID], seen[l.WebhookID], l.WebhookID < last)
					}
					seen[l.WebhookID], last = true, l.WebhookID
				}
				if a.Pagination.NextCursor == nil {
					break
				}
				cursor = *a.Pagination.NextCursor
			}
			if len(seen) != len(want) {
				t.Fatalf("listed %d of %d", len(seen), len(want))
			}
		})
	}
	t.Run("cursor of another query", func(t *testing.T) {
		var page []webhook.Log
		a := r.ok(request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"instanceId": "inst_x", "limit": "5"}}, 200, &page)
		for _, q := range []map[string]string{
			{"instanceId": "inst_y", "cursor": *a.Pagination.NextCursor},
			{"cursor": *a.Pagination.NextCursor},
			{"instanceId": "inst_x", "cursor": *a.Pagination.NextCursor + "x"},
		} {
			if b := r.do(request{method: "GET", resource: "/api/webhook/logs", query: q}); b.status != 400 || !strings.HasPrefix(b.Error.Message, "cursor: ") {
				t.Fatalf("%v: %d %s", q, b.status, b.raw)
			}
		}
	})
}

func TestStatsExactThroughRetriesAndClears(t *testing.T) {
	r := newWebhookRig(t)
	code := 200
	srv, got := receiverOf(t, &code)
	inst := r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL))
	other := r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL))
	logs := fixtureLogs(300, []string{inst.ID}, 2) // 3 failed
	r.load(logs)
	r.load(fixtureLogs(100, []string{other.ID}, 2)) // 1 failed
	q := map[string]string{"instanceId": inst.ID}
	if s := r.stats(q); s.Total != 300 || s.Failed != 3 || s.Success != 297 || s.SuccessRate != "99.00" {
		t.Fatalf("before: %+v", s)
	}

	// A manual retry that succeeds moves a webhook from failed to success.
	failed := logs[0]
	var l webhook.Log
	r.ok(request{method: "POST", resource: "/api/webhook/retry/{webhookId}", id: failed.WebhookID}, 200, &l)
	if l.Status != webhook.StatusSuccess || l.Attempts != 2 || l.WebhookID != failed.WebhookID {
		t.Fatalf("retried log %+v", l)
	}
	if h := (*got)[len(*got)-1]; h.Get("webhook-id") != failed.WebhookID || h.Get("X-Webhook-Attempt") != "2" {
		t.Fatalf("retry headers %v", h)
	}
	if s := r.stats(q); s.Total != 300 || s.Failed != 2 || s.Success != 298 {
		t.Fatalf("after retry: %+v", s)
	}
	// Already delivered: 409 unless forced; forcing keeps it a success.
	if a := r.do(request{method: "POST", resource: "/api/webhook/retry/{webhookId}", id: failed.WebhookID}); a.status != 409 {
		t.Fatalf("retry of a success: %d %s", a.status, a.raw)
	}
	r.ok(request{method: "POST", resource: "/api/webhook/retry/{webhookId}", id: failed.WebhookID, query: map[string]string{"force": "true"}}, 200, &l)
	if l.Attempts != 3 || l.Status != webhook.StatusSuccess {
		t.Fatalf("forced retry %+v", l)
	}

	// Recover sends the other failed webhooks of the instance again, through the queue.
	var rec struct {
		Queued   int
		Complete bool
	}
	since := webhook.FormatTime(time.Now().Add(-72 * time.Hour))
	r.ok(request{method: "POST", resource: "/api/webhook/retry", body: fmt.Sprintf(`{"instanceId":%q,"since":%q}`, inst.ID, since)}, 202, &rec)
	if rec.Queued != 2 || !rec.Complete {
		t.Fatalf("recover %+v", rec)
	}
	if s := r.stats(q); s.Total != 300 || s.Failed != 0 || s.Success != 298 {
		t.Fatalf("while recovering (2 retrying): %+v", s)
	}
	r.drain(r.events, r.delivery.Handle)
	if s := r.stats(q); s.Total != 300 || s.Failed != 0 || s.Success != 300 || s.SuccessRate != "100.00" {
		t.Fatalf("after recover: %+v", s)
	}
	if s := r.stats(map[string]string{"instanceId": other.ID}); s.Failed != 1 {
		t.Fatalf("recover touched another instance: %+v", s)
	}

	// A clear of one instance takes its counts with it, and only its own.
	var cleared struct {
		Deleted  int
		Complete bool
	}
	r.ok(request{method: "DELETE", resource: "/api/webhook/logs", body: fmt.Sprintf(`{"instanceId":%q}`, inst.ID)}, 200, &cleared)
	if cleared.Deleted != 300 || !cleared.Complete {
		t.Fatalf("clear %+v", cleared)
	}
	if s := r.stats(q); s.Total != 0 {
		t.Fatalf("after clear: %+v", s)
	}
	if s := r.stats(nil); s.Total != 100 || s.Failed != 1 || s.InstanceID != nil {
		t.Fatalf("all instances after clear: %+v", s)
	}
}

// A request does at most InlineItems of a recover or a clear and leaves the rest to the
// jobs function; its answer counts exactly what it did.
func TestInlineItemsBoundARequest(t *testing.T) {
	r := newWebhookRig(t, func(d *manage.WebhookDeps) { d.InlineItems = 2 })
	code := 200
	srv, _ := receiverOf(t, &code)
	inst := r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL))
	r.load(fixtureLogs(300, []string{inst.ID}, 2)) // 3 failed
	q := map[string]string{"instanceId": inst.ID}

	var rec struct {
		Queued   int
		Complete bool
	}
	since := webhook.FormatTime(time.Now().Add(-72 * time.Hour))
	r.ok(request{method: "POST", resource: "/api/webhook/retry", body: fmt.Sprintf(`{"instanceId":%q,"since":%q}`, inst.ID, since)}, 202, &rec)
	if rec.Queued != 2 || rec.Complete {
		t.Fatalf("recover %+v, want 2 queued and the rest left to the jobs function", rec)
	}
	r.drain(r.jobs, r.api.HandleJobs(10*time.Second))
	r.drain(r.events, r.delivery.Handle)
	if s := r.stats(q); s.Total != 300 || s.Failed != 0 || s.Success != 300 {
		t.Fatalf("after recover: %+v", s)
	}

	var cleared struct {
		Deleted  int
		Complete bool
	}
	r.ok(request{method: "DELETE", resource: "/api/webhook/logs"}, 202, &cleared)
	if cleared.Deleted != 2 || cleared.Complete || r.deletes.n.Load() != 2 {
		t.Fatalf("clear %+v, %d deleted: want 2 deleted and the rest left to the jobs function", cleared, r.deletes.n.Load())
	}
	r.drain(r.jobs, r.api.HandleJobs(10*time.Second))
	if n := r.deletes.n.Load(); n != 300 {
		t.Fatalf("%d logs deleted, want the 300", n)
	}
	if s := r.stats(q); s.Total != 0 || s.Success != 0 || s.Failed != 0 {
		t.Fatalf("after clear: %+v", s)
	}
}

// A recover window may lie anywhere in the past, even before any webhook id could be made:
// the window is then empty, not an error. Its times are RFC 3339 in any spelling it allows.
func TestRecoverOldWindows(t *testing.T) {
	r := newWebhookRig(t)
	tests := []struct{ name, since, until string }{
		{"before 1970", "0214-09-14T07:43:22.998692+01:21", "0214-09-15T00:00:00Z"},
		{"across 1970", "1969-12-31T23:00:00Z", "1970-01-01T01:00:00Z"},
		{"year 1", "0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z"},
		{"written in lower case, as RFC 3339 allows", "1999-12-31t23:00:00z", "2000-01-01t01:00:00.5z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var res struct {
				Queued   int
				Complete bool
			}
			r.ok(request{method: "POST", resource: "/api/webhook/retry", body: fmt.Sprintf(`{"since":%q,"until":%q}`, tt.since, tt.until)}, 202, &res)
			if res.Queued != 0 || !res.Complete {
				t.Fatalf("recover %+v", res)
			}
		})
	}
}

// The filters of a clear may come in the body, the query or both; a log is deleted only when
// it matches every one given.
func TestClearFiltersInBodyAndQuery(t *testing.T) {
	r := newWebhookRig(t)
	aged := func(inst string, days int) []*webhook.Log {
		logs := fixtureLogs(2, []string{inst}, 1)
		for _, l := range logs {
			at := l.CreatedAt.Add(-time.Duration(days) * 24 * time.Hour)
			l.WebhookID, l.CreatedAt = webhook.NewWebhookID(at), at
		}
		return logs
	}
	tests := []struct {
		name    string
		body    string
		query   map[string]string
		deleted int
	}{
		{"instance in the body", `{"instanceId":"inst_a"}`, nil, 4},
		{"instance in the query", "", map[string]string{"instanceId": "inst_a"}, 4},
		{"the same instance in both", `{"instanceId":"inst_a"}`, map[string]string{"instanceId": "inst_a"}, 4},
		{"two instances", `{"instanceId":"inst_a"}`, map[string]string{"instanceId": "inst_b"}, 0},
		{"days in both: the older", `{"days":3}`, map[string]string{"days": "7"}, 4},
		{"days in both, the other way", `{"days":7}`, map[string]string{"days": "3"}, 4},
		{"days a whole number written with a fraction", `{"days":7.0}`, nil, 4},
		{"days in one, instance in the other", `{"days":7}`, map[string]string{"instanceId": "inst_b"}, 2},
		{"everything in both", `{"days":3,"instanceId":"inst_b"}`, map[string]string{"days": "7", "instanceId": "inst_b"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, inst := range []string{"inst_a", "inst_b"} {
				r.load(aged(inst, 5))
				r.load(aged(inst, 10))
			}
			var cleared struct {
				Deleted  int
				Complete bool
			}
			r.ok(request{method: "DELETE", resource: "/api/webhook/logs", body: tt.body, query: tt.query}, 200, &cleared)
			if cleared.Deleted != tt.deleted || !cleared.Complete {
				t.Fatalf("cleared %+v, want %d deleted", cleared, tt.deleted)
			}
			r.ok(request{method: "DELETE", resource: "/api/webhook/logs"}, 200, &cleared)
			if cleared.Deleted != 8-tt.deleted {
				t.Fatalf("%d logs were left, want %d", cleared.Deleted, 8-tt.deleted)
			}
		})
	}
}

func TestClearByAge(t *testing.T) {
	r := newWebhookRig(t)
	old := fixtureLogs(40, []string{"inst_o"}, 1)
	for _, l := range old { // move them 10 days back
		at := l.CreatedAt.Add(-10 * 24 * time.Hour)
		l.WebhookID, l.CreatedAt = webhook.NewWebhookID(at), at
	}
	r.load(old)
	r.load(fixtureLogs(25, []string{"inst_o"}, 1))
	var cleared struct{ Deleted int }
	r.ok(request{method: "DELETE", resource: "/api/webhook/logs", query: map[string]string{"days": "7"}}, 200, &cleared)
	if cleared.Deleted != 40 {
		t.Fatalf("deleted %d, want the 40 older than 7 days", cleared.Deleted)
	}
	if s := r.stats(map[string]string{"days": "30"}); s.Total != 25 {
		t.Fatalf("stats %+v", s)
	}
}

func TestStatsShape(t *testing.T) {
	r := newWebhookRig(t)
	logs := fixtureLogs(150, []string{"xxx"}, 1)
	r.load(logs)
	a := r.do(request{method: "GET", resource: "/api/webhook/stats", query: map[string]string{"instanceId": "xxx", "days": "7"}})
	var raw map[string]any
	if err := json.Unmarshal(a.Data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"period", "total", "success", "failed", "successRate", "topEvents", "instanceId"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("missing %s in %s", k, a.Data)
		}
	}
	if len(raw) != 7 || raw["period"] != "7 days" || raw["instanceId"] != "xxx" {
		t.Fatalf("shape %s", a.Data)
	}
	s := r.stats(map[string]string{"instanceId": "xxx"})
	sum := 0
	for i, e := range s.TopEvents {
		sum += e.Count.Event
		if i > 0 && e.Count.Event > s.TopEvents[i-1].Count.Event {
			t.Fatalf("topEvents not most first: %+v", s.TopEvents)
		}
	}
	if sum != 150 || s.SuccessRate != fmt.Sprintf("%.2f", float64(s.Success)*100/150) {
		t.Fatalf("stats %+v", s)
	}
}

func TestWebhookRoutesBadInput(t *testing.T) {
	r := newWebhookRig(t)
	r.create(`{"instanceId":"inst_off"}`)
	big := `{"url":"https://example.com/` + strings.Repeat("a", 300*1024) + `"}`
	tests := []struct {
		name    string
		req     request
		status  int
		inField string
	}{
		{"test: no body", request{method: "POST", resource: "/api/webhook/test"}, 400, "body"},
		{"test: malformed", request{method: "POST", resource: "/api/webhook/test", body: `{"url":`}, 400, "body"},
		{"test: both", request{method: "POST", resource: "/api/webhook/test", body: `{"url":"https://a.example","instanceId":"i"}`}, 400, "body"},
		{"test: url type", request{method: "POST", resource: "/api/webhook/test", body: `{"url":5}`}, 400, "url"},
		{"test: bad url", request{method: "POST", resource: "/api/webhook/test", body: `{"url":"ftp://x"}`}, 400, "url"},
		{"test: bad secret", request{method: "POST", resource: "/api/webhook/test", body: `{"url":"https://a.example","secret":"nope"}`}, 400, "secret"},
		{"test: unknown field", request{method: "POST", resource: "/api/webhook/test", body: `{"url":"https://a.example","x":1}`}, 400, "x"},
		{"test: bad instance id", request{method: "POST", resource: "/api/webhook/test", body: `{"instanceId":"a b"}`}, 400, "instanceId"},
		{"test: unknown instance", request{method: "POST", resource: "/api/webhook/test", body: `{"instanceId":"inst_none"}`}, 404, ""},
		{"test: instance with webhooks off", request{method: "POST", resource: "/api/webhook/test", body: `{"instanceId":"inst_off"}`}, 409, "instanceId"},
		{"test: too large", request{method: "POST", resource: "/api/webhook/test", body: big}, 413, "body"},
		{"test: url null", request{method: "POST", resource: "/api/webhook/test", body: `{"url":null,"instanceId":"xxx"}`}, 400, "url"},
		{"test: instance null", request{method: "POST", resource: "/api/webhook/test", body: `{"instanceId":null,"url":"https://a.example"}`}, 400, "instanceId"},
		{"test: secret null", request{method: "POST", resource: "/api/webhook/test", body: `{"url":"https://a.example","secret":null}`}, 400, "secret"},
		{"test: null body", request{method: "POST", resource: "/api/webhook/test", body: `null`}, 400, "body"},
		{"logs: bad status", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"status": "pending"}}, 400, "status"},
		{"logs: bad event", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"event": "x"}}, 400, "event"},
		{"logs: bad instance", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"instanceId": "../x"}}, 400, "instanceId"},
		{"logs: limit 0", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"limit": "0"}}, 400, "limit"},
		{"logs: limit 101", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"limit": "101"}}, 400, "limit"},
		{"logs: limit text", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"limit": "ten"}}, 400, "limit"},
		{"logs: empty instance", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"instanceId": ""}}, 400, "instanceId"},
		{"logs: empty status", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"status": ""}}, 400, "status"},
		{"logs: empty limit", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"limit": ""}}, 400, "limit"},
		{"logs: empty cursor", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"cursor": ""}}, 400, "cursor"},
		{"logs: bad cursor", request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"cursor": "abc"}}, 400, "cursor"},
		{"retry: bad force", request{method: "POST", resource: "/api/webhook/retry/{webhookId}", id: webhook.NewWebhookID(time.Now()), query: map[string]string{"force": "maybe"}}, 400, "force"},
		{"retry: bad force, id not a webhook id", request{method: "POST", resource: "/api/webhook/retry/{webhookId}", id: "wh_does_not_exist", query: map[string]string{"force": "maybe"}}, 400, "force"},
		{"recover: no since", request{method: "POST", resource: "/api/webhook/retry", body: `{}`}, 400, "since"},
		{"recover: since not a time", request{method: "POST", resource: "/api/webhook/retry", body: `{"since":"yesterday"}`}, 400, "since"},
		{"recover: since a number", request{method: "POST", resource: "/api/webhook/retry", body: `{"since":5}`}, 400, "since"},
		{"recover: until not a time", request{method: "POST", resource: "/api/webhook/retry", body: `{"since":"2026-01-01T00:00:00Z","until":"soon"}`}, 400, "until"},
		{"recover: in the future", request{method: "POST", resource: "/api/webhook/retry", body: fmt.Sprintf(`{"since":%q,"until":%q}`, webhook.FormatTime(time.Now().Add(time.Hour)), webhook.FormatTime(time.Now().Add(2*time.Hour)))}, 400, "since"},
		{"recover: window too long", request{method: "POST", resource: "/api/webhook/retry", body: `{"since":"2020-01-01T00:00:00Z"}`}, 400, "since"},
		{"recover: since after until", request{method: "POST", resource: "/api/webhook/retry", body: `{"since":"2026-01-02T00:00:00Z","until":"2026-01-01T00:00:00Z"}`}, 400, "since"},
		{"recover: bad instance", request{method: "POST", resource: "/api/webhook/retry", body: fmt.Sprintf(`{"since":%q,"instanceId":"no way"}`, webhook.FormatTime(time.Now().Add(-time.Hour)))}, 400, "instanceId"},
		{"retry: empty force", request{method: "POST", resource: "/api/webhook/retry/{webhookId}", id: webhook.NewWebhookID(time.Now()), query: map[string]string{"force": ""}}, 400, "force"},
		{"recover: since null", request{method: "POST", resource: "/api/webhook/retry", body: `{"since":null}`}, 400, "since"},
		{"recover: until null", request{method: "POST", resource: "/api/webhook/retry", body: `{"since":"2026-01-01T00:00:00Z","until":null}`}, 400, "until"},
		{"recover: instance null", request{method: "POST", resource: "/api/webhook/retry", body: fmt.Sprintf(`{"since":%q,"instanceId":null}`, webhook.FormatTime(time.Now().Add(-time.Hour)))}, 400, "instanceId"},
		{"stats: empty instance", request{method: "GET", resource: "/api/webhook/stats", query: map[string]string{"instanceId": ""}}, 400, "instanceId"},
		{"stats: empty days", request{method: "GET", resource: "/api/webhook/stats", query: map[string]string{"days": ""}}, 400, "days"},
		{"stats: days 0", request{method: "GET", resource: "/api/webhook/stats", query: map[string]string{"days": "0"}}, 400, "days"},
		{"stats: days 91", request{method: "GET", resource: "/api/webhook/stats", query: map[string]string{"days": "91"}}, 400, "days"},
		{"stats: bad instance", request{method: "GET", resource: "/api/webhook/stats", query: map[string]string{"instanceId": "a/b"}}, 400, "instanceId"},
		{"daily stats: days 0", request{method: "GET", resource: "/api/webhook/stats/daily", query: map[string]string{"days": "0"}}, 400, "days"},
		{"daily stats: days 91", request{method: "GET", resource: "/api/webhook/stats/daily", query: map[string]string{"days": "91"}}, 400, "days"},
		{"daily stats: days text", request{method: "GET", resource: "/api/webhook/stats/daily", query: map[string]string{"days": "week"}}, 400, "days"},
		{"daily stats: empty days", request{method: "GET", resource: "/api/webhook/stats/daily", query: map[string]string{"days": ""}}, 400, "days"},
		{"daily stats: bad instance", request{method: "GET", resource: "/api/webhook/stats/daily", query: map[string]string{"instanceId": "a/b"}}, 400, "instanceId"},
		{"clear: days type", request{method: "DELETE", resource: "/api/webhook/logs", body: `{"days":"7"}`}, 400, "days"},
		{"clear: days 0", request{method: "DELETE", resource: "/api/webhook/logs", body: `{"days":0}`}, 400, "days"},
		{"clear: days in query out of range", request{method: "DELETE", resource: "/api/webhook/logs", query: map[string]string{"days": "-1"}}, 400, "days"},
		{"clear: days with a fraction", request{method: "DELETE", resource: "/api/webhook/logs", body: `{"days":7.5}`}, 400, "days"},
		{"clear: days in body out of range, again in query", request{method: "DELETE", resource: "/api/webhook/logs", body: `{"days":0}`, query: map[string]string{"days": "3"}}, 400, "days"},
		{"clear: instance in query bad, in body good", request{method: "DELETE", resource: "/api/webhook/logs", body: `{"instanceId":"inst_a"}`, query: map[string]string{"instanceId": "a b"}}, 400, "instanceId"},
		{"clear: bad instance", request{method: "DELETE", resource: "/api/webhook/logs", body: `{"instanceId":""}`}, 400, "instanceId"},
		{"clear: instance null", request{method: "DELETE", resource: "/api/webhook/logs", body: `{"instanceId":null}`}, 400, "instanceId"},
		{"clear: days null", request{method: "DELETE", resource: "/api/webhook/logs", body: `{"days":null}`}, 400, "days"},
		{"clear: empty instance in query", request{method: "DELETE", resource: "/api/webhook/logs", query: map[string]string{"instanceId": ""}}, 400, "instanceId"},
		{"clear: empty days in query", request{method: "DELETE", resource: "/api/webhook/logs", query: map[string]string{"days": ""}}, 400, "days"},
		{"clear: unknown field", request{method: "DELETE", resource: "/api/webhook/logs", body: `{"olderThan":3}`}, 400, "olderThan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := r.do(tt.req)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.raw)
			}
			if tt.inField != "" && !strings.HasPrefix(a.Error.Message, tt.inField+":") {
				t.Fatalf("message %q does not name %s", a.Error.Message, tt.inField)
			}
		})
	}
}

// TestUnknownWebhookIDsAreNotFound: an id that names no webhook log is a 404 whatever its
// shape, as for ids Stripe or GitHub never issued: no 400, and nothing asked of the store that
// it could fail on.
func TestUnknownWebhookIDsAreNotFound(t *testing.T) {
	r := newWebhookRig(t)
	ids := []struct{ name, id string }{
		{"wh_does_not_exist", "wh_does_not_exist"},
		{"issued shape, never issued", webhook.NewWebhookID(time.Now())},
		{"lowercase ULID", strings.ToLower(webhook.NewWebhookID(time.Now()))},
		{"ULID past its 128 bits", "wh_8ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
		{"garbage", "123"},
		{"punctuation", `wh_'"<>;--`},
		{"very long", "wh_" + strings.Repeat("A", 4096)},
		{"non-ASCII", "wh_01HK153X00YFZMTH8Y8AF1G8Gé"},
		{"control characters", "wh_\x00\n\t"},
		{"invalid UTF-8", "wh_\xff\xfe"},
	}
	routes := []struct{ method, resource string }{
		{"GET", "/api/webhook/logs/{webhookId}"},
		{"POST", "/api/webhook/retry/{webhookId}"},
	}
	for _, route := range routes {
		for _, tt := range ids {
			t.Run(route.method+" "+tt.name, func(t *testing.T) {
				a := r.do(request{method: route.method, resource: route.resource, id: tt.id})
				if a.status != 404 || a.Error.Code != "not_found" {
					t.Fatalf("status %d, want 404 not_found: %s", a.status, a.raw)
				}
			})
		}
	}
}

func TestLogPageStaysUnderFiveMegabytes(t *testing.T) {
	r := newWebhookRig(t)
	logs := fixtureLogs(120, []string{"inst_big"}, 1)
	big := strings.Repeat("x", 100*1024)
	for _, l := range logs {
		l.Payload = json.RawMessage(fmt.Sprintf(`{"event":%q,"webhookId":%q,"data":{"body":%q}}`, l.Event, l.WebhookID, big))
	}
	r.load(logs)
	seen, cursor := 0, ""
	for pages := 0; pages < 10; pages++ {
		q := map[string]string{"limit": "100"}
		if cursor != "" {
			q["cursor"] = cursor
		}
		a := r.do(request{method: "GET", resource: "/api/webhook/logs", query: q})
		var page []webhook.Log
		if err := json.Unmarshal(a.Data, &page); err != nil || a.status != 200 {
			t.Fatalf("%d %v", a.status, err)
		}
		if len(a.raw) > manage.MaxPageBytes+64*1024 {
			t.Fatalf("page of %d bytes", len(a.raw))
		}
		seen += len(page)
		if a.Pagination.NextCursor == nil {
			break
		}
		if len(page) == 100 {
			t.Fatal("a full page of 100 large logs: the size bound did not end it")
		}
		cursor = *a.Pagination.NextCursor
	}
	if seen != 120 {
		t.Fatalf("listed %d of 120", seen)
	}
}
