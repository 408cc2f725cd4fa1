package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/shared/webhook"
)

// MaxBatch is the most messages one SendMessageBatch call takes.
const MaxBatch = 10

// MaxMessageBytes is the largest message body the events queue takes.
const MaxMessageBytes = 256 * 1024

// maxBatchBytes bounds one SendMessageBatch: SQS refuses a whole batch whose messages, bodies
// and attributes together, pass this, so ten large events go in more than one call.
const maxBatchBytes = 256 * 1024

// Message attributes set on every event, so a queue can be inspected without parsing bodies.
const (
	AttrEvent      = "event"
	AttrInstanceID = "instanceId"
)

// BatchSender is the part of SQS a Publisher uses.
type BatchSender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

// Publisher puts events on the events queue.
type Publisher struct {
	sqs      BatchSender
	queueURL string
	now      func() time.Time
	// Backoff is the wait before each resend of entries SQS did not take.
	Backoff []time.Duration
}

// NewPublisher returns a Publisher for the queue at queueURL.
func NewPublisher(client BatchSender, queueURL string) *Publisher {
	return &Publisher{
		sqs: client, queueURL: queueURL, now: time.Now,
		Backoff: []time.Duration{100 * time.Millisecond, 400 * time.Millisecond, 1600 * time.Millisecond},
	}
}

// Publish enqueues the envelopes, in batches of up to ten. An envelope without a webhook id or
// timestamp gets one here, in place, so a caller that publishes the same envelopes again after
// an error sends the same ids and receivers can drop the duplicates. Entries SQS refuses are
// sent again after each Backoff step; an error means some envelope may not be on the queue.
func (p *Publisher) Publish(ctx context.Context, envs []*webhook.Envelope) error {
	bodies := make([]string, len(envs))
	for i, e := range envs {
		now := p.now()
		if e.WebhookID == "" {
			e.WebhookID = webhook.NewWebhookID(now)
		}
		if e.Timestamp == "" {
			e.Timestamp = webhook.FormatTime(now)
		}
		if len(e.Data) == 0 {
			e.Data = json.RawMessage("{}")
		}
		if err := e.Validate(); err != nil {
			return fmt.Errorf("publish %s: %w", e.WebhookID, err)
		}
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("publish %s: %w", e.WebhookID, err)
		}
		body := escapeForSQS(string(b))
		if len(body)+attributesSize(e) > MaxMessageBytes {
			return webhook.Errorf(webhook.EPayloadTooLarge, "data: event %s is %d bytes; the most is %d", e.WebhookID, len(body), MaxMessageBytes)
		}
		bodies[i] = body
	}
	for start := 0; start < len(envs); {
		end, size := start, 0
		for end < len(envs) && end-start < MaxBatch {
			n := len(bodies[end]) + attributesSize(envs[end])
			if end > start && size+n > maxBatchBytes {
				break
			}
			size += n
			end++
		}
		if err := p.sendBatch(ctx, envs[start:end], bodies[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// escapeForSQS writes as JSON escapes the two characters that json.Marshal leaves as they are
// but SQS refuses in a message body, U+FFFE and U+FFFF (its allowed set ends at U+FFFD below
// the supplementary planes). The body means the same JSON; without this such an event could
// never be queued.
func escapeForSQS(body string) string {
	if !strings.ContainsAny(body, "\ufffe\uffff") {
		return body
	}
	return strings.NewReplacer("\ufffe", `\ufffe`, "\uffff", `\uffff`).Replace(body)
}

// attributesSize is what an envelope's message attributes count towards SQS's size limits:
// each name, type and value.
func attributesSize(e *webhook.Envelope) int {
	n := len(AttrEvent) + len("String") + len(e.Event)
	if e.InstanceID != "" {
		n += len(AttrInstanceID) + len("String") + len(e.InstanceID)
	}
	return n
}

func (p *Publisher) sendBatch(ctx context.Context, envs []*webhook.Envelope, bodies []string) error {
	pending := make([]types.SendMessageBatchRequestEntry, len(envs))
	for i, e := range envs {
		attrs := map[string]types.MessageAttributeValue{
			AttrEvent: {DataType: aws.String("String"), StringValue: aws.String(e.Event)},
		}
		if e.InstanceID != "" {
			attrs[AttrInstanceID] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(e.InstanceID)}
		}
		pending[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(bodies[i]), MessageAttributes: attrs}
	}
	var lastErr error
	for try := 0; ; try++ {
		out, err := p.sqs.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: &p.queueURL, Entries: pending})
		if err != nil {
			lastErr = err
		} else {
			refused := make(map[string]bool, len(out.Failed))
			for _, f := range out.Failed {
				refused[aws.ToString(f.Id)] = true
				lastErr = fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
			}
			pending = slices.DeleteFunc(pending, func(e types.SendMessageBatchRequestEntry) bool { return !refused[aws.ToString(e.Id)] })
		}
		if len(pending) == 0 {
			return nil
		}
		if try >= len(p.Backoff) {
			return fmt.Errorf("publish %d of %d events: %w", len(pending), len(envs), lastErr)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("publish %d of %d events: %w", len(pending), len(envs), errors.Join(ctx.Err(), lastErr))
		case <-time.After(p.Backoff[try]):
		}
	}
}
