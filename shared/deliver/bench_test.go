package deliver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/webhook"
)

// discardLogs is a log store that remembers nothing, so the benchmark measures the delivery
// path itself: decode, sign, POST, decide.
type discardLogs struct{}

func (discardLogs) Get(context.Context, string) (*webhook.Log, error) {
	return nil, webhook.Errorf(webhook.ENotFound, "no log")
}
func (discardLogs) Save(context.Context, *webhook.Log, *webhook.Log) error { return nil }

type oneInstance struct{ in *webhook.Instance }

func (o oneInstance) Get(context.Context, string) (*webhook.Instance, error) { return o.in, nil }

type noQueue struct{}

func (noQueue) ChangeMessageVisibility(context.Context, *sqs.ChangeMessageVisibilityInput, ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	return &sqs.ChangeMessageVisibilityOutput{}, nil
}

func benchBatch(b *testing.B) events.SQSEvent {
	ev := events.SQSEvent{}
	now := time.Now()
	for i := range 10 {
		env := webhook.Envelope{
			Event: webhook.EventMessageReceived, InstanceID: "inst_bench", Timestamp: webhook.FormatTime(now),
			WebhookID: webhook.NewWebhookID(now),
			Data:      json.RawMessage(`{"messageId":"3EB0C0A1","from":"6281234567890@s.whatsapp.net","chatId":"6281234567890@s.whatsapp.net","body":"Hello!","type":"text","timestamp":"2024-01-01T00:00:00.000Z","fromMe":false,"pushName":"Budi","isGroup":false}`),
		}
		body, err := json.Marshal(env)
		if err != nil {
			b.Fatal(err)
		}
		ev.Records = append(ev.Records, events.SQSMessage{MessageId: strconv.Itoa(i), ReceiptHandle: "r", Body: string(body)})
	}
	return ev
}

// BenchmarkDeliverBatch delivers a batch of ten events to a local receiver through the
// handler, next to ten bare net/http POSTs of the same bodies.
func BenchmarkDeliverBatch(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	batch := benchBatch(b)

	b.Run("wagate", func(b *testing.B) {
		h := deliver.NewHandler(deliver.Config{
			Logs:      discardLogs{},
			Instances: oneInstance{&webhook.Instance{ID: "inst_bench", WebhookURL: srv.URL, WebhookSecret: webhook.NewSecret()}},
			Queue:     noQueue{},
			Sender: deliver.NewSender(deliver.SenderOptions{
				Timeout: 10 * time.Second, AllowHTTP: true,
				AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			}),
			Policy:  webhook.RetryPolicy{Schedule: webhook.DefaultRetryDelays},
			Metrics: metrics.NewEmitter(io.Discard, "wagate"),
			Logger:  slog.New(slog.NewJSONHandler(io.Discard, nil)),
		})
		b.ReportAllocs()
		for b.Loop() {
			resp, err := h.Handle(context.Background(), batch)
			if err != nil || len(resp.BatchItemFailures) != 0 {
				b.Fatalf("%v %+v", err, resp)
			}
		}
	})

	b.Run("net/http", func(b *testing.B) {
		client := &http.Client{Timeout: 10 * time.Second}
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			for _, rec := range batch.Records {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, err := client.Post(srv.URL, "application/json", bytes.NewReader([]byte(rec.Body)))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}()
			}
			wg.Wait()
		}
	})
}
