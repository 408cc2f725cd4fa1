package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/webhook"
)

// target is a running receiver example and a way to see what it handled.
type target struct {
	url string
	mu  sync.Mutex
	// handled counts the events the receiver processed, by webhook id.
	handled map[string]int
	changed chan struct{} // receives after every handled event
}

func newTarget() *target {
	return &target{handled: map[string]int{}, changed: make(chan struct{}, 1000)}
}

func (tg *target) record(id string) {
	tg.mu.Lock()
	tg.handled[id]++
	tg.mu.Unlock()
	tg.changed <- struct{}{}
}

func (tg *target) count(id string) int {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.handled[id]
}

// waitHandled waits until the receiver has processed id.
func (tg *target) waitHandled(t *testing.T, id string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for tg.count(id) == 0 {
		select {
		case <-tg.changed:
		case <-deadline:
			t.Fatalf("the receiver never processed %s", id)
		}
	}
}

// startGo serves the Go example's handler, its worker replaced by a counter.
func startGo(t *testing.T, secret string) *target {
	tg := newTarget()
	events := make(chan envelope, 100)
	rc, err := newReceiver(secret, events, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev := range events {
			tg.record(ev.WebhookID)
		}
	}()
	srv := httptest.NewServer(rc)
	t.Cleanup(func() {
		srv.Close()
		close(events)
	})
	tg.url = srv.URL + "/webhook"
	return tg
}

var (
	listening = regexp.MustCompile(`^listening on :(\d+)/webhook$`)
	handled   = regexp.MustCompile(`^webhook id=(\S+) `)
)

// startNode runs examples/receivers/node/receiver.js on a free port and counts the events it
// logs as handled.
func startNode(t *testing.T, secret string) *target {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not on PATH (%v): the Node receiver example is tested by running it; install Node.js 18 or later", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, node, "../node/receiver.js")
	cmd.Env = append(os.Environ(), "WEBHOOK_SECRET="+secret, "PORT=0")
	cmd.Stderr = t.Output()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})

	tg := newTarget()
	port := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			line := lines.Text()
			if m := listening.FindStringSubmatch(line); m != nil {
				port <- m[1]
			} else if m := handled.FindStringSubmatch(line); m != nil {
				tg.record(m[1])
			}
			t.Log("node: " + line)
		}
		close(port)
	}()
	select {
	case p, ok := <-port:
		if !ok {
			t.Fatal("node receiver exited before listening")
		}
		tg.url = "http://127.0.0.1:" + p + "/webhook"
	case <-time.After(10 * time.Second):
		t.Fatal("node receiver did not print its port within 10 s")
	}
	return tg
}

// delivery is one POST as wagate's sender makes it.
type delivery struct {
	id      string
	body    []byte
	secrets []string
	at      time.Time
	attempt int
}

func newDelivery(t *testing.T, secrets ...string) delivery {
	now := time.Now()
	data, err := json.Marshal(map[string]any{
		"messageId": "3EB0C767D26A1D8F", "from": "6281234567890@s.whatsapp.net",
		"chatId": "6281234567890@s.whatsapp.net", "body": "Hello!", "type": "text",
		"timestamp": webhook.FormatTime(now), "fromMe": false, "pushName": "Budi", "isGroup": false,
	})
	if err != nil {
		t.Fatal(err)
	}
	env := webhook.Envelope{
		Event: webhook.EventMessageReceived, InstanceID: "inst_example",
		Timestamp: webhook.FormatTime(now), WebhookID: webhook.NewWebhookID(now), Data: data,
	}
	body, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return delivery{id: env.WebhookID, body: body, secrets: secrets, at: now, attempt: 1}
}

// post signs d with wagate's SignatureHeaders and sends body, which is d.body unless tampered.
func post(t *testing.T, url string, d delivery, body []byte) (int, map[string]any) {
	t.Helper()
	headers, err := webhook.SignatureHeaders(d.secrets, d.id, d.at, d.body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = headers
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhook.HeaderEvent, webhook.EventMessageReceived)
	req.Header.Set(webhook.HeaderAttempt, strconv.Itoa(d.attempt))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var answer map[string]any
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &answer); err != nil {
			t.Fatalf("answer %q: %v", raw, err)
		}
	}
	return resp.StatusCode, answer
}

// TestReceivers checks both examples against wagate's own signing.
func TestReceivers(t *testing.T) {
	for _, kind := range []struct {
		name  string
		start func(*testing.T, string) *target
	}{{"go", startGo}, {"node", startNode}} {
		t.Run(kind.name, func(t *testing.T) {
			secret := webhook.NewSecret()
			tg := kind.start(t, secret)
			testReceiver(t, tg, secret)
		})
	}
}

func testReceiver(t *testing.T, tg *target, secret string) {
	other := webhook.NewSecret()
	tamper := func(b []byte) []byte { return bytes.Replace(b, []byte("Hello!"), []byte("Hallo!"), 1) }
	cases := []struct {
		name    string
		secrets []string
		age     time.Duration // how long before now the request was signed
		tamper  bool
		want    int
	}{
		{name: "signed", secrets: []string{secret}, want: 200},
		// wagate signs with the current secret first, then the previous one while it lasts.
		{name: "rotation, receiver still on the previous secret", secrets: []string{other, secret}, want: 200},
		{name: "rotation, receiver already on the new secret", secrets: []string{secret, other}, want: 200},
		{name: "tampered body", secrets: []string{secret}, tamper: true, want: 401},
		{name: "wrong secret", secrets: []string{other}, want: 401},
		{name: "stale timestamp", secrets: []string{secret}, age: 6 * time.Minute, want: 401},
		{name: "timestamp in the future", secrets: []string{secret}, age: -6 * time.Minute, want: 401},
		{name: "unsigned", want: 401},
	}
	var ids []string
	for _, c := range cases {
		d := newDelivery(t, c.secrets...)
		d.at = d.at.Add(-c.age)
		body := d.body
		if c.tamper {
			body = tamper(body)
		}
		if got, _ := post(t, tg.url, d, body); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
		ids = append(ids, d.id)
	}

	// A retry from wagate: same id and body, a later timestamp and attempt, signed anew.
	first := newDelivery(t, secret)
	if got, answer := post(t, tg.url, first, first.body); got != 200 || answer["duplicate"] != nil {
		t.Errorf("first delivery: status %d, answer %v; want 200 without duplicate", got, answer)
	}
	tg.waitHandled(t, first.id)
	again := first
	again.at, again.attempt = first.at.Add(5*time.Second), 2
	if got, answer := post(t, tg.url, again, again.body); got != 200 || answer["duplicate"] != true {
		t.Errorf("redelivery: status %d, answer %v; want 200 with duplicate true", got, answer)
	}

	// A forged request must not mark its id as seen: the genuine one with that id still counts.
	genuine := newDelivery(t, secret)
	if got, _ := post(t, tg.url, genuine, tamper(genuine.body)); got != 401 {
		t.Errorf("forged request with a real id: status %d, want 401", got)
	}
	if got, answer := post(t, tg.url, genuine, genuine.body); got != 200 || answer["duplicate"] != nil {
		t.Errorf("genuine request after a forged one with its id: status %d, answer %v; want 200 without duplicate", got, answer)
	}

	// wagate's own sender, as the delivery function uses it, in the middle of a rotation.
	sent := newDelivery(t)
	res := deliver.NewSender(deliver.SenderOptions{
		Timeout: 5 * time.Second, AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, AllowHTTP: true,
	}).Send(context.Background(), deliver.Request{
		URL: tg.url, WebhookID: sent.id, Event: webhook.EventMessageReceived, Attempt: 1,
		Body: sent.body, Secrets: []string{other, secret},
	})
	if res.Err != nil || res.StatusCode != 200 {
		t.Errorf("wagate's sender: status %d, error %v; want 200", res.StatusCode, res.Err)
	}

	// Both examples handle events in order, after answering: once the last one is handled,
	// any other would have been too.
	tg.waitHandled(t, sent.id)
	want := map[string]int{first.id: 1, genuine.id: 1, sent.id: 1}
	for i, c := range cases {
		if c.want == 200 {
			want[ids[i]] = 1
		} else {
			want[ids[i]] = 0
		}
	}
	for id, n := range want {
		if got := tg.count(id); got != n {
			t.Errorf("%s handled %d times, want %d", id, got, n)
		}
	}
	if t.Failed() {
		tg.mu.Lock()
		t.Logf("handled: %v", tg.handled)
		tg.mu.Unlock()
	}
}

// TestBusyReceiverAsksForRetry: when its worker is behind, the Go example answers 503 with
// Retry-After and does not remember the id, so wagate's retry is handled.
func TestBusyReceiverAsksForRetry(t *testing.T) {
	secret := webhook.NewSecret()
	events := make(chan envelope) // nobody reads yet: the worker is busy
	rc, err := newReceiver(secret, events, slog.New(slog.NewTextHandler(t.Output(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()

	d := newDelivery(t, secret)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(d.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header, err = webhook.SignatureHeaders(d.secrets, d.id, d.at, d.body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("busy: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}

	got := make(chan string, 1)
	go func() { got <- (<-events).WebhookID }()
	d.attempt = 2
	if status, answer := post(t, srv.URL+"/webhook", d, d.body); status != 200 || answer["duplicate"] != nil {
		t.Fatalf("retry: status %d, answer %v; want 200 without duplicate", status, answer)
	}
	if id := <-got; id != d.id {
		t.Fatalf("handled %s, want %s", id, d.id)
	}
}

func TestMainNeedsSecret(t *testing.T) {
	if _, err := newReceiver("whsec_not base64!", nil, slog.Default()); err == nil || !strings.Contains(err.Error(), "WEBHOOK_SECRET") {
		t.Fatalf("newReceiver with a bad secret: %v; want an error naming WEBHOOK_SECRET", err)
	}
}
