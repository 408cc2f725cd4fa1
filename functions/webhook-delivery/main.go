// Command webhook-delivery is the Lambda that delivers queued events to webhook endpoints.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/wagate/wagate/shared/deliver"
)

func main() {
	settings, err := deliver.LoadSettings(os.Getenv)
	if err != nil {
		log.Fatalf("configuration: %v", err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("aws config: %v", err)
	}
	// Metrics go to stdout as Embedded Metric Format lines, which CloudWatch Logs turns into metrics.
	lambda.Start(deliver.NewHandlerFromConfig(cfg, settings, lambdacontext.NewLogger(), os.Stdout).Handle)
}
