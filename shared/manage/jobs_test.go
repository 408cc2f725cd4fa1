package manage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/webhook"
)

// jobAnswer is a clear's or a recover's answer: its count and its job.
type jobAnswer struct {
	Deleted, Queued int
	Complete        bool
	JobID           *string
}

// job reads a job's progress through the API.
func (r *webhookRig) job(id string) manage.JobView {
	r.t.Helper()
	var v manage.JobView
	r.ok(request{method: "GET", resource: "/api/webhook/jobs/{jobId}", id: id}, 200, &v)
	return v
}

// failedLogs returns n failed logs of an instance over the last two days.
func failedLogs(n int, instanceID string) []*webhook.Log {
	logs := fixtureLogs(n, []string{instanceID}, 2)
	for _, l := range logs {
		code := 500
		l.Status, l.StatusCode = webhook.StatusFailed, &code
	}
	return logs
}

// A recover and a clear too large for one request answer a job, which the jobs function,
// working in many short runs, brings to complete with the count of everything done, the
// request's share included.
func TestBackgroundJobsReachComplete(t *testing.T) {
	r := newWebhookRig(t, func(d *manage.WebhookDeps) { d.InlineItems = 100 })
	code := 200
	srv, _ := receiverOf(t, &code)
	since := webhook.FormatTime(time.Now().Add(-72 * time.Hour))
	tests := []struct {
		kind, method, resource string
		logs                   int
		body                   func(instanceID string) string
	}{
		{manage.JobRecover, "POST", "/api/webhook/retry", 350, func(id string) string {
			return fmt.Sprintf(`{"instanceId":%q,"since":%q}`, id, since)
		}},
		{manage.JobClear, "DELETE", "/api/webhook/logs", 400, func(id string) string { return fmt.Sprintf(`{"instanceId":%q}`, id) }},
	}
	// Loaded first: the rig fails its own test, not a subtest.
	instances := make([]string, len(tests))
	for i, tt := range tests {
		instances[i] = r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL)).ID
		r.load(failedLogs(tt.logs, instances[i]))
	}
	for i, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			inst := view{ID: instances[i]}
			start := time.Now().UTC().Truncate(time.Millisecond)
			var a jobAnswer
			r.ok(request{method: tt.method, resource: tt.resource, body: tt.body(inst.ID)}, 202, &a)
			if a.Complete || a.JobID == nil || a.Deleted+a.Queued != 100 {
				t.Fatalf("answer %+v: want 100 done, the rest left to a job", a)
			}
			v := r.job(*a.JobID)
			created, err := time.Parse(time.RFC3339Nano, v.CreatedAt)
			if err != nil || created.Before(start) || v.JobID != *a.JobID || v.Kind != tt.kind || v.InstanceID == nil || *v.InstanceID != inst.ID ||
				v.Status != webhook.JobRunning || v.Count != 100 || v.UpdatedAt < v.CreatedAt {
				t.Fatalf("job after the request: %+v", v)
			}
			// 1 ms a run: each takes one step (a page) and queues the rest, so the job takes
			// several runs.
			runs := 0
			handle := r.api.HandleJobs(time.Millisecond)
			r.drain(r.jobs, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				runs++
				return handle(ctx, ev)
			})
			v = r.job(*a.JobID)
			if v.Status != webhook.JobComplete || v.CreatedAt != webhook.FormatTime(created) {
				t.Fatalf("job after %d runs: %+v, want complete", runs, v)
			}
			if runs < 2 {
				t.Fatalf("the job took %d runs; the test wants several", runs)
			}
			// The count is what was done, and every log was dealt with.
			s := r.stats(map[string]string{"instanceId": inst.ID})
			switch tt.kind {
			case manage.JobRecover:
				if queued := r.depthOf(r.events.QueueURL); v.Count != queued || queued != tt.logs || s.Total != tt.logs || s.Failed != 0 {
					t.Fatalf("after the recover: count %d, %d queued, stats %+v; want all %d queued and counted, none left failed", v.Count, queued, s, tt.logs)
				}
			case manage.JobClear:
				if deleted := int(r.deletes.n.Load()); v.Count != deleted || deleted != tt.logs || s.Total != 0 {
					t.Fatalf("after the clear: count %d, %d deleted, stats %+v; want all %d deleted and counted", v.Count, deleted, s, tt.logs)
				}
			}
		})
	}
	t.Run("done within the request", func(t *testing.T) {
		var a jobAnswer
		r.ok(request{method: "DELETE", resource: "/api/webhook/logs", body: `{"instanceId":"inst_none"}`}, 200, &a)
		if !a.Complete || a.JobID != nil {
			t.Fatalf("answer %+v, want complete with jobId null", a)
		}
		var raw map[string]any
		r.ok(request{method: "POST", resource: "/api/webhook/retry", body: fmt.Sprintf(`{"instanceId":"inst_none","since":%q}`, since)}, 202, &raw)
		if v, ok := raw["jobId"]; !ok || v != nil || raw["complete"] != true {
			t.Fatalf("recover answer %v, want complete with jobId null", raw)
		}
	})
}

// A job message handled twice by SQS (its first handling's delete was lost, so it comes back
// with its receive count up) counts what each handling did, once: the job's count is the
// number of webhooks queued again, no more and no less, and none is queued twice. The same
// handling recorded twice counts once.
func TestJobRunHandledTwiceCountsOnce(t *testing.T) {
	r := newWebhookRig(t, func(d *manage.WebhookDeps) { d.InlineItems = 100 })
	code := 200
	srv, _ := receiverOf(t, &code)
	inst := r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL))
	r.load(failedLogs(350, inst.ID))
	var a jobAnswer
	since := webhook.FormatTime(time.Now().Add(-72 * time.Hour))
	r.ok(request{method: "POST", resource: "/api/webhook/retry", body: fmt.Sprintf(`{"instanceId":%q,"since":%q}`, inst.ID, since)}, 202, &a)
	if a.JobID == nil || a.Queued != 100 {
		t.Fatalf("answer %+v", a)
	}

	sq := sqs.NewFromConfig(awstest.Config(t))
	// 1 ms a run: each handling queues one page of 100 and queues the rest of the job, so the
	// second handling of the first message finds work left, as a copy SQS hands out again may.
	handle := r.api.HandleJobs(time.Millisecond)
	var first events.SQSEvent
	handlings := 0
	r.drain(r.jobs, func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		handlings++
		resp, err := handle(ctx, ev)
		if first.Records != nil {
			return resp, err
		}
		// The first handling did its work, recorded it and queued the rest; then its delete
		// is lost: the message comes back.
		first = ev
		for _, rec := range ev.Records {
			if _, err := sq.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
				QueueUrl: &r.jobs.QueueURL, ReceiptHandle: &rec.ReceiptHandle, VisibilityTimeout: 0,
			}); err != nil {
				t.Fatal(err)
			}
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
		return resp, err
	})
	v := r.job(*a.JobID)
	s := r.stats(map[string]string{"instanceId": inst.ID})
	if queued := r.depthOf(r.events.QueueURL); v.Status != webhook.JobComplete || v.Count != queued || queued < 300 || s.Failed != 0 {
		t.Fatalf("job %+v after %d handlings, %d webhooks queued, stats %+v: want complete, counting exactly those queued, none left failed",
			v, handlings, queued, s)
	}
	// The first handling once more, as it was: recorded already, and nothing left to do.
	if _, err := handle(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	if again := r.job(*a.JobID); again.Count != 350 || again.Status != webhook.JobComplete {
		t.Fatalf("after the same handling again: %+v", again)
	}
}

// failingSave fails one save, after the first ok ones, as a write DynamoDB throttles past
// every retry does.
type failingSave struct {
	manage.LogStore
	ok atomic.Int64
}

func (f *failingSave) Save(ctx context.Context, prev, next *webhook.Log) error {
	if f.ok.Add(-1) == -1 {
		return errors.New("save log: throttled past every retry")
	}
	return f.LogStore.Save(ctx, prev, next)
}

// A recover whose save fails part way through a page still queues the webhooks it turned
// back into retrying before the failure: nothing else would send them. The request fails;
// asked again, the recover finds the rest, and every webhook is delivered once.
func TestRecoverFailingPartWayQueuesWhatItChanged(t *testing.T) {
	fails := &failingSave{}
	fails.ok.Store(10)
	r := newWebhookRig(t, func(d *manage.WebhookDeps) {
		fails.LogStore = d.Logs
		d.Logs = fails
	})
	code := 200
	srv, seen := receiverOf(t, &code)
	inst := r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL))
	r.load(failedLogs(30, inst.ID))
	body := fmt.Sprintf(`{"instanceId":%q,"since":%q}`, inst.ID, webhook.FormatTime(time.Now().Add(-72*time.Hour)))

	if a := r.do(request{method: "POST", resource: "/api/webhook/retry", body: body}); a.status != 500 || a.Error.Code != webhook.EInternal {
		t.Fatalf("recover with a failing save answered %d %s, want 500 internal", a.status, a.raw)
	}
	if queued := r.depthOf(r.events.QueueURL); queued != 10 {
		t.Fatalf("%d webhooks queued by the failed request, want the 10 it turned back into retrying", queued)
	}
	var a jobAnswer
	r.ok(request{method: "POST", resource: "/api/webhook/retry", body: body}, 202, &a)
	if a.Queued != 20 || !a.Complete {
		t.Fatalf("the recover asked again: %+v, want the other 20 queued", a)
	}
	r.drain(r.events, r.delivery.Handle)
	if s := r.stats(map[string]string{"instanceId": inst.ID}); s.Success != 30 || s.Failed != 0 || len(*seen) != 30 {
		t.Fatalf("stats %+v, %d POSTs: want all 30 delivered once", s, len(*seen))
	}
}

// depthOf counts a queue's visible and in-flight messages.
func (r *webhookRig) depthOf(queueURL string) int {
	r.t.Helper()
	out, err := sqs.NewFromConfig(awstest.Config(r.t)).GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
		QueueUrl: &queueURL,
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages, sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		k, err := strconv.Atoi(v)
		if err != nil {
			r.t.Fatal(err)
		}
		n += k
	}
	return n
}

func TestJobRouteAnswers(t *testing.T) {
	r := newWebhookRig(t)
	tests := []struct {
		name   string
		id     string
		status int
		code   string
	}{
		{"malformed", "nope", 400, "invalid_request"},
		{"a webhook id", webhook.NewWebhookID(time.Now()), 400, "invalid_request"},
		{"lower case", "job_" + "01hk153x00yfzmth8y8af1g8gn", 400, "invalid_request"},
		{"unknown", webhook.NewJobID(time.Now()), 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans := r.do(request{method: "GET", resource: "/api/webhook/jobs/{jobId}", id: tt.id})
			if ans.status != tt.status || ans.Error.Code != tt.code {
				t.Fatalf("status %d %s, want %d %s: %s", ans.status, ans.Error.Code, tt.status, tt.code, ans.raw)
			}
			if tt.status == 400 && (len(ans.Error.Message) < 6 || ans.Error.Message[:6] != "jobId:") {
				t.Fatalf("message %q does not name jobId", ans.Error.Message)
			}
		})
	}
	t.Run("shape", func(t *testing.T) {
		id := webhook.NewJobID(time.Now())
		at := time.Now()
		if err := r.progress.RecordRun(context.Background(), webhook.JobRun{
			JobID: id, Kind: manage.JobClear, CreatedAt: at, Run: "request", Count: 7, At: at,
		}); err != nil {
			t.Fatal(err)
		}
		ans := r.ok(request{method: "GET", resource: "/api/webhook/jobs/{jobId}", id: id}, 200, nil)
		var raw map[string]any
		if err := json.Unmarshal(ans.Data, &raw); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{
			"jobId": id, "kind": "clear", "instanceId": nil, "status": "running", "count": 7.0,
			"createdAt": webhook.FormatTime(at), "updatedAt": webhook.FormatTime(at),
		}
		if len(raw) != len(want) {
			t.Fatalf("answer %s, want exactly %v", ans.Data, want)
		}
		for k, w := range want {
			if got, ok := raw[k]; !ok || got != w {
				t.Fatalf("%s = %v, want %v", k, got, w)
			}
		}
	})
}
