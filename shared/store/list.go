package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/webhook"
)

// List returns up to limit logs matching f, newest first, older than the webhook id before
// (all when ""). A page also ends once its logs reach maxBytes, so a response stays small
// whatever the payloads. It reads at most limit keys from each index shard and then only the
// logs it returns: the cost depends on limit, never on how many logs exist.
func (s *LogStore) List(ctx context.Context, f webhook.LogFilter, limit int, before string, maxBytes int) (webhook.Page, error) {
	ids, more, err := s.queryIDs(ctx, f, webhook.IDRange{Before: before}, limit)
	if err != nil {
		return webhook.Page{}, err
	}
	logs, err := s.getMany(ctx, ids)
	if err != nil {
		return webhook.Page{}, err
	}
	page := webhook.Page{}
	size := 0
	for i, id := range ids {
		l, ok := logs[id]
		if !ok || !f.Matches(l) {
			continue // cleared, or changed since the index was written
		}
		size += len(l.Payload) + len(l.Response) + 512
		if size > maxBytes && len(page.Logs) > 0 {
			page.Before = ids[i-1]
			return page, nil
		}
		page.Logs = append(page.Logs, l)
	}
	if more && len(ids) > 0 {
		page.Before = ids[len(ids)-1]
	}
	return page, nil
}

// Find returns up to limit logs matching f with ids in r, newest first, read consistently.
// Clears and recovers page through the logs with it: what they change leaves the range.
func (s *LogStore) Find(ctx context.Context, f webhook.LogFilter, r webhook.IDRange, limit int) ([]*webhook.Log, error) {
	ids, _, err := s.queryIDs(ctx, f, r, limit)
	if err != nil {
		return nil, err
	}
	logs, err := s.getMany(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*webhook.Log, 0, len(ids))
	for _, id := range ids {
		if l, ok := logs[id]; ok && f.Matches(l) {
			out = append(out, l)
		}
	}
	return out, nil
}

// queryIDs reads up to limit ids from each shard of the index for f, merges them newest
// first and keeps limit. more reports whether older matching ids may exist.
func (s *LogStore) queryIDs(ctx context.Context, f webhook.LogFilter, r webhook.IDRange, limit int) (ids []string, more bool, err error) {
	for shard := range Shards {
		index, attr, value := indexKey(f.InstanceID, f.Status, f.Event, shard)
		cond := "#pk = :pk"
		values := map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: value}}
		switch {
		case r.Before != "":
			cond += " AND webhookId < :before"
			values[":before"] = &types.AttributeValueMemberS{Value: r.Before}
		case r.From != "" && r.To != "":
			cond += " AND webhookId BETWEEN :from AND :to"
			values[":from"] = &types.AttributeValueMemberS{Value: r.From}
			values[":to"] = &types.AttributeValueMemberS{Value: r.To}
		case r.To != "":
			cond += " AND webhookId <= :to"
			values[":to"] = &types.AttributeValueMemberS{Value: r.To}
		case r.From != "":
			cond += " AND webhookId >= :from"
			values[":from"] = &types.AttributeValueMemberS{Value: r.From}
		}
		// A query page can end before limit (DynamoDB stops at 1 MB): follow it, or the merge
		// below would skip this shard's ids between its last one and the others'.
		var start map[string]types.AttributeValue
		for got := 0; got < limit; {
			out, err := s.db.Query(ctx, &dynamodb.QueryInput{
				TableName:                 &s.logs,
				IndexName:                 &index,
				KeyConditionExpression:    &cond,
				ExpressionAttributeNames:  map[string]string{"#pk": attr},
				ExpressionAttributeValues: values,
				ScanIndexForward:          aws.Bool(false),
				Limit:                     aws.Int32(int32(limit - got)),
				ExclusiveStartKey:         start,
			})
			if err != nil {
				return nil, false, fmt.Errorf("query logs on %s: %w", index, err)
			}
			for _, item := range out.Items {
				if v, ok := item["webhookId"].(*types.AttributeValueMemberS); ok {
					ids = append(ids, v.Value)
					got++
				}
			}
			if start = out.LastEvaluatedKey; start == nil {
				break
			}
			more = more || got == limit
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
	if len(ids) > limit {
		ids, more = ids[:limit], true
	}
	return ids, more, nil
}

// getMany reads logs by id.
func (s *LogStore) getMany(ctx context.Context, ids []string) (map[string]*webhook.Log, error) {
	items, err := batchGet(ctx, s.db, s.logs, "webhookId", ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*webhook.Log, len(items))
	for _, item := range items {
		var it logItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, fmt.Errorf("decode log: %w", err)
		}
		out[it.WebhookID] = it.toLog()
	}
	return out, nil
}
