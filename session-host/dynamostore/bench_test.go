package dynamostore

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"go.mau.fi/whatsmeow/store"
)

// benchSessions is what whatsmeow sends a group message to: 50 device addresses with sessions
// of about the usual size.
const benchSessions = 50

func benchData() (map[string][]byte, []string) {
	sessions := make(map[string][]byte, benchSessions)
	addrs := make([]string, 0, benchSessions)
	for i := range benchSessions {
		addr := fmt.Sprintf("1555%07d:%d", i, i%4)
		sessions[addr] = bytes.Repeat([]byte{byte(i)}, 1500)
		addrs = append(addrs, addr)
	}
	return sessions, addrs
}

// benchStores answers each store's session store of one stored device, and the request
// counter of the DynamoDB one.
func benchStores(b *testing.B) (sqlSessions, ddbSessions store.SessionStore, counting *countingDB) {
	b.Helper()
	ctx := context.Background()
	sqlC, _ := newSQLContainer(b)
	db, table := newDynamoClient(b)
	counting = &countingDB{DynamoDBAPI: db}
	ddbC := New(counting, table, nil)
	sqlDev, ddbDev := pairedDevice(sqlC, ourJID), pairedDevice(ddbC, ourJID)
	if err := sqlDev.Save(ctx); err != nil {
		b.Fatal(err)
	}
	if err := ddbDev.Save(ctx); err != nil {
		b.Fatal(err)
	}
	return sqlDev.Sessions, ddbDev.Sessions, counting
}

func BenchmarkGetManySessions(b *testing.B) {
	ctx := context.Background()
	sessions, addrs := benchData()
	sqlS, ddbS, counting := benchStores(b)
	for _, s := range []store.SessionStore{sqlS, ddbS} {
		if err := s.PutManySessions(ctx, sessions); err != nil {
			b.Fatal(err)
		}
	}
	for _, bb := range []struct {
		name string
		s    store.SessionStore
	}{{"sqlite", sqlS}, {"dynamodb", ddbS}} {
		b.Run(bb.name, func(b *testing.B) {
			before := counting.total()
			for b.Loop() {
				got, err := bb.s.GetManySessions(ctx, addrs)
				if err != nil || len(got) != benchSessions {
					b.Fatalf("GetManySessions: %d, %v", len(got), err)
				}
			}
			if bb.name == "dynamodb" {
				b.ReportMetric(float64(counting.total()-before)/float64(b.N), "requests/op")
			}
		})
	}
}

func BenchmarkPutManySessions(b *testing.B) {
	ctx := context.Background()
	sessions, _ := benchData()
	sqlS, ddbS, counting := benchStores(b)
	for _, bb := range []struct {
		name string
		s    store.SessionStore
	}{{"sqlite", sqlS}, {"dynamodb", ddbS}} {
		b.Run(bb.name, func(b *testing.B) {
			before := counting.total()
			for b.Loop() {
				if err := bb.s.PutManySessions(ctx, sessions); err != nil {
					b.Fatalf("PutManySessions: %v", err)
				}
			}
			if bb.name == "dynamodb" {
				b.ReportMetric(float64(counting.total()-before)/float64(b.N), "requests/op")
			}
		})
	}
}
