package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Counter is one day's count of logs for one event, by state.
type Counter struct {
	Day      string `dynamodbav:"-"`
	Event    string `dynamodbav:"-"`
	Total    int    `dynamodbav:"total"`
	Success  int    `dynamodbav:"success"`
	Failed   int    `dynamodbav:"failed"`
	Retrying int    `dynamodbav:"retrying"`
}

// Counters returns the daily counters of the days from..to (inclusive, UTC) for one instance,
// or for all instances when instanceID is "". It reads one item per day and event, never the
// logs themselves. The counters follow the logs through the table's stream, seconds behind.
func (s *LogStore) Counters(ctx context.Context, instanceID string, from, to time.Time) ([]Counter, error) {
	pks := []string{"i#" + instanceID}
	if instanceID == "" {
		pks = []string{"a"}
	}
	lo := from.UTC().Format(time.DateOnly) + "#"
	hi := to.UTC().Format(time.DateOnly) + "#\uffff"
	byKey := map[string]*Counter{}
	var order []string
	for _, pk := range pks {
		in := &dynamodb.QueryInput{
			TableName:              &s.stats,
			KeyConditionExpression: awssdk.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": &types.AttributeValueMemberS{Value: pk},
				":lo": &types.AttributeValueMemberS{Value: lo},
				":hi": &types.AttributeValueMemberS{Value: hi},
			},
		}
		p := dynamodb.NewQueryPaginator(s.db, in)
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("query counters %s: %w", pk, err)
			}
			for _, item := range out.Items {
				var c Counter
				if err := attributevalue.UnmarshalMap(item, &c); err != nil {
					return nil, fmt.Errorf("decode counter: %w", err)
				}
				sk, _ := item["sk"].(*types.AttributeValueMemberS)
				if sk == nil {
					continue
				}
				c.Day, c.Event, _ = strings.Cut(sk.Value, "#")
				agg, ok := byKey[sk.Value]
				if !ok {
					agg = &Counter{Day: c.Day, Event: c.Event}
					byKey[sk.Value] = agg
					order = append(order, sk.Value)
				}
				agg.Total += c.Total
				agg.Success += c.Success
				agg.Failed += c.Failed
				agg.Retrying += c.Retrying
			}
		}
	}
	out := make([]Counter, 0, len(order))
	for _, k := range order {
		out = append(out, *byKey[k])
	}
	return out, nil
}
