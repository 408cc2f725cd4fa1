package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/wagate/wagate/shared/dynamo"
	"go.mau.fi/whatsmeow/util/keys"
)

const (
	attrPreKeyID = "id"
	attrUploaded = "uploaded"
	// maxPreKeyID is sqlstore's bound (key_id < 2^24): WhatsApp's pre-key ids are 3 bytes.
	maxPreKeyID = 1<<24 - 1
	// preKeyTries bounds how often generation starts over after another writer took its ids.
	preKeyTries = 10
)

// errPreKeyIDTaken is returned inside generation when a conditional put found its id taken.
var errPreKeyIDTaken = errors.New("pre-key id taken by another writer")

func preKeySK(id uint32) string { return fmt.Sprintf("%010d", id) }

func (s *DeviceStore) preKeyItem(preKey *keys.PreKey, uploaded bool) map[string]ddb.AttributeValue {
	it := key(s.pk(kindPreKey), preKeySK(preKey.KeyID))
	it[attrPreKeyID] = num(preKey.KeyID)
	it[attrValue] = bin(preKey.Priv[:])
	it[attrUploaded] = boolean(uploaded)
	return it
}

func decodePreKey(it item) (*keys.PreKey, error) {
	id, err := it.uint64(attrPreKeyID)
	if err != nil {
		return nil, err
	}
	priv := it.bin(attrValue)
	if len(priv) != 32 {
		return nil, ErrInvalidLength
	}
	return &keys.PreKey{KeyPair: *keys.NewKeyPairFromPrivateKey([32]byte(priv)), KeyID: uint32(id)}, nil
}

// nextPreKeyID is the highest stored id plus one, as sqlstore's MAX(key_id)+1: an id whose key
// was removed may be given again, and only then.
func (s *DeviceStore) nextPreKeyID(ctx context.Context) (uint32, error) {
	var last uint32
	var decodeErr error
	err := s.c.run(ctx, query{pk: s.pk(kindPreKey), descending: true, limit: 1, projection: []string{attrPreKeyID}}, func(it item) bool {
		id, err := it.uint64(attrPreKeyID)
		last, decodeErr = uint32(id), err
		return false
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return 0, fmt.Errorf("read last pre-key id: %w", err)
	}
	return last + 1, nil
}

// GenOnePreKey generates a pre-key with the next id and stores it as already uploaded.
func (s *DeviceStore) GenOnePreKey(ctx context.Context) (*keys.PreKey, error) {
	s.preKeyLock.Lock()
	defer s.preKeyLock.Unlock()
	if err := s.flush(ctx); err != nil {
		return nil, fmt.Errorf("generate pre-key: %w", err)
	}
	for try := 0; try < preKeyTries; try++ {
		id, err := s.nextPreKeyID(ctx)
		if err != nil {
			return nil, fmt.Errorf("generate pre-key: %w", err)
		}
		if id > maxPreKeyID {
			return nil, fmt.Errorf("generate pre-key: next id %d is over the %d limit", id, maxPreKeyID)
		}
		key := keys.NewPreKey(id)
		_, err = s.c.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &s.c.table, Item: s.preKeyItem(key, true),
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		if err == nil {
			return key, nil
		}
		if !dynamo.ConditionFailed(err) {
			return nil, fmt.Errorf("generate pre-key %d: %w", id, err)
		}
		if err := s.c.retry.Wait(ctx, try); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("generate pre-key: ids kept being taken by another writer %d times", preKeyTries)
}

// GetOrGenPreKeys answers count pre-keys: the not yet uploaded ones with the lowest ids, then
// new ones with the next ids. New keys are written with a condition that their id is free (in
// transactions of up to 100), so two writers can never store different keys under one id; a
// writer that loses the race starts over and finds the winner's keys.
func (s *DeviceStore) GetOrGenPreKeys(ctx context.Context, count uint32) ([]*keys.PreKey, error) {
	s.preKeyLock.Lock()
	defer s.preKeyLock.Unlock()
	if count == 0 {
		return []*keys.PreKey{}, nil
	}
	if err := s.flush(ctx); err != nil {
		return nil, fmt.Errorf("get or generate %d pre-keys: %w", count, err)
	}
	for try := 0; try < preKeyTries; try++ {
		result, err := s.getOrGenPreKeys(ctx, count)
		if !errors.Is(err, errPreKeyIDTaken) {
			return result, err
		}
		if err := s.c.retry.Wait(ctx, try); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("get or generate %d pre-keys: ids kept being taken by another writer %d times", count, preKeyTries)
}

func (s *DeviceStore) getOrGenPreKeys(ctx context.Context, count uint32) ([]*keys.PreKey, error) {
	result := make([]*keys.PreKey, 0, count)
	var decodeErr error
	err := s.c.run(ctx, query{
		pk: s.pk(kindPreKey), limit: int(count),
		filter: "#u = :f", filterNames: map[string]string{"#u": attrUploaded},
		filterVals: map[string]ddb.AttributeValue{":f": boolean(false)},
	}, func(it item) bool {
		key, err := decodePreKey(it)
		if err != nil {
			decodeErr = err
			return false
		}
		result = append(result, key)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, fmt.Errorf("read unuploaded pre-keys: %w", err)
	}
	if uint32(len(result)) >= count {
		return result[:count], nil
	}
	next, err := s.nextPreKeyID(ctx)
	if err != nil {
		return nil, err
	}
	fresh := make([]*keys.PreKey, 0, int(count)-len(result))
	for i := uint32(len(result)); i < count; i++ {
		if next > maxPreKeyID {
			return nil, fmt.Errorf("generate pre-key: next id %d is over the %d limit", next, maxPreKeyID)
		}
		fresh = append(fresh, keys.NewPreKey(next))
		next++
	}
	for start := 0; start < len(fresh); start += transactLimit {
		chunk := fresh[start:min(start+transactLimit, len(fresh))]
		items := make([]ddb.TransactWriteItem, len(chunk))
		for i, key := range chunk {
			items[i] = ddb.TransactWriteItem{Put: &ddb.Put{
				TableName: &s.c.table, Item: s.preKeyItem(key, false),
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}}
		}
		_, err := s.c.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if dynamo.ConditionFailed(err) || dynamo.TransactionConflict(err) {
			return nil, errPreKeyIDTaken
		}
		if err != nil {
			return nil, fmt.Errorf("store pre-keys %d-%d: %w", chunk[0].KeyID, chunk[len(chunk)-1].KeyID, err)
		}
	}
	return append(result, fresh...), nil
}

// GetPreKey reads one pre-key; nil when there is none.
func (s *DeviceStore) GetPreKey(ctx context.Context, id uint32) (*keys.PreKey, error) {
	it, err := s.get(ctx, s.pk(kindPreKey), preKeySK(id))
	if err != nil {
		return nil, fmt.Errorf("get pre-key %d: %w", id, err)
	}
	if it == nil {
		return nil, nil
	}
	key, err := decodePreKey(it)
	if err != nil {
		return nil, fmt.Errorf("get pre-key %d: %w", id, err)
	}
	return key, nil
}

// RemovePreKey deletes one pre-key.
func (s *DeviceStore) RemovePreKey(ctx context.Context, id uint32) error {
	if err := s.del(ctx, s.pk(kindPreKey), preKeySK(id)); err != nil {
		return fmt.Errorf("remove pre-key %d: %w", id, err)
	}
	return nil
}

// MarkPreKeysAsUploaded marks every stored pre-key with an id up to upToID as uploaded. Each
// key is updated on condition it still exists, so a key removed meanwhile is not brought back.
func (s *DeviceStore) MarkPreKeysAsUploaded(ctx context.Context, upToID uint32) error {
	if err := s.flush(ctx); err != nil {
		return fmt.Errorf("mark pre-keys up to %d as uploaded: %w", upToID, err)
	}
	items, err := s.c.queryAll(ctx, query{
		pk: s.pk(kindPreKey), skAtMost: preKeySK(upToID), projection: []string{attrSK},
		filter: "#u = :f", filterNames: map[string]string{"#u": attrUploaded},
		filterVals: map[string]ddb.AttributeValue{":f": boolean(false)},
	})
	if err != nil {
		return fmt.Errorf("mark pre-keys up to %d as uploaded: %w", upToID, err)
	}
	err = parallel(ctx, len(items), func(ctx context.Context, i int) error {
		sk, _ := items[i].str(attrSK)
		_, err := s.c.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.c.table, Key: key(s.pk(kindPreKey), sk),
			UpdateExpression:          aws.String("SET #u = :t"),
			ConditionExpression:       aws.String("attribute_exists(#pk)"),
			ExpressionAttributeNames:  map[string]string{"#u": attrUploaded, "#pk": attrPK},
			ExpressionAttributeValues: map[string]ddb.AttributeValue{":t": boolean(true)},
		})
		if dynamo.ConditionFailed(err) {
			return nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("mark pre-keys up to %d as uploaded: %w", upToID, err)
	}
	return nil
}

// UploadedPreKeyCount counts the stored pre-keys marked as uploaded.
func (s *DeviceStore) UploadedPreKeyCount(ctx context.Context) (int, error) {
	if err := s.flush(ctx); err != nil {
		return 0, fmt.Errorf("count uploaded pre-keys: %w", err)
	}
	count := 0
	err := s.c.run(ctx, query{
		pk: s.pk(kindPreKey), projection: []string{attrSK},
		filter: "#u = :t", filterNames: map[string]string{"#u": attrUploaded},
		filterVals: map[string]ddb.AttributeValue{":t": boolean(true)},
	}, func(item) bool { count++; return true })
	if err != nil {
		return 0, fmt.Errorf("count uploaded pre-keys: %w", err)
	}
	return count, nil
}
