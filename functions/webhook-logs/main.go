// Command webhook-logs is the Lambda behind GET /api/webhook/logs and GET /api/webhook/logs/{webhookId}.
package main

import (
	"context"
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/wagate/wagate/shared/manage"
)

func main() {
	router, err := manage.NewWebhookRouter(context.Background(), os.Getenv, lambdacontext.NewLogger(), (*manage.WebhookAPI).RegisterLogs)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(router.Serve)
}
