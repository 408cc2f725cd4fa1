package deliver_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/webhook"
)

// rivalCopy stands for a second copy of the same message, delivered by another function
// instance at the same moment: its outcome lands in the log just before the handler's own.
type rivalCopy struct {
	deliver.LogStore
	mu     sync.Mutex
	raced  bool
	always bool // a rival lands before every save, as if copies kept coming
	saves  int
}

func (r *rivalCopy) Save(ctx context.Context, prev, next *webhook.Log) error {
	r.mu.Lock()
	r.saves++
	race := !r.raced || r.always
	r.raced = true
	r.mu.Unlock()
	if race {
		rival := *next
		if err := r.LogStore.Save(ctx, prev, &rival); err != nil {
			return err
		}
	}
	if r.always {
		return webhook.Errorf(webhook.EConflict, "log %s changed", next.WebhookID)
	}
	return r.LogStore.Save(ctx, prev, next)
}

// The handler's save meets a log another copy changed: it re-reads the log and records its
// own attempt over it, so both attempts are in the log, the webhook counts once, and the
// message is not brought back to be sent again.
func TestSaveConflictReappliesOverTheRivalsLog(t *testing.T) {
	rival := &rivalCopy{}
	r := newRig(t, rigOptions{wrapLogs: func(s deliver.LogStore) deliver.LogStore { rival.LogStore = s; return rival }})
	rc := newReceiver(t, answerStatus(http.StatusOK))
	in := r.instance(rc.URL)
	env := r.publish(in.ID, 1)[0]

	resp, err := r.handler.Handle(r.ctx, r.receiveBatch())
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("handler: %v, failures %v", err, resp.BatchItemFailures)
	}
	if l := r.log(env.WebhookID); l.Status != webhook.StatusSuccess || l.Attempts != 2 {
		t.Fatalf("log %s with %d attempts, want success with the rival's attempt and its own", l.Status, l.Attempts)
	}
	if c := r.counters(in.ID); c.Total != 1 || c.Success != 1 || c.Retrying != 0 {
		t.Fatalf("counters %+v", c)
	}
	if n := len(rc.got()); n != 1 {
		t.Fatalf("receiver got %d requests from this handler, want 1", n)
	}
}

// When saves keep conflicting, the handler gives up after a bound and the message comes
// back: the attempt is sent again rather than lost unrecorded.
func TestSaveConflictsWithoutEndBringTheMessageBack(t *testing.T) {
	rival := &rivalCopy{always: true}
	r := newRig(t, rigOptions{wrapLogs: func(s deliver.LogStore) deliver.LogStore { rival.LogStore = s; return rival }})
	rc := newReceiver(t, answerStatus(http.StatusOK))
	in := r.instance(rc.URL)
	r.publish(in.ID, 1)

	batch := r.receiveBatch()
	resp, err := r.handler.Handle(r.ctx, batch)
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != batch.Records[0].MessageId {
		t.Fatalf("handler: %v, failures %v", err, resp.BatchItemFailures)
	}
	if rival.saves != 5 {
		t.Fatalf("%d saves, want the bound of 5", rival.saves)
	}
}
