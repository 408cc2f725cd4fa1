package deliver_test

import (
	"net/http"
	"testing"

	"github.com/wagate/wagate/shared/webhook"
)

// transportHeaders are the headers Go's HTTP client adds to every request itself; a log shows
// the ones wagate sets.
var transportHeaders = map[string]bool{"Content-Length": true, "Accept-Encoding": true}

// sameHeaders fails the test unless shown, a log's requestHeaders, are exactly the headers
// got carried, apart from the transport's own.
func sameHeaders(t *testing.T, shown map[string]string, got http.Header) {
	t.Helper()
	if shown == nil {
		t.Fatal("log shows no request headers")
	}
	canon := map[string]bool{}
	for name, value := range shown {
		canon[http.CanonicalHeaderKey(name)] = true
		if g := got.Values(name); len(g) != 1 || g[0] != value {
			t.Errorf("header %s: log shows %q, the receiver got %q", name, value, g)
		}
	}
	for name := range got {
		if !canon[name] && !transportHeaders[name] {
			t.Errorf("header %s: the receiver got %q, the log does not show it", name, got.Values(name))
		}
	}
}

func TestLogShowsTheHeadersOfItsLastRequest(t *testing.T) {
	r := newRig(t, rigOptions{})
	rc := newReceiver(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	in := r.instance(rc.URL + "/hook")
	env := r.publish(in.ID, 1)[0]

	r.drain(20)

	l := r.log(env.WebhookID)
	reqs := rc.got()
	if l.Status != webhook.StatusSuccess || len(reqs) != 2 {
		t.Fatalf("log %s after %d requests, want success after 2", l.Status, len(reqs))
	}
	shown := l.RequestHeaders()
	sameHeaders(t, shown, reqs[1].header)
	if shown["X-Webhook-Attempt"] != "2" || shown["webhook-signature"] == "" {
		t.Fatalf("requestHeaders %v: want the second attempt's, signed", shown)
	}
}
