package deliver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/smithy-go/middleware"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/shared/counting"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// faults is SDK middleware that fails a share of DynamoDB requests, each HTTP attempt on its
// own (inside the SDK's retry loop), as a busy table does: throttled, or meeting a transaction
// on the same item. The request is not sent, so nothing is written.
type faults struct {
	ops  map[string]bool // operations to fail
	rate float64
	mu   sync.Mutex
	rng  *rand.Rand
	n    map[string]int // injected, by error
}

func newFaults(rate float64, ops ...string) *faults {
	f := &faults{ops: map[string]bool{}, rate: rate, rng: rand.New(rand.NewPCG(13, 2026)), n: map[string]int{}}
	for _, op := range ops {
		f.ops[op] = true
	}
	return f
}

func (f *faults) register(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("injectFaults",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if err := f.next(awsmiddleware.GetOperationName(ctx)); err != nil {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, err
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
}

func (f *faults) next(op string) error {
	if !f.ops[op] {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rng.Float64() >= f.rate {
		return nil
	}
	var err error
	if f.rng.IntN(2) == 0 {
		err = &ddbtypes.ProvisionedThroughputExceededException{Message: aws.String("injected")}
	} else {
		err = &ddbtypes.TransactionConflictException{Message: aws.String("injected")}
	}
	f.n[fmt.Sprintf("%s %T", op, err)]++
	return err
}

// Throttles and transaction conflicts on a third of the log and counter requests: every
// webhook is still POSTed exactly once, its log counts that one attempt, and the counters,
// written by a counting function that meets the same faults, equal the logs.
func TestInjectedThrottlesAndConflictsSendEachWebhookOnce(t *testing.T) {
	f := newFaults(1.0/3, "GetItem", "PutItem", "UpdateItem")
	r := newRig(t, rigOptions{dbOptions: f.register})
	rc := newReceiver(t, answerStatus(http.StatusOK))
	in := r.instance(rc.URL)
	envs := r.publish(in.ID, 300)
	r.drain(400)
	if n := r.depthOf(r.res.QueueURL("EventsDeadLetterQueue")); n != 0 {
		t.Errorf("%d events in the dead-letter queue", n)
	}

	posts := map[string]int{}
	for _, req := range rc.got() {
		posts[req.header.Get("webhook-id")]++
	}
	for _, e := range envs {
		if posts[e.WebhookID] != 1 {
			t.Errorf("webhook %s POSTed %d times", e.WebhookID, posts[e.WebhookID])
		}
		if l := r.log(e.WebhookID); l.Status != webhook.StatusSuccess || l.Attempts != 1 {
			t.Errorf("webhook %s: %s after %d attempts", e.WebhookID, l.Status, l.Attempts)
		}
	}

	// The counting function over the same faults: a batch it fails comes back, as Lambda
	// hands it over again.
	cfg := awstest.Config(t)
	counter := counting.NewHandler(store.NewLogStore(dynamodb.NewFromConfig(cfg, f.register),
		r.res.Table("WebhookLogTable"), r.res.Table("WebhookStatsTable"), 30*24*time.Hour), slog.New(slog.DiscardHandler))
	stream := &lambdaemu.StreamEventSource{
		Streams: dynamodbstreams.NewFromConfig(cfg), StreamARN: r.res.StreamARN("WebhookLogTable"), Region: "us-east-1", BatchSize: 100,
	}
	for try := 0; ; try++ {
		err := stream.Drain(r.ctx, counter.Handle)
		if err == nil {
			break
		}
		if try == 50 {
			t.Fatalf("counting never got through: %v", err)
		}
	}
	if c := r.counters(in.ID); c.Total != 300 || c.Success != 300 || c.Retrying != 0 {
		t.Fatalf("counters %+v, want 300 successes", c)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Logf("faults injected: %v", f.n)
	if len(f.n) < 4 {
		t.Fatalf("faults injected %v: not every kind on every operation", f.n)
	}
}

// writeRecorder records the keys every DynamoDB write touches.
type writeRecorder struct {
	mu     sync.Mutex
	writes map[string]int // "table key" -> writes
	ops    map[string]int
}

func (w *writeRecorder) register(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("recordWrites",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				w.record(in.Parameters)
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}

func (w *writeRecorder) record(in any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := func(table string, k map[string]ddbtypes.AttributeValue) {
		var names []string
		for name := range k {
			names = append(names, name)
		}
		slices.Sort(names)
		id := table
		for _, name := range names {
			switch v := k[name].(type) {
			case *ddbtypes.AttributeValueMemberS:
				id += " " + name + "=" + v.Value
			case *ddbtypes.AttributeValueMemberN:
				id += " " + name + "=" + v.Value
			}
		}
		w.writes[id]++
	}
	switch in := in.(type) {
	case *dynamodb.PutItemInput:
		w.ops["PutItem"]++
		key(*in.TableName, map[string]ddbtypes.AttributeValue{"webhookId": in.Item["webhookId"]})
	case *dynamodb.UpdateItemInput:
		w.ops["UpdateItem"]++
		key(*in.TableName, in.Key)
	case *dynamodb.DeleteItemInput:
		w.ops["DeleteItem"]++
		key(*in.TableName, in.Key)
	case *dynamodb.TransactWriteItemsInput:
		w.ops["TransactWriteItems"]++
		w.writes["a transaction"]++
	case *dynamodb.BatchWriteItemInput:
		w.ops["BatchWriteItem"]++
		w.writes["a batch write"]++
	}
}

// Ten thousand deliveries for one instance write ten thousand items, each once: no counter,
// no shared item, nothing one delivery waits on another for.
func TestNoItemWrittenByTwoDeliveries(t *testing.T) {
	const deliveries = 10000
	w := &writeRecorder{writes: map[string]int{}, ops: map[string]int{}}
	r := newRig(t, rigOptions{dbOptions: w.register})
	rc := newReceiver(t, answerStatus(http.StatusOK))
	in := r.instance(rc.URL)

	// Batches as the event source hands them over, built here: the queue is not what this
	// test measures.
	batches := make(chan events.SQSEvent)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				resp, err := r.handler.Handle(r.ctx, b)
				if err != nil || len(resp.BatchItemFailures) > 0 {
					t.Errorf("batch: %v %+v", err, resp)
				}
			}
		}()
	}
	now := time.Now()
	for i := 0; i < deliveries; i += 10 {
		var b events.SQSEvent
		for j := range 10 {
			env := webhook.Envelope{
				Event: webhook.EventMessageReceived, InstanceID: in.ID, Timestamp: webhook.FormatTime(now),
				WebhookID: webhook.NewWebhookID(now), Data: json.RawMessage(`{"body":"hi"}`),
			}
			body, _ := json.Marshal(env)
			b.Records = append(b.Records, events.SQSMessage{
				MessageId: strconv.Itoa(i + j), ReceiptHandle: "rh", Body: string(body),
				Attributes: map[string]string{"ApproximateReceiveCount": "1"},
			})
		}
		batches <- b
	}
	close(batches)
	wg.Wait()

	if n := len(rc.got()); n != deliveries {
		t.Fatalf("%d webhooks POSTed, want %d", n, deliveries)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.writes) != deliveries {
		t.Errorf("%d items written (%v), want one per delivery", len(w.writes), w.ops)
	}
	for k, n := range w.writes {
		if n > 1 {
			t.Errorf("%s written %d times", k, n)
		}
	}
	t.Logf("writes: %v over %d items", w.ops, len(w.writes))
}
