package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// The outbox (OutboxTable in template.yaml) holds every message the API accepted. Each
// accept is one TransactWriteItems of up to four writes:
//
//   - the chat's counter item (c#<instance> / <chat>), conditioned on the Seq it was read
//     with, so of API functions accepting for one chat at once exactly one takes each Seq and
//     the others read again and retry;
//   - the message (m#<instance> / <messageId>);
//   - with an Idempotency-Key, the key's item (k#<instance> / <key>): the request's hash and
//     the message id, for 24 h, so a key is never stored without its message or the reverse;
//   - the instance's item in InstancesTable: outboxHost set to the host holding the lease
//     (conditioned on it still holding it) and outboxMark counted up, which puts the instance
//     in that host's part of the sparse byOutboxHost index. With no lease holder, a condition
//     that none has appeared, so a host taking the lease later finds the message when it reads
//     the instance's pending messages as it starts.
//
// A host polls byOutboxHost (WorkFor), reads the instance's pending messages (Pending), and
// then clears the mark only if no accept counted it up meanwhile (DoneWith).

// IdempotencyTTL is how long an Idempotency-Key is kept.
const IdempotencyTTL = 24 * time.Hour

// acceptTries bounds the reads and transactions of one accept racing other writers.
const acceptTries = 10

// OutboxStore keeps the outbox.
type OutboxStore struct {
	db        dynamo.Client
	table     string
	instances string
	retention time.Duration
	backoff   dynamo.Backoff
}

// NewOutboxStore returns a store over the outbox table that marks new work on the instances
// table; messages and chat counters expire retention after their last write.
func NewOutboxStore(db dynamo.Client, table, instances string, retention time.Duration) *OutboxStore {
	return &OutboxStore{db: db, table: table, instances: instances, retention: retention, backoff: dynamo.DefaultBackoff}
}

// outboxItem is a message as stored.
type outboxItem struct {
	PK  string `dynamodbav:"pk"`
	SK  string `dynamodbav:"sk"`
	Ord string `dynamodbav:"ord"`
	// The index keys: instance, instance#chat, instance#status, instance#chat#status, and the
	// instance while the message is pending ("" otherwise, which leaves it out of byPending).
	GsiI     string `dynamodbav:"gsiI"`
	GsiIC    string `dynamodbav:"gsiIC"`
	GsiIS    string `dynamodbav:"gsiIS"`
	GsiICS   string `dynamodbav:"gsiICS"`
	PendingI string `dynamodbav:"pendingI,omitempty"`

	InstanceID    string     `dynamodbav:"instanceId"`
	MessageID     string     `dynamodbav:"messageId"`
	Chat          string     `dynamodbav:"chat"`
	Type          string     `dynamodbav:"type"`
	Seq           int64      `dynamodbav:"seq"`
	Message       []byte     `dynamodbav:"message"` // outbox.Message.Encode()
	Status        string     `dynamodbav:"status"`
	Error         string     `dynamodbav:"error,omitempty"`
	Attempts      int        `dynamodbav:"attempts"`
	NextAttemptAt *time.Time `dynamodbav:"nextAttemptAt,omitempty"`
	AcceptedAt    time.Time  `dynamodbav:"acceptedAt"`
	SentAt        *time.Time `dynamodbav:"sentAt,omitempty"`
	UpdatedAt     time.Time  `dynamodbav:"updatedAt"`
	SendBy        time.Time  `dynamodbav:"sendBy"` // outbox.Record.ExpiresAt
	Version       int        `dynamodbav:"version"`
	ExpiresAt     int64      `dynamodbav:"expiresAt"`        // TTL, unix seconds
	Result        []byte     `dynamodbav:"result,omitempty"` // a call's answer
}

func messagePK(instanceID string) string { return "m#" + instanceID }

// orderKey sorts an instance's messages by accept time and, within a chat, by Seq: a chat's
// accept times never go back (see Accept), so its keys grow with its Seq.
func orderKey(r *outbox.Record) string {
	return fmt.Sprintf("%013d#%012d#%s", r.AcceptedAt.UnixMilli(), r.Seq, r.MessageID)
}

func (s *OutboxStore) itemOf(r *outbox.Record) (map[string]types.AttributeValue, error) {
	msg, err := r.Message.Encode()
	if err != nil {
		return nil, err
	}
	chat := r.InstanceID + "#" + r.Message.Chat
	it := outboxItem{
		PK: messagePK(r.InstanceID), SK: r.MessageID, Ord: orderKey(r),
		GsiI: r.InstanceID, GsiIC: chat, GsiIS: r.InstanceID + "#" + string(r.Status), GsiICS: chat + "#" + string(r.Status),
		InstanceID: r.InstanceID, MessageID: r.MessageID, Chat: r.Message.Chat, Type: string(r.Message.Type),
		Seq: r.Seq, Message: msg, Status: string(r.Status), Error: r.Error, Attempts: r.Attempts,
		NextAttemptAt: utcPtr(r.NextAttemptAt), AcceptedAt: r.AcceptedAt.UTC(), SentAt: utcPtr(r.SentAt),
		UpdatedAt: r.UpdatedAt.UTC(), SendBy: r.ExpiresAt.UTC(), Version: r.Version,
		ExpiresAt: r.AcceptedAt.Add(s.retention).Unix(), Result: r.Result,
	}
	if r.Status.Pending() {
		it.PendingI = r.InstanceID
	}
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("encode message %s: %w", r.MessageID, err)
	}
	return item, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func decodeRecord(item map[string]types.AttributeValue) (*outbox.Record, error) {
	var it outboxItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return nil, fmt.Errorf("decode outbox message: %w", err)
	}
	msg, err := outbox.DecodeStored(it.Message)
	if err != nil {
		return nil, fmt.Errorf("message %s: %w", it.MessageID, err)
	}
	return &outbox.Record{
		InstanceID: it.InstanceID, MessageID: it.MessageID, Seq: it.Seq, Message: msg,
		Status: outbox.Status(it.Status), Error: it.Error, Attempts: it.Attempts, NextAttemptAt: it.NextAttemptAt,
		AcceptedAt: it.AcceptedAt, SentAt: it.SentAt, UpdatedAt: it.UpdatedAt, ExpiresAt: it.SendBy, Version: it.Version,
		Result: it.Result,
	}, nil
}

func outboxKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": str(pk), "sk": str(sk)}
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// RequestHash is what an Idempotency-Key's item keeps of its request: the SHA-256 of the
// message's stored form, which is the request normalised (the same message written two ways
// hashes the same).
func RequestHash(m *outbox.Message) (string, error) {
	b, err := m.Encode()
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// idempotencyItem is an Idempotency-Key as stored.
type idempotencyItem struct {
	Hash      string `dynamodbav:"hash"`
	MessageID string `dynamodbav:"messageId"`
	ExpiresAt int64  `dynamodbav:"expiresAt"`
}

// counterItem is a chat's counter as stored.
type counterItem struct {
	Seq    int64 `dynamodbav:"seq"`
	LastAt int64 `dynamodbav:"lastAt"` // the last accept time, unix ms
}

// outboxInstance is what an accept reads of the instance.
type outboxInstance struct {
	InstanceID string `dynamodbav:"instanceId"`
	DeviceJID  string `dynamodbav:"deviceJid"`
	LeaseOwner string `dynamodbav:"leaseOwner"`
}

// Accept stores rec, a new message of rec.InstanceID, under the Idempotency-Key key ("" for
// none), and returns it as stored with whether it is new. Accept gives it its chat's next Seq
// and its AcceptedAt (now, or the chat's last accept time when another accept's clock ran
// ahead, so a chat's accept times follow its Seq); UpdatedAt is AcceptedAt and ExpiresAt
// keeps its distance from AcceptedAt.
//
// A key already used within IdempotencyTTL with the same message answers the message it
// stored then, as it now is, and false; with another message it is an EConflict naming the
// header. A missing instance is ENotFound; one with no paired device (never paired, or
// logged out) is EConflict.
func (s *OutboxStore) Accept(ctx context.Context, rec *outbox.Record, key string, now time.Time) (*outbox.Record, bool, error) {
	hash, err := RequestHash(rec.Message)
	if err != nil {
		return nil, false, err
	}
	ttl := cmp.Or(rec.ExpiresAt.Sub(rec.AcceptedAt), outbox.DefaultTTL)
	for try := 0; ; try++ {
		if key != "" {
			prior, err := s.priorAnswer(ctx, rec.InstanceID, key, hash, now)
			if prior != nil || err != nil {
				return prior, false, err
			}
		}
		in, err := s.readInstance(ctx, rec.InstanceID)
		if err != nil {
			return nil, false, err
		}
		counter, err := s.readCounter(ctx, rec.InstanceID, rec.Message.Chat)
		if err != nil {
			return nil, false, err
		}
		next := *rec
		next.Seq = counter.Seq + 1
		next.AcceptedAt = time.UnixMilli(max(now.UnixMilli(), counter.LastAt)).UTC()
		next.UpdatedAt, next.ExpiresAt = next.AcceptedAt, next.AcceptedAt.Add(ttl)
		err = s.transact(ctx, &next, counter, in, key, hash, now)
		if err == nil {
			return &next, true, nil
		}
		if !dynamo.ConditionFailed(err) && !dynamo.TransactionConflict(err) {
			return nil, false, fmt.Errorf("accept message %s of %s: %w", rec.MessageID, rec.InstanceID, err)
		}
		// Another writer got there first: a concurrent accept for the chat or with the key, a
		// lease that moved, a device that logged out. Read again and retry.
		if try+1 == acceptTries {
			return nil, false, webhook.Errorf(webhook.EUnavailable, "instance %s is busy accepting other messages for chat %s; try again", rec.InstanceID, rec.Message.Chat)
		}
		if err := s.backoff.Wait(ctx, try); err != nil {
			return nil, false, err
		}
	}
}

// priorAnswer returns the message an unexpired Idempotency-Key stored for the same request,
// nil when the key is unused, or EConflict when it was used with another request.
func (s *OutboxStore) priorAnswer(ctx context.Context, instanceID, key, hash string, now time.Time) (*outbox.Record, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: outboxKey("k#"+instanceID, key), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read idempotency key of %s: %w", instanceID, err)
	}
	if out.Item == nil {
		return nil, nil
	}
	var it idempotencyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode idempotency key of %s: %w", instanceID, err)
	}
	if it.ExpiresAt <= now.Unix() {
		return nil, nil // past its 24 h; TTL has yet to remove it
	}
	if it.Hash != hash {
		return nil, webhook.Errorf(webhook.EConflict, "Idempotency-Key: already used in the last 24 h with another request (message %s); use a new key for a new message", it.MessageID)
	}
	return s.Get(ctx, instanceID, it.MessageID)
}

func (s *OutboxStore) readInstance(ctx context.Context, id string) (outboxInstance, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.instances, Key: instanceKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("instanceId, deviceJid, leaseOwner"),
	})
	if err != nil {
		return outboxInstance{}, fmt.Errorf("read instance %s: %w", id, err)
	}
	if out.Item == nil {
		return outboxInstance{}, notFound(id)
	}
	var in outboxInstance
	if err := attributevalue.UnmarshalMap(out.Item, &in); err != nil {
		return outboxInstance{}, fmt.Errorf("decode instance %s: %w", id, err)
	}
	if in.DeviceJID == "" {
		return outboxInstance{}, webhook.Errorf(webhook.EConflict, "instance %s has no paired device (never paired, or logged out); pair it first", id)
	}
	return in, nil
}

func (s *OutboxStore) readCounter(ctx context.Context, instanceID, chat string) (counterItem, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: outboxKey("c#"+instanceID, chat), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return counterItem{}, fmt.Errorf("read counter of chat %s of %s: %w", chat, instanceID, err)
	}
	var c counterItem
	if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
		return counterItem{}, fmt.Errorf("decode counter of chat %s of %s: %w", chat, instanceID, err)
	}
	return c, nil
}

// transact writes an accept: the counter moved from the Seq read, the message, the key, the
// instance's mark.
func (s *OutboxStore) transact(ctx context.Context, r *outbox.Record, prev counterItem, in outboxInstance, key, hash string, now time.Time) error {
	item, err := s.itemOf(r)
	if err != nil {
		return err
	}
	expires := number(r.AcceptedAt.Add(s.retention).Unix())
	counterCond := "attribute_not_exists(pk)"
	counterValues := map[string]types.AttributeValue{
		":seq": number(r.Seq), ":at": number(r.AcceptedAt.UnixMilli()), ":exp": expires,
	}
	if prev.Seq > 0 {
		counterCond = "seq = :prev"
		counterValues[":prev"] = number(prev.Seq)
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.table, Key: outboxKey("c#"+r.InstanceID, r.Message.Chat),
			UpdateExpression:          aws.String("SET seq = :seq, lastAt = :at, expiresAt = :exp"),
			ConditionExpression:       &counterCond,
			ExpressionAttributeValues: counterValues,
		}},
		{Put: &types.Put{TableName: &s.table, Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}
	if key != "" {
		items = append(items, types.TransactWriteItem{Put: &types.Put{
			TableName: &s.table,
			Item: map[string]types.AttributeValue{
				"pk": str("k#" + r.InstanceID), "sk": str(key), "hash": str(hash), "messageId": str(r.MessageID),
				"expiresAt": number(now.Add(IdempotencyTTL).Unix()),
			},
			ConditionExpression:       aws.String("attribute_not_exists(pk) OR expiresAt <= :now"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":now": number(now.Unix())},
		}})
	}
	if in.LeaseOwner != "" {
		items = append(items, types.TransactWriteItem{Update: &types.Update{
			TableName: &s.instances, Key: instanceKey(r.InstanceID),
			UpdateExpression:    aws.String("SET outboxHost = :host, outboxAt = :at ADD outboxMark :one"),
			ConditionExpression: aws.String("leaseOwner = :host AND attribute_exists(deviceJid)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":host": str(in.LeaseOwner), ":at": number(r.AcceptedAt.UnixMilli()), ":one": number(1),
			},
		}})
	} else {
		items = append(items, types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName: &s.instances, Key: instanceKey(r.InstanceID),
			ConditionExpression: aws.String("attribute_exists(deviceJid) AND attribute_not_exists(leaseOwner)"),
		}})
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	return err
}

// Get returns an instance's message, read consistently, or ENotFound.
func (s *OutboxStore) Get(ctx context.Context, instanceID, messageID string) (*outbox.Record, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: outboxKey(messagePK(instanceID), messageID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read message %s of %s: %w", messageID, instanceID, err)
	}
	if out.Item == nil {
		return nil, webhook.Errorf(webhook.ENotFound, "message %s not found in instance %s", messageID, instanceID)
	}
	return decodeRecord(out.Item)
}

// Update replaces prev with next, a change of prev such as prev.Move gives, if the stored
// message is still at prev.Version; otherwise it is EConflict and nothing is written. The
// message's index keys follow next's status: it leaves byPending when it stops being pending.
func (s *OutboxStore) Update(ctx context.Context, prev, next *outbox.Record) error {
	if next.InstanceID != prev.InstanceID || next.MessageID != prev.MessageID || next.Seq != prev.Seq || !next.AcceptedAt.Equal(prev.AcceptedAt) {
		return fmt.Errorf("update message %s: next changes its identity or its place in the chat", prev.MessageID)
	}
	item, err := s.itemOf(next)
	if err != nil {
		return err
	}
	in := &dynamodb.PutItemInput{
		TableName: &s.table, Item: item,
		ConditionExpression:       aws.String("version = :v"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": number(int64(prev.Version))},
	}
	// A try applied whose answer was lost comes back from the SDK's retry as a failed
	// condition; the stored item tells it from another writer's change.
	dynamo.MarkPut(in)
	_, err = s.db.PutItem(ctx, in)
	if dynamo.AlreadyWritten(err, item) {
		return nil
	}
	if dynamo.ConditionFailed(err) {
		return webhook.Errorf(webhook.EConflict, "message %s changed since version %d", prev.MessageID, prev.Version)
	}
	if err != nil {
		return fmt.Errorf("update message %s of %s: %w", prev.MessageID, prev.InstanceID, err)
	}
	return nil
}

// Pending returns up to limit of the instance's queued or sending messages, oldest first:
// within a chat in Seq order. byPending is eventually consistent, so the messages are read
// again from the table, and one that stopped being pending a moment ago is left out.
func (s *OutboxStore) Pending(ctx context.Context, instanceID string, limit int) ([]*outbox.Record, error) {
	keys, _, err := s.queryKeys(ctx, "byPending", "pendingI", instanceID, "", true, limit)
	if err != nil {
		return nil, fmt.Errorf("pending messages of %s: %w", instanceID, err)
	}
	recs, err := s.readMany(ctx, instanceID, keys)
	if err != nil {
		return nil, fmt.Errorf("pending messages of %s: %w", instanceID, err)
	}
	out := recs[:0]
	for _, r := range recs {
		if r.Status.Pending() {
			out = append(out, r)
		}
	}
	return out, nil
}

// OutboxFilter narrows a listing; "" fields match anything.
type OutboxFilter struct {
	Chat   string
	Status outbox.Status
}

// List returns up to limit of the instance's messages matching f, newest first, older than
// the position before ("" for the first page), and the position to pass as before for the
// next page ("" on the last). It reads limit+1 index keys and then the messages it returns:
// the cost depends on limit, never on how many messages exist. A message whose status
// changed since its index entry was written is left out of a status listing, so a page may
// hold fewer than limit.
func (s *OutboxStore) List(ctx context.Context, instanceID string, f OutboxFilter, limit int, before string) ([]*outbox.Record, string, error) {
	index, attr, value := "byInstance", "gsiI", instanceID
	switch {
	case f.Chat != "" && f.Status != "":
		index, attr, value = "byChatStatus", "gsiICS", instanceID+"#"+f.Chat+"#"+string(f.Status)
	case f.Chat != "":
		index, attr, value = "byChat", "gsiIC", instanceID+"#"+f.Chat
	case f.Status != "":
		index, attr, value = "byStatus", "gsiIS", instanceID+"#"+string(f.Status)
	}
	keys, next, err := s.queryKeys(ctx, index, attr, value, before, false, limit)
	if err != nil {
		return nil, "", fmt.Errorf("list messages of %s: %w", instanceID, err)
	}
	recs, err := s.readMany(ctx, instanceID, keys)
	if err != nil {
		return nil, "", fmt.Errorf("list messages of %s: %w", instanceID, err)
	}
	out := recs[:0]
	for _, r := range recs {
		if (f.Status == "" || r.Status == f.Status) && (f.Chat == "" || r.Message.Chat == f.Chat) {
			out = append(out, r)
		}
	}
	return out, next, nil
}

// outboxEntry is one entry of an outbox index: the message id and its order key.
type outboxEntry struct{ messageID, ord string }

// queryKeys reads up to limit entries of index under value, from the position before
// (exclusive; "" for the start), ascending or descending, and the position after the last
// entry when more follow.
func (s *OutboxStore) queryKeys(ctx context.Context, index, attr, value, before string, ascending bool, limit int) ([]outboxEntry, string, error) {
	if limit < 1 {
		return nil, "", fmt.Errorf("limit %d is below 1", limit)
	}
	cond := "#pk = :pk"
	values := map[string]types.AttributeValue{":pk": str(value)}
	if before != "" {
		cond += " AND ord < :from"
		if ascending {
			cond = "#pk = :pk AND ord > :from"
		}
		values[":from"] = str(before)
	}
	var (
		keys  []outboxEntry
		start map[string]types.AttributeValue
	)
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName: &s.table, IndexName: &index,
			KeyConditionExpression: &cond, ExpressionAttributeNames: map[string]string{"#pk": attr},
			ExpressionAttributeValues: values, ScanIndexForward: aws.Bool(ascending),
			Limit: aws.Int32(int32(limit + 1 - len(keys))), ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, "", fmt.Errorf("query %s: %w", index, err)
		}
		for _, item := range out.Items {
			id, _ := item["sk"].(*types.AttributeValueMemberS)
			ord, _ := item["ord"].(*types.AttributeValueMemberS)
			if id != nil && ord != nil {
				keys = append(keys, outboxEntry{id.Value, ord.Value})
			}
		}
		// A page can stop short at DynamoDB's page size; read on from there.
		if start = out.LastEvaluatedKey; start == nil || len(keys) > limit {
			break
		}
	}
	if len(keys) > limit {
		keys = keys[:limit]
		return keys, keys[limit-1].ord, nil
	}
	return keys, "", nil
}

// readMany reads the instance's messages with the given keys, consistently, in the keys'
// order; those gone are left out.
func (s *OutboxStore) readMany(ctx context.Context, instanceID string, keys []outboxEntry) ([]*outbox.Record, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ks := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		ks[i] = outboxKey(messagePK(instanceID), k.messageID)
	}
	items, err := dynamo.BatchGet(ctx, s.db, s.backoff, s.table, ks)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*outbox.Record, len(items))
	for _, item := range items {
		r, err := decodeRecord(item)
		if err != nil {
			return nil, err
		}
		byID[r.MessageID] = r
	}
	out := make([]*outbox.Record, 0, len(keys))
	for _, k := range keys {
		if r, ok := byID[k.messageID]; ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// Work tells a session host that an instance it holds has accepted messages it has not yet
// read: Mark counts the accepts, At is the last one's time.
type Work struct {
	Host       string
	InstanceID string
	Mark       int64
	At         time.Time
}

type workItem struct {
	InstanceID string `dynamodbav:"instanceId"`
	Mark       int64  `dynamodbav:"outboxMark"`
	At         int64  `dynamodbav:"outboxAt"` // unix ms
}

// WorkFor lists the instances marked with new work for host: one Query of the sparse
// byOutboxHost index, which is eventually consistent, so a mark cleared a moment ago may
// still be listed (DoneWith on it again is harmless).
func (s *OutboxStore) WorkFor(ctx context.Context, host string) ([]Work, error) {
	var work []Work
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.instances, IndexName: aws.String("byOutboxHost"),
		KeyConditionExpression:    aws.String("outboxHost = :host"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":host": str(host)},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("outbox work of host %s: %w", host, err)
		}
		var batch []workItem
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &batch); err != nil {
			return nil, fmt.Errorf("decode outbox work of host %s: %w", host, err)
		}
		for _, it := range batch {
			work = append(work, Work{Host: host, InstanceID: it.InstanceID, Mark: it.Mark, At: time.UnixMilli(it.At).UTC()})
		}
	}
	return work, nil
}

// DoneWith clears w's mark, once the host has read the instance's pending messages, unless
// an accept marked it again since w was read (then the mark stays, and the host finds it on
// its next poll) or it is now addressed to another host.
func (s *OutboxStore) DoneWith(ctx context.Context, w Work) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.instances, Key: instanceKey(w.InstanceID),
		UpdateExpression:          aws.String("REMOVE outboxHost, outboxAt"),
		ConditionExpression:       aws.String("outboxHost = :host AND outboxMark = :mark"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":host": str(w.Host), ":mark": number(w.Mark)},
	})
	if err != nil && !dynamo.ConditionFailed(err) {
		return fmt.Errorf("clear outbox mark of %s: %w", w.InstanceID, err)
	}
	return nil
}
