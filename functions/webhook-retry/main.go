// Command webhook-retry is the Lambda behind POST /api/webhook/retry/{webhookId} and POST /api/webhook/retry.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/manage"
)

func main() {
	settings, err := manage.LoadSettings(os.Getenv)
	if err != nil {
		log.Fatalf("configuration: %v", err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Fatalf("aws config: %v", err)
	}
	api := manage.NewWebhookAPIFromConfig(cfg, settings)
	router := apigw.NewRouter(lambdacontext.NewLogger())
	api.RegisterRetry(router)
	lambda.Start(router.Serve)
}
