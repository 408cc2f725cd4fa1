// Command webhook-test is the Lambda behind POST /api/webhook/test.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "WebhookTestFunction"))
}
