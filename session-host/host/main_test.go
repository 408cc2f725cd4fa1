package host

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/webhook"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// idleLeases holds nothing: these tests drive the sessions' event path directly.
type idleLeases struct{}

func (idleLeases) Run(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
func (idleLeases) Release(context.Context) error { return nil }

// SIGTERM in the middle of a burst of events: every event acked to WhatsApp before the host
// exits is on the queue; the rest were not acked, so WhatsApp delivers them again.
func TestShutdownDuringBurstLosesNothingAcked(t *testing.T) {
	r := newHostRig(t)
	cfg := r.config("host-test")
	m := r.newMain(cfg)
	ctx, sigterm := context.WithCancel(context.Background())
	defer sigterm()
	ran := make(chan error, 1)
	go func() { ran <- m.Run(ctx) }()

	sink := NewSink(context.Background(), "inst_burst", burstEvents, m.batcher, quietLogger)
	const events = 300
	acked := make([]bool, events)
	var wg sync.WaitGroup
	var done atomic.Int32
	for n := range events {
		wg.Add(1)
		go func() {
			defer wg.Done()
			acked[n] = sink.Handle(n)
			done.Add(1)
		}()
		if n%20 == 0 {
			time.Sleep(10 * time.Millisecond) // a burst, not one instant
		}
		if n == events/2 {
			// SIGTERM once a good part of the burst is through, with the rest in flight.
			for done.Load() < events/4 {
				time.Sleep(time.Millisecond)
			}
			sigterm()
			go m.Close()
		}
	}
	wg.Wait()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	onQueue := drainQueue(t, sqs.NewFromConfig(r.awsCfg), cfg.QueueURL)
	missing, ackedCount := 0, 0
	for n, ok := range acked {
		if !ok {
			continue
		}
		ackedCount++
		if onQueue[burstKey(n)] == 0 {
			missing++
		}
	}
	if ackedCount == 0 || missing > 0 {
		t.Fatalf("%d of %d acked events missing from the queue", missing, ackedCount)
	}
	t.Logf("%d events acked before shutdown, all on the queue; %d left for WhatsApp to redeliver", ackedCount, events-ackedCount)
}

func burstKey(n int) string {
	return "burst-" + string(rune('a'+n%26)) + "-" + time.Duration(n).String()
}

func burstEvents(evt any) []Event {
	n, ok := evt.(int)
	if !ok {
		return nil
	}
	data, _ := json.Marshal(map[string]string{"key": burstKey(n)})
	return []Event{{Name: webhook.EventMessageReceived, Data: data, Key: burstKey(n), At: time.Now(), Redelivered: true}}
}

// drainQueue receives every message and counts the keys their data carries.
func drainQueue(t *testing.T, client *sqs.Client, url string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for empty := 0; empty < 2; {
		out, err := client.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: &url, MaxNumberOfMessages: 10, VisibilityTimeout: 600})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			empty++
			continue
		}
		for _, msg := range out.Messages {
			var env struct{ Data struct{ Key string } }
			if err := json.Unmarshal([]byte(*msg.Body), &env); err != nil {
				t.Fatal(err)
			}
			got[env.Data.Key]++
		}
	}
	return got
}
