package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/wagate/wagate/shared/webhook"
)

func TestImportSkipsExistingAndConcurrentDeletesCountOnce(t *testing.T) {
	s := newLogStore(t)
	ctx := context.Background()
	logs := make([]*webhook.Log, 70)
	for i := range logs {
		status := webhook.StatusSuccess
		if i%7 == 0 {
			status = webhook.StatusFailed
		}
		logs[i] = newLog("inst_b", status)
	}
	if n, err := s.Import(ctx, logs[:60]); err != nil || n != 60 {
		t.Fatalf("import: %d %v", n, err)
	}
	// 30 that exist and 10 new: only the new ones count, in a batch that a conflict cancels.
	if n, err := s.Import(ctx, logs[30:]); err != nil || n != 10 {
		t.Fatalf("second import: %d %v", n, err)
	}
	if c := sum(t, s, "inst_b"); c.Total != 70 || c.Failed != 10 || c.Success != 60 {
		t.Fatalf("counters after import %+v", c)
	}
	var wg sync.WaitGroup
	deleted := make([]int, 2)
	for i := range deleted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.DeleteLogs(ctx, logs)
			if err != nil {
				t.Error(err)
			}
			deleted[i] = n
		}()
	}
	wg.Wait()
	if deleted[0]+deleted[1] != 70 {
		t.Fatalf("deleted %v, want 70 in all", deleted)
	}
	if c := sum(t, s, "inst_b"); c.Total != 0 || c.Failed != 0 || c.Success != 0 {
		t.Fatalf("counters after delete %+v", c)
	}
}
