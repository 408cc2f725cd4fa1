package store_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// logStore is a log store with the counting function over its table's stream.
type logStore struct {
	*store.LogStore
	counting             *awstest.Counting
	db                   *dynamodb.Client
	logTable, statsTable string
}

func newLogStore(t *testing.T) *logStore {
	res := awstest.Stack(t)
	db := dynamodb.NewFromConfig(awstest.Config(t))
	return &logStore{
		LogStore: store.NewLogStore(db, res.Table("WebhookLogTable"), res.Table("WebhookStatsTable"), 30*24*time.Hour),
		counting: awstest.NewCounting(t, res), db: db,
		logTable: res.Table("WebhookLogTable"), statsTable: res.Table("WebhookStatsTable"),
	}
}

func newLog(instanceID, status string) *webhook.Log {
	now := time.Now().UTC().Truncate(time.Millisecond)
	code := 500
	errText := "HTTP 500 Internal Server Error"
	return &webhook.Log{
		ID: webhook.NewLogID(now), WebhookID: webhook.NewWebhookID(now), InstanceID: instanceID,
		URL: "https://example.com/hook", Event: webhook.EventMessageReceived,
		Payload: json.RawMessage(`{"event":"message.received","data":{"body":"hi"}}`),
		Status:  status, StatusCode: &code, Response: json.RawMessage(`{"error":"boom"}`), Error: &errText,
		Attempts: 1, DurationMs: 12, CreatedAt: now, UpdatedAt: now,
	}
}

// sum counts the log changes so far and returns the counters of the last day to the next.
func sum(t *testing.T, s *logStore, instanceID string) store.Counter {
	t.Helper()
	return s.counting.Today(t, instanceID)
}

func TestSaveAndGetRoundTrip(t *testing.T) {
	s := newLogStore(t)
	ctx := context.Background()
	body := []byte(`{"event":"message.received"}`)
	signed := func(n int) string {
		secrets := []string{webhook.NewSecret(), webhook.NewSecret()}[:n]
		sig, err := webhook.Sign(secrets, "wh_x", time.Now(), body)
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
	tests := []struct {
		name string
		sent *webhook.Sent
	}{
		{"no request made", nil},
		{"unsigned request", &webhook.Sent{Timestamp: time.Now().Unix(), Attempt: 1}},
		{"signed with one secret", &webhook.Sent{Timestamp: time.Now().Unix(), Signature: signed(1), Attempt: 2}},
		{"signed with two secrets", &webhook.Sent{Timestamp: time.Now().Unix(), Signature: signed(2), Attempt: 300}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLog("inst_a", webhook.StatusRetrying)
			next := l.CreatedAt.Add(5 * time.Second)
			l.NextRetryAt = &next
			l.Attempts, l.ManualAttempts, l.CutAttempts, l.Unqueued = 3, 1, 1, true
			l.Sent = tt.sent
			if err := s.Save(ctx, nil, l); err != nil {
				t.Fatal(err)
			}
			got, err := s.Get(ctx, l.WebhookID)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(l)
			b, _ := json.Marshal(got)
			if string(a) != string(b) || got.Version != 1 || got.ManualAttempts != 1 || got.CutAttempts != 1 || !got.Unqueued {
				t.Fatalf("round trip:\n got %s (v%d)\nwant %s", b, got.Version, a)
			}
			if (got.RequestHeaders() == nil) != (tt.sent == nil) {
				t.Fatalf("requestHeaders %v, want them only when a request was made", got.RequestHeaders())
			}
		})
	}
	if _, err := s.Get(ctx, "wh_missing"); webhook.ErrorCode(err) != webhook.ENotFound {
		t.Fatalf("missing log: %v", err)
	}
}

// A log written before logs kept their request's headers has none: the API shows null.
func TestLogWithoutSentHeadersAnswersNull(t *testing.T) {
	s := newLogStore(t)
	ctx := context.Background()
	l := newLog("inst_a", webhook.StatusFailed)
	l.Sent = &webhook.Sent{Timestamp: time.Now().Unix(), Attempt: 1}
	if err := s.Save(ctx, nil, l); err != nil {
		t.Fatal(err)
	}
	// Remove the attribute, as a log stored by the previous version lacks it.
	if _, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.logTable, Key: map[string]types.AttributeValue{"webhookId": &types.AttributeValueMemberS{Value: l.WebhookID}},
		UpdateExpression: aws.String("REMOVE sent"),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, l.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if v, ok := m["requestHeaders"]; !ok || v != nil {
		t.Fatalf("requestHeaders = %v (present %v), want null", v, ok)
	}
}

func TestCountersFollowSavesExactly(t *testing.T) {
	s := newLogStore(t)
	ctx := context.Background()
	l := newLog("inst_c", webhook.StatusRetrying)
	if err := s.Save(ctx, nil, l); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		status string
		want   store.Counter
	}{
		{webhook.StatusRetrying, store.Counter{Total: 1, Retrying: 1}},
		{webhook.StatusFailed, store.Counter{Total: 1, Failed: 1}},
		{webhook.StatusSuccess, store.Counter{Total: 1, Success: 1}},
	}
	for _, st := range steps {
		t.Run(st.status, func(t *testing.T) {
			prev, err := s.Get(ctx, l.WebhookID)
			if err != nil {
				t.Fatal(err)
			}
			next := *prev
			next.Status = st.status
			next.Attempts++
			if err := s.Save(ctx, prev, &next); err != nil {
				t.Fatal(err)
			}
			c := sum(t, s, "inst_c")
			c.Day, c.Event = "", ""
			if c != st.want {
				t.Fatalf("counters %+v, want %+v", c, st.want)
			}
		})
	}
	if all := sum(t, s, ""); all.Total != 1 || all.Success != 1 {
		t.Fatalf("all-instance counters %+v", all)
	}
}

func TestConcurrentSavesOverOneVersionOneWins(t *testing.T) {
	s := newLogStore(t)
	ctx := context.Background()
	l := newLog("inst_r", webhook.StatusRetrying)
	if err := s.Save(ctx, nil, l); err != nil {
		t.Fatal(err)
	}
	prev, err := s.Get(ctx, l.WebhookID)
	if err != nil {
		t.Fatal(err)
	}
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := *prev
			next.Status = webhook.StatusSuccess
			next.Attempts++
			errs[i] = s.Save(ctx, prev, &next)
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch webhook.ErrorCode(err) {
		case "":
			wins++
		case webhook.EConflict:
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d saves won, want 1", wins)
	}
	if c := sum(t, s, "inst_r"); c.Total != 1 || c.Success != 1 || c.Retrying != 0 {
		t.Fatalf("counters %+v", c)
	}
	// A second new log with the same id is a conflict too.
	if err := s.Save(ctx, nil, newLogWithID(l.WebhookID)); webhook.ErrorCode(err) != webhook.EConflict {
		t.Fatalf("duplicate create: %v", err)
	}
}

func newLogWithID(id string) *webhook.Log {
	l := newLog("inst_r", webhook.StatusSuccess)
	l.WebhookID = id
	return l
}

func TestLogWithoutInstanceCountsInAll(t *testing.T) {
	s := newLogStore(t)
	l := newLog("", webhook.StatusSuccess)
	l.Event = webhook.EventWebhookTest
	if err := s.Save(context.Background(), nil, l); err != nil {
		t.Fatal(err)
	}
	if c := sum(t, s, ""); c.Total != 1 || c.Success != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestConcurrentNewLogsCountExactly(t *testing.T) {
	s := newLogStore(t)
	const writers = 20
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Save(context.Background(), nil, newLog("inst_p", webhook.StatusSuccess))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if c := sum(t, s, "inst_p"); c.Total != writers || c.Success != writers {
		t.Fatalf("counters %+v, want %d", c, writers)
	}
}
