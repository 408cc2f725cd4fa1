package samtemplate_test

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	cfnddb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/samtemplate"
)

func TestMain(m *testing.M) { awstest.Main(m) }

type clients struct {
	db *dynamodb.Client
	q  *sqs.Client
	s3 *s3.Client
}

func setup(t *testing.T) (*samtemplate.Template, clients) {
	t.Helper()
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	cfg := awstest.Config(t)
	return tpl, clients{db: dynamodb.NewFromConfig(cfg), q: sqs.NewFromConfig(cfg), s3: s3.NewFromConfig(cfg)}
}

func provision(t *testing.T, tpl *samtemplate.Template, c clients, prefix string) *samtemplate.Resources {
	t.Helper()
	res, err := tpl.Provision(context.Background(), c.db, c.q, c.s3, prefix)
	if err != nil {
		t.Fatalf("Provision(%s): %v", prefix, err)
	}
	t.Cleanup(func() {
		if err := res.Delete(context.Background(), c.db, c.q, c.s3); err != nil {
			t.Error(err)
		}
	})
	return res
}

// Every table of the template must exist with its keys, indexes and TTL, as the code relies
// on them; the comparison is against the template so it follows the template's changes.
func TestProvisionTables(t *testing.T) {
	t.Parallel()
	tpl, c := setup(t)
	res := provision(t, tpl, c, awstest.Prefix(t))
	ctx := context.Background()

	var withIndexes, withTTL int
	for id, spec := range tpl.CloudFormation().GetAllDynamoDBTableResources() {
		t.Run(id, func(t *testing.T) {
			name := res.Table(id)
			if want := res.Prefix + "-" + id; name != want {
				t.Errorf("table name = %s, want %s", name, want)
			}
			out, err := c.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
			if err != nil {
				t.Fatalf("describe table: %v", err)
			}
			got := out.Table
			if got.TableStatus != ddbtypes.TableStatusActive {
				t.Errorf("status = %s, want ACTIVE", got.TableStatus)
			}
			if !slices.Equal(keys(got.KeySchema), specKeys(spec.KeySchema)) {
				t.Errorf("key schema = %v, want %v", keys(got.KeySchema), specKeys(spec.KeySchema))
			}
			if got.BillingModeSummary == nil || string(got.BillingModeSummary.BillingMode) != aws.ToString(spec.BillingMode) {
				t.Errorf("billing mode = %+v, want %s", got.BillingModeSummary, aws.ToString(spec.BillingMode))
			}
			// The template's defaults (TableCapacityMode=on-demand) are what the local stack and
			// the tests get: every table on demand.
			if b := aws.ToString(spec.BillingMode); b != string(ddbtypes.BillingModePayPerRequest) {
				t.Errorf("template billing mode = %q, want PAY_PER_REQUEST with the default parameters", b)
			}

			gotIndexes := map[string]ddbtypes.GlobalSecondaryIndexDescription{}
			for _, g := range got.GlobalSecondaryIndexes {
				gotIndexes[aws.ToString(g.IndexName)] = g
			}
			if len(gotIndexes) != len(spec.GlobalSecondaryIndexes) {
				t.Errorf("indexes = %v, want %d", slices.Sorted(maps.Keys(gotIndexes)), len(spec.GlobalSecondaryIndexes))
			}
			for _, want := range spec.GlobalSecondaryIndexes {
				g, ok := gotIndexes[want.IndexName]
				if !ok {
					t.Errorf("index %s missing", want.IndexName)
					continue
				}
				if !slices.Equal(keys(g.KeySchema), specKeys(want.KeySchema)) {
					t.Errorf("index %s keys = %v, want %v", want.IndexName, keys(g.KeySchema), specKeys(want.KeySchema))
				}
				if string(g.Projection.ProjectionType) != aws.ToString(want.Projection.ProjectionType) {
					t.Errorf("index %s projection = %s, want %s", want.IndexName, g.Projection.ProjectionType, aws.ToString(want.Projection.ProjectionType))
				}
			}

			ttl, err := c.db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
			if err != nil {
				t.Fatalf("describe time to live: %v", err)
			}
			wantTTL := spec.TimeToLiveSpecification != nil && spec.TimeToLiveSpecification.Enabled
			gotTTL := ttl.TimeToLiveDescription.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled
			if gotTTL != wantTTL {
				t.Errorf("TTL status = %s, want enabled = %t", ttl.TimeToLiveDescription.TimeToLiveStatus, wantTTL)
			}
			if wantTTL && aws.ToString(ttl.TimeToLiveDescription.AttributeName) != aws.ToString(spec.TimeToLiveSpecification.AttributeName) {
				t.Errorf("TTL attribute = %s, want %s", aws.ToString(ttl.TimeToLiveDescription.AttributeName), aws.ToString(spec.TimeToLiveSpecification.AttributeName))
			}
		})
		if len(spec.GlobalSecondaryIndexes) > 0 {
			withIndexes++
		}
		if spec.TimeToLiveSpecification != nil {
			withTTL++
		}
	}
	// Guards the comparison above against a template that no longer exercises it.
	if withIndexes == 0 || withTTL == 0 {
		t.Errorf("template has %d tables with indexes and %d with TTL; this test expects both", withIndexes, withTTL)
	}
}

func keys(ks []ddbtypes.KeySchemaElement) []string {
	var out []string
	for _, k := range ks {
		out = append(out, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
	}
	return out
}

func specKeys(ks []cfnddb.Table_KeySchema) []string {
	var out []string
	for _, k := range ks {
		out = append(out, k.AttributeName+" "+k.KeyType)
	}
	return out
}

func TestProvisionQueues(t *testing.T) {
	t.Parallel()
	tpl, c := setup(t)
	res := provision(t, tpl, c, awstest.Prefix(t))

	tests := []struct {
		id                string
		visibilityTimeout time.Duration
		retention         time.Duration
		maxReceiveCount   int
		deadLetterQueue   string
	}{
		{id: "EventsQueue", visibilityTimeout: 180 * time.Second, retention: 4 * 24 * time.Hour, maxReceiveCount: 10, deadLetterQueue: "EventsDeadLetterQueue"},
		// The template leaves the visibility timeout to SQS's default.
		{id: "EventsDeadLetterQueue", visibilityTimeout: 30 * time.Second, retention: 14 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			q := res.Queue(tt.id)
			if q.LogicalID != tt.id || q.Name != res.Prefix+"-"+tt.id || q.URL != res.QueueURL(tt.id) || q.ARN == "" {
				t.Errorf("queue = %+v, want logical id %s, name %s-%s, its URL and an ARN", q, tt.id, res.Prefix, tt.id)
			}
			if q.VisibilityTimeout != tt.visibilityTimeout || q.MessageRetentionPeriod != tt.retention {
				t.Errorf("visibility timeout, retention = %s, %s; want %s, %s", q.VisibilityTimeout, q.MessageRetentionPeriod, tt.visibilityTimeout, tt.retention)
			}
			if q.MaxReceiveCount != tt.maxReceiveCount || q.DeadLetterQueue != tt.deadLetterQueue {
				t.Errorf("max receive count, dead-letter queue = %d, %q; want %d, %q", q.MaxReceiveCount, q.DeadLetterQueue, tt.maxReceiveCount, tt.deadLetterQueue)
			}

			// What the service itself holds, not only what Provision reports.
			out, err := c.q.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
				QueueUrl:       &q.URL,
				AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
			})
			if err != nil {
				t.Fatalf("get queue attributes: %v", err)
			}
			if got, want := out.Attributes["VisibilityTimeout"], strconv.Itoa(int(tt.visibilityTimeout.Seconds())); got != want {
				t.Errorf("VisibilityTimeout attribute = %s, want %s", got, want)
			}
			policy := out.Attributes["RedrivePolicy"]
			if tt.deadLetterQueue == "" {
				if policy != "" {
					t.Errorf("RedrivePolicy = %s, want none", policy)
				}
				return
			}
			var p struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			}
			if err := json.Unmarshal([]byte(policy), &p); err != nil {
				t.Fatalf("RedrivePolicy %q: %v", policy, err)
			}
			if want := res.Queue(tt.deadLetterQueue).ARN; p.DeadLetterTargetArn != want {
				t.Errorf("RedrivePolicy target = %s, want the dead-letter queue's ARN %s", p.DeadLetterTargetArn, want)
			}
		})
	}
}

// A message received more than maxReceiveCount times must land in the dead-letter queue, as
// delivery relies on it.
func TestProvisionRedrives(t *testing.T) {
	t.Parallel()
	tpl, c := setup(t)
	res := provision(t, tpl, c, awstest.Prefix(t))
	ctx := context.Background()
	q := res.Queue("EventsQueue")

	if _, err := c.q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.URL, MessageBody: aws.String("poison")}); err != nil {
		t.Fatalf("send: %v", err)
	}
	// Each receive counts; making the message visible again at once is how delivery retries.
	for range q.MaxReceiveCount {
		out, err := c.q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &q.URL, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if len(out.Messages) != 1 {
			t.Fatalf("received %d messages, want 1", len(out.Messages))
		}
		_, err = c.q.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl: &q.URL, ReceiptHandle: out.Messages[0].ReceiptHandle, VisibilityTimeout: 0,
		})
		if err != nil {
			t.Fatalf("change visibility: %v", err)
		}
	}
	dlq := res.QueueURL(q.DeadLetterQueue)
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The receive past maxReceiveCount is what moves the message.
		if _, err := c.q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &q.URL}); err != nil {
			t.Fatalf("receive: %v", err)
		}
		out, err := c.q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: &dlq, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatalf("receive from dead-letter queue: %v", err)
		}
		if len(out.Messages) == 1 && aws.ToString(out.Messages[0].Body) == "poison" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("message never reached the dead-letter queue")
		}
	}
}

func TestEnv(t *testing.T) {
	t.Parallel()
	tpl, c := setup(t)
	res := provision(t, tpl, c, awstest.Prefix(t))
	env, err := res.Env("WebhookDeliveryFunction")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"WEBHOOK_LOG_TABLE":   res.Table("WebhookLogTable"),
		"WEBHOOK_STATS_TABLE": res.Table("WebhookStatsTable"),
		"INSTANCES_TABLE":     res.Table("InstancesTable"),
		"EVENTS_QUEUE_URL":    res.QueueURL("EventsQueue"),
	}
	for key, want := range tests {
		if env[key] != want {
			t.Errorf("Env(WebhookDeliveryFunction)[%s] = %q, want %q", key, env[key], want)
		}
	}
}

// A second run with the same prefix, as after an unclean stop of the local stack, reuses what
// exists.
func TestProvisionTwice(t *testing.T) {
	t.Parallel()
	tpl, c := setup(t)
	prefix := awstest.Prefix(t)
	first := provision(t, tpl, c, prefix)
	second := provision(t, tpl, c, prefix)
	firstEnv, err1 := first.Env("WebhookDeliveryFunction")
	secondEnv, err2 := second.Env("WebhookDeliveryFunction")
	if err1 != nil || err2 != nil || !maps.Equal(firstEnv, secondEnv) {
		t.Errorf("second run env = %v (%v), want %v (%v)", secondEnv, err2, firstEnv, err1)
	}
	if first.Queue("EventsQueue") != second.Queue("EventsQueue") {
		t.Errorf("second run queue = %+v, want %+v", second.Queue("EventsQueue"), first.Queue("EventsQueue"))
	}
}

// A queue left with other attributes (an older template) gets the template's again.
func TestProvisionUpdatesExistingQueue(t *testing.T) {
	t.Parallel()
	tpl, c := setup(t)
	prefix := awstest.Prefix(t)
	_, err := c.q.CreateQueue(context.Background(), &sqs.CreateQueueInput{
		QueueName:  aws.String(prefix + "-EventsQueue"),
		Attributes: map[string]string{"VisibilityTimeout": "5"},
	})
	if err != nil {
		t.Fatalf("create queue: %v", err)
	}
	q := provision(t, tpl, c, prefix).Queue("EventsQueue")
	if q.VisibilityTimeout != 180*time.Second || q.DeadLetterQueue != "EventsDeadLetterQueue" {
		t.Errorf("queue = %+v, want the template's visibility timeout and dead-letter queue", q)
	}
}

func TestProvisionRejectsBadPrefix(t *testing.T) {
	t.Parallel()
	tpl, c := setup(t)
	for _, prefix := range []string{"", "has space", strings.Repeat("x", 60)} {
		if _, err := tpl.Provision(context.Background(), c.db, c.q, c.s3, prefix); err == nil {
			t.Errorf("Provision(%q) succeeded, want an error", prefix)
		}
	}
}

// The template with TableCapacityMode=provisioned still provisions: the log table and its
// indexes get the minimum capacities as their throughput (auto scaling is left to AWS).
func TestProvisionProvisionedMode(t *testing.T) {
	t.Parallel()
	path, err := samtemplate.TemplatePath()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	provisioned := filepath.Join(t.TempDir(), "template.yaml")
	yaml := strings.Replace(string(data), "    Default: on-demand\n", "    Default: provisioned\n", 1)
	if err := os.WriteFile(provisioned, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(provisioned)
	if err != nil {
		t.Fatal(err)
	}
	_, c := setup(t)
	res := provision(t, tpl, c, awstest.Prefix(t))
	out, err := c.db.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(res.Table("WebhookLogTable"))})
	if err != nil {
		t.Fatal(err)
	}
	if out.Table.BillingModeSummary != nil && out.Table.BillingModeSummary.BillingMode != ddbtypes.BillingModeProvisioned {
		t.Errorf("billing mode = %s, want PROVISIONED", out.Table.BillingModeSummary.BillingMode)
	}
	if pt := out.Table.ProvisionedThroughput; pt == nil || aws.ToInt64(pt.WriteCapacityUnits) != 5 || aws.ToInt64(pt.ReadCapacityUnits) != 5 {
		t.Errorf("table throughput = %+v, want 5 reads and 5 writes (the minimums' defaults)", pt)
	}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		if pt := g.ProvisionedThroughput; pt == nil || aws.ToInt64(pt.WriteCapacityUnits) != 5 {
			t.Errorf("index %s throughput = %+v, want 5 writes", aws.ToString(g.IndexName), pt)
		}
	}
}

// The media bucket exists, encrypted, with public access blocked and its objects expiring
// after the retention the template's parameter gives.
func TestProvisionBuckets(t *testing.T) {
	t.Parallel()
	tpl, c := setup(t)
	res := provision(t, tpl, c, awstest.Prefix(t))
	b := res.Bucket("MediaBucket")
	ctx := context.Background()
	enc, err := c.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: &b.Name})
	if err != nil {
		t.Fatal(err)
	}
	if r := enc.ServerSideEncryptionConfiguration.Rules; len(r) != 1 || r[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
		t.Errorf("encryption %+v, want AES256", r)
	}
	pab, err := c.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: &b.Name})
	if err != nil {
		t.Fatal(err)
	}
	if p := pab.PublicAccessBlockConfiguration; !aws.ToBool(p.BlockPublicAcls) || !aws.ToBool(p.BlockPublicPolicy) || !aws.ToBool(p.IgnorePublicAcls) || !aws.ToBool(p.RestrictPublicBuckets) {
		t.Errorf("public access block %+v, want all four set", p)
	}
	lc, err := c.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: &b.Name})
	if err != nil {
		t.Fatal(err)
	}
	if len(lc.Rules) != 1 || lc.Rules[0].Expiration == nil || aws.ToInt32(lc.Rules[0].Expiration.Days) != 30 || b.ExpirationDays != 30 {
		t.Errorf("lifecycle %+v (ExpirationDays %d), want objects expiring after RetentionDays' 30 days", lc.Rules, b.ExpirationDays)
	}
	arn, err := res.Resolve(samtemplate.GetAttMarker("MediaBucket", "Arn"))
	if err != nil || arn != "arn:aws:s3:::"+b.Name {
		t.Errorf("MediaBucket.Arn = %q, %v", arn, err)
	}
}

func TestBucketName(t *testing.T) {
	for _, tc := range []struct{ prefix, id, want string }{
		{"wagate-dev", "MediaBucket", "wagate-dev-mediabucket"},
		{"t-Test_X-ab", "MediaBucket", "t-test-x-ab-mediabucket"},
	} {
		if got := samtemplate.BucketName(tc.prefix, tc.id); got != tc.want {
			t.Errorf("BucketName(%q, %q) = %q, want %q", tc.prefix, tc.id, got, tc.want)
		}
	}
	long := samtemplate.BucketName(strings.Repeat("a", 80), "MediaBucket")
	if len(long) > 63 || long == samtemplate.BucketName(strings.Repeat("a", 81), "MediaBucket") {
		t.Errorf("long names: %q (%d), want at most 63 and distinct", long, len(long))
	}
}
