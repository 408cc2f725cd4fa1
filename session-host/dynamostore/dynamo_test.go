package dynamostore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/wagate/wagate/shared/dynamo"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/util/keys"
)

func TestLikeMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"123:%", "123:0", true},
		{"123:%", "123:", true},
		{"123:%", "1234:0", false},
		{"123:%", "12:0", false},
		{"123_1:%", "123_1:5", true},
		{"123_1:%", "12391:5", true}, // _ is any one character
		{"123_1:%", "1231:5", false},
		{"123_1:%", "123ä1:5", true}, // one character, not one byte
		{"ab:%", "AB:1", true},       // ASCII letters fold
		{"é:%", "É:1", false},        // other letters do not
		{"a%b", "aXXb", true},
		{"a%b", "aXXbc", false},
		{"%", "", true},
		{"", "", true},
		{"", "x", false},
		{"a%%_", "ab", true},
		{"9000001_1:5", "9000001_1:5", true},
		{"9000001_1:5", "9000001_1:55", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.s, func(t *testing.T) {
			if got := likeMatch(tt.pattern, tt.s); got != tt.want {
				t.Errorf("likeMatch(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
			}
			if got := likeMatch(tt.pattern, tt.s); got && !strings.HasPrefix(tt.s, likeLiteralPrefix(tt.pattern)) {
				t.Errorf("%q matches %q but does not start with the literal prefix %q", tt.s, tt.pattern, likeLiteralPrefix(tt.pattern))
			}
		})
	}
}

// deviceStores opens n containers on one table (as n processes would) and answers each one's
// store of the same device.
func deviceStores(t *testing.T, db DynamoDBAPI, table string, n int) []*DeviceStore {
	t.Helper()
	ctx := context.Background()
	first := New(db, table, nil)
	if err := first.PutDevice(ctx, pairedDevice(first, ourJID)); err != nil {
		t.Fatalf("PutDevice: %v", err)
	}
	var stores []*DeviceStore
	for range n {
		d, err := New(db, table, nil).GetDevice(ctx, ourJID)
		if err != nil || d == nil {
			t.Fatalf("GetDevice: %v, %v", d, err)
		}
		stores = append(stores, d.PreKeys.(*DeviceStore))
	}
	return stores
}

// conditionCounter counts the writes DynamoDB refused on their condition.
type conditionCounter struct {
	DynamoDBAPI
	failures atomic.Int64
}

func (c *conditionCounter) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := c.DynamoDBAPI.PutItem(ctx, in, opts...)
	if dynamo.ConditionFailed(err) {
		c.failures.Add(1)
	}
	return out, err
}

func (c *conditionCounter) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := c.DynamoDBAPI.TransactWriteItems(ctx, in, opts...)
	if dynamo.ConditionFailed(err) {
		c.failures.Add(1)
	}
	return out, err
}

// Two processes generating pre-keys for one device at once never store two keys under one id:
// every key any call answered is the key stored under its id, and no two GenOnePreKey calls
// answer the same id.
func TestPreKeyIDsNeverShared(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	db := &conditionCounter{DynamoDBAPI: client}
	stores := deviceStores(t, db, table, 4)
	ctx := context.Background()

	var (
		mu       sync.Mutex
		answered = map[uint32][][32]byte{}
		genOne   = map[uint32]int{}
		wg       sync.WaitGroup
		errs     = make(chan error, 64)
	)
	record := func(single bool, ks ...*keys.PreKey) {
		mu.Lock()
		defer mu.Unlock()
		for _, k := range ks {
			answered[k.KeyID] = append(answered[k.KeyID], *k.Priv)
			if single {
				genOne[k.KeyID]++
			}
		}
	}
	for i, s := range stores {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for range 6 {
				k, err := s.GenOnePreKey(ctx)
				if err != nil {
					errs <- fmt.Errorf("store %d GenOnePreKey: %w", i, err)
					return
				}
				record(true, k)
			}
		}()
		go func() {
			defer wg.Done()
			for range 2 {
				ks, err := s.GetOrGenPreKeys(ctx, 30)
				if err != nil {
					errs <- fmt.Errorf("store %d GetOrGenPreKeys: %w", i, err)
					return
				}
				record(false, ks...)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for id, n := range genOne {
		if n > 1 {
			t.Errorf("GenOnePreKey answered id %d %d times", id, n)
		}
	}
	for id, privs := range answered {
		stored, err := stores[0].GetPreKey(ctx, id)
		if err != nil || stored == nil {
			t.Fatalf("GetPreKey(%d) = %v, %v", id, stored, err)
		}
		for _, priv := range privs {
			if priv != *stored.Priv {
				t.Errorf("id %d was answered with a key other than the stored one", id)
			}
		}
	}
	t.Logf("%d ids answered; %d writes found their id taken and started over", len(answered), db.failures.Load())
}

// stingyDB processes only part of each batch, as DynamoDB may under load, and checks that no
// batch is over DynamoDB's limits.
type stingyDB struct {
	DynamoDBAPI
	t *testing.T
	// keep is how many requests of each batch are processed; 0 processes none.
	keep                   int
	batchWrites, batchGets atomic.Int64
}

func (s *stingyDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	s.batchWrites.Add(1)
	for table, reqs := range in.RequestItems {
		if len(reqs) > batchWriteLimit {
			s.t.Errorf("BatchWriteItem with %d requests", len(reqs))
		}
		keep := min(s.keep, len(reqs))
		out := &dynamodb.BatchWriteItemOutput{UnprocessedItems: map[string][]ddb.WriteRequest{}}
		if keep > 0 {
			if _, err := s.DynamoDBAPI.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddb.WriteRequest{table: reqs[:keep]}}, opts...); err != nil {
				return nil, err
			}
		}
		if keep < len(reqs) {
			out.UnprocessedItems[table] = reqs[keep:]
		}
		return out, nil
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

func (s *stingyDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	s.batchGets.Add(1)
	for table, ka := range in.RequestItems {
		if len(ka.Keys) > dynamo.BatchGetLimit {
			s.t.Errorf("BatchGetItem with %d keys", len(ka.Keys))
		}
		keep := min(s.keep, len(ka.Keys))
		out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]ddb.AttributeValue{}, UnprocessedKeys: map[string]ddb.KeysAndAttributes{}}
		if keep > 0 {
			part := ka
			part.Keys = ka.Keys[:keep]
			got, err := s.DynamoDBAPI.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]ddb.KeysAndAttributes{table: part}}, opts...)
			if err != nil {
				return nil, err
			}
			out.Responses = got.Responses
		}
		if keep < len(ka.Keys) {
			rest := ka
			rest.Keys = ka.Keys[keep:]
			out.UnprocessedKeys[table] = rest
		}
		return out, nil
	}
	return &dynamodb.BatchGetItemOutput{}, nil
}

func TestBatchesRetryUnprocessed(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	stingy := &stingyDB{DynamoDBAPI: client, t: t, keep: 10}
	s := deviceStores(t, stingy, table, 1)[0]
	s.c.retry.First = time.Millisecond
	ctx := context.Background()

	sessions := map[string][]byte{}
	var addrs []string
	for i := range 120 {
		addr := fmt.Sprintf("1555%07d:0", i)
		sessions[addr] = []byte(addr)
		addrs = append(addrs, addr)
	}
	if err := s.PutManySessions(ctx, sessions); err != nil {
		t.Fatalf("PutManySessions: %v", err)
	}
	// 4 batches of 25, each sent 3 times (10, 10, 5), and one of 20 sent twice.
	if got := stingy.batchWrites.Load(); got != 14 {
		t.Errorf("PutManySessions of 120 sent %d BatchWriteItem requests, want 14", got)
	}
	// It reads the replaced sessions first (to find any kept in chunks): batches of 100 and
	// 20, sent 10 and 2 times.
	if got := stingy.batchGets.Swap(0); got != 12 {
		t.Errorf("PutManySessions of 120 sent %d BatchGetItem requests, want 12", got)
	}
	got, err := s.GetManySessions(ctx, addrs)
	if err != nil {
		t.Fatalf("GetManySessions: %v", err)
	}
	for _, addr := range addrs {
		if !bytes.Equal(got[addr], sessions[addr]) {
			t.Errorf("GetManySessions answers %q for %s", got[addr], addr)
		}
	}
	// Batches of 100 and 20, sent 10 and 2 times.
	if got := stingy.batchGets.Load(); got != 12 {
		t.Errorf("GetManySessions of 120 sent %d BatchGetItem requests, want 12", got)
	}

	t.Run("gives up with an error", func(t *testing.T) {
		stingy.keep = 0
		err := s.PutManySessions(ctx, map[string][]byte{"1:0": []byte("x")})
		if err == nil || !strings.Contains(err.Error(), "unprocessed") {
			t.Errorf("PutManySessions with nothing processed: %v, want an error about unprocessed items", err)
		}
	})
}

func TestItemSizeLimit(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	s := deviceStores(t, client, table, 1)[0]
	ctx := context.Background()
	big := bytes.Repeat([]byte{0xAB}, 400*1024)
	// Sessions and sender keys are split into chunks up to what one transaction holds.
	huge := bytes.Repeat([]byte{0xEF}, maxValueBytes+1)
	justFits := bytes.Repeat([]byte{0xCD}, 390*1024)

	tests := []struct {
		name  string
		write func() error
		// named is what the error must name.
		named string
		// absent checks nothing was written.
		absent func() bool
	}{
		{"session", func() error { return s.PutSession(ctx, "1:1", huge) }, "session 1:1",
			func() bool { v, _ := s.GetSession(ctx, "1:1"); return v == nil }},
		{"one session of a batch", func() error {
			return s.PutManySessions(ctx, map[string][]byte{"2:1": []byte("small"), "2:2": huge})
		}, "session 2:2", func() bool { v, _ := s.GetSession(ctx, "2:1"); return v == nil }},
		{"sender key", func() error { return s.PutSenderKey(ctx, "g@g.us", "3:1", huge) }, "sender key 3:1 in g@g.us",
			func() bool { v, _ := s.GetSenderKey(ctx, "g@g.us", "3:1"); return v == nil }},
		{"buffered event", func() error { return s.PutBufferedEvent(ctx, [32]byte{1}, big, time.Now()) }, "buffered event 01",
			func() bool { v, _ := s.GetBufferedEvent(ctx, [32]byte{1}); return v == nil }},
		{"app state sync key", func() error {
			return s.PutAppStateSyncKey(ctx, []byte{1}, store.AppStateSyncKey{Data: big, Fingerprint: []byte{1}, Timestamp: 1})
		}, "app state sync key 01", func() bool { v, _ := s.GetAppStateSyncKey(ctx, []byte{1}); return v == nil }},
		{"push name", func() error { _, _, err := s.PutPushName(ctx, pnJID("1", 0), string(big)); return err }, "pushName of 1@s.whatsapp.net",
			func() bool { v, _ := s.GetContact(ctx, pnJID("1", 0)); return !v.Found }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.write()
			if !errors.Is(err, ErrItemTooLarge) {
				t.Fatalf("write of a too large value: %v, want ErrItemTooLarge", err)
			}
			if !strings.Contains(err.Error(), tt.named) {
				t.Errorf("error %q does not name %q", err, tt.named)
			}
			if !tt.absent() {
				t.Errorf("something was written")
			}
		})
	}
	t.Run("390 KB round-trips whole", func(t *testing.T) {
		if err := s.PutSession(ctx, "4:1", justFits); err != nil {
			t.Fatalf("PutSession: %v", err)
		}
		got, err := s.GetSession(ctx, "4:1")
		if err != nil || !bytes.Equal(got, justFits) {
			t.Errorf("GetSession answers %d bytes, %v; want the %d stored", len(got), err, len(justFits))
		}
	})
}

// Decryptions of one device do not interleave, even from many goroutines.
func TestDoDecryptionTxnSerialises(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	s := deviceStores(t, client, table, 1)[0]
	ctx := context.Background()
	var active, maxActive atomic.Int64
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.DoDecryptionTxn(ctx, func(ctx context.Context) error {
				n := active.Add(1)
				defer active.Add(-1)
				for {
					m := maxActive.Load()
					if n <= m || maxActive.CompareAndSwap(m, n) {
						break
					}
				}
				return s.PutSession(ctx, fmt.Sprintf("%d:1", i), []byte("s"))
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if maxActive.Load() != 1 {
		t.Errorf("%d decryptions ran at once, want 1", maxActive.Load())
	}
}

// A decryption's writes are stored together or not at all: when another process buffers the
// same event while fn runs, the commit fails and the session fn wrote is not stored either.
// Over 100 writes are committed in several transactions.
func TestDoDecryptionTxnCommits(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	stores := deviceStores(t, client, table, 2)
	s, other := stores[0], stores[1]
	ctx := context.Background()

	t.Run("all or nothing", func(t *testing.T) {
		err := s.DoDecryptionTxn(ctx, func(ctx context.Context) error {
			if err := s.PutSession(ctx, "1:1", []byte("advanced")); err != nil {
				return err
			}
			if err := s.PutBufferedEvent(ctx, [32]byte{7}, []byte("plaintext"), time.Unix(1, 0)); err != nil {
				return err
			}
			return other.PutBufferedEvent(context.Background(), [32]byte{7}, []byte("theirs"), time.Unix(1, 0))
		})
		if err == nil || !strings.Contains(err.Error(), "already stored") {
			t.Fatalf("DoDecryptionTxn: %v, want the commit to fail on the buffered event", err)
		}
		if v, err := s.GetSession(ctx, "1:1"); err != nil || v != nil {
			t.Errorf("session after the failed commit: %q, %v; want none", v, err)
		}
		if ev, err := s.GetBufferedEvent(ctx, [32]byte{7}); err != nil || ev == nil || string(ev.Plaintext) != "theirs" {
			t.Errorf("buffered event: %+v, %v; want the other process's", ev, err)
		}
	})
	t.Run("over 100 writes", func(t *testing.T) {
		sessions := map[string][]byte{}
		for i := range 150 {
			sessions[fmt.Sprintf("2%03d:1", i)] = []byte{byte(i)}
		}
		err := s.DoDecryptionTxn(ctx, func(ctx context.Context) error {
			if err := s.PutManySessions(ctx, sessions); err != nil {
				return err
			}
			// Not yet stored: another store does not see them.
			if v, _ := other.GetSession(ctx, "2000:1"); v != nil {
				t.Errorf("a held-back session is visible outside the decryption")
			}
			return nil
		})
		if err != nil {
			t.Fatalf("DoDecryptionTxn: %v", err)
		}
		addrs := make([]string, 0, len(sessions))
		for a := range sessions {
			addrs = append(addrs, a)
		}
		got, err := other.GetManySessions(ctx, addrs)
		if err != nil {
			t.Fatal(err)
		}
		for a, v := range sessions {
			if !bytes.Equal(got[a], v) {
				t.Errorf("session %s = %x after commit, want %x", a, got[a], v)
			}
		}
	})
}

// conflictingDB cancels the first transactions it is sent with a TransactionConflict, as
// DynamoDB does when another request changes one of their items at that moment.
type conflictingDB struct {
	DynamoDBAPI
	conflicts atomic.Int64
}

func (c *conflictingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	if c.conflicts.Add(-1) >= 0 {
		code := "TransactionConflict"
		reasons := make([]ddb.CancellationReason, len(in.TransactItems))
		reasons[0].Code = &code
		return nil, &ddb.TransactionCanceledException{CancellationReasons: reasons}
	}
	return c.DynamoDBAPI.TransactWriteItems(ctx, in, opts...)
}

func TestTransactionConflictsAreRetried(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	db := &conflictingDB{DynamoDBAPI: client}
	s := deviceStores(t, db, table, 1)[0]
	s.c.retry.First = time.Millisecond
	ctx := context.Background()

	db.conflicts.Store(2)
	err := s.DoDecryptionTxn(ctx, func(ctx context.Context) error { return s.PutSession(ctx, "1:1", []byte("s")) })
	if err != nil {
		t.Fatalf("DoDecryptionTxn after 2 conflicts: %v", err)
	}
	if v, _ := s.GetSession(ctx, "1:1"); string(v) != "s" {
		t.Errorf("session after commit = %q", v)
	}
	db.conflicts.Store(2)
	ks, err := s.GetOrGenPreKeys(ctx, 5)
	if err != nil || len(ks) != 5 || ks[0].KeyID != 1 {
		t.Fatalf("GetOrGenPreKeys after 2 conflicts: %v, %v", ks, err)
	}
	db.conflicts.Store(commitTries)
	err = s.DoDecryptionTxn(ctx, func(ctx context.Context) error { return s.PutSession(ctx, "1:1", []byte("t")) })
	if err == nil {
		t.Errorf("DoDecryptionTxn succeeded through %d conflicts, want it to give up", commitTries)
	}
}
