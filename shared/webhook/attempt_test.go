package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testEnvelope() *Envelope {
	return &Envelope{
		Event: EventMessageReceived, InstanceID: "inst_1", Timestamp: FormatTime(t0),
		WebhookID: NewWebhookID(t0), Data: json.RawMessage(`{}`),
	}
}

// policyDecider is the delivery function's decision: the retry policy, whatever the log was.
func policyDecider(p RetryPolicy) Decider {
	return func(_ *Log, o Outcome, n int) Decision { return p.Decide(o, n) }
}

func intPtr(n int) *int { return &n }

func TestResultErrorText(t *testing.T) {
	tests := []struct {
		name string
		res  Result
		want string // "" for none
	}{
		{"success", Result{StatusCode: 204}, ""},
		{"transport error", Result{Err: errors.New("timed out waiting for the endpoint")}, "timed out waiting for the endpoint"},
		{"redirect", Result{StatusCode: 302}, "HTTP 302: redirects are not followed"},
		{"server error", Result{StatusCode: 503}, "HTTP 503 Service Unavailable"},
		{"informational", Result{StatusCode: 100}, "HTTP 100 Continue"},
		{"error beside a status", Result{StatusCode: 500, Err: errors.New("read answer: EOF")}, "read answer: EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.res.ErrorText()
			if (got == nil) != (tt.want == "") || got != nil && *got != tt.want {
				t.Fatalf("ErrorText() = %v, want %q", got, tt.want)
			}
		})
	}
}

func TestNextLog(t *testing.T) {
	env := testEnvelope()
	created, _ := WebhookIDTime(env.WebhookID)
	body := []byte(`{"event":"message.received"}`)
	policy := policyDecider(RetryPolicy{Schedule: RetrySchedule{5 * time.Second, 10 * time.Second}})
	now := t0.Add(time.Minute)
	retryAt := now.Add(30 * time.Second)
	stored := func(status string, attempts int) *Log {
		return &Log{
			ID: "log_1", WebhookID: env.WebhookID, InstanceID: env.InstanceID, URL: "https://old.example.com/hook",
			Event: env.Event, Payload: body, Status: status, StatusCode: intPtr(200), Response: json.RawMessage(`"fine"`),
			Attempts: attempts, NextRetryAt: &retryAt, CreatedAt: created, UpdatedAt: t0, Version: 3,
		}
	}
	orphaned := func(attempts int) *Log {
		l := stored(StatusFailed, attempts)
		l.NextRetryAt, l.Error, l.Unqueued = nil, new(NoDeliveryLeft), true
		return l
	}
	ok := Result{StatusCode: 200, Body: []byte(`{"ok":true}`), Duration: 40 * time.Millisecond}
	down := Result{StatusCode: 500, Body: []byte("down"), Duration: 7 * time.Millisecond}
	refused := Result{Err: errors.New("connection refused")}

	tests := []struct {
		name         string
		prev         *Log
		attempt      Attempt
		decide       Decider
		wantStatus   string
		wantAttempts int
		wantCode     *int
		wantURL      string
		wantResponse string // JSON, "" for none
		wantError    string // "" for none
		wantRetryAt  *time.Time
	}{
		{
			name: "first attempt succeeds", attempt: Attempt{Envelope: env, Body: body, URL: "https://a.example.com", Result: ok, Count: 1},
			decide: policy, wantStatus: StatusSuccess, wantAttempts: 1, wantCode: intPtr(200),
			wantURL: "https://a.example.com", wantResponse: `{"ok":true}`,
		},
		{
			name: "first attempt fails: retried on the schedule", attempt: Attempt{Envelope: env, Body: body, URL: "https://a.example.com", Result: down, Count: 1},
			decide: policy, wantStatus: StatusRetrying, wantAttempts: 1, wantCode: intPtr(500),
			wantURL: "https://a.example.com", wantResponse: `"down"`, wantError: "HTTP 500 Internal Server Error",
			wantRetryAt: func() *time.Time { at := now.Add(5 * time.Second); return &at }(),
		},
		{
			name: "a retry's failure past the schedule fails the log", prev: stored(StatusRetrying, 2),
			attempt: Attempt{Result: refused, Count: 1}, decide: policy,
			wantStatus: StatusFailed, wantAttempts: 3, wantURL: "https://old.example.com/hook", wantError: "connection refused",
		},
		{
			name: "a success is never reopened by a failure", prev: stored(StatusSuccess, 1),
			attempt: Attempt{Result: down, Count: 1}, decide: policy,
			wantStatus: StatusSuccess, wantAttempts: 2, wantCode: intPtr(200), wantURL: "https://old.example.com/hook",
			wantResponse: `"fine"`,
		},
		{
			name: "a failed log stays failed on a failure the policy would retry", prev: stored(StatusFailed, 1),
			attempt: Attempt{Result: down, Count: 1}, decide: policy,
			wantStatus: StatusFailed, wantAttempts: 2, wantCode: intPtr(500), wantURL: "https://old.example.com/hook",
			wantResponse: `"down"`, wantError: "HTTP 500 Internal Server Error",
		},
		{
			name: "a failed log succeeds on a success", prev: stored(StatusFailed, 4),
			attempt: Attempt{URL: "https://new.example.com", Result: ok, Count: 1}, decide: policy,
			wantStatus: StatusSuccess, wantAttempts: 5, wantCode: intPtr(200), wantURL: "https://new.example.com",
			wantResponse: `{"ok":true}`,
		},
		{
			name: "an orphaned log's late message carries on with the schedule", prev: orphaned(1),
			attempt: Attempt{Result: down, Count: 1}, decide: policy,
			wantStatus: StatusRetrying, wantAttempts: 2, wantCode: intPtr(500), wantURL: "https://old.example.com/hook",
			wantResponse: `"down"`, wantError: "HTTP 500 Internal Server Error",
			wantRetryAt: func() *time.Time { at := now.Add(10 * time.Second); return &at }(),
		},
		{
			name: "an orphaned log fails with the attempt's error once the schedule is spent", prev: orphaned(2),
			attempt: Attempt{Result: refused, Count: 1}, decide: policy,
			wantStatus: StatusFailed, wantAttempts: 3, wantURL: "https://old.example.com/hook", wantError: "connection refused",
		},
		{
			name: "no request made: attempts unchanged", prev: stored(StatusRetrying, 2),
			attempt:    Attempt{Result: Result{Err: errors.New("webhooks were turned off")}, Count: 0},
			decide:     func(*Log, Outcome, int) Decision { return Decision{Status: StatusFailed} },
			wantStatus: StatusFailed, wantAttempts: 2, wantURL: "https://old.example.com/hook", wantError: "webhooks were turned off",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before Log
			if tt.prev != nil {
				before = *tt.prev
			}
			next, dec := NextLog(tt.prev, tt.attempt, tt.decide, now.In(time.FixedZone("elsewhere", 3600)))
			if tt.prev != nil && !equalJSON(t, *tt.prev, before) {
				t.Fatal("NextLog changed prev")
			}
			if next.Status != tt.wantStatus || dec.Status != tt.wantStatus || next.Attempts != tt.wantAttempts {
				t.Fatalf("status %s (decision %s) attempts %d, want %s with %d", next.Status, dec.Status, next.Attempts, tt.wantStatus, tt.wantAttempts)
			}
			if (next.StatusCode == nil) != (tt.wantCode == nil) || next.StatusCode != nil && *next.StatusCode != *tt.wantCode {
				t.Errorf("status code %v, want %v", next.StatusCode, tt.wantCode)
			}
			if next.URL != tt.wantURL {
				t.Errorf("url %q, want %q", next.URL, tt.wantURL)
			}
			if string(next.Response) != tt.wantResponse {
				t.Errorf("response %s, want %s", next.Response, tt.wantResponse)
			}
			if (next.Error == nil) != (tt.wantError == "") || next.Error != nil && *next.Error != tt.wantError {
				t.Errorf("error %v, want %q", next.Error, tt.wantError)
			}
			if (next.NextRetryAt == nil) != (tt.wantRetryAt == nil) || next.NextRetryAt != nil && !next.NextRetryAt.Equal(*tt.wantRetryAt) {
				t.Errorf("next retry at %v, want %v", next.NextRetryAt, tt.wantRetryAt)
			}
			if !next.UpdatedAt.Equal(now) || next.UpdatedAt.Location() != time.UTC {
				t.Errorf("updated at %v, want %v in UTC", next.UpdatedAt, now)
			}
			if next.WebhookID != env.WebhookID || next.Event != env.Event || next.InstanceID != env.InstanceID || !next.CreatedAt.Equal(created) {
				t.Errorf("identity %s %s %s %v, want the envelope's, created when its id was", next.WebhookID, next.Event, next.InstanceID, next.CreatedAt)
			}
			if tt.prev == nil && (string(next.Payload) != string(body) || next.ID == "") {
				t.Errorf("new log: payload %s id %q, want the body sent and a log id", next.Payload, next.ID)
			}
			if tt.prev != nil && (next.ID != tt.prev.ID || next.Version != tt.prev.Version) {
				t.Errorf("id %s version %d, want prev's %s %d", next.ID, next.Version, tt.prev.ID, tt.prev.Version)
			}
		})
	}
}

// A webhook id without a readable time (not minted by wagate) dates a new log now.
func TestNextLogUnreadableWebhookIDDatesTheLogNow(t *testing.T) {
	env := testEnvelope()
	env.WebhookID = "wh_not-a-ulid"
	next, _ := NextLog(nil, Attempt{Envelope: env, Result: Result{StatusCode: 200}, Count: 1}, policyDecider(RetryPolicy{}), t0)
	if !next.CreatedAt.Equal(t0) {
		t.Fatalf("created at %v, want %v", next.CreatedAt, t0)
	}
}

func equalJSON(t *testing.T, a, b Log) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb) && a.Version == b.Version
}

// fakeLogs is an in-memory LogStore with versions. beforeSave runs before each save, with
// the number of saves so far: it may change the stored log, as a rival writer would, or
// return an error for the save to answer.
type fakeLogs struct {
	logs       map[string]*Log
	saves      int
	gets       int
	beforeSave func(f *fakeLogs, try int) error
	getErr     error
}

func newFakeLogs() *fakeLogs { return &fakeLogs{logs: map[string]*Log{}} }

func (f *fakeLogs) Get(_ context.Context, id string) (*Log, error) {
	f.gets++
	if f.getErr != nil {
		return nil, f.getErr
	}
	l, ok := f.logs[id]
	if !ok {
		return nil, Errorf(ENotFound, "webhook log %s not found", id)
	}
	c := *l
	return &c, nil
}

func (f *fakeLogs) Save(_ context.Context, prev, next *Log) error {
	f.saves++
	if f.beforeSave != nil {
		if err := f.beforeSave(f, f.saves); err != nil {
			return err
		}
	}
	cur, exists := f.logs[next.WebhookID]
	switch {
	case prev == nil && exists, prev != nil && (!exists || cur.Version != prev.Version):
		return Errorf(EConflict, "webhook log %s changed meanwhile", next.WebhookID)
	}
	next.Version = 1
	if prev != nil {
		next.Version = prev.Version + 1
	}
	c := *next
	f.logs[next.WebhookID] = &c
	return nil
}

// rival writes l's next state as another writer would: a new version with a change.
func (f *fakeLogs) rival(id string, change func(l *Log)) {
	c := *f.logs[id]
	change(&c)
	c.Version++
	f.logs[id] = &c
}

func TestRecordAttempt(t *testing.T) {
	policy := policyDecider(RetryPolicy{Schedule: RetrySchedule{5 * time.Second, 10 * time.Second}})
	clock := func() time.Time { return t0 }
	ok := Result{StatusCode: 200}
	down := Result{StatusCode: 500}
	boom := errors.New("table unavailable")

	type state struct {
		status   string
		attempts int
		version  int
	}
	tests := []struct {
		name string
		// seed, when set, is the log stored before the attempt, and prev the one read.
		seed       *state
		result     Result
		beforeSave func(f *fakeLogs, id string, try int) error
		getErr     error
		wantErr    string // the error code wanted, "" for none
		wantSaves  int
		wantGets   int
		want       *state // the stored log afterwards, nil for none
	}{
		{
			name: "first attempt saved at once", result: ok,
			wantSaves: 1, want: &state{StatusSuccess, 1, 1},
		},
		{
			name: "retry saved at once", seed: &state{StatusRetrying, 1, 1}, result: down,
			wantSaves: 1, want: &state{StatusRetrying, 2, 2},
		},
		{
			name: "conflict once: re-applied over the rival's log", seed: &state{StatusRetrying, 1, 1}, result: down,
			beforeSave: func(f *fakeLogs, id string, try int) error {
				if try == 1 {
					f.rival(id, func(l *Log) { l.Attempts++ }) // the rival's failed attempt
				}
				return nil
			},
			// Both attempts counted: the schedule of two retries is used up.
			wantSaves: 2, wantGets: 1, want: &state{StatusFailed, 3, 3},
		},
		{
			name: "first attempt meets a log a rival created", result: down,
			beforeSave: func(f *fakeLogs, id string, try int) error {
				if try == 1 {
					f.logs[id] = &Log{WebhookID: id, Status: StatusRetrying, Attempts: 1, Version: 1}
				}
				return nil
			},
			wantSaves: 2, wantGets: 1, want: &state{StatusRetrying, 2, 2},
		},
		{
			name: "a rival's success seen on re-read stays", seed: &state{StatusRetrying, 1, 1}, result: down,
			beforeSave: func(f *fakeLogs, id string, try int) error {
				if try == 1 {
					f.rival(id, func(l *Log) { l.Attempts++; l.Status = StatusSuccess })
				}
				return nil
			},
			wantSaves: 2, wantGets: 1, want: &state{StatusSuccess, 3, 3},
		},
		{
			name: "conflicts without end: bounded", seed: &state{StatusRetrying, 1, 1}, result: ok,
			beforeSave: func(f *fakeLogs, id string, _ int) error {
				f.rival(id, func(l *Log) { l.Attempts++ })
				return nil
			},
			wantErr: EConflict, wantSaves: saveTries, wantGets: saveTries - 1,
			want: &state{StatusRetrying, 1 + saveTries, 1 + saveTries}, // the rivals' writes only
		},
		{
			name: "a save error other than a conflict is not retried", seed: &state{StatusRetrying, 1, 1}, result: ok,
			beforeSave: func(*fakeLogs, string, int) error { return boom },
			wantErr:    EInternal, wantSaves: 1, want: &state{StatusRetrying, 1, 1},
		},
		{
			name: "the re-read fails", seed: &state{StatusRetrying, 1, 1}, result: ok,
			beforeSave: func(f *fakeLogs, id string, try int) error {
				if try == 1 {
					f.rival(id, func(l *Log) { l.Attempts++ })
				}
				return nil
			},
			getErr:  boom,
			wantErr: EInternal, wantSaves: 1, wantGets: 1, want: &state{StatusRetrying, 2, 2},
		},
		{
			name: "the log was cleared meanwhile", seed: &state{StatusRetrying, 1, 1}, result: ok,
			beforeSave: func(f *fakeLogs, id string, try int) error {
				delete(f.logs, id)
				return nil
			},
			wantErr: ENotFound, wantSaves: 1, wantGets: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnvelope()
			f := newFakeLogs()
			var prev *Log
			if tt.seed != nil {
				f.logs[env.WebhookID] = &Log{
					ID: "log_1", WebhookID: env.WebhookID, Event: env.Event, InstanceID: env.InstanceID,
					Status: tt.seed.status, Attempts: tt.seed.attempts, Version: tt.seed.version,
				}
				prev, _ = f.Get(context.Background(), env.WebhookID)
				f.gets = 0
			}
			if tt.beforeSave != nil {
				f.beforeSave = func(f *fakeLogs, try int) error { return tt.beforeSave(f, env.WebhookID, try) }
			}
			f.getErr = tt.getErr

			next, dec, err := RecordAttempt(context.Background(), f, prev, Attempt{Envelope: env, Body: []byte(`{}`), Result: tt.result, Count: 1}, policy, clock)
			if code := ErrorCode(err); code != tt.wantErr {
				t.Fatalf("error %v (code %q), want code %q", err, code, tt.wantErr)
			}
			if f.saves != tt.wantSaves || f.gets != tt.wantGets {
				t.Errorf("%d saves and %d reads, want %d and %d", f.saves, f.gets, tt.wantSaves, tt.wantGets)
			}
			stored := f.logs[env.WebhookID]
			switch {
			case tt.want == nil && stored != nil:
				t.Fatalf("stored %+v, want none", stored)
			case tt.want != nil && stored == nil:
				t.Fatal("no log stored")
			case tt.want != nil && (stored.Status != tt.want.status || stored.Attempts != tt.want.attempts || stored.Version != tt.want.version):
				t.Fatalf("stored %s with %d attempts at version %d, want %+v", stored.Status, stored.Attempts, stored.Version, *tt.want)
			}
			if err != nil {
				if next != nil {
					t.Errorf("returned log %+v with the error", next)
				}
				return
			}
			if next.Status != stored.Status || next.Version != stored.Version || dec.Status != stored.Status {
				t.Errorf("returned %s at version %d (decision %s), stored %s at version %d", next.Status, next.Version, dec.Status, stored.Status, stored.Version)
			}
		})
	}
}

// The decision over a re-read log is taken from that log, not the one first read: a manual
// retry keeps the schedule of the log as it is now.
func TestRecordAttemptDecidesOverTheFreshLog(t *testing.T) {
	env := testEnvelope()
	f := newFakeLogs()
	f.logs[env.WebhookID] = &Log{WebhookID: env.WebhookID, Status: StatusFailed, Attempts: 4, Version: 1}
	prev, _ := f.Get(context.Background(), env.WebhookID)
	retryAt := t0.Add(time.Hour)
	f.beforeSave = func(f *fakeLogs, try int) error {
		if try == 1 { // a recover put the webhook back on the schedule meanwhile
			f.rival(env.WebhookID, func(l *Log) { l.Status, l.NextRetryAt = StatusRetrying, &retryAt })
		}
		return nil
	}
	var seen []string
	keepSchedule := func(prev *Log, o Outcome, _ int) Decision {
		seen = append(seen, prev.Status)
		if prev.Status == StatusRetrying && prev.NextRetryAt != nil {
			return Decision{Status: StatusRetrying, Delay: prev.NextRetryAt.Sub(t0)}
		}
		return Decision{Status: StatusFailed}
	}
	next, _, err := RecordAttempt(context.Background(), f, prev, Attempt{Result: Result{StatusCode: 500}, Count: 1}, keepSchedule, func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != StatusFailed || seen[1] != StatusRetrying {
		t.Fatalf("decided over logs %v, want the first read then the fresh one", seen)
	}
	if next.Status != StatusRetrying || next.NextRetryAt == nil || !next.NextRetryAt.Equal(retryAt) || next.Attempts != 5 {
		t.Fatalf("log %s next retry %v attempts %d, want retrying at %v with 5", next.Status, next.NextRetryAt, next.Attempts, retryAt)
	}
}

// Each try reads the clock: a log saved after conflicts carries the time of its save.
func TestRecordAttemptReadsTheClockEachTry(t *testing.T) {
	env := testEnvelope()
	f := newFakeLogs()
	f.beforeSave = func(f *fakeLogs, try int) error {
		if try == 1 {
			f.logs[env.WebhookID] = &Log{WebhookID: env.WebhookID, Status: StatusRetrying, Attempts: 1, Version: 1}
		}
		return nil
	}
	ticks := 0
	clock := func() time.Time { ticks++; return t0.Add(time.Duration(ticks) * time.Second) }
	next, _, err := RecordAttempt(context.Background(), f, nil, Attempt{Envelope: env, Result: Result{StatusCode: 200}, Count: 1}, policyDecider(RetryPolicy{}), clock)
	if err != nil {
		t.Fatal(err)
	}
	if ticks != 2 || !next.UpdatedAt.Equal(t0.Add(2*time.Second)) {
		t.Fatalf("clock read %d times, log updated at %v", ticks, next.UpdatedAt)
	}
}

// A manual retry is an attempt of its own: it counts in Attempts but spends none of the
// automatic schedule, whose decisions see only the automatic attempts.
func TestManualAttemptsSpendNoSchedule(t *testing.T) {
	auto := policyDecider(RetryPolicy{Schedule: RetrySchedule{5 * time.Second, 10 * time.Second}})
	// The manual route's decision: a failure leaves a webhook on its schedule as it was.
	manual := func(prev *Log, o Outcome, _ int) Decision {
		switch {
		case o.Succeeded():
			return Decision{Status: StatusSuccess}
		case prev.Status == StatusRetrying && prev.NextRetryAt != nil:
			return Decision{Status: StatusRetrying, Delay: max(prev.NextRetryAt.Sub(t0), 0)}
		}
		return Decision{Status: StatusFailed}
	}
	ok, down := Result{StatusCode: 200}, Result{StatusCode: 500}
	type step struct {
		manual bool
		result Result
	}
	tests := []struct {
		name         string
		steps        []step
		wantStatus   string // after the last step
		wantAttempts int
		wantManual   int
	}{
		{"automatic only: three attempts end it", []step{{false, down}, {false, down}, {false, down}}, StatusFailed, 3, 0},
		{"a manual failure between automatic ones leaves the schedule whole",
			[]step{{false, down}, {true, down}, {false, down}}, StatusRetrying, 3, 1},
		{"the schedule still ends after its own three attempts",
			[]step{{false, down}, {true, down}, {true, down}, {false, down}, {false, down}}, StatusFailed, 5, 2},
		{"manual retries of a failed webhook", []step{{false, down}, {false, down}, {false, down}, {true, down}, {true, down}}, StatusFailed, 5, 2},
		{"a manual success ends it", []step{{false, down}, {true, ok}}, StatusSuccess, 2, 1},
		{"an automatic success after manual failures", []step{{false, down}, {true, down}, {true, down}, {false, ok}}, StatusSuccess, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := testEnvelope()
			var l *Log
			for i, s := range tt.steps {
				decide := auto
				if s.manual {
					decide = manual
				}
				next, _ := NextLog(l, Attempt{Envelope: env, Body: []byte(`{}`), Result: s.result, Count: 1, Manual: s.manual}, decide, t0.Add(time.Duration(i)*time.Second))
				l = next
			}
			if l.Status != tt.wantStatus || l.Attempts != tt.wantAttempts || l.ManualAttempts != tt.wantManual {
				t.Fatalf("log %s with %d attempts (%d manual), want %s with %d (%d manual)",
					l.Status, l.Attempts, l.ManualAttempts, tt.wantStatus, tt.wantAttempts, tt.wantManual)
			}
		})
	}
}

// An attempt cut short and sent again at once (the delivery function's hedge) counts in
// Attempts but spends none of the schedule: a dead endpoint still gets the schedule's every
// attempt after it.
func TestCutAttemptsSpendNoSchedule(t *testing.T) {
	auto := policyDecider(RetryPolicy{Schedule: RetrySchedule{5 * time.Second, 10 * time.Second}})
	resend := func(*Log, Outcome, int) Decision { return Decision{Status: StatusRetrying} }
	cut, down, ok := Result{Err: errors.New("cut short")}, Result{Err: errors.New("timed out")}, Result{StatusCode: 200}
	tests := []struct {
		name         string
		results      []Result // the first is cut
		wantStatus   string
		wantAttempts int
	}{
		{"a dead endpoint: the cut and the schedule's three", []Result{cut, down, down, down}, StatusFailed, 4},
		{"one short of the schedule", []Result{cut, down, down}, StatusRetrying, 3},
		{"answered once resent", []Result{cut, ok}, StatusSuccess, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l *Log
			for i, res := range tt.results {
				decide, a := auto, Attempt{Envelope: testEnvelope(), Body: []byte(`{}`), Result: res, Count: 1}
				if i == 0 {
					decide, a.Cut = resend, true
				}
				l, _ = NextLog(l, a, decide, t0.Add(time.Duration(i)*time.Second))
			}
			if l.Status != tt.wantStatus || l.Attempts != tt.wantAttempts || l.CutAttempts != 1 || l.AutomaticAttempts() != tt.wantAttempts-1 {
				t.Fatalf("log %s with %d attempts (%d cut), want %s with %d (1 cut)", l.Status, l.Attempts, l.CutAttempts, tt.wantStatus, tt.wantAttempts)
			}
		})
	}
}
