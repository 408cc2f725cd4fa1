// Command webhook-test is the Lambda behind POST /api/webhook/test.
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
	router, err := manage.NewWebhookRouter(context.Background(), os.Getenv, lambdacontext.NewLogger(), (*manage.WebhookAPI).RegisterTest)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(router.Serve)
}
