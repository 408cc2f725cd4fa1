// Command webhook-jobs is the Lambda that finishes clears and recovers too large for one API
// request, fed by the jobs queue.
package main

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/wagate/wagate/shared/manage"
)

// budget leaves room under the function's 120 s timeout to queue the rest of a job.
const budget = 90 * time.Second

func main() {
	api, err := manage.NewWebhookAPIFromEnv(context.Background(), os.Getenv)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(api.HandleJobs(budget))
}
