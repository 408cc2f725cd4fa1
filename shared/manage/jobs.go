package manage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/webhook"
)

// Job kinds.
const (
	JobClear   = "clear"
	JobRecover = "recover"
)

// Job is work a request started and the jobs function finishes: a clear of the logs of an
// instance (or all) older than Before, or a recover of the failed webhooks in [From, To]
// that were last updated before Started, when the request began. A recover walks its window
// newest first, lowering To as it goes, so a webhook that fails again meanwhile is not
// recovered twice. ID names the job's progress (absent on jobs queued before progress was
// kept).
type Job struct {
	ID         string    `json:"id,omitempty"`
	Kind       string    `json:"kind"`
	InstanceID string    `json:"instanceId,omitempty"`
	Before     string    `json:"before,omitempty"`
	From       string    `json:"from,omitempty"`
	To         string    `json:"to,omitempty"`
	Started    time.Time `json:"started"`
}

// pageSize is how many logs a recover step reads at once, and clearPageSize a clear step:
// a clear only deletes, so it takes bigger pages and reads the indexes less often.
const (
	pageSize      = 100
	clearPageSize = 1000
)

// maxRecoverWindow is the longest window a recover may cover.
const maxRecoverWindow = 14 * 24 * time.Hour

// budget bounds one run of a job: its time and, when items is not 0, the logs it handles.
type budget struct {
	time  time.Duration
	items int
}

// run works on j until it is done or b is spent, and reports how many logs it handled and
// whether it finished.
func (a *WebhookAPI) run(ctx context.Context, j *Job, b budget) (n int, done bool, err error) {
	deadline := a.now().Add(b.time)
	for a.now().Before(deadline) && (b.items == 0 || n < b.items) {
		var step int
		switch j.Kind {
		case JobClear:
			step, err = a.clearStep(ctx, *j, stepLimit(clearPageSize, b.items, n))
		case JobRecover:
			step, err = a.recoverStep(ctx, j, stepLimit(pageSize, b.items, n))
		default:
			return n, false, fmt.Errorf("unknown job kind %q", j.Kind)
		}
		n += step
		if err != nil || step == 0 || (j.Kind == JobRecover && j.To < j.From) {
			return n, err == nil, err
		}
	}
	return n, false, nil
}

// stepLimit is how many logs the next step of a run may read: a page, or what is left of
// items after n when that is less.
func stepLimit(page, items, n int) int {
	if items == 0 {
		return page
	}
	return min(page, items-n)
}

func (a *WebhookAPI) clearStep(ctx context.Context, j Job, limit int) (int, error) {
	// The index's keys are all a clear needs: its filters, instance and age, never change.
	// A page whose logs all went to another clear meanwhile (or that the index still lists
	// for a moment after their delete) is read again, a few times at most.
	for try := 0; try < 5; try++ {
		ids, err := a.logs.FindIDs(ctx, webhook.LogFilter{InstanceID: j.InstanceID}, webhook.IDRange{Before: j.Before}, limit)
		if err != nil || len(ids) == 0 {
			return 0, err
		}
		deleted, err := a.logs.DeleteLogs(ctx, ids)
		if err != nil || deleted > 0 {
			return deleted, err
		}
		if err := dynamo.DefaultBackoff.Wait(ctx, try); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// recoverStep turns the newest page (of at most limit) of failed webhooks left in j's window back into retrying
// ones and queues them with their own ids, then moves j.To below the page. A webhook is
// queued only after its log says retrying, so the delivery function, which drops copies of
// final webhooks, sends it. It returns 0 when the window is exhausted.
func (a *WebhookAPI) recoverStep(ctx context.Context, j *Job, limit int) (int, error) {
	for {
		logs, err := a.logs.Find(ctx, webhook.LogFilter{InstanceID: j.InstanceID, Status: webhook.StatusFailed}, webhook.IDRange{From: j.From, To: j.To}, limit)
		if err != nil || len(logs) == 0 {
			return 0, err
		}
		n, err := a.recoverPage(ctx, j.Started, logs)
		if err != nil {
			return n, err // j.To stays: the page's logs not queued are found again
		}
		j.To = webhook.PrevWebhookID(logs[len(logs)-1].WebhookID)
		if n > 0 || j.To < j.From {
			return n, nil
		}
	}
}

// recoverPage recovers logs and returns how many it queued. A save failing part way still
// queues the logs saved before it: they say retrying, and nothing else would send them.
func (a *WebhookAPI) recoverPage(ctx context.Context, started time.Time, logs []*webhook.Log) (int, error) {
	now := a.now().UTC()
	var envs []*webhook.Envelope
	var saved []*webhook.Log
	var saveErr error
	for _, prev := range logs {
		if prev.UpdatedAt.After(started) || prev.InstanceID == "" {
			// Failed again after this recover began, so it had its attempt; or a test by URL,
			// which has no instance to deliver through.
			continue
		}
		var env webhook.Envelope
		if err := json.Unmarshal(prev.Payload, &env); err != nil {
			return 0, fmt.Errorf("decode payload of %s: %w", prev.WebhookID, err)
		}
		next := *prev
		next.Status, next.UpdatedAt, next.NextRetryAt = webhook.StatusRetrying, now, &now
		if err := a.logs.Save(ctx, prev, &next); err != nil {
			if webhook.ErrorCode(err) == webhook.EConflict {
				continue // changed meanwhile: no longer ours to recover
			}
			saveErr = err
			break
		}
		envs = append(envs, &env)
		saved = append(saved, &next)
	}
	if len(envs) == 0 {
		return 0, saveErr
	}
	if err := a.publisher.Publish(ctx, envs); err != nil {
		err = errors.Join(saveErr, err)
		// Put the logs back as they were, so they are found again and not left retrying
		// with no message on the queue.
		for _, l := range saved {
			back := *l
			back.Status, back.NextRetryAt = webhook.StatusFailed, nil
			if rerr := a.logs.Save(ctx, l, &back); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		return 0, err
	}
	return len(envs), saveErr
}

type clearInput struct {
	InstanceID *string        `json:"instanceId"`
	Days       *apigw.Integer `json:"days"`
}

type clearResult struct {
	Deleted  int     `json:"deleted"`
	Complete bool    `json:"complete"`
	JobID    *string `json:"jobId"`
}

// clear deletes the logs that match every filter given. Each filter may come in the body or,
// for clients that can't send a body with DELETE, in the query string; given in both, both
// apply, so a filter added anywhere never widens what is deleted: two instances match no log,
// and two ages mean the older.
func (a *WebhookAPI) clear(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	var in clearInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	var instances []string
	if in.InstanceID != nil {
		instances = append(instances, *in.InstanceID)
	}
	if q, err := r.Query("instanceId"); err != nil {
		return apigw.Response{}, err
	} else if q != "" {
		instances = append(instances, q)
	}
	for _, id := range instances {
		if err := webhook.ValidateInstanceID("instanceId", id); err != nil {
			return apigw.Response{}, err
		}
	}
	var days []int
	if in.Days != nil {
		if *in.Days < 1 || *in.Days > 3650 {
			return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "days: must be a whole number from 1 to 3650")
		}
		days = append(days, int(*in.Days))
	}
	if q, err := r.Query("days"); err != nil {
		return apigw.Response{}, err
	} else if q != "" {
		d, err := r.QueryInt("days", 0, 1, 3650)
		if err != nil {
			return apigw.Response{}, err
		}
		days = append(days, d)
	}
	if len(instances) == 2 && instances[0] != instances[1] {
		return apigw.Response{Data: clearResult{Complete: true}}, nil // no log has two instances
	}
	now := a.now()
	j := Job{Kind: JobClear, Started: now.UTC()}
	if len(instances) > 0 {
		j.InstanceID = instances[0]
	}
	cutoff := now
	if len(days) > 0 {
		cutoff = cutoff.Add(-time.Duration(slices.Max(days)) * 24 * time.Hour)
	}
	j.Before = webhook.FirstWebhookID(cutoff)
	n, done, err := a.run(ctx, &j, a.inline)
	if err != nil {
		return apigw.Response{}, err
	}
	if done {
		return apigw.Response{Data: clearResult{Deleted: n, Complete: true}}, nil
	}
	if err := a.continueInBackground(ctx, &j, n); err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Status: http.StatusAccepted, Data: clearResult{Deleted: n, JobID: &j.ID}}, nil
}

// requestRun names the starting request's share of a job among its runs.
const requestRun = "request"

// continueInBackground gives j an id, records the n logs the request handled as the job's
// first run, and queues the rest. The progress is written first, so the job can be read as
// soon as the answer names it, and a jobs function that finishes first never finds it missing.
func (a *WebhookAPI) continueInBackground(ctx context.Context, j *Job, n int) error {
	j.ID = webhook.NewJobID(j.Started)
	if err := a.progress.RecordRun(ctx, a.jobRun(j, requestRun, n, false)); err != nil {
		return err
	}
	return a.jobs.SendJob(ctx, *j)
}

func (a *WebhookAPI) jobRun(j *Job, run string, n int, done bool) webhook.JobRun {
	return webhook.JobRun{
		JobID: j.ID, Kind: j.Kind, InstanceID: j.InstanceID, CreatedAt: j.Started,
		Run: run, Count: n, Done: done, At: a.now().UTC(),
	}
}

type recoverInput struct {
	InstanceID *string `json:"instanceId"`
	Since      *string `json:"since"`
	Until      *string `json:"until"`
}

// parseTime reads an RFC 3339 time given in field. RFC 3339 allows "t" and "z" for "T" and
// "Z", as JSON Schema's date-time does; Go's parser takes only the capitals.
func parseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.ToUpper(v))
	if err != nil {
		return time.Time{}, webhook.Errorf(webhook.EInvalid, "%s: must be an RFC 3339 time such as 2024-01-01T00:00:00.000Z", field)
	}
	return t, nil
}

type recoverResult struct {
	Queued   int     `json:"queued"`
	Complete bool    `json:"complete"`
	JobID    *string `json:"jobId"`
}

func (a *WebhookAPI) recover(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	var in recoverInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	now := a.now()
	if in.Since == nil {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "since: required (an RFC 3339 time)")
	}
	since, err := parseTime("since", *in.Since)
	if err != nil {
		return apigw.Response{}, err
	}
	until := now
	if in.Until != nil {
		if until, err = parseTime("until", *in.Until); err != nil {
			return apigw.Response{}, err
		}
	}
	switch {
	case !since.Before(until):
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "since: must be before until")
	case until.Sub(since) > maxRecoverWindow:
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "since: the window may cover at most 14 days")
	case since.After(now):
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "since: must not be in the future")
	}
	j := Job{Kind: JobRecover, From: webhook.FirstWebhookID(since), To: webhook.LastWebhookID(until), Started: now.UTC()}
	if in.InstanceID != nil {
		if err := webhook.ValidateInstanceID("instanceId", *in.InstanceID); err != nil {
			return apigw.Response{}, err
		}
		j.InstanceID = *in.InstanceID
	}
	n, done, err := a.run(ctx, &j, a.inline)
	if err != nil {
		return apigw.Response{}, err
	}
	res := recoverResult{Queued: n, Complete: done}
	if !done {
		if err := a.continueInBackground(ctx, &j, n); err != nil {
			return apigw.Response{}, err
		}
		res.JobID = &j.ID
	}
	return apigw.Response{Status: http.StatusAccepted, Data: res}, nil
}

// HandleJobs is the jobs function's SQS handler: each record is a Job, worked on for up to
// jobTime and queued again, as a new message, while unfinished.
//
// Each handling of a record is one run of its job, named by the message and its receive
// count: what it did is added to the job's progress before the rest is queued, even when it
// failed part way, so the count is of work done. Work done twice is impossible (a deleted log
// is not deleted again, a recovered webhook is no longer failed), so a record handled again
// after a failure or a lost delete adds only what that handling did; the same handling
// recorded twice counts once.
func (a *WebhookAPI) HandleJobs(jobTime time.Duration) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		var resp events.SQSEventResponse
		for _, rec := range ev.Records {
			if err := a.handleJob(ctx, rec, jobTime); err != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
			}
		}
		return resp, nil
	}
}

func (a *WebhookAPI) handleJob(ctx context.Context, rec events.SQSMessage, jobTime time.Duration) error {
	var j Job
	if err := json.Unmarshal([]byte(rec.Body), &j); err != nil {
		return err
	}
	if j.Kind != JobClear && j.Kind != JobRecover {
		return fmt.Errorf("unknown job kind %q", j.Kind)
	}
	n, done, err := a.run(ctx, &j, budget{time: jobTime})
	if j.ID != "" {
		receives := rec.Attributes["ApproximateReceiveCount"]
		if perr := a.progress.RecordRun(ctx, a.jobRun(&j, rec.MessageId+"#"+receives, n, done && err == nil)); perr != nil {
			return errors.Join(err, perr)
		}
	}
	if err == nil && !done {
		err = a.jobs.SendJob(ctx, j)
	}
	return err
}

// MessageSender is the part of SQS SQSJobs uses.
type MessageSender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// SQSJobs queues jobs on the jobs queue.
type SQSJobs struct {
	SQS      MessageSender
	QueueURL string
}

// SendJob queues j.
func (q SQSJobs) SendJob(ctx context.Context, j Job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	body := string(b)
	if _, err := q.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.QueueURL, MessageBody: &body}); err != nil {
		return fmt.Errorf("queue %s job: %w", j.Kind, err)
	}
	return nil
}

// JobView is a job's progress as GET /api/webhook/jobs/{jobId} answers it.
type JobView struct {
	JobID      string  `json:"jobId"`
	Kind       string  `json:"kind"`
	InstanceID *string `json:"instanceId"`
	Status     string  `json:"status"`
	Count      int     `json:"count"`
	CreatedAt  string  `json:"createdAt"`
	UpdatedAt  string  `json:"updatedAt"`
}

func (a *WebhookAPI) getJob(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id := r.Param("jobId")
	if !webhook.ValidJobID(id) {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "jobId: must be job_ followed by 26 characters, as a clear or recover answered")
	}
	p, err := a.progress.Get(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	v := JobView{
		JobID: p.JobID, Kind: p.Kind, Status: p.Status, Count: p.Count,
		CreatedAt: webhook.FormatTime(p.CreatedAt), UpdatedAt: webhook.FormatTime(p.UpdatedAt),
	}
	if p.InstanceID != "" {
		v.InstanceID = &p.InstanceID
	}
	return apigw.Response{Data: v}, nil
}
