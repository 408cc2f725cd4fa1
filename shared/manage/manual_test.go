package manage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/webhook"
)

// saveRecorder keeps the last log saved through it.
type saveRecorder struct {
	manage.LogStore
	mu   sync.Mutex
	last *webhook.Log
}

func (s *saveRecorder) Save(ctx context.Context, prev, next *webhook.Log) error {
	err := s.LogStore.Save(ctx, prev, next)
	if err == nil {
		s.mu.Lock()
		s.last = next
		s.mu.Unlock()
	}
	return err
}

// A manual retry's attempt is counted as manual, so the automatic schedule, which decides on
// the other attempts, keeps every retry it had.
func TestManualRetryIsCountedApart(t *testing.T) {
	rec := &saveRecorder{}
	r := newWebhookRig(t, func(d *manage.WebhookDeps) { rec.LogStore, d.Logs = d.Logs, rec })
	tests := []struct {
		name       string
		code       int
		wantStatus string
	}{
		{"failing again", 500, webhook.StatusFailed},
		{"succeeding", 200, webhook.StatusSuccess},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code := tt.code
			srv, _ := receiverOf(t, &code)
			inst := r.create(fmt.Sprintf(`{"webhookUrl":%q}`, srv.URL))
			failed := fixtureLogs(1, []string{inst.ID}, 1)[0] // the first fixture log is failed
			r.load([]*webhook.Log{failed})

			var l webhook.Log
			r.ok(request{method: "POST", resource: "/api/webhook/retry/{webhookId}", id: failed.WebhookID}, 200, &l)
			rec.mu.Lock()
			saved := rec.last
			rec.mu.Unlock()
			if saved == nil || saved.WebhookID != failed.WebhookID {
				t.Fatalf("saved %+v, want the retried log", saved)
			}
			if saved.Status != tt.wantStatus || saved.Attempts != 2 || saved.ManualAttempts != 1 || saved.AutomaticAttempts() != 1 {
				t.Fatalf("saved %s with %d attempts, %d manual; want %s with 2, 1 manual", saved.Status, saved.Attempts, saved.ManualAttempts, tt.wantStatus)
			}
		})
	}
}
