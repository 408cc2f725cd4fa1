package awstest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/shared/counting"
	"github.com/wagate/wagate/shared/store"
)

// Counting runs the counting function over the log table's stream, as Lambda's mapping does
// on AWS, when a test asks: the stats tables follow the logs only after Count.
type Counting struct {
	source  *lambdaemu.StreamEventSource
	handler lambdaemu.StreamHandler
	logs    *store.LogStore
}

// NewCounting returns the counting function of a stack (see Stack), its handler built over
// the stack's tables as the function is. The batch size is the template's.
func NewCounting(tb testing.TB, res *samtemplate.Resources) *Counting {
	tb.Helper()
	tpl, err := loadTemplate()
	if err != nil {
		tb.Fatalf("awstest: %v", err)
	}
	sources, err := tpl.StreamSources()
	if err != nil || len(sources) != 1 || sources[0].Table != "WebhookLogTable" {
		tb.Fatalf("awstest: want one stream mapping, on WebhookLogTable: %v %v", sources, err)
	}
	cfg := Config(tb)
	logs := store.NewLogStore(dynamodb.NewFromConfig(cfg), res.Table("WebhookLogTable"), res.Table("WebhookStatsTable"), 30*24*time.Hour)
	return &Counting{
		source: &lambdaemu.StreamEventSource{
			Streams: dynamodbstreams.NewFromConfig(cfg), StreamARN: res.StreamARN("WebhookLogTable"),
			Region: cfg.Region, BatchSize: sources[0].BatchSize,
		},
		handler: counting.NewHandler(logs, slog.New(slog.DiscardHandler)).Handle,
		logs:    logs,
	}
}

// Count hands every change of the log table so far to the counting function.
func (c *Counting) Count(tb testing.TB) {
	tb.Helper()
	if err := c.source.Drain(context.Background(), c.handler); err != nil {
		tb.Fatalf("awstest: count log changes: %v", err)
	}
}

// Today counts the log changes so far and sums instanceID's counters from a day ago to a day
// ahead: what the stats say of a test's logs.
func (c *Counting) Today(tb testing.TB, instanceID string) store.Counter {
	tb.Helper()
	c.Count(tb)
	now := time.Now()
	days, err := c.logs.Counters(context.Background(), instanceID, now.Add(-24*time.Hour), now.Add(24*time.Hour))
	if err != nil {
		tb.Fatalf("awstest: read counters: %v", err)
	}
	var sum store.Counter
	for _, d := range days {
		sum.Total += d.Total
		sum.Success += d.Success
		sum.Failed += d.Failed
		sum.Retrying += d.Retrying
	}
	return sum
}
