// Command webhook-clear is the Lambda behind DELETE /api/webhook/logs.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "WebhookClearFunction"))
}
