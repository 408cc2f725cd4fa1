package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/store"
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

// DynamoDB refuses sort keys over 1024 bytes. A peer chooses message ids: one too long is
// skipped by PutMessageSecrets, which stores the rest, and refused by the single-item writes
// with ErrKeyTooLong; reads of an over-long key answer nothing stored.
func TestKeyLengthLimit(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	s := deviceStores(t, client, table, 1)[0]
	ctx := context.Background()
	chat, sender := pnJID("15550004001", 0), pnJID("15550004002", 0)
	longID := strings.Repeat("X", 1100)

	err := s.PutMessageSecrets(ctx, []store.MessageSecretInsert{
		{Chat: chat, Sender: sender, ID: "A", Secret: []byte("a")},
		{Chat: chat, Sender: sender, ID: longID, Secret: []byte("long")},
		{Chat: chat, Sender: sender, ID: "B", Secret: []byte("b")},
	})
	if err != nil {
		t.Fatalf("PutMessageSecrets with one over-long id: %v, want the others stored", err)
	}
	for id, want := range map[string]string{"A": "a", "B": "b", longID: ""} {
		got, _, err := s.GetMessageSecret(ctx, chat, sender, id)
		if err != nil || string(got) != want {
			t.Errorf("GetMessageSecret(%.10s...) = %q, %v; want %q", id, got, err, want)
		}
	}
	if err := s.PutMessageSecret(ctx, chat, sender, longID, []byte("x")); !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("PutMessageSecret with an over-long id: %v, want ErrKeyTooLong", err)
	}

	longAddr := strings.Repeat("1", 1100) + ":0"
	if err := s.PutSession(ctx, longAddr, []byte("s")); !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("PutSession under an over-long address: %v, want ErrKeyTooLong", err)
	}
	if err := s.PutManySessions(ctx, map[string][]byte{"1:0": []byte("s"), longAddr: []byte("s")}); !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("PutManySessions with an over-long address: %v, want ErrKeyTooLong", err)
	}
	if v, err := s.GetSession(ctx, "1:0"); err != nil || v != nil {
		t.Errorf("PutManySessions refused for one address stored another: %q, %v", v, err)
	}
	if err := s.PutSenderKey(ctx, "g@g.us", longAddr, []byte("k")); !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("PutSenderKey for an over-long sender: %v, want ErrKeyTooLong", err)
	}
	err = s.DoDecryptionTxn(ctx, func(ctx context.Context) error { return s.PutSession(ctx, longAddr, []byte("s")) })
	if !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("PutSession under an over-long address in a decryption: %v, want ErrKeyTooLong", err)
	}
	if _, _, err := s.PutPushName(ctx, pnJID(strings.Repeat("1", 1100), 0), "x"); !errors.Is(err, ErrKeyTooLong) {
		t.Errorf("PutPushName of an over-long JID: %v, want ErrKeyTooLong", err)
	}

	// Reads and deletes of an over-long key find nothing.
	if v, err := s.GetSession(ctx, longAddr); err != nil || v != nil {
		t.Errorf("GetSession(over-long) = %q, %v; want nothing", v, err)
	}
	if has, err := s.HasSession(ctx, longAddr); err != nil || has {
		t.Errorf("HasSession(over-long) = %v, %v; want false", has, err)
	}
	if m, err := s.GetManySessions(ctx, []string{longAddr, "1:0"}); err != nil || len(m) != 2 || m[longAddr] != nil {
		t.Errorf("GetManySessions with an over-long address = %v, %v", m, err)
	}
	if v, err := s.GetSenderKey(ctx, "g@g.us", longAddr); err != nil || v != nil {
		t.Errorf("GetSenderKey(over-long) = %q, %v; want nothing", v, err)
	}
	if err := s.DeleteSession(ctx, longAddr); err != nil {
		t.Errorf("DeleteSession(over-long): %v", err)
	}
	if err := s.DeleteAllSessions(ctx, strings.Repeat("1", 1100)); err != nil {
		t.Errorf("DeleteAllSessions(over-long): %v", err)
	}
	if ok, err := s.IsTrustedIdentity(ctx, longAddr, [32]byte{1}); err != nil || !ok {
		t.Errorf("IsTrustedIdentity(over-long) = %v, %v; want trusted, as unknown", ok, err)
	}
	if c, err := s.GetContact(ctx, pnJID(strings.Repeat("1", 1100), 0)); err != nil || c.Found {
		t.Errorf("GetContact(over-long) = %+v, %v", c, err)
	}
}

// A decryption whose writes need more than one transaction stores the buffered plaintext in
// the first: when a later one fails, the message WhatsApp sends again is read from the buffer
// instead of being lost to a session state that did not move on.
func TestSplitDecryptionCommitStoresThePlaintextFirst(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	db := &failingDB{DynamoDBAPI: client}
	s := deviceStores(t, db, table, 1)[0]
	ctx := context.Background()
	sessions := map[string][]byte{}
	for i := range 150 { // more writes than one transaction takes
		sessions[fmt.Sprintf("3%03d:1", i)] = []byte{byte(i)}
	}
	hash := [32]byte{42}
	db.failAt.Store(db.writes.Load() + 2) // the commit's second transaction
	err := s.DoDecryptionTxn(ctx, func(ctx context.Context) error {
		if err := s.PutManySessions(ctx, sessions); err != nil {
			return err
		}
		return s.PutBufferedEvent(ctx, hash, []byte("the message"), time.Unix(1, 0))
	})
	if !errors.Is(err, errInjected) {
		t.Fatalf("DoDecryptionTxn: %v, want the injected failure of its second transaction", err)
	}
	ev, err := s.GetBufferedEvent(ctx, hash)
	if err != nil || ev == nil || string(ev.Plaintext) != "the message" {
		t.Fatalf("buffered event after the failed commit: %+v, %v", ev, err)
	}
}
