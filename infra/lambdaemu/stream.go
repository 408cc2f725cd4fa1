package lambdaemu

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// StreamHandler is a Lambda handler for a DynamoDB stream mapping with a tumbling window.
type StreamHandler func(ctx context.Context, ev events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error)

// StreamReader is the part of DynamoDB Streams a StreamEventSource uses.
type StreamReader interface {
	DescribeStream(ctx context.Context, in *dynamodbstreams.DescribeStreamInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error)
	GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, opts ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error)
}

// StreamEventSource drives a handler as Lambda's DynamoDB event source mapping does, with
// StartingPosition TRIM_HORIZON, ParallelizationFactor 1 and no retry limit: each shard is
// read in order, a batch at a time; a batch the handler fails is handed over again, whole,
// until it succeeds. The events carry the shard's id, as a mapping with a tumbling window's
// do (the window's state is not kept).
type StreamEventSource struct {
	Streams   StreamReader
	StreamARN string
	Region    string
	BatchSize int           // 1 to 1,000 (GetRecords' limit)
	Interval  time.Duration // pause after reading nothing, or after a failed batch
	Logger    *slog.Logger

	mu        sync.Mutex
	iterators map[string]string // shard id -> where to read next
}

// Drain hands over every record in the stream so far and returns when a read of every shard
// brings nothing: after it, what was written before the call has been handled. A failed batch
// is an error here, not handed over again.
func (s *StreamEventSource) Drain(ctx context.Context, h StreamHandler) error {
	for {
		n, err := s.PollOnce(ctx, h)
		if err != nil || n == 0 {
			return err
		}
	}
}

// Run polls until ctx ends.
func (s *StreamEventSource) Run(ctx context.Context, h StreamHandler) {
	for ctx.Err() == nil {
		n, err := s.PollOnce(ctx, h)
		if err != nil && ctx.Err() == nil {
			s.logger().Error("poll log stream", "error", err)
		}
		if n == 0 || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(s.interval()):
			}
		}
	}
}

// PollOnce reads one batch from each shard and hands each over. It returns how many records
// it handed over. A batch the handler fails is read again by the next poll.
func (s *StreamEventSource) PollOnce(ctx context.Context, h StreamHandler) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.findShards(ctx); err != nil {
		return 0, err
	}
	total := 0
	for shard, it := range s.iterators {
		if it == "" {
			continue // closed and read to its end
		}
		out, err := s.Streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: &it, Limit: aws.Int32(int32(min(max(s.BatchSize, 1), 1000)))})
		if err != nil {
			return total, fmt.Errorf("read shard %s of %s: %w", shard, s.StreamARN, err)
		}
		if len(out.Records) > 0 {
			ev := events.DynamoDBTimeWindowEvent{}
			ev.ShardID, ev.EventSourceARN = shard, s.StreamARN
			for _, r := range out.Records {
				ev.Records = append(ev.Records, s.record(r))
			}
			if _, err := h(ctx, ev); err != nil {
				return total, fmt.Errorf("handler failed a batch of %d records from shard %s: %w", len(out.Records), shard, err)
			}
			total += len(out.Records)
		}
		s.iterators[shard] = aws.ToString(out.NextShardIterator)
	}
	return total, nil
}

// findShards starts reading every shard not yet known at its oldest record.
func (s *StreamEventSource) findShards(ctx context.Context) error {
	if s.iterators == nil {
		s.iterators = map[string]string{}
	}
	out, err := s.Streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: &s.StreamARN})
	if err != nil {
		return fmt.Errorf("describe %s: %w", s.StreamARN, err)
	}
	for _, sh := range out.StreamDescription.Shards {
		id := aws.ToString(sh.ShardId)
		if _, ok := s.iterators[id]; ok {
			continue
		}
		it, err := s.Streams.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{
			StreamArn: &s.StreamARN, ShardId: &id, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return fmt.Errorf("iterator of shard %s: %w", id, err)
		}
		s.iterators[id] = aws.ToString(it.ShardIterator)
	}
	return nil
}

// record is a stream record as Lambda hands it over.
func (s *StreamEventSource) record(r types.Record) events.DynamoDBEventRecord {
	rec := events.DynamoDBEventRecord{
		AWSRegion: s.Region, EventID: aws.ToString(r.EventID), EventName: string(r.EventName),
		EventSource: "aws:dynamodb", EventVersion: aws.ToString(r.EventVersion), EventSourceArn: s.StreamARN,
	}
	if d := r.Dynamodb; d != nil {
		rec.Change = events.DynamoDBStreamRecord{
			Keys: attributes(d.Keys), NewImage: attributes(d.NewImage), OldImage: attributes(d.OldImage),
			SequenceNumber: aws.ToString(d.SequenceNumber), SizeBytes: aws.ToInt64(d.SizeBytes),
			StreamViewType: string(d.StreamViewType),
		}
		if d.ApproximateCreationDateTime != nil {
			rec.Change.ApproximateCreationDateTime = events.SecondsEpochTime{Time: *d.ApproximateCreationDateTime}
		}
	}
	return rec
}

func attributes(m map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	if m == nil {
		return nil
	}
	out := make(map[string]events.DynamoDBAttributeValue, len(m))
	for k, v := range m {
		out[k] = attribute(v)
	}
	return out
}

func attribute(v types.AttributeValue) events.DynamoDBAttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return events.NewStringAttribute(v.Value)
	case *types.AttributeValueMemberN:
		return events.NewNumberAttribute(v.Value)
	case *types.AttributeValueMemberB:
		return events.NewBinaryAttribute(v.Value)
	case *types.AttributeValueMemberBOOL:
		return events.NewBooleanAttribute(v.Value)
	case *types.AttributeValueMemberSS:
		return events.NewStringSetAttribute(v.Value)
	case *types.AttributeValueMemberNS:
		return events.NewNumberSetAttribute(v.Value)
	case *types.AttributeValueMemberBS:
		return events.NewBinarySetAttribute(v.Value)
	case *types.AttributeValueMemberL:
		l := make([]events.DynamoDBAttributeValue, len(v.Value))
		for i, x := range v.Value {
			l[i] = attribute(x)
		}
		return events.NewListAttribute(l)
	case *types.AttributeValueMemberM:
		return events.NewMapAttribute(attributes(v.Value))
	default:
		return events.NewNullAttribute()
	}
}

func (s *StreamEventSource) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return 500 * time.Millisecond
}

func (s *StreamEventSource) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
