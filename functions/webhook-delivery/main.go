// Command webhook-delivery is the Lambda that delivers queued events to webhook endpoints.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/store"
)

func main() {
	logger := lambdacontext.NewLogger()
	settings, err := deliver.LoadSettings(os.Getenv)
	if err != nil {
		log.Fatalf("configuration: %v", err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("aws config: %v", err)
	}
	db := dynamodb.NewFromConfig(cfg)
	handler := deliver.NewHandler(deliver.Config{
		Logs:      store.NewLogStore(db, settings.LogTable, settings.StatsTable, settings.Retention),
		Instances: deliver.NewInstanceCache(store.NewInstanceStore(db, settings.InstancesTable), settings.InstanceTTL),
		Queue:     sqs.NewFromConfig(cfg),
		QueueURL:  settings.QueueURL,
		Sender:    deliver.NewSender(settings.Sender),
		Policy:    settings.Policy,
		Metrics:   metrics.NewEmitter(os.Stdout, "wagate"),
		Logger:    logger,
	})
	lambda.Start(handler.Handle)
}
