package deliver_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/webhook"
)

// An endpoint whose attempt goes unanswered has its later records moved to the slow lane,
// unsent, so the events queue's batches stop waiting on it; the slow lane delivers them
// (an attempt made before the move counts, a failed move loses nothing, a record moved at
// its first receive goes to its attempt without reading a log), and once the endpoint
// answers there its records stay in the events queue again.
func TestSlowLaneTakesEndpointsThatStoppedAnswering(t *testing.T) {
	sender := deliver.SenderOptions{
		Timeout: 300 * time.Millisecond, AllowHTTP: true,
		AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}
	r := newRig(t, rigOptions{sender: sender})
	var answering atomic.Bool
	hang := newReceiver(t, func(_ int, w http.ResponseWriter) {
		if !answering.Load() {
			time.Sleep(time.Second)
		}
		w.WriteHeader(http.StatusOK)
	})
	ok := newReceiver(t, answerStatus(http.StatusOK))
	slow, fine := r.instance(hang.URL), r.instance(ok.URL)

	slowQueue := r.res.Queue("SlowEventsQueue")
	lane := &failingSender{sqs: r.sqs}
	lane.failures.Store(1) // the first move fails
	logs := &readCounter{LogStore: r.logs}
	h := deliver.NewHandler(deliver.Config{
		Logs: logs, Instances: r.instances, Queue: r.vis, QueueURL: r.queueURL,
		SlowLane: &deliver.SlowLane{Queue: lane, URL: slowQueue.URL},
		Sender:   deliver.NewSender(sender), Policy: webhook.RetryPolicy{Schedule: webhook.RetrySchedule{time.Second, time.Second, time.Second}},
		Logger: slog.New(slog.DiscardHandler),
		Circuits: deliver.NewCircuits(deliver.CircuitOptions{
			Threshold: 3, Open: time.Second, Shared: r.instances, ProbeHold: time.Second,
		}),
	})
	slowSource := &lambdaemu.SQSEventSource{SQS: r.sqs, QueueURL: slowQueue.URL, QueueARN: slowQueue.ARN, Region: "us-east-1", BatchSize: 10}
	drain := func(src *lambdaemu.SQSEventSource) {
		t.Helper()
		for range 40 {
			n, err := src.PollOnce(r.ctx, h.Handle)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 && r.depthOf(src.QueueURL) == 0 {
				return
			}
		}
		t.Fatalf("%s not drained", src.QueueURL)
	}

	first := r.publish(slow.ID, 1)
	r.publish(fine.ID, 4)
	drain(r.source) // the first attempt times out; its retry moves, the first move failing
	if got := len(hang.got()); got != 1 {
		t.Fatalf("the hanging endpoint got %d requests in the events queue, want 1", got)
	}
	later := r.publish(slow.ID, 3)
	r.publish(fine.ID, 3)
	drain(r.source)
	if got, want := len(hang.got()), 1; got != want {
		t.Fatalf("the hanging endpoint got %d requests, want %d: its records should have moved unsent", got, want)
	}
	if got := len(ok.got()); got != 7 {
		t.Fatalf("the answering endpoint got %d webhooks, want 7", got)
	}
	if got := r.depthOf(slowQueue.URL); got != 4 {
		t.Fatalf("%d messages in the slow lane, want 4", got)
	}
	for _, id := range lane.moved {
		if id != slow.ID {
			t.Fatalf("moved messages carry the instance ids %q, want %s: the slow lane reads a batch's instances together by them", lane.moved, slow.ID)
		}
	}

	answering.Store(true)
	logs.reads.Store(0)
	drain(slowSource)
	if got := logs.reads.Load(); got != 1 {
		t.Fatalf("the slow lane read %d logs, want 1: the record moved on a retry (the others moved at first sight)", got)
	}
	for _, env := range append(first, later...) {
		want := 1
		if env == first[0] {
			want = 2 // one attempt before the move, one in the slow lane
		}
		if l := r.log(env.WebhookID); l.Status != webhook.StatusSuccess || l.Attempts != want {
			t.Fatalf("webhook %s: %s after %d attempts, want success after %d", env.WebhookID, l.Status, l.Attempts, want)
		}
	}
	attempt2 := 0
	for _, req := range hang.got() {
		if req.header.Get("X-Webhook-Attempt") == strconv.Itoa(2) {
			attempt2++
		}
	}
	if attempt2 != 1 {
		t.Fatalf("%d requests said attempt 2, want 1", attempt2)
	}
	in, err := r.instances.Get(r.ctx, slow.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := in.Circuit.For(hang.URL); c.Failures != 0 || !c.OpenUntil.IsZero() {
		t.Fatalf("an answer in the slow lane left the shared circuit %+v", c)
	}

	// Answering again: its records stay in the events queue.
	before := len(hang.got())
	r.publish(slow.ID, 2)
	drain(r.source)
	if got := len(hang.got()) - before; got != 2 || r.depthOf(slowQueue.URL) != 0 {
		t.Fatalf("after the endpoint answered: %d requests from the events queue, slow lane depth %d; want 2 and 0", got, r.depthOf(slowQueue.URL))
	}
	if c := r.counters(slow.ID); c.Total != 6 || c.Success != 6 {
		t.Fatalf("counters %+v, want 6 webhooks, 6 succeeded", c)
	}
}

// readCounter counts the logs read.
type readCounter struct {
	deliver.LogStore
	reads atomic.Int32
}

func (c *readCounter) Get(ctx context.Context, webhookID string) (*webhook.Log, error) {
	c.reads.Add(1)
	return c.LogStore.Get(ctx, webhookID)
}

// failingSender fails as many sends as failures says, then sends.
type failingSender struct {
	sqs      *sqs.Client
	failures atomic.Int32
	mu       sync.Mutex
	moved    []string // the instance id attribute of each message moved
}

func (f *failingSender) SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	if f.failures.Add(-1) >= 0 {
		return nil, errors.New("injected: the slow lane's queue is unavailable")
	}
	f.mu.Lock()
	f.moved = append(f.moved, aws.ToString(in.MessageAttributes[queue.AttrInstanceID].StringValue))
	f.mu.Unlock()
	return f.sqs.SendMessage(ctx, in, opts...)
}
