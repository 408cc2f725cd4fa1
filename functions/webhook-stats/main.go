// Command webhook-stats is the Lambda behind GET /api/webhook/stats.
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
	router, err := manage.NewWebhookRouter(context.Background(), os.Getenv, lambdacontext.NewLogger(), (*manage.WebhookAPI).RegisterStats)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(router.Serve)
}
