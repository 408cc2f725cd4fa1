package lambdaemu_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/webhook"
)

func TestMain(m *testing.M) { awstest.Main(m) }

func TestSQSEventSourceDeletesAllButReportedFailures(t *testing.T) {
	ctx := context.Background()
	res := awstest.Stack(t)
	client := sqs.NewFromConfig(awstest.Config(t))
	url := res.QueueURL("EventsQueue")
	envs := make([]*webhook.Envelope, 4)
	for i := range envs {
		envs[i] = &webhook.Envelope{Event: webhook.EventMessageReceived, InstanceID: "inst_1", Data: json.RawMessage(`{}`)}
	}
	if err := queue.NewPublisher(client, url).Publish(ctx, envs); err != nil {
		t.Fatal(err)
	}
	src := &lambdaemu.SQSEventSource{SQS: client, QueueURL: url, QueueARN: "arn:aws:sqs:us-east-1:000000000000:q", Region: "us-east-1", BatchSize: 10}

	// First: the handler errors, so nothing may be deleted.
	var seen []events.SQSMessage
	n, err := src.PollOnce(ctx, func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		seen = ev.Records
		for _, r := range ev.Records {
			if _, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: &r.ReceiptHandle, VisibilityTimeout: 0}); err != nil {
				t.Fatal(err)
			}
		}
		return events.SQSEventResponse{}, errors.New("crash")
	})
	if err != nil || n != 4 {
		t.Fatalf("n %d err %v", n, err)
	}
	rec := seen[0]
	if rec.EventSource != "aws:sqs" || rec.EventSourceARN == "" || rec.Attributes["ApproximateReceiveCount"] != "1" ||
		rec.MessageAttributes[queue.AttrEvent].StringValue == nil {
		t.Fatalf("record not shaped like Lambda's: %+v", rec)
	}

	// Then: one record reported failed stays, the rest are deleted.
	var keep string
	n, err = src.PollOnce(ctx, func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		keep = ev.Records[0].MessageId
		if _, err := client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: &url, ReceiptHandle: &ev.Records[0].ReceiptHandle, VisibilityTimeout: 0}); err != nil {
			t.Fatal(err)
		}
		return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: keep}}}, nil
	})
	if err != nil || n != 4 {
		t.Fatalf("second poll: n %d err %v", n, err)
	}
	var left []string
	n, err = src.PollOnce(ctx, func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		for _, r := range ev.Records {
			left = append(left, r.MessageId)
		}
		return events.SQSEventResponse{}, nil
	})
	if err != nil || n != 1 || len(left) != 1 || left[0] != keep {
		t.Fatalf("left %v (n %d, err %v), want only %s", left, n, err, keep)
	}
}

// A message that reaches the queue while a stopped source's last long poll is still open goes
// to the next poller at once, not after its visibility timeout.
func TestSQSEventSourceStoppingStrandsNothing(t *testing.T) {
	ctx := context.Background()
	res := awstest.Stack(t)
	client := sqs.NewFromConfig(awstest.Config(t))
	url := res.QueueURL("EventsQueue")
	src := &lambdaemu.SQSEventSource{SQS: client, QueueURL: url, BatchSize: 10, WaitTime: 2 * time.Second}

	stop, cancel := context.WithCancel(ctx)
	polled := make(chan int, 1)
	handled := 0
	go func() {
		n, _ := src.PollOnce(stop, func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
			handled++
			return events.SQSEventResponse{}, nil
		})
		polled <- n
	}()
	time.Sleep(300 * time.Millisecond) // the poll is open on the server
	cancel()
	env := &webhook.Envelope{Event: webhook.EventMessageReceived, InstanceID: "inst_1", Data: json.RawMessage(`{}`)}
	if err := queue.NewPublisher(client, url).Publish(ctx, []*webhook.Envelope{env}); err != nil {
		t.Fatal(err)
	}
	if n := <-polled; n != 0 || handled != 0 {
		t.Fatalf("the stopped source handled %d of %d messages", handled, n)
	}
	next := &lambdaemu.SQSEventSource{SQS: client, QueueURL: url, BatchSize: 10, WaitTime: time.Second}
	got := 0
	if _, err := next.PollOnce(ctx, func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		got = len(ev.Records)
		return events.SQSEventResponse{}, nil
	}); err != nil || got != 1 {
		t.Fatalf("the next poller got %d messages (%v), want the one sent while the first stopped", got, err)
	}
}

// Run hands out Concurrency batches at once, each to the handler of a container of its own.
func TestSQSEventSourceRunsConcurrentBatches(t *testing.T) {
	const pollers = 4
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	res := awstest.Stack(t)
	client := sqs.NewFromConfig(awstest.Config(t))
	url := res.QueueURL("EventsQueue")
	envs := make([]*webhook.Envelope, pollers)
	for i := range envs {
		envs[i] = &webhook.Envelope{Event: webhook.EventMessageReceived, InstanceID: "inst_1", Data: json.RawMessage(`{}`)}
	}
	if err := queue.NewPublisher(client, url).Publish(ctx, envs); err != nil {
		t.Fatal(err)
	}
	src := &lambdaemu.SQSEventSource{SQS: client, QueueURL: url, BatchSize: 1, WaitTime: time.Second, Concurrency: pollers}

	// Each handler holds its batch until all four are in hand at once; with fewer pollers
	// the fourth batch never comes and the test gives up.
	var (
		mu         sync.Mutex
		inHand     int
		containers int
		allInHand  = make(chan struct{})
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		src.Run(ctx, func() lambdaemu.SQSHandler {
			mu.Lock()
			containers++
			mu.Unlock()
			return func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
				mu.Lock()
				inHand += len(ev.Records)
				if inHand == pollers {
					close(allInHand)
				}
				mu.Unlock()
				<-allInHand
				return events.SQSEventResponse{}, nil
			}
		})
	}()
	select {
	case <-allInHand:
	case <-time.After(20 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%d of %d batches in hand at once", inHand, pollers)
	}
	stop()
	<-done
	if containers != pollers {
		t.Fatalf("%d containers for %d pollers", containers, pollers)
	}
}
