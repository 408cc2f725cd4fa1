package manage_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/wagate/wagate/shared/webhook"
)

// logHeaders is what the API shows of a log's request headers.
type logHeaders struct {
	Attempts       int
	RequestHeaders map[string]string
}

// notShown are headers a log does not list: Go's client adds the first two to every request,
// and receiverOf adds the body as the third.
var notShown = map[string]bool{"Content-Length": true, "Accept-Encoding": true, "X-Test-Body": true}

// assertShownAsSent fails the test unless shown lists exactly the headers got carried.
func assertShownAsSent(t *testing.T, shown map[string]string, got http.Header) {
	t.Helper()
	if shown == nil {
		t.Fatal("requestHeaders is null, want the headers of the request")
	}
	canon := map[string]bool{}
	for name, value := range shown {
		canon[http.CanonicalHeaderKey(name)] = true
		if g := got.Values(name); len(g) != 1 || g[0] != value {
			t.Errorf("%s: shown %q, sent %q", name, value, g)
		}
	}
	for name := range got {
		if !canon[name] && !notShown[name] {
			t.Errorf("%s: sent %q, not shown", name, got.Values(name))
		}
	}
}

func TestTestRouteLogShowsItsHeaders(t *testing.T) {
	r := newWebhookRig(t)
	code := 200
	srv, got := receiverOf(t, &code)
	inst := r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL))
	tests := []struct {
		name   string
		body   string
		signed bool
	}{
		{"by url, unsigned", fmt.Sprintf(`{"url":%q}`, srv.URL), false},
		{"by url, signed", fmt.Sprintf(`{"url":%q,"secret":%q}`, srv.URL, webhook.NewSecret()), true},
		{"by instance", fmt.Sprintf(`{"instanceId":%q}`, inst.ID), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(*got)
			var res struct{ WebhookID string }
			r.ok(request{method: "POST", resource: "/api/webhook/test", body: tt.body}, 200, &res)
			var l logHeaders
			r.ok(request{method: "GET", resource: "/api/webhook/logs/{webhookId}", id: res.WebhookID}, 200, &l)
			if len(*got) != before+1 {
				t.Fatalf("%d requests, want 1", len(*got)-before)
			}
			assertShownAsSent(t, l.RequestHeaders, (*got)[before])
			if _, ok := l.RequestHeaders["webhook-signature"]; ok != tt.signed {
				t.Fatalf("signature shown %v, want %v", ok, tt.signed)
			}
			// The listing shows them too.
			var page []logHeaders
			r.ok(request{method: "GET", resource: "/api/webhook/logs", query: map[string]string{"event": webhook.EventWebhookTest, "limit": "1"}}, 200, &page)
			if len(page) != 1 || page[0].RequestHeaders["webhook-id"] != res.WebhookID {
				t.Fatalf("listing shows %+v", page)
			}
		})
	}
}

func TestRetryRouteLogShowsItsHeaders(t *testing.T) {
	r := newWebhookRig(t)
	code := 500
	srv, got := receiverOf(t, &code)
	inst := r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL))
	failed := fixtureLogs(1, []string{inst.ID}, 1)[0] // the first fixture log is failed, written with no headers
	r.load([]*webhook.Log{failed})
	var l logHeaders
	r.ok(request{method: "GET", resource: "/api/webhook/logs/{webhookId}", id: failed.WebhookID}, 200, &l)
	if l.RequestHeaders != nil {
		t.Fatalf("a log with no request recorded shows %v, want null", l.RequestHeaders)
	}
	for i := range 2 {
		r.ok(request{method: "POST", resource: "/api/webhook/retry/{webhookId}", id: failed.WebhookID}, 200, &l)
		if len(*got) != i+1 {
			t.Fatalf("%d requests after %d retries", len(*got), i+1)
		}
		assertShownAsSent(t, l.RequestHeaders, (*got)[i])
		if want := fmt.Sprint(l.Attempts); l.RequestHeaders["X-Webhook-Attempt"] != want {
			t.Fatalf("attempt shown %q, want %s", l.RequestHeaders["X-Webhook-Attempt"], want)
		}
	}
	var read logHeaders
	r.ok(request{method: "GET", resource: "/api/webhook/logs/{webhookId}", id: failed.WebhookID}, 200, &read)
	assertShownAsSent(t, read.RequestHeaders, (*got)[1])
}
