package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"go.mau.fi/whatsmeow/types"
)

// Partitions of one device's data: pk = "<our JID>#<kind>".
const (
	kindIdentity        = "identity"     // sk: their signal address
	kindSession         = "session"      // sk: their signal address
	kindPreKey          = "prekey"       // sk: key id, 10 digits
	kindSenderKey       = "senderkey"    // sk: sender address NUL group
	kindAppStateKey     = "appstatekey"  // sk: key id, hex
	kindAppStateVersion = "appstatever"  // sk: patch name
	kindAppStateMAC     = "appstatemac"  // sk: patch name NUL index MAC hex NUL version, 20 digits
	kindContact         = "contact"      // sk: their JID
	kindChatSettings    = "chat"         // sk: chat JID
	kindMsgSecret       = "msgsecret"    // sk: chat NUL sender NUL message id
	kindPrivacyToken    = "privacytoken" // sk: their JID
	kindEventBuffer     = "eventbuf"     // sk: ciphertext hash, hex
)

func partition(ourJID, kind string) string { return ourJID + "#" + kind }

// DeviceStore is one device's stores: every interface store.Device needs but the LID map.
type DeviceStore struct {
	c   *Container
	jid string

	// preKeyLock serialises pre-key generation in this process; the conditional writes keep
	// other processes from taking the same ids.
	preKeyLock sync.Mutex

	contactCache     map[types.JID]*types.ContactInfo
	contactCacheLock sync.Mutex

	migratedLock sync.Mutex
	migratedPNs  map[string]bool

	decryptLock sync.Mutex
}

func newDeviceStore(c *Container, jid types.JID) *DeviceStore {
	return &DeviceStore{
		c:            c,
		jid:          jid.String(),
		contactCache: make(map[types.JID]*types.ContactInfo),
		migratedPNs:  make(map[string]bool),
	}
}

func (s *DeviceStore) pk(kind string) string { return partition(s.jid, kind) }

// addressItem is the item of a per-address value (session or identity).
func (s *DeviceStore) addressItem(kind, address string, value []byte) map[string]ddb.AttributeValue {
	it := key(s.pk(kind), address)
	if value != nil {
		it[attrValue] = bin(value)
	}
	return it
}

// PutIdentity stores their identity key.
func (s *DeviceStore) PutIdentity(ctx context.Context, address string, identity [32]byte) error {
	if err := s.put(ctx, s.addressItem(kindIdentity, address, identity[:]), ""); err != nil {
		return fmt.Errorf("put identity %s: %w", address, err)
	}
	return nil
}

// DeleteAllIdentities deletes the identities of every device of phone.
func (s *DeviceStore) DeleteAllIdentities(ctx context.Context, phone string) error {
	if err := s.deleteLike(ctx, kindIdentity, phone+":%"); err != nil {
		return fmt.Errorf("delete all identities of %s: %w", phone, err)
	}
	return nil
}

// DeleteIdentity deletes their identity key. sqlstore matches address with LIKE here, so
// does this.
func (s *DeviceStore) DeleteIdentity(ctx context.Context, address string) error {
	if err := s.deleteLike(ctx, kindIdentity, address); err != nil {
		return fmt.Errorf("delete identity %s: %w", address, err)
	}
	return nil
}

// IsTrustedIdentity trusts an unknown identity (whatsmeow saves it later) or the stored one.
func (s *DeviceStore) IsTrustedIdentity(ctx context.Context, address string, identity [32]byte) (bool, error) {
	it, err := s.get(ctx, s.pk(kindIdentity), address)
	if err != nil {
		return false, fmt.Errorf("get identity %s: %w", address, err)
	}
	if it == nil {
		return true, nil
	}
	stored := it.bin(attrValue)
	if len(stored) != 32 {
		return false, ErrInvalidLength
	}
	return [32]byte(stored) == identity, nil
}

// likeItems reads the items of a kind whose address matches a LIKE pattern: the sort key, or
// for sender keys the sender. It answers the matching items (heads of values kept in chunks
// among them) and, apart, the keys of the chunk items found of matching addresses.
func (s *DeviceStore) likeItems(ctx context.Context, kind, pattern string) (heads []item, chunks []itemKey, err error) {
	pk := s.pk(kind)
	items, err := s.c.queryAll(ctx, query{pk: pk, skPrefix: likeLiteralPrefix(pattern)})
	if err != nil {
		return nil, nil, err
	}
	address := func(sk string, it item) string {
		if kind == kindSenderKey {
			sender, _, _ := strings.Cut(sk, keySep)
			return sender
		}
		return sk
	}
	for _, it := range items {
		sk, _ := it.str(attrSK)
		if isChunk(it) {
			if owner := chunkOwner(sk); likeMatch(pattern, address(owner, nil)) {
				chunks = append(chunks, itemKey{pk, sk})
			}
		} else if likeMatch(pattern, address(sk, it)) {
			heads = append(heads, it)
		}
	}
	return heads, chunks, nil
}

// deleteLike deletes the items of a kind whose address matches pattern, with their chunks
// (after them, so that no head is left without its chunks).
func (s *DeviceStore) deleteLike(ctx context.Context, kind, pattern string) error {
	if err := s.flush(ctx); err != nil {
		return err
	}
	heads, chunks, err := s.likeItems(ctx, kind, pattern)
	if err != nil {
		return err
	}
	writes := make([]write, len(heads))
	for i, it := range heads {
		sk, _ := it.str(attrSK)
		writes[i] = write{key: itemKey{s.pk(kind), sk}}
	}
	if err := s.c.batchWrite(ctx, writes); err != nil {
		return err
	}
	writes = writes[:0]
	for _, k := range chunks {
		writes = append(writes, write{key: k})
	}
	return s.c.batchWrite(ctx, writes)
}

// GetSession reads a session; nil when there is none.
func (s *DeviceStore) GetSession(ctx context.Context, address string) ([]byte, error) {
	it, err := s.get(ctx, s.pk(kindSession), address)
	if err != nil {
		return nil, fmt.Errorf("get session %s: %w", address, err)
	}
	return it.bin(attrValue), nil
}

// HasSession reports whether a session is stored (even an empty one).
func (s *DeviceStore) HasSession(ctx context.Context, address string) (bool, error) {
	it, err := s.get(ctx, s.pk(kindSession), address)
	if err != nil {
		return false, fmt.Errorf("has session %s: %w", address, err)
	}
	return it != nil, nil
}

// GetManySessions reads many sessions, 100 to a request: every address is in the answer,
// with nil for those without a session. No addresses answer nil.
func (s *DeviceStore) GetManySessions(ctx context.Context, addresses []string) (map[string][]byte, error) {
	if len(addresses) == 0 {
		return nil, nil
	}
	keys := make([]itemKey, len(addresses))
	for i, addr := range addresses {
		keys[i] = itemKey{s.pk(kindSession), addr}
	}
	found, err := s.getMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("get %d sessions: %w", len(addresses), err)
	}
	result := make(map[string][]byte, len(addresses))
	for _, k := range keys {
		result[k.sk] = found[k].bin(attrValue)
	}
	return result, nil
}

// PutSession stores a session. An address containing NUL is refused: it could name a chunk
// of another session's value.
func (s *DeviceStore) PutSession(ctx context.Context, address string, session []byte) error {
	if err := keyPart("address", address); err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	if err := s.put(ctx, s.addressItem(kindSession, address, session), ""); err != nil {
		return fmt.Errorf("put session %s: %w", address, err)
	}
	return nil
}

// PutManySessions stores many sessions, 25 to a request. No session is written when one of
// them is too large or its address too long. Sessions are batch-written when they fit in an
// item and the one they replace is not kept in chunks (the heads are read first, 100 to a
// request); others are written one by one with their chunks.
func (s *DeviceStore) PutManySessions(ctx context.Context, sessions map[string][]byte) error {
	for addr := range sessions {
		if err := keyPart("address", addr); err != nil {
			return fmt.Errorf("put %d sessions: %w", len(sessions), err)
		}
	}
	if t := s.txn(ctx); t != nil {
		for addr, sess := range sessions {
			if err := s.put(ctx, s.addressItem(kindSession, addr, sess), ""); err != nil {
				return fmt.Errorf("put session %s: %w", addr, err)
			}
		}
		return nil
	}
	pk := s.pk(kindSession)
	keys := make([]itemKey, 0, len(sessions))
	for addr, sess := range sessions {
		if err := checkValue("session "+addr, s.addressItem(kindSession, addr, sess)); err != nil {
			return fmt.Errorf("put %d sessions: %w", len(sessions), err)
		}
		keys = append(keys, itemKey{pk, addr})
	}
	heads, err := s.c.batchGet(ctx, keys)
	if err != nil {
		return fmt.Errorf("put %d sessions: %w", len(sessions), err)
	}
	var writes []write
	var chunked []valueWrite
	for _, k := range keys {
		it := s.addressItem(kindSession, k.sk, sessions[k.sk])
		if layoutOf(heads[k]).chunks > 0 || checkSize("", it) != nil {
			chunked = append(chunked, valueWrite{key: k, item: it, what: "session " + k.sk})
		} else {
			writes = append(writes, write{key: k, item: it, what: "session " + k.sk})
		}
	}
	if err := s.c.batchWrite(ctx, writes); err != nil {
		return fmt.Errorf("put %d sessions: %w", len(sessions), err)
	}
	for _, w := range chunked {
		if err := s.c.rewriteValue(ctx, w); err != nil {
			return fmt.Errorf("put %d sessions: %s: %w", len(sessions), w.what, err)
		}
	}
	return nil
}

// DeleteAllSessions deletes the sessions with every device of phone.
func (s *DeviceStore) DeleteAllSessions(ctx context.Context, phone string) error {
	if err := s.deleteLike(ctx, kindSession, phone+":%"); err != nil {
		return fmt.Errorf("delete all sessions of %s: %w", phone, err)
	}
	return nil
}

// DeleteSession deletes one session.
func (s *DeviceStore) DeleteSession(ctx context.Context, address string) error {
	if strings.Contains(address, keySep) {
		return nil // could not have been stored; it may name a chunk of another session
	}
	if err := s.del(ctx, s.pk(kindSession), address); err != nil {
		return fmt.Errorf("delete session %s: %w", address, err)
	}
	return nil
}

// MigratePNToLID moves the sessions, identities and sender keys of a phone number's devices
// to its LID, as sqlstore does: the new address is the old one with every occurrence of the
// phone's signal user replaced (SQL replace()). Like sqlstore it runs once per phone number per
// store (though a failed run may be repeated, where sqlstore never retries). sqlstore copies
// and deletes in one SQL transaction; here each address moves in one TransactWriteItems (the
// copy and the delete of the phone number's item together), up to 50 addresses to a
// transaction. A migration that fails part way has moved some addresses completely and left
// the others untouched, so repeating it moves only those left and never copies a phone
// number's item over a LID item that has advanced since it was moved.
func (s *DeviceStore) MigratePNToLID(ctx context.Context, pn, lid types.JID) error {
	pnSignal, lidSignal := pn.SignalAddressUser(), lid.SignalAddressUser()
	s.migratedLock.Lock()
	done := s.migratedPNs[pnSignal]
	s.migratedPNs[pnSignal] = true
	s.migratedLock.Unlock()
	if done {
		return nil
	}
	if err := s.flush(ctx); err != nil {
		return fmt.Errorf("migrate %s to %s: %w", pnSignal, lidSignal, err)
	}
	pattern := pnSignal + ":%"
	rename := func(addr string) string {
		if pnSignal == "" {
			return addr // SQL replace() with an empty pattern changes nothing
		}
		return strings.ReplaceAll(addr, pnSignal, lidSignal)
	}
	var counts [3]int
	for i, kind := range []string{kindSession, kindIdentity, kindSenderKey} {
		n, err := s.migrateKind(ctx, kind, pattern, rename)
		if err != nil {
			s.migratedLock.Lock()
			delete(s.migratedPNs, pnSignal)
			s.migratedLock.Unlock()
			return fmt.Errorf("migrate %ss of %s to %s: %w", kind, pnSignal, lidSignal, err)
		}
		counts[i] = n
	}
	if counts[0] > 0 || counts[1] > 0 || counts[2] > 0 {
		s.c.log.Infof("Migrated %d sessions, %d identity keys and %d sender keys from %s to %s", counts[0], counts[1], counts[2], pnSignal, lidSignal)
	} else {
		s.c.log.Debugf("No sessions or sender keys found to migrate from %s to %s", pnSignal, lidSignal)
	}
	return nil
}

// migrateKind moves the items of kind whose address matches pattern to the renamed address,
// with SQL's result: copy each to its renamed address (where several rename to one address the
// last in key order wins), then delete every item matching pattern, including copies that still
// match. Each renamed address is one group of writes, its copy and the deletes of every item
// renamed to it (with their chunks, when kept in chunks), written in one transaction; an item
// renamed to an address that matches the pattern is only deleted.
func (s *DeviceStore) migrateKind(ctx context.Context, kind, pattern string, rename func(string) string) (int, error) {
	pk := s.pk(kind)
	matches, chunks, err := s.likeItems(ctx, kind, pattern)
	if err != nil || len(matches) == 0 && len(chunks) == 0 {
		return 0, err
	}
	for try := 0; ; try++ {
		err = s.c.assemble(ctx, matches)
		if !errors.Is(err, errTornRead) || try+1 >= readTries {
			break
		}
		if matches, chunks, err = s.likeItems(ctx, kind, pattern); err != nil {
			return 0, err
		}
	}
	if err != nil {
		return 0, err
	}
	type move struct {
		copy    map[string]ddb.AttributeValue
		sources []item
	}
	moves := make(map[string]*move)
	var order []string
	var groups []txnGroup
	// deleteSource deletes a matching item and the chunks its head names.
	referenced := make(map[itemKey]bool)
	deleteSource := func(g txnGroup, it item) txnGroup {
		sk, _ := it.str(attrSK)
		g = append(g, s.c.deleteOp(pk, sk))
		for i := range layoutOf(it).chunks {
			g = append(g, s.c.deleteOp(pk, chunkSK(sk, i)))
			referenced[itemKey{pk, chunkSK(sk, i)}] = true
		}
		return g
	}
	for _, it := range matches {
		sk, _ := it.str(attrSK)
		var newItem map[string]ddb.AttributeValue
		if kind == kindSenderKey {
			sender, _ := it.str(attrSender)
			group, _ := it.str(attrGroup)
			newItem = senderKeyItem(pk, group, rename(sender), it.bin(attrValue))
		} else {
			newItem = key(pk, rename(sk))
			if v, ok := it[attrValue]; ok {
				newItem[attrValue] = v
			}
		}
		newSK, _ := item(newItem).str(attrSK)
		newAddr := newSK
		if kind == kindSenderKey {
			newAddr, _ = item(newItem).str(attrSender)
		}
		if likeMatch(pattern, newAddr) {
			groups = append(groups, deleteSource(nil, it))
			continue
		}
		m, ok := moves[newSK]
		if !ok {
			m = &move{}
			moves[newSK] = m
			order = append(order, newSK)
		}
		m.copy = newItem
		m.sources = append(m.sources, it)
	}
	targets := make([]itemKey, len(order))
	for i, newSK := range order {
		targets[i] = itemKey{pk, newSK}
	}
	existing, err := s.c.batchGet(ctx, targets)
	if err != nil {
		return 0, err
	}
	for _, newSK := range order {
		m := moves[newSK]
		g, err := s.c.ops(valueWrite{key: itemKey{pk, newSK}, item: m.copy, what: kind + " " + newSK}, layoutOf(existing[itemKey{pk, newSK}]))
		if err != nil {
			return 0, err
		}
		for _, src := range m.sources {
			g = deleteSource(g, src)
		}
		groups = append(groups, g)
	}
	if err := s.c.transactGroups(ctx, groups); err != nil {
		return 0, err
	}
	// Chunks no head names (left by an interrupted write) go last.
	var stray []write
	for _, k := range chunks {
		if !referenced[k] {
			stray = append(stray, write{key: k})
		}
	}
	if err := s.c.batchWrite(ctx, stray); err != nil {
		return 0, err
	}
	return len(order), nil
}

// Sender key attributes: the sort key is "<sender>\x00<group>" so that a phone's sender keys
// are one begins_with away; the parts are kept as attributes too.
const (
	attrSender = "sender"
	attrGroup  = "group"
)

func senderKeyItem(pk, group, sender string, value []byte) map[string]ddb.AttributeValue {
	it := key(pk, sender+keySep+group)
	it[attrSender] = str(sender)
	it[attrGroup] = str(group)
	it[attrValue] = bin(value)
	return it
}

// PutSenderKey stores the sender key of user in group.
func (s *DeviceStore) PutSenderKey(ctx context.Context, group, user string, session []byte) error {
	if err := keyPart("group", group); err != nil {
		return fmt.Errorf("put sender key %s in %s: %w", user, group, err)
	}
	if err := keyPart("sender", user); err != nil {
		return fmt.Errorf("put sender key %s in %s: %w", user, group, err)
	}
	if session == nil {
		return fmt.Errorf("put sender key %s in %s: %w", user, group, errNull)
	}
	what := fmt.Sprintf("sender key %s in %s", user, group)
	if err := s.put(ctx, senderKeyItem(s.pk(kindSenderKey), group, user, session), ""); err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	return nil
}

// GetSenderKey reads the sender key of user in group; nil when there is none.
func (s *DeviceStore) GetSenderKey(ctx context.Context, group, user string) ([]byte, error) {
	if strings.Contains(group, keySep) || strings.Contains(user, keySep) {
		return nil, nil // could not have been stored
	}
	it, err := s.get(ctx, s.pk(kindSenderKey), user+keySep+group)
	if err != nil {
		return nil, fmt.Errorf("get sender key %s in %s: %w", user, group, err)
	}
	return it.bin(attrValue), nil
}
