// Command webhook-reconcile is the Lambda that closes, every few minutes, the webhook logs
// left retrying with no message to deliver them.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "WebhookReconcileFunction"))
}
