package samtemplate

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const capacityTemplate = `
Parameters:
  Mode:
    Type: String
    Default: %s
    AllowedValues: [on-demand, provisioned]
  MinWrite:
    Type: Number
    Default: 5
  Days:
    Type: Number
    Default: 30
Conditions:
  Provisioned: !Equals [!Ref Mode, provisioned]
  LongRetention: !Not [!Equals [!Ref Days, 30]]
  Both: !And [!Condition Provisioned, !Condition LongRetention]
  Either: !Or [!Condition Provisioned, !Condition LongRetention]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: !If [Provisioned, PROVISIONED, PAY_PER_REQUEST]
      ProvisionedThroughput: !If
        - Provisioned
        - {ReadCapacityUnits: 3, WriteCapacityUnits: !Ref MinWrite}
        - !Ref AWS::NoValue
      TableClass: !If [Both, STANDARD_INFREQUENT_ACCESS, !If [Either, STANDARD, NONE]]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      GlobalSecondaryIndexes:
        - IndexName: byX
          KeySchema: [{AttributeName: x, KeyType: HASH}]
          Projection: {ProjectionType: KEYS_ONLY}
          ProvisionedThroughput: !If
            - Provisioned
            - {ReadCapacityUnits: 3, WriteCapacityUnits: !Ref MinWrite}
            - !Ref AWS::NoValue
      PointInTimeRecoverySpecification:
        PointInTimeRecoveryEnabled: !If [Provisioned, true, false]
  Target:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Condition: Provisioned
    Properties:
      ServiceNamespace: dynamodb
      ResourceId: !Sub "table/${Table}"
      ScalableDimension: dynamodb:table:WriteCapacityUnits
      MinCapacity: !Ref MinWrite
      MaxCapacity: 100
`

// Fn::If follows the template's conditions, evaluated with the parameters' defaults: the
// tables of the default (on-demand) template are created PAY_PER_REQUEST, without
// throughput; a provisioned default gives PROVISIONED and the capacity of the Number
// parameters, on the table and its indexes. A conditional resource is kept in the raw template.
func TestLoadResolvesIf(t *testing.T) {
	for _, tt := range []struct {
		mode       string
		billing    ddbtypes.BillingMode
		throughput *ddbtypes.ProvisionedThroughput
		class      string
		pitr       bool
	}{
		{"on-demand", ddbtypes.BillingModePayPerRequest, nil, "NONE", false},
		{"provisioned", ddbtypes.BillingModeProvisioned,
			&ddbtypes.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(3), WriteCapacityUnits: aws.Int64(5)}, "STANDARD", true},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			tpl := loadString(t, fmt.Sprintf(capacityTemplate, tt.mode))
			spec := tpl.CloudFormation().GetAllDynamoDBTableResources()["Table"]
			in := createTableInput("t", spec)
			if in.BillingMode != tt.billing {
				t.Errorf("BillingMode = %q, want %q", in.BillingMode, tt.billing)
			}
			if !sameThroughput(in.ProvisionedThroughput, tt.throughput) {
				t.Errorf("table throughput = %v, want %v", in.ProvisionedThroughput, tt.throughput)
			}
			if len(in.GlobalSecondaryIndexes) != 1 || !sameThroughput(in.GlobalSecondaryIndexes[0].ProvisionedThroughput, tt.throughput) {
				t.Errorf("index throughput = %+v, want %v", in.GlobalSecondaryIndexes, tt.throughput)
			}
			if got := aws.ToString(spec.TableClass); got != tt.class {
				t.Errorf("TableClass (nested Fn::If over And/Or/Not/Condition) = %q, want %q", got, tt.class)
			}
			if p := spec.PointInTimeRecoverySpecification; p == nil || aws.ToBool(p.PointInTimeRecoveryEnabled) != tt.pitr {
				t.Errorf("PointInTimeRecoveryEnabled = %+v, want %t", p, tt.pitr)
			}
			if !strings.Contains(string(tpl.raw), "AWS::ApplicationAutoScaling::ScalableTarget") {
				t.Error("raw template lost the conditional scalable target")
			}
		})
	}
}

func sameThroughput(a, b *ddbtypes.ProvisionedThroughput) bool {
	if a == nil || b == nil {
		return a == b
	}
	return aws.ToInt64(a.ReadCapacityUnits) == aws.ToInt64(b.ReadCapacityUnits) &&
		aws.ToInt64(a.WriteCapacityUnits) == aws.ToInt64(b.WriteCapacityUnits)
}

// A condition that cannot be evaluated fails Load rather than leave an Fn::If empty (which
// would create a table with no billing mode).
func TestLoadRejectsBadConditions(t *testing.T) {
	for name, tt := range map[string]struct{ conditions, err string }{
		"unknown function": {"A: !Select [0, [true]]", "unsupported condition"},
		"missing":          {"A: !Not [!Condition B]", `no condition "B"`},
		"cycle":            {"A: !Not [!Condition B]\n  B: !Not [{Condition: A}]", "refers to itself"},
		"no default":       {"A: !Equals [!Ref NoDefault, x]", "parameter NoDefault has no default"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "template.yaml")
			yaml := "Parameters:\n  NoDefault: {Type: String}\nConditions:\n  " + tt.conditions +
				"\nResources:\n  Q:\n    Type: AWS::SQS::Queue\n"
			if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "condition A") || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Load: %v, want an error on condition A saying %q", err, tt.err)
			}
		})
	}
}
