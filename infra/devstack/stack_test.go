package devstack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/devstack"
	"github.com/wagate/wagate/shared/webhook"
)

const testKey = "test-key-0123456789"

// startStack runs a local stack on a free port against the test binary's emulator, with short
// retry delays so retries happen within the test.
func startStack(t *testing.T, prefix string) *devstack.Stack {
	t.Helper()
	return startStackWith(t, devstack.Options{Prefix: prefix})
}

// startStackWith is startStack with more options: o's address, keys, endpoint, logger and
// retry delays are the test's.
func startStackWith(t *testing.T, o devstack.Options) *devstack.Stack {
	t.Helper()
	o.Addr, o.APIKeys, o.Endpoint = "127.0.0.1:0", []string{testKey}, awstest.Endpoint(t)
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.Env == nil {
		o.Env = map[string]string{}
	}
	if _, ok := o.Env["WEBHOOK_RETRY_DELAYS"]; !ok {
		o.Env["WEBHOOK_RETRY_DELAYS"] = "1s,1s,1s"
	}
	s, err := devstack.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// client calls a stack's API over HTTP, as a user would.
type client struct {
	t    *testing.T
	base string
	key  string
}

type reply struct {
	Status     int
	Raw        string
	Success    bool
	Data       json.RawMessage
	Message    string
	Pagination *struct {
		Limit      int
		NextCursor *string
	}
	Error struct{ Code, Message string }
}

func (c client) call(method, path, body string) reply {
	c.t.Helper()
	return c.callWith(method, path, body, nil)
}

// callWith is call with request headers.
func (c client) callWith(method, path, body string, header map[string]string) reply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{Status: resp.StatusCode, Raw: string(raw)}
	if err := json.Unmarshal(raw, &r); err != nil {
		c.t.Fatalf("%s %s: %q: %v", method, path, raw, err)
	}
	return r
}

// ok calls and decodes data into v, failing unless the status is want.
func (c client) ok(method, path, body string, want int, v any) reply {
	c.t.Helper()
	r := c.call(method, path, body)
	if r.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Raw)
	}
	if v != nil {
		if err := json.Unmarshal(r.Data, v); err != nil {
			c.t.Fatalf("%s %s: data %s: %v", method, path, r.Data, err)
		}
	}
	return r
}

// eventually polls cond until it holds, for at most a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 600 {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("never happened: %s", what)
}

// endpoint is a webhook receiver whose answer the test can change.
type endpoint struct {
	*httptest.Server
	mu   sync.Mutex
	code int
	got  []http.Header
	body [][]byte
}

func newEndpoint(t *testing.T, code int) *endpoint {
	e := &endpoint{code: code}
	e.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.got, e.body = append(e.got, r.Header.Clone()), append(e.body, b)
		code := e.code
		e.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(e.Close)
	return e
}

func (e *endpoint) answer(code int) {
	e.mu.Lock()
	e.code = code
	e.mu.Unlock()
}

func (e *endpoint) requests() ([]http.Header, [][]byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]http.Header(nil), e.got...), append([][]byte(nil), e.body...)
}

type instance struct {
	ID            string
	WebhookSecret string
}

type logView struct {
	WebhookID string
	Status    string
	Attempts  int
	Event     string
}

func (c client) waitLog(id, status string) logView {
	c.t.Helper()
	var l logView
	eventually(c.t, fmt.Sprintf("webhook %s %s", id, status), func() bool {
		r := c.call("GET", "/api/webhook/logs/"+id, "")
		if r.Status != 200 {
			return false
		}
		json.Unmarshal(r.Data, &l)
		return l.Status == status
	})
	return l
}

func TestGatewayAnswersLikeAPIGateway(t *testing.T) {
	s := startStack(t, awstest.Prefix(t))
	tests := []struct {
		name, method, path, key string
		status                  int
		body                    string
	}{
		{"no key", "GET", "/api/instances", "", 403, `{"message":"Forbidden"}`},
		{"wrong key", "GET", "/api/instances", "nope", 403, `{"message":"Forbidden"}`},
		{"undeclared path", "GET", "/api/nothing", testKey, 403, `{"message":"Missing Authentication Token"}`},
		{"undeclared method", "PATCH", "/api/instances", testKey, 403, `{"message":"Missing Authentication Token"}`},
		{"health needs no key", "GET", "/healthz", "", 200, `{"status":"ok"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, s.URL+tt.path, nil)
			if tt.key != "" {
				req.Header.Set("X-API-Key", tt.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || string(b) != tt.body {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})
	}
	t.Run("path parameters are unescaped", func(t *testing.T) {
		c := client{t, s.URL, testKey}
		if r := c.call("GET", "/api/instance/inst%5Fnone", ""); r.Status != 404 || !strings.Contains(r.Error.Message, "inst_none") {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
}

// TestEndToEnd drives the whole gateway through HTTP only: an instance pointed at a receiver,
// triggered events, signed deliveries, retries, logs, stats, manual retry, recover and clear.
func TestEndToEnd(t *testing.T) {
	s := startStack(t, awstest.Prefix(t))
	c := client{t, s.URL, testKey}
	ep := newEndpoint(t, 200)

	// Only messages received: the session's own statuses (its QR codes, its linking to the
	// simulated phone) would add webhooks of their own.
	var in instance
	c.ok("POST", "/api/instance", fmt.Sprintf(`{"name":"Sales","webhookUrl":%q,"webhookEvents":["message.received"]}`, ep.URL+"/webhook"), 201, &in)
	if !strings.HasPrefix(in.WebhookSecret, "whsec_") {
		t.Fatalf("instance %+v", in)
	}

	// A triggered event (the trigger links the instance to its simulated phone first) arrives
	// signed, with the id the trigger answered.
	var env webhook.Envelope
	c.ok("POST", "/api/dev/trigger", fmt.Sprintf(`{"instanceId":%q,"event":"message.received","data":{"body":"Halo"}}`, in.ID), 202, &env)
	c.waitLog(env.WebhookID, "success")
	headers, bodies := ep.requests()
	if len(headers) != 1 || headers[0].Get("webhook-id") != env.WebhookID {
		t.Fatalf("receiver got %d requests", len(headers))
	}
	if err := webhook.Verify(in.WebhookSecret, bodies[0], headers[0]); err != nil {
		t.Fatalf("signature: %v", err)
	}
	// Its log shows the headers it was sent with.
	var sent struct{ RequestHeaders map[string]string }
	c.ok("GET", "/api/webhook/logs/"+env.WebhookID, "", 200, &sent)
	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature", "X-Webhook-Attempt", "User-Agent"} {
		if v := sent.RequestHeaders[name]; v == "" || v != headers[0].Get(name) {
			t.Fatalf("log shows %s %q, the receiver got %q", name, v, headers[0].Get(name))
		}
	}
	var got struct {
		Event string
		Data  map[string]any
	}
	json.Unmarshal(bodies[0], &got)
	if got.Event != "message.received" || got.Data["body"] != "Halo" || got.Data["from"] == nil || got.Data["messageId"] == nil {
		t.Fatalf("delivered %s", bodies[0])
	}

	// The endpoint fails once: the webhook is retried and delivered.
	ep.answer(503)
	c.ok("POST", "/api/dev/trigger", fmt.Sprintf(`{"instanceId":%q,"event":"message.received","data":{"type":"image"}}`, in.ID), 202, &env)
	c.waitLog(env.WebhookID, "retrying")
	ep.answer(200)
	if l := c.waitLog(env.WebhookID, "success"); l.Attempts != 2 {
		t.Fatalf("retried log %+v", l)
	}

	// The endpoint is down for good: four attempts, then failed; a manual retry delivers it.
	ep.answer(500)
	c.ok("POST", "/api/dev/trigger", fmt.Sprintf(`{"instanceId":%q,"event":"message.received","data":{"type":"location"}}`, in.ID), 202, &env)
	if l := c.waitLog(env.WebhookID, "failed"); l.Attempts != 4 {
		t.Fatalf("failed log %+v", l)
	}
	ep.answer(200)
	var retried logView
	c.ok("POST", "/api/webhook/retry/"+env.WebhookID, "", 200, &retried)
	if retried.Status != "success" || retried.Attempts != 5 {
		t.Fatalf("manual retry %+v", retried)
	}

	// Another failure, recovered through the queue.
	ep.answer(500)
	c.ok("POST", "/api/dev/trigger", fmt.Sprintf(`{"instanceId":%q,"event":"message.received","data":{"type":"voice"}}`, in.ID), 202, &env)
	c.waitLog(env.WebhookID, "failed")
	ep.answer(200)
	var rec struct{ Queued int }
	since := webhook.FormatTime(time.Now().Add(-time.Hour))
	c.ok("POST", "/api/webhook/retry", fmt.Sprintf(`{"instanceId":%q,"since":%q}`, in.ID, since), 202, &rec)
	if rec.Queued != 1 {
		t.Fatalf("recover queued %d", rec.Queued)
	}
	c.waitLog(env.WebhookID, "success")

	// Logs and stats tell the same story.
	var logs []logView
	r := c.ok("GET", "/api/webhook/logs?instanceId="+in.ID+"&limit=2", "", 200, &logs)
	if len(logs) != 2 || r.Pagination == nil || r.Pagination.NextCursor == nil {
		t.Fatalf("first page %+v %+v", logs, r.Pagination)
	}
	var rest []logView
	c.ok("GET", "/api/webhook/logs?instanceId="+in.ID+"&limit=2&cursor="+*r.Pagination.NextCursor, "", 200, &rest)
	if len(rest) != 2 {
		t.Fatalf("second page %+v", rest)
	}
	var stats struct {
		Period         string
		Total, Success int
		Failed         int
		SuccessRate    string
		InstanceID     string
	}
	// The counting function follows the logs' stream, seconds behind, as on AWS.
	eventually(t, "stats of four successes", func() bool {
		c.ok("GET", "/api/webhook/stats?instanceId="+in.ID, "", 200, &stats)
		return stats.Total == 4 && stats.Success == 4 && stats.Failed == 0 && stats.SuccessRate == "100.00" && stats.Period == "7 days"
	})
	var daily struct {
		Days []struct {
			Date                   string
			Total, Success, Failed int
		}
	}
	c.ok("GET", "/api/webhook/stats/daily?instanceId="+in.ID, "", 200, &daily)
	success := 0
	for _, d := range daily.Days {
		success += d.Success
	}
	if len(daily.Days) != 7 || success != 4 {
		t.Fatalf("daily stats %+v, want 7 days holding the 4 successes", daily)
	}

	// The test endpoint, then a clear that takes everything.
	var tested struct{ Delivered bool }
	c.ok("POST", "/api/webhook/test", fmt.Sprintf(`{"instanceId":%q}`, in.ID), 200, &tested)
	if !tested.Delivered {
		t.Fatal("test webhook not delivered")
	}
	var cleared struct {
		Deleted  int
		Complete bool
	}
	c.ok("DELETE", "/api/webhook/logs", fmt.Sprintf(`{"instanceId":%q}`, in.ID), 200, &cleared)
	if cleared.Deleted != 5 || !cleared.Complete {
		t.Fatalf("clear %+v", cleared)
	}
	eventually(t, "stats at zero after the clear", func() bool {
		c.ok("GET", "/api/webhook/stats?instanceId="+in.ID, "", 200, &stats)
		return stats.Total == 0
	})

	// A pairing code goes through the session host that holds the instance, which is linked
	// to its simulated phone already.
	if r := c.call("POST", "/api/instance/"+in.ID+"/pair", `{"phoneNumber":"+6281234567890"}`); r.Status != 409 || !strings.Contains(r.Raw, "already paired") {
		t.Fatalf("pair a linked instance: %d %s", r.Status, r.Raw)
	}
}

func TestTriggerValidates(t *testing.T) {
	s := startStack(t, awstest.Prefix(t))
	c := client{t, s.URL, testKey}
	tests := []struct {
		body   string
		status int
		field  string
	}{
		{`{}`, 400, "instanceId"},
		{`{"instanceId":"x y","event":"message.received"}`, 400, "instanceId"},
		{`{"instanceId":"inst_1","event":"webhook.test"}`, 400, "event"},
		{`{"instanceId":"inst_1","event":"nope"}`, 400, "event"},
		{`{"instanceId":"inst_1","event":"message.received","data":[1]}`, 400, "data"},
		{`{"instanceId":"inst_unknown","event":"message.received"}`, 404, ""},
		{`{"instanceId":"inst_1","event":"message.received","extra":1}`, 400, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			r := c.call("POST", "/api/dev/trigger", tt.body)
			if r.Status != tt.status || (tt.field != "" && !strings.HasPrefix(r.Error.Message, tt.field+":")) {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	}
}

func TestTwoStacksSideBySide(t *testing.T) {
	a := startStack(t, awstest.Prefix(t)+"a")
	b := startStack(t, awstest.Prefix(t)+"b")
	if a.URL == b.URL {
		t.Fatal("same address")
	}
	ca, cb := client{t, a.URL, testKey}, client{t, b.URL, testKey}
	var in instance
	ca.ok("POST", "/api/instance", `{"instanceId":"inst_side"}`, 201, &in)
	if r := cb.call("GET", "/api/instance/inst_side", ""); r.Status != 404 {
		t.Fatalf("stack b sees stack a's instance: %d", r.Status)
	}
	cb.ok("POST", "/api/instance", `{"instanceId":"inst_side"}`, 201, nil)
}

func TestRestartOverExistingResources(t *testing.T) {
	prefix := awstest.Prefix(t)
	first, err := devstack.Start(context.Background(), devstack.Options{
		Addr: "127.0.0.1:0", APIKeys: []string{testKey}, Endpoint: awstest.Endpoint(t),
		Prefix: prefix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	client{t, first.URL, testKey}.ok("POST", "/api/instance", `{"instanceId":"inst_kept"}`, 201, nil)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	// Same prefix, same endpoint: the tables and queues exist already (as after a stop that
	// left them, on LocalStack), and the stack starts over them with the data intact.
	second := startStack(t, prefix)
	client{t, second.URL, testKey}.ok("GET", "/api/instance/inst_kept", "", 200, nil)
}
