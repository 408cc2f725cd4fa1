package dynamostore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/store"
)

// barrier lets n goroutines through once all n have arrived (or after a second, so a store
// that writes fewer times than expected only slows the test).
type barrier struct {
	n       int
	mu      sync.Mutex
	arrived int
	open    chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, open: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	b.arrived++
	if b.arrived == b.n {
		close(b.open)
	}
	b.mu.Unlock()
	select {
	case <-b.open:
	case <-time.After(time.Second):
	}
}

// racingDB holds its first write back until every other host's first write has arrived too:
// each host has read the map before any has written, the worst interleaving.
type racingDB struct {
	DynamoDBAPI
	b    *barrier
	once sync.Once
}

func (r *racingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	r.once.Do(r.b.wait)
	return r.DynamoDBAPI.BatchWriteItem(ctx, in, opts...)
}

func (r *racingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	r.once.Do(r.b.wait)
	return r.DynamoDBAPI.TransactWriteItems(ctx, in, opts...)
}

// checkLIDMapConsistent reads both directions of the stored map and fails unless each is the
// other's inverse.
func checkLIDMapConsistent(t *testing.T, c *Container) (lidToPN map[string]string) {
	t.Helper()
	ctx := context.Background()
	read := func(pk string) map[string]string {
		items, err := c.queryAll(ctx, query{pk: pk})
		if err != nil {
			t.Fatalf("read %s: %v", pk, err)
		}
		m := make(map[string]string, len(items))
		for _, it := range items {
			from, _ := it.str(attrSK)
			to, _ := it.str(attrOther)
			m[from] = to
		}
		return m
	}
	lidToPN, pnToLID := read(pkLIDToPN), read(pkPNToLID)
	for lid, pn := range lidToPN {
		if pnToLID[pn] != lid {
			t.Errorf("LID %s maps to phone number %s, which maps to LID %q", lid, pn, pnToLID[pn])
		}
	}
	for pn, lid := range pnToLID {
		if lidToPN[lid] != pn {
			t.Errorf("phone number %s maps to LID %s, which maps to phone number %q", pn, lid, lidToPN[lid])
		}
	}
	return lidToPN
}

// Two hosts (containers on one table) mapping one phone number to different LIDs at once leave
// a map that is consistent both ways: one of them wins, whole.
func TestLIDMapRaceAcrossHosts(t *testing.T) {
	t.Parallel()
	client, table := newDynamoClient(t)
	ctx := context.Background()
	for round := range 4 {
		pn := pnJID(fmt.Sprint("1555000500", round), 0)
		b := newBarrier(2)
		var wg sync.WaitGroup
		for host := range 2 {
			c := New(&racingDB{DynamoDBAPI: client, b: b}, table, nil)
			c.retry.First = time.Millisecond
			lid := lidJID(fmt.Sprintf("90000%d%d", round, host), 0)
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				if round%2 == 0 {
					err = c.LIDMap.PutLIDMapping(ctx, lid, pn)
				} else {
					// Both also map a second phone number, racing on the LID side too.
					other := pnJID(fmt.Sprint("1555000510", round), 0)
					err = c.LIDMap.PutManyLIDMappings(ctx, []store.LIDMapping{{LID: lid, PN: other}, {LID: lid, PN: pn}})
				}
				if err != nil {
					t.Errorf("round %d host %d: %v", round, host, err)
				}
			}()
		}
		wg.Wait()
		lidToPN := checkLIDMapConsistent(t, New(client, table, nil))
		winners := 0
		for host := range 2 {
			if lidToPN[fmt.Sprintf("90000%d%d", round, host)] == pn.User {
				winners++
			}
		}
		if winners != 1 {
			t.Errorf("round %d: %d LIDs map to %s, want 1", round, winners, pn)
		}
	}

	// Many hosts remapping a few users at random stay consistent too.
	var wg sync.WaitGroup
	for host := range 4 {
		c := New(client, table, nil)
		c.retry.First = time.Millisecond
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				lid := lidJID(fmt.Sprint("8000000", (host+i)%3), 0)
				pn := pnJID(fmt.Sprint("1555000600", (host*7+i)%4), 0)
				var err error
				if i%3 == 0 {
					err = c.LIDMap.PutManyLIDMappings(ctx, []store.LIDMapping{{LID: lid, PN: pn}, {LID: lidJID("8000009", 0), PN: pn}})
				} else {
					err = c.LIDMap.PutLIDMapping(ctx, lid, pn)
				}
				if err != nil {
					t.Errorf("host %d: %v", host, err)
				}
			}
		}()
	}
	wg.Wait()
	checkLIDMapConsistent(t, New(client, table, nil))
}
