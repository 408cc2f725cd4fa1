package deliver_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/webhook"
)

const hedgeAfter = 200 * time.Millisecond

// hedgeRig is a rig whose handler has the slow lane, a sender timeout far past the hedge
// (an attempt that ends before it was cut, not timed out), and the hedge set to hedgeAfter.
type hedgeRig struct {
	*rig
	h    *deliver.Handler
	slow *lambdaemu.SQSEventSource
}

func newHedgeRig(t *testing.T) *hedgeRig {
	sender := deliver.SenderOptions{
		Timeout: 30 * time.Second, AllowHTTP: true,
		AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}
	r := newRig(t, rigOptions{sender: sender})
	slowQueue := r.res.Queue("SlowEventsQueue")
	h := deliver.NewHandler(deliver.Config{
		Logs: r.logs, Instances: r.instances, Queue: r.vis, QueueURL: r.queueURL,
		SlowLane: &deliver.SlowLane{Queue: r.sqs, URL: slowQueue.URL},
		Sender:   deliver.NewSender(sender), Policy: webhook.RetryPolicy{Schedule: webhook.RetrySchedule{time.Second, time.Second, time.Second}},
		Logger:   slog.New(slog.DiscardHandler),
		Circuits: deliver.NewCircuits(deliver.CircuitOptions{Shared: r.instances}),
		Hedge:    hedgeAfter,
	})
	return &hedgeRig{rig: r, h: h, slow: &lambdaemu.SQSEventSource{
		SQS: r.sqs, QueueURL: slowQueue.URL, QueueARN: slowQueue.ARN, Region: "us-east-1", BatchSize: 10,
	}}
}

// pollOnce hands one batch of src to the handler and returns its size.
func (r *hedgeRig) pollOnce(src *lambdaemu.SQSEventSource) int {
	r.t.Helper()
	n, err := src.PollOnce(r.ctx, r.h.Handle)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// stalling is an endpoint that answers 200 after delay, or never while hanging is set;
// it counts the requests whose client hung up before it answered.
type stalling struct {
	*httptest.Server
	delay    atomic.Int64 // nanoseconds
	hanging  atomic.Bool
	requests atomic.Int32
	hungUp   atomic.Int32
}

func newStalling(t *testing.T) *stalling {
	s := &stalling{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body) // then the server notices the client hanging up
		s.requests.Add(1)
		wait := time.Duration(s.delay.Load())
		if s.hanging.Load() {
			wait = time.Minute
		}
		select {
		case <-req.Context().Done():
			s.hungUp.Add(1)
			return
		case <-time.After(wait):
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(s.Close)
	return s
}

// A first attempt that alone keeps its batch waiting is cut short once it has waited the
// hedge: the rest of the batch is delivered, the cut attempt counts as one with no answer (the
// endpoint got it, and was hung up on), and its record moves to the slow lane at once, where
// the endpoint, slow but answering within the timeout, gets the whole timeout and the
// webhook succeeds, the cut having spent nothing of the schedule.
func TestHedgeCutsAFirstAttemptThatAloneHoldsItsBatch(t *testing.T) {
	r := newHedgeRig(t)
	hang := newStalling(t)
	hang.hanging.Store(true)
	ok := newReceiver(t, answerStatus(http.StatusOK))
	slow, fine := r.instance(hang.URL), r.instance(ok.URL)

	held := r.publish(slow.ID, 1)[0]
	others := r.publish(fine.ID, 4)
	if n := r.pollOnce(r.source); n != 5 {
		t.Fatalf("the batch held %d records, want the 5 published", n)
	}
	if len(ok.got()) != 4 {
		t.Fatalf("the answering endpoint got %d webhooks, want 4", len(ok.got()))
	}
	for _, env := range others {
		if l := r.log(env.WebhookID); l.Status != webhook.StatusSuccess {
			t.Fatalf("webhook %s: %s, want success", env.WebhookID, l.Status)
		}
	}
	l := r.log(held.WebhookID)
	if l.Status != webhook.StatusRetrying || l.Attempts != 1 || l.CutAttempts != 1 || l.AutomaticAttempts() != 0 ||
		l.Error == nil || !strings.Contains(*l.Error, "cut short") {
		t.Fatalf("the held webhook: %s after %d attempts, %d cut (%v); want retrying after 1, cut short", l.Status, l.Attempts, l.CutAttempts, l.Error)
	}
	if hang.requests.Load() != 1 || hang.hungUp.Load() != 1 {
		t.Fatalf("the hanging endpoint got %d requests, hung up on %d; want 1 and 1", hang.requests.Load(), hang.hungUp.Load())
	}
	in, err := r.instances.Get(r.ctx, slow.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := in.Circuit.For(hang.URL); c.Failures != 1 {
		t.Fatalf("the shared circuit counts %d failures, want the cut attempt's 1", c.Failures)
	}
	if got, left := r.depthOf(r.slow.QueueURL), r.queueDepth(); got != 1 || left != 0 {
		t.Fatalf("%d messages in the slow lane, %d left in the events queue; want the held webhook moved", got, left)
	}

	// Answering now after four hedges, within the timeout.
	hang.hanging.Store(false)
	hang.delay.Store(int64(4 * hedgeAfter))
	r.pollOnce(r.slow)
	l = r.log(held.WebhookID)
	if l.Status != webhook.StatusSuccess || l.Attempts != 2 || l.AutomaticAttempts() != 1 {
		t.Fatalf("the held webhook: %s after %d attempts (%d automatic), want success after 2 (1)", l.Status, l.Attempts, l.AutomaticAttempts())
	}
	if hang.hungUp.Load() != 1 {
		t.Fatal("the slow lane cut an attempt short")
	}
}

// A first attempt cut before its request went out (here, in a TLS handshake the endpoint
// never answers) was no attempt: the endpoint has nothing. The record moves to the slow lane
// unsent, with no log written and nothing counted in the circuit.
func TestHedgeCutBeforeTheRequestWentOutIsNoAttempt(t *testing.T) {
	r := newHedgeRig(t)
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() }) // held open, never a word
		}
	}()
	ok := newReceiver(t, answerStatus(http.StatusOK))
	url := "https://" + silent.Addr().String() + "/hook"
	stuck, fine := r.instance(url), r.instance(ok.URL)

	held := r.publish(stuck.ID, 1)[0]
	r.publish(fine.ID, 4)
	if n := r.pollOnce(r.source); n != 5 {
		t.Fatalf("the batch held %d records, want the 5 published", n)
	}
	if len(ok.got()) != 4 {
		t.Fatalf("the answering endpoint got %d webhooks, want 4", len(ok.got()))
	}
	if l, err := r.logs.Get(r.ctx, held.WebhookID); err == nil {
		t.Fatalf("the held webhook has a log, %s after %d attempts (%d cut): want none, no attempt was made", l.Status, l.Attempts, l.CutAttempts)
	} else if webhook.ErrorCode(err) != webhook.ENotFound {
		t.Fatal(err)
	}
	in, err := r.instances.Get(r.ctx, stuck.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c := in.Circuit.For(url); c.Failures != 0 {
		t.Fatalf("the shared circuit counts %d failures, want none", c.Failures)
	}
	if got, left := r.depthOf(r.slow.QueueURL), r.queueDepth(); got != 1 || left != 0 {
		t.Fatalf("%d messages in the slow lane, %d left in the events queue; want the held webhook moved", got, left)
	}
}

// Nothing else is cut: a record alone in its batch holds no other, a retry takes the whole
// timeout (so an endpoint that is slow but answers loses at most a first attempt), and a
// first attempt is not cut while another record of its batch is still busy.
func TestHedgeCutsNothingElse(t *testing.T) {
	r := newHedgeRig(t)
	slowEndpoint := newStalling(t)
	slowEndpoint.delay.Store(int64(4 * hedgeAfter))
	ok := newReceiver(t, answerStatus(http.StatusOK))
	slow, fine := r.instance(slowEndpoint.URL), r.instance(ok.URL)

	t.Run("alone in its batch", func(t *testing.T) {
		env := r.publish(slow.ID, 1)[0]
		r.pollOnce(r.source)
		if l := r.log(env.WebhookID); l.Status != webhook.StatusSuccess || l.Attempts != 1 {
			t.Fatalf("%s after %d attempts, want success after 1", l.Status, l.Attempts)
		}
	})

	t.Run("a retry", func(t *testing.T) {
		var first atomic.Bool
		first.Store(true)
		flaky := newReceiver(t, func(_ int, w http.ResponseWriter) {
			if first.Swap(false) {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			time.Sleep(4 * hedgeAfter)
			w.WriteHeader(http.StatusOK)
		})
		inst := r.instance(flaky.URL)
		env := r.publish(inst.ID, 1)[0]
		r.pollOnce(r.source) // answered 500: retried, made visible at once by the rig
		r.publish(fine.ID, 4)
		for r.queueDepth() > 0 {
			r.pollOnce(r.source)
		}
		if l := r.log(env.WebhookID); l.Status != webhook.StatusSuccess || l.Attempts != 2 {
			t.Fatalf("%s after %d attempts (%v), want success after 2", l.Status, l.Attempts, l.Error)
		}
	})

	t.Run("beside a busy record", func(t *testing.T) {
		// Two slow first attempts in one batch with a record whose store read takes longer
		// than both: neither is cut while it is busy.
		envs := r.publish(slow.ID, 2)
		retried := r.publish(fine.ID, 1)[0]
		r.handleBesideABusyRecord(10*hedgeAfter, retried.WebhookID, 3)
		for _, env := range envs {
			if l := r.log(env.WebhookID); l.Status != webhook.StatusSuccess || l.Attempts != 1 {
				t.Fatalf("%s after %d attempts (%v), want success after 1", l.Status, l.Attempts, l.Error)
			}
		}
	})
	if n := slowEndpoint.hungUp.Load(); n != 0 {
		t.Fatalf("%d attempts were cut short", n)
	}
}

// A first attempt past the hedge that waits on a busy record of its batch is cut as soon as
// that record is done, not at its own timeout.
func TestHedgeCutsOnceTheBusyRecordIsDone(t *testing.T) {
	r := newHedgeRig(t)
	hang := newStalling(t)
	hang.hanging.Store(true)
	ok := newReceiver(t, answerStatus(http.StatusOK))
	stuck, fine := r.instance(hang.URL), r.instance(ok.URL)
	held := r.publish(stuck.ID, 1)[0]
	retried := r.publish(fine.ID, 1)[0]
	r.handleBesideABusyRecord(5*hedgeAfter, retried.WebhookID, 2)
	if l := r.log(retried.WebhookID); l.Status != webhook.StatusSuccess {
		t.Fatalf("the busy record's webhook: %s, want success", l.Status)
	}
	// Cut, not timed out: a timeout is an attempt of the schedule.
	if l := r.log(held.WebhookID); l.CutAttempts != 1 || l.AutomaticAttempts() != 0 {
		t.Fatalf("the held webhook: %d attempts, %d cut; want its one attempt cut", l.Attempts, l.CutAttempts)
	}
}

// handleBesideABusyRecord hands the next batch, of want records, to a handler whose log reads
// take delay. The record of webhook busyID is made a second receive, which reads its log
// first: it is busy with the store for delay.
func (r *hedgeRig) handleBesideABusyRecord(delay time.Duration, busyID string, want int) {
	r.t.Helper()
	h := deliver.NewHandler(deliver.Config{
		Logs: &slowGets{LogStore: r.logs, delay: delay}, Instances: r.instances, Queue: r.vis, QueueURL: r.queueURL,
		SlowLane: &deliver.SlowLane{Queue: r.sqs, URL: r.slow.QueueURL},
		Sender:   deliver.NewSender(deliver.SenderOptions{Timeout: 30 * time.Second, AllowHTTP: true, AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}),
		Policy:   webhook.RetryPolicy{Schedule: webhook.RetrySchedule{time.Second}}, Logger: slog.New(slog.DiscardHandler),
		Hedge: hedgeAfter,
	})
	batch := r.receiveBatch()
	if len(batch.Records) != want {
		r.t.Fatalf("the batch held %d records, want %d", len(batch.Records), want)
	}
	for i := range batch.Records {
		if strings.Contains(batch.Records[i].Body, busyID) {
			batch.Records[i].Attributes["ApproximateReceiveCount"] = "2"
		}
	}
	if _, err := h.Handle(r.ctx, events.SQSEvent{Records: batch.Records}); err != nil {
		r.t.Fatal(err)
	}
}

// slowGets is a log store whose reads take delay: a record busy with the store.
type slowGets struct {
	deliver.LogStore
	delay time.Duration
}

func (s *slowGets) Get(ctx context.Context, webhookID string) (*webhook.Log, error) {
	time.Sleep(s.delay)
	return s.LogStore.Get(ctx, webhookID)
}

// A cut attempt whose move to the slow lane fails is not lost: its record comes back in the
// events queue as a retry (the cut counted), is moved then, and is delivered in the slow lane.
// A store failing as the cut is recorded brings the record back too, unrecorded.
func TestHedgeCutSurvivesFailures(t *testing.T) {
	tests := []struct {
		name string
		// moveFails and saveFails fail the first move to the slow lane and the held
		// webhook's first log write.
		moveFails, saveFails bool
		wantAttempts         int // when delivered: the cut (unless unrecorded) and the slow lane's
	}{
		{"the move fails", true, false, 2},
		{"the log write fails", false, true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newHedgeRig(t)
			lane := &failingSender{sqs: r.sqs}
			if tt.moveFails {
				lane.failures.Store(1)
			}
			logs := &failingSaves{LogStore: r.logs}
			sender := deliver.SenderOptions{Timeout: 30 * time.Second, AllowHTTP: true, AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
			r.h = deliver.NewHandler(deliver.Config{
				Logs: logs, Instances: r.instances, Queue: r.vis, QueueURL: r.queueURL,
				SlowLane: &deliver.SlowLane{Queue: lane, URL: r.slow.QueueURL},
				Sender:   deliver.NewSender(sender), Policy: webhook.RetryPolicy{Schedule: webhook.RetrySchedule{time.Second}},
				Logger: slog.New(slog.DiscardHandler), Circuits: deliver.NewCircuits(deliver.CircuitOptions{Shared: r.instances}),
				Hedge: hedgeAfter,
			})
			hang := newStalling(t)
			hang.hanging.Store(true)
			ok := newReceiver(t, answerStatus(http.StatusOK))
			slow, fine := r.instance(hang.URL), r.instance(ok.URL)
			held := r.publish(slow.ID, 1)[0]
			if tt.saveFails {
				logs.id = held.WebhookID
				logs.left.Store(1)
			}
			r.publish(fine.ID, 4)
			// The first batch: the records of the answering endpoint and, after the failure,
			// the held one, which the rig makes visible again at once.
			for range 10 {
				if r.queueDepth() == 0 {
					break
				}
				r.pollOnce(r.source)
			}
			if got := r.queueDepth(); got != 0 {
				t.Fatalf("%d messages left in the events queue", got)
			}
			hang.hanging.Store(false)
			r.pollOnce(r.slow)
			l := r.log(held.WebhookID)
			if l.Status != webhook.StatusSuccess || l.Attempts != tt.wantAttempts || hang.requests.Load() != 2 {
				t.Fatalf("the held webhook: %s after %d attempts, %d requests; want success after %d, 2 requests",
					l.Status, l.Attempts, hang.requests.Load(), tt.wantAttempts)
			}
		})
	}
}

// failingSaves is a log store whose first left saves of webhook id fail, as a store down does.
type failingSaves struct {
	deliver.LogStore
	id   string
	left atomic.Int32
}

func (f *failingSaves) Save(ctx context.Context, prev, next *webhook.Log) error {
	if next.WebhookID == f.id && f.left.Add(-1) >= 0 {
		return errors.New("injected: the log table is unavailable")
	}
	return f.LogStore.Save(ctx, prev, next)
}
