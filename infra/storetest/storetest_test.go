package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/wagate/wagate/shared/webhook"
)

// memLogs saves new logs in memory, answering a conflict for one that exists and failing on
// the log named failOn.
type memLogs struct {
	mu     sync.Mutex
	logs   map[string]*webhook.Log
	failOn string
}

func (m *memLogs) Save(ctx context.Context, prev, next *webhook.Log) error {
	if prev != nil {
		return errors.New("SaveNew passed a previous version")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if next.WebhookID == m.failOn {
		return errors.New("table unavailable")
	}
	if _, ok := m.logs[next.WebhookID]; ok {
		return webhook.Errorf(webhook.EConflict, "webhook log %s changed meanwhile", next.WebhookID)
	}
	m.logs[next.WebhookID] = next
	return nil
}

func logs(n int) []*webhook.Log {
	out := make([]*webhook.Log, n)
	for i := range out {
		out[i] = &webhook.Log{WebhookID: fmt.Sprintf("wh_%04d", i)}
	}
	return out
}

func TestSaveNew(t *testing.T) {
	tests := []struct {
		name      string
		logs      []*webhook.Log
		existing  string
		failOn    string
		wantCode  string // of the error, "" for none
		wantSaved int    // when no error is wanted
	}{
		{"all saved", logs(1000), "", "", "", 1000},
		{"none", nil, "", "", "", 0},
		{"a failure is returned", logs(100), "", "wh_0042", webhook.EInternal, 0},
		{"an existing log is a conflict", logs(100), "wh_0007", "", webhook.EConflict, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &memLogs{logs: map[string]*webhook.Log{}, failOn: tt.failOn}
			if tt.existing != "" {
				m.logs[tt.existing] = &webhook.Log{WebhookID: tt.existing}
			}
			err := SaveNew(context.Background(), m, tt.logs)
			if code := webhook.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error %v (code %q), want code %q", err, code, tt.wantCode)
			}
			if tt.wantCode == "" && len(m.logs) != tt.wantSaved {
				t.Fatalf("saved %d logs, want %d", len(m.logs), tt.wantSaved)
			}
		})
	}
}

func TestSaveNewStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := &memLogs{logs: map[string]*webhook.Log{}}
	if err := SaveNew(ctx, m, logs(1000)); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(m.logs) != 0 {
		t.Fatalf("saved %d logs with a cancelled context", len(m.logs))
	}
}
