package consolecheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/devstack"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/infra/storetest"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

func TestMain(m *testing.M) { awstest.Main(m) }

const testKey = "console-test-key-0123456789"

// receiver is the webhook endpoint of the scenario: it fails the first two attempts of every
// message.received (so its log goes retrying, then success), and answers 503 to everything
// while the scenario has it down. GET /seeded answers once the test's logs are in the table
// (seeded is closed), with the seeding's error if any.
func receiver(seeded <-chan struct{}, seedErr *error) *httptest.Server {
	var down atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /seeded", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-seeded:
		case <-r.Context().Done():
			return
		}
		if *seedErr != nil {
			http.Error(w, (*seedErr).Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `{"instanceId":%q,"failed":%d}`, goneInstance, goneFailed)
	})
	mux.HandleFunc("GET /mode", func(w http.ResponseWriter, r *http.Request) {
		down.Store(r.URL.Query().Get("down") == "1")
		fmt.Fprintf(w, "down=%v\n", down.Load())
	})
	mux.HandleFunc("POST /webhook", func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		attempt, _ := strconv.Atoi(r.Header.Get("X-Webhook-Attempt"))
		switch {
		case down.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":"the receiver is down"}`)
		case r.Header.Get("X-Webhook-Event") == "message.received" && attempt <= 2:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, `{"error":"failing attempt %d on purpose"}`, attempt)
		default:
			io.WriteString(w, `{"received":true}`)
		}
	})
	return httptest.NewServer(mux)
}

// A deleted instance with more failed webhooks than a recover queues within its request, so
// the page's recover of them goes on as a job, whose progress the page follows. A request
// queues for up to 5 s or 5,000 webhooks: about 200 on the emulator, so 1,500 leave most of
// them to the job (5,001 would be certain anywhere, but take the emulator 5 minutes). The
// scenario fails, saying so, if the request did them all.
const (
	goneInstance = "inst_deleted_with_failures"
	goneFailed   = 1500
)

// seedGoneInstance writes the gone instance's failed logs through the log store, as delivery
// writes them, created over the last few minutes.
func seedGoneInstance(t *testing.T, s *devstack.Stack) error {
	db := dynamodb.NewFromConfig(awstest.Config(t))
	logs := store.NewLogStore(db, s.Resources.Table("WebhookLogTable"), s.Resources.Table("WebhookStatsTable"), 30*24*time.Hour)
	first := time.Now().Add(-5 * time.Minute)
	out := make([]*webhook.Log, goneFailed)
	for i := range out {
		at := first.Add(time.Duration(i) * 10 * time.Millisecond)
		id, code, reason := webhook.NewWebhookID(at), 502, "the endpoint answered 502"
		out[i] = &webhook.Log{
			ID: webhook.NewLogID(at), WebhookID: id, InstanceID: goneInstance, URL: "https://example.com/gone", Event: webhook.EventMessageReceived,
			Payload: json.RawMessage(fmt.Sprintf(`{"event":"message.received","instanceId":%q,"timestamp":%q,"webhookId":%q,"data":{}}`, goneInstance, webhook.FormatTime(at), id)),
			Status:  webhook.StatusFailed, StatusCode: &code, Error: &reason, Attempts: 6, CreatedAt: at.UTC(), UpdatedAt: at.UTC(),
		}
	}
	return storetest.SaveNew(context.Background(), logs, out)
}

// browser finds Debian's chromium (or WAGATE_CHROMIUM) and the test's npm packages, or fails
// saying how to get them: a console test that cannot run is a failure, not a skip.
func browser(t *testing.T) (chromium, dir string) {
	t.Helper()
	chromium = os.Getenv("WAGATE_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(chromium); err != nil {
		t.Fatalf("no browser for the console's tests (%v): install Debian's chromium (apt-get install chromium; make test does as root) or set WAGATE_CHROMIUM", err)
	}
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(root, "infra", "consolecheck")
	for _, pkg := range []string{"playwright-core", "axe-core"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", pkg, "package.json")); err != nil {
			t.Fatalf("%s is not installed: run make console-test-tools (make test does)", pkg)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("no node to run the browser tests: %v", err)
	}
	return chromium, dir
}

// The scenario in a real browser (scenario.mjs): a wrong key, sign in, create, pair by
// QR through the simulated phone, a webhook URL failing twice, the log going retrying →
// success, its payload, a failure retried from the page, statistics changing, a message
// reaching read, the secret rotated, the instance deleted; every request same-origin and with
// the key but the assets; axe-core on every screen; a screenshot of each, into docs/console/
// when WAGATE_UPDATE_SCREENSHOTS is set (as golden files are updated), else into a temporary
// folder, so that a test run leaves the tree as it found it.
func TestConsoleInBrowser(t *testing.T) {
	chromium, dir := browser(t)
	seeded := make(chan struct{})
	var seedErr error
	rcv := receiver(seeded, &seedErr)
	defer rcv.Close()
	var logs bytes.Buffer
	s, err := devstack.Start(context.Background(), devstack.Options{
		Addr: "127.0.0.1:0", APIKeys: []string{testKey}, Endpoint: awstest.Endpoint(t), Prefix: "console",
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
		// Short retries, yet long enough that the page, polling every 2 s, shows retrying
		// even on a machine busy with the rest of make test.
		Env: map[string]string{"WEBHOOK_RETRY_DELAYS": "4s,4s,4s"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The logs of a deleted instance are written while the scenario starts (it waits a minute
	// for a QR code to rotate meanwhile) and read once it needs them.
	go func() {
		defer close(seeded)
		start := time.Now()
		seedErr = seedGoneInstance(t, s)
		t.Logf("seeded %d failed logs of %s in %s (error: %v)", goneFailed, goneInstance, time.Since(start).Round(time.Second), seedErr)
	}()
	defer func() { <-seeded }()
	if resp, err := http.Get(s.URL + "/console"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /console: %v %v: build the console first (make console)", resp.Status, err)
	}

	shots := t.TempDir()
	if os.Getenv("WAGATE_UPDATE_SCREENSHOTS") != "" {
		shots = filepath.Join(dir, "..", "..", "docs", "console")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "scenario.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"CONSOLE_BASE="+s.URL, "CONSOLE_KEY="+testKey, "CONSOLE_RECEIVER="+rcv.URL,
		"CONSOLE_CHROMIUM="+chromium, "CONSOLE_SHOTS="+shots)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	t.Logf("scenario.mjs, %s:\n%s", time.Since(start).Round(time.Second), out.String())
	if err != nil {
		t.Fatalf("the browser scenario failed: %v (stack log:\n%s)", err, logs.String())
	}
	var result struct{ OK bool }
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	if json.Unmarshal(lines[len(lines)-1], &result) != nil || !result.OK {
		t.Fatal("the scenario did not report success")
	}
}
