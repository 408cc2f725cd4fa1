// Command webhook-jobs is the Lambda that finishes clears and recovers too large for one API
// request, fed by the jobs queue.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "WebhookJobsFunction"))
}
