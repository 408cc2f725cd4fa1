package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// stingyTable is a BatchGetter over one table keyed by "id" that processes at most keep keys
// of each request and leaves the rest unprocessed, as DynamoDB does under throttling.
type stingyTable struct {
	t     *testing.T
	table string
	items map[string]map[string]types.AttributeValue
	keep  int
	err   error
	// requests are the keys of each request, in order.
	requests [][]string
}

func (s *stingyTable) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	if s.err != nil {
		return nil, s.err
	}
	req, ok := in.RequestItems[s.table]
	if !ok || len(in.RequestItems) != 1 {
		s.t.Fatalf("request for tables %v, want only %s", in.RequestItems, s.table)
	}
	if len(req.Keys) > BatchGetLimit {
		s.t.Errorf("request with %d keys, DynamoDB's limit is %d", len(req.Keys), BatchGetLimit)
	}
	if !aws.ToBool(req.ConsistentRead) {
		s.t.Error("request without ConsistentRead")
	}
	var ids []string
	for _, k := range req.Keys {
		ids = append(ids, k["id"].(*types.AttributeValueMemberS).Value)
	}
	s.requests = append(s.requests, ids)

	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]types.AttributeValue{}}
	n := min(s.keep, len(req.Keys))
	for _, id := range ids[:n] {
		it, ok := s.items[id]
		if !ok {
			continue
		}
		if req.ProjectionExpression != nil {
			it = project(it, aws.ToString(req.ProjectionExpression), req.ExpressionAttributeNames)
		}
		out.Responses[s.table] = append(out.Responses[s.table], it)
	}
	if n < len(req.Keys) {
		rest := req
		rest.Keys = req.Keys[n:]
		out.UnprocessedKeys = map[string]types.KeysAndAttributes{s.table: rest}
	}
	return out, nil
}

// project keeps the attributes a projection of placeholders names.
func project(it map[string]types.AttributeValue, expr string, names map[string]string) map[string]types.AttributeValue {
	kept := map[string]types.AttributeValue{}
	for _, p := range strings.Split(expr, ", ") {
		if v, ok := it[names[p]]; ok {
			kept[names[p]] = v
		}
	}
	return kept
}

func idKeys(ids ...string) []map[string]types.AttributeValue {
	keys := make([]map[string]types.AttributeValue, len(ids))
	for i, id := range ids {
		keys[i] = map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
	}
	return keys
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("k%03d", i)
	}
	return out
}

// fastRetry keeps the tests' waits short.
var fastRetry = Backoff{First: time.Microsecond, Max: time.Millisecond}

func TestBatchGet(t *testing.T) {
	// Every other key has an item.
	items := map[string]map[string]types.AttributeValue{}
	for i, id := range ids(250) {
		if i%2 == 0 {
			items[id] = map[string]types.AttributeValue{
				"id":    &types.AttributeValueMemberS{Value: id},
				"a.b":   &types.AttributeValueMemberS{Value: "dotted " + id},
				"other": &types.AttributeValueMemberN{Value: "1"},
			}
		}
	}
	tests := []struct {
		name  string
		keys  int
		keep  int
		attrs []string
		// wantRequests is the number of keys of each request sent.
		wantRequests []int
	}{
		{"no keys", 0, 100, nil, nil},
		{"one request", 30, 100, nil, []int{30}},
		{"batches of 100", 250, 100, nil, []int{100, 100, 50}},
		{"unprocessed keys asked again", 250, 40,
			nil, []int{100, 60, 20, 100, 60, 20, 50, 10}},
		{"the last of ten tries succeeds", 100, 10,
			nil, []int{100, 90, 80, 70, 60, 50, 40, 30, 20, 10}},
		{"projection", 10, 100, []string{"id", "a.b"}, []int{10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := &stingyTable{t: t, table: "logs", items: items, keep: tt.keep}
			want := ids(tt.keys)
			got, err := BatchGet(context.Background(), db, fastRetry, "logs", idKeys(want...), tt.attrs...)
			if err != nil {
				t.Fatalf("BatchGet: %v", err)
			}
			var sizes []int
			for _, r := range db.requests {
				sizes = append(sizes, len(r))
			}
			if !slices.Equal(sizes, tt.wantRequests) {
				t.Errorf("requests of %v keys, want %v", sizes, tt.wantRequests)
			}
			var gotIDs []string
			for _, it := range got {
				id := it["id"].(*types.AttributeValueMemberS).Value
				gotIDs = append(gotIDs, id)
				if tt.attrs != nil {
					if len(it) != len(tt.attrs) {
						t.Errorf("item %s has attributes %v, want only %v", id, it, tt.attrs)
					}
					if v, ok := it["a.b"].(*types.AttributeValueMemberS); !ok || v.Value != "dotted "+id {
						t.Errorf("item %s: attribute a.b = %v", id, it["a.b"])
					}
				} else if len(it) != 3 {
					t.Errorf("item %s has attributes %v, want all 3", id, it)
				}
			}
			slices.Sort(gotIDs)
			var wantIDs []string
			for _, id := range want {
				if items[id] != nil {
					wantIDs = append(wantIDs, id)
				}
			}
			if !slices.Equal(gotIDs, wantIDs) {
				t.Errorf("read items %v, want %v", gotIDs, wantIDs)
			}
		})
	}
}

func TestBatchGetFails(t *testing.T) {
	throttled := errors.New("throttled")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		keep  int
		err   error
		retry Backoff
		// wantErr is matched with errors.Is, else wantText is in the message.
		wantErr      error
		wantText     string
		wantRequests int
	}{
		{"keys stay unprocessed", context.Background(), 0, nil, fastRetry, nil, "10 keys still unprocessed after 10 tries", BatchTries},
		{"client error", context.Background(), 10, throttled, fastRetry, throttled, "", 0},
		{"context ends while backing off", cancelled, 5, nil, Backoff{First: time.Hour, Max: time.Hour}, context.Canceled, "", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := &stingyTable{t: t, table: "logs", keep: tt.keep, err: tt.err}
			got, err := BatchGet(tt.ctx, db, tt.retry, "logs", idKeys(ids(10)...))
			if err == nil {
				t.Fatalf("BatchGet = %v, want an error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("BatchGet error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) || !strings.Contains(err.Error(), "logs") {
				t.Errorf("BatchGet error %q, want it to name the table and say %q", err, tt.wantText)
			}
			if len(db.requests) != tt.wantRequests {
				t.Errorf("%d requests sent, want %d", len(db.requests), tt.wantRequests)
			}
		})
	}
}

func TestProjection(t *testing.T) {
	expr, names := Projection([]string{"instanceId", "name", "a.b"})
	if got, want := aws.ToString(expr), "#p0, #p1, #p2"; got != want {
		t.Errorf("projection %q, want %q", got, want)
	}
	want := map[string]string{"#p0": "instanceId", "#p1": "name", "#p2": "a.b"}
	if fmt.Sprint(names) != fmt.Sprint(want) {
		t.Errorf("names %v, want %v", names, want)
	}
}
