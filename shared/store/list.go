package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/wagate/wagate/shared/webhook"
)

// List returns up to limit logs matching f, newest first, older than the webhook id before
// (all when ""). A page also ends once its logs reach maxBytes, so a response stays small
// whatever the payloads. It reads index keys in proportion to limit and the fixed number of
// index partitions the filter spans, and then only the logs it returns: the cost never
// depends on how many logs exist.
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
// Recovers page through the logs with it: what they change leaves the range.
func (s *LogStore) Find(ctx context.Context, f webhook.LogFilter, r webhook.IDRange, limit int) ([]*webhook.Log, error) {
	logs, _, err := s.FindPage(ctx, f, r, limit)
	return logs, err
}

// FindPage is Find for readers that page by id through logs that stay in the range: it also
// returns the oldest id it read from the indexes ("" when none), the Before of the next page,
// which moves on even when every log of this page had changed since the index was written.
func (s *LogStore) FindPage(ctx context.Context, f webhook.LogFilter, r webhook.IDRange, limit int) (logs []*webhook.Log, last string, err error) {
	ids, _, err := s.queryIDs(ctx, f, r, limit)
	if err != nil || len(ids) == 0 {
		return nil, "", err
	}
	byID, err := s.getMany(ctx, ids)
	if err != nil {
		return nil, "", err
	}
	logs = make([]*webhook.Log, 0, len(ids))
	for _, id := range ids {
		if l, ok := byID[id]; ok && f.Matches(l) {
			logs = append(logs, l)
		}
	}
	return logs, ids[len(ids)-1], nil
}

// FindIDs returns the ids of up to limit logs matching f with ids in r, in no order, from
// the listing indexes alone: what a clear needs, without reading a single log. It reads the
// filter's index partitions one after the other, so a page costs about one query while the
// first partitions have logs, rather than one per partition.
func (s *LogStore) FindIDs(ctx context.Context, f webhook.LogFilter, r webhook.IDRange, limit int) ([]string, error) {
	index, attr, keys := partitions(f)
	q := rangeQuery(s.logs, index, attr, r)
	var ids []string
	seen := map[string]bool{} // a log that changed state meanwhile is in two partitions
	for _, k := range keys {
		c := &partitionCursor{key: k}
		for len(ids) < limit && !c.exhausted() {
			c.step, c.most = limit-len(ids), limit-len(ids)
			if err := s.readPage(ctx, q, c); err != nil {
				return nil, err
			}
			for _, id := range c.ids {
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
			c.ids = nil
		}
		if len(ids) == limit {
			break
		}
	}
	return ids, nil
}

// partitions returns the index and its key attribute, and the partition keys whose union is
// the logs matching f: one per status and event the filter leaves open (and per shard,
// without an instance). At most 15 for an instance, 60 for all instances.
func partitions(f webhook.LogFilter) (index, attr string, keys []string) {
	statuses, events := webhook.Statuses, webhook.Events
	if f.Status != "" {
		statuses = []string{f.Status}
	}
	if f.Event != "" {
		events = []string{f.Event}
	}
	for _, status := range statuses {
		for _, event := range events {
			if f.InstanceID != "" {
				keys = append(keys, instanceLogsKey(f.InstanceID, status, event))
				continue
			}
			for shard := range Shards {
				keys = append(keys, stateKey(status, event, shard))
			}
		}
	}
	if f.InstanceID != "" {
		return "byInstance", "gsiI", keys
	}
	return "byState", "gsiS", keys
}

// partitionCursor reads one index partition newest first, a page at a time.
type partitionCursor struct {
	key   string
	ids   []string // read and not yet taken, newest first
	start map[string]types.AttributeValue
	read  bool // a page was read
	step  int  // the next page's size
	most  int  // the largest page: no listing takes more from one partition
}

func (c *partitionCursor) exhausted() bool { return c.read && c.start == nil }

// queryIDs merges the index partitions of f, newest first, into up to limit ids. Each
// partition is read in pages that start at limit/partitions+1 keys and double as the merge
// keeps taking from it, so a listing reads about limit keys plus a few per partition. more
// reports whether older matching ids may exist.
func (s *LogStore) queryIDs(ctx context.Context, f webhook.LogFilter, r webhook.IDRange, limit int) (ids []string, more bool, err error) {
	index, attr, keys := partitions(f)
	cursors := make([]*partitionCursor, len(keys))
	for i, k := range keys {
		cursors[i] = &partitionCursor{key: k, step: limit/len(keys) + 1, most: limit}
	}
	q := rangeQuery(s.logs, index, attr, r)
	for len(ids) < limit {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(16)
		for _, c := range cursors {
			if len(c.ids) == 0 && !c.exhausted() {
				g.Go(func() error { return s.readPage(gctx, q, c) })
			}
		}
		if err := g.Wait(); err != nil {
			return nil, false, err
		}
		var newest *partitionCursor
		for _, c := range cursors {
			if len(c.ids) > 0 && (newest == nil || c.ids[0] > newest.ids[0]) {
				newest = c
			}
		}
		if newest == nil {
			return ids, false, nil
		}
		// A log that changed state while the partitions were read is in two of them; the
		// merge brings its two entries together.
		if len(ids) == 0 || ids[len(ids)-1] != newest.ids[0] {
			ids = append(ids, newest.ids[0])
		}
		newest.ids = newest.ids[1:]
	}
	for _, c := range cursors {
		if len(c.ids) > 0 || !c.exhausted() {
			return ids, true, nil
		}
	}
	return ids, false, nil
}

// rangeQuery is the query of one partition of index for the ids in r, newest first; its
// partition key value and page are set per read.
func rangeQuery(table, index, attr string, r webhook.IDRange) dynamodb.QueryInput {
	cond := "#pk = :pk"
	values := map[string]types.AttributeValue{}
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
	return dynamodb.QueryInput{
		TableName: &table, IndexName: &index, KeyConditionExpression: &cond,
		ExpressionAttributeNames: map[string]string{"#pk": attr}, ExpressionAttributeValues: values,
		ScanIndexForward: aws.Bool(false),
	}
}

// readPage reads c's next page of ids. A page may end early (DynamoDB stops at 1 MB); the
// cursor then still has a start, and the merge reads on when it needs to.
func (s *LogStore) readPage(ctx context.Context, q dynamodb.QueryInput, c *partitionCursor) error {
	values := make(map[string]types.AttributeValue, len(q.ExpressionAttributeValues)+1)
	for k, v := range q.ExpressionAttributeValues {
		values[k] = v
	}
	values[":pk"] = &types.AttributeValueMemberS{Value: c.key}
	q.ExpressionAttributeValues = values
	q.Limit = aws.Int32(int32(c.step))
	q.ExclusiveStartKey = c.start
	out, err := s.db.Query(ctx, &q)
	if err != nil {
		return fmt.Errorf("query logs on %s: %w", aws.ToString(q.IndexName), err)
	}
	for _, item := range out.Items {
		if v, ok := item["webhookId"].(*types.AttributeValueMemberS); ok {
			c.ids = append(c.ids, v.Value)
		}
	}
	c.read, c.start, c.step = true, out.LastEvaluatedKey, min(c.step*2, c.most)
	return nil
}

// getMany reads logs by id.
func (s *LogStore) getMany(ctx context.Context, ids []string) (map[string]*webhook.Log, error) {
	items, err := batchGet(ctx, s.db, s.logs, "webhookId", ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*webhook.Log, len(items))
	for _, item := range items {
		l, err := decodeLog(item)
		if err != nil {
			return nil, err
		}
		out[l.WebhookID] = l
	}
	return out, nil
}
