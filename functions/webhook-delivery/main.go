// Command webhook-delivery is the Lambda that delivers queued events to webhook endpoints.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "WebhookDeliveryFunction"))
}
