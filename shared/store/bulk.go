package store

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"golang.org/x/sync/errgroup"

	"github.com/wagate/wagate/shared/dynamo"
)

// deleteConcurrency is how many deletes a clear has in flight.
const deleteConcurrency = 8

// DeleteLogs deletes logs by id and returns how many it deleted: a log already gone (another
// clear took it) is not counted, so two clears at once never count one log twice. The
// counters follow from the stream. Each delete is a single write of one unit per KB, as a
// batch write would be, but answers whether the log was there.
func (s *LogStore) DeleteLogs(ctx context.Context, ids []string) (int, error) {
	var deleted atomic.Int64
	// One failed delete does not cancel the others: a delete cut off in flight may have been
	// applied, and would then be counted by no one.
	var g errgroup.Group
	g.SetLimit(deleteConcurrency)
	for _, id := range ids {
		g.Go(func() error {
			gone, err := s.deleteLog(ctx, id)
			if gone {
				deleted.Add(1)
			}
			return err
		})
	}
	err := g.Wait()
	return int(deleted.Load()), err
}

// deleteLog deletes one log, sending a throttled delete again with backoff. It reports
// whether this call deleted it.
func (s *LogStore) deleteLog(ctx context.Context, id string) (bool, error) {
	in := &dynamodb.DeleteItemInput{
		TableName: &s.logs, Key: logKey(id), ConditionExpression: aws.String("attribute_exists(webhookId)"),
	}
	for try := 0; ; try++ {
		_, err := s.db.DeleteItem(ctx, in)
		switch {
		case err == nil:
			return true, nil
		case dynamo.ConditionFailed(err):
			return false, nil
		case !dynamo.Throttled(err) || try == writeTries-1:
			return false, fmt.Errorf("delete log %s: %w", id, err)
		}
		if err := dynamo.DefaultBackoff.Wait(ctx, try); err != nil {
			return false, err
		}
	}
}
