package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/webhook"
)

// JobStore keeps the progress of background clears and recovers in the stats table, one item
// per job beside the daily counters: pk "j#<jobId>", sk "progress". Its attributes: kind,
// instanceId (absent for all instances), status, count, createdAt, updatedAt, runs (the string
// set of the runs counted) and expiresAt (TTL).
type JobStore struct {
	db        dynamo.Client
	table     string
	retention time.Duration
}

// NewJobStore returns a store over the stats table. A job's item expires retention after its
// last run.
func NewJobStore(db dynamo.Client, statsTable string, retention time.Duration) *JobStore {
	return &JobStore{db: db, table: statsTable, retention: retention}
}

const jobSortKey = "progress"

func jobKey(jobID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "j#" + jobID},
		"sk": &types.AttributeValueMemberS{Value: jobSortKey},
	}
}

// RecordRun adds what run r did to its job's progress, creating the item on the job's first
// run, in one conditional update: a run already counted (the same write sent twice) changes
// nothing. A run that is done marks the job complete; a later run never makes it running
// again.
func (s *JobStore) RecordRun(ctx context.Context, r webhook.JobRun) error {
	// Every name goes through ExpressionAttributeNames: status and count are reserved words.
	names := map[string]string{
		"#kind": "kind", "#created": "createdAt", "#updated": "updatedAt", "#exp": "expiresAt",
		"#status": "status", "#count": "count", "#runs": "runs",
	}
	values := map[string]types.AttributeValue{
		":kind":    &types.AttributeValueMemberS{Value: r.Kind},
		":created": &types.AttributeValueMemberS{Value: webhook.FormatTime(r.CreatedAt)},
		":at":      &types.AttributeValueMemberS{Value: webhook.FormatTime(r.At)},
		":exp":     number(r.At.Add(s.retention).Unix()),
		":n":       number(int64(r.Count)),
		":runs":    &types.AttributeValueMemberSS{Value: []string{r.Run}},
		":run":     &types.AttributeValueMemberS{Value: r.Run},
		":status":  &types.AttributeValueMemberS{Value: webhook.JobRunning},
	}
	sets := []string{"#kind = :kind", "#created = if_not_exists(#created, :created)", "#updated = :at", "#exp = :exp",
		"#status = if_not_exists(#status, :status)"}
	if r.Done {
		values[":status"] = &types.AttributeValueMemberS{Value: webhook.JobComplete}
		sets[len(sets)-1] = "#status = :status"
	}
	if r.InstanceID != "" {
		names["#inst"] = "instanceId"
		values[":inst"] = &types.AttributeValueMemberS{Value: r.InstanceID}
		sets = append(sets, "#inst = :inst")
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       jobKey(r.JobID),
		UpdateExpression:          aws.String("SET " + strings.Join(sets, ", ") + " ADD #count :n, #runs :runs"),
		ConditionExpression:       aws.String("attribute_not_exists(#runs) OR NOT contains(#runs, :run)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	switch {
	case err == nil, dynamo.ConditionFailed(err):
		return nil
	default:
		return fmt.Errorf("record run %s of job %s: %w", r.Run, r.JobID, err)
	}
}

// jobItem is a job's progress as stored.
type jobItem struct {
	Kind       string `dynamodbav:"kind"`
	InstanceID string `dynamodbav:"instanceId"`
	Status     string `dynamodbav:"status"`
	Count      int    `dynamodbav:"count"`
	CreatedAt  string `dynamodbav:"createdAt"`
	UpdatedAt  string `dynamodbav:"updatedAt"`
}

// Get returns a job's progress, read consistently, or a not_found error.
func (s *JobStore) Get(ctx context.Context, jobID string) (*webhook.JobProgress, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: jobKey(jobID), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#kind, #inst, #status, #count, #created, #updated"),
		ExpressionAttributeNames: map[string]string{
			"#kind": "kind", "#inst": "instanceId", "#status": "status", "#count": "count", "#created": "createdAt", "#updated": "updatedAt",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("get job %s: %w", jobID, err)
	}
	if out.Item == nil {
		return nil, webhook.Errorf(webhook.ENotFound, "jobId: no job %s; jobs are kept for the retention period", jobID)
	}
	var it jobItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode job %s: %w", jobID, err)
	}
	p := &webhook.JobProgress{JobID: jobID, Kind: it.Kind, InstanceID: it.InstanceID, Status: it.Status, Count: it.Count}
	if p.CreatedAt, err = time.Parse(time.RFC3339Nano, it.CreatedAt); err != nil {
		return nil, fmt.Errorf("decode job %s: createdAt: %w", jobID, err)
	}
	if p.UpdatedAt, err = time.Parse(time.RFC3339Nano, it.UpdatedAt); err != nil {
		return nil, fmt.Errorf("decode job %s: updatedAt: %w", jobID, err)
	}
	return p, nil
}
