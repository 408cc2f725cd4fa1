package store_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/storetest"
	"github.com/wagate/wagate/shared/store"
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

// One delete of a clear failing does not cut off the others in flight: each of them that was
// applied is counted, and only the failed one's log is left.
func TestFailedDeleteLeavesTheOthersCounted(t *testing.T) {
	s := newLogStore(t)
	ctx := context.Background()
	logs := make([]*webhook.Log, 20)
	for i := range logs {
		logs[i] = newLog("inst_d", webhook.StatusSuccess)
	}
	if err := storetest.SaveNew(ctx, s, logs); err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(logs))
	for i, l := range logs {
		ids[i] = l.WebhookID
	}
	// The first delete fails at once; every other one takes a moment, so that it is in
	// flight when the failure comes.
	var deletes atomic.Int32
	cfg := awstest.Config(t)
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("failOneDelete",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if _, ok := in.Parameters.(*dynamodb.DeleteItemInput); ok {
					if deletes.Add(1) == 1 {
						return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "InternalServerError", Message: "injected"}
					}
					time.Sleep(100 * time.Millisecond)
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
	failing := store.NewLogStore(dynamodb.NewFromConfig(cfg), s.logTable, s.statsTable, 30*24*time.Hour)
	n, err := failing.DeleteLogs(ctx, ids)
	if err == nil || n != len(ids)-1 {
		t.Fatalf("DeleteLogs = %d, %v; want %d deleted and the failure", n, err, len(ids)-1)
	}
	left := 0
	for _, id := range ids {
		if _, err := s.Get(ctx, id); err == nil {
			left++
		}
	}
	if left != 1 {
		t.Fatalf("%d logs left, want the one whose delete failed", left)
	}
}
