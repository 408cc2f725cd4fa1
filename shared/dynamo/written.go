package dynamo

import (
	"bytes"
	"crypto/rand"
	"errors"
	"math/big"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// WriteIDAttr names the attribute MarkPut gives an item.
const WriteIDAttr = "writeId"

// MarkPut readies a conditional put for AlreadyWritten: it gives the item an attribute no
// other put has, so that this put's own earlier try is told from another writer's put of the
// same values (two deliveries, or two recovers, deriving the same change from the same
// version), and asks DynamoDB for the stored item when the condition fails (no extra cost).
func MarkPut(in *dynamodb.PutItemInput) {
	in.Item[WriteIDAttr] = &types.AttributeValueMemberS{Value: rand.Text()[:13]} // 65 random bits
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
}

// AlreadyWritten reports whether err, from a conditional PutItem of item readied by MarkPut,
// failed only because the item stored is item itself. That is how a put whose first try was applied but whose answer
// was lost (a reset connection, a timeout, a response cut short) comes back from the SDK's own
// retry: the second try finds its condition false. Such a put succeeded and must be reported
// so; taken for a conflict, its caller would drop the work that came with the write.
func AlreadyWritten(err error, item map[string]types.AttributeValue) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf) && ccf.Item != nil && SameItem(ccf.Item, item)
}

// SameItem reports whether a and b hold the same attributes with the same values, as
// DynamoDB compares them: numbers by value ("1.50" is "1.5"), sets in any order.
func SameItem(a, b map[string]types.AttributeValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || !sameValue(av, bv) {
			return false
		}
	}
	return true
}

func sameValue(a, b types.AttributeValue) bool {
	switch a := a.(type) {
	case *types.AttributeValueMemberS:
		b, ok := b.(*types.AttributeValueMemberS)
		return ok && a.Value == b.Value
	case *types.AttributeValueMemberN:
		b, ok := b.(*types.AttributeValueMemberN)
		return ok && sameNumber(a.Value, b.Value)
	case *types.AttributeValueMemberB:
		b, ok := b.(*types.AttributeValueMemberB)
		return ok && bytes.Equal(a.Value, b.Value)
	case *types.AttributeValueMemberBOOL:
		b, ok := b.(*types.AttributeValueMemberBOOL)
		return ok && a.Value == b.Value
	case *types.AttributeValueMemberNULL:
		b, ok := b.(*types.AttributeValueMemberNULL)
		return ok && a.Value == b.Value
	case *types.AttributeValueMemberL:
		b, ok := b.(*types.AttributeValueMemberL)
		if !ok || len(a.Value) != len(b.Value) {
			return false
		}
		for i := range a.Value {
			if !sameValue(a.Value[i], b.Value[i]) {
				return false
			}
		}
		return true
	case *types.AttributeValueMemberM:
		b, ok := b.(*types.AttributeValueMemberM)
		return ok && SameItem(a.Value, b.Value)
	case *types.AttributeValueMemberSS:
		b, ok := b.(*types.AttributeValueMemberSS)
		return ok && sameSet(a.Value, b.Value, func(x, y string) bool { return x == y })
	case *types.AttributeValueMemberNS:
		b, ok := b.(*types.AttributeValueMemberNS)
		return ok && sameSet(a.Value, b.Value, sameNumber)
	case *types.AttributeValueMemberBS:
		b, ok := b.(*types.AttributeValueMemberBS)
		return ok && sameSet(a.Value, b.Value, bytes.Equal)
	default:
		return false
	}
}

func sameNumber(a, b string) bool {
	if a == b {
		return true
	}
	x, okx := new(big.Rat).SetString(a)
	y, oky := new(big.Rat).SetString(b)
	return okx && oky && x.Cmp(y) == 0
}

// sameSet compares two sets, whose members DynamoDB keeps distinct, in any order.
func sameSet[T any](a, b []T, eq func(x, y T) bool) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			if eq(x, y) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
