package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// MaxPageBytes bounds one page of logs, well under Lambda's 6 MB response limit.
const MaxPageBytes = 5 << 20

// LogStore is what the webhook routes need of the log store.
type LogStore interface {
	Get(ctx context.Context, webhookID string) (*webhook.Log, error)
	Save(ctx context.Context, prev, next *webhook.Log) error
	List(ctx context.Context, f webhook.LogFilter, limit int, before string, maxBytes int) (webhook.Page, error)
	Find(ctx context.Context, f webhook.LogFilter, r webhook.IDRange, limit int) ([]*webhook.Log, error)
	FindIDs(ctx context.Context, f webhook.LogFilter, r webhook.IDRange, limit int) ([]string, error)
	DeleteLogs(ctx context.Context, ids []string) (int, error)
	Counters(ctx context.Context, instanceID string, from, to time.Time) ([]store.Counter, error)
}

// InstanceGetter reads an instance.
type InstanceGetter interface {
	Get(ctx context.Context, id string) (*webhook.Instance, error)
}

// Publisher puts events on the events queue.
type Publisher interface {
	Publish(ctx context.Context, envs []*webhook.Envelope) error
}

// JobSender queues work that continues in the background.
type JobSender interface {
	SendJob(ctx context.Context, j Job) error
}

// JobProgressStore keeps how far background jobs have got: RecordRun adds what one run did,
// once however often it is called for that run.
type JobProgressStore interface {
	RecordRun(ctx context.Context, r webhook.JobRun) error
	Get(ctx context.Context, jobID string) (*webhook.JobProgress, error)
}

// WebhookAPI serves the webhook routes.
type WebhookAPI struct {
	logs      LogStore
	instances InstanceGetter
	sender    *deliver.Sender
	publisher Publisher
	jobs      JobSender
	progress  JobProgressStore
	cursors   *apigw.Cursors
	allowHTTP bool
	now       func() time.Time
	// inline bounds the work a clear or recover does within the request.
	inline budget
}

// WebhookDeps are a WebhookAPI's dependencies.
type WebhookDeps struct {
	Logs      LogStore
	Instances InstanceGetter
	Sender    *deliver.Sender
	Publisher Publisher
	Jobs      JobSender
	Progress  JobProgressStore
	Cursors   *apigw.Cursors
	AllowHTTP bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Inline bounds the time a clear or recover works within the request before the rest
	// goes to the jobs queue; 5 s when 0. InlineItems bounds the logs it handles there;
	// 5,000 when 0, about what 5 s deletes on DynamoDB, so that what goes to the background
	// does not depend on how fast the store is.
	Inline      time.Duration
	InlineItems int
}

// NewWebhookAPI returns a WebhookAPI.
func NewWebhookAPI(d WebhookDeps) *WebhookAPI {
	a := &WebhookAPI{
		logs: d.Logs, instances: d.Instances, sender: d.Sender, publisher: d.Publisher, jobs: d.Jobs, progress: d.Progress,
		cursors: d.Cursors, allowHTTP: d.AllowHTTP, now: d.Now, inline: budget{time: d.Inline, items: d.InlineItems},
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.inline.time == 0 {
		a.inline.time = 5 * time.Second
	}
	if a.inline.items == 0 {
		a.inline.items = 5000
	}
	return a
}

// RegisterTest adds POST /api/webhook/test.
func (a *WebhookAPI) RegisterTest(r *apigw.Router) {
	r.Handle(http.MethodPost, "/api/webhook/test", a.test)
}

// RegisterLogs adds the log listing and reading routes.
func (a *WebhookAPI) RegisterLogs(r *apigw.Router) {
	r.Handle(http.MethodGet, "/api/webhook/logs", a.listLogs)
	r.Handle(http.MethodGet, "/api/webhook/logs/{webhookId}", a.getLog)
}

// RegisterRetry adds the manual retry and recover routes.
func (a *WebhookAPI) RegisterRetry(r *apigw.Router) {
	r.Handle(http.MethodPost, "/api/webhook/retry/{webhookId}", a.retry)
	r.Handle(http.MethodPost, "/api/webhook/retry", a.recover)
}

// RegisterStats adds GET /api/webhook/stats and GET /api/webhook/stats/daily.
func (a *WebhookAPI) RegisterStats(r *apigw.Router) {
	r.Handle(http.MethodGet, "/api/webhook/stats", a.stats)
	r.Handle(http.MethodGet, "/api/webhook/stats/daily", a.dailyStats)
}

// RegisterClear adds DELETE /api/webhook/logs.
func (a *WebhookAPI) RegisterClear(r *apigw.Router) {
	r.Handle(http.MethodDelete, "/api/webhook/logs", a.clear)
}

// RegisterJobs adds GET /api/webhook/jobs/{jobId}.
func (a *WebhookAPI) RegisterJobs(r *apigw.Router) {
	r.Handle(http.MethodGet, "/api/webhook/jobs/{jobId}", a.getJob)
}

// testMessage is the data of every webhook.test event.
const testMessage = "This is a test webhook from wagate."

type testInput struct {
	URL        *string `json:"url"`
	InstanceID *string `json:"instanceId"`
	Secret     *string `json:"secret"`
}

type testResult struct {
	WebhookID  string          `json:"webhookId"`
	URL        string          `json:"url"`
	Delivered  bool            `json:"delivered"`
	StatusCode *int            `json:"statusCode"`
	DurationMs int64           `json:"durationMs"`
	Response   json.RawMessage `json:"response"`
	Error      *string         `json:"error"`
}

func (a *WebhookAPI) test(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	var in testInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	if (in.URL == nil) == (in.InstanceID == nil) {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "body: give exactly one of url or instanceId")
	}
	env := &webhook.Envelope{Event: webhook.EventWebhookTest}
	var url string
	var secrets []string
	now := a.now()
	if in.URL != nil {
		if err := webhook.ValidateURL("url", *in.URL, a.allowHTTP); err != nil {
			return apigw.Response{}, err
		}
		url = *in.URL
		if in.Secret != nil {
			if err := webhook.ValidateSecret(*in.Secret); err != nil {
				return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "secret: %v", err)
			}
			secrets = []string{*in.Secret}
		}
	} else {
		if in.Secret != nil {
			return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "secret: only with url; a test for an instance is signed with its own secret")
		}
		if err := webhook.ValidateInstanceID("instanceId", *in.InstanceID); err != nil {
			return apigw.Response{}, err
		}
		inst, err := a.instances.Get(ctx, *in.InstanceID)
		if err != nil {
			return apigw.Response{}, err
		}
		if inst.WebhookURL == "" {
			// The request is well formed; the instance's state refuses it, as a retry for an
			// instance with webhooks turned off is refused.
			return apigw.Response{}, webhook.Errorf(webhook.EConflict, "instanceId: instance %s has webhooks turned off (no webhookUrl)", inst.ID)
		}
		env.InstanceID, url, secrets = inst.ID, inst.WebhookURL, inst.SigningSecrets(now)
	}
	env.WebhookID = webhook.NewWebhookID(now)
	env.Timestamp = webhook.FormatTime(now)
	data, _ := json.Marshal(map[string]string{"message": testMessage})
	env.Data = data
	body, err := json.Marshal(env)
	if err != nil {
		return apigw.Response{}, fmt.Errorf("encode test event: %w", err)
	}
	res := a.sender.Send(ctx, deliver.Request{URL: url, WebhookID: env.WebhookID, Event: env.Event, Attempt: 1, Body: body, Secrets: secrets})
	next, _ := webhook.NextLog(nil, webhook.Attempt{Envelope: env, Body: body, URL: url, Result: res, Count: 1}, finalOnly, a.now())
	if err := a.logs.Save(ctx, nil, next); err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Data: testResult{
		WebhookID: env.WebhookID, URL: url, Delivered: next.Status == webhook.StatusSuccess,
		StatusCode: next.StatusCode, DurationMs: next.DurationMs, Response: next.Response, Error: next.Error,
	}}, nil
}

// finalOnly decides without automatic retries: what the API sends now is either delivered or
// failed.
func finalOnly(_ *webhook.Log, o webhook.Outcome, _ int) webhook.Decision {
	if o.Succeeded() {
		return webhook.Decision{Status: webhook.StatusSuccess}
	}
	return webhook.Decision{Status: webhook.StatusFailed}
}

// logsCursor is the state a logs cursor seals: the query it belongs to and where it stopped.
type logsCursor struct {
	Kind       string `json:"k"`
	InstanceID string `json:"i,omitempty"`
	Status     string `json:"s,omitempty"`
	Event      string `json:"e,omitempty"`
	Before     string `json:"b"`
}

// readPage reads a listing's limit (1-100, default 50) and, when a cursor is given, opens
// it into state; resumed reports whether one was. The caller checks state belongs to its query.
func readPage(r *apigw.Request, cursors *apigw.Cursors, state any) (limit int, resumed bool, err error) {
	if limit, err = r.QueryInt("limit", 50, 1, 100); err != nil {
		return 0, false, err
	}
	cursor, err := r.Query("cursor")
	if err != nil || cursor == "" {
		return limit, false, err
	}
	return limit, true, cursors.Open("cursor", cursor, state)
}

type pagination struct {
	Limit      int     `json:"limit"`
	NextCursor *string `json:"nextCursor"`
}

func (a *WebhookAPI) listLogs(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	f, err := logFilter(r)
	if err != nil {
		return apigw.Response{}, err
	}
	var c logsCursor
	limit, resumed, err := readPage(r, a.cursors, &c)
	if err != nil {
		return apigw.Response{}, err
	}
	var before string
	if resumed {
		if c.Kind != "logs" || c.InstanceID != f.InstanceID || c.Status != f.Status || c.Event != f.Event || c.Before == "" {
			return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "cursor: belongs to another query")
		}
		before = c.Before
	}
	page, err := a.logs.List(ctx, f, limit, before, MaxPageBytes)
	if err != nil {
		return apigw.Response{}, err
	}
	p := pagination{Limit: limit}
	if page.Before != "" {
		next, err := a.cursors.Seal(logsCursor{Kind: "logs", InstanceID: f.InstanceID, Status: f.Status, Event: f.Event, Before: page.Before})
		if err != nil {
			return apigw.Response{}, fmt.Errorf("seal cursor: %w", err)
		}
		p.NextCursor = &next
	}
	logs := page.Logs
	if logs == nil {
		logs = []*webhook.Log{}
	}
	return apigw.Response{Data: logs, Extra: map[string]any{"pagination": p}}, nil
}

func logFilter(r *apigw.Request) (webhook.LogFilter, error) {
	var f webhook.LogFilter
	var err error
	if f.InstanceID, err = r.Query("instanceId"); err != nil {
		return f, err
	}
	if f.InstanceID != "" {
		if err := webhook.ValidateInstanceID("instanceId", f.InstanceID); err != nil {
			return f, err
		}
	}
	if f.Status, err = r.Query("status"); err != nil {
		return f, err
	}
	if f.Status != "" && !webhook.IsStatus(f.Status) {
		return f, webhook.Errorf(webhook.EInvalid, "status: must be one of retrying, success, failed")
	}
	if f.Event, err = r.Query("event"); err != nil {
		return f, err
	}
	if f.Event != "" && !webhook.IsEvent(f.Event) {
		return f, webhook.Errorf(webhook.EInvalid, "event: unknown event %q", f.Event)
	}
	return f, nil
}

func (a *WebhookAPI) getLog(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id := r.Param("webhookId")
	if err := issuedWebhookID(id); err != nil {
		return apigw.Response{}, err
	}
	l, err := a.logs.Get(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Data: l}, nil
}

// issuedWebhookID answers ENotFound for an id that is not one wagate could have issued, as for
// an issued one with no log: whatever its shape, the id names no webhook. The store is not
// asked, since it could not hold such a key (DynamoDB refuses keys over 2 KiB, for one).
func issuedWebhookID(id string) error {
	if _, ok := webhook.WebhookIDTime(id); !ok {
		return webhook.Errorf(webhook.ENotFound, "webhookId: no webhook log has this id; webhook ids are wh_ followed by 26 characters")
	}
	return nil
}

// retry makes one attempt now for a logged webhook, with its own id and body.
func (a *WebhookAPI) retry(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id := r.Param("webhookId")
	force, err := r.QueryBool("force")
	if err != nil {
		return apigw.Response{}, err
	}
	if err := issuedWebhookID(id); err != nil {
		return apigw.Response{}, err
	}
	prev, err := a.logs.Get(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	if prev.Status == webhook.StatusSuccess && !force {
		return apigw.Response{}, webhook.Errorf(webhook.EConflict, "webhook %s was already delivered; add ?force=true to send it again", id)
	}
	var env webhook.Envelope
	if err := json.Unmarshal(prev.Payload, &env); err != nil {
		return apigw.Response{}, fmt.Errorf("decode payload of %s: %w", id, err)
	}
	url, secrets := prev.URL, []string(nil)
	if prev.InstanceID != "" {
		inst, err := a.instances.Get(ctx, prev.InstanceID)
		if webhook.ErrorCode(err) == webhook.ENotFound {
			return apigw.Response{}, webhook.Errorf(webhook.EConflict, "instance %s no longer exists", prev.InstanceID)
		} else if err != nil {
			return apigw.Response{}, err
		}
		if inst.WebhookURL == "" {
			return apigw.Response{}, webhook.Errorf(webhook.EConflict, "instance %s has webhooks turned off", prev.InstanceID)
		}
		url, secrets = inst.WebhookURL, inst.SigningSecrets(a.now())
	}
	res := a.sender.Send(ctx, deliver.Request{URL: url, WebhookID: id, Event: prev.Event, Attempt: prev.Attempts + 1, Body: prev.Payload, Secrets: secrets})
	attempt := webhook.Attempt{Envelope: &env, Body: prev.Payload, URL: url, Result: res, Count: 1, Manual: true}
	next, _, err := webhook.RecordAttempt(ctx, a.logs, prev, attempt, a.manualDecision, a.now)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Data: next}, nil
}

// manualDecision decides after a manual attempt over prev: a failure leaves a webhook that is
// still being retried on its schedule, and any other failed.
func (a *WebhookAPI) manualDecision(prev *webhook.Log, o webhook.Outcome, _ int) webhook.Decision {
	if o.Succeeded() {
		return webhook.Decision{Status: webhook.StatusSuccess}
	}
	if prev.Status == webhook.StatusRetrying && prev.NextRetryAt != nil {
		return webhook.Decision{Status: webhook.StatusRetrying, Delay: max(prev.NextRetryAt.Sub(a.now()), 0)}
	}
	return webhook.Decision{Status: webhook.StatusFailed}
}
