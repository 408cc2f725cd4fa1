package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// InstanceStore keeps instances. Other services keep attributes of their own (status, lease,
// QR code) on the same items, so every change here touches only the attributes it means to
// change; nothing but Create writes a whole item.
type InstanceStore struct {
	db    dynamo.Client
	table string
}

// NewInstanceStore returns a store over the instances table.
func NewInstanceStore(db dynamo.Client, table string) *InstanceStore {
	return &InstanceStore{db: db, table: table}
}

// instanceItem is an instance as stored. ListShard is the partition key of the byList index,
// which lists instances by id.
type instanceItem struct {
	InstanceID              string     `dynamodbav:"instanceId"`
	ListShard               string     `dynamodbav:"listShard"`
	Name                    string     `dynamodbav:"name,omitempty"`
	WebhookURL              string     `dynamodbav:"webhookUrl,omitempty"`
	WebhookEvents           []string   `dynamodbav:"webhookEvents,omitempty"`
	WebhookSecret           string     `dynamodbav:"webhookSecret"`
	PreviousSecret          string     `dynamodbav:"previousSecret,omitempty"`
	PreviousSecretExpiresAt *time.Time `dynamodbav:"previousSecretExpiresAt,omitempty"`
	CreatedAt               time.Time  `dynamodbav:"createdAt"`
	UpdatedAt               time.Time  `dynamodbav:"updatedAt"`

	// The webhook URL's circuit breaker, shared by the delivery functions (see circuits.go).
	CircuitURL       string `dynamodbav:"circuitUrl,omitempty"`
	CircuitFailures  int    `dynamodbav:"circuitFailures,omitempty"`
	CircuitOpenUntil int64  `dynamodbav:"circuitOpenUntil,omitempty"` // Unix ms
	CircuitPeriod    int64  `dynamodbav:"circuitPeriod,omitempty"`    // ms
}

func (it *instanceItem) toInstance() *webhook.Instance {
	in := &webhook.Instance{
		ID: it.InstanceID, Name: it.Name, WebhookURL: it.WebhookURL, WebhookEvents: it.WebhookEvents,
		WebhookSecret: it.WebhookSecret, PreviousSecret: it.PreviousSecret,
		CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt,
	}
	if it.PreviousSecretExpiresAt != nil {
		in.PreviousSecretExpiresAt = *it.PreviousSecretExpiresAt
	}
	in.Circuit = it.circuit()
	return in
}

func (it *instanceItem) circuit() webhook.Circuit {
	if it.CircuitURL == "" {
		return webhook.Circuit{}
	}
	c := webhook.Circuit{URL: it.CircuitURL, Failures: it.CircuitFailures, Period: time.Duration(it.CircuitPeriod) * time.Millisecond}
	if it.CircuitOpenUntil > 0 {
		c.OpenUntil = time.UnixMilli(it.CircuitOpenUntil)
	}
	return c
}

func decodeInstance(id string, item map[string]types.AttributeValue) (*webhook.Instance, error) {
	var it instanceItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode instance %s: %w", id, err)
	}
	return it.toInstance(), nil
}

// listShardOf spreads instances over the byList index's partitions by id.
func listShardOf(id string) string { return strconv.Itoa(shardOf(id)) }

func instanceKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"instanceId": &types.AttributeValueMemberS{Value: id}}
}

func notFound(id string) error {
	return webhook.Errorf(webhook.ENotFound, "instance %s not found", id)
}

// Create stores a new instance; an existing id is a conflict.
func (s *InstanceStore) Create(ctx context.Context, in *webhook.Instance) error {
	it := instanceItem{
		InstanceID: in.ID, ListShard: listShardOf(in.ID), Name: in.Name, WebhookURL: in.WebhookURL,
		WebhookEvents: in.WebhookEvents, WebhookSecret: in.WebhookSecret, PreviousSecret: in.PreviousSecret,
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
	put := &dynamodb.PutItemInput{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(instanceId)")}
	dynamo.MarkPut(put)
	_, err = s.db.PutItem(ctx, put)
	if dynamo.AlreadyWritten(err, item) {
		return nil // this create, applied on a try whose answer was lost
	}
	if dynamo.ConditionFailed(err) {
		return webhook.Errorf(webhook.EConflict, "instance %s already exists", in.ID)
	}
	if err != nil {
		return fmt.Errorf("create instance %s: %w", in.ID, err)
	}
	return nil
}

// Get returns an instance, read consistently, or a not_found error.
func (s *InstanceStore) Get(ctx context.Context, id string) (*webhook.Instance, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: instanceKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get instance %s: %w", id, err)
	}
	if out.Item == nil {
		return nil, notFound(id)
	}
	return decodeInstance(id, out.Item)
}

// GetMany reads the instances with the given distinct ids, consistently, in as few requests
// as DynamoDB allows (BatchGetItem), and returns them by id; an id with no instance is absent.
func (s *InstanceStore) GetMany(ctx context.Context, ids []string) (map[string]*webhook.Instance, error) {
	items, err := batchGet(ctx, s.db, s.table, "instanceId", ids)
	if err != nil {
		return nil, fmt.Errorf("get instances: %w", err)
	}
	byID := make(map[string]*webhook.Instance, len(items))
	for _, item := range items {
		in, err := decodeInstance("", item)
		if err != nil {
			return nil, err
		}
		byID[in.ID] = in
	}
	return byID, nil
}

// List returns up to limit instances with ids after after ("" for the first page), in id
// order, and the id to pass as after for the next page ("" on the last page). It reads at
// most limit+1 index keys from each shard of the byList index, then only the instances it
// returns: the cost depends on limit, never on how many instances exist. An instance deleted
// between the two reads is left out, so a page may hold fewer than limit.
func (s *InstanceStore) List(ctx context.Context, limit int, after string) ([]*webhook.Instance, string, error) {
	ids, next, err := s.listIDs(ctx, limit, after)
	if err != nil {
		return nil, "", fmt.Errorf("list instances: %w", err)
	}
	byID, err := s.GetMany(ctx, ids)
	if err != nil {
		return nil, "", fmt.Errorf("list instances: %w", err)
	}
	out := make([]*webhook.Instance, 0, len(ids))
	for _, id := range ids {
		if in, ok := byID[id]; ok {
			out = append(out, in)
		}
	}
	return out, next, nil
}

// listIDs returns up to limit instance ids after after from the byList index, in order, and
// the id to pass as after for the next page ("" on the last page).
func (s *InstanceStore) listIDs(ctx context.Context, limit int, after string) ([]string, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("limit %d is below 1", limit)
	}
	var ids []string
	for shard := range Shards {
		got, err := s.listShard(ctx, strconv.Itoa(shard), after, limit+1)
		if err != nil {
			return nil, "", err
		}
		ids = append(ids, got...)
	}
	// Every shard gave all its ids after after, up to limit+1: more than limit in all means
	// a next page exists.
	slices.Sort(ids)
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	return ids, next, nil
}

// listShard returns up to n ids of one byList shard after after, in order.
func (s *InstanceStore) listShard(ctx context.Context, shard, after string, n int) ([]string, error) {
	cond := "listShard = :shard"
	values := map[string]types.AttributeValue{":shard": &types.AttributeValueMemberS{Value: shard}}
	if after != "" {
		cond += " AND instanceId > :after"
		values[":after"] = &types.AttributeValueMemberS{Value: after}
	}
	var (
		ids   []string
		start map[string]types.AttributeValue
	)
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &s.table, IndexName: aws.String("byList"),
			KeyConditionExpression: &cond, ExpressionAttributeValues: values,
			ScanIndexForward: aws.Bool(true), Limit: aws.Int32(int32(n - len(ids))), ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("query shard %s of byList: %w", shard, err)
		}
		for _, item := range out.Items {
			if v, ok := item["instanceId"].(*types.AttributeValueMemberS); ok {
				ids = append(ids, v.Value)
			}
		}
		// A page can stop short of the limit at DynamoDB's page size; read on from there.
		if start = out.LastEvaluatedKey; start == nil || len(ids) >= n {
			return ids, nil
		}
	}
}

// UpdateInstance lists the settings to change; nil fields stay as they are.
type UpdateInstance struct {
	Name          *string   // "" removes the name
	WebhookURL    *string   // "" turns webhooks off
	WebhookEvents *[]string // empty: every event
	// SendPace is the instance's send pace (GetSession reads it); nil leaves it as it is.
	SendPace *outbox.Pace
}

// Update changes the given settings of an instance and its updatedAt, and returns the
// instance as it now is. Other attributes of the item are left alone. A missing instance is
// a not_found error.
func (s *InstanceStore) Update(ctx context.Context, id string, u UpdateInstance, now time.Time) (*webhook.Instance, error) {
	update := expression.Set(expression.Name("updatedAt"), expression.Value(now.UTC()))
	setOrRemove := func(attr string, v any, remove bool) {
		if remove {
			update = update.Remove(expression.Name(attr))
		} else {
			update = update.Set(expression.Name(attr), expression.Value(v))
		}
	}
	if u.Name != nil {
		setOrRemove("name", *u.Name, *u.Name == "")
	}
	if u.WebhookURL != nil {
		setOrRemove("webhookUrl", *u.WebhookURL, *u.WebhookURL == "")
	}
	if u.WebhookEvents != nil {
		setOrRemove("webhookEvents", *u.WebhookEvents, len(*u.WebhookEvents) == 0)
	}
	if u.SendPace != nil {
		setOrRemove("sendPace", paceItem(*u.SendPace), false)
	}
	return s.update(ctx, id, update, expression.AttributeExists(expression.Name("instanceId")))
}

// RotateSecret makes newSecret the instance's signing secret. The secret it replaces becomes
// the previous secret, which keeps signing beside the new one until now+webhook.SecretOverlap;
// a previous secret from an earlier rotation is dropped. The old secret is copied inside the
// one write, so concurrent rotations apply one after the other and none loses a secret it
// handed out. It returns the instance as it now is; a missing instance is a not_found error.
func (s *InstanceStore) RotateSecret(ctx context.Context, id, newSecret string, now time.Time) (*webhook.Instance, error) {
	secret := expression.Name("webhookSecret")
	update := expression.Set(expression.Name("previousSecret"), secret).
		Set(expression.Name("previousSecretExpiresAt"), expression.Value(now.Add(webhook.SecretOverlap).UTC())).
		Set(secret, expression.Value(newSecret)).
		Set(expression.Name("updatedAt"), expression.Value(now.UTC()))
	return s.update(ctx, id, update, expression.AttributeExists(secret))
}

// update applies update to instance id when cond holds, a condition that fails only when the
// instance is missing, and decodes the item it leaves.
func (s *InstanceStore) update(ctx context.Context, id string, update expression.UpdateBuilder, cond expression.ConditionBuilder) (*webhook.Instance, error) {
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("update instance %s: %w", id, err)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: instanceKey(id),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if dynamo.ConditionFailed(err) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("update instance %s: %w", id, err)
	}
	return decodeInstance(id, out.Attributes)
}

// Delete removes an instance; a missing one is a not_found error.
func (s *InstanceStore) Delete(ctx context.Context, id string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.table, Key: instanceKey(id),
		ConditionExpression: aws.String("attribute_exists(instanceId)"),
	})
	if dynamo.ConditionFailed(err) {
		return notFound(id)
	}
	if err != nil {
		return fmt.Errorf("delete instance %s: %w", id, err)
	}
	return nil
}
