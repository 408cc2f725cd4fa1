package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

var errInjected = errors.New("injected failure")

// failingDB fails the write request (BatchWriteItem or TransactWriteItems) numbered failAt,
// counting from 1, as a lost connection or a crash between two requests would; 0 fails none.
type failingDB struct {
	DynamoDBAPI
	failAt atomic.Int64
	writes atomic.Int64
}

func (f *failingDB) fail() bool {
	n := f.writes.Add(1)
	return n == f.failAt.Load()
}

func (f *failingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	if f.fail() {
		return nil, errInjected
	}
	return f.DynamoDBAPI.BatchWriteItem(ctx, in, opts...)
}

func (f *failingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if f.fail() {
		return nil, errInjected
	}
	return f.DynamoDBAPI.TransactWriteItems(ctx, in, opts...)
}

// A migration that fails half way and runs again never copies a phone number's session over
// the LID session it was moved to, even when that session advanced in between: each address
// moves (copy and delete) atomically, so the rerun only sees the addresses not yet moved.
func TestMigrationRerunKeepsAdvancedSessions(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	db := &failingDB{DynamoDBAPI: client}
	s := deviceStores(t, db, table, 1)[0]
	ctx := context.Background()
	pn, lid := pnJID("15550003001", 0), lidJID("9000003", 0)

	const devices = 70
	sessions := map[string][]byte{}
	for i := range devices {
		sessions[fmt.Sprintf("15550003001:%d", i)] = []byte(fmt.Sprint("pn session ", i))
	}
	if err := s.PutManySessions(ctx, sessions); err != nil {
		t.Fatal(err)
	}
	for i := range devices {
		addr := fmt.Sprintf("15550003001:%d", i)
		if err := s.PutIdentity(ctx, addr, [32]byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSenderKey(ctx, "g@g.us", addr, []byte(fmt.Sprint("pn sender key ", i))); err != nil {
			t.Fatal(err)
		}
	}

	db.writes.Store(0)
	db.failAt.Store(2)
	if err := s.MigratePNToLID(ctx, pn, lid); !errors.Is(err, errInjected) {
		t.Fatalf("MigratePNToLID with its second write failing: %v, want the injected failure", err)
	}
	db.failAt.Store(0)
	// Whatever moved, the LID side advances meanwhile.
	advanced := 0
	wasAdvanced := map[int]bool{}
	for i := range devices {
		addr := fmt.Sprintf("9000003_1:%d", i)
		if v, err := s.GetSession(ctx, addr); err != nil {
			t.Fatal(err)
		} else if v != nil {
			advanced++
			wasAdvanced[i] = true
			if err := s.PutSession(ctx, addr, []byte("advanced")); err != nil {
				t.Fatal(err)
			}
		}
		if v, err := s.GetSenderKey(ctx, "g@g.us", addr); err != nil {
			t.Fatal(err)
		} else if v != nil {
			if err := s.PutSenderKey(ctx, "g@g.us", addr, []byte("advanced")); err != nil {
				t.Fatal(err)
			}
		}
	}

	if err := s.MigratePNToLID(ctx, pn, lid); err != nil {
		t.Fatalf("MigratePNToLID again: %v", err)
	}
	for i := range devices {
		addr := fmt.Sprintf("9000003_1:%d", i)
		v, err := s.GetSession(ctx, addr)
		if err != nil {
			t.Fatal(err)
		}
		if string(v) != "advanced" && string(v) != fmt.Sprint("pn session ", i) {
			t.Errorf("session %s = %q after the rerun", addr, v)
		}
		if wasAdvanced[i] && string(v) != "advanced" {
			t.Errorf("session %s = %q after the rerun: the stale phone number session was copied over the advanced one", addr, v)
		}
		sk, err := s.GetSenderKey(ctx, "g@g.us", addr)
		if err != nil {
			t.Fatal(err)
		}
		if string(sk) != "advanced" && string(sk) != fmt.Sprint("pn sender key ", i) {
			t.Errorf("sender key %s = %q after the rerun", addr, sk)
		}
		if trusted, err := s.IsTrustedIdentity(ctx, addr, [32]byte{byte(i)}); err != nil || !trusted {
			t.Errorf("identity %s not moved: %v, %v", addr, trusted, err)
		}
		old := fmt.Sprintf("15550003001:%d", i)
		if has, err := s.HasSession(ctx, old); err != nil || has {
			t.Errorf("phone number session %s still stored: %v, %v", old, has, err)
		}
	}
	// The store must actually have been interrupted between the moved and the unmoved.
	if advanced == 0 || advanced == devices {
		t.Errorf("%d of %d sessions had moved when the migration failed; the test wants some but not all", advanced, devices)
	}
}
