package dynamostore

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/wagate/wagate/shared/dynamo"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// The LID map is shared by all devices, as sqlstore's whatsmeow_lid_map. Each mapping is two
// items, one per direction, so both lookups are a GetItem without an index:
// pk "lidmap#lid", sk <lid user>, to <pn user>; and pk "lidmap#pn", sk <pn user>, to <lid user>.
const (
	pkLIDToPN = "lidmap#lid"
	pkPNToLID = "lidmap#pn"
	attrOther = "to"
)

// LIDMap is the LID<->phone number map with sqlstore.CachedLIDMap's cache: answers, found or
// not, are cached and never expire; FillCache loads every mapping.
type LIDMap struct {
	c *Container

	lock        sync.RWMutex
	pnToLID     map[string]string
	lidToPN     map[string]string
	cacheFilled bool
}

func newLIDMap(c *Container) *LIDMap {
	return &LIDMap{c: c, pnToLID: make(map[string]string), lidToPN: make(map[string]string)}
}

// FillCache loads every mapping into the cache; afterwards, users not in it have no mapping.
func (m *LIDMap) FillCache(ctx context.Context) error {
	m.lock.Lock()
	defer m.lock.Unlock()
	items, err := m.c.queryAll(ctx, query{pk: pkLIDToPN})
	if err != nil {
		return fmt.Errorf("fill LID cache: %w", err)
	}
	for _, it := range items {
		lid, _ := it.str(attrSK)
		pn, _ := it.str(attrOther)
		m.pnToLID[pn] = lid
		m.lidToPN[lid] = pn
	}
	m.cacheFilled = true
	return nil
}

func (m *LIDMap) lookup(ctx context.Context, source types.JID, targetServer, pk string, sourceToTarget, targetToSource map[string]string) (types.JID, error) {
	m.lock.RLock()
	target, ok := sourceToTarget[source.User]
	filled := m.cacheFilled
	m.lock.RUnlock()
	if ok || filled {
		if target == "" {
			return types.JID{}, nil
		}
		return types.JID{User: target, Device: source.Device, Server: targetServer}, nil
	}
	m.lock.Lock()
	defer m.lock.Unlock()
	it, err := m.c.getItem(ctx, pk, source.User)
	if err != nil {
		return types.JID{}, fmt.Errorf("get LID mapping of %s: %w", source, err)
	}
	target, _ = it.str(attrOther)
	sourceToTarget[source.User] = target
	if target == "" {
		return types.JID{}, nil
	}
	targetToSource[target] = source.User
	return types.JID{User: target, Device: source.Device, Server: targetServer}, nil
}

// GetLIDForPN answers the LID of a phone number JID (keeping its device), or an empty JID.
func (m *LIDMap) GetLIDForPN(ctx context.Context, pn types.JID) (types.JID, error) {
	if pn.Server != types.DefaultUserServer {
		return types.JID{}, fmt.Errorf("invalid GetLIDForPN call with non-PN JID %s", pn)
	}
	return m.lookup(ctx, pn, types.HiddenUserServer, pkPNToLID, m.pnToLID, m.lidToPN)
}

// GetPNForLID answers the phone number JID of a LID (keeping its device), or an empty JID.
func (m *LIDMap) GetPNForLID(ctx context.Context, lid types.JID) (types.JID, error) {
	if lid.Server != types.HiddenUserServer {
		return types.JID{}, fmt.Errorf("invalid GetPNForLID call with non-LID JID %s", lid)
	}
	return m.lookup(ctx, lid, types.DefaultUserServer, pkLIDToPN, m.lidToPN, m.pnToLID)
}

// GetManyLIDsForPNs answers the LIDs of the phone number JIDs that have one. As sqlstore, a
// LID from the cache keeps the phone number's device and one read from the table does not.
func (m *LIDMap) GetManyLIDsForPNs(ctx context.Context, pns []types.JID) (map[types.JID]types.JID, error) {
	if len(pns) == 0 {
		return nil, nil
	}
	result := make(map[types.JID]types.JID, len(pns))
	var missing []itemKey
	missingDevices := make(map[string][]types.JID)
	m.lock.RLock()
	for _, pn := range pns {
		if pn.Server != types.DefaultUserServer {
			continue
		}
		if lid, ok := m.pnToLID[pn.User]; ok && lid != "" {
			result[pn] = types.JID{User: lid, Device: pn.Device, Server: types.HiddenUserServer}
		} else if !m.cacheFilled {
			missing = append(missing, itemKey{pkPNToLID, pn.User})
			missingDevices[pn.User] = append(missingDevices[pn.User], pn)
		}
	}
	m.lock.RUnlock()
	if len(missing) == 0 {
		return result, nil
	}
	m.lock.Lock()
	defer m.lock.Unlock()
	found, err := m.c.batchGet(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("get LIDs of %d phone numbers: %w", len(missing), err)
	}
	for _, it := range found {
		pn, _ := it.str(attrSK)
		lid, _ := it.str(attrOther)
		m.pnToLID[pn] = lid
		m.lidToPN[lid] = pn
		for _, dev := range missingDevices[pn] {
			result[dev] = types.JID{User: lid, Server: types.HiddenUserServer}
		}
	}
	return result, nil
}

// PutLIDMapping stores that lid and pn are the same user, replacing any other mapping of
// either.
func (m *LIDMap) PutLIDMapping(ctx context.Context, lid, pn types.JID) error {
	if lid.Server != types.HiddenUserServer || pn.Server != types.DefaultUserServer {
		return fmt.Errorf("invalid PutLIDMapping call %s/%s", lid, pn)
	}
	m.lock.Lock()
	defer m.lock.Unlock()
	if cached, ok := m.pnToLID[pn.User]; ok && cached == lid.User {
		return nil
	}
	if err := m.put(ctx, []store.LIDMapping{{LID: lid, PN: pn}}); err != nil {
		return fmt.Errorf("put LID mapping %s/%s: %w", lid, pn, err)
	}
	return nil
}

// PutManyLIDMappings stores many mappings in order, skipping invalid ones and those the cache
// already holds.
func (m *LIDMap) PutManyLIDMappings(ctx context.Context, mappings []store.LIDMapping) error {
	m.lock.Lock()
	defer m.lock.Unlock()
	mappings = slices.DeleteFunc(slices.Clone(mappings), func(mapping store.LIDMapping) bool {
		if mapping.LID.Server != types.HiddenUserServer || mapping.PN.Server != types.DefaultUserServer {
			m.c.log.Debugf("Ignoring invalid entry in PutManyLIDMappings: %s/%s", mapping.LID, mapping.PN)
			return true
		}
		cached, ok := m.pnToLID[mapping.PN.User]
		return ok && cached == mapping.LID.User
	})
	mappings = dedupeFirst(mappings, func(mapping store.LIDMapping) store.LIDMapping { return mapping })
	if len(mappings) == 0 {
		return nil
	}
	if err := m.put(ctx, mappings); err != nil {
		return fmt.Errorf("put %d LID mappings: %w", len(mappings), err)
	}
	return nil
}

const (
	// lidMappingsPerTxn bounds the mappings written in one transaction: each reads and may
	// write its two entries and the two entries they pointed to, 4 of the 100 items allowed.
	lidMappingsPerTxn = transactLimit / 4
	// lidMapTries bounds how often a transaction is rebuilt from a fresh read after another
	// writer changed an entry it read.
	lidMapTries = 20
)

// lidKey and pnKey are the items of each direction of the map.
func lidKey(lid string) itemKey { return itemKey{pkLIDToPN, lid} }
func pnKey(pn string) itemKey   { return itemKey{pkPNToLID, pn} }

// reverseKey is the item of the other direction that entry k pointing to target implies.
func reverseKey(k itemKey, target string) itemKey {
	if k.pk == pkLIDToPN {
		return pnKey(target)
	}
	return lidKey(target)
}

// sortedKeys answers m's keys in order, so that requests are deterministic.
func sortedKeys(m map[itemKey]string) []itemKey {
	return slices.SortedFunc(maps.Keys(m), func(a, b itemKey) int {
		return cmp.Or(strings.Compare(a.pk, b.pk), strings.Compare(a.sk, b.sk))
	})
}

// put applies mappings in order as sqlstore's statements would (delete the phone number's
// other LID, then upsert the LID's phone number), 25 to a transaction, and then caches them.
// The caller holds the lock, which only keeps this process's writers apart; other processes
// are kept apart by the transaction's conditions (see putChunk).
func (m *LIDMap) put(ctx context.Context, mappings []store.LIDMapping) error {
	for start := 0; start < len(mappings); start += lidMappingsPerTxn {
		chunk := mappings[start:min(start+lidMappingsPerTxn, len(mappings))]
		for try := 0; ; try++ {
			err := m.putChunk(ctx, chunk)
			if err == nil {
				break
			}
			if !dynamo.ConditionFailed(err) && !dynamo.TransactionConflict(err) {
				return err
			}
			if try+1 >= lidMapTries {
				return fmt.Errorf("other writers kept changing the map (%d tries): %w", lidMapTries, err)
			}
			if err := m.c.retry.Wait(ctx, try); err != nil {
				return err
			}
		}
		for _, mapping := range chunk {
			m.pnToLID[mapping.PN.User] = mapping.LID.User
			m.lidToPN[mapping.LID.User] = mapping.PN.User
		}
	}
	return nil
}

// putChunk reads the entries of both directions the mappings touch (their own, then those
// they point to), applies the mappings to that copy, and writes the entries that changed in one
// TransactWriteItems whose every item is conditioned on the value read (absent, or the same
// target): a changed entry is put or deleted on that condition, an unchanged one is checked.
// So the read and the write are one atomic step, as in an SQL transaction: when another writer
// (another host) changed any of the entries in between, nothing is written and the transaction
// fails on its condition, and the caller reads again. Each direction's entry is only removed
// when it points back, so the two directions stay each other's inverse.
func (m *LIDMap) putChunk(ctx context.Context, mappings []store.LIDMapping) error {
	read := make(map[itemKey]string, 4*len(mappings))
	var keys []itemKey
	for _, mapping := range mappings {
		keys = append(keys, lidKey(mapping.LID.User), pnKey(mapping.PN.User))
	}
	for round := 0; round < 2 && len(keys) > 0; round++ {
		found, err := m.c.batchGet(ctx, keys)
		if err != nil {
			return err
		}
		for _, k := range keys {
			read[k], _ = found[k].str(attrOther)
		}
		// The second round reads the entries those point to, so that they can be removed or
		// checked too.
		keys = nil
		for _, k := range sortedKeys(read) {
			if target := read[k]; target != "" {
				if rk := reverseKey(k, target); !slices.Contains(keys, rk) {
					if _, ok := read[rk]; !ok {
						keys = append(keys, rk)
					}
				}
			}
		}
	}
	state := maps.Clone(read)
	for _, mapping := range mappings {
		lid, pn := mapping.LID.User, mapping.PN.User
		if oldLID := state[pnKey(pn)]; oldLID != "" && oldLID != lid {
			state[pnKey(pn)] = ""
			if state[lidKey(oldLID)] == pn {
				state[lidKey(oldLID)] = ""
			}
		}
		if oldPN := state[lidKey(lid)]; oldPN != "" && oldPN != pn {
			if state[pnKey(oldPN)] == lid {
				state[pnKey(oldPN)] = ""
			}
		}
		state[lidKey(lid)] = pn
		state[pnKey(pn)] = lid
	}
	changed := false
	for k, target := range state {
		if read[k] != target {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	ops := make([]ddb.TransactWriteItem, 0, len(state))
	for _, k := range sortedKeys(state) {
		before, after := read[k], state[k]
		cond, names, vals := "attribute_not_exists(#pk)", map[string]string{"#pk": attrPK}, map[string]ddb.AttributeValue(nil)
		if before != "" {
			cond, names, vals = "#to = :before", map[string]string{"#to": attrOther}, map[string]ddb.AttributeValue{":before": str(before)}
		}
		switch {
		case before == after:
			ops = append(ops, ddb.TransactWriteItem{ConditionCheck: &ddb.ConditionCheck{
				TableName: &m.c.table, Key: key(k.pk, k.sk),
				ConditionExpression: &cond, ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
			}})
		case after == "":
			ops = append(ops, ddb.TransactWriteItem{Delete: &ddb.Delete{
				TableName: &m.c.table, Key: key(k.pk, k.sk),
				ConditionExpression: &cond, ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
			}})
		default:
			it := key(k.pk, k.sk)
			it[attrOther] = str(after)
			if err := checkSize("LID mapping "+k.sk, it); err != nil {
				return err
			}
			ops = append(ops, ddb.TransactWriteItem{Put: &ddb.Put{
				TableName: &m.c.table, Item: it,
				ConditionExpression: &cond, ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
			}})
		}
	}
	_, err := m.c.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: ops})
	return err
}

// The LID map is global; a DeviceStore answers its methods from its container's, so that it
// is a complete store.AllStores.

// PutManyLIDMappings stores mappings in the container's shared LID map.
func (s *DeviceStore) PutManyLIDMappings(ctx context.Context, mappings []store.LIDMapping) error {
	return s.c.LIDMap.PutManyLIDMappings(ctx, mappings)
}

// PutLIDMapping stores a mapping in the container's shared LID map.
func (s *DeviceStore) PutLIDMapping(ctx context.Context, lid, pn types.JID) error {
	return s.c.LIDMap.PutLIDMapping(ctx, lid, pn)
}

// GetPNForLID reads the container's shared LID map.
func (s *DeviceStore) GetPNForLID(ctx context.Context, lid types.JID) (types.JID, error) {
	return s.c.LIDMap.GetPNForLID(ctx, lid)
}

// GetLIDForPN reads the container's shared LID map.
func (s *DeviceStore) GetLIDForPN(ctx context.Context, pn types.JID) (types.JID, error) {
	return s.c.LIDMap.GetLIDForPN(ctx, pn)
}

// GetManyLIDsForPNs reads the container's shared LID map.
func (s *DeviceStore) GetManyLIDsForPNs(ctx context.Context, pns []types.JID) (map[types.JID]types.JID, error) {
	return s.c.LIDMap.GetManyLIDsForPNs(ctx, pns)
}
