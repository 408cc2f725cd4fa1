package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/webhook"
)

// InstanceStore keeps instances.
type InstanceStore struct {
	db    DynamoDB
	table string
}

// NewInstanceStore returns a store over the instances table.
func NewInstanceStore(db DynamoDB, table string) *InstanceStore {
	return &InstanceStore{db: db, table: table}
}

type instanceItem struct {
	InstanceID              string     `dynamodbav:"instanceId"`
	Name                    string     `dynamodbav:"name,omitempty"`
	WebhookURL              string     `dynamodbav:"webhookUrl,omitempty"`
	WebhookEvents           []string   `dynamodbav:"webhookEvents,omitempty"`
	WebhookSecret           string     `dynamodbav:"webhookSecret"`
	PreviousSecret          string     `dynamodbav:"previousSecret,omitempty"`
	PreviousSecretExpiresAt *time.Time `dynamodbav:"previousSecretExpiresAt,omitempty"`
	CreatedAt               time.Time  `dynamodbav:"createdAt"`
	UpdatedAt               time.Time  `dynamodbav:"updatedAt"`
}

// Create stores a new instance; an existing id is a conflict.
func (s *InstanceStore) Create(ctx context.Context, in *webhook.Instance) error {
	it := instanceItem{
		InstanceID: in.ID, Name: in.Name, WebhookURL: in.WebhookURL, WebhookEvents: in.WebhookEvents,
		WebhookSecret: in.WebhookSecret, PreviousSecret: in.PreviousSecret,
		CreatedAt: in.CreatedAt.UTC(), UpdatedAt: in.UpdatedAt.UTC(),
	}
	if !in.PreviousSecretExpiresAt.IsZero() {
		t := in.PreviousSecretExpiresAt.UTC()
		it.PreviousSecretExpiresAt = &t
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode instance %s: %w", in.ID, err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression: aws.String("attribute_not_exists(instanceId)"),
	})
	if isConditionFailure(err) {
		return webhook.Errorf(webhook.EConflict, "instance %s already exists", in.ID)
	}
	if err != nil {
		return fmt.Errorf("create instance %s: %w", in.ID, err)
	}
	return nil
}

// Get returns an instance or a not_found error.
func (s *InstanceStore) Get(ctx context.Context, id string) (*webhook.Instance, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table,
		Key:       map[string]types.AttributeValue{"instanceId": &types.AttributeValueMemberS{Value: id}},
	})
	if err != nil {
		return nil, fmt.Errorf("get instance %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, webhook.Errorf(webhook.ENotFound, "instance %s not found", id)
	}
	var it instanceItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode instance %s: %w", id, err)
	}
	in := &webhook.Instance{
		ID: it.InstanceID, Name: it.Name, WebhookURL: it.WebhookURL, WebhookEvents: it.WebhookEvents,
		WebhookSecret: it.WebhookSecret, PreviousSecret: it.PreviousSecret,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
	if it.PreviousSecretExpiresAt != nil {
		in.PreviousSecretExpiresAt = *it.PreviousSecretExpiresAt
	}
	return in, nil
}
