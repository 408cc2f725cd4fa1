package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"golang.org/x/sync/errgroup"

	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/webhook"
)

// CountedLog is what the counters know of a log.
type CountedLog struct {
	InstanceID, Event, Status string
	CreatedAt                 time.Time
}

// LogChange is one change of a log as the log table's stream reports it, in the order of
// its shard: the log before (nil when it is new) and after (nil when it was deleted, by a
// clear or by its TTL).
type LogChange struct {
	Seq      string // the stream record's sequence number
	Old, New *CountedLog
}

// counterExtra is how long a day's counters outlive the day's last logs: long enough that
// the removals of logs TTL deletes late (DynamoDB takes up to a few days) still find them.
const counterExtra = 7 * 24 * time.Hour

// counterKey names one daily counter item.
type counterKey struct{ pk, sk string }

// contribution is what one change adds to one counter item.
type contribution struct {
	seq    string
	fields map[string]int
}

// counterChanges is what a batch of changes does to one counter item.
type counterChanges struct {
	adds   []contribution
	insert bool // some change creates a log here (else the item must exist already)
}

func (c *counterChanges) since(seq string) (map[string]int, string) {
	sum, last := map[string]int{}, ""
	for _, a := range c.adds {
		if a.seq <= seq {
			continue
		}
		for f, n := range a.fields {
			sum[f] += n
		}
		last = a.seq
	}
	for f, n := range sum {
		if n == 0 {
			delete(sum, f)
		}
	}
	return sum, last
}

func counterKeys(l *CountedLog) []counterKey {
	sk := l.CreatedAt.UTC().Format(time.DateOnly) + "#" + l.Event
	keys := []counterKey{{"a", sk}}
	if l.InstanceID != "" {
		keys = append(keys, counterKey{"i#" + l.InstanceID, sk})
	}
	return keys
}

// seqWidth is how wide sequence numbers are padded, so that they compare as strings
// (DynamoDB's are 21 to 40 digits).
const seqWidth = 48

func paddedSeq(seq string) string {
	if len(seq) >= seqWidth {
		return seq
	}
	return strings.Repeat("0", seqWidth-len(seq)) + seq
}

// CountChanges folds changes read in order from one stream shard into one update per counter
// item, run side by side. It is exact however often a change is handed over: each counter
// item keeps, per stream shard, the sequence number of the last change it counted, and an
// update applies only changes after it (on a condition; when the condition fails, the item is
// read and what it has not counted yet is applied). Stream shards are processed in parallel
// and each update is a single write, so no transaction can conflict.
func (s *LogStore) CountChanges(ctx context.Context, shardID string, changes []LogChange) error {
	byKey := map[counterKey]*counterChanges{}
	add := func(l *CountedLog, seq string, fields map[string]int, insert bool) {
		for _, k := range counterKeys(l) {
			c := byKey[k]
			if c == nil {
				c = &counterChanges{}
				byKey[k] = c
			}
			c.adds = append(c.adds, contribution{seq: seq, fields: fields})
			c.insert = c.insert || insert
		}
	}
	for _, ch := range changes {
		seq := paddedSeq(ch.Seq)
		switch {
		case ch.Old == nil && ch.New != nil:
			add(ch.New, seq, map[string]int{"total": 1, ch.New.Status: 1}, true)
		case ch.Old != nil && ch.New == nil:
			add(ch.Old, seq, map[string]int{"total": -1, ch.Old.Status: -1}, false)
		case ch.Old != nil && ch.Old.Status != ch.New.Status:
			add(ch.New, seq, map[string]int{ch.Old.Status: -1, ch.New.Status: 1}, false)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for k, c := range byKey {
		g.Go(func() error { return s.count(gctx, "seq:"+shardID, k, c) })
	}
	return g.Wait()
}

// count applies c to the counter item k: whatever changes after the item's last counted one
// of this shard (attribute seqAttr) it has not counted yet.
func (s *LogStore) count(ctx context.Context, seqAttr string, k counterKey, c *counterChanges) error {
	after, known := "", false // the item's last counted sequence number, when read
	for try := 0; ; try++ {
		fields, last := c.since(after)
		if len(fields) == 0 {
			return nil
		}
		in := s.counterUpdate(k, seqAttr, fields, last)
		switch {
		case known && after != "":
			in.ConditionExpression = aws.String("#seq = :after")
			in.ExpressionAttributeValues[":after"] = &types.AttributeValueMemberS{Value: after}
		case !c.insert:
			// Only removals and moves: a counter that is gone (expired) is not made again.
			in.ConditionExpression = aws.String("attribute_exists(pk) AND (attribute_not_exists(#seq) OR #seq < :first)")
			in.ExpressionAttributeValues[":first"] = &types.AttributeValueMemberS{Value: c.adds[0].seq}
		default:
			in.ConditionExpression = aws.String("attribute_not_exists(#seq) OR #seq < :first")
			in.ExpressionAttributeValues[":first"] = &types.AttributeValueMemberS{Value: c.adds[0].seq}
		}
		_, err := s.db.UpdateItem(ctx, in)
		switch {
		case err == nil:
			return nil
		case try == writeTries-1:
			return fmt.Errorf("count %s %s: %w", k.pk, k.sk, err)
		case dynamo.Throttled(err):
			if err := dynamo.DefaultBackoff.Wait(ctx, try); err != nil {
				return err
			}
		case dynamo.ConditionFailed(err):
			// Some of these changes were counted before (the batch is handed over again),
			// or the counter is gone: read what it counted.
			item, exists, err := s.counterSeq(ctx, k, seqAttr)
			if err != nil {
				return err
			}
			if !exists && !c.insert {
				return nil
			}
			after, known = item, true
		default:
			return fmt.Errorf("count %s %s: %w", k.pk, k.sk, err)
		}
	}
}

// counterUpdate adds fields to counter k and records last as its shard's last counted change.
func (s *LogStore) counterUpdate(k counterKey, seqAttr string, fields map[string]int, last string) *dynamodb.UpdateItemInput {
	day, _, _ := strings.Cut(k.sk, "#")
	dayStart, _ := time.Parse(time.DateOnly, day)
	names := map[string]string{"#seq": seqAttr, "#exp": "expiresAt"}
	values := map[string]types.AttributeValue{
		":last": &types.AttributeValueMemberS{Value: last},
		":exp":  number(dayStart.Add(24*time.Hour + s.retention + counterExtra).Unix()),
	}
	var adds []string
	for _, f := range []string{"total", webhook.StatusSuccess, webhook.StatusFailed, webhook.StatusRetrying} {
		if n, ok := fields[f]; ok {
			names["#"+f] = f
			values[":"+f] = number(int64(n))
			adds = append(adds, "#"+f+" :"+f)
		}
	}
	return &dynamodb.UpdateItemInput{
		TableName: &s.stats,
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: k.pk},
			"sk": &types.AttributeValueMemberS{Value: k.sk},
		},
		UpdateExpression:          aws.String("SET #seq = :last, #exp = if_not_exists(#exp, :exp) ADD " + strings.Join(adds, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	}
}

// counterSeq reads, consistently, the last change of a shard counter k counted.
func (s *LogStore) counterSeq(ctx context.Context, k counterKey, seqAttr string) (seq string, exists bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.stats,
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: k.pk},
			"sk": &types.AttributeValueMemberS{Value: k.sk},
		},
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("pk, #seq"),
		ExpressionAttributeNames: map[string]string{"#seq": seqAttr},
	})
	if err != nil {
		return "", false, fmt.Errorf("read counter %s %s: %w", k.pk, k.sk, err)
	}
	if out.Item == nil {
		return "", false, nil
	}
	if v, ok := out.Item[seqAttr].(*types.AttributeValueMemberS); ok {
		seq = v.Value
	}
	return seq, true, nil
}
