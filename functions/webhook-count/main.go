// Command webhook-count is the Lambda that keeps the daily webhook counters from the log
// table's stream.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "WebhookCountFunction"))
}
