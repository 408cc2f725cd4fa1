package deliver_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go/middleware"
)

// ddbItem is a DynamoDB item as the SDK holds it.
type ddbItem = map[string]ddbtypes.AttributeValue

// awsCall is one operation an SDK client was asked for, with what it sent and got back.
type awsCall struct {
	service, op string
	in, out     any
	err         error
}

// callRecorder is SDK middleware that records every operation a client performs, and counts
// the HTTP requests behind them (SDK retries included), so a test can bill them.
type callRecorder struct {
	mu    sync.Mutex
	calls []awsCall
	sent  map[string]int // HTTP requests by "service operation"
}

// register adds the recorder to a client's middleware stack; use it in aws.Config.APIOptions.
func (r *callRecorder) register(stack *middleware.Stack) error {
	// Initialize runs once per operation, outside the retry loop, and sees the typed input and
	// output.
	err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("costRecordCall",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleInitialize(ctx, in)
			r.mu.Lock()
			r.calls = append(r.calls, awsCall{
				service: awsmiddleware.GetServiceID(ctx), op: awsmiddleware.GetOperationName(ctx),
				in: in.Parameters, out: out.Result, err: err,
			})
			r.mu.Unlock()
			return out, md, err
		}), middleware.Before)
	if err != nil {
		return err
	}
	// The end of Finalize runs once per HTTP attempt, inside the retry loop.
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("costCountRequest",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			if r.sent == nil {
				r.sent = map[string]int{}
			}
			r.sent[awsmiddleware.GetServiceID(ctx)+" "+awsmiddleware.GetOperationName(ctx)]++
			r.mu.Unlock()
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// take returns the calls and HTTP request counts recorded so far and starts afresh.
func (r *callRecorder) take() ([]awsCall, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls, sent := r.calls, r.sent
	r.calls, r.sent = nil, nil
	return calls, sent
}

// usage is what a run of the pipeline is billed for.
type usage struct {
	// Requests counts billed requests by "service operation": one per call, except that SQS
	// bills each 64 KB of payload as a request. Receives that got no message are counted
	// apart, as "SQS ReceiveMessage (empty)": they depend on polling, not on deliveries.
	Requests map[string]int
	// ReadUnits and WriteUnits are DynamoDB on-demand read and write request units.
	ReadUnits, WriteUnits float64
	// IndexWriteUnits is the part of WriteUnits spent keeping global secondary indexes, and
	// UpdateWriteUnits the part spent by updates (the counting function's, here).
	IndexWriteUnits, UpdateWriteUnits float64
}

// tableSchema is what billing needs to know of a table: its key and its global secondary
// indexes.
type tableSchema struct {
	key     []string
	indexes []indexSchema
}

type indexSchema struct {
	name      string
	key       []string
	keysOnly  bool
	projected []string // INCLUDE projections
}

// biller turns recorded calls into billed usage, following DynamoDB's and SQS's published
// billing rules (see docs/cost.md):
//
//   - a read is 1 unit per 4 KB of the item (rounded up per item; a missing item still costs
//     one 4 KB read), halved when eventually consistent;
//   - a write is 1 unit per 1 KB of the larger of the item before and after (rounded up per
//     item), doubled inside TransactWriteItems;
//   - each global secondary index the write touches costs 1 unit per 1 KB of its index entry:
//     a new entry 1 write, a removed one 1, a changed index key 2 (delete and put), and a
//     keys-only entry whose key is unchanged nothing. Index writes are counted as standard
//     writes, transaction or not: they are applied after the transaction, asynchronously.
type biller struct {
	schemas map[string]tableSchema
	// stored holds every item written through the recorded clients, by table and key, so a
	// replacing write knows the item it replaces.
	stored map[string]map[string]ddbItem
	// updatedSize returns the current size of an item an UpdateItem touched; the update is
	// billed on it, as the larger of before and after (wagate's updates only add).
	updatedSize func(table string, key map[string]ddbtypes.AttributeValue) (int, error)
}

func (b *biller) bill(calls []awsCall) (usage, error) {
	u := usage{Requests: map[string]int{}}
	for _, c := range calls {
		if c.err != nil {
			return u, fmt.Errorf("%s %s failed: %w", c.service, c.op, c.err)
		}
		name := c.service + " " + c.op
		switch c.service {
		case "SQS":
			n, empty := sqsBilledRequests(c)
			if empty {
				name += " (empty)"
			}
			u.Requests[name] += n
		case "DynamoDB":
			u.Requests[name]++
			if err := b.billDynamoDB(&u, c); err != nil {
				return u, err
			}
		default:
			return u, fmt.Errorf("no billing rule for %s", name)
		}
	}
	return u, nil
}

// sqsBilledRequests returns how many requests SQS bills a call as, one per 64 KB of message
// payload, and whether it was a receive that got nothing.
func sqsBilledRequests(c awsCall) (n int, emptyReceive bool) {
	payload := 0
	switch in := c.in.(type) {
	case *sqs.SendMessageBatchInput:
		for _, e := range in.Entries {
			payload += len(aws.ToString(e.MessageBody)) + messageAttributesSize(e.MessageAttributes)
		}
	case *sqs.SendMessageInput:
		payload += len(aws.ToString(in.MessageBody)) + messageAttributesSize(in.MessageAttributes)
	case *sqs.ReceiveMessageInput:
		out := c.out.(*sqs.ReceiveMessageOutput)
		if len(out.Messages) == 0 {
			return 1, true
		}
		for _, m := range out.Messages {
			payload += len(aws.ToString(m.Body)) + messageAttributesSize(m.MessageAttributes)
		}
	}
	return max(1, (payload+64*1024-1)/(64*1024)), false
}

// messageAttributesSize is what message attributes add to a message's size: each name, type
// and value.
func messageAttributesSize(attrs map[string]sqstypes.MessageAttributeValue) int {
	n := 0
	for name, v := range attrs {
		n += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

func (b *biller) billDynamoDB(u *usage, c awsCall) error {
	switch in := c.in.(type) {
	case *dynamodb.GetItemInput:
		u.ReadUnits += readUnits(itemSize(c.out.(*dynamodb.GetItemOutput).Item), in.ConsistentRead != nil && *in.ConsistentRead)
	case *dynamodb.PutItemInput:
		b.billPut(u, *in.TableName, in.Item, 1)
	case *dynamodb.UpdateItemInput:
		return b.billUpdate(u, *in.TableName, in.Key, 1)
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				b.billPut(u, *it.Put.TableName, it.Put.Item, 2)
			case it.Update != nil:
				if err := b.billUpdate(u, *it.Update.TableName, it.Update.Key, 2); err != nil {
					return err
				}
			default:
				return fmt.Errorf("no billing rule for a transaction's delete or condition check")
			}
		}
	default:
		return fmt.Errorf("no billing rule for DynamoDB %s", c.op)
	}
	return nil
}

func (b *biller) billPut(u *usage, table string, item map[string]ddbtypes.AttributeValue, factor float64) {
	s := b.schemas[table]
	key := itemKey(s.key, item)
	if b.stored[table] == nil {
		b.stored[table] = map[string]ddbItem{}
	}
	old := b.stored[table][key]
	b.stored[table][key] = item
	u.WriteUnits += factor * writeUnits(max(itemSize(item), itemSize(old)))
	for _, ix := range s.indexes {
		units := indexWriteUnits(s, ix, old, item)
		u.WriteUnits += units
		u.IndexWriteUnits += units
	}
}

func (b *biller) billUpdate(u *usage, table string, key map[string]ddbtypes.AttributeValue, factor float64) error {
	if len(b.schemas[table].indexes) > 0 {
		// Which index keys an update expression changes is not worked out here.
		return fmt.Errorf("no billing rule for an update of %s, which has indexes", table)
	}
	size, err := b.updatedSize(table, key)
	if err != nil {
		return err
	}
	u.WriteUnits += factor * writeUnits(size)
	u.UpdateWriteUnits += factor * writeUnits(size)
	return nil
}

// indexWriteUnits is what keeping one index costs for a write that turns old (nil for a new
// item) into item.
func indexWriteUnits(s tableSchema, ix indexSchema, old, item map[string]ddbtypes.AttributeValue) float64 {
	had, has := hasAll(old, ix.key), hasAll(item, ix.key)
	entry := func(it map[string]ddbtypes.AttributeValue) float64 {
		return writeUnits(indexEntrySize(s, ix, it))
	}
	switch {
	case !had && !has:
		return 0
	case !had:
		return entry(item)
	case !has:
		return entry(old)
	case itemKey(ix.key, old) != itemKey(ix.key, item):
		return entry(old) + entry(item)
	case ix.keysOnly:
		return 0
	default:
		// The projection may have changed: count one write of the entry.
		return entry(item)
	}
}

// indexEntrySize is the size of an item's entry in an index: the table's and the index's key
// attributes and the projected ones (the whole item when it projects all).
func indexEntrySize(s tableSchema, ix indexSchema, item map[string]ddbtypes.AttributeValue) int {
	if !ix.keysOnly && ix.projected == nil {
		return itemSize(item)
	}
	names := append(append(append([]string(nil), s.key...), ix.key...), ix.projected...)
	slices.Sort(names)
	entry := map[string]ddbtypes.AttributeValue{}
	for _, n := range slices.Compact(names) {
		if v, ok := item[n]; ok {
			entry[n] = v
		}
	}
	return itemSize(entry)
}

// storageSize is what DynamoDB bills an item's storage on: the item plus 100 bytes, and the
// same for each index entry it has.
func storageSize(s tableSchema, item map[string]ddbtypes.AttributeValue) int {
	n := itemSize(item) + 100
	for _, ix := range s.indexes {
		if hasAll(item, ix.key) {
			n += indexEntrySize(s, ix, item) + 100
		}
	}
	return n
}

func readUnits(size int, consistent bool) float64 {
	units := math.Ceil(float64(max(size, 1)) / 4096)
	if !consistent {
		units /= 2
	}
	return units
}

func writeUnits(size int) float64 { return math.Ceil(float64(max(size, 1)) / 1024) }

func hasAll(item map[string]ddbtypes.AttributeValue, names []string) bool {
	if item == nil {
		return false
	}
	for _, n := range names {
		if _, ok := item[n]; !ok {
			return false
		}
	}
	return true
}

// itemKey renders the named attributes of an item, to compare keys.
func itemKey(names []string, item map[string]ddbtypes.AttributeValue) string {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%v;", n, item[n])
	}
	return b.String()
}

// itemSize is an item's size as DynamoDB documents it: each attribute's name plus its value;
// a string's UTF-8 bytes, a number's one byte per two significant digits plus one, a binary's
// bytes, a boolean or null one byte, a list or map 3 bytes plus 1 per element plus the
// elements (and a map's element names).
func itemSize(item map[string]ddbtypes.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

func valueSize(v ddbtypes.AttributeValue) int {
	switch v := v.(type) {
	case *ddbtypes.AttributeValueMemberS:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberN:
		return numberSize(v.Value)
	case *ddbtypes.AttributeValueMemberB:
		return len(v.Value)
	case *ddbtypes.AttributeValueMemberBOOL, *ddbtypes.AttributeValueMemberNULL:
		return 1
	case *ddbtypes.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *ddbtypes.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *ddbtypes.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *ddbtypes.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + valueSize(e)
		}
		return n
	case *ddbtypes.AttributeValueMemberM:
		n := 3
		for name, e := range v.Value {
			n += 1 + len(name) + valueSize(e)
		}
		return n
	}
	panic(fmt.Sprintf("itemSize: unknown attribute value %T", v))
}

// numberSize is 1 byte per two significant digits, plus 1.
func numberSize(s string) int {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.SplitN(strings.ToLower(s), "e", 2)[0])
	digits = strings.TrimRight(strings.TrimLeft(digits, "0"), "0")
	return (len(digits)+1)/2 + 1
}

// describeSchemas reads the key and indexes of each table.
func describeSchemas(t *testing.T, db *dynamodb.Client, tables ...string) map[string]tableSchema {
	t.Helper()
	out := map[string]tableSchema{}
	for _, name := range tables {
		d, err := db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: &name})
		if err != nil {
			t.Fatal(err)
		}
		s := tableSchema{key: keyNames(d.Table.KeySchema)}
		for _, g := range d.Table.GlobalSecondaryIndexes {
			s.indexes = append(s.indexes, indexSchema{
				name: *g.IndexName, key: keyNames(g.KeySchema),
				keysOnly:  g.Projection.ProjectionType == ddbtypes.ProjectionTypeKeysOnly,
				projected: g.Projection.NonKeyAttributes,
			})
		}
		out[name] = s
	}
	return out
}

func keyNames(ks []ddbtypes.KeySchemaElement) []string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = *k.AttributeName
	}
	return names
}

// sortedKeys returns a map's keys in order, for stable output.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
