package manage_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// apiRig serves the instance routes as the instances function does, over a fresh copy of the
// template's tables, with a clock the test can move.
type apiRig struct {
	t       *testing.T
	res     *samtemplate.Resources
	router  *apigw.Router
	store   *store.InstanceStore
	cursors *apigw.Cursors

	mu  sync.Mutex
	now time.Time
}

func newAPIRig(t *testing.T, allowHTTP bool) *apiRig {
	t.Helper()
	res := awstest.Stack(t)
	r := &apiRig{
		t:       t,
		res:     res,
		router:  apigw.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil))),
		store:   store.NewInstanceStore(dynamodb.NewFromConfig(awstest.Config(t)), res.Table("InstancesTable")),
		cursors: apigw.NewCursors([]byte("test-cursor-key-0123456789")),
		now:     time.Now(),
	}
	manage.NewInstanceAPI(manage.InstanceDeps{
		Store: r.store, Cursors: r.cursors, AllowHTTP: allowHTTP, Now: r.clock,
	}).Register(r.router)
	return r
}

func (r *apiRig) clock() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.now
}

func (r *apiRig) setNow(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = t
}

func (r *apiRig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

// request is an API call as API Gateway hands it to the function.
type request struct {
	method, resource string
	id               string            // the path parameter, {instanceId} or {webhookId}
	query            map[string]string // each also in the multi-value map, once
	multi            map[string][]string
	body             string
	base64           bool
	params           map[string]string // path parameters besides id's
	headers          map[string]string
}

type answer struct {
	status     int
	raw        string
	Success    bool
	Data       json.RawMessage
	Pagination *struct {
		Limit      int
		NextCursor *string
	}
	Error struct{ Code, Message string }
}

func (r *apiRig) do(req request) answer {
	r.t.Helper()
	ev := events.APIGatewayProxyRequest{
		HTTPMethod: req.method, Resource: req.resource, Body: req.body, IsBase64Encoded: req.base64,
		Path: req.resource,
	}
	// The resource's one path parameter ({instanceId} or {webhookId}) takes req.id.
	if open := strings.Index(req.resource, "{"); open >= 0 {
		name := req.resource[open+1 : strings.Index(req.resource, "}")]
		ev.Path = strings.Replace(req.resource, "{"+name+"}", req.id, 1)
		ev.PathParameters = map[string]string{name: req.id}
	}
	for name, v := range req.params {
		ev.Path = strings.Replace(ev.Path, "{"+name+"}", v, 1)
		ev.PathParameters[name] = v
	}
	ev.Headers = req.headers
	if len(req.query) > 0 || len(req.multi) > 0 {
		ev.QueryStringParameters = map[string]string{}
		ev.MultiValueQueryStringParameters = map[string][]string{}
		for k, v := range req.query {
			ev.QueryStringParameters[k] = v
			ev.MultiValueQueryStringParameters[k] = []string{v}
		}
		for k, vs := range req.multi {
			ev.QueryStringParameters[k] = vs[len(vs)-1] // API Gateway keeps the last one here
			ev.MultiValueQueryStringParameters[k] = vs
		}
	}
	resp, err := r.router.Serve(context.Background(), ev)
	if err != nil {
		r.t.Fatalf("%s %s: %v", req.method, ev.Path, err)
	}
	a := answer{status: resp.StatusCode, raw: resp.Body}
	if err := json.Unmarshal([]byte(resp.Body), &a); err != nil {
		r.t.Fatalf("%s %s: answer %q: %v", req.method, ev.Path, resp.Body, err)
	}
	if a.Success != (a.status < 300) {
		r.t.Fatalf("%s %s: success %v with status %d", req.method, ev.Path, a.Success, a.status)
	}
	return a
}

// ok calls the API, expects status, and decodes data into v.
func (r *apiRig) ok(req request, status int, v any) answer {
	r.t.Helper()
	a := r.do(req)
	if a.status != status {
		r.t.Fatalf("%s %s %s: status %d, want %d: %s", req.method, req.resource, req.id, a.status, status, a.raw)
	}
	if v != nil {
		if err := json.Unmarshal(a.Data, v); err != nil {
			r.t.Fatalf("data %s: %v", a.Data, err)
		}
	}
	return a
}

// view is an instance as the API shows it, with every field it may carry.
type view struct {
	ID            string
	Name          string
	WebhookURL    *string
	WebhookEvents []string
	CreatedAt     string
	UpdatedAt     string
	WebhookSecret string
}

type secrets struct {
	WebhookSecret           string
	PreviousSecret          *string
	PreviousSecretExpiresAt *string
}

func (r *apiRig) create(body string) view {
	r.t.Helper()
	var v view
	r.ok(request{method: "POST", resource: "/api/instance", body: body}, 201, &v)
	return v
}

// keys returns the keys of a JSON object, sorted.
func keys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var (
	generatedID = regexp.MustCompile(`^inst_[0-9A-HJKMNP-TV-Z]{26}$`)
	timestamp   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	viewKeys    = []string{"createdAt", "id", "name", "sendPace", "session", "updatedAt", "webhookEvents", "webhookUrl"}
)

func TestInstanceRoutes(t *testing.T) {
	r := newAPIRig(t, false)
	created := time.Now().UTC().Truncate(time.Millisecond)
	r.setNow(created)

	// Create with every field.
	a := r.ok(request{method: "POST", resource: "/api/instance", body: `{"instanceId":"inst_sales","name":"Sales ☎",` +
		`"webhookUrl":"https://example.com/hook","webhookEvents":["message.received","session.status"]}`}, 201, nil)
	if got, want := keys(t, a.Data), slices.Sorted(slices.Values(append(slices.Clone(viewKeys), "webhookSecret"))); !slices.Equal(got, want) {
		t.Fatalf("create answers %v, want %v", got, want)
	}
	var v view
	json.Unmarshal(a.Data, &v)
	if v.ID != "inst_sales" || v.Name != "Sales ☎" || v.WebhookURL == nil || *v.WebhookURL != "https://example.com/hook" ||
		!slices.Equal(v.WebhookEvents, []string{"message.received", "session.status"}) ||
		v.CreatedAt != webhook.FormatTime(created) || v.UpdatedAt != v.CreatedAt {
		t.Fatalf("created %+v", v)
	}
	if err := webhook.ValidateSecret(v.WebhookSecret); err != nil {
		t.Fatalf("secret %q: %v", v.WebhookSecret, err)
	}
	secret := v.WebhookSecret

	// Create with nothing: a generated id, webhooks off, every event.
	bare := r.create("")
	if !generatedID.MatchString(bare.ID) || bare.WebhookURL != nil || bare.WebhookEvents == nil || len(bare.WebhookEvents) != 0 ||
		bare.Name != "" || !timestamp.MatchString(bare.CreatedAt) || bare.WebhookSecret == "" || bare.WebhookSecret == secret {
		t.Fatalf("bare instance %+v", bare)
	}
	if other := r.create(`{"name":"` + strings.Repeat("é", manage.MaxNameLength) + `","webhookUrl":null,"webhookEvents":[]}`); other.ID == bare.ID {
		t.Fatalf("two generated instances share id %s", other.ID)
	}
	// Each setting may be null, meaning what "" or [] means.
	if nulls := r.create(`{"name":null,"webhookUrl":null,"webhookEvents":null}`); nulls.Name != "" || nulls.WebhookURL != nil || nulls.WebhookEvents == nil || len(nulls.WebhookEvents) != 0 {
		t.Fatalf("instance created with null settings %+v", nulls)
	}

	// Read: the view, never the secret.
	a = r.ok(request{method: "GET", resource: "/api/instance/{instanceId}", id: "inst_sales"}, 200, nil)
	if got := keys(t, a.Data); !slices.Equal(got, viewKeys) {
		t.Fatalf("get answers %v, want %v", got, viewKeys)
	}
	if strings.Contains(a.raw, secret) {
		t.Fatal("get shows the secret")
	}
	var got view
	json.Unmarshal(a.Data, &got)
	v.WebhookSecret = ""
	if !equalViews(got, v) {
		t.Fatalf("get %+v, want %+v", got, v)
	}

	// Update: only what is given changes; null and "" turn webhooks off.
	r.advance(time.Minute)
	updated := webhook.FormatTime(r.clock())
	tests := []struct {
		name   string
		body   string
		url    *string
		events []string
		nm     string
	}{
		{"url", `{"webhookUrl":"https://example.com/other"}`, ptr("https://example.com/other"), []string{"message.received", "session.status"}, "Sales ☎"},
		{"events", `{"webhookEvents":["message.sent"]}`, ptr("https://example.com/other"), []string{"message.sent"}, "Sales ☎"},
		{"name", `{"name":"Support"}`, ptr("https://example.com/other"), []string{"message.sent"}, "Support"},
		{"url null", `{"webhookUrl":null}`, nil, []string{"message.sent"}, "Support"},
		{"url and events", `{"webhookUrl":"https://example.com/x","webhookEvents":null}`, ptr("https://example.com/x"), []string{}, "Support"},
		{"url empty", `{"webhookUrl":"","name":null}`, nil, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run("update "+tt.name, func(t *testing.T) {
			var u view
			a := r.ok(request{method: "PUT", resource: "/api/instance/{instanceId}", id: "inst_sales", body: tt.body}, 200, &u)
			if got := keys(t, a.Data); !slices.Equal(got, viewKeys) {
				t.Fatalf("update answers %v", got)
			}
			want := view{ID: "inst_sales", Name: tt.nm, WebhookURL: tt.url, WebhookEvents: tt.events, CreatedAt: v.CreatedAt, UpdatedAt: updated}
			var read view
			r.ok(request{method: "GET", resource: "/api/instance/{instanceId}", id: "inst_sales"}, 200, &read)
			if !equalViews(u, want) || !equalViews(read, want) {
				t.Fatalf("answered %+v\nread %+v\nwant %+v", u, read, want)
			}
		})
	}

	// Secrets: read, rotate, and the overlap ending.
	var s secrets
	a = r.ok(request{method: "GET", resource: "/api/instance/{instanceId}/webhook-secret", id: "inst_sales"}, 200, &s)
	if got := keys(t, a.Data); !slices.Equal(got, []string{"previousSecret", "previousSecretExpiresAt", "webhookSecret"}) {
		t.Fatalf("secret answers %v", got)
	}
	if s.WebhookSecret != secret || s.PreviousSecret != nil || s.PreviousSecretExpiresAt != nil {
		t.Fatalf("secrets before rotation %+v", s)
	}
	r.advance(time.Minute)
	rotated := r.clock()
	r.ok(request{method: "POST", resource: "/api/instance/{instanceId}/webhook-secret/rotate", id: "inst_sales"}, 200, &s)
	if s.WebhookSecret == secret || webhook.ValidateSecret(s.WebhookSecret) != nil || s.PreviousSecret == nil || *s.PreviousSecret != secret ||
		s.PreviousSecretExpiresAt == nil || *s.PreviousSecretExpiresAt != webhook.FormatTime(rotated.Add(webhook.SecretOverlap)) {
		t.Fatalf("after rotation %+v", s)
	}
	var read secrets
	r.ok(request{method: "GET", resource: "/api/instance/{instanceId}/webhook-secret", id: "inst_sales"}, 200, &read)
	if !equalSecrets(read, s) {
		t.Fatalf("read %+v, rotation answered %+v", read, s)
	}
	r.advance(webhook.SecretOverlap)
	r.ok(request{method: "GET", resource: "/api/instance/{instanceId}/webhook-secret", id: "inst_sales"}, 200, &read)
	if read.WebhookSecret != s.WebhookSecret || read.PreviousSecret != nil || read.PreviousSecretExpiresAt != nil {
		t.Fatalf("after the overlap %+v", read)
	}

	// Delete.
	a = r.ok(request{method: "DELETE", resource: "/api/instance/{instanceId}", id: "inst_sales"}, 200, nil)
	if string(a.Data) != `{"deleted":true,"id":"inst_sales"}` {
		t.Fatalf("delete answers %s", a.Data)
	}
	for _, req := range []request{
		{method: "GET", resource: "/api/instance/{instanceId}", id: "inst_sales"},
		{method: "DELETE", resource: "/api/instance/{instanceId}", id: "inst_sales"},
		{method: "PUT", resource: "/api/instance/{instanceId}", id: "inst_sales", body: `{"name":"x"}`},
		{method: "GET", resource: "/api/instance/{instanceId}/webhook-secret", id: "inst_sales"},
		{method: "POST", resource: "/api/instance/{instanceId}/webhook-secret/rotate", id: "inst_sales"},
	} {
		if a := r.do(req); a.status != 404 || a.Error.Code != "not_found" || !strings.Contains(a.Error.Message, "inst_sales") {
			t.Errorf("%s %s after delete: %d %s", req.method, req.resource, a.status, a.raw)
		}
	}
	// The id is free again, and a taken one is a conflict.
	r.create(`{"instanceId":"inst_sales"}`)
	a = r.do(request{method: "POST", resource: "/api/instance", body: `{"instanceId":"inst_sales"}`})
	if a.status != 409 || a.Error.Code != "conflict" || !strings.HasPrefix(a.Error.Message, "instanceId: ") {
		t.Fatalf("duplicate create: %d %s", a.status, a.raw)
	}
}

func ptr(s string) *string { return &s }

func equalViews(a, b view) bool {
	return a.ID == b.ID && a.Name == b.Name && (a.WebhookURL == nil) == (b.WebhookURL == nil) &&
		(a.WebhookURL == nil || *a.WebhookURL == *b.WebhookURL) && slices.Equal(a.WebhookEvents, b.WebhookEvents) &&
		(a.WebhookEvents == nil) == (b.WebhookEvents == nil) && a.CreatedAt == b.CreatedAt && a.UpdatedAt == b.UpdatedAt &&
		a.WebhookSecret == b.WebhookSecret
}

func equalSecrets(a, b secrets) bool {
	return a.WebhookSecret == b.WebhookSecret && (a.PreviousSecret == nil) == (b.PreviousSecret == nil) &&
		(a.PreviousSecret == nil || *a.PreviousSecret == *b.PreviousSecret) &&
		(a.PreviousSecretExpiresAt == nil) == (b.PreviousSecretExpiresAt == nil) &&
		(a.PreviousSecretExpiresAt == nil || *a.PreviousSecretExpiresAt == *b.PreviousSecretExpiresAt)
}

func TestListInstances(t *testing.T) {
	r := newAPIRig(t, false)
	var want []string
	for range 25 {
		want = append(want, r.create("").ID)
		r.advance(time.Millisecond) // generated ids then sort in creation order
	}

	var got []string
	cursor := ""
	for page := 1; ; page++ {
		req := request{method: "GET", resource: "/api/instances", query: map[string]string{"limit": "10"}}
		if cursor != "" {
			req.query["cursor"] = cursor
		}
		var views []view
		a := r.ok(req, 200, &views)
		if a.Pagination == nil || a.Pagination.Limit != 10 || !strings.Contains(a.raw, `"nextCursor":`) {
			t.Fatalf("page %d pagination: %s", page, a.raw)
		}
		for _, v := range views {
			if v.WebhookSecret != "" {
				t.Fatal("a listing shows a secret")
			}
			got = append(got, v.ID)
		}
		if wantLen := min(10, 25-10*(page-1)); len(views) != wantLen {
			t.Fatalf("page %d has %d instances, want %d", page, len(views), wantLen)
		}
		if a.Pagination.NextCursor == nil {
			if page != 3 {
				t.Fatalf("listing ended after page %d", page)
			}
			break
		}
		cursor = *a.Pagination.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("listed %v\nwant %v", got, want)
	}

	// The default limit, and an empty answer that is still an array.
	a := r.ok(request{method: "GET", resource: "/api/instances"}, 200, nil)
	if a.Pagination.Limit != 50 || a.Pagination.NextCursor != nil {
		t.Fatalf("default page: %s", a.raw)
	}
	empty := newAPIRig(t, false)
	if a := empty.ok(request{method: "GET", resource: "/api/instances"}, 200, nil); string(a.Data) != "[]" {
		t.Fatalf("empty listing: %s", a.raw)
	}

	// Cursors: only one this API issued for this listing.
	var first []view
	a = r.ok(request{method: "GET", resource: "/api/instances", query: map[string]string{"limit": "5"}}, 200, &first)
	valid := *a.Pagination.NextCursor
	seal := func(state any) string {
		tok, err := r.cursors.Seal(state)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	otherKey, _ := apigw.NewCursors([]byte("another-cursor-key-0123")).Seal(map[string]string{"k": "instances", "a": want[4]})
	data, mac, _ := strings.Cut(valid, ".")
	badCursors := map[string]string{
		"garbage":            "not-a-cursor",
		"tampered data":      base64.RawURLEncoding.EncodeToString([]byte(`{"k":"instances","a":"inst_zzz"}`)) + "." + mac,
		"tampered mac":       data + "." + strings.Repeat("A", len(mac)),
		"other key":          otherKey,
		"logs cursor":        seal(map[string]string{"k": "logs", "b": "wh_01J00000000000000000000000"}),
		"no kind":            seal(map[string]string{"a": want[4]}),
		"bad position":       seal(map[string]string{"k": "instances", "a": "not an id"}),
		"empty position":     seal(map[string]string{"k": "instances", "a": ""}),
		"not an object":      seal([]string{"instances"}),
		"truncated":          valid[:len(valid)-3],
		"valid one, doubled": valid + valid,
	}
	for name, c := range badCursors {
		t.Run("cursor "+name, func(t *testing.T) {
			a := r.do(request{method: "GET", resource: "/api/instances", query: map[string]string{"cursor": c}})
			if a.status != 400 || a.Error.Code != "invalid_request" || !strings.HasPrefix(a.Error.Message, "cursor: ") {
				t.Fatalf("status %d: %s", a.status, a.raw)
			}
		})
	}
	var second []view
	r.ok(request{method: "GET", resource: "/api/instances", query: map[string]string{"limit": "5", "cursor": valid}}, 200, &second)
	if len(second) != 5 || second[0].ID != want[5] {
		t.Fatalf("second page starts at %v, want %s", second, want[5])
	}
}

// Every bad input is a 4xx whose message starts with the field at fault; none is a 500.
func TestInstanceBadInput(t *testing.T) {
	r := newAPIRig(t, false)
	r.create(`{"instanceId":"inst_known"}`)
	const (
		create = "/api/instance"
		list   = "/api/instances"
		one    = "/api/instance/{instanceId}"
		secret = "/api/instance/{instanceId}/webhook-secret"
		rotate = "/api/instance/{instanceId}/webhook-secret/rotate"
	)
	tooLarge := `{"name":"` + strings.Repeat("a", apigw.MaxBodyBytes) + `"}`

	// Bodies that every route taking one must refuse, as POST and as PUT.
	type bodyCase struct {
		name, body, field string
		status            int
	}
	bodies := []bodyCase{
		{"malformed JSON", `{"name":`, "body", 400},
		{"not JSON", `name=x`, "body", 400},
		{"array", `[{"name":"x"}]`, "body", 400},
		{"string", `"x"`, "body", 400},
		{"trailing data", `{"name":"x"} {}`, "body", 400},
		{"unknown field", `{"url":"https://example.com"}`, "url", 400},
		{"name a number", `{"name":5}`, "name", 400},
		{"name an object", `{"name":{}}`, "name", 400},
		{"name too long", `{"name":"` + strings.Repeat("a", manage.MaxNameLength+1) + `"}`, "name", 400},
		{"url a number", `{"webhookUrl":5}`, "webhookUrl", 400},
		{"url an array", `{"webhookUrl":["https://example.com"]}`, "webhookUrl", 400},
		{"url http", `{"webhookUrl":"http://example.com/hook"}`, "webhookUrl", 400},
		{"url ftp", `{"webhookUrl":"ftp://example.com/hook"}`, "webhookUrl", 400},
		{"url without host", `{"webhookUrl":"https:///hook"}`, "webhookUrl", 400},
		{"url relative", `{"webhookUrl":"/hook"}`, "webhookUrl", 400},
		{"url not a url", `{"webhookUrl":"example.com"}`, "webhookUrl", 400},
		{"url with credentials", `{"webhookUrl":"https://user:pw@example.com/"}`, "webhookUrl", 400},
		{"url too long", `{"webhookUrl":"https://example.com/` + strings.Repeat("a", webhook.MaxURLLength) + `"}`, "webhookUrl", 400},
		{"events a string", `{"webhookEvents":"message.sent"}`, "webhookEvents", 400},
		{"events numbers", `{"webhookEvents":[1]}`, "webhookEvents", 400},
		{"events objects", `{"webhookEvents":[{}]}`, "webhookEvents", 400},
		{"unknown event", `{"webhookEvents":["message.sent","message.deleted"]}`, "webhookEvents[1]", 400},
		{"wildcard", `{"webhookEvents":["*"]}`, "webhookEvents[0]", 400},
		{"test event", `{"webhookEvents":["webhook.test"]}`, "webhookEvents[0]", 400},
		{"duplicate event", `{"webhookEvents":["message.sent","session.status","message.sent"]}`, "webhookEvents[2]", 400},
		{"over 256 KB", tooLarge, "body", 413},
	}

	type tc struct {
		name   string
		req    request
		status int
		field  string
	}
	var cases []tc
	for _, b := range bodies {
		cases = append(cases,
			tc{"create " + b.name, request{method: "POST", resource: create, body: b.body}, b.status, b.field},
			tc{"update " + b.name, request{method: "PUT", resource: one, id: "inst_known", body: b.body}, b.status, b.field})
	}
	badIDs := map[string]string{
		"empty": "", "space": "inst known", "slash": "inst/known", "dot": "inst.known", "unicode": "inst_é",
		"too long": strings.Repeat("a", 65), "quote": `inst"`,
	}
	for name, id := range badIDs {
		cases = append(cases,
			tc{"create id " + name, request{method: "POST", resource: create, body: fmt.Sprintf(`{"instanceId":%q}`, id)}, 400, "instanceId"})
		for _, route := range []struct{ method, resource string }{
			{"GET", one}, {"PUT", one}, {"DELETE", one}, {"GET", secret}, {"POST", rotate},
		} {
			cases = append(cases, tc{route.method + " " + route.resource + " id " + name,
				request{method: route.method, resource: route.resource, id: id, body: `{"name":"x"}`}, 400, "instanceId"})
		}
	}
	for _, route := range []struct{ method, resource string }{
		{"GET", one}, {"PUT", one}, {"DELETE", one}, {"GET", secret}, {"POST", rotate},
	} {
		cases = append(cases, tc{route.method + " " + route.resource + " unknown id",
			request{method: route.method, resource: route.resource, id: "inst_unknown", body: `{"name":"x"}`}, 404, "instance inst_unknown"})
	}
	cases = append(cases,
		tc{"create id a number", request{method: "POST", resource: create, body: `{"instanceId":7}`}, 400, "instanceId"},
		tc{"create id null", request{method: "POST", resource: create, body: `{"instanceId":null,"name":"x"}`}, 400, "instanceId"},
		tc{"create null", request{method: "POST", resource: create, body: `null`}, 400, "body"},
		tc{"create blank body", request{method: "POST", resource: create, body: "\n"}, 400, "body"},
		tc{"create taken id", request{method: "POST", resource: create, body: `{"instanceId":"inst_known"}`}, 409, "instanceId"},
		tc{"create bad base64", request{method: "POST", resource: create, body: "%%%", base64: true}, 400, "body"},
		tc{"update empty body", request{method: "PUT", resource: one, id: "inst_known"}, 400, "body"},
		tc{"update blank body", request{method: "PUT", resource: one, id: "inst_known", body: " \n"}, 400, "body"},
		tc{"update empty object", request{method: "PUT", resource: one, id: "inst_known", body: `{}`}, 400, "body"},
		tc{"update null", request{method: "PUT", resource: one, id: "inst_known", body: `null`}, 400, "body"},
		tc{"update field in another case", request{method: "PUT", resource: one, id: "inst_known", body: `{"WebhookURL":"https://example.com"}`}, 400, "WebhookURL"},
		tc{"update the id", request{method: "PUT", resource: one, id: "inst_known", body: `{"instanceId":"inst_other"}`}, 400, "instanceId"},
		tc{"update the secret", request{method: "PUT", resource: one, id: "inst_known", body: `{"webhookSecret":"whsec_x"}`}, 400, "webhookSecret"},
	)
	for _, limit := range []string{"0", "101", "-1", "ten", "1.5", "1e2", " 5", "99999999999999999999"} {
		cases = append(cases, tc{"list limit " + limit, request{method: "GET", resource: list, query: map[string]string{"limit": limit}}, 400, "limit"})
	}
	cases = append(cases,
		tc{"list limit twice", request{method: "GET", resource: list, multi: map[string][]string{"limit": {"5", "6"}}}, 400, "limit"},
		tc{"list cursor twice", request{method: "GET", resource: list, multi: map[string][]string{"cursor": {"a", "b"}}}, 400, "cursor"},
		tc{"list bad cursor", request{method: "GET", resource: list, query: map[string]string{"cursor": "x.y"}}, 400, "cursor"},
		tc{"list empty cursor", request{method: "GET", resource: list, query: map[string]string{"cursor": ""}}, 400, "cursor"},
		tc{"list empty limit", request{method: "GET", resource: list, query: map[string]string{"limit": ""}}, 400, "limit"},
	)

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := r.do(c.req)
			if a.status != c.status {
				t.Fatalf("status %d, want %d: %s", a.status, c.status, a.raw)
			}
			wantCode := map[int]string{400: "invalid_request", 404: "not_found", 409: "conflict", 413: "payload_too_large"}[c.status]
			if a.Error.Code != wantCode || !strings.HasPrefix(a.Error.Message, c.field) {
				t.Fatalf("error %+v, want code %s and a message starting %q", a.Error, wantCode, c.field)
			}
		})
	}

	// None of it changed the instance.
	var v view
	r.ok(request{method: "GET", resource: one, id: "inst_known"}, 200, &v)
	if v.Name != "" || v.WebhookURL != nil || len(v.WebhookEvents) != 0 || v.UpdatedAt != v.CreatedAt {
		t.Fatalf("refused requests changed the instance: %+v", v)
	}
}

// http URLs are accepted where the deployment allows them.
func TestInstanceAllowHTTP(t *testing.T) {
	r := newAPIRig(t, true)
	v := r.create(`{"webhookUrl":"http://127.0.0.1:8080/hook"}`)
	if v.WebhookURL == nil || *v.WebhookURL != "http://127.0.0.1:8080/hook" {
		t.Fatalf("created %+v", v)
	}
	if a := r.do(request{method: "PUT", resource: "/api/instance/{instanceId}", id: v.ID, body: `{"webhookUrl":"ftp://example.com"}`}); a.status != 400 {
		t.Fatalf("ftp allowed: %s", a.raw)
	}
}

// Two rotations at the same moment both succeed, one after the other: the secret the first
// handed out is the previous secret beside the second's, so no receiver is left with a secret
// that no longer signs.
func TestConcurrentRotations(t *testing.T) {
	r := newAPIRig(t, false)
	in := r.create("")
	for round := range 5 {
		var (
			wg      sync.WaitGroup
			answers [2]secrets
		)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := r.do(request{method: "POST", resource: "/api/instance/{instanceId}/webhook-secret/rotate", id: in.ID})
				if a.status != 200 {
					t.Errorf("rotation: %d %s", a.status, a.raw)
					return
				}
				json.Unmarshal(a.Data, &answers[i])
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		var now secrets
		r.ok(request{method: "GET", resource: "/api/instance/{instanceId}/webhook-secret", id: in.ID}, 200, &now)
		first, second := answers[0], answers[1]
		if now.WebhookSecret == first.WebhookSecret {
			first, second = second, first
		}
		if now.WebhookSecret != second.WebhookSecret || now.PreviousSecret == nil || *now.PreviousSecret != first.WebhookSecret ||
			second.PreviousSecret == nil || *second.PreviousSecret != first.WebhookSecret {
			t.Fatalf("round %d: rotations answered %+v and %+v; the instance now has %+v", round, answers[0], answers[1], now)
		}
	}
}
