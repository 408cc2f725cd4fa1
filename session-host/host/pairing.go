package host

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// PairingStore is where the API leaves pairing-code requests for this host, and where the
// host answers them.
type PairingStore interface {
	PendingPairings(ctx context.Context, host string) ([]store.PairRequest, error)
	AnswerPairing(ctx context.Context, id string, a store.PairAnswer) (bool, error)
}

// Pairer gets a pairing code for an instance this host runs.
type Pairer interface {
	Pair(ctx context.Context, id, phone string) (string, error)
}

// PairingWatcher answers the pairing-code requests addressed to this host.
type PairingWatcher struct {
	host     string
	store    PairingStore
	pairer   Pairer
	interval time.Duration
	logger   *slog.Logger

	mu sync.Mutex
	// taken remembers the requests already taken up, with when, because the index they are
	// listed from is eventually consistent: asking WhatsApp twice would void the first code.
	taken    map[string]time.Time
	inFlight sync.WaitGroup
}

// pairTimeout bounds one request to WhatsApp for a code.
const pairTimeout = 15 * time.Second

// NewPairingWatcher returns a watcher that looks for requests every interval.
func NewPairingWatcher(host string, s PairingStore, p Pairer, interval time.Duration, logger *slog.Logger) *PairingWatcher {
	return &PairingWatcher{host: host, store: s, pairer: p, interval: interval, logger: logger, taken: map[string]time.Time{}}
}

// Run answers requests until ctx ends, each as it comes, so a slow one holds no other back.
func (w *PairingWatcher) Run(ctx context.Context) {
	defer w.inFlight.Wait()
	every(ctx, w.interval, func() { w.answerPending(ctx) })
}

func (w *PairingWatcher) answerPending(ctx context.Context) {
	reqs, err := w.store.PendingPairings(ctx, w.host)
	if err != nil {
		if ctx.Err() == nil {
			w.logger.Error("read pairing requests", "error", err)
		}
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, at := range w.taken {
		if now.Sub(at) > time.Minute {
			delete(w.taken, id)
		}
	}
	for _, req := range reqs {
		if _, done := w.taken[req.RequestID]; done {
			continue
		}
		w.taken[req.RequestID] = now
		w.inFlight.Add(1)
		go func() {
			defer w.inFlight.Done()
			w.answer(ctx, req)
		}()
	}
}

func (w *PairingWatcher) answer(ctx context.Context, req store.PairRequest) {
	pctx, cancel := context.WithTimeout(ctx, pairTimeout)
	code, err := w.pairer.Pair(pctx, req.InstanceID, req.Phone)
	cancel()
	a := store.PairAnswer{RequestID: req.RequestID, Code: code}
	switch {
	case err == nil:
		w.logger.Info("pairing code issued", "instanceId", req.InstanceID)
	case webhook.ErrorCode(err) != webhook.EInternal:
		a.Error, a.ErrorCode = webhook.ErrorMessage(err), webhook.ErrorCode(err)
	default:
		w.logger.Error("get pairing code", "instanceId", req.InstanceID, "error", err)
		a.Error, a.ErrorCode = "WhatsApp gave no pairing code; try again", webhook.EUnavailable
	}
	// The answer is written even when the host is stopping: the API is waiting for it.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := w.store.AnswerPairing(actx, req.InstanceID, a); err != nil {
		w.logger.Error("answer pairing request", "instanceId", req.InstanceID, "error", err)
	}
}
