package queue

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/wagate/wagate/shared/webhook"
)

// scriptedSQS answers SendMessageBatch from a script of failures, recording every call.
type scriptedSQS struct {
	calls    [][]types.SendMessageBatchRequestEntry
	failCall map[int]error           // the whole call fails
	failIDs  map[int]map[string]bool // entries refused in that call
}

func (s *scriptedSQS) SendMessageBatch(_ context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	n := len(s.calls)
	s.calls = append(s.calls, slices.Clone(in.Entries))
	if err := s.failCall[n]; err != nil {
		return nil, err
	}
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		if s.failIDs[n][aws.ToString(e.Id)] {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("InternalError"), Message: aws.String("try again"), SenderFault: false})
			continue
		}
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id, MessageId: aws.String("m")})
	}
	return out, nil
}

func envelopes(n int) []*webhook.Envelope {
	out := make([]*webhook.Envelope, n)
	for i := range out {
		out[i] = &webhook.Envelope{Event: webhook.EventMessageReceived, InstanceID: "inst_1", Data: json.RawMessage(`{"body":"hi"}`)}
	}
	return out
}

func TestPublishBatchesAndAssignsIDs(t *testing.T) {
	fake := &scriptedSQS{}
	p := NewPublisher(fake, "q")
	envs := envelopes(23)
	if err := p.Publish(context.Background(), envs); err != nil {
		t.Fatal(err)
	}
	if len(fake.calls) != 3 || len(fake.calls[0]) != 10 || len(fake.calls[2]) != 3 {
		t.Fatalf("calls: %d", len(fake.calls))
	}
	ids := map[string]bool{}
	for _, e := range envs {
		if !strings.HasPrefix(e.WebhookID, "wh_") || e.Timestamp == "" || ids[e.WebhookID] {
			t.Fatalf("envelope %+v", e)
		}
		ids[e.WebhookID] = true
	}
	var body webhook.Envelope
	if err := json.Unmarshal([]byte(aws.ToString(fake.calls[0][0].MessageBody)), &body); err != nil || body.WebhookID != envs[0].WebhookID {
		t.Fatalf("body %v: %v", body, err)
	}
	if got := aws.ToString(fake.calls[0][0].MessageAttributes[AttrEvent].StringValue); got != webhook.EventMessageReceived {
		t.Fatalf("event attribute %q", got)
	}
}

func TestPublishResendsWhatSQSRefused(t *testing.T) {
	tests := []struct {
		name    string
		fake    *scriptedSQS
		calls   int
		wantErr bool
	}{
		{"partial failure resent", &scriptedSQS{failIDs: map[int]map[string]bool{0: {"1": true, "4": true}}}, 2, false},
		{"call error resent", &scriptedSQS{failCall: map[int]error{0: errors.New("throttled")}}, 2, false},
		{"gives up after the backoff", &scriptedSQS{failCall: map[int]error{0: errors.New("down"), 1: errors.New("down"), 2: errors.New("down")}}, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPublisher(tt.fake, "q")
			p.Backoff = []time.Duration{time.Millisecond, time.Millisecond}
			envs := envelopes(5)
			err := p.Publish(context.Background(), envs)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if len(tt.fake.calls) != tt.calls {
				t.Fatalf("%d calls, want %d", len(tt.fake.calls), tt.calls)
			}
			if !tt.wantErr {
				last := tt.fake.calls[len(tt.fake.calls)-1]
				if tt.name == "partial failure resent" && len(last) != 2 {
					t.Fatalf("resent %d entries, want the 2 refused", len(last))
				}
			}
		})
	}
}

func TestPublishKeepsGivenIDsAndRefusesBadEvents(t *testing.T) {
	p := NewPublisher(&scriptedSQS{}, "q")
	e := &webhook.Envelope{Event: webhook.EventSessionStatus, InstanceID: "i", WebhookID: "wh_given", Timestamp: "2024-01-01T00:00:00.000Z", Data: json.RawMessage(`{}`)}
	if err := p.Publish(context.Background(), []*webhook.Envelope{e}); err != nil || e.WebhookID != "wh_given" {
		t.Fatalf("err %v id %s", err, e.WebhookID)
	}
	tests := map[string]*webhook.Envelope{
		"unknown event": {Event: "message.exploded", Data: json.RawMessage(`{}`)},
		"too large":     {Event: webhook.EventMessageReceived, Data: json.RawMessage(`"` + strings.Repeat("a", MaxMessageBytes) + `"`)},
		"bad timestamp": {Event: webhook.EventMessageReceived, Timestamp: "yesterday", Data: json.RawMessage(`{}`)},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			if err := p.Publish(context.Background(), []*webhook.Envelope{e}); err == nil {
				t.Fatal("published")
			}
		})
	}
}

// SQS refuses a whole batch larger than 256 KiB, so large events are spread over calls.
func TestPublishBoundsEachBatchBySize(t *testing.T) {
	big := `{"body":"` + strings.Repeat("x", 40*1024) + `"}`
	for _, tt := range []struct {
		name      string
		events    int
		wantCalls int
	}{
		{"ten 40 KiB events", 10, 2},
		{"six fit one batch", 6, 1},
		{"twenty", 20, 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := &scriptedSQS{}
			envs := envelopes(tt.events)
			for _, e := range envs {
				e.Data = json.RawMessage(big)
			}
			if err := NewPublisher(fake, "q").Publish(context.Background(), envs); err != nil {
				t.Fatal(err)
			}
			sent := 0
			for i, call := range fake.calls {
				size := 0
				for _, e := range call {
					size += len(aws.ToString(e.MessageBody))
					for name, a := range e.MessageAttributes {
						size += len(name) + len(aws.ToString(a.DataType)) + len(aws.ToString(a.StringValue))
					}
				}
				if size > maxBatchBytes || len(call) > MaxBatch {
					t.Fatalf("call %d: %d entries of %d bytes", i, len(call), size)
				}
				sent += len(call)
			}
			if sent != tt.events || len(fake.calls) != tt.wantCalls {
				t.Fatalf("%d events in %d calls; want %d in %d", sent, len(fake.calls), tt.events, tt.wantCalls)
			}
		})
	}
}

// U+FFFE and U+FFFF pass json.Marshal unescaped but SQS refuses them: they go as JSON escapes
// and the body decodes to the same data.
func TestPublishEscapesWhatSQSRefuses(t *testing.T) {
	for _, body := range []string{"a\uffffb", "\ufffe", "x\ufffe\uffffy", "plain \ufffd é 😀"} {
		t.Run(body, func(t *testing.T) {
			fake := &scriptedSQS{}
			data, _ := json.Marshal(map[string]string{"body": body})
			env := &webhook.Envelope{Event: webhook.EventMessageReceived, InstanceID: "inst_1", Data: data}
			if err := NewPublisher(fake, "q").Publish(context.Background(), []*webhook.Envelope{env}); err != nil {
				t.Fatal(err)
			}
			sent := aws.ToString(fake.calls[0][0].MessageBody)
			for _, r := range sent {
				if r == 0xFFFE || r == 0xFFFF {
					t.Fatalf("body carries %U: %q", r, sent)
				}
			}
			var got struct {
				Data struct {
					Body string `json:"body"`
				} `json:"data"`
			}
			if err := json.Unmarshal([]byte(sent), &got); err != nil || got.Data.Body != body {
				t.Fatalf("decoded %q, %v; want %q", got.Data.Body, err, body)
			}
		})
	}
}
