package webhook

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"testing"
	"time"
)

func TestLogShowsTheHeadersSent(t *testing.T) {
	tests := []struct {
		name string
		sent Sent
		want map[string]string
	}{
		{
			name: "signed with two secrets",
			sent: Sent{Timestamp: vectorTimestamp, Signature: "v1,a v1,b", Attempt: 3},
			want: map[string]string{
				"webhook-id": "wh_1", "webhook-timestamp": "1614265330", "webhook-signature": "v1,a v1,b",
				"Content-Type": "application/json", "User-Agent": "wagate/" + Version,
				"X-Webhook-Event": EventMessageReceived, "X-Webhook-Attempt": "3",
			},
		},
		{
			name: "unsigned test by URL",
			sent: Sent{Timestamp: vectorTimestamp, Attempt: 1},
			want: map[string]string{
				"webhook-id": "wh_1", "webhook-timestamp": "1614265330",
				"Content-Type": "application/json", "User-Agent": "wagate/" + Version,
				"X-Webhook-Event": EventMessageReceived, "X-Webhook-Attempt": "1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := tt.sent
			l := Log{WebhookID: "wh_1", Event: EventMessageReceived, Sent: &sent}
			b, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				RequestHeaders map[string]string `json:"requestHeaders"`
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got.RequestHeaders, tt.want) {
				t.Fatalf("requestHeaders = %v, want %v", got.RequestHeaders, tt.want)
			}
		})
	}
}

// The headers shown are the ones a receiver verifies with: the signature, id and timestamp
// put back in a request check against the secret.
func TestShownHeadersVerify(t *testing.T) {
	secret := NewSecret()
	body := []byte(`{"event":"message.received"}`)
	at := time.Now()
	sig, err := Sign([]string{secret}, "wh_1", at, body)
	if err != nil {
		t.Fatal(err)
	}
	l := Log{WebhookID: "wh_1", Event: EventMessageReceived, Sent: &Sent{Timestamp: at.Unix(), Signature: sig, Attempt: 1}}
	h := http.Header{}
	for name, value := range l.RequestHeaders() {
		h.Set(name, value)
	}
	if err := Verify(secret, body, h); err != nil {
		t.Fatalf("headers shown do not verify: %v", err)
	}
}

func TestNextLogKeepsTheHeadersOfTheLastRequest(t *testing.T) {
	env := testEnvelope()
	first := Sent{Timestamp: t0.Unix(), Signature: "v1,a", Attempt: 1}
	errOpen := errors.New("endpoint circuit open")
	always := func(*Log, Outcome, int) Decision { return Decision{Status: StatusRetrying, Delay: time.Second} }
	tests := []struct {
		name string
		prev *Sent
		res  Result
		want *Sent
	}{
		{"first request", nil, Result{StatusCode: 500, Sent: &first}, &first},
		{"no request on a first attempt (circuit open)", nil, Result{Err: errOpen}, nil},
		{"no request after one (deferred)", &first, Result{Err: errOpen}, &first},
		{"a bad URL makes no request", &first, Result{Err: errors.New("url: must be https")}, &first},
		{"a later request", &first, Result{StatusCode: 500, Sent: &Sent{Timestamp: t0.Unix() + 5, Attempt: 2}}, &Sent{Timestamp: t0.Unix() + 5, Attempt: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev *Log
			if tt.prev != nil {
				prev, _ = NextLog(nil, Attempt{Envelope: env, Body: []byte(`{}`), URL: "https://example.com", Result: Result{Sent: tt.prev}, Count: 1}, always, t0)
			}
			count := 0
			if tt.res.Sent != nil {
				count = 1
			}
			next, _ := NextLog(prev, Attempt{Envelope: env, Body: []byte(`{}`), URL: "https://example.com", Result: tt.res, Count: count}, always, t0)
			if (next.Sent == nil) != (tt.want == nil) || next.Sent != nil && *next.Sent != *tt.want {
				t.Fatalf("Sent = %+v, want %+v", next.Sent, tt.want)
			}
		})
	}
}
