package store

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/webhook"
)

// Shards is how many partitions each time-ordered index key is spread over, so that no single
// key takes every write. Readers query every shard and merge.
const Shards = 4

// LogStore keeps webhook logs and their daily counters.
type LogStore struct {
	db        dynamo.Client
	logs      string
	stats     string
	retention time.Duration
}

// NewLogStore returns a store over the given log and stats tables. Logs and counters expire
// retention after they are created.
func NewLogStore(db dynamo.Client, logTable, statsTable string, retention time.Duration) *LogStore {
	return &LogStore{db: db, logs: logTable, stats: statsTable, retention: retention}
}

// logItem is a log as stored. Payload and response are JSON text, so they come back byte for
// byte; the gsi* attributes are the keys of the listing indexes.
type logItem struct {
	WebhookID   string     `dynamodbav:"webhookId"`
	ID          string     `dynamodbav:"id"`
	InstanceID  string     `dynamodbav:"instanceId,omitempty"`
	URL         string     `dynamodbav:"url"`
	Event       string     `dynamodbav:"event"`
	Payload     string     `dynamodbav:"payload"`
	Status      string     `dynamodbav:"status"`
	StatusCode  *int       `dynamodbav:"statusCode,omitempty"`
	Response    string     `dynamodbav:"response,omitempty"`
	Error       *string    `dynamodbav:"error,omitempty"`
	Attempts    int        `dynamodbav:"attempts"`
	DurationMs  int64      `dynamodbav:"durationMs"`
	NextRetryAt *time.Time `dynamodbav:"nextRetryAt,omitempty"`
	CreatedAt   time.Time  `dynamodbav:"createdAt"`
	UpdatedAt   time.Time  `dynamodbav:"updatedAt"`
	Version     int        `dynamodbav:"version"`
	ExpiresAt   int64      `dynamodbav:"expiresAt"`

	GsiAll string `dynamodbav:"gsiAll"`
	GsiI   string `dynamodbav:"gsiI,omitempty"`
	GsiS   string `dynamodbav:"gsiS"`
	GsiE   string `dynamodbav:"gsiE"`
	GsiIS  string `dynamodbav:"gsiIS,omitempty"`
	GsiIE  string `dynamodbav:"gsiIE,omitempty"`
	GsiSE  string `dynamodbav:"gsiSE"`
	GsiISE string `dynamodbav:"gsiISE,omitempty"`
}

// shardOf spreads webhooks over the index shards by id.
func shardOf(webhookID string) int {
	h := fnv.New32a()
	h.Write([]byte(webhookID))
	return int(h.Sum32() % Shards)
}

// indexKey returns the index, its partition-key attribute and the key value that list the logs
// matching the filter in one shard. Every combination of filters has its own index, so a
// listing reads only matching keys whatever the mix of logs.
func indexKey(instanceID, status, event string, shard int) (index, attr, value string) {
	name, value := "", ""
	if instanceID != "" {
		name += "I"
		value += instanceID + "#"
	}
	if status != "" {
		name += "S"
		value += status + "#"
	}
	if event != "" {
		name += "E"
		value += event + "#"
	}
	if name == "" {
		name, value = "All", "all#"
	}
	return "by" + name, "gsi" + name, value + strconv.Itoa(shard)
}

func toItem(l *webhook.Log, expiresAt time.Time) logItem {
	it := logItem{
		WebhookID: l.WebhookID, ID: l.ID, InstanceID: l.InstanceID, URL: l.URL, Event: l.Event,
		Payload: string(l.Payload), Status: l.Status, StatusCode: l.StatusCode,
		Response: string(l.Response), Error: l.Error, Attempts: l.Attempts,
		DurationMs: l.DurationMs, NextRetryAt: l.NextRetryAt, CreatedAt: l.CreatedAt.UTC(),
		UpdatedAt: l.UpdatedAt.UTC(), Version: l.Version, ExpiresAt: expiresAt.Unix(),
	}
	shard := shardOf(l.WebhookID)
	_, _, it.GsiAll = indexKey("", "", "", shard)
	_, _, it.GsiS = indexKey("", l.Status, "", shard)
	_, _, it.GsiE = indexKey("", "", l.Event, shard)
	_, _, it.GsiSE = indexKey("", l.Status, l.Event, shard)
	if l.InstanceID != "" {
		_, _, it.GsiI = indexKey(l.InstanceID, "", "", shard)
		_, _, it.GsiIS = indexKey(l.InstanceID, l.Status, "", shard)
		_, _, it.GsiIE = indexKey(l.InstanceID, "", l.Event, shard)
		_, _, it.GsiISE = indexKey(l.InstanceID, l.Status, l.Event, shard)
	}
	return it
}

func (it *logItem) toLog() *webhook.Log {
	l := &webhook.Log{
		ID: it.ID, WebhookID: it.WebhookID, InstanceID: it.InstanceID, URL: it.URL,
		Event: it.Event, Payload: json.RawMessage(it.Payload), Status: it.Status,
		StatusCode: it.StatusCode, Error: it.Error, Attempts: it.Attempts,
		DurationMs: it.DurationMs, NextRetryAt: it.NextRetryAt, CreatedAt: it.CreatedAt,
		UpdatedAt: it.UpdatedAt, Version: it.Version,
	}
	if it.Response != "" {
		l.Response = json.RawMessage(it.Response)
	}
	return l
}

// Get returns the log of a webhook, read consistently, or a not_found error.
func (s *LogStore) Get(ctx context.Context, webhookID string) (*webhook.Log, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.logs,
		Key:            map[string]types.AttributeValue{"webhookId": &types.AttributeValueMemberS{Value: webhookID}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get log %s: %w", webhookID, err)
	}
	if out.Item == nil {
		return nil, webhook.Errorf(webhook.ENotFound, "webhook log %s not found", webhookID)
	}
	var it logItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode log %s: %w", webhookID, err)
	}
	return it.toLog(), nil
}

// Save writes next over prev, the version of the log the caller read (nil for a new log), and
// moves the counters from prev's state to next's in the same transaction. If the stored log is
// no longer prev, nothing is written and a conflict error is returned: read again and redo.
// On success next.Version is the stored version.
func (s *LogStore) Save(ctx context.Context, prev, next *webhook.Log) error {
	if prev != nil && (prev.WebhookID != next.WebhookID || !prev.CreatedAt.Equal(next.CreatedAt) ||
		prev.InstanceID != next.InstanceID || prev.Event != next.Event) {
		return fmt.Errorf("save log %s: identity fields changed", next.WebhookID)
	}
	version := next.Version
	next.Version = 1
	if prev != nil {
		next.Version = prev.Version + 1
	}
	item, err := attributevalue.MarshalMap(toItem(next, next.CreatedAt.Add(s.retention)))
	if err != nil {
		next.Version = version
		return fmt.Errorf("encode log %s: %w", next.WebhookID, err)
	}
	put := &types.Put{TableName: &s.logs, Item: item}
	if prev == nil {
		put.ConditionExpression = aws.String("attribute_not_exists(webhookId)")
	} else {
		put.ConditionExpression = aws.String("version = :v")
		put.ExpressionAttributeValues = map[string]types.AttributeValue{":v": number(int64(prev.Version))}
	}

	d := counterDeltas{}
	if prev == nil {
		d.add(next, "total", 1)
		d.add(next, next.Status, 1)
	} else if prev.Status != next.Status {
		d.add(next, prev.Status, -1)
		d.add(next, next.Status, 1)
	}

	if len(d) == 0 {
		// Only the log changes: a conditional put costs half a transaction.
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: put.TableName, Item: put.Item, ConditionExpression: put.ConditionExpression,
			ExpressionAttributeValues: put.ExpressionAttributeValues,
		})
	} else {
		var counters []types.TransactWriteItem
		if counters, err = s.counterItems(d); err == nil {
			items := append([]types.TransactWriteItem{{Put: put}}, counters...)
			_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		}
	}
	if err != nil {
		next.Version = version
		if dynamo.ConditionFailed(err) {
			return webhook.Errorf(webhook.EConflict, "webhook log %s changed meanwhile", next.WebhookID)
		}
		return fmt.Errorf("save log %s: %w", next.WebhookID, err)
	}
	return nil
}

// counterPKs returns the counters a log counts in: one shard of the all-instances counter,
// and its instance's.
func counterPKs(l *webhook.Log) []string {
	pks := []string{"a#" + strconv.Itoa(shardOf(l.WebhookID))}
	if l.InstanceID != "" {
		pks = append(pks, "i#"+l.InstanceID)
	}
	return pks
}

// counterItems returns one update per counter item that adds its deltas. A counter expires
// with the last log of its day.
func (s *LogStore) counterItems(d counterDeltas) ([]types.TransactWriteItem, error) {
	var out []types.TransactWriteItem
	for k, fields := range d {
		day, _, _ := strings.Cut(k.sk, "#")
		dayStart, _ := time.Parse(time.DateOnly, day)
		expiresAt := expression.Name("expiresAt")
		update := expression.Set(expiresAt, expression.IfNotExists(expiresAt,
			expression.Value(number(dayStart.Add(24*time.Hour+s.retention).Unix()))))
		changed := false
		for field, n := range fields {
			if n != 0 {
				update, changed = update.Add(expression.Name(field), expression.Value(number(int64(n)))), true
			}
		}
		if !changed {
			continue
		}
		expr, err := expression.NewBuilder().WithUpdate(update).Build()
		if err != nil {
			return nil, fmt.Errorf("counter update of %s %s: %w", k.pk, k.sk, err)
		}
		out = append(out, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.stats,
			Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: k.pk},
				"sk": &types.AttributeValueMemberS{Value: k.sk},
			},
			UpdateExpression:          expr.Update(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		}})
	}
	return out, nil
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
