package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/wagate/wagate/shared/dynamo"
)

const (
	// transactMaxBytes is DynamoDB's limit of one TransactWriteItems.
	transactMaxBytes = 4 * 1024 * 1024
	// commitTries bounds how often a commit is sent again after a transaction conflict.
	commitTries = 5
)

// decryptTxn holds the writes made inside DoDecryptionTxn until fn returns: the single-item
// writes of the signal stores and the event buffer (session, identity, pre-key removal, sender
// key, buffered event). Reads of those items inside fn see them; when fn succeeds they are
// written in one TransactWriteItems, all or nothing; when it fails they are dropped.
type decryptTxn struct {
	mu      sync.Mutex
	pending map[itemKey]pendingWrite
	order   []itemKey
	// layouts remembers how the splittable items read inside are stored (see values.go), so
	// that the commit replaces them without reading them again.
	layouts map[itemKey]layout
}

// pendingWrite is a put of item (with an optional condition) or, when item is nil, a delete.
type pendingWrite struct {
	item      map[string]ddb.AttributeValue
	condition string
}

type decryptTxnKey struct{ s *DeviceStore }

func (s *DeviceStore) txn(ctx context.Context) *decryptTxn {
	t, _ := ctx.Value(decryptTxnKey{s}).(*decryptTxn)
	return t
}

// DoDecryptionTxn runs fn, the decryption of one message and the buffering of its plaintext.
// sqlstore runs fn in an SQL transaction; here:
//
//   - fn runs under a per-device lock (a nested call joins the outer one), so decryptions of a
//     device never interleave in this process;
//   - the single-item writes fn makes to sessions, identities, pre-keys, sender keys and the
//     event buffer are held back, visible to fn's own reads of those items, and written in one
//     TransactWriteItems when fn returns nil: the advanced session and the buffered plaintext
//     are stored together or not at all. When fn fails nothing of it is written, as a rollback;
//   - the exception: an operation over many items inside fn (DeleteAllSessions, a LIKE delete,
//     pre-key generation, MigratePNToLID...) first writes what is held back, and writes to
//     other stores (contacts, app state...) are applied at once. whatsmeow's decryption path
//     makes neither in the normal case;
//   - over 100 held-back items or 4 MB they are written in several transactions, each atomic.
func (s *DeviceStore) DoDecryptionTxn(ctx context.Context, fn func(context.Context) error) error {
	if s.txn(ctx) != nil {
		return fn(ctx)
	}
	s.decryptLock.Lock()
	defer s.decryptLock.Unlock()
	t := &decryptTxn{pending: make(map[itemKey]pendingWrite), layouts: make(map[itemKey]layout)}
	if err := fn(context.WithValue(ctx, decryptTxnKey{s}, t)); err != nil {
		return err
	}
	if err := s.commit(ctx, t); err != nil {
		return fmt.Errorf("commit decryption: %w", err)
	}
	return nil
}

func (t *decryptTxn) lookup(k itemKey) (pendingWrite, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	w, ok := t.pending[k]
	return w, ok
}

func (t *decryptTxn) readLayout(k itemKey, it item) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.layouts[k] = layoutOf(it)
}

func (t *decryptTxn) add(k itemKey, w pendingWrite) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.pending[k]; !ok {
		t.order = append(t.order, k)
	}
	t.pending[k] = w
}

// commit writes what t holds in transactions of up to 100 items and 4 MB, and empties it. A
// value split into chunks is written with its chunks in one transaction; how the values it
// replaces are stored is known from the reads inside the decryption or read now.
func (s *DeviceStore) commit(ctx context.Context, t *decryptTxn) error {
	t.mu.Lock()
	order, pending, layouts := t.order, t.pending, t.layouts
	t.order, t.pending, t.layouts = nil, make(map[itemKey]pendingWrite), make(map[itemKey]layout)
	t.mu.Unlock()
	var unknown []itemKey
	for _, k := range order {
		if _, ok := layouts[k]; !ok && splittable(k.pk) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		heads, err := s.c.batchGet(ctx, unknown)
		if err != nil {
			return err
		}
		for _, k := range unknown {
			layouts[k] = layoutOf(heads[k])
		}
	}
	// When the writes need more than one transaction (a session of several MB), the buffered
	// plaintext goes first: if a later transaction fails, the message WhatsApp sends again is
	// read from the buffer instead of being decrypted with a state that did not move on.
	buffer := s.pk(kindEventBuffer)
	bufferFirst := make([]itemKey, 0, len(order))
	for _, first := range []bool{true, false} {
		for _, k := range order {
			if (k.pk == buffer) == first {
				bufferFirst = append(bufferFirst, k)
			}
		}
	}
	groups := make([]txnGroup, 0, len(order))
	for _, k := range bufferFirst {
		w := pending[k]
		g, err := s.c.ops(valueWrite{key: k, item: w.item, condition: w.condition, what: k.sk}, layouts[k])
		if err != nil {
			return err
		}
		groups = append(groups, g)
	}
	err := s.c.transactGroups(ctx, groups)
	if dynamo.ConditionFailed(err) {
		if failedOn(err, s.pk(kindEventBuffer)) {
			return fmt.Errorf("buffered event already stored (UNIQUE constraint failed): %w", err)
		}
		return fmt.Errorf("a value was replaced by another writer during the decryption: %w", err)
	}
	return err
}

// txnGroup is writes that must be applied together, in one TransactWriteItems.
type txnGroup []ddb.TransactWriteItem

func (c *Container) putOp(it map[string]ddb.AttributeValue, condition string) ddb.TransactWriteItem {
	op := ddb.TransactWriteItem{Put: &ddb.Put{TableName: &c.table, Item: it}}
	if condition != "" {
		op.Put.ConditionExpression = aws.String(condition)
	}
	return op
}

func (c *Container) deleteOp(pk, sk string) ddb.TransactWriteItem {
	return ddb.TransactWriteItem{Delete: &ddb.Delete{TableName: &c.table, Key: key(pk, sk)}}
}

// opSize is what a write adds to a transaction's size: its item, or a delete's key.
func opSize(op ddb.TransactWriteItem) int {
	switch {
	case op.Put != nil:
		return itemSize(op.Put.Item)
	case op.Delete != nil:
		return itemSize(op.Delete.Key)
	case op.Update != nil:
		return itemSize(op.Update.Key) + itemSize(op.Update.ExpressionAttributeValues)
	case op.ConditionCheck != nil:
		return itemSize(op.ConditionCheck.Key)
	}
	return 0
}

// transactError is a failed transaction of transactGroups, with its writes.
type transactError struct {
	ops []ddb.TransactWriteItem
	err error
}

func (e *transactError) Error() string { return e.err.Error() }
func (e *transactError) Unwrap() error { return e.err }

// failedOn reports whether a transaction failed on the condition of a write in partition pk.
func failedOn(err error, pk string) bool {
	var te *transactError
	var tce *ddb.TransactionCanceledException
	if !errors.As(err, &te) || !errors.As(err, &tce) {
		return false
	}
	for i, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) != "ConditionalCheckFailed" || i >= len(te.ops) {
			continue
		}
		var k map[string]ddb.AttributeValue
		switch op := te.ops[i]; {
		case op.Put != nil:
			k = op.Put.Item
		case op.Delete != nil:
			k = op.Delete.Key
		case op.ConditionCheck != nil:
			k = op.ConditionCheck.Key
		case op.Update != nil:
			k = op.Update.Key
		}
		if got, _ := item(k).str(attrPK); got == pk {
			return true
		}
	}
	return false
}

// transactGroups writes groups in order, as few TransactWriteItems (of up to 100 writes and
// 4 MB) as they fit in; a group is never split across two. Each transaction is retried after
// a transaction conflict. When one fails, the groups of the transactions before it are written
// and the others are not.
func (c *Container) transactGroups(ctx context.Context, groups []txnGroup) error {
	var chunk []ddb.TransactWriteItem
	chunkBytes := 0
	send := func() error {
		if len(chunk) == 0 {
			return nil
		}
		err := c.transact(ctx, chunk)
		if err != nil {
			err = &transactError{ops: chunk, err: err}
		}
		chunk, chunkBytes = nil, 0
		return err
	}
	for _, g := range groups {
		size := 0
		for _, op := range g {
			size += opSize(op)
		}
		if len(g) > transactLimit || size > transactMaxBytes {
			return fmt.Errorf("%d writes of %d bytes do not fit in one transaction: %w", len(g), size, ErrItemTooLarge)
		}
		if len(chunk)+len(g) > transactLimit || chunkBytes+size > transactMaxBytes {
			if err := send(); err != nil {
				return err
			}
		}
		chunk = append(chunk, g...)
		chunkBytes += size
	}
	return send()
}

// transact sends one TransactWriteItems, again after a transaction conflict (up to commitTries).
func (c *Container) transact(ctx context.Context, ops []ddb.TransactWriteItem) error {
	for try := 0; ; try++ {
		_, err := c.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
		if !dynamo.TransactionConflict(err) || try+1 >= commitTries {
			return err
		}
		if err := c.retry.Wait(ctx, try); err != nil {
			return err
		}
	}
}

// flush writes what the transaction in ctx holds, before an operation over many items.
func (s *DeviceStore) flush(ctx context.Context) error {
	if t := s.txn(ctx); t != nil {
		return s.commit(ctx, t)
	}
	return nil
}

// get reads one item, seeing the writes held back in ctx's transaction; a value kept in
// chunks is put together.
func (s *DeviceStore) get(ctx context.Context, pk, sk string) (item, error) {
	t := s.txn(ctx)
	if t != nil {
		if w, ok := t.lookup(itemKey{pk, sk}); ok {
			return w.item, nil
		}
	}
	it, err := s.c.getValue(ctx, pk, sk)
	if err == nil && t != nil && splittable(pk) {
		t.readLayout(itemKey{pk, sk}, it)
	}
	return it, err
}

// put writes one item, or holds it back in ctx's transaction; condition is optional (only
// for items that are never split).
func (s *DeviceStore) put(ctx context.Context, it map[string]ddb.AttributeValue, condition string) error {
	if err := checkValue("", it); err != nil {
		return err
	}
	pk, _ := item(it).str(attrPK)
	sk, _ := item(it).str(attrSK)
	if t := s.txn(ctx); t != nil {
		t.add(itemKey{pk, sk}, pendingWrite{item: it, condition: condition})
		return nil
	}
	return s.c.writeValue(ctx, valueWrite{key: itemKey{pk, sk}, item: it, condition: condition})
}

// del deletes one item, or holds the delete back in ctx's transaction.
func (s *DeviceStore) del(ctx context.Context, pk, sk string) error {
	if !storable(pk, sk) {
		return nil
	}
	if t := s.txn(ctx); t != nil {
		t.add(itemKey{pk, sk}, pendingWrite{})
		return nil
	}
	return s.c.writeValue(ctx, valueWrite{key: itemKey{pk, sk}})
}

// getMany reads items, seeing the writes held back in ctx's transaction; values kept in
// chunks are put together.
func (s *DeviceStore) getMany(ctx context.Context, keys []itemKey) (map[itemKey]item, error) {
	t := s.txn(ctx)
	if t == nil {
		return s.c.getValues(ctx, keys)
	}
	held := make(map[itemKey]item)
	var rest []itemKey
	for _, k := range keys {
		if w, ok := t.lookup(k); ok {
			if w.item != nil {
				held[k] = w.item
			}
		} else {
			rest = append(rest, k)
		}
	}
	found, err := s.c.getValues(ctx, rest)
	if err != nil {
		return nil, err
	}
	for _, k := range rest {
		if storable(k.pk, k.sk) && splittable(k.pk) {
			t.readLayout(k, found[k])
		}
	}
	for k, it := range held {
		found[k] = it
	}
	return found, nil
}
