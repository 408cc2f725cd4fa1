package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/dynamo"
)

// batchGet reads, consistently, the items of table whose key attribute keyAttr is one of ids,
// asking again for the keys DynamoDB leaves unprocessed. Items that don't exist are not in the
// result, which is in no particular order. With attrs, it reads only those attributes of each
// item.
func batchGet(ctx context.Context, db dynamo.BatchGetter, table, keyAttr string, ids []string, attrs ...string) ([]map[string]types.AttributeValue, error) {
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = map[string]types.AttributeValue{keyAttr: &types.AttributeValueMemberS{Value: id}}
	}
	items, err := dynamo.BatchGet(ctx, db, dynamo.DefaultBackoff, table, keys, attrs...)
	if err != nil {
		return nil, fmt.Errorf("read %d items of %s: %w", len(ids), table, err)
	}
	return items, nil
}
