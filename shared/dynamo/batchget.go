package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DynamoDB's limit on the keys of one BatchGetItem, and how many requests BatchGet sends for
// one batch of keys before giving up on those DynamoDB keeps leaving unprocessed.
const (
	BatchGetLimit = 100
	BatchTries    = 10
)

// BatchGet reads, with consistent reads, the items of table with keys, BatchGetLimit keys to a
// request. It asks again, after retry's wait, for the keys DynamoDB leaves unprocessed (it
// does under throttling), up to BatchTries requests for each batch. Items that don't exist are
// not in the result, which is in no particular order. With attrs, it reads only those
// attributes of each item. Keys must be distinct: DynamoDB refuses a request that repeats one.
func BatchGet(ctx context.Context, db BatchGetter, retry Backoff, table string, keys []map[string]types.AttributeValue, attrs ...string) ([]map[string]types.AttributeValue, error) {
	var (
		projection *string
		names      map[string]string
	)
	if len(attrs) > 0 {
		projection, names = Projection(attrs)
	}
	var items []map[string]types.AttributeValue
	for start := 0; start < len(keys); start += BatchGetLimit {
		pending := map[string]types.KeysAndAttributes{table: {
			Keys:                     keys[start:min(start+BatchGetLimit, len(keys))],
			ConsistentRead:           aws.Bool(true),
			ProjectionExpression:     projection,
			ExpressionAttributeNames: names,
		}}
		for try := 0; ; try++ {
			out, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, fmt.Errorf("batch get from %s: %w", table, err)
			}
			items = append(items, out.Responses[table]...)
			pending = out.UnprocessedKeys
			left := len(pending[table].Keys)
			if left == 0 {
				break
			}
			if try+1 >= BatchTries {
				return nil, fmt.Errorf("batch get from %s: %d keys still unprocessed after %d tries", table, left, BatchTries)
			}
			if err := retry.Wait(ctx, try); err != nil {
				return nil, fmt.Errorf("batch get from %s: %w", table, err)
			}
		}
	}
	return items, nil
}

// Projection is a ProjectionExpression reading the top-level attributes attrs, with its
// attribute names (#p0, #p1...). Unlike the expression package's names, an attribute name
// is taken as it is, dots and brackets included.
func Projection(attrs []string) (*string, map[string]string) {
	names := make(map[string]string, len(attrs))
	placeholders := make([]string, len(attrs))
	for i, a := range attrs {
		placeholders[i] = "#p" + strconv.Itoa(i)
		names[placeholders[i]] = a
	}
	return aws.String(strings.Join(placeholders, ", ")), names
}
