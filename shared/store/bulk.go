package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/webhook"
)

// bulkChunk is how many logs one transaction deletes. With up to two counter items per log it
// stays under DynamoDB's 100 items per transaction.
const bulkChunk = 25

// counterKey names one daily counter item.
type counterKey struct{ pk, sk string }

// counterDeltas gathers counter changes so a transaction touches each counter item once.
type counterDeltas map[counterKey]map[string]int

func (d counterDeltas) add(l *webhook.Log, field string, n int) {
	sk := l.CreatedAt.UTC().Format(time.DateOnly) + "#" + l.Event
	for _, pk := range counterPKs(l) {
		k := counterKey{pk, sk}
		if d[k] == nil {
			d[k] = map[string]int{}
		}
		d[k][field] += n
	}
}

// DeleteLogs deletes logs with their counts, in transactions of 25. A log deleted or changed
// meanwhile (another clear, a delivery) is read again: it is deleted at its new version, or
// skipped when it is gone, so two clears at once never count one log twice.
func (s *LogStore) DeleteLogs(ctx context.Context, logs []*webhook.Log) (deleted int, err error) {
	for start := 0; start < len(logs); start += bulkChunk {
		n, err := s.deleteChunk(ctx, logs[start:min(start+bulkChunk, len(logs))])
		deleted += n
		if err != nil {
			return deleted, err
		}
	}
	return deleted, nil
}

// deleteItem returns the transaction item that deletes l at its version, and adds the
// counter changes it implies to d.
func (s *LogStore) deleteItem(l *webhook.Log, d counterDeltas) types.TransactWriteItem {
	d.add(l, "total", -1)
	d.add(l, l.Status, -1)
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName:                 &s.logs,
		Key:                       map[string]types.AttributeValue{"webhookId": &types.AttributeValueMemberS{Value: l.WebhookID}},
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": number(int64(l.Version))},
		// A log changed meanwhile comes back with the cancellation, so it needs no re-read.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

// deleteChunk deletes logs in one transaction. When some logs changed meanwhile, those are
// taken at the version the cancellation returned, or dropped when gone, and the transaction is
// tried again.
func (s *LogStore) deleteChunk(ctx context.Context, logs []*webhook.Log) (int, error) {
	pending := logs
	for try := 0; len(pending) > 0; try++ {
		if try == 10 {
			return 0, fmt.Errorf("bulk write of %d logs: conflicts did not settle", len(pending))
		}
		d := counterDeltas{}
		items := make([]types.TransactWriteItem, 0, len(pending)+len(pending)*2)
		for _, l := range pending {
			items = append(items, s.deleteItem(l, d))
		}
		counters, err := s.counterItems(d)
		if err != nil {
			return 0, fmt.Errorf("bulk write of %d logs: %w", len(pending), err)
		}
		items = append(items, counters...)
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return len(pending), nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) || len(tce.CancellationReasons) != len(items) {
			return 0, fmt.Errorf("bulk write of %d logs: %w", len(pending), err)
		}
		// Keep the logs whose own condition held. A delete whose log changed meanwhile is
		// tried again at the version the cancellation returned, unless the log is gone.
		var next []*webhook.Log
		for i, l := range pending {
			reason := tce.CancellationReasons[i]
			if aws.ToString(reason.Code) != "ConditionalCheckFailed" {
				next = append(next, l)
				continue
			}
			if reason.Item == nil {
				continue
			}
			var it logItem
			if err := attributevalue.UnmarshalMap(reason.Item, &it); err != nil {
				return 0, fmt.Errorf("decode log %s: %w", l.WebhookID, err)
			}
			next = append(next, it.toLog())
		}
		pending = next
		if err := sleepCtx(ctx, time.Duration(try+1)*20*time.Millisecond); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
