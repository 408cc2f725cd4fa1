package dynamo

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestAlreadyWritten(t *testing.T) {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
	item := func() map[string]types.AttributeValue {
		return map[string]types.AttributeValue{
			"webhookId": s("wh_1"), "version": n("3"), "payload": &types.AttributeValueMemberB{Value: []byte{1, 2}},
			"manual": &types.AttributeValueMemberBOOL{Value: true}, "error": &types.AttributeValueMemberNULL{Value: true},
			"sent": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				"headers": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), n("1")}},
			}},
			"tags": &types.AttributeValueMemberSS{Value: []string{"x", "y"}},
			"nums": &types.AttributeValueMemberNS{Value: []string{"1", "2.5"}},
			"bins": &types.AttributeValueMemberBS{Value: [][]byte{{1}, {2}}},
		}
	}
	with := func(k string, v types.AttributeValue) map[string]types.AttributeValue {
		it := item()
		if v == nil {
			delete(it, k)
		} else {
			it[k] = v
		}
		return it
	}
	failed := func(stored map[string]types.AttributeValue) error {
		return fmt.Errorf("put: %w", &types.ConditionalCheckFailedException{Item: stored})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"the stored item is the one put", failed(item()), true},
		{"numbers as DynamoDB writes them back", failed(with("nums", &types.AttributeValueMemberNS{Value: []string{"2.50", "1"}})), true},
		{"sets in another order", failed(with("bins", &types.AttributeValueMemberBS{Value: [][]byte{{2}, {1}}})), true},
		{"another version", failed(with("version", n("4"))), false},
		{"a number written as a string", failed(with("version", s("3"))), false},
		{"other bytes", failed(with("payload", &types.AttributeValueMemberB{Value: []byte{1, 3}})), false},
		{"a list in another order", failed(with("sent", &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"headers": &types.AttributeValueMemberL{Value: []types.AttributeValue{n("1"), s("a")}},
		}})), false},
		{"a set member changed", failed(with("tags", &types.AttributeValueMemberSS{Value: []string{"x", "z"}})), false},
		{"an attribute missing", failed(with("manual", nil)), false},
		{"an attribute more", failed(with("unqueued", &types.AttributeValueMemberBOOL{Value: true})), false},
		{"no item returned", failed(nil), false},
		{"not a failed condition", errors.New("timeout"), false},
		{"no error", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AlreadyWritten(tt.err, item()); got != tt.want {
				t.Errorf("AlreadyWritten = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("another put of the same values", func(t *testing.T) {
		mine, theirs := &dynamodb.PutItemInput{Item: item()}, &dynamodb.PutItemInput{Item: item()}
		MarkPut(mine)
		MarkPut(theirs)
		if mine.ReturnValuesOnConditionCheckFailure != types.ReturnValuesOnConditionCheckFailureAllOld {
			t.Error("the put does not ask for the stored item on a failed condition")
		}
		if AlreadyWritten(failed(theirs.Item), mine.Item) {
			t.Error("another writer's put of the same values taken for this put's earlier try")
		}
		if !AlreadyWritten(failed(mine.Item), mine.Item) {
			t.Error("this put's earlier try not recognised")
		}
	})
}
