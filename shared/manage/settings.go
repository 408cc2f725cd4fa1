package manage

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
)

// Settings configures the management API functions: the delivery settings (tables, queue,
// sender) plus what only the API uses.
type Settings struct {
	deliver.Settings
	JobsQueueURL string // JOBS_QUEUE_URL
	CursorKey    []byte // API_CURSOR_KEY
}

// LoadSettings reads Settings through getenv.
func LoadSettings(getenv func(string) string) (Settings, error) {
	d, err := deliver.LoadSettings(getenv)
	if err != nil {
		return Settings{}, err
	}
	s := Settings{Settings: d, JobsQueueURL: getenv("JOBS_QUEUE_URL"), CursorKey: []byte(getenv("API_CURSOR_KEY"))}
	if s.JobsQueueURL == "" {
		return Settings{}, fmt.Errorf("JOBS_QUEUE_URL is not set")
	}
	if len(s.CursorKey) < 16 {
		return Settings{}, fmt.Errorf("API_CURSOR_KEY must be at least 16 characters")
	}
	return s, nil
}

// NewWebhookAPIFromConfig wires a WebhookAPI to DynamoDB and SQS.
func NewWebhookAPIFromConfig(cfg aws.Config, s Settings) *WebhookAPI {
	db := dynamodb.NewFromConfig(cfg)
	q := sqs.NewFromConfig(cfg)
	return NewWebhookAPI(WebhookDeps{
		Logs:      store.NewLogStore(db, s.LogTable, s.StatsTable, s.Retention),
		Instances: store.NewInstanceStore(db, s.InstancesTable),
		Sender:    deliver.NewSender(s.Sender),
		Publisher: queue.NewPublisher(q, s.QueueURL),
		Jobs:      SQSJobs{SQS: q, QueueURL: s.JobsQueueURL},
		Cursors:   apigw.NewCursors(s.CursorKey),
		AllowHTTP: s.Sender.AllowHTTP,
	})
}
