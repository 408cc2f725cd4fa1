package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// lostAnswers is SDK middleware that lets the first try of every PutItem reach DynamoDB and
// then loses its answer, as a connection closed mid-response does: the SDK sends the put
// again, and that try finds the condition the first one made false. The moto server does this
// now and then on its own (it failed a recover of 1,500 webhooks by one in CI); real DynamoDB
// can too.
type lostAnswers struct {
	mu   sync.Mutex
	lost int
}

type tryCount struct{}

func (l *lostAnswers) register(stack *middleware.Stack) error {
	err := stack.Initialize.Add(middleware.InitializeMiddlewareFunc("countTries",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			return next.HandleInitialize(context.WithValue(ctx, tryCount{}, new(int)), in)
		}), middleware.Before)
	if err != nil {
		return err
	}
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("loseAnswers",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			tries := ctx.Value(tryCount{}).(*int)
			*tries++
			if err != nil || awsmiddleware.GetOperationName(ctx) != "PutItem" || *tries > 1 {
				return out, md, err
			}
			l.mu.Lock()
			l.lost++
			l.mu.Unlock()
			return out, md, errors.New("read tcp 127.0.0.1:40000->127.0.0.1:5000: use of closed network connection")
		}), middleware.Before)
}

func (l *lostAnswers) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// A conditional put applied on a try whose answer was lost is a success, not a conflict: a
// recover that took it for one left the webhook retrying with nothing queued, and a delivery
// would have POSTed again. Another writer's change is still a conflict.
func TestPutsAppliedBeforeTheirAnswerWasLost(t *testing.T) {
	res := awstest.Stack(t)
	ctx := context.Background()
	lossy := &lostAnswers{}
	cfg := awstest.Config(t)
	cfg.APIOptions = append(cfg.APIOptions, lossy.register)
	db := dynamodb.NewFromConfig(cfg)
	logs := store.NewLogStore(db, res.Table("WebhookLogTable"), res.Table("WebhookStatsTable"), 30*24*time.Hour)
	plainDB := dynamodb.NewFromConfig(awstest.Config(t))
	plain := store.NewLogStore(plainDB, res.Table("WebhookLogTable"), res.Table("WebhookStatsTable"), 30*24*time.Hour)

	t.Run("a new log", func(t *testing.T) {
		l := newLog("inst_lost", webhook.StatusRetrying)
		before := lossy.count()
		if err := logs.Save(ctx, nil, l); err != nil {
			t.Fatalf("Save = %v, want success", err)
		}
		if lossy.count() != before+1 {
			t.Fatal("no answer was lost: the test tests nothing")
		}
		if got, err := logs.Get(ctx, l.WebhookID); err != nil || got.Version != 1 || l.Version != 1 {
			t.Fatalf("Get = %+v, %v; saved version %d", got, err, l.Version)
		}
		// Another new log with the same id is still refused.
		if err := logs.Save(ctx, nil, newLogWithID(l.WebhookID)); webhook.ErrorCode(err) != webhook.EConflict {
			t.Fatalf("a second create = %v, want a conflict", err)
		}
	})

	t.Run("a change", func(t *testing.T) {
		prev := newLog("inst_lost", webhook.StatusFailed)
		if err := plain.Save(ctx, nil, prev); err != nil {
			t.Fatal(err)
		}
		next := *prev
		next.Status, next.UpdatedAt = webhook.StatusRetrying, time.Now().UTC()
		if err := logs.Save(ctx, prev, &next); err != nil {
			t.Fatalf("Save = %v, want success", err)
		}
		if got, err := logs.Get(ctx, prev.WebhookID); err != nil || got.Status != webhook.StatusRetrying || got.Version != 2 {
			t.Fatalf("Get = %+v, %v", got, err)
		}
	})

	t.Run("another writer's change of the same version", func(t *testing.T) {
		prev := newLog("inst_lost", webhook.StatusFailed)
		if err := plain.Save(ctx, nil, prev); err != nil {
			t.Fatal(err)
		}
		// Both derive the same change from the same version, at the same moment.
		theirs, mine := *prev, *prev
		theirs.Status, mine.Status = webhook.StatusRetrying, webhook.StatusRetrying
		if err := plain.Save(ctx, prev, &theirs); err != nil {
			t.Fatal(err)
		}
		if err := logs.Save(ctx, prev, &mine); webhook.ErrorCode(err) != webhook.EConflict {
			t.Fatalf("Save = %v, want a conflict", err)
		}
	})

	t.Run("an instance", func(t *testing.T) {
		instances := store.NewInstanceStore(db, res.Table("InstancesTable"))
		now := time.Now().UTC().Truncate(time.Millisecond)
		in := &webhook.Instance{ID: "inst_lost", WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}
		if err := instances.Create(ctx, in); err != nil {
			t.Fatalf("Create = %v, want success", err)
		}
		if err := instances.Create(ctx, in); webhook.ErrorCode(err) != webhook.EConflict {
			t.Fatalf("a second create = %v, want a conflict", err)
		}
	})

	t.Run("a message", func(t *testing.T) {
		r := &outboxRig{
			t: t, ctx: ctx, now: time.Now().UTC().Truncate(time.Millisecond),
			instances: store.NewInstanceStore(plainDB, res.Table("InstancesTable")),
			outbox:    store.NewOutboxStore(plainDB, res.Table("OutboxTable"), res.Table("InstancesTable"), 30*24*time.Hour),
		}
		r.instance("inst_lost_o", true, "")
		rec, _ := r.accept(r.record("inst_lost_o", chatA, "hi"), "")
		sending, err := rec.Move(outbox.StatusSending, "", r.now)
		if err != nil {
			t.Fatal(err)
		}
		lossyOutbox := store.NewOutboxStore(db, res.Table("OutboxTable"), res.Table("InstancesTable"), 30*24*time.Hour)
		before := lossy.count()
		if err := lossyOutbox.Update(ctx, rec, sending); err != nil {
			t.Fatalf("Update = %v, want success", err)
		}
		if lossy.count() != before+1 {
			t.Fatal("no answer was lost: the test tests nothing")
		}
		if got, err := r.outbox.Get(ctx, "inst_lost_o", rec.MessageID); err != nil || got.Status != outbox.StatusSending {
			t.Fatalf("Get = %+v, %v", got, err)
		}
	})
}
