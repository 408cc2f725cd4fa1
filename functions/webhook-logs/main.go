// Command webhook-logs is the Lambda behind GET /api/webhook/logs and GET /api/webhook/logs/{webhookId}.
package main

import (
	"context"
	"log"

	"github.com/wagate/wagate/shared/lambdas"
)

func main() {
	log.Fatal(lambdas.Start(context.Background(), "WebhookLogsFunction"))
}
