package dynamo

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ConditionFailed reports whether err is a failed condition of a single write or of any item
// of a transaction.
func ConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf) || cancelledFor(err, "ConditionalCheckFailed")
}

// TransactionConflict reports whether a transaction was cancelled because another request was
// changing one of its items at the same moment; the SDK does not retry that, callers may.
func TransactionConflict(err error) bool {
	return cancelledFor(err, "TransactionConflict")
}

func cancelledFor(err error, code string) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		return false
	}
	for _, r := range tce.CancellationReasons {
		if aws.ToString(r.Code) == code {
			return true
		}
	}
	return false
}
