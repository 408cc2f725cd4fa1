package store

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/webhook"
)

// Shards is how many partitions the all-instances listing index spreads each status and
// event over, so that no single key takes every delivery's write. Readers merge them.
const Shards = 4

// LogStore keeps webhook logs and reads their daily counters. The counters are not written
// here: the counting function derives them from the log table's stream (see CountChanges).
type LogStore struct {
	db        dynamo.Client
	logs      string
	stats     string
	retention time.Duration
}

// NewLogStore returns a store over the given log and stats tables. Logs expire retention
// after they are created.
func NewLogStore(db dynamo.Client, logTable, statsTable string, retention time.Duration) *LogStore {
	return &LogStore{db: db, logs: logTable, stats: statsTable, retention: retention}
}

// logItem is a log as stored. Payload and response are DEFLATE-compressed JSON text, so they
// come back byte for byte and a typical log fits one write unit. GsiI and GsiS are the keys of
// the two listing indexes: byInstance (instance, status and event) and byState (status,
// event and a shard of the webhook id).
type logItem struct {
	WebhookID   string     `dynamodbav:"webhookId"`
	ID          string     `dynamodbav:"id"`
	InstanceID  string     `dynamodbav:"instanceId,omitempty"`
	URL         string     `dynamodbav:"url"`
	Event       string     `dynamodbav:"event"`
	Payload     []byte     `dynamodbav:"payload"`
	Status      string     `dynamodbav:"status"`
	StatusCode  *int       `dynamodbav:"statusCode,omitempty"`
	Response    []byte     `dynamodbav:"response,omitempty"`
	Error       *string    `dynamodbav:"error,omitempty"`
	Attempts    int        `dynamodbav:"attempts"`
	Manual      int        `dynamodbav:"manualAttempts,omitempty"`
	Cut         int        `dynamodbav:"cutAttempts,omitempty"`
	Unqueued    bool       `dynamodbav:"unqueued,omitempty"`
	DurationMs  int64      `dynamodbav:"durationMs"`
	NextRetryAt *time.Time `dynamodbav:"nextRetryAt,omitempty"`
	CreatedAt   time.Time  `dynamodbav:"createdAt"`
	UpdatedAt   time.Time  `dynamodbav:"updatedAt"`
	Version     int        `dynamodbav:"version"`
	ExpiresAt   int64      `dynamodbav:"expiresAt"`
	// Sent is what the last HTTP attempt's headers held that the log cannot rebuild
	// (webhook.Sent), packed by packSent; absent when no attempt was made, and on logs
	// written before logs kept it.
	Sent []byte `dynamodbav:"sent,omitempty"`

	GsiI string `dynamodbav:"gsiI,omitempty"`
	GsiS string `dynamodbav:"gsiS"`
}

// shardOf spreads webhooks over the byState shards by id.
func shardOf(webhookID string) int {
	h := fnv.New32a()
	h.Write([]byte(webhookID))
	return int(h.Sum32() % Shards)
}

// instanceLogsKey and stateKey are the partition keys of a log in byInstance and byState.
func instanceLogsKey(instanceID, status, event string) string {
	return instanceID + "#" + status + "#" + event
}

func stateKey(status, event string, shard int) string {
	return status + "#" + event + "#" + strconv.Itoa(shard)
}

func toItem(l *webhook.Log, expiresAt time.Time) (logItem, error) {
	payload, err := deflate(l.Payload)
	if err != nil {
		return logItem{}, err
	}
	var response []byte
	if len(l.Response) > 0 {
		if response, err = deflate(l.Response); err != nil {
			return logItem{}, err
		}
	}
	it := logItem{
		WebhookID: l.WebhookID, ID: l.ID, InstanceID: l.InstanceID, URL: l.URL, Event: l.Event,
		Payload: payload, Status: l.Status, StatusCode: l.StatusCode, Response: response,
		Error: l.Error, Attempts: l.Attempts, Manual: l.ManualAttempts, Cut: l.CutAttempts, Unqueued: l.Unqueued, DurationMs: l.DurationMs, NextRetryAt: l.NextRetryAt,
		CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC(), Version: l.Version,
		ExpiresAt: expiresAt.Unix(), GsiS: stateKey(l.Status, l.Event, shardOf(l.WebhookID)),
	}
	if l.InstanceID != "" {
		it.GsiI = instanceLogsKey(l.InstanceID, l.Status, l.Event)
	}
	if l.Sent != nil {
		if it.Sent, err = packSent(*l.Sent); err != nil {
			return logItem{}, err
		}
	}
	return it, nil
}

func (it *logItem) toLog() (*webhook.Log, error) {
	payload, err := inflate(it.Payload)
	if err != nil {
		return nil, fmt.Errorf("payload of log %s: %w", it.WebhookID, err)
	}
	l := &webhook.Log{
		ID: it.ID, WebhookID: it.WebhookID, InstanceID: it.InstanceID, URL: it.URL,
		Event: it.Event, Payload: payload, Status: it.Status,
		StatusCode: it.StatusCode, Error: it.Error, Attempts: it.Attempts, ManualAttempts: it.Manual, CutAttempts: it.Cut, Unqueued: it.Unqueued,
		DurationMs: it.DurationMs, NextRetryAt: it.NextRetryAt, CreatedAt: it.CreatedAt,
		UpdatedAt: it.UpdatedAt, Version: it.Version,
	}
	if len(it.Sent) > 0 {
		sent, err := unpackSent(it.Sent)
		if err != nil {
			return nil, fmt.Errorf("request headers of log %s: %w", it.WebhookID, err)
		}
		l.Sent = &sent
	}
	if len(it.Response) > 0 {
		if l.Response, err = inflate(it.Response); err != nil {
			return nil, fmt.Errorf("response of log %s: %w", it.WebhookID, err)
		}
	}
	return l, nil
}

// deflate compresses JSON text: an event's payload shrinks by a third or more, which is what
// keeps a text message's log within one write unit.
func deflate(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func inflate(b []byte) (json.RawMessage, error) {
	return io.ReadAll(flate.NewReader(bytes.NewReader(b)))
}

func decodeLog(item map[string]types.AttributeValue) (*webhook.Log, error) {
	var it logItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode log: %w", err)
	}
	return it.toLog()
}

func logKey(webhookID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"webhookId": &types.AttributeValueMemberS{Value: webhookID}}
}

// Get returns the log of a webhook, read consistently, or a not_found error.
func (s *LogStore) Get(ctx context.Context, webhookID string) (*webhook.Log, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.logs, Key: logKey(webhookID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get log %s: %w", webhookID, err)
	}
	if out.Item == nil {
		return nil, webhook.Errorf(webhook.ENotFound, "webhook log %s not found", webhookID)
	}
	return decodeLog(out.Item)
}

// writeTries bounds how often a write DynamoDB throttled is sent again (beyond the SDK's own
// retries): a delivery's log write comes after its POST, and giving up sends the webhook again.
const writeTries = 8

// Save writes next over prev, the version of the log the caller read (nil for a new log), in
// one conditional put: the counters follow from the table's stream. If the stored log is no
// longer prev, nothing is written and a conflict error is returned: read again and redo. A
// throttled write is sent again, with backoff. A write applied on a try whose answer was lost
// is a success, though the SDK's retry of it finds the condition false. On success
// next.Version is the stored version.
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
	err := s.put(ctx, prev, next)
	if err != nil {
		next.Version = version
	}
	return err
}

func (s *LogStore) put(ctx context.Context, prev, next *webhook.Log) error {
	it, err := toItem(next, next.CreatedAt.Add(s.retention))
	if err != nil {
		return fmt.Errorf("encode log %s: %w", next.WebhookID, err)
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode log %s: %w", next.WebhookID, err)
	}
	in := &dynamodb.PutItemInput{TableName: &s.logs, Item: item, ConditionExpression: aws.String("attribute_not_exists(webhookId)")}
	if prev != nil {
		in.ConditionExpression = aws.String("version = :v")
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": number(int64(prev.Version))}
	}
	dynamo.MarkPut(in)
	for try := 0; ; try++ {
		_, err = s.db.PutItem(ctx, in)
		if err == nil || !dynamo.Throttled(err) || try == writeTries-1 {
			break
		}
		if werr := dynamo.DefaultBackoff.Wait(ctx, try); werr != nil {
			break
		}
	}
	switch {
	case err == nil, dynamo.AlreadyWritten(err, item):
		return nil
	case dynamo.ConditionFailed(err):
		return webhook.Errorf(webhook.EConflict, "webhook log %s changed meanwhile", next.WebhookID)
	default:
		return fmt.Errorf("save log %s: %w", next.WebhookID, err)
	}
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
