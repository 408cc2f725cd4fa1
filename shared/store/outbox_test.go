package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

type outboxRig struct {
	t         *testing.T
	ctx       context.Context
	instances *store.InstanceStore
	outbox    *store.OutboxStore
	now       time.Time
}

func newOutboxRig(t *testing.T) *outboxRig {
	t.Helper()
	res := awstest.Stack(t)
	db := dynamodb.NewFromConfig(awstest.Config(t))
	return &outboxRig{
		t: t, ctx: context.Background(),
		instances: store.NewInstanceStore(db, res.Table("InstancesTable")),
		outbox:    store.NewOutboxStore(db, res.Table("OutboxTable"), res.Table("InstancesTable"), 30*24*time.Hour),
		now:       time.Now().UTC().Truncate(time.Millisecond),
	}
}

// instance creates an instance, paired when paired is set, leased to owner unless "".
func (r *outboxRig) instance(id string, paired bool, owner string) {
	r.t.Helper()
	if err := r.instances.Create(r.ctx, &webhook.Instance{ID: id, WebhookSecret: webhook.NewSecret(), CreatedAt: r.now, UpdatedAt: r.now}); err != nil {
		r.t.Fatal(err)
	}
	if paired {
		jid := "6281:3@s.whatsapp.net"
		if err := r.instances.SetSession(r.ctx, id, store.SessionUpdate{DeviceJID: &jid}, r.now); err != nil {
			r.t.Fatal(err)
		}
	}
	if owner != "" {
		if ok, err := r.instances.AcquireLease(r.ctx, id, owner, r.now, time.Minute); err != nil || !ok {
			r.t.Fatalf("lease %s: %v %v", id, ok, err)
		}
	}
}

func (r *outboxRig) record(instanceID, chat, body string) *outbox.Record {
	return &outbox.Record{
		InstanceID: instanceID, MessageID: outbox.NewMessageID(), Status: outbox.StatusQueued,
		Message:    &outbox.Message{Chat: chat, Type: outbox.TypeText, Text: &outbox.Text{Body: body}},
		AcceptedAt: r.now, ExpiresAt: r.now.Add(outbox.DefaultTTL),
	}
}

// accept accepts rec a millisecond after the previous accept, as requests one after another
// come.
func (r *outboxRig) accept(rec *outbox.Record, key string) (*outbox.Record, bool) {
	r.t.Helper()
	r.now = r.now.Add(time.Millisecond)
	got, created, err := r.outbox.Accept(r.ctx, rec, key, r.now)
	if err != nil {
		r.t.Fatalf("Accept: %v", err)
	}
	return got, created
}

const (
	chatA = "6281111111111@s.whatsapp.net"
	chatB = "6282222222222@s.whatsapp.net"
)

func TestOutboxAcceptRefusals(t *testing.T) {
	r := newOutboxRig(t)
	r.instance("inst_unpaired", false, "")
	tests := []struct {
		name, instance, code string
	}{
		{"unknown instance", "inst_missing", webhook.ENotFound},
		{"no paired device", "inst_unpaired", webhook.EConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := r.outbox.Accept(r.ctx, r.record(tt.instance, chatA, "hi"), "", r.now)
			if webhook.ErrorCode(err) != tt.code {
				t.Fatalf("Accept = %v, want code %s", err, tt.code)
			}
			if recs, err := r.outbox.Pending(r.ctx, tt.instance, 10); err != nil || len(recs) != 0 {
				t.Fatalf("pending after a refusal: %v %v", recs, err)
			}
		})
	}
}

// Messages of a chat get consecutive Seqs in accept order; the pending list is oldest first
// and leaves a message once it is sent.
func TestOutboxOrderPendingAndUpdate(t *testing.T) {
	r := newOutboxRig(t)
	r.instance("inst_o", true, "")
	var accepted []*outbox.Record
	for i, chat := range []string{chatA, chatB, chatA, chatA, chatB} {
		got, created := r.accept(r.record("inst_o", chat, fmt.Sprint("m", i)), "")
		if !created {
			t.Fatal("created = false for a new message")
		}
		accepted = append(accepted, got)
	}
	wantSeq := []int64{1, 1, 2, 3, 2}
	for i, a := range accepted {
		if a.Seq != wantSeq[i] {
			t.Errorf("message %d: Seq %d, want %d", i, a.Seq, wantSeq[i])
		}
	}
	pending, err := r.outbox.Pending(r.ctx, "inst_o", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != len(accepted) {
		t.Fatalf("pending %d, want %d", len(pending), len(accepted))
	}
	for i, p := range pending {
		if p.MessageID != accepted[i].MessageID || p.Message.Text.Body != fmt.Sprint("m", i) {
			t.Errorf("pending[%d] = %s %q, want %s", i, p.MessageID, p.Message.Text.Body, accepted[i].MessageID)
		}
	}

	first := pending[0]
	sending, err := first.Move(outbox.StatusSending, "", r.now)
	if err != nil {
		t.Fatal(err)
	}
	sending.Attempts = 1
	if err := r.outbox.Update(r.ctx, first, sending); err != nil {
		t.Fatal(err)
	}
	// A writer that read the old version loses.
	stale, _ := first.Move(outbox.StatusFailed, "stale", r.now)
	if err := r.outbox.Update(r.ctx, first, stale); webhook.ErrorCode(err) != webhook.EConflict {
		t.Fatalf("stale Update = %v, want a conflict", err)
	}
	sent, _ := sending.Move(outbox.StatusSent, "", r.now)
	sentAt := r.now.Add(time.Second)
	sent.SentAt = &sentAt
	if err := r.outbox.Update(r.ctx, sending, sent); err != nil {
		t.Fatal(err)
	}
	got, err := r.outbox.Get(r.ctx, "inst_o", first.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != outbox.StatusSent || got.Attempts != 1 || got.SentAt == nil || !got.SentAt.Equal(sentAt) || got.Version != sent.Version {
		t.Errorf("Get after sent = %+v", got)
	}
	pending, err = r.outbox.Pending(r.ctx, "inst_o", 10)
	if err != nil || len(pending) != len(accepted)-1 || pending[0].MessageID != accepted[1].MessageID {
		t.Fatalf("pending after a send: %d %v", len(pending), err)
	}
	if limited, err := r.outbox.Pending(r.ctx, "inst_o", 2); err != nil || len(limited) != 2 {
		t.Fatalf("Pending(limit 2) = %d %v", len(limited), err)
	}
	if _, err := r.outbox.Get(r.ctx, "inst_o", outbox.NewMessageID()); webhook.ErrorCode(err) != webhook.ENotFound {
		t.Fatalf("Get unknown = %v, want not found", err)
	}
}

func TestOutboxIdempotencyKey(t *testing.T) {
	r := newOutboxRig(t)
	r.instance("inst_k", true, "")
	first, created := r.accept(r.record("inst_k", chatA, "once"), "key-1")
	if !created {
		t.Fatal("first accept not created")
	}
	again, created := r.accept(r.record("inst_k", chatA, "once"), "key-1")
	if created || again.MessageID != first.MessageID {
		t.Fatalf("replay = %s created %v, want %s and false", again.MessageID, created, first.MessageID)
	}
	_, _, err := r.outbox.Accept(r.ctx, r.record("inst_k", chatA, "another body"), "key-1", r.now)
	if webhook.ErrorCode(err) != webhook.EConflict {
		t.Fatalf("same key, other body = %v, want a conflict", err)
	}
	// Past 24 h the key is free again.
	later := r.now.Add(store.IdempotencyTTL + time.Second)
	if _, created, err := r.outbox.Accept(r.ctx, r.record("inst_k", chatA, "another body"), "key-1", later); err != nil || !created {
		t.Fatalf("after the key's 24 h: created %v %v", created, err)
	}
	pending, err := r.outbox.Pending(r.ctx, "inst_k", 10)
	if err != nil || len(pending) != 2 {
		t.Fatalf("pending = %d %v, want 2 (the replay stored nothing)", len(pending), err)
	}
}

// Accepts racing for one chat each take their own Seq: none is lost or doubled.
func TestOutboxConcurrentAcceptsForOneChat(t *testing.T) {
	r := newOutboxRig(t)
	r.instance("inst_c", true, "")
	const n = 12
	var wg sync.WaitGroup
	seqs := make(chan int64, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, _, err := r.outbox.Accept(r.ctx, r.record("inst_c", chatA, fmt.Sprint(i)), "", r.now)
			if err != nil {
				t.Error(err)
				return
			}
			seqs <- got.Seq
		}()
	}
	wg.Wait()
	close(seqs)
	seen := map[int64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Errorf("Seq %d taken twice", s)
		}
		seen[s] = true
	}
	for s := int64(1); s <= n; s++ {
		if !seen[s] {
			t.Errorf("Seq %d missing", s)
		}
	}
}

// An accept marks the instance for the host that holds its lease; the host clears the mark
// only if no accept came since it read it.
func TestOutboxWorkMarks(t *testing.T) {
	r := newOutboxRig(t)
	r.instance("inst_w", true, "host-a")
	r.instance("inst_free", true, "")
	r.accept(r.record("inst_w", chatA, "one"), "")
	r.accept(r.record("inst_free", chatA, "nobody holds it"), "")

	work, err := r.outbox.WorkFor(r.ctx, "host-a")
	if err != nil || len(work) != 1 || work[0].InstanceID != "inst_w" {
		t.Fatalf("WorkFor(host-a) = %+v %v", work, err)
	}
	if other, err := r.outbox.WorkFor(r.ctx, "host-b"); err != nil || len(other) != 0 {
		t.Fatalf("WorkFor(host-b) = %+v %v", other, err)
	}
	read := work[0]
	r.accept(r.record("inst_w", chatA, "two"), "") // after the host read the mark
	if err := r.outbox.DoneWith(r.ctx, read); err != nil {
		t.Fatal(err)
	}
	if work, err := r.outbox.WorkFor(r.ctx, "host-a"); err != nil || len(work) != 1 {
		t.Fatalf("a newer accept's mark was cleared: %+v %v", work, err)
	} else if err := r.outbox.DoneWith(r.ctx, work[0]); err != nil {
		t.Fatal(err)
	}
	if work, err := r.outbox.WorkFor(r.ctx, "host-a"); err != nil || len(work) != 0 {
		t.Fatalf("mark not cleared: %+v %v", work, err)
	}
}

func TestOutboxList(t *testing.T) {
	r := newOutboxRig(t)
	r.instance("inst_l", true, "")
	var ids []string
	for i := range 7 {
		chat := chatA
		if i%2 == 1 {
			chat = chatB
		}
		got, _ := r.accept(r.record("inst_l", chat, fmt.Sprint(i)), "")
		ids = append(ids, got.MessageID)
	}
	// Newest first, three a page.
	var listed []string
	before := ""
	for page := 0; ; page++ {
		recs, next, err := r.outbox.List(r.ctx, "inst_l", store.OutboxFilter{}, 3, before)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			listed = append(listed, rec.MessageID)
		}
		if next == "" {
			break
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
		before = next
	}
	if len(listed) != len(ids) {
		t.Fatalf("listed %d, want %d", len(listed), len(ids))
	}
	for i := range ids {
		if listed[i] != ids[len(ids)-1-i] {
			t.Errorf("listed[%d] = %s, want %s", i, listed[i], ids[len(ids)-1-i])
		}
	}
	recs, _, err := r.outbox.List(r.ctx, "inst_l", store.OutboxFilter{Chat: chatB}, 10, "")
	if err != nil || len(recs) != 3 {
		t.Fatalf("chat B: %d %v", len(recs), err)
	}
	recs, _, err = r.outbox.List(r.ctx, "inst_l", store.OutboxFilter{Status: outbox.StatusSent}, 10, "")
	if err != nil || len(recs) != 0 {
		t.Fatalf("status sent: %d %v", len(recs), err)
	}
	recs, _, err = r.outbox.List(r.ctx, "inst_l", store.OutboxFilter{Chat: chatA, Status: outbox.StatusQueued}, 10, "")
	if err != nil || len(recs) != 4 {
		t.Fatalf("chat A queued: %d %v", len(recs), err)
	}
}

// conflictInjector fails the first n TransactWriteItems calls with a transaction conflict, as
// real DynamoDB answers concurrent transactions on one item (the emulator applies requests
// one at a time and never does).
type conflictInjector struct {
	mu   sync.Mutex
	left int
	seen int
}

func (c *conflictInjector) register(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("injectConflict",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if _, ok := in.Parameters.(*dynamodb.TransactWriteItemsInput); ok {
				c.mu.Lock()
				c.seen++
				fail := c.left > 0
				if fail {
					c.left--
				}
				c.mu.Unlock()
				if fail {
					return middleware.InitializeOutput{}, middleware.Metadata{}, &types.TransactionCanceledException{
						Message:             aws.String("Transaction cancelled"),
						CancellationReasons: []types.CancellationReason{{Code: aws.String("TransactionConflict")}},
					}
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

func TestOutboxAcceptRetriesTransactionConflicts(t *testing.T) {
	tests := []struct {
		name      string
		conflicts int
		wantCode  string
	}{
		{"two conflicts", 2, ""},
		{"conflicts every time", 100, webhook.EUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := awstest.Stack(t)
			cfg := awstest.Config(t)
			inj := &conflictInjector{left: tt.conflicts}
			cfg.APIOptions = append(cfg.APIOptions, inj.register)
			db := dynamodb.NewFromConfig(cfg)
			instances := store.NewInstanceStore(db, res.Table("InstancesTable"))
			ob := store.NewOutboxStore(db, res.Table("OutboxTable"), res.Table("InstancesTable"), 30*24*time.Hour)
			r := &outboxRig{t: t, ctx: context.Background(), instances: instances, outbox: ob, now: time.Now().UTC().Truncate(time.Millisecond)}
			r.instance("inst_x", true, "")
			got, _, err := ob.Accept(r.ctx, r.record("inst_x", chatA, "hi"), "k", r.now)
			if webhook.ErrorCode(err) != tt.wantCode {
				t.Fatalf("Accept = %v, want code %q", err, tt.wantCode)
			}
			pending, perr := ob.Pending(r.ctx, "inst_x", 10)
			if perr != nil {
				t.Fatal(perr)
			}
			if tt.wantCode == "" {
				if got.Seq != 1 || len(pending) != 1 || inj.seen != tt.conflicts+1 {
					t.Fatalf("Seq %d, pending %d, transactions %d", got.Seq, len(pending), inj.seen)
				}
			} else if len(pending) != 0 {
				t.Fatalf("a refused accept left %d messages", len(pending))
			}
		})
	}
}
