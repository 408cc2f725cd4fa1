package awstest_test

import (
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

func TestConfigSetsEnvironment(t *testing.T) {
	cfg := awstest.Config(t)
	for _, key := range []string{awstest.EndpointEnv, "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		if os.Getenv(key) == "" {
			t.Errorf("%s is unset after Config", key)
		}
	}
	if again := awstest.Config(t); *again.BaseEndpoint != *cfg.BaseEndpoint {
		t.Errorf("a second Config uses %s, the first %s: want one endpoint per test binary", *again.BaseEndpoint, *cfg.BaseEndpoint)
	}
	if got := awstest.Endpoint(t); got != *cfg.BaseEndpoint {
		t.Errorf("Endpoint = %s, want Config's %s", got, *cfg.BaseEndpoint)
	}
}

func TestStackTable(t *testing.T) {
	t.Parallel()
	res := awstest.Stack(t)
	db := dynamodb.NewFromConfig(awstest.Config(t))
	ctx := context.Background()
	table := res.Table("InstancesTable")

	_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &table,
		Item:      map[string]ddbtypes.AttributeValue{"instanceId": &ddbtypes.AttributeValueMemberS{Value: "i-1"}},
	})
	if err != nil {
		t.Fatalf("put item: %v", err)
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &table,
		Key:       map[string]ddbtypes.AttributeValue{"instanceId": &ddbtypes.AttributeValueMemberS{Value: "i-1"}},
	})
	if err != nil {
		t.Fatalf("get item: %v", err)
	}
	if got, ok := out.Item["instanceId"].(*ddbtypes.AttributeValueMemberS); !ok || got.Value != "i-1" {
		t.Errorf("got item %v, want instanceId i-1", out.Item)
	}
}

func TestStackQueue(t *testing.T) {
	t.Parallel()
	res := awstest.Stack(t)
	q := sqs.NewFromConfig(awstest.Config(t))
	ctx := context.Background()
	url := res.QueueURL("EventsQueue")

	if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &url, MessageBody: aws.String("hello")}); err != nil {
		t.Fatalf("send message: %v", err)
	}
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &url, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatalf("receive message: %v", err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "hello" {
		t.Errorf("got messages %v, want one with body hello", out.Messages)
	}
}

// Parallel tests must not see each other's data, so every Stack has names of its own.
func TestStacksAreIsolated(t *testing.T) {
	t.Parallel()
	a, b := awstest.Stack(t), awstest.Stack(t)
	if a.Table("WebhookLogTable") == b.Table("WebhookLogTable") {
		t.Errorf("two stacks share table %s", a.Table("WebhookLogTable"))
	}
	if a.QueueURL("EventsQueue") == b.QueueURL("EventsQueue") {
		t.Errorf("two stacks share queue %s", a.QueueURL("EventsQueue"))
	}
}

func TestPrefix(t *testing.T) {
	valid := regexp.MustCompile(`^t-[A-Za-z0-9-]{1,30}-[a-z2-7]{8}$`)
	tests := []string{"short", "with spaces/and#symbols", "a very long subtest name that goes on well past thirty characters"}
	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			p := awstest.Prefix(t)
			if !valid.MatchString(p) || regexp.MustCompile(`--`).MatchString(p) {
				t.Errorf("Prefix = %q, want it to match %s without --", p, valid)
			}
			if p == awstest.Prefix(t) {
				t.Errorf("two calls both gave %q", p)
			}
		})
	}
}
