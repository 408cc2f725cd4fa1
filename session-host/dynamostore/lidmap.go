package dynamostore

import (
	"context"
	"fmt"
	"slices"
	"sync"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
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

// put applies mappings in order as sqlstore's statements would (delete the other LID of the
// phone number, then upsert the LID's phone number), on a copy of the affected items read in
// one batch, then writes the items that changed in batches. The caller holds the lock.
func (m *LIDMap) put(ctx context.Context, mappings []store.LIDMapping) error {
	keys := make([]itemKey, 0, 2*len(mappings))
	for _, mapping := range mappings {
		keys = append(keys, itemKey{pkLIDToPN, mapping.LID.User}, itemKey{pkPNToLID, mapping.PN.User})
	}
	found, err := m.c.batchGet(ctx, keys)
	if err != nil {
		return err
	}
	// state holds each direction's target; "" is no mapping.
	state := make(map[itemKey]string, len(keys))
	before := make(map[itemKey]string, len(keys))
	for _, k := range keys {
		state[k], _ = found[k].str(attrOther)
		before[k] = state[k]
	}
	var order []itemKey
	set := func(k itemKey, target string) {
		if _, ok := state[k]; !ok {
			before[k] = "\x00unknown"
		}
		state[k] = target
		order = append(order, k)
	}
	for _, mapping := range mappings {
		lid, pn := mapping.LID.User, mapping.PN.User
		if oldLID := state[itemKey{pkPNToLID, pn}]; oldLID != "" && oldLID != lid {
			set(itemKey{pkLIDToPN, oldLID}, "")
			set(itemKey{pkPNToLID, pn}, "")
		}
		if oldPN := state[itemKey{pkLIDToPN, lid}]; oldPN != "" && oldPN != pn {
			set(itemKey{pkPNToLID, oldPN}, "")
		}
		set(itemKey{pkLIDToPN, lid}, pn)
		set(itemKey{pkPNToLID, pn}, lid)
		m.pnToLID[pn] = lid
		m.lidToPN[lid] = pn
	}
	var writes []write
	for _, k := range order {
		if state[k] == before[k] {
			continue
		}
		w := write{key: k}
		if target := state[k]; target != "" {
			it := key(k.pk, k.sk)
			it[attrOther] = &ddb.AttributeValueMemberS{Value: target}
			w.item, w.what = it, "LID mapping "+k.sk
		}
		writes = append(writes, w)
	}
	return m.c.batchWrite(ctx, writes)
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
