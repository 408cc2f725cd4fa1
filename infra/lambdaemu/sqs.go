package lambdaemu

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// SQSHandler is a Lambda SQS handler with partial batch responses.
type SQSHandler func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// SQSReceiver is the part of SQS an SQSSQSEventSource uses.
type SQSReceiver interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, opts ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error)
}

// SQSEventSource drives a handler as Lambda's SQS event source mapping with
// ReportBatchItemFailures does: it receives up to BatchSize messages, invokes the handler
// with them, and deletes every message the handler did not report failed. A handler error
// fails the whole batch. Failed messages are left alone and come back when their visibility
// timeout ends.
type SQSEventSource struct {
	SQS       SQSReceiver
	QueueURL  string
	QueueARN  string
	Region    string
	BatchSize int           // 1 to 10
	WaitTime  time.Duration // long polling, up to 20 s
	// Concurrency is how many batches Run handles at once, as Lambda runs up to the mapping's
	// MaximumConcurrency invocations; 1 when 0.
	Concurrency int
	Logger      *slog.Logger
}

// PollOnce receives one batch and handles it. It returns how many messages it received.
//
// The receive is not cut off when ctx ends: SQS goes on with a long poll its client gave up
// on, and would hand a message that arrives meanwhile to nobody, hidden until its visibility
// timeout ends (minutes, for the events queue). The poll ends within WaitTime instead, and
// what it brings after ctx ended is made visible again at once, for the next poller.
func (s *SQSEventSource) PollOnce(ctx context.Context, h SQSHandler) (int, error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.WaitTime+10*time.Second)
	defer cancel()
	out, err := s.SQS.ReceiveMessage(rctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    &s.QueueURL,
		MaxNumberOfMessages:         int32(min(max(s.BatchSize, 1), 10)),
		WaitTimeSeconds:             int32(min(s.WaitTime/time.Second, 20)),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	})
	if err != nil {
		return 0, fmt.Errorf("receive from %s: %w", s.QueueURL, err)
	}
	if len(out.Messages) == 0 {
		return 0, nil
	}
	if ctx.Err() != nil {
		return 0, s.release(rctx, out.Messages)
	}
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(out.Messages))}
	for i, m := range out.Messages {
		ev.Records[i] = s.record(m)
	}
	resp, err := h(ctx, ev)
	if err != nil {
		// Lambda treats an invocation error as every record failed.
		s.logger().Warn("handler failed the whole batch", "messages", len(out.Messages), "error", err)
		return len(out.Messages), nil
	}
	failed := make(map[string]bool, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		failed[f.ItemIdentifier] = true
	}
	var del []types.DeleteMessageBatchRequestEntry
	for i, m := range out.Messages {
		if !failed[aws.ToString(m.MessageId)] {
			del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(del) == 0 {
		return len(out.Messages), nil
	}
	dout, err := s.SQS.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: &s.QueueURL, Entries: del})
	if err != nil {
		return len(out.Messages), fmt.Errorf("delete from %s: %w", s.QueueURL, err)
	}
	for _, f := range dout.Failed {
		// The message comes back and is handled again: at least once, as on Lambda.
		s.logger().Warn("delete failed", "id", aws.ToString(f.Id), "code", aws.ToString(f.Code), "message", aws.ToString(f.Message))
	}
	return len(out.Messages), nil
}

// release makes received messages visible again at once.
func (s *SQSEventSource) release(ctx context.Context, msgs []types.Message) error {
	entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}
	}
	out, err := s.SQS.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: &s.QueueURL, Entries: entries})
	if err == nil && len(out.Failed) > 0 {
		err = fmt.Errorf("%s: %s", aws.ToString(out.Failed[0].Code), aws.ToString(out.Failed[0].Message))
	}
	if err != nil {
		return fmt.Errorf("release %d messages received while stopping: %w", len(msgs), err)
	}
	return nil
}

// Run polls with Concurrency pollers until ctx ends. Each poller stands for one warm Lambda
// container: it calls container once for the handler it then invokes, so what a handler
// keeps in memory (caches, circuit breakers) is per container, as on Lambda. Receive errors
// are logged and retried after a pause.
func (s *SQSEventSource) Run(ctx context.Context, container func() SQSHandler) {
	var wg sync.WaitGroup
	for range max(s.Concurrency, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.poll(ctx, container())
		}()
	}
	wg.Wait()
}

func (s *SQSEventSource) poll(ctx context.Context, h SQSHandler) {
	for ctx.Err() == nil {
		if _, err := s.PollOnce(ctx, h); err != nil && ctx.Err() == nil {
			s.logger().Error("poll events queue", "error", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (s *SQSEventSource) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// record converts a received message to what Lambda passes in an SQS event.
func (s *SQSEventSource) record(m types.Message) events.SQSMessage {
	attrs := make(map[string]string, len(m.Attributes))
	for k, v := range m.Attributes {
		attrs[k] = v
	}
	mattrs := make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
	for k, v := range m.MessageAttributes {
		mattrs[k] = events.SQSMessageAttribute{
			StringValue: v.StringValue, BinaryValue: v.BinaryValue, DataType: aws.ToString(v.DataType),
		}
	}
	return events.SQSMessage{
		MessageId:              aws.ToString(m.MessageId),
		ReceiptHandle:          aws.ToString(m.ReceiptHandle),
		Body:                   aws.ToString(m.Body),
		Md5OfBody:              aws.ToString(m.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes:             attrs,
		MessageAttributes:      mattrs,
		EventSourceARN:         s.QueueARN,
		EventSource:            "aws:sqs",
		AWSRegion:              s.Region,
	}
}
