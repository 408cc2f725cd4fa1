package dynamostore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/wagate/wagate/shared/dynamo"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

func msgSecretSK(chat, sender string, id types.MessageID) string {
	return chat + keySep + sender + keySep + id
}

func (s *DeviceStore) msgSecretItem(m store.MessageSecretInsert) (map[string]ddb.AttributeValue, error) {
	chat, sender := m.Chat.ToNonAD().String(), m.Sender.ToNonAD().String()
	for what, part := range map[string]string{"chat": chat, "sender": sender, "message id": m.ID} {
		if err := keyPart(what, part); err != nil {
			return nil, err
		}
	}
	if m.Secret == nil {
		return nil, fmt.Errorf("message secret %s: %w", m.ID, errNull)
	}
	it := key(s.pk(kindMsgSecret), msgSecretSK(chat, sender, m.ID))
	it[attrSender] = str(sender)
	it[attrValue] = bin(m.Secret)
	return it, checkSize("message secret "+m.ID, it)
}

// putMsgSecret stores a secret unless one is stored for that message already (sqlstore's ON
// CONFLICT DO NOTHING): the first secret stays.
func (s *DeviceStore) putMsgSecret(ctx context.Context, m store.MessageSecretInsert) error {
	it, err := s.msgSecretItem(m)
	if err != nil {
		return err
	}
	_, err = s.c.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.c.table, Item: it,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	if err != nil && !dynamo.ConditionFailed(err) {
		return err
	}
	return nil
}

// PutMessageSecrets stores many message secrets, keeping any already stored. Each is a
// conditional put (a batch write cannot be conditional), several at a time. A secret whose key
// (chat, sender and message id) is over DynamoDB's 1024-byte sort key limit is skipped with a
// warning and the others are stored; PutMessageSecret refuses one with ErrKeyTooLong.
func (s *DeviceStore) PutMessageSecrets(ctx context.Context, inserts []store.MessageSecretInsert) error {
	if len(inserts) == 0 {
		return nil
	}
	type secretKey struct{ chat, sender, id string }
	unique := dedupeFirst(inserts, func(m store.MessageSecretInsert) secretKey {
		return secretKey{m.Chat.ToNonAD().String(), m.Sender.ToNonAD().String(), m.ID}
	})
	// A message id is the peer's choice; one too long for a sort key is skipped (and logged)
	// rather than failing the batch: losing that message's secret beats losing them all.
	unique = slices.DeleteFunc(unique, func(m store.MessageSecretInsert) bool {
		_, err := s.msgSecretItem(m)
		if errors.Is(err, ErrKeyTooLong) {
			s.c.log.Warnf("Not storing the secret of message %.64q... from %s in %s: %v", m.ID, m.Sender, m.Chat, err)
			return true
		}
		return false
	})
	for _, m := range unique {
		if _, err := s.msgSecretItem(m); err != nil {
			return fmt.Errorf("put %d message secrets: %w", len(inserts), err)
		}
	}
	err := parallel(ctx, len(unique), func(ctx context.Context, i int) error {
		return s.putMsgSecret(ctx, unique[i])
	})
	if err != nil {
		return fmt.Errorf("put %d message secrets: %w", len(inserts), err)
	}
	return nil
}

// PutMessageSecret stores one message secret, keeping one already stored.
func (s *DeviceStore) PutMessageSecret(ctx context.Context, chat, sender types.JID, id types.MessageID, secret []byte) error {
	if err := s.putMsgSecret(ctx, store.MessageSecretInsert{Chat: chat, Sender: sender, ID: id, Secret: secret}); err != nil {
		return fmt.Errorf("put message secret %s: %w", id, err)
	}
	return nil
}

// altJIDs reads, from the stored LID map (not the cache, as sqlstore's SQL), the other form of
// each user JID string: "<pn>@s.whatsapp.net" for "<lid>@lid" and back. JIDs of other
// servers or without a mapping have none.
func (c *Container) altJIDs(ctx context.Context, jids ...types.JID) (map[types.JID]string, error) {
	var keys []itemKey
	for _, j := range jids {
		if j.User == "" {
			continue
		}
		switch j.Server {
		case types.HiddenUserServer:
			keys = append(keys, itemKey{pkLIDToPN, j.User})
		case types.DefaultUserServer:
			keys = append(keys, itemKey{pkPNToLID, j.User})
		}
	}
	alts := make(map[types.JID]string, len(keys))
	if len(keys) == 0 {
		return alts, nil
	}
	found, err := c.batchGet(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read LID map: %w", err)
	}
	for _, j := range jids {
		switch j.Server {
		case types.HiddenUserServer:
			if it, ok := found[itemKey{pkLIDToPN, j.User}]; ok {
				pn, _ := it.str(attrOther)
				alts[j] = pn + "@" + types.DefaultUserServer
			}
		case types.DefaultUserServer:
			if it, ok := found[itemKey{pkPNToLID, j.User}]; ok {
				lid, _ := it.str(attrOther)
				alts[j] = lid + "@" + types.HiddenUserServer
			}
		}
	}
	return alts, nil
}

// GetMessageSecret reads a message's secret and its sender as stored, looking the chat and
// the sender up under their phone number or LID form too, as sqlstore. When several forms are
// stored (sqlstore answers any one of them) it prefers the chat, then the sender, as given.
func (s *DeviceStore) GetMessageSecret(ctx context.Context, chat, sender types.JID, id types.MessageID) ([]byte, types.JID, error) {
	chat, sender = chat.ToNonAD(), sender.ToNonAD()
	alts, err := s.c.altJIDs(ctx, chat, sender)
	if err != nil {
		return nil, types.EmptyJID, fmt.Errorf("get message secret %s: %w", id, err)
	}
	chats, senders := []string{chat.String()}, []string{sender.String()}
	if alt, ok := alts[chat]; ok {
		chats = append(chats, alt)
	}
	if alt, ok := alts[sender]; ok {
		senders = append(senders, alt)
	}
	var candidates []itemKey
	pk := s.pk(kindMsgSecret)
	for _, c := range chats {
		for _, snd := range senders {
			candidates = append(candidates, itemKey{pk, msgSecretSK(c, snd, id)})
		}
	}
	found, err := s.c.batchGet(ctx, candidates)
	if err != nil {
		return nil, types.EmptyJID, fmt.Errorf("get message secret %s: %w", id, err)
	}
	for _, k := range candidates {
		it, ok := found[k]
		if !ok {
			continue
		}
		storedSender, _ := it.str(attrSender)
		realSender, err := types.ParseJID(storedSender)
		if err != nil {
			return nil, types.EmptyJID, fmt.Errorf("get message secret %s: sender %q: %w", id, storedSender, err)
		}
		return it.bin(attrValue), realSender, nil
	}
	return nil, types.EmptyJID, nil
}

// PutPrivacyTokens stores privacy tokens, replacing stored ones; of several for one user the
// last wins, as in sqlstore's single upsert on SQLite.
func (s *DeviceStore) PutPrivacyTokens(ctx context.Context, tokens ...store.PrivacyToken) error {
	pk := s.pk(kindPrivacyToken)
	writes := make([]write, len(tokens))
	for i, t := range tokens {
		user := t.User.ToNonAD().String()
		if t.Token == nil {
			return fmt.Errorf("put %d privacy tokens: token of %s: %w", len(tokens), user, errNull)
		}
		it := key(pk, user)
		it[attrValue] = bin(t.Token)
		it[attrTimestamp] = num(t.Timestamp.Unix())
		writes[i] = write{key: itemKey{pk, user}, item: it, what: "privacy token of " + user}
	}
	if err := s.c.batchWrite(ctx, writes); err != nil {
		return fmt.Errorf("put %d privacy tokens: %w", len(tokens), err)
	}
	return nil
}

// GetPrivacyToken reads the privacy token of a user, looking under their phone number or LID
// form too and answering the newer of the two (the given form on a tie); nil when none.
func (s *DeviceStore) GetPrivacyToken(ctx context.Context, user types.JID) (*store.PrivacyToken, error) {
	user = user.ToNonAD()
	alts, err := s.c.altJIDs(ctx, user)
	if err != nil {
		return nil, fmt.Errorf("get privacy token of %s: %w", user, err)
	}
	pk := s.pk(kindPrivacyToken)
	candidates := []itemKey{{pk, user.String()}}
	if alt, ok := alts[user]; ok {
		candidates = append(candidates, itemKey{pk, alt})
	}
	found, err := s.c.batchGet(ctx, candidates)
	if err != nil {
		return nil, fmt.Errorf("get privacy token of %s: %w", user, err)
	}
	var best *store.PrivacyToken
	for _, k := range candidates {
		it, ok := found[k]
		if !ok {
			continue
		}
		ts, err := it.int64(attrTimestamp)
		if err != nil {
			return nil, fmt.Errorf("get privacy token of %s: %w", user, err)
		}
		if best == nil || ts > best.Timestamp.Unix() {
			best = &store.PrivacyToken{User: user, Token: it.bin(attrValue), Timestamp: time.Unix(ts, 0)}
		}
	}
	return best, nil
}

// Buffered event attributes.
const (
	attrServerTS = "serverTs"
	attrInsertMS = "insertMs"
	// bufferedEventAge is how long WhatsApp's servers may resend an event, and so how long a
	// decrypted event is kept (sqlstore's DeleteOldBufferedHashes cutoff).
	bufferedEventAge = 14 * 24 * time.Hour
)

// GetBufferedEvent reads a buffered event; nil when none. Plaintext is nil once cleared.
func (s *DeviceStore) GetBufferedEvent(ctx context.Context, ciphertextHash [32]byte) (*store.BufferedEvent, error) {
	it, err := s.get(ctx, s.pk(kindEventBuffer), hex.EncodeToString(ciphertextHash[:]))
	if err != nil {
		return nil, fmt.Errorf("get buffered event %x: %w", ciphertextHash, err)
	}
	if it == nil {
		return nil, nil
	}
	serverTS, err := it.int64(attrServerTS)
	if err != nil {
		return nil, fmt.Errorf("get buffered event %x: %w", ciphertextHash, err)
	}
	insertMS, err := it.int64(attrInsertMS)
	if err != nil {
		return nil, fmt.Errorf("get buffered event %x: %w", ciphertextHash, err)
	}
	return &store.BufferedEvent{Plaintext: it.bin(attrValue), ServerTime: time.Unix(serverTS, 0), InsertTime: time.UnixMilli(insertMS)}, nil
}

// PutBufferedEvent buffers a decrypted event. Buffering the same ciphertext twice is an error,
// as sqlstore's primary key makes it. It also sets the TTL attribute to when
// DeleteOldBufferedHashes would delete it, so DynamoDB removes old events of every device.
func (s *DeviceStore) PutBufferedEvent(ctx context.Context, ciphertextHash [32]byte, plaintext []byte, serverTimestamp time.Time) error {
	now := s.c.now()
	hashHex := hex.EncodeToString(ciphertextHash[:])
	it := key(s.pk(kindEventBuffer), hashHex)
	if plaintext != nil {
		it[attrValue] = bin(plaintext)
	}
	it[attrServerTS] = num(serverTimestamp.Unix())
	it[attrInsertMS] = num(now.UnixMilli())
	it[attrExpiresAt] = num(now.Add(bufferedEventAge).Unix())
	what := "buffered event " + hashHex
	if err := checkSize("", it); err != nil {
		return fmt.Errorf("put %s: plaintext of %d bytes: %w", what, len(plaintext), err)
	}
	if s.txn(ctx) != nil {
		// Inside a decryption fail here, as SQL would, not only when the transaction commits
		// (whose condition still catches a concurrent writer).
		existing, err := s.get(ctx, s.pk(kindEventBuffer), hashHex)
		if err != nil {
			return fmt.Errorf("put %s: %w", what, err)
		}
		if existing != nil {
			return fmt.Errorf("put %s: already buffered (UNIQUE constraint failed)", what)
		}
	}
	err := s.put(ctx, it, "attribute_not_exists(pk)")
	if dynamo.ConditionFailed(err) {
		return fmt.Errorf("put %s: already buffered (UNIQUE constraint failed)", what)
	}
	if err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	return nil
}

// ClearBufferedEventPlaintext forgets a buffered event's plaintext, keeping its hash.
func (s *DeviceStore) ClearBufferedEventPlaintext(ctx context.Context, ciphertextHash [32]byte) error {
	if err := s.flush(ctx); err != nil {
		return fmt.Errorf("clear buffered event %x: %w", ciphertextHash, err)
	}
	_, err := s.c.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.c.table, Key: key(s.pk(kindEventBuffer), hex.EncodeToString(ciphertextHash[:])),
		UpdateExpression:         aws.String("REMOVE #v"),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#v": attrValue, "#pk": attrPK},
	})
	if err != nil && !dynamo.ConditionFailed(err) {
		return fmt.Errorf("clear buffered event %x: %w", ciphertextHash, err)
	}
	return nil
}

// DeleteOldBufferedHashes deletes this device's buffered events inserted over 14 days ago.
// sqlstore's deletes those of every device in the database; here the TTL attribute set by
// PutBufferedEvent has DynamoDB remove other devices' (within a day or two of expiry).
func (s *DeviceStore) DeleteOldBufferedHashes(ctx context.Context) error {
	if err := s.flush(ctx); err != nil {
		return fmt.Errorf("delete old buffered events: %w", err)
	}
	cutoff := s.c.now().Add(-bufferedEventAge).UnixMilli()
	pk := s.pk(kindEventBuffer)
	items, err := s.c.queryAll(ctx, query{
		pk: pk, projection: []string{attrSK},
		filter: "#i < :cutoff", filterNames: map[string]string{"#i": attrInsertMS},
		filterVals: map[string]ddb.AttributeValue{":cutoff": num(cutoff)},
	})
	if err != nil {
		return fmt.Errorf("delete old buffered events: %w", err)
	}
	writes := make([]write, len(items))
	for i, it := range items {
		sk, _ := it.str(attrSK)
		writes[i] = write{key: itemKey{pk, sk}}
	}
	if err := s.c.batchWrite(ctx, writes); err != nil {
		return fmt.Errorf("delete %d old buffered events: %w", len(writes), err)
	}
	return nil
}
