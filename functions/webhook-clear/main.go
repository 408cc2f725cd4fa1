// Command webhook-clear is the Lambda behind DELETE /api/webhook/logs.
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
	router, err := manage.NewWebhookRouter(context.Background(), os.Getenv, lambdacontext.NewLogger(), (*manage.WebhookAPI).RegisterClear)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(router.Serve)
}
