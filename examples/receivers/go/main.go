// Command receiver is an example endpoint for wagate's webhooks: it verifies each delivery
// with the Standard Webhooks library, drops duplicates, answers at once and logs the event.
//
//	WEBHOOK_SECRET=whsec_... go run ./examples/receivers/go
//
// It listens on :3001 (PORT overrides) and accepts POST /webhook.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// maxBody bounds what an unverified caller can make us read; wagate's envelopes are far smaller.
const maxBody = 1 << 20

// envelope is the body of every wagate webhook.
type envelope struct {
	Event      string          `json:"event"`
	InstanceID string          `json:"instanceId"`
	Timestamp  string          `json:"timestamp"`
	WebhookID  string          `json:"webhookId"`
	Data       json.RawMessage `json:"data"`
}

// receiver is the /webhook handler.
type receiver struct {
	verifier *standardwebhooks.Webhook
	logger   *slog.Logger
	// events feeds the worker: the slow part of handling an event happens after the answer,
	// because wagate counts an answer later than its timeout (10 s) as a failure and retries.
	events chan<- envelope

	mu sync.Mutex
	// seen holds the webhook ids already accepted. In memory it forgets everything on restart
	// and is not shared between replicas; a real receiver records the id in its database (a
	// unique key), in the same transaction as the work the event causes, so a redelivery
	// after a crash or to another replica is still recognised.
	seen map[string]bool
}

func newReceiver(secret string, events chan<- envelope, logger *slog.Logger) (*receiver, error) {
	verifier, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return nil, fmt.Errorf("WEBHOOK_SECRET: %w", err)
	}
	return &receiver{verifier: verifier, logger: logger, events: events, seen: map[string]bool{}}, nil
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The signature covers the exact bytes sent: verify the raw body, never a re-encoding.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil { // over maxBody; a client that hung up reads no answer anyway
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	// Verify checks the HMAC against every signature in the header (during a secret rotation
	// wagate sends one per secret) and refuses timestamps more than 5 minutes off, so a
	// captured request cannot be replayed later.
	if err := rc.verifier.Verify(body, r.Header); err != nil {
		rc.logger.Warn("rejected webhook", "error", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	var ev envelope
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "body is not a wagate envelope", http.StatusBadRequest)
		return
	}

	// Duplicates are checked only after the signature, so forged requests cannot fill the set
	// or mark a real id as seen. The id is the signed header, the same on every attempt.
	id := r.Header.Get(standardwebhooks.HeaderWebhookID)
	if !rc.markSeen(id) {
		// Still a 2xx: anything else would make wagate send it yet again.
		rc.logger.Info("duplicate webhook dropped", "id", id, "attempt", r.Header.Get("X-Webhook-Attempt"))
		writeJSON(w, `{"received":true,"duplicate":true}`)
		return
	}
	select {
	case rc.events <- ev:
	default:
		// The worker is behind: forget the id so the redelivery is handled, and ask wagate to
		// come back later (it honours Retry-After on a 503).
		rc.forget(id)
		w.Header().Set("Retry-After", "10")
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, `{"received":true}`)
}

// markSeen records id and reports whether it was new.
func (rc *receiver) markSeen(id string) bool {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.seen[id] {
		return false
	}
	rc.seen[id] = true
	return true
}

func (rc *receiver) forget(id string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	delete(rc.seen, id)
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintln(w, body)
}

// work handles accepted events one at a time; here, it logs them.
func work(events <-chan envelope, logger *slog.Logger) {
	for ev := range events {
		logger.Info("webhook", "id", ev.WebhookID, "event", ev.Event, "instance", ev.InstanceID, "data", ev.Data)
	}
}

func main() {
	// JSON lines: what log collectors read, and the event's data stays JSON.
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	secret := os.Getenv("WEBHOOK_SECRET")
	if secret == "" {
		logger.Error("set WEBHOOK_SECRET to the instance's whsec_... secret")
		os.Exit(2)
	}
	events := make(chan envelope, 100)
	rc, err := newReceiver(secret, events, logger)
	if err != nil {
		logger.Error("start", "error", err)
		os.Exit(2)
	}
	go work(events, logger)

	addr := ":3001"
	if port := os.Getenv("PORT"); port != "" {
		addr = ":" + port
	}
	mux := http.NewServeMux()
	mux.Handle("POST /webhook", rc)
	server := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	logger.Info("listening", "addr", addr, "path", "/webhook")
	if err := server.ListenAndServe(); err != nil {
		logger.Error("serve", "error", err)
		os.Exit(1)
	}
}
