package samtemplate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	cfnddb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	cfnsqs "github.com/awslabs/goformation/v7/cloudformation/sqs"
)

// DynamoDB is the part of *dynamodb.Client that provisioning uses.
type DynamoDB interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	DeleteTable(context.Context, *dynamodb.DeleteTableInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteTableOutput, error)
}

// SQS is the part of *sqs.Client that provisioning uses.
type SQS interface {
	CreateQueue(context.Context, *sqs.CreateQueueInput, ...func(*sqs.Options)) (*sqs.CreateQueueOutput, error)
	GetQueueUrl(context.Context, *sqs.GetQueueUrlInput, ...func(*sqs.Options)) (*sqs.GetQueueUrlOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	SetQueueAttributes(context.Context, *sqs.SetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.SetQueueAttributesOutput, error)
	DeleteQueue(context.Context, *sqs.DeleteQueueInput, ...func(*sqs.Options)) (*sqs.DeleteQueueOutput, error)
}

// tableActiveTimeout bounds the wait for a new table; AWS can take minutes to build indexes.
const tableActiveTimeout = 10 * time.Minute

// Names of both tables and queues keep to what SQS allows in a queue name, the narrower rule.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

const maxNameLen = 80

// Provision creates every AWS::DynamoDB::Table, AWS::SQS::Queue and AWS::S3::Bucket of the
// template, named <prefix>-<LogicalId> (buckets in lower case, see BucketName), and waits
// until the tables are ACTIVE. Tables and queues that already
// exist under those names are reused (queues get the template's attributes again), so a
// second run after an unclean stop succeeds. Other resource types are left to SAM.
func (t *Template) Provision(ctx context.Context, db DynamoDB, q SQS, b S3, prefix string) (*Resources, error) {
	tableIDs, tables := t.tables()
	buckets, err := t.buckets()
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	queueIDs, queues, err := t.queues()
	if err != nil {
		return nil, fmt.Errorf("provision: %w", err)
	}
	// Checked before creating anything, so a bad prefix leaves nothing half-made behind.
	if !namePattern.MatchString(prefix) {
		return nil, fmt.Errorf("provision: prefix %q: want letters, digits, - and _", prefix)
	}
	for _, id := range append(slices.Clone(tableIDs), queueIDs...) {
		if name := prefix + "-" + id; !namePattern.MatchString(name) || len(name) > maxNameLen {
			return nil, fmt.Errorf("provision: name %s: want at most %d letters, digits, - and _", name, maxNameLen)
		}
	}

	r := &Resources{Prefix: prefix, template: t, tables: map[string]table{}, queues: map[string]Queue{}, buckets: map[string]Bucket{}}
	for _, id := range tableIDs {
		tbl, err := provisionTable(ctx, db, prefix+"-"+id, tables[id])
		if err != nil {
			return nil, err
		}
		r.tables[id] = tbl
	}

	for _, id := range queueIDs {
		qu, err := r.provisionQueue(ctx, q, id, queues[id])
		if err != nil {
			return nil, err
		}
		r.queues[id] = qu
	}
	if err := r.provisionBuckets(ctx, b, buckets); err != nil {
		return nil, err
	}
	return r, nil
}

func provisionTable(ctx context.Context, db DynamoDB, name string, spec *cfnddb.Table) (table, error) {
	_, err := db.CreateTable(ctx, createTableInput(name, spec))
	var inUse *ddbtypes.ResourceInUseException
	switch {
	case errors.As(err, &inUse):
		slog.DebugContext(ctx, "table exists, reusing it", "table", name)
	case err != nil:
		return table{}, fmt.Errorf("create table %s: %w", name, err)
	default:
		slog.DebugContext(ctx, "created table", "table", name)
	}

	waiter := dynamodb.NewTableExistsWaiter(db, func(o *dynamodb.TableExistsWaiterOptions) {
		// The defaults (20 s first delay) are sized for AWS; local endpoints are ACTIVE at once.
		o.MinDelay = 200 * time.Millisecond
		o.MaxDelay = 5 * time.Second
	})
	out, err := waiter.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: &name}, tableActiveTimeout)
	if err != nil {
		return table{}, fmt.Errorf("wait for table %s to be active: %w", name, err)
	}

	if ttl := spec.TimeToLiveSpecification; ttl != nil && ttl.Enabled {
		if err := enableTTL(ctx, db, name, aws.ToString(ttl.AttributeName)); err != nil {
			return table{}, err
		}
	}
	return table{name: name, arn: aws.ToString(out.Table.TableArn), streamARN: aws.ToString(out.Table.LatestStreamArn)}, nil
}

// createTableInput maps the properties that shape how code uses a table. Encryption, backups,
// tags and deletion protection change nothing for a local endpoint and are left out.
func createTableInput(name string, spec *cfnddb.Table) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName:             &name,
		KeySchema:             keySchema(spec.KeySchema),
		BillingMode:           ddbtypes.BillingMode(aws.ToString(spec.BillingMode)),
		ProvisionedThroughput: throughput(spec.ProvisionedThroughput),
	}
	if st := spec.StreamSpecification; st != nil {
		in.StreamSpecification = &ddbtypes.StreamSpecification{
			StreamEnabled: aws.Bool(true), StreamViewType: ddbtypes.StreamViewType(st.StreamViewType),
		}
	}
	for _, a := range spec.AttributeDefinitions {
		in.AttributeDefinitions = append(in.AttributeDefinitions, ddbtypes.AttributeDefinition{
			AttributeName: aws.String(a.AttributeName),
			AttributeType: ddbtypes.ScalarAttributeType(a.AttributeType),
		})
	}
	for _, g := range spec.GlobalSecondaryIndexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, ddbtypes.GlobalSecondaryIndex{
			IndexName:             aws.String(g.IndexName),
			KeySchema:             keySchema(g.KeySchema),
			Projection:            projection(g.Projection),
			ProvisionedThroughput: throughput(g.ProvisionedThroughput),
		})
	}
	for _, l := range spec.LocalSecondaryIndexes {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, ddbtypes.LocalSecondaryIndex{
			IndexName:  aws.String(l.IndexName),
			KeySchema:  keySchema(l.KeySchema),
			Projection: projection(l.Projection),
		})
	}
	return in
}

func keySchema(keys []cfnddb.Table_KeySchema) []ddbtypes.KeySchemaElement {
	out := make([]ddbtypes.KeySchemaElement, 0, len(keys))
	for _, k := range keys {
		out = append(out, ddbtypes.KeySchemaElement{
			AttributeName: aws.String(k.AttributeName),
			KeyType:       ddbtypes.KeyType(k.KeyType),
		})
	}
	return out
}

func projection(p *cfnddb.Table_Projection) *ddbtypes.Projection {
	if p == nil {
		return &ddbtypes.Projection{ProjectionType: ddbtypes.ProjectionTypeAll}
	}
	return &ddbtypes.Projection{
		ProjectionType:   ddbtypes.ProjectionType(aws.ToString(p.ProjectionType)),
		NonKeyAttributes: p.NonKeyAttributes,
	}
}

func throughput(p *cfnddb.Table_ProvisionedThroughput) *ddbtypes.ProvisionedThroughput {
	if p == nil {
		return nil
	}
	return &ddbtypes.ProvisionedThroughput{
		ReadCapacityUnits:  aws.Int64(int64(p.ReadCapacityUnits)),
		WriteCapacityUnits: aws.Int64(int64(p.WriteCapacityUnits)),
	}
}

// enableTTL turns TTL on unless it already is: DynamoDB rejects enabling it twice.
func enableTTL(ctx context.Context, db DynamoDB, table, attr string) error {
	out, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err != nil {
		return fmt.Errorf("describe time to live of table %s: %w", table, err)
	}
	if d := out.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attr &&
		(d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled || d.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &table,
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: &attr, Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable time to live on table %s: %w", table, err)
	}
	return nil
}

func (r *Resources) provisionQueue(ctx context.Context, q SQS, id string, spec *cfnsqs.Queue) (Queue, error) {
	name := r.Prefix + "-" + id
	if aws.ToBool(spec.FifoQueue) {
		return Queue{}, fmt.Errorf("create queue %s: FIFO queues are not supported yet", name)
	}
	attrs, err := r.queueAttributes(spec)
	if err != nil {
		return Queue{}, fmt.Errorf("create queue %s: %w", name, err)
	}

	url, err := createQueue(ctx, q, name, attrs)
	if err != nil {
		return Queue{}, err
	}
	out, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       &url,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll},
	})
	if err != nil {
		return Queue{}, fmt.Errorf("get attributes of queue %s: %w", name, err)
	}
	qu, err := r.queueFromAttributes(out.Attributes)
	if err != nil {
		return Queue{}, fmt.Errorf("read attributes of queue %s: %w", name, err)
	}
	qu.LogicalID, qu.Name, qu.URL = id, name, url
	return qu, nil
}

// createQueue creates the queue or, when one of that name exists with other attributes, gives
// it the template's attributes.
func createQueue(ctx context.Context, q SQS, name string, attrs map[string]string) (string, error) {
	out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: &name, Attributes: attrs})
	if err == nil {
		slog.DebugContext(ctx, "queue ready", "queue", name)
		return aws.ToString(out.QueueUrl), nil
	}
	if !queueExists(err) {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	got, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: &name})
	if err != nil {
		return "", fmt.Errorf("get url of existing queue %s: %w", name, err)
	}
	if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: got.QueueUrl, Attributes: attrs}); err != nil {
		return "", fmt.Errorf("update attributes of existing queue %s: %w", name, err)
	}
	slog.DebugContext(ctx, "queue exists, updated its attributes", "queue", name)
	return aws.ToString(got.QueueUrl), nil
}

// queueExists recognises both AWS's modelled error and moto's query-protocol code for it.
func queueExists(err error) bool {
	var exists *sqstypes.QueueNameExists
	var apiErr smithy.APIError
	return errors.As(err, &exists) || errors.As(err, &apiErr) && apiErr.ErrorCode() == "QueueAlreadyExists"
}

func (r *Resources) queueAttributes(spec *cfnsqs.Queue) (map[string]string, error) {
	attrs := map[string]string{}
	for name, v := range map[sqstypes.QueueAttributeName]*int{
		sqstypes.QueueAttributeNameVisibilityTimeout:             spec.VisibilityTimeout,
		sqstypes.QueueAttributeNameMessageRetentionPeriod:        spec.MessageRetentionPeriod,
		sqstypes.QueueAttributeNameDelaySeconds:                  spec.DelaySeconds,
		sqstypes.QueueAttributeNameMaximumMessageSize:            spec.MaximumMessageSize,
		sqstypes.QueueAttributeNameReceiveMessageWaitTimeSeconds: spec.ReceiveMessageWaitTimeSeconds,
	} {
		if v != nil {
			attrs[string(name)] = strconv.Itoa(*v)
		}
	}
	if spec.RedrivePolicy != nil {
		policy, err := r.resolveValue(spec.RedrivePolicy)
		if err != nil {
			return nil, fmt.Errorf("redrive policy: %w", err)
		}
		// CloudFormation takes the policy as an object or as its JSON text.
		text, ok := policy.(string)
		if !ok {
			b, err := json.Marshal(policy)
			if err != nil {
				return nil, fmt.Errorf("encode redrive policy: %w", err)
			}
			text = string(b)
		}
		attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)] = text
	}
	return attrs, nil
}

// queueFromAttributes reads the settings the queue really has, so defaults the template leaves
// out (VisibilityTimeout 30 s) are known too.
func (r *Resources) queueFromAttributes(attrs map[string]string) (Queue, error) {
	qu := Queue{ARN: attrs[string(sqstypes.QueueAttributeNameQueueArn)]}
	var err error
	if qu.VisibilityTimeout, err = seconds(attrs, sqstypes.QueueAttributeNameVisibilityTimeout); err != nil {
		return Queue{}, err
	}
	if qu.MessageRetentionPeriod, err = seconds(attrs, sqstypes.QueueAttributeNameMessageRetentionPeriod); err != nil {
		return Queue{}, err
	}
	text, ok := attrs[string(sqstypes.QueueAttributeNameRedrivePolicy)]
	if !ok || text == "" {
		return qu, nil
	}
	var policy struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     any    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(text), &policy); err != nil {
		return Queue{}, fmt.Errorf("redrive policy %q: %w", text, err)
	}
	// maxReceiveCount comes back as a number or as a string depending on the service.
	n, err := strconv.Atoi(fmt.Sprint(policy.MaxReceiveCount))
	if err != nil {
		return Queue{}, fmt.Errorf("redrive policy %q: maxReceiveCount: %w", text, err)
	}
	qu.MaxReceiveCount = n
	for id, dlq := range r.queues {
		if dlq.ARN == policy.DeadLetterTargetArn {
			qu.DeadLetterQueue = id
		}
	}
	return qu, nil
}

func seconds(attrs map[string]string, name sqstypes.QueueAttributeName) (time.Duration, error) {
	n, err := strconv.Atoi(attrs[string(name)])
	if err != nil {
		return 0, fmt.Errorf("%s %q: %w", name, attrs[string(name)], err)
	}
	return time.Duration(n) * time.Second, nil
}
