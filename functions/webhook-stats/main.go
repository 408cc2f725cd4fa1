// Command webhook-stats is the Lambda behind GET /api/webhook/stats, GET
// /api/webhook/stats/daily and GET /api/webhook/jobs/{jobId}.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "WebhookStatsFunction"))
}
