package dynamo

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

func TestClassify(t *testing.T) {
	cancelled := func(codes ...string) error {
		var reasons []types.CancellationReason
		for _, c := range codes {
			reasons = append(reasons, types.CancellationReason{Code: aws.String(c)})
		}
		return fmt.Errorf("transact: %w", &types.TransactionCanceledException{CancellationReasons: reasons})
	}
	tests := []struct {
		name                string
		err                 error
		condition, conflict bool
		throttled           bool
	}{
		{"single write's condition", fmt.Errorf("put: %w", &types.ConditionalCheckFailedException{}), true, false, false},
		{"a transaction item's condition", cancelled("None", "ConditionalCheckFailed"), true, false, false},
		{"transaction conflict", cancelled("TransactionConflict", "None"), false, true, true},
		{"throttled transaction item", cancelled("None", "ThrottlingError"), false, false, true},
		{"table throughput", fmt.Errorf("put: %w", &types.ProvisionedThroughputExceededException{}), false, false, true},
		{"account request limit", fmt.Errorf("put: %w", &types.RequestLimitExceeded{}), false, false, true},
		{"single write meeting a transaction", fmt.Errorf("put: %w", &types.TransactionConflictException{}), false, false, true},
		{"on-demand throttling", &smithy.GenericAPIError{Code: "ThrottlingException"}, false, false, true},
		{"other cancellation", cancelled("ValidationError"), false, false, false},
		{"other error", errors.New("timeout"), false, false, false},
		{"no error", nil, false, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ConditionFailed(tt.err); got != tt.condition {
				t.Errorf("ConditionFailed = %v", got)
			}
			if got := TransactionConflict(tt.err); got != tt.conflict {
				t.Errorf("TransactionConflict = %v", got)
			}
			if got := Throttled(tt.err); got != tt.throttled {
				t.Errorf("Throttled = %v", got)
			}
		})
	}
}
