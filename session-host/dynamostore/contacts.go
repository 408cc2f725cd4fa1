package dynamostore

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// Contact attributes; each is absent until set, as sqlstore's nullable columns.
const (
	attrFirstName     = "firstName"
	attrFullName      = "fullName"
	attrContactPush   = "pushName"
	attrContactBiz    = "businessName"
	attrRedactedPhone = "redactedPhone"
)

// updateFields sets attributes of one item, creating it when absent (an SQL upsert of some
// columns).
func (c *Container) updateFields(ctx context.Context, pk, sk string, fields map[string]ddb.AttributeValue) error {
	if err := checkKey(pk, sk); err != nil {
		return err
	}
	size := len(pk) + len(sk) + 4
	for name, v := range fields {
		size += len(name) + valueSize(v)
	}
	if size > maxItemBytes {
		return fmt.Errorf("%d bytes of fields: %w", size, ErrItemTooLarge)
	}
	expr, err := expression.NewBuilder().WithUpdate(setEach(fields)).Build()
	if err != nil {
		return fmt.Errorf("update of %d fields: %w", len(fields), err)
	}
	_, err = c.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &c.table, Key: key(pk, sk),
		UpdateExpression:          expr.Update(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	return err
}

// PutPushName stores a contact's push name when it differs from the known one and answers
// whether it changed and the previous name, as sqlstore (which compares with its cache).
func (s *DeviceStore) PutPushName(ctx context.Context, user types.JID, pushName string) (bool, string, error) {
	return s.putContactField(ctx, user, attrContactPush, pushName,
		func(ci *types.ContactInfo) *string { return &ci.PushName })
}

// PutBusinessName is PutPushName for the business name.
func (s *DeviceStore) PutBusinessName(ctx context.Context, user types.JID, businessName string) (bool, string, error) {
	return s.putContactField(ctx, user, attrContactBiz, businessName,
		func(ci *types.ContactInfo) *string { return &ci.BusinessName })
}

func (s *DeviceStore) putContactField(ctx context.Context, user types.JID, attr, value string, field func(*types.ContactInfo) *string) (bool, string, error) {
	s.contactCacheLock.Lock()
	defer s.contactCacheLock.Unlock()
	cached, err := s.getContact(ctx, user)
	if err != nil {
		return false, "", err
	}
	if *field(cached) == value {
		return false, "", nil
	}
	err = s.c.updateFields(ctx, s.pk(kindContact), user.String(), map[string]ddb.AttributeValue{attr: str(value)})
	if err != nil {
		return false, "", fmt.Errorf("put %s of %s: %w", attr, user, err)
	}
	previous := *field(cached)
	*field(cached) = value
	cached.Found = true
	return true, previous, nil
}

// PutContactName stores a contact's first and full name (in that order, as sqlstore; the
// interface's parameter names are the other way round).
func (s *DeviceStore) PutContactName(ctx context.Context, user types.JID, firstName, fullName string) error {
	s.contactCacheLock.Lock()
	defer s.contactCacheLock.Unlock()
	cached, err := s.getContact(ctx, user)
	if err != nil {
		return err
	}
	if cached.FirstName == firstName && cached.FullName == fullName {
		return nil
	}
	err = s.c.updateFields(ctx, s.pk(kindContact), user.String(), map[string]ddb.AttributeValue{
		attrFirstName: str(firstName), attrFullName: str(fullName),
	})
	if err != nil {
		return fmt.Errorf("put contact name of %s: %w", user, err)
	}
	cached.FirstName, cached.FullName, cached.Found = firstName, fullName, true
	return nil
}

// mergeContacts sets fields of many contacts, keeping their other fields: it reads the
// contacts (100 to a request), merges, and writes them back (25 to a request). The caller holds
// contactCacheLock, which every contact write of this store takes, so no write of this process
// falls between the read and the write; one process owns a device at a time (the session
// host's lease), so no other does either.
func (s *DeviceStore) mergeContacts(ctx context.Context, users []types.JID, fields func(i int) map[string]ddb.AttributeValue) error {
	pk := s.pk(kindContact)
	keys := make([]itemKey, len(users))
	for i, u := range users {
		keys[i] = itemKey{pk, u.String()}
	}
	existing, err := s.c.batchGet(ctx, keys)
	if err != nil {
		return err
	}
	writes := make([]write, len(users))
	for i, k := range keys {
		it := key(k.pk, k.sk)
		for name, v := range existing[k] {
			it[name] = v
		}
		for name, v := range fields(i) {
			it[name] = v
		}
		writes[i] = write{key: k, item: it, what: "contact " + k.sk}
	}
	return s.c.batchWrite(ctx, writes)
}

// dedupeFirst keeps the first entry of each key, in order (as exslices.DeduplicateUnsortedOverwriteFunc).
func dedupeFirst[T any, K comparable](entries []T, keyOf func(T) K) []T {
	seen := make(map[K]bool, len(entries))
	out := make([]T, 0, len(entries))
	for _, e := range entries {
		if k := keyOf(e); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return out
}

// PutAllContactNames stores the first and full names of many contacts and forgets the cached
// contacts, as sqlstore.
func (s *DeviceStore) PutAllContactNames(ctx context.Context, contacts []store.ContactEntry) error {
	if len(contacts) == 0 {
		return nil
	}
	unique := dedupeFirst(contacts, func(c store.ContactEntry) types.JID { return c.JID })
	if len(unique) != len(contacts) {
		s.c.log.Warnf("%d duplicate contacts found in PutAllContactNames", len(contacts)-len(unique))
	}
	users := make([]types.JID, len(unique))
	for i, c := range unique {
		users[i] = c.JID
	}
	s.contactCacheLock.Lock()
	defer s.contactCacheLock.Unlock()
	err := s.mergeContacts(ctx, users, func(i int) map[string]ddb.AttributeValue {
		return map[string]ddb.AttributeValue{attrFirstName: str(unique[i].FirstName), attrFullName: str(unique[i].FullName)}
	})
	if err != nil {
		return fmt.Errorf("put %d contact names: %w", len(unique), err)
	}
	s.contactCache = make(map[types.JID]*types.ContactInfo)
	return nil
}

// PutManyRedactedPhones stores the redacted phone numbers of many contacts.
func (s *DeviceStore) PutManyRedactedPhones(ctx context.Context, entries []store.RedactedPhoneEntry) error {
	if len(entries) == 0 {
		return nil
	}
	unique := dedupeFirst(entries, func(e store.RedactedPhoneEntry) types.JID { return e.JID })
	if len(unique) != len(entries) {
		s.c.log.Warnf("%d duplicate contacts found in PutManyRedactedPhones", len(entries)-len(unique))
	}
	users := make([]types.JID, len(unique))
	for i, e := range unique {
		users[i] = e.JID
	}
	s.contactCacheLock.Lock()
	defer s.contactCacheLock.Unlock()
	err := s.mergeContacts(ctx, users, func(i int) map[string]ddb.AttributeValue {
		return map[string]ddb.AttributeValue{attrRedactedPhone: str(unique[i].RedactedPhone)}
	})
	if err != nil {
		return fmt.Errorf("put %d redacted phones: %w", len(unique), err)
	}
	for _, e := range unique {
		if cached, ok := s.contactCache[e.JID]; ok && cached.RedactedPhone == e.RedactedPhone {
			continue
		}
		delete(s.contactCache, e.JID)
	}
	return nil
}

func decodeContact(it item) types.ContactInfo {
	info := types.ContactInfo{Found: true}
	info.FirstName, _ = it.str(attrFirstName)
	info.FullName, _ = it.str(attrFullName)
	info.PushName, _ = it.str(attrContactPush)
	info.BusinessName, _ = it.str(attrContactBiz)
	info.RedactedPhone, _ = it.str(attrRedactedPhone)
	return info
}

// getContact answers the cached contact or reads and caches it (absent ones too). The caller
// holds contactCacheLock.
func (s *DeviceStore) getContact(ctx context.Context, user types.JID) (*types.ContactInfo, error) {
	if cached, ok := s.contactCache[user]; ok {
		return cached, nil
	}
	it, err := s.c.getItem(ctx, s.pk(kindContact), user.String())
	if err != nil {
		return nil, fmt.Errorf("get contact %s: %w", user, err)
	}
	info := &types.ContactInfo{}
	if it != nil {
		*info = decodeContact(it)
	}
	s.contactCache[user] = info
	return info, nil
}

// GetContact answers a contact; Found is false when none is stored.
func (s *DeviceStore) GetContact(ctx context.Context, user types.JID) (types.ContactInfo, error) {
	s.contactCacheLock.Lock()
	defer s.contactCacheLock.Unlock()
	info, err := s.getContact(ctx, user)
	if err != nil {
		return types.ContactInfo{}, err
	}
	return *info, nil
}

// GetAllContacts reads every contact of the device and caches them.
func (s *DeviceStore) GetAllContacts(ctx context.Context) (map[types.JID]types.ContactInfo, error) {
	s.contactCacheLock.Lock()
	defer s.contactCacheLock.Unlock()
	items, err := s.c.queryAll(ctx, query{pk: s.pk(kindContact)})
	if err != nil {
		return nil, fmt.Errorf("get all contacts: %w", err)
	}
	output := make(map[types.JID]types.ContactInfo, len(items))
	for _, it := range items {
		sk, _ := it.str(attrSK)
		jid, err := types.ParseJID(sk)
		if err != nil {
			return nil, fmt.Errorf("get all contacts: contact %q: %w", sk, err)
		}
		info := decodeContact(it)
		output[jid] = info
		s.contactCache[jid] = &info
	}
	return output, nil
}

// Chat settings attributes; absent ones read as sqlstore's column defaults.
const (
	attrMutedUntil = "mutedUntil"
	attrPinned     = "pinned"
	attrArchived   = "archived"
)

// PutMutedUntil stores until when a chat is muted: zero for not muted, store.MutedForever.
func (s *DeviceStore) PutMutedUntil(ctx context.Context, chat types.JID, mutedUntil time.Time) error {
	var val int64
	if mutedUntil == store.MutedForever {
		val = -1
	} else if !mutedUntil.IsZero() {
		val = mutedUntil.Unix()
	}
	if err := s.c.updateFields(ctx, s.pk(kindChatSettings), chat.String(), map[string]ddb.AttributeValue{attrMutedUntil: num(val)}); err != nil {
		return fmt.Errorf("put muted until of %s: %w", chat, err)
	}
	return nil
}

// PutPinned stores whether a chat is pinned.
func (s *DeviceStore) PutPinned(ctx context.Context, chat types.JID, pinned bool) error {
	if err := s.c.updateFields(ctx, s.pk(kindChatSettings), chat.String(), map[string]ddb.AttributeValue{attrPinned: boolean(pinned)}); err != nil {
		return fmt.Errorf("put pinned of %s: %w", chat, err)
	}
	return nil
}

// PutArchived stores whether a chat is archived.
func (s *DeviceStore) PutArchived(ctx context.Context, chat types.JID, archived bool) error {
	if err := s.c.updateFields(ctx, s.pk(kindChatSettings), chat.String(), map[string]ddb.AttributeValue{attrArchived: boolean(archived)}); err != nil {
		return fmt.Errorf("put archived of %s: %w", chat, err)
	}
	return nil
}

// GetChatSettings reads a chat's settings; Found is false when none are stored.
func (s *DeviceStore) GetChatSettings(ctx context.Context, chat types.JID) (types.LocalChatSettings, error) {
	var settings types.LocalChatSettings
	it, err := s.c.getItem(ctx, s.pk(kindChatSettings), chat.String())
	if err != nil {
		return settings, fmt.Errorf("get chat settings of %s: %w", chat, err)
	}
	if it == nil {
		return settings, nil
	}
	settings.Found = true
	mutedUntil, err := it.int64(attrMutedUntil)
	if err != nil {
		return settings, fmt.Errorf("get chat settings of %s: %w", chat, err)
	}
	if mutedUntil < 0 {
		settings.MutedUntil = store.MutedForever
	} else if mutedUntil > 0 {
		settings.MutedUntil = time.Unix(mutedUntil, 0)
	}
	settings.Pinned = it.boolean(attrPinned)
	settings.Archived = it.boolean(attrArchived)
	return settings, nil
}
