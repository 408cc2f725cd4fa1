package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB is the part of the DynamoDB API the stores use; *dynamodb.Client implements it.
type DynamoDB interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// batchGetTries bounds how often batchGet asks again for keys DynamoDB left unprocessed.
const batchGetTries = 10

// batchGet reads, consistently, the items of table whose key attribute keyAttr is one of ids,
// 100 keys to a request, asking again for the keys DynamoDB leaves unprocessed. Items that
// don't exist are not in the result, which is in no particular order. With attrs, it reads
// only those attributes of each item.
func batchGet(ctx context.Context, db DynamoDB, table, keyAttr string, ids []string, attrs ...string) ([]map[string]types.AttributeValue, error) {
	var (
		projection *string
		names      map[string]string
	)
	if len(attrs) > 0 {
		names = make(map[string]string, len(attrs))
		placeholders := make([]string, len(attrs))
		for i, a := range attrs {
			placeholders[i] = "#a" + strconv.Itoa(i)
			names[placeholders[i]] = a
		}
		projection = aws.String(strings.Join(placeholders, ", "))
	}
	var out []map[string]types.AttributeValue
	for start := 0; start < len(ids); start += 100 {
		keys := make([]map[string]types.AttributeValue, 0, 100)
		for _, id := range ids[start:min(start+100, len(ids))] {
			keys = append(keys, map[string]types.AttributeValue{keyAttr: &types.AttributeValueMemberS{Value: id}})
		}
		req := map[string]types.KeysAndAttributes{table: {
			Keys: keys, ConsistentRead: aws.Bool(true), ProjectionExpression: projection, ExpressionAttributeNames: names,
		}}
		for tries := 0; len(req) > 0; tries++ {
			if tries == batchGetTries {
				return nil, fmt.Errorf("read %d items of %s: still unprocessed after %d tries", len(ids), table, tries)
			}
			res, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("read %d items of %s: %w", len(ids), table, err)
			}
			out = append(out, res.Responses[table]...)
			if req = res.UnprocessedKeys; len(req) > 0 {
				// Unprocessed keys mean throttling: back off before asking again.
				if err := sleepCtx(ctx, time.Duration(tries+1)*50*time.Millisecond); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}
