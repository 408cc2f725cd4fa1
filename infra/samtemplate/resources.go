package samtemplate

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// Resources are the tables and queues that Provision created, by the template's logical ids.
type Resources struct {
	// Prefix starts every table and queue name: <Prefix>-<LogicalId>.
	Prefix string

	template *Template
	tables   map[string]table
	queues   map[string]Queue
	buckets  map[string]Bucket
}

type table struct {
	name, arn, streamARN string
}

// Queue is a provisioned queue with the settings it really has.
type Queue struct {
	LogicalID string
	Name      string
	URL       string
	ARN       string

	VisibilityTimeout      time.Duration
	MessageRetentionPeriod time.Duration
	// MaxReceiveCount and DeadLetterQueue (a logical id) come from the redrive policy; they are
	// zero for a queue without one.
	MaxReceiveCount int
	DeadLetterQueue string
}

// Table returns the name of the table with the given logical id. Logical ids are constants
// in the calling code, so an unknown one is a bug and panics.
func (r *Resources) Table(logicalID string) string {
	t, ok := r.tables[logicalID]
	if !ok {
		panic(fmt.Sprintf("samtemplate: no table %q in the template", logicalID))
	}
	return t.name
}

// StreamARN returns the ARN of the stream of the table with the given logical id ("" when
// the template gives the table none); an unknown id panics as in Table.
func (r *Resources) StreamARN(logicalID string) string {
	t, ok := r.tables[logicalID]
	if !ok {
		panic(fmt.Sprintf("samtemplate: no table %q in the template", logicalID))
	}
	return t.streamARN
}

// Queue returns the queue with the given logical id; an unknown id panics as in Table.
func (r *Resources) Queue(logicalID string) Queue {
	q, ok := r.queues[logicalID]
	if !ok {
		panic(fmt.Sprintf("samtemplate: no queue %q in the template", logicalID))
	}
	return q
}

// QueueURL returns the URL of the queue with the given logical id.
func (r *Resources) QueueURL(logicalID string) string {
	return r.Queue(logicalID).URL
}

// Env returns the environment the template gives a function or task definition (see
// Template.Env) as it would see it deployed: !Ref of a table is its name, of a queue its URL,
// of a parameter its default.
func (r *Resources) Env(logicalID string) (map[string]string, error) {
	vars, err := r.template.Env(logicalID)
	if err != nil {
		return nil, err
	}
	for k, v := range vars {
		if vars[k], err = r.Resolve(v); err != nil {
			return nil, fmt.Errorf("%s's environment variable %s: %w", logicalID, k, err)
		}
	}
	return vars, nil
}

// Resolve turns a reference to a template resource, as found in Template.CloudFormation,
// into its provisioned value: Ref gives a table's name or a queue's URL; GetAtt supports Arn,
// and QueueName and QueueUrl of queues. Other strings come back unchanged.
func (r *Resources) Resolve(s string) (string, error) {
	id, attr, ok := parseMarker(s)
	if !ok {
		return s, nil
	}
	if t, ok := r.tables[id]; ok {
		switch attr {
		case "":
			return t.name, nil
		case "Arn":
			return t.arn, nil
		}
	}
	if q, ok := r.queues[id]; ok {
		switch attr {
		case "", "QueueUrl":
			return q.URL, nil
		case "Arn":
			return q.ARN, nil
		case "QueueName":
			return q.Name, nil
		}
	}
	if b, ok := r.buckets[id]; ok {
		switch attr {
		case "":
			return b.Name, nil
		case "Arn":
			return "arn:aws:s3:::" + b.Name, nil
		}
	}
	if attr == "" {
		return "", fmt.Errorf("resolve !Ref %s: not a provisioned table or queue", id)
	}
	return "", fmt.Errorf("resolve !GetAtt %s.%s: not a provisioned table or queue attribute", id, attr)
}

// resolveValue resolves the references anywhere inside a parsed property value.
func (r *Resources) resolveValue(v any) (any, error) {
	switch v := v.(type) {
	case string:
		return r.Resolve(v)
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			var err error
			if out[k], err = r.resolveValue(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			var err error
			if out[i], err = r.resolveValue(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return v, nil
	}
}

// Delete removes the tables, queues and buckets (with their objects), e.g. when a test ends
// on a long-lived endpoint. Ones already gone are fine.
func (r *Resources) Delete(ctx context.Context, db DynamoDB, q SQS, b S3) error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(r.buckets)) {
		if err := deleteBucket(ctx, b, r.buckets[id].Name); err != nil {
			errs = append(errs, err)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.queues)) {
		url := r.queues[id].URL
		_, err := q.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: &url})
		var gone *sqstypes.QueueDoesNotExist
		if err != nil && !errors.As(err, &gone) {
			errs = append(errs, fmt.Errorf("delete queue %s: %w", r.queues[id].Name, err))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(r.tables)) {
		name := r.tables[id].name
		_, err := db.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: &name})
		var gone *ddbtypes.ResourceNotFoundException
		if err != nil && !errors.As(err, &gone) {
			errs = append(errs, fmt.Errorf("delete table %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
