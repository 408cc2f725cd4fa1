package dynamostore

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/wagate/wagate/shared/dynamo"
	"go.mau.fi/whatsmeow/store"
)

const (
	attrKeyID       = "keyId"
	attrTimestamp   = "ts"
	attrFingerprint = "fingerprint"
	attrVersion     = "version"
	attrHash        = "hash"
)

// PutAppStateSyncKey stores a key unless a key with that id and a newer or equal timestamp is
// stored already (sqlstore's upsert ... WHERE excluded.timestamp > timestamp).
func (s *DeviceStore) PutAppStateSyncKey(ctx context.Context, id []byte, syncKey store.AppStateSyncKey) error {
	if syncKey.Data == nil || syncKey.Fingerprint == nil {
		return fmt.Errorf("put app state sync key %X: data or fingerprint: %w", id, errNull)
	}
	it := key(s.pk(kindAppStateKey), hex.EncodeToString(id))
	it[attrKeyID] = bin(id)
	it[attrValue] = bin(syncKey.Data)
	it[attrTimestamp] = num(syncKey.Timestamp)
	it[attrFingerprint] = bin(syncKey.Fingerprint)
	what := fmt.Sprintf("app state sync key %X", id)
	if err := checkSize("", it); err != nil {
		return fmt.Errorf("put %s: %w", what, err)
	}
	_, err := s.c.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.c.table, Item: it,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #ts < :ts"),
		ExpressionAttributeNames:  map[string]string{"#pk": attrPK, "#ts": attrTimestamp},
		ExpressionAttributeValues: map[string]ddb.AttributeValue{":ts": num(syncKey.Timestamp)},
	})
	if err != nil && !dynamo.ConditionFailed(err) {
		return fmt.Errorf("put %s: %w", what, err)
	}
	return nil
}

// GetAppStateSyncKey reads a key; nil when there is none.
func (s *DeviceStore) GetAppStateSyncKey(ctx context.Context, id []byte) (*store.AppStateSyncKey, error) {
	it, err := s.c.getItem(ctx, s.pk(kindAppStateKey), hex.EncodeToString(id))
	if err != nil {
		return nil, fmt.Errorf("get app state sync key %X: %w", id, err)
	}
	if it == nil {
		return nil, nil
	}
	ts, err := it.int64(attrTimestamp)
	if err != nil {
		return nil, fmt.Errorf("get app state sync key %X: %w", id, err)
	}
	return &store.AppStateSyncKey{Data: it.bin(attrValue), Timestamp: ts, Fingerprint: it.bin(attrFingerprint)}, nil
}

// GetLatestAppStateSyncKeyID answers the id of the key with the highest timestamp, nil when
// there are no keys. Among keys with the same timestamp it answers the lowest id.
func (s *DeviceStore) GetLatestAppStateSyncKeyID(ctx context.Context) ([]byte, error) {
	var (
		latest   []byte
		latestTS int64
		found    bool
		readErr  error
	)
	err := s.c.run(ctx, query{pk: s.pk(kindAppStateKey), projection: []string{attrKeyID, attrTimestamp}}, func(it item) bool {
		ts, err := it.int64(attrTimestamp)
		if err != nil {
			readErr = err
			return false
		}
		id := it.bin(attrKeyID)
		if !found || ts > latestTS || (ts == latestTS && bytes.Compare(id, latest) < 0) {
			latest, latestTS, found = id, ts, true
		}
		return true
	})
	if err == nil {
		err = readErr
	}
	if err != nil {
		return nil, fmt.Errorf("get latest app state sync key id: %w", err)
	}
	return latest, nil
}

// PutAppStateVersion stores the version and hash of a patch name.
func (s *DeviceStore) PutAppStateVersion(ctx context.Context, name string, version uint64, hash [128]byte) error {
	it := key(s.pk(kindAppStateVersion), name)
	it[attrVersion] = num(version)
	it[attrHash] = bin(hash[:])
	if err := s.c.putItem(ctx, it); err != nil {
		return fmt.Errorf("put app state version %s: %w", name, err)
	}
	return nil
}

// GetAppStateVersion reads the version and hash of a patch name; 0 and a zero hash when none.
func (s *DeviceStore) GetAppStateVersion(ctx context.Context, name string) (version uint64, hash [128]byte, err error) {
	it, err := s.c.getItem(ctx, s.pk(kindAppStateVersion), name)
	if err != nil {
		return 0, hash, fmt.Errorf("get app state version %s: %w", name, err)
	}
	if it == nil {
		return 0, hash, nil
	}
	if version, err = it.uint64(attrVersion); err != nil {
		return 0, hash, fmt.Errorf("get app state version %s: %w", name, err)
	}
	stored := it.bin(attrHash)
	if len(stored) != 128 {
		return version, hash, ErrInvalidLength
	}
	return version, [128]byte(stored), nil
}

// DeleteAppStateVersion deletes a patch name's version and, as sqlstore's cascade, its
// mutation MACs (those first, so an interrupted delete leaves no MACs without a version).
func (s *DeviceStore) DeleteAppStateVersion(ctx context.Context, name string) error {
	if err := keyPart("app state name", name); err != nil {
		return fmt.Errorf("delete app state version: %w", err)
	}
	if err := s.c.deletePartition(ctx, s.pk(kindAppStateMAC), name+keySep); err != nil {
		return fmt.Errorf("delete app state mutation MACs of %s: %w", name, err)
	}
	if err := s.c.deleteItem(ctx, s.pk(kindAppStateVersion), name); err != nil {
		return fmt.Errorf("delete app state version %s: %w", name, err)
	}
	return nil
}

func macPrefix(name string, indexMAC []byte) string {
	return name + keySep + hex.EncodeToString(indexMAC) + keySep
}

// PutAppStateMutationMACs stores the MACs of mutations at version, 25 to a request. As in
// sqlstore the patch name's version must be stored first (its foreign key) and MACs must be 32
// bytes. Unlike sqlstore, storing the same index MAC at the same version twice overwrites
// instead of failing.
func (s *DeviceStore) PutAppStateMutationMACs(ctx context.Context, name string, version uint64, mutations []store.AppStateMutationMAC) error {
	if len(mutations) == 0 {
		return nil
	}
	if err := keyPart("app state name", name); err != nil {
		return fmt.Errorf("put app state mutation MACs: %w", err)
	}
	versionItem, err := s.c.getItem(ctx, s.pk(kindAppStateVersion), name, attrPK)
	if err != nil {
		return fmt.Errorf("put app state mutation MACs of %s: %w", name, err)
	}
	if versionItem == nil {
		return fmt.Errorf("put app state mutation MACs of %s: no app state version stored for it (FOREIGN KEY constraint failed)", name)
	}
	pk := s.pk(kindAppStateMAC)
	writes := make([]write, len(mutations))
	for i, m := range mutations {
		if len(m.IndexMAC) != 32 || len(m.ValueMAC) != 32 {
			return fmt.Errorf("put app state mutation MACs of %s: MAC %d is not 32 bytes (CHECK constraint failed)", name, i)
		}
		sk := macPrefix(name, m.IndexMAC) + fmt.Sprintf("%020d", version)
		it := key(pk, sk)
		it[attrValue] = bin(m.ValueMAC)
		writes[i] = write{key: itemKey{pk, sk}, item: it, what: "app state mutation MAC"}
	}
	if err := s.c.batchWrite(ctx, writes); err != nil {
		return fmt.Errorf("put %d app state mutation MACs of %s v%d: %w", len(mutations), name, version, err)
	}
	return nil
}

// DeleteAppStateMutationMACs deletes the MACs of the given index MACs at every version.
func (s *DeviceStore) DeleteAppStateMutationMACs(ctx context.Context, name string, indexMACs [][]byte) error {
	if len(indexMACs) == 0 {
		return nil
	}
	if err := keyPart("app state name", name); err != nil {
		return fmt.Errorf("delete app state mutation MACs: %w", err)
	}
	pk := s.pk(kindAppStateMAC)
	var (
		mu     sync.Mutex
		writes []write
	)
	err := parallel(ctx, len(indexMACs), func(ctx context.Context, i int) error {
		items, err := s.c.queryAll(ctx, query{pk: pk, skPrefix: macPrefix(name, indexMACs[i]), projection: []string{attrSK}})
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			sk, _ := it.str(attrSK)
			writes = append(writes, write{key: itemKey{pk, sk}})
		}
		return nil
	})
	if err == nil {
		err = s.c.batchWrite(ctx, writes)
	}
	if err != nil {
		return fmt.Errorf("delete %d app state mutation MACs of %s: %w", len(indexMACs), name, err)
	}
	return nil
}

// GetAppStateMutationMAC reads the value MAC of an index MAC at its highest version; nil when
// there is none.
func (s *DeviceStore) GetAppStateMutationMAC(ctx context.Context, name string, indexMAC []byte) ([]byte, error) {
	if err := keyPart("app state name", name); err != nil {
		return nil, fmt.Errorf("get app state mutation MAC: %w", err)
	}
	var valueMAC []byte
	err := s.c.run(ctx, query{pk: s.pk(kindAppStateMAC), skPrefix: macPrefix(name, indexMAC), descending: true, limit: 1}, func(it item) bool {
		valueMAC = it.bin(attrValue)
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("get app state mutation MAC of %s: %w", name, err)
	}
	return valueMAC, nil
}
