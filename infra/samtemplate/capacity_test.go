package samtemplate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// The repository's template with TableCapacityMode=provisioned: the tables that switch get
// PROVISIONED and a throughput on the table and each index, and each of those has a read and a
// write scalable target under the same condition, with a 70% target tracking policy.
// (CloudFormation itself, cfn-lint and sam validate check the rest; nothing here deploys.)
func TestRepoTemplateProvisionedMode(t *testing.T) {
	path, err := TemplatePath()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const onDemand = "    Default: on-demand\n"
	if strings.Count(string(data), onDemand) != 1 {
		t.Fatalf("template.yaml: want exactly one %q (TableCapacityMode's default)", onDemand)
	}
	provisioned := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(provisioned, []byte(strings.Replace(string(data), onDemand, "    Default: provisioned\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(provisioned)
	if err != nil {
		t.Fatal(err)
	}

	// Every scalable dimension the provisioned tables need, "table/<id>[/index/<name>]|<dimension>".
	var want []string
	for _, id := range []string{"WebhookLogTable", "WebhookStatsTable"} {
		spec := tpl.CloudFormation().GetAllDynamoDBTableResources()[id]
		in := createTableInput(id, spec)
		if in.BillingMode != ddbtypes.BillingModeProvisioned || in.ProvisionedThroughput == nil {
			t.Errorf("%s: billing %q, throughput %v; want PROVISIONED with a throughput", id, in.BillingMode, in.ProvisionedThroughput)
		}
		for _, d := range []string{"Read", "Write"} {
			want = append(want, "table/${"+id+"}|dynamodb:table:"+d+"CapacityUnits")
		}
		for _, g := range in.GlobalSecondaryIndexes {
			if g.ProvisionedThroughput == nil {
				t.Errorf("%s index %s has no throughput", id, aws.ToString(g.IndexName))
			}
			for _, d := range []string{"Read", "Write"} {
				want = append(want, "table/${"+id+"}/index/"+aws.ToString(g.IndexName)+"|dynamodb:index:"+d+"CapacityUnits")
			}
		}
	}
	for id, spec := range tpl.CloudFormation().GetAllDynamoDBTableResources() {
		if id == "WebhookLogTable" || id == "WebhookStatsTable" {
			continue
		}
		if b := aws.ToString(spec.BillingMode); b != "PAY_PER_REQUEST" {
			t.Errorf("%s: billing mode %q, want PAY_PER_REQUEST whatever TableCapacityMode says", id, b)
		}
	}

	// The scaling resources as written (Fn::Sub unresolved, so the table names show).
	asWritten, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	type resource struct {
		Type, Condition string
		Properties      map[string]any
	}
	var doc struct{ Resources map[string]resource }
	if err := json.Unmarshal(asWritten, &doc); err != nil {
		t.Fatal(err)
	}
	var got []string
	for id, r := range doc.Resources {
		switch r.Type {
		case "AWS::ApplicationAutoScaling::ScalableTarget":
			if r.Condition != "ProvisionedTables" {
				t.Errorf("%s: condition %q, want ProvisionedTables", id, r.Condition)
			}
			if _, ok := r.Properties["RoleARN"]; ok {
				t.Errorf("%s: has a RoleARN; the service-linked role is meant", id)
			}
			sub, _ := r.Properties["ResourceId"].(map[string]any)
			rid, _ := sub["Fn::Sub"].(string)
			got = append(got, rid+"|"+fmt.Sprint(r.Properties["ScalableDimension"]))
			var policies int
			for _, p := range doc.Resources {
				ref, _ := p.Properties["ScalingTargetId"].(map[string]any)
				if p.Type != "AWS::ApplicationAutoScaling::ScalingPolicy" || ref["Ref"] != id {
					continue
				}
				policies++
				cfg, _ := p.Properties["TargetTrackingScalingPolicyConfiguration"].(map[string]any)
				metric, _ := cfg["PredefinedMetricSpecification"].(map[string]any)
				wantMetric := "DynamoDBWriteCapacityUtilization"
				if strings.HasSuffix(fmt.Sprint(r.Properties["ScalableDimension"]), "ReadCapacityUnits") {
					wantMetric = "DynamoDBReadCapacityUtilization"
				}
				if p.Condition != "ProvisionedTables" || p.Properties["PolicyType"] != "TargetTrackingScaling" ||
					cfg["TargetValue"] != 70.0 || metric["PredefinedMetricType"] != wantMetric {
					t.Errorf("policy of %s: condition %q, %v; want ProvisionedTables, TargetTrackingScaling at 70 on %s",
						id, p.Condition, p.Properties, wantMetric)
				}
			}
			if policies != 1 {
				t.Errorf("%s has %d scaling policies, want 1", id, policies)
			}
		case "AWS::ApplicationAutoScaling::ScalingPolicy":
			if r.Condition != "ProvisionedTables" {
				t.Errorf("%s: condition %q, want ProvisionedTables", id, r.Condition)
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("scalable targets:\n got %v\nwant %v", got, want)
	}
}
