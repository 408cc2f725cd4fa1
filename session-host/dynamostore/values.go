package dynamostore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/wagate/wagate/shared/dynamo"
)

// Values over DynamoDB's 400 KB item limit. A libsignal session keeps up to 40 archived states,
// each with up to 2000 skipped message keys, so a session (and a sender key) may legitimately
// grow past 400 KB. Such a value is stored as a head item under its own key, which keeps every
// other attribute and names the chunks, and chunk items under the key plus NUL plus the chunk
// number (3 digits), each holding up to 384 KB of the value:
//
//	head:  pk, sk,                     chunks = n, gen = g, (other attributes)
//	chunk: pk, sk NUL 000 ... NUL n-1, chunk = i,  gen = g, v = part i
//
// The head and all its chunks are written in one TransactWriteItems, with the deletion of the
// chunks of the value it replaces beyond the new count, on condition that the head is still
// the one read (same gen, or not chunked), so a value is replaced or removed whole. A reader
// reads the head, then its chunks, and checks each carries the head's gen; a value replaced in
// between is read again. Values up to what one transaction holds (a little under 4 MB) are
// stored; larger ones are refused with ErrItemTooLarge.
//
// Only sessions and sender keys are split; the other items are small or, like a buffered
// event's plaintext, refused over 400 KB.
const (
	attrChunks     = "chunks"
	attrChunkIndex = "chunk"
	attrGen        = "gen"
	chunkBytes     = 384 * 1024
	// maxValueBytes leaves room in one transaction's 4 MB for the items' keys and attributes
	// and the deletion of the replaced value's chunks.
	maxValueBytes = transactMaxBytes - 64*1024
	// readTries bounds how often a value replaced while it was read is read again.
	readTries = 5
)

// errTornRead is a chunked value whose chunks were replaced while they were read.
var errTornRead = errors.New("value replaced while being read")

// splittable reports whether values of partition pk may be split into chunks.
func splittable(pk string) bool {
	return strings.HasSuffix(pk, "#"+kindSession) || strings.HasSuffix(pk, "#"+kindSenderKey)
}

func chunkSK(sk string, i int) string { return fmt.Sprintf("%s%s%03d", sk, keySep, i) }

// isChunk reports whether a read item is a chunk of a value rather than an item of its own.
func isChunk(it item) bool {
	_, ok := it[attrChunkIndex]
	return ok
}

// chunkOwner answers the key of the head a chunk item belongs to.
func chunkOwner(sk string) string { return sk[:strings.LastIndex(sk, keySep)] }

// layout is how a stored value is kept: inline (chunks 0, also for no item), or in chunks
// written together under gen.
type layout struct {
	chunks int
	gen    string
}

func layoutOf(it item) layout {
	n, _ := it.int64(attrChunks)
	gen, _ := it.str(attrGen)
	return layout{chunks: int(n), gen: gen}
}

// condition is the condition that the head is still as l says.
func (l layout) condition() (string, map[string]string, map[string]ddb.AttributeValue) {
	if l.chunks == 0 {
		return "attribute_not_exists(#c)", map[string]string{"#c": attrChunks}, nil
	}
	return "#g = :g", map[string]string{"#g": attrGen}, map[string]ddb.AttributeValue{":g": str(l.gen)}
}

// split answers the items that store logical item it (its value in attrValue, of any size):
// it alone when it fits in an item, else a head and its chunks. It refuses keys DynamoDB would
// refuse and values over maxValueBytes.
func split(what string, it map[string]ddb.AttributeValue) ([]map[string]ddb.AttributeValue, error) {
	err := checkSize(what, it)
	if err == nil || !errors.Is(err, ErrItemTooLarge) {
		return []map[string]ddb.AttributeValue{it}, err
	}
	value := item(it).bin(attrValue)
	if len(value) > maxValueBytes {
		err := fmt.Errorf("value of %d bytes is over the %d bytes one transaction can store: %w", len(value), maxValueBytes, ErrItemTooLarge)
		if what != "" {
			err = fmt.Errorf("%s: %w", what, err)
		}
		return nil, err
	}
	gen := make([]byte, 8)
	_, _ = rand.Read(gen) // crypto/rand.Read never fails
	head := maps.Clone(it)
	delete(head, attrValue)
	n := (len(value) + chunkBytes - 1) / chunkBytes
	head[attrChunks] = num(n)
	head[attrGen] = str(hex.EncodeToString(gen))
	if err := checkSize(what, head); err != nil {
		return nil, err
	}
	items := []map[string]ddb.AttributeValue{head}
	pk, _ := item(it).str(attrPK)
	sk, _ := item(it).str(attrSK)
	for i := range n {
		chunk := key(pk, chunkSK(sk, i))
		chunk[attrChunkIndex] = num(i)
		chunk[attrGen] = head[attrGen]
		chunk[attrValue] = bin(value[i*chunkBytes : min((i+1)*chunkBytes, len(value))])
		if err := checkSize(what, chunk); err != nil {
			return nil, err
		}
		items = append(items, chunk)
	}
	return items, nil
}

// checkValue refuses what split would refuse.
func checkValue(what string, it map[string]ddb.AttributeValue) error {
	pk, _ := item(it).str(attrPK)
	if !splittable(pk) {
		return checkSize(what, it)
	}
	_, err := split(what, it)
	return err
}

// valueWrite is a write of one logical item: a put of item, whose value may need chunks, or a
// delete of key when item is nil; condition is optional, for items that are never split.
type valueWrite struct {
	key       itemKey
	item      map[string]ddb.AttributeValue
	condition string
	what      string
}

// ops answers the writes that make w replace a value stored as old: the head's put or delete,
// on condition it is still as old says (splittable items) or on w's condition, the new chunks,
// and the deletes of old's chunks that no new chunk overwrites.
func (c *Container) ops(w valueWrite, old layout) (txnGroup, error) {
	var items []map[string]ddb.AttributeValue
	if w.item != nil {
		var err error
		if items, err = split(w.what, w.item); err != nil {
			return nil, err
		}
	}
	cond, names, vals := w.condition, map[string]string(nil), map[string]ddb.AttributeValue(nil)
	if splittable(w.key.pk) {
		cond, names, vals = old.condition()
	}
	var head ddb.TransactWriteItem
	if len(items) > 0 {
		head = ddb.TransactWriteItem{Put: &ddb.Put{TableName: &c.table, Item: items[0]}}
		if cond != "" {
			head.Put.ConditionExpression, head.Put.ExpressionAttributeNames, head.Put.ExpressionAttributeValues = &cond, names, vals
		}
	} else {
		head = c.deleteOp(w.key.pk, w.key.sk)
		if cond != "" {
			head.Delete.ConditionExpression, head.Delete.ExpressionAttributeNames, head.Delete.ExpressionAttributeValues = &cond, names, vals
		}
	}
	g := txnGroup{head}
	newChunks := max(len(items)-1, 0)
	for _, chunk := range items[min(1, len(items)):] {
		g = append(g, c.putOp(chunk, ""))
	}
	for i := newChunks; i < old.chunks; i++ {
		g = append(g, c.deleteOp(w.key.pk, chunkSK(w.key.sk, i)))
	}
	return g, nil
}

// writeValue writes one logical item outside a decryption. A splittable item that fits in one
// item is put (or deleted) on condition that the stored one is not chunked, one request as for
// any item; otherwise, or when that condition fails, the head is read and the value replaced
// in one transaction on condition the head is still as read.
func (c *Container) writeValue(ctx context.Context, w valueWrite) error {
	if !splittable(w.key.pk) {
		if w.item == nil {
			return c.deleteItem(ctx, w.key.pk, w.key.sk)
		}
		if err := checkSize("", w.item); err != nil {
			return err
		}
		in := &dynamodb.PutItemInput{TableName: &c.table, Item: w.item}
		if w.condition != "" {
			in.ConditionExpression = aws.String(w.condition)
		}
		_, err := c.db.PutItem(ctx, in)
		return err
	}
	if w.item == nil && !storable(w.key.pk, w.key.sk) {
		return nil
	}
	if w.item == nil || checkSize("", w.item) == nil {
		cond, names, _ := layout{}.condition()
		var err error
		if w.item == nil {
			_, err = c.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
				TableName: &c.table, Key: key(w.key.pk, w.key.sk),
				ConditionExpression: &cond, ExpressionAttributeNames: names,
			})
		} else {
			_, err = c.db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: &c.table, Item: w.item,
				ConditionExpression: &cond, ExpressionAttributeNames: names,
			})
		}
		if !dynamo.ConditionFailed(err) {
			return err
		}
	}
	return c.rewriteValue(ctx, w)
}

// rewriteValue replaces a value in one transaction after reading how it is stored, again when
// another writer replaced it in between.
func (c *Container) rewriteValue(ctx context.Context, w valueWrite) error {
	for try := 0; ; try++ {
		head, err := c.getItem(ctx, w.key.pk, w.key.sk, attrPK, attrChunks, attrGen)
		if err != nil {
			return err
		}
		g, err := c.ops(w, layoutOf(head))
		if err != nil {
			return err
		}
		err = c.transact(ctx, g)
		if !dynamo.ConditionFailed(err) || try+1 >= commitTries {
			return err
		}
		if err := c.retry.Wait(ctx, try); err != nil {
			return err
		}
	}
}

// assemble reads the chunks of the chunked heads among items and puts each value together
// in its head's attrValue. It answers errTornRead when a value was replaced meanwhile.
func (c *Container) assemble(ctx context.Context, items []item) error {
	var keys []itemKey
	for _, it := range items {
		if l := layoutOf(it); l.chunks > 0 {
			pk, _ := it.str(attrPK)
			sk, _ := it.str(attrSK)
			for i := range l.chunks {
				keys = append(keys, itemKey{pk, chunkSK(sk, i)})
			}
		}
	}
	if len(keys) == 0 {
		return nil
	}
	found, err := c.batchGet(ctx, keys)
	if err != nil {
		return err
	}
	for _, it := range items {
		l := layoutOf(it)
		if l.chunks == 0 {
			continue
		}
		pk, _ := it.str(attrPK)
		sk, _ := it.str(attrSK)
		var value []byte
		for i := range l.chunks {
			chunk, ok := found[itemKey{pk, chunkSK(sk, i)}]
			if gen, _ := chunk.str(attrGen); !ok || gen != l.gen {
				return fmt.Errorf("%s chunk %d: %w", sk, i, errTornRead)
			}
			value = append(value, chunk.bin(attrValue)...)
		}
		it[attrValue] = bin(value)
	}
	return nil
}

// getValue reads one logical item, its value put together from its chunks when it has them.
func (c *Container) getValue(ctx context.Context, pk, sk string) (item, error) {
	for try := 0; ; try++ {
		it, err := c.getItem(ctx, pk, sk)
		if err != nil || it == nil {
			return it, err
		}
		if isChunk(it) {
			return nil, nil // part of another value, not one of its own
		}
		err = c.assemble(ctx, []item{it})
		if !errors.Is(err, errTornRead) || try+1 >= readTries {
			return it, err
		}
	}
}

// getValues reads logical items as batchGet does, their values put together from chunks.
func (c *Container) getValues(ctx context.Context, keys []itemKey) (map[itemKey]item, error) {
	for try := 0; ; try++ {
		found, err := c.batchGet(ctx, keys)
		if err != nil {
			return nil, err
		}
		maps.DeleteFunc(found, func(_ itemKey, it item) bool { return isChunk(it) })
		err = c.assemble(ctx, mapValues(found))
		if !errors.Is(err, errTornRead) || try+1 >= readTries {
			return found, err
		}
	}
}

func mapValues(m map[itemKey]item) []item {
	items := make([]item, 0, len(m))
	for _, it := range m {
		items = append(items, it)
	}
	return items
}
