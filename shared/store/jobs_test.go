package store_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// The progress of a job follows its runs: each run's count once however often it is
// recorded, complete once a run is done and never running again, and kept for the retention
// period after the last run.
func TestJobProgressCountsEachRunOnce(t *testing.T) {
	res := awstest.Stack(t)
	db := dynamodb.NewFromConfig(awstest.Config(t))
	table := res.Table("WebhookStatsTable")
	jobs := store.NewJobStore(db, table, 30*24*time.Hour)
	ctx := context.Background()
	created := time.Now().UTC().Truncate(time.Millisecond)
	id := webhook.NewJobID(created)
	run := func(name string, n int, done bool, at time.Time) {
		t.Helper()
		if err := jobs.RecordRun(ctx, webhook.JobRun{
			JobID: id, Kind: "recover", InstanceID: "inst_j", CreatedAt: created, Run: name, Count: n, Done: done, At: at,
		}); err != nil {
			t.Fatal(err)
		}
	}
	steps := []struct {
		name       string
		run        string
		n          int
		done       bool
		wantCount  int
		wantStatus string
	}{
		{"the request's share", "request", 100, false, 100, webhook.JobRunning},
		{"the same write again", "request", 100, false, 100, webhook.JobRunning},
		{"a run", "m1#1", 250, false, 350, webhook.JobRunning},
		{"the same run recorded twice", "m1#1", 250, false, 350, webhook.JobRunning},
		{"the message handled again", "m1#2", 30, false, 380, webhook.JobRunning},
		{"the last run", "m2#1", 20, true, 400, webhook.JobComplete},
		{"a late run of another copy", "m3#1", 0, false, 400, webhook.JobComplete},
	}
	at := created
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			at = at.Add(time.Second)
			run(st.run, st.n, st.done, at)
			p, err := jobs.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			want := webhook.JobProgress{JobID: id, Kind: "recover", InstanceID: "inst_j", Status: st.wantStatus, Count: st.wantCount, CreatedAt: created}
			p.UpdatedAt = time.Time{}
			if *p != want {
				t.Fatalf("progress %+v, want %+v", *p, want)
			}
		})
	}
	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &table, Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "j#" + id}, "sk": &types.AttributeValueMemberS{Value: "progress"},
	}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	exp, ok := out.Item["expiresAt"].(*types.AttributeValueMemberN)
	if want := at.Add(30 * 24 * time.Hour).Unix(); !ok || exp.Value != strconv.FormatInt(want, 10) {
		t.Fatalf("expiresAt %v, want %d: the retention after the last run", out.Item["expiresAt"], want)
	}
	if _, err := jobs.Get(ctx, webhook.NewJobID(time.Now())); webhook.ErrorCode(err) != webhook.ENotFound {
		t.Fatalf("unknown job: %v", err)
	}
}
