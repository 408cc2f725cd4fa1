package deliver_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// Isolation benchmark settings: 50 instances, 5 of whose endpoints hang past the timeout.
// The timeout is 2 s instead of the deployed 10 s so a run takes minutes; what is compared is
// the other 45 instances' throughput with and without the hanging ones, in the same run, in
// alternating phases, so that a machine busier in one half of the run than the other moves
// both sides alike.
const (
	isoInstances = 50
	isoHanging   = 5
	isoEvents    = 20 // per instance and phase
	isoRounds    = 2  // pairs of phases: every endpoint answering, then five hanging
	isoTimeout   = 2 * time.Second
	// isoPollers caps the template's MaximumConcurrency (20): moto's SQS times out serving
	// 20 long polls at once. Fewer pollers make a hang hold a larger share of them, so the
	// test is the stricter for it.
	isoPollers = 5
)

// BenchmarkIsolation delivers the same mixed workload in alternating phases on the emulator
// (real SQS queues, the tables of template.yaml, one HTTP receiver per instance) with as many
// concurrent pollers per queue as the template's MaximumConcurrency, each a container with its
// own handler: with every endpoint answering, then with five of them hanging, twice. It
// reports the 45 healthy instances' deliveries per second over each kind of phase and their
// ratio, which must be at least 0.8. The deployed setting is the slow lane with the default circuits; the control is
// the same run with neither (breakers that never open, no slow lane).
func BenchmarkIsolation(b *testing.B) {
	for _, tt := range []struct {
		name     string
		isolated bool
	}{
		{"slow-lane", true},
		{"control", false},
	} {
		b.Run(tt.name, func(b *testing.B) {
			for range b.N {
				healthy, hung := isolationRun(b, tt.isolated)
				ratio := hung / healthy
				b.ReportMetric(healthy, "healthy-deliveries/s")
				b.ReportMetric(hung, "with-hangs-deliveries/s")
				b.ReportMetric(ratio, "ratio")
				if tt.isolated && ratio < 0.8 {
					b.Errorf("the 45 healthy instances kept %.0f%% of their throughput (%.1f/s of %.1f/s), want at least 80%%", ratio*100, hung, healthy)
				}
			}
		})
	}
}

// isolationRun returns the 45 instances' deliveries per second without and with hangs.
func isolationRun(b *testing.B, isolated bool) (healthy, hung float64) {
	ctx := context.Background()
	res := awstest.Stack(b)
	cfg := awstest.Config(b)
	// Every request to the emulator, by operation: what each phase asked of it.
	calls := &callRecorder{}
	cfg.APIOptions = append(cfg.APIOptions, calls.register)
	db, sq := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		b.Fatal(err)
	}
	sources, err := tpl.SQSSources()
	if err != nil {
		b.Fatal(err)
	}
	pollers := map[string]int{} // per queue
	for _, s := range sources {
		if s.Function == "WebhookDeliveryFunction" {
			pollers[s.Queue] = min(s.MaxConcurrency, isoPollers)
		}
	}

	var hanging atomic.Bool
	var delivered atomic.Int64 // 2xx answers of the healthy endpoints
	instances := store.NewInstanceStore(db, res.Table("InstancesTable"))
	ids := make([]string, isoInstances)
	for i := range ids {
		hangs := i < isoHanging
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if hangs && hanging.Load() {
				<-r.Context().Done() // past the timeout: the sender hangs up
				return
			}
			if !hangs {
				delivered.Add(1)
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		b.Cleanup(srv.Close)
		now := time.Now()
		in := &webhook.Instance{
			ID: "inst_" + webhook.NewWebhookID(now)[3:], WebhookURL: srv.URL + "/hook",
			WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now,
		}
		if err := instances.Create(ctx, in); err != nil {
			b.Fatal(err)
		}
		ids[i] = in.ID
	}

	queueURL, slowQueue := res.QueueURL("EventsQueue"), res.Queue("SlowEventsQueue")
	logs := store.NewLogStore(db, res.Table("WebhookLogTable"), res.Table("WebhookStatsTable"), 24*time.Hour)
	// As the delivery function is wired: circuits shared through the instances' items, and
	// the slow lane; the control has breakers that never open and no slow lane.
	circuit := deliver.CircuitOptions{Shared: instances, ProbeHold: isoTimeout + 5*time.Second}
	var lane *deliver.SlowLane
	if isolated {
		lane = &deliver.SlowLane{Queue: sq, URL: slowQueue.URL}
	} else {
		circuit = deliver.CircuitOptions{Threshold: 1 << 30}
	}
	container := func() lambdaemu.SQSHandler {
		h := deliver.NewHandler(deliver.Config{
			Logs: logs, Instances: deliver.NewInstanceCache(instances, 5*time.Second), Queue: sq, QueueURL: queueURL, SlowLane: lane,
			Sender: deliver.NewSender(deliver.SenderOptions{
				Timeout: isoTimeout, AllowHTTP: true, AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			}),
			Policy:  webhook.RetryPolicy{Schedule: webhook.DefaultRetryDelays, MaxRetryAfter: time.Hour},
			Metrics: metrics.NewEmitter(io.Discard, "wagate"), Logger: slog.New(slog.DiscardHandler),
			Circuits: deliver.NewCircuits(circuit),
		})
		return h.Handle
	}
	pub := queue.NewPublisher(sq, queueURL)

	// phase publishes every instance's events, interleaved, runs the pollers until the healthy
	// instances' events are all delivered, and returns how long that took.
	phase := func() time.Duration {
		envs := make([]*webhook.Envelope, 0, isoInstances*isoEvents)
		for range isoEvents {
			for _, id := range ids {
				envs = append(envs, &webhook.Envelope{Event: webhook.EventMessageReceived, InstanceID: id, Data: json.RawMessage(costEventData)})
			}
		}
		delivered.Store(0)
		want := int64((isoInstances - isoHanging) * isoEvents)
		srcs := []*lambdaemu.SQSEventSource{{
			SQS: sq, QueueURL: queueURL, QueueARN: res.Queue("EventsQueue").ARN, BatchSize: 10, WaitTime: time.Second,
			Concurrency: pollers["EventsQueue"],
		}}
		if isolated {
			srcs = append(srcs, &lambdaemu.SQSEventSource{
				SQS: sq, QueueURL: slowQueue.URL, QueueARN: slowQueue.ARN, BatchSize: 10, WaitTime: time.Second,
				Concurrency: pollers["SlowEventsQueue"],
			})
		}
		run, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		start := time.Now()
		publishErr := make(chan error, 1)
		go func() { publishErr <- publishSteadily(ctx, sq, pub, queueURL, envs) }()
		for _, src := range srcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				src.Run(run, container)
			}()
		}
		for delivered.Load() < want {
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("%d of %d webhooks delivered after 5 minutes", delivered.Load(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
		elapsed := time.Since(start)
		stop()
		wg.Wait()
		if err := <-publishErr; err != nil {
			b.Fatal(err)
		}
		made, sent := calls.take()
		b.Logf("hanging %v: %d healthy webhooks in %s; requests to the emulator: %v; instance reads: %d", hanging.Load(), want,
			elapsed.Round(time.Second), sent, instanceReads(made, res.Table("InstancesTable")))
		return elapsed
	}
	calls.take() // the set-up's
	b.ResetTimer()
	var answering, hangs time.Duration
	for range isoRounds {
		hanging.Store(false)
		answering += phase()
		hanging.Store(true)
		hangs += phase()
	}
	perPhase := float64((isoInstances - isoHanging) * isoEvents * isoRounds)
	return perPhase / answering.Seconds(), perPhase / hangs.Seconds()
}

// isoBacklog is how many visible messages publishSteadily keeps in the events queue at most:
// enough that no poller waits for work. moto's SQS spends time in proportion to a queue's
// length on every call, so a phase's thousand events published at once would make the
// emulator's queue, not the endpoints, what the pollers wait on.
const isoBacklog = 150

// publishSteadily publishes envs 50 at a time whenever fewer than isoBacklog messages wait.
func publishSteadily(ctx context.Context, sq *sqs.Client, pub *queue.Publisher, queueURL string, envs []*webhook.Envelope) error {
	for start := 0; start < len(envs); start += 50 {
		for {
			out, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
				QueueUrl: &queueURL, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
			})
			if err != nil {
				return err
			}
			if n, _ := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]); n < isoBacklog {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if err := pub.Publish(ctx, envs[start:min(start+50, len(envs))]); err != nil {
			return err
		}
	}
	return nil
}

// instanceReads counts the calls that read an instance (each container's cache misses).
func instanceReads(calls []awsCall, table string) int {
	n := 0
	for _, c := range calls {
		if in, ok := c.in.(*dynamodb.GetItemInput); ok && aws.ToString(in.TableName) == table {
			n++
		}
	}
	return n
}
