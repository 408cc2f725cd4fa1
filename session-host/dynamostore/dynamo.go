package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/dynamo"
)

// DynamoDBAPI is the part of the DynamoDB client the store uses: what the gateway's stores use,
// and batch writes. *dynamodb.Client implements it.
type DynamoDBAPI interface {
	dynamo.Client
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Attribute names. Short, as every item carries them and they count towards the item size.
const (
	attrPK = "pk"
	attrSK = "sk"
	// attrValue holds an item's main binary value (session, key, secret...).
	attrValue = "v"
	// attrExpiresAt is the table's TTL attribute (epoch seconds).
	attrExpiresAt = "expiresAt"
)

// DynamoDB's limits.
const (
	maxItemBytes = 400 * 1024
	// maxPartitionKeyBytes and maxSortKeyBytes are the key length limits, in UTF-8 bytes.
	maxPartitionKeyBytes = 2048
	maxSortKeyBytes      = 1024
	batchWriteLimit      = 25
	transactLimit        = 100
	// parallelRequests bounds the single-item requests one call sends at once.
	parallelRequests = 8
)

// ErrKeyTooLong is returned, wrapped with the key, when a key would be longer than DynamoDB
// allows (partition key 2048 bytes, sort key 1024 bytes). Nothing is written in that case;
// reads of such a key answer nothing stored, as nothing can be.
var ErrKeyTooLong = errors.New("key over DynamoDB's length limit")

// checkKey refuses a key DynamoDB would refuse for its length.
func checkKey(pk, sk string) error {
	switch {
	case len(pk) > maxPartitionKeyBytes:
		return fmt.Errorf("partition key of %d bytes (limit %d): %w", len(pk), maxPartitionKeyBytes, ErrKeyTooLong)
	case len(sk) > maxSortKeyBytes:
		return fmt.Errorf("sort key of %d bytes (limit %d): %w", len(sk), maxSortKeyBytes, ErrKeyTooLong)
	}
	return nil
}

// storable reports whether an item could be stored under the key: DynamoDB refuses empty and
// over-long keys, so reads and deletes of them have nothing to do.
func storable(pk, sk string) bool {
	return sk != "" && checkKey(pk, sk) == nil
}

// ErrItemTooLarge is returned, wrapped with what was too large, when a value would make an item
// bigger than DynamoDB's 400 KB limit. Nothing is written in that case.
var ErrItemTooLarge = errors.New("item over DynamoDB's 400 KB limit")

// keySep joins the parts of a composite sort key. JIDs, addresses, message ids and app state
// names never contain it; keyPart refuses any that do, so two keys can never collide.
const keySep = "\x00"

func keyPart(what, s string) error {
	if strings.Contains(s, keySep) {
		return fmt.Errorf("%s %q contains a NUL byte, which this store uses as key separator", what, s)
	}
	return nil
}

func str(s string) *ddb.AttributeValueMemberS { return &ddb.AttributeValueMemberS{Value: s} }

func bin(b []byte) *ddb.AttributeValueMemberB {
	if b == nil {
		b = []byte{}
	}
	return &ddb.AttributeValueMemberB{Value: b}
}

func num[T ~int | ~int64 | ~uint32 | ~uint64](n T) *ddb.AttributeValueMemberN {
	return &ddb.AttributeValueMemberN{Value: fmt.Sprint(n)}
}

func boolean(b bool) *ddb.AttributeValueMemberBOOL { return &ddb.AttributeValueMemberBOOL{Value: b} }

func key(pk, sk string) map[string]ddb.AttributeValue {
	return map[string]ddb.AttributeValue{attrPK: str(pk), attrSK: str(sk)}
}

// setEach is an update setting each of fields to its value.
func setEach(fields map[string]ddb.AttributeValue) expression.UpdateBuilder {
	var update expression.UpdateBuilder
	for name, v := range fields {
		update = update.Set(expression.Name(name), expression.Value(v))
	}
	return update
}

// item is a read item with typed accessors; absent or mistyped attributes read as zero values.
type item map[string]ddb.AttributeValue

func (it item) str(name string) (string, bool) {
	v, ok := it[name].(*ddb.AttributeValueMemberS)
	if !ok {
		return "", false
	}
	return v.Value, true
}

// bin reads a binary attribute; empty reads as nil, as SQLite answers an empty blob.
func (it item) bin(name string) []byte {
	if v, ok := it[name].(*ddb.AttributeValueMemberB); ok && len(v.Value) > 0 {
		return v.Value
	}
	return nil
}

// errNull is returned for a nil value sqlstore's schema declares NOT NULL.
var errNull = errors.New("value is nil (NOT NULL constraint failed)")

func (it item) int64(name string) (int64, error) {
	v, ok := it[name].(*ddb.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	var n int64
	if _, err := fmt.Sscan(v.Value, &n); err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, nil
}

func (it item) uint64(name string) (uint64, error) {
	v, ok := it[name].(*ddb.AttributeValueMemberN)
	if !ok {
		return 0, nil
	}
	var n uint64
	if _, err := fmt.Sscan(v.Value, &n); err != nil {
		return 0, fmt.Errorf("attribute %s: %w", name, err)
	}
	return n, nil
}

func (it item) boolean(name string) bool {
	v, ok := it[name].(*ddb.AttributeValueMemberBOOL)
	return ok && v.Value
}

// itemSize is the size DynamoDB bills and limits an item by: each attribute's name plus value.
// Numbers are counted generously (their digits), as the exact rule only matters near the limit.
func itemSize(it map[string]ddb.AttributeValue) int {
	size := 0
	for name, v := range it {
		size += len(name) + valueSize(v)
	}
	return size
}

func valueSize(v ddb.AttributeValue) int {
	switch v := v.(type) {
	case *ddb.AttributeValueMemberS:
		return len(v.Value)
	case *ddb.AttributeValueMemberB:
		return len(v.Value)
	case *ddb.AttributeValueMemberN:
		return len(v.Value) + 1
	case *ddb.AttributeValueMemberM:
		return 3 + itemSize(v.Value)
	default:
		return 1
	}
}

// checkSize refuses an item DynamoDB would refuse for its size or the length of its key,
// naming what is too large (callers that wrap the error with the name already pass "").
func checkSize(what string, it map[string]ddb.AttributeValue) error {
	pk, _ := item(it).str(attrPK)
	sk, _ := item(it).str(attrSK)
	if err := checkKey(pk, sk); err != nil {
		if what == "" {
			return err
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	size := itemSize(it)
	switch {
	case size <= maxItemBytes:
		return nil
	case what == "":
		return fmt.Errorf("item would be %d bytes: %w", size, ErrItemTooLarge)
	default:
		return fmt.Errorf("%s: item would be %d bytes: %w", what, size, ErrItemTooLarge)
	}
}

func (c *Container) getItem(ctx context.Context, pk, sk string, projection ...string) (item, error) {
	if !storable(pk, sk) {
		return nil, nil // DynamoDB refuses empty and over-long keys, so nothing is stored there
	}
	in := &dynamodb.GetItemInput{TableName: &c.table, Key: key(pk, sk), ConsistentRead: aws.Bool(true)}
	if len(projection) > 0 {
		in.ProjectionExpression, in.ExpressionAttributeNames = dynamo.Projection(projection)
	}
	out, err := c.db.GetItem(ctx, in)
	if err != nil {
		return nil, err
	}
	if out.Item == nil {
		return nil, nil
	}
	return out.Item, nil
}

// putItem writes an item after checking its size; callers wrap errors with what it is.
func (c *Container) putItem(ctx context.Context, it map[string]ddb.AttributeValue) error {
	if err := checkSize("", it); err != nil {
		return err
	}
	_, err := c.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &c.table, Item: it})
	return err
}

func (c *Container) deleteItem(ctx context.Context, pk, sk string) error {
	if !storable(pk, sk) {
		return nil
	}
	_, err := c.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &c.table, Key: key(pk, sk)})
	return err
}

// query is one Query's shape; run pages through all of it.
type query struct {
	pk string
	// skPrefix limits the query to sort keys starting with it, when set.
	skPrefix string
	// skAtMost limits the query to sort keys <= it, when set.
	skAtMost   string
	descending bool
	// limit stops after this many items passed the filter; 0 reads all.
	limit      int
	projection []string
	// filter is an optional FilterExpression over values (:f0...) and names (#f0...).
	filter      string
	filterNames map[string]string
	filterVals  map[string]ddb.AttributeValue
}

// run reads every page of q, calling fn with each item until fn returns false.
func (c *Container) run(ctx context.Context, q query, fn func(item) bool) error {
	if checkKey(q.pk, q.skPrefix) != nil {
		return nil // no stored key is that long
	}
	names := map[string]string{"#pk": attrPK}
	vals := map[string]ddb.AttributeValue{":pk": str(q.pk)}
	cond := "#pk = :pk"
	switch {
	case q.skPrefix != "":
		names["#sk"] = attrSK
		vals[":sk"] = str(q.skPrefix)
		cond += " AND begins_with(#sk, :sk)"
	case q.skAtMost != "":
		names["#sk"] = attrSK
		vals[":sk"] = str(q.skAtMost)
		cond += " AND #sk <= :sk"
	}
	in := &dynamodb.QueryInput{
		TableName:              &c.table,
		KeyConditionExpression: &cond,
		ConsistentRead:         aws.Bool(true),
		ScanIndexForward:       aws.Bool(!q.descending),
	}
	if len(q.projection) > 0 {
		var projNames map[string]string
		in.ProjectionExpression, projNames = dynamo.Projection(q.projection)
		for k, v := range projNames {
			names[k] = v
		}
	}
	if q.filter != "" {
		in.FilterExpression = &q.filter
		for k, v := range q.filterNames {
			names[k] = v
		}
		for k, v := range q.filterVals {
			vals[k] = v
		}
	}
	if q.limit > 0 && q.filter == "" {
		in.Limit = aws.Int32(int32(q.limit))
	}
	in.ExpressionAttributeNames, in.ExpressionAttributeValues = names, vals
	seen := 0
	for {
		out, err := c.db.Query(ctx, in)
		if err != nil {
			return err
		}
		for _, it := range out.Items {
			if !fn(it) {
				return nil
			}
			seen++
			if q.limit > 0 && seen >= q.limit {
				return nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// queryAll collects every item q reads.
func (c *Container) queryAll(ctx context.Context, q query) ([]item, error) {
	var items []item
	err := c.run(ctx, q, func(it item) bool {
		items = append(items, it)
		return true
	})
	return items, err
}

// itemKey is a primary key as a comparable value.
type itemKey struct{ pk, sk string }

// batchGet reads the items with keys (deduplicated) with consistent reads, asking again with
// backoff for the keys DynamoDB leaves unprocessed. Absent items are not in the result.
func (c *Container) batchGet(ctx context.Context, keys []itemKey) (map[itemKey]item, error) {
	unique := make([]map[string]ddb.AttributeValue, 0, len(keys))
	seen := make(map[itemKey]bool, len(keys))
	for _, k := range keys {
		if !seen[k] && storable(k.pk, k.sk) {
			seen[k] = true
			unique = append(unique, key(k.pk, k.sk))
		}
	}
	items, err := dynamo.BatchGet(ctx, c.db, c.retry, c.table, unique)
	if err != nil {
		return nil, err
	}
	result := make(map[itemKey]item, len(items))
	for _, it := range items {
		pk, _ := item(it).str(attrPK)
		sk, _ := item(it).str(attrSK)
		result[itemKey{pk, sk}] = it
	}
	return result, nil
}

// write is one request of a batch write: a put of item, or a delete of key when item is nil.
type write struct {
	key  itemKey
	item map[string]ddb.AttributeValue
	// what names the item in errors (size).
	what string
}

// batchWrite applies writes, 25 to a request, retrying unprocessed ones with backoff. Later
// writes to the same key replace earlier ones (DynamoDB refuses duplicates in one request).
// Sizes are checked before anything is sent.
func (c *Container) batchWrite(ctx context.Context, writes []write) error {
	last := make(map[itemKey]int, len(writes))
	for i, w := range writes {
		if w.item != nil {
			if err := checkSize(w.what, w.item); err != nil {
				return err
			}
		} else if !storable(w.key.pk, w.key.sk) {
			continue // nothing can be stored there to delete
		}
		last[w.key] = i
	}
	reqs := make([]ddb.WriteRequest, 0, len(last))
	for i, w := range writes {
		if j, ok := last[w.key]; !ok || j != i {
			continue
		}
		if w.item != nil {
			reqs = append(reqs, ddb.WriteRequest{PutRequest: &ddb.PutRequest{Item: w.item}})
		} else {
			reqs = append(reqs, ddb.WriteRequest{DeleteRequest: &ddb.DeleteRequest{Key: key(w.key.pk, w.key.sk)}})
		}
	}
	for start := 0; start < len(reqs); start += batchWriteLimit {
		pending := map[string][]ddb.WriteRequest{c.table: reqs[start:min(start+batchWriteLimit, len(reqs))]}
		for try := 0; ; try++ {
			out, err := c.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return err
			}
			if len(out.UnprocessedItems[c.table]) == 0 {
				break
			}
			if try+1 >= dynamo.BatchTries {
				return fmt.Errorf("batch write: %d items still unprocessed after %d tries", len(out.UnprocessedItems[c.table]), dynamo.BatchTries)
			}
			if err := c.retry.Wait(ctx, try); err != nil {
				return err
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}

// deletePartition deletes every item of partition pk whose sort key starts with skPrefix.
func (c *Container) deletePartition(ctx context.Context, pk, skPrefix string) error {
	items, err := c.queryAll(ctx, query{pk: pk, skPrefix: skPrefix, projection: []string{attrPK, attrSK}})
	if err != nil {
		return err
	}
	writes := make([]write, len(items))
	for i, it := range items {
		sk, _ := it.str(attrSK)
		writes[i] = write{key: itemKey{pk, sk}}
	}
	return c.batchWrite(ctx, writes)
}

// parallel runs fn(i) for i in [0, n) with at most parallelRequests at once and returns the
// first error.
func parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	next := make(chan int)
	for range min(n, parallelRequests) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(ctx, i); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}
