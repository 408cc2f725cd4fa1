package dynamostore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

// bigValue is n bytes that differ from chunk to chunk, so that chunks out of order show.
func bigValue(n int, seed byte) []byte {
	v := make([]byte, n)
	for i := range v {
		v[i] = byte(i/1000) ^ byte(i) ^ seed
	}
	return v
}

// A session or sender key over 400 KB is stored in chunks: it reads back whole through every
// read, is replaced and deleted whole (no chunk stays behind), moves whole in a migration, and
// its chunks are never taken for addresses of their own.
func TestLargeValues(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	s := deviceStores(t, client, table, 1)[0]
	ctx := context.Background()
	stored := func(kind string) []string {
		t.Helper()
		items, err := s.c.queryAll(ctx, query{pk: s.pk(kind), projection: []string{attrSK}})
		if err != nil {
			t.Fatal(err)
		}
		sks := make([]string, len(items))
		for i, it := range items {
			sks[i], _ = it.str(attrSK)
		}
		return sks
	}
	wantStored := func(kind string, n int) {
		t.Helper()
		if got := stored(kind); len(got) != n {
			t.Errorf("%d %s items stored (%q), want %d", len(got), kind, got, n)
		}
	}
	wantSession := func(addr string, want []byte) {
		t.Helper()
		got, err := s.GetSession(ctx, addr)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("GetSession(%s) = %d bytes, %v; want %d bytes", addr, len(got), err, len(want))
		}
		many, err := s.GetManySessions(ctx, []string{addr, "0:0"})
		if err != nil || !bytes.Equal(many[addr], want) {
			t.Fatalf("GetManySessions(%s) = %d bytes, %v; want %d bytes", addr, len(many[addr]), err, len(want))
		}
	}
	mb15, mb25, small := bigValue(1500*1024, 1), bigValue(2500*1024, 2), []byte("small session")

	if err := s.PutSession(ctx, "15550007001:1", mb15); err != nil {
		t.Fatalf("PutSession of 1.5 MB: %v", err)
	}
	wantSession("15550007001:1", mb15)
	wantStored(kindSession, 5) // the head and 4 chunks of 384 KB
	if has, err := s.HasSession(ctx, "15550007001:1"); err != nil || !has {
		t.Errorf("HasSession = %v, %v", has, err)
	}
	// A chunk is no address.
	chunk := chunkSK("15550007001:1", 0)
	if v, err := s.GetSession(ctx, chunk); err != nil || v != nil {
		t.Errorf("GetSession(a chunk's key) = %d bytes, %v; want nothing", len(v), err)
	}
	if m, err := s.GetManySessions(ctx, []string{chunk}); err != nil || m[chunk] != nil {
		t.Errorf("GetManySessions(a chunk's key) = %v, %v; want nothing", m, err)
	}

	// Replaced by more chunks, by fewer, then by one item: no chunk stays behind.
	if err := s.PutSession(ctx, "15550007001:1", mb25); err != nil {
		t.Fatal(err)
	}
	wantSession("15550007001:1", mb25)
	wantStored(kindSession, 8)
	if err := s.PutSession(ctx, "15550007001:1", mb15); err != nil {
		t.Fatal(err)
	}
	wantSession("15550007001:1", mb15)
	wantStored(kindSession, 5)
	if err := s.PutSession(ctx, "15550007001:1", small); err != nil {
		t.Fatal(err)
	}
	wantSession("15550007001:1", small)
	wantStored(kindSession, 1)
	if err := s.PutSession(ctx, "15550007001:1", mb15); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, "15550007001:1"); err != nil {
		t.Fatal(err)
	}
	wantSession("15550007001:1", nil)
	wantStored(kindSession, 0)

	// PutManySessions writes chunks and replaces a chunked session by a small one.
	if err := s.PutManySessions(ctx, map[string][]byte{"15550007001:1": mb15, "15550007001:2": small}); err != nil {
		t.Fatal(err)
	}
	wantSession("15550007001:1", mb15)
	wantStored(kindSession, 6)
	if err := s.PutManySessions(ctx, map[string][]byte{"15550007001:1": small, "15550007001:2": mb25}); err != nil {
		t.Fatal(err)
	}
	wantSession("15550007001:1", small)
	wantSession("15550007001:2", mb25)
	wantStored(kindSession, 9)

	// LIKE deletes take the chunks of matching sessions only.
	if err := s.PutSession(ctx, "155500070011:1", mb15); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAllSessions(ctx, "15550007001"); err != nil {
		t.Fatal(err)
	}
	wantSession("15550007001:2", nil)
	wantSession("155500070011:1", mb15)
	wantStored(kindSession, 5)

	// Inside a decryption: a chunked session read, advanced, committed with its chunks.
	if err := s.PutSession(ctx, "15550007001:3", mb15); err != nil {
		t.Fatal(err)
	}
	err := s.DoDecryptionTxn(ctx, func(ctx context.Context) error {
		v, err := s.GetSession(ctx, "15550007001:3")
		if err != nil || !bytes.Equal(v, mb15) {
			return fmt.Errorf("GetSession in a decryption = %d bytes, %v", len(v), err)
		}
		if err := s.PutSession(ctx, "15550007001:3", mb25); err != nil {
			return err
		}
		return s.PutBufferedEvent(ctx, [32]byte{1}, []byte("plaintext"), s.c.now())
	})
	if err != nil {
		t.Fatalf("DoDecryptionTxn: %v", err)
	}
	wantSession("15550007001:3", mb25)
	err = s.DoDecryptionTxn(ctx, func(ctx context.Context) error {
		return s.PutSession(ctx, "15550007001:3", small) // not read first: the commit reads the head
	})
	if err != nil {
		t.Fatalf("DoDecryptionTxn: %v", err)
	}
	wantSession("15550007001:3", small)
	wantStored(kindSession, 6)

	// Sender keys too, and a migration moves chunked values whole.
	if err := s.PutSenderKey(ctx, "g@g.us", "15550007001:3", mb25); err != nil {
		t.Fatal(err)
	}
	if v, err := s.GetSenderKey(ctx, "g@g.us", "15550007001:3"); err != nil || !bytes.Equal(v, mb25) {
		t.Fatalf("GetSenderKey = %d bytes, %v", len(v), err)
	}
	if err := s.PutSession(ctx, "15550007001:3", mb15); err != nil {
		t.Fatal(err)
	}
	if err := s.PutSession(ctx, "9000007_1:3", mb25); err != nil { // replaced by the migration
		t.Fatal(err)
	}
	if err := s.MigratePNToLID(ctx, pnJID("15550007001", 0), lidJID("9000007", 0)); err != nil {
		t.Fatalf("MigratePNToLID: %v", err)
	}
	wantSession("15550007001:3", nil)
	wantSession("9000007_1:3", mb15)
	if v, err := s.GetSenderKey(ctx, "g@g.us", "9000007_1:3"); err != nil || !bytes.Equal(v, mb25) {
		t.Fatalf("GetSenderKey after the migration = %d bytes, %v", len(v), err)
	}
	wantStored(kindSession, 10)  // 155500070011:1 and 9000007_1:3, 4 chunks each
	wantStored(kindSenderKey, 8) // the head and 7 chunks
	if err := s.PutSenderKey(ctx, "g@g.us", "9000007_1:3", small); err != nil {
		t.Fatal(err)
	}
	wantStored(kindSenderKey, 1)

	// Over what one transaction holds: refused, nothing written.
	huge := bigValue(maxValueBytes+1, 3)
	if err := s.PutSession(ctx, "1:1", huge); !errors.Is(err, ErrItemTooLarge) {
		t.Errorf("PutSession of %d bytes: %v, want ErrItemTooLarge", len(huge), err)
	}
	err = s.DoDecryptionTxn(ctx, func(ctx context.Context) error { return s.PutSession(ctx, "1:1", huge) })
	if !errors.Is(err, ErrItemTooLarge) {
		t.Errorf("PutSession of %d bytes in a decryption: %v, want ErrItemTooLarge", len(huge), err)
	}
	wantSession("1:1", nil)
	near := bigValue(maxValueBytes, 4)
	if err := s.PutSession(ctx, "1:1", near); err != nil {
		t.Fatalf("PutSession of %d bytes: %v", len(near), err)
	}
	wantSession("1:1", near)

	// DeleteDevice removes the chunks with everything else.
	d, err := s.c.GetDevice(ctx, ourJID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.c.DeleteDevice(ctx, d); err != nil {
		t.Fatal(err)
	}
	wantStored(kindSession, 0)
	wantStored(kindSenderKey, 0)
}

// A reader never sees a value that is half one write and half another: chunks carry their
// write's gen, and a value replaced while its chunks were read is read again.
func TestLargeValuesReadWhole(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	stores := deviceStores(t, client, table, 2)
	writer, reader := stores[0], stores[1]
	ctx := context.Background()
	values := [][]byte{bigValue(500*1024, 1), bigValue(900*1024, 2), []byte("small")}
	if err := writer.PutSession(ctx, "1:1", values[0]); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for i := range 12 {
			if err := writer.PutSession(ctx, "1:1", values[(i+1)%len(values)]); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	reads := 0
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		default:
		}
		v, err := reader.GetSession(ctx, "1:1")
		if err != nil {
			t.Fatalf("GetSession while being replaced: %v", err)
		}
		if !bytes.Equal(v, values[0]) && !bytes.Equal(v, values[1]) && !bytes.Equal(v, values[2]) {
			t.Fatalf("GetSession answered %d bytes that are none of the values written", len(v))
		}
		reads++
	}
	t.Logf("%d whole reads", reads)

	// A chunk of another write is never put together with the head.
	if err := writer.PutSession(ctx, "1:1", values[1]); err != nil {
		t.Fatal(err)
	}
	stray := key(writer.pk(kindSession), chunkSK("1:1", 1))
	stray[attrChunkIndex], stray[attrGen], stray[attrValue] = num(1), str("another write"), bin([]byte("stray"))
	if err := writer.c.putItem(ctx, stray); err != nil {
		t.Fatal(err)
	}
	if v, err := reader.GetSession(ctx, "1:1"); !errors.Is(err, errTornRead) {
		t.Errorf("GetSession with a chunk of another write = %d bytes, %v; want errTornRead", len(v), err)
	}
}

// A session address containing NUL could name a chunk of another session's value: writes
// refuse it and a delete does nothing, so the chunk stays.
func TestSessionAddressWithNUL(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	s := deviceStores(t, client, table, 1)[0]
	ctx := context.Background()
	big := bigValue(500*1024, 5)
	if err := s.PutSession(ctx, "1:1", big); err != nil {
		t.Fatal(err)
	}
	chunk := chunkSK("1:1", 0)
	if err := s.PutSession(ctx, chunk, []byte("x")); err == nil {
		t.Errorf("PutSession under a chunk's key succeeded")
	}
	if err := s.PutManySessions(ctx, map[string][]byte{chunk: []byte("x")}); err == nil {
		t.Errorf("PutManySessions under a chunk's key succeeded")
	}
	if err := s.DeleteSession(ctx, chunk); err != nil {
		t.Errorf("DeleteSession(a chunk's key): %v", err)
	}
	if v, err := s.GetSession(ctx, "1:1"); err != nil || !bytes.Equal(v, big) {
		t.Errorf("GetSession = %d bytes, %v; want the %d stored", len(v), err, len(big))
	}
}
