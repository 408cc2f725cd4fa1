// Command webhook-retry is the Lambda behind POST /api/webhook/retry/{webhookId} and POST /api/webhook/retry.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "WebhookRetryFunction"))
}
