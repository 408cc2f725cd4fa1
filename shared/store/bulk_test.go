package store_test

import (
	"context"
	"sync"
	"testing"

	"github.com/wagate/wagate/infra/storetest"
	"github.com/wagate/wagate/shared/webhook"
)

// Two clears at once delete every log once: the counters end at zero, not below.
func TestConcurrentDeletesCountOnce(t *testing.T) {
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
	if err := storetest.SaveNew(ctx, s, logs); err != nil {
		t.Fatal(err)
	}
	if c := sum(t, s, "inst_b"); c.Total != 70 || c.Failed != 10 || c.Success != 60 {
		t.Fatalf("counters after saving %+v", c)
	}
	ids := make([]string, len(logs))
	for i, l := range logs {
		ids[i] = l.WebhookID
	}
	var wg sync.WaitGroup
	deleted := make([]int, 2)
	for i := range deleted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.DeleteLogs(ctx, ids)
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
