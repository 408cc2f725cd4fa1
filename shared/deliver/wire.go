package deliver

import (
	"io"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/store"
)

// NewHandlerFromConfig wires a Handler to DynamoDB and SQS as the delivery function runs it,
// writing its metrics to metricsOut.
func NewHandlerFromConfig(cfg aws.Config, s Settings, logger *slog.Logger, metricsOut io.Writer) *Handler {
	db := dynamodb.NewFromConfig(cfg)
	return NewHandler(Config{
		Logs:      store.NewLogStore(db, s.LogTable, s.StatsTable, s.Retention),
		Instances: NewInstanceCache(store.NewInstanceStore(db, s.InstancesTable), s.InstanceTTL),
		Queue:     sqs.NewFromConfig(cfg),
		QueueURL:  s.QueueURL,
		Sender:    NewSender(s.Sender),
		Policy:    s.Policy,
		Metrics:   metrics.NewEmitter(metricsOut, "wagate"),
		Logger:    logger,
	})
}
