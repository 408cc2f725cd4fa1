package reconcile_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// grace is what the reconciler derives from template.yaml: the events queue's visibility
// timeout (180 s) and the delivery function's longest infrastructure backoff (2 min).
const grace = 5 * time.Minute

// A log left retrying with no message to deliver it ends failed with the clear error, its
// counters following, once its nextRetryAt is more than the grace in the past; a log that is
// legitimately waiting, or that a delivery changed meanwhile, is left alone.
func TestReconcile(t *testing.T) {
	tests := []struct {
		name   string
		answer func(n int) (int, http.Header)
		// after the first attempt: what leaves the log without a message, or nil
		then  func(r *rig)
		ahead time.Duration // the reconciler's clock ahead of the test's
		age   time.Duration // how long ago the event happened
		race  bool          // a delivery lands between the reconciler's read and its write
		want  string        // the status after the run
		// wantError is the error after the run; "" for the first attempt's, unchanged
		wantError string
	}{
		{
			name: "a message forced into the dead-letter queue", answer: answers(http.StatusInternalServerError),
			then: (*rig).forceIntoDLQ, ahead: grace + time.Minute, want: webhook.StatusFailed,
			wantError: webhook.NoDeliveryLeft + " (last attempt: HTTP 500 Internal Server Error)",
		},
		{
			name: "a recover cut off between save and publish", answer: answers(http.StatusGone),
			then: (*rig).recoverCutOff, ahead: grace + time.Minute, want: webhook.StatusFailed,
			wantError: webhook.NoDeliveryLeft + " (last attempt: HTTP 410 Gone)",
		},
		{
			name: "waiting an hour for its Retry-After", ahead: grace + time.Minute, want: webhook.StatusRetrying,
			answer: func(int) (int, http.Header) {
				return http.StatusTooManyRequests, http.Header{"Retry-After": {"3600"}}
			},
		},
		{
			name: "due, but hidden no longer than the grace allows", answer: answers(http.StatusInternalServerError),
			ahead: grace - time.Minute, age: time.Hour, want: webhook.StatusRetrying,
		},
		{
			name: "delivered between the reconciler's read and its write", answer: answers(http.StatusInternalServerError, http.StatusOK),
			ahead: grace + time.Minute, race: true, want: webhook.StatusSuccess,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tt.answer)
			id := r.publish(tt.age)
			r.deliverOnce()
			if tt.then != nil {
				tt.then(r)
			}
			before := r.log(id)
			if before.Status != webhook.StatusRetrying || before.Attempts != 1 {
				t.Fatalf("before the run: %s with %d attempts, want retrying with 1", before.Status, before.Attempts)
			}

			var logs *racingStore
			if tt.race {
				logs = &racingStore{LogStore: r.logs, deliver: r.deliverOnce}
			}
			rec := r.reconciler(tt.ahead, nil)
			if logs != nil {
				rec = r.reconciler(tt.ahead, logs)
			}
			res, err := rec.Run(r.ctx)
			if err != nil {
				t.Fatal(err)
			}
			wantClosed := 0
			if tt.want == webhook.StatusFailed {
				wantClosed = 1
			}
			if res.Grace != grace || res.Read != 1 || res.Closed != wantClosed || !res.Done {
				t.Fatalf("run: %+v, want grace %v, 1 read, %d closed, done", res, grace, wantClosed)
			}

			after := r.log(id)
			wantError := before.Error
			if tt.wantError != "" {
				wantError = &tt.wantError
			}
			if tt.want == webhook.StatusSuccess {
				wantError = nil
			}
			if after.Status != tt.want || (after.Error == nil) != (wantError == nil) || after.Error != nil && *after.Error != *wantError {
				t.Fatalf("after the run: %s, error %v; want %s, error %v", after.Status, deref(after.Error), tt.want, deref(wantError))
			}
			if tt.want == webhook.StatusFailed && (after.NextRetryAt != nil || after.Attempts != 1 || !after.Orphaned()) {
				t.Errorf("closed log: nextRetryAt %v, %d attempts, orphaned %v; want none, 1, true", after.NextRetryAt, after.Attempts, after.Orphaned())
			}
			if tt.want == webhook.StatusRetrying && after.Version != before.Version {
				t.Errorf("a waiting log was written: version %d, was %d", after.Version, before.Version)
			}
			want := store.Counter{Total: 1}
			switch tt.want {
			case webhook.StatusFailed:
				want.Failed = 1
			case webhook.StatusSuccess:
				want.Success = 1
			default:
				want.Retrying = 1
			}
			if got := r.counters(); got != want {
				t.Errorf("counters %+v, want %+v", got, want)
			}
		})
	}
}

// A message of an event whose log was closed for want of one still delivers it: a redrive
// from the dead-letter queue, or a retry that waited in a backlog longer than the grace. The
// log carries on with its schedule.
func TestOrphanedLogCarriesOn(t *testing.T) {
	tests := []struct {
		name         string
		answer       func(int) (int, http.Header)
		redrive      bool // the event went to the dead-letter queue, and comes back
		off          bool // the instance's webhooks are turned off before it does
		want         string
		wantAttempts int
		wantError    string // "" for none, or the last attempt's
	}{
		{"redriven from the dead-letter queue, delivered", answers(http.StatusInternalServerError, http.StatusOK), true, false, webhook.StatusSuccess, 2, ""},
		{"redriven from the dead-letter queue, refused again: retried on the schedule", answers(http.StatusInternalServerError), true, false, webhook.StatusRetrying, 2, ""},
		{"a retry late from a backlog, delivered", answers(http.StatusInternalServerError, http.StatusOK), false, false, webhook.StatusSuccess, 2, ""},
		{"a retry late from a backlog, refused again: retried on the schedule", answers(http.StatusInternalServerError), false, false, webhook.StatusRetrying, 2, ""},
		{"a retry late from a backlog, webhooks turned off meanwhile", answers(http.StatusInternalServerError), false, true, webhook.StatusFailed, 1, "webhooks were turned off for the instance"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t, tt.answer)
			id := r.publish(0)
			r.deliverOnce()
			if tt.redrive {
				r.forceIntoDLQ()
			}
			if res, err := r.reconciler(grace+time.Minute, nil).Run(r.ctx); err != nil || res.Closed != 1 {
				t.Fatalf("run: %+v, %v; want the log closed", res, err)
			}
			if c := r.counters(); c.Failed != 1 {
				t.Fatalf("counters after the run %+v, want it failed", c)
			}
			if tt.redrive {
				r.redrive()
			}
			if tt.off {
				r.turnOff()
			}
			r.deliverOnce()

			l := r.log(id)
			if l.Status != tt.want || l.Attempts != tt.wantAttempts || int(r.requests.Load()) != tt.wantAttempts {
				t.Fatalf("%s with %d attempts, endpoint called %d times; want %s with %d", l.Status, l.Attempts, r.requests.Load(), tt.want, tt.wantAttempts)
			}
			if tt.want == webhook.StatusRetrying && (l.NextRetryAt == nil || strings.HasPrefix(deref(l.Error), webhook.NoDeliveryLeft)) {
				t.Errorf("retrying with nextRetryAt %v and error %q, want the schedule's next delay and the attempt's error", l.NextRetryAt, deref(l.Error))
			}
			if tt.wantError != "" && deref(l.Error) != tt.wantError {
				t.Errorf("error %q, want %q", deref(l.Error), tt.wantError)
			}
			want := store.Counter{Total: 1}
			switch tt.want {
			case webhook.StatusSuccess:
				want.Success = 1
			case webhook.StatusRetrying:
				want.Retrying = 1
			default:
				want.Failed = 1
			}
			if got := r.counters(); got != want {
				t.Errorf("counters %+v, want %+v", got, want)
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// A run reads the retrying logs old enough to be overdue, and no other: not the successes or
// failures, however many, nor the retrying logs younger than the grace, which are most of
// them. What it reads grows with the logs left behind, not with the table.
func TestRunReadsOnlyOldRetryingLogs(t *testing.T) {
	r := newRig(t, answers(http.StatusOK))
	now := time.Now()
	hourAgo, inAnHour := now.Add(-time.Hour), now.Add(time.Hour)
	groups := []struct {
		status  string
		created time.Time
		due     *time.Time
		n       int
	}{
		{webhook.StatusSuccess, hourAgo, nil, 40},
		{webhook.StatusFailed, hourAgo, nil, 40},
		{webhook.StatusRetrying, now, &now, 20},         // young: not read
		{webhook.StatusRetrying, hourAgo, &inAnHour, 2}, // read, waiting
		{webhook.StatusRetrying, hourAgo, &hourAgo, 3},  // read, closed
	}
	for _, g := range groups {
		for range g.n {
			id := webhook.NewWebhookID(g.created)
			l := &webhook.Log{
				ID: webhook.NewLogID(g.created), WebhookID: id, InstanceID: r.instance, URL: "https://example.com/hook",
				Event: webhook.EventMessageReceived, Payload: []byte(`{}`), Status: g.status, Attempts: 1,
				NextRetryAt: g.due, CreatedAt: g.created, UpdatedAt: g.created,
			}
			r.create(l)
		}
	}
	res, err := r.reconciler(0, nil).Run(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 5 || res.Closed != 3 || !res.Done {
		t.Fatalf("run: %+v, want 5 read, 3 closed, done", res)
	}
	want := store.Counter{Total: 105, Success: 40, Failed: 43, Retrying: 22}
	if got := r.counters(); got != want {
		t.Errorf("counters %+v, want %+v", got, want)
	}
}
