package host

import (
	"context"
	"log/slog"
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
	// answered remembers requests already answered, with when, because the index they are
	// listed from is eventually consistent: asking WhatsApp twice would void the first code.
	answered map[string]time.Time
}

// pairTimeout bounds one request to WhatsApp for a code.
const pairTimeout = 15 * time.Second

// NewPairingWatcher returns a watcher that looks for requests every interval.
func NewPairingWatcher(host string, s PairingStore, p Pairer, interval time.Duration, logger *slog.Logger) *PairingWatcher {
	return &PairingWatcher{host: host, store: s, pairer: p, interval: interval, logger: logger, answered: map[string]time.Time{}}
}

// Run answers requests until ctx ends.
func (w *PairingWatcher) Run(ctx context.Context) {
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		w.answerPending(ctx)
	}
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
	for id, at := range w.answered {
		if now.Sub(at) > time.Minute {
			delete(w.answered, id)
		}
	}
	for _, req := range reqs {
		if _, done := w.answered[req.RequestID]; done {
			continue
		}
		w.answered[req.RequestID] = now
		w.answer(ctx, req)
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
		a.Error = webhook.ErrorMessage(err)
	default:
		w.logger.Error("get pairing code", "instanceId", req.InstanceID, "error", err)
		a.Error = "WhatsApp gave no pairing code; try again"
	}
	if _, err := w.store.AnswerPairing(ctx, req.InstanceID, a); err != nil {
		w.logger.Error("answer pairing request", "instanceId", req.InstanceID, "error", err)
	}
}
