package dynamo

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
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

// Throttled reports whether DynamoDB refused a request for want of capacity (a table's,
// an index's or the account's), or because a transaction was changing the item at the same
// moment (a single write's TransactionConflictException, a transaction's TransactionConflict):
// both pass, and the request may be sent again after a wait. The SDK retries throttles a few
// times on its own; callers whose writes must not be lost retry on top of that.
func Throttled(err error) bool {
	var (
		pte *types.ProvisionedThroughputExceededException
		rle *types.RequestLimitExceeded
		tce *types.TransactionConflictException
		api smithy.APIError
	)
	return errors.As(err, &pte) || errors.As(err, &rle) || errors.As(err, &tce) ||
		(errors.As(err, &api) && api.ErrorCode() == "ThrottlingException") ||
		TransactionConflict(err) || cancelledFor(err, "ThrottlingError")
}
