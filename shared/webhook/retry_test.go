package webhook

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestParseRetrySchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    RetrySchedule
		wantErr bool
	}{
		{"5s,10s,15s", DefaultRetryDelays, false},
		{" 1m , 1h ", RetrySchedule{time.Minute, time.Hour}, false},
		{"", RetrySchedule{}, false},
		{"5", nil, true},
		{"500ms", nil, true},
		{"13h", nil, true},
		{"12h", nil, true}, // SQS's limit counts from the receive, part of which is spent
		{"11h55m", RetrySchedule{MaxRetryDelay}, false},
		{"5s,,10s", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRetrySchedule(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !tt.wantErr && !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	p := RetryPolicy{Schedule: DefaultRetryDelays, MaxRetryAfter: time.Minute}
	refused := errors.New("connection refused")
	tests := []struct {
		name    string
		outcome Outcome
		attempt int
		want    Decision
	}{
		{"200 first", Outcome{StatusCode: 200}, 1, Decision{Status: StatusSuccess}},
		{"204 last", Outcome{StatusCode: 204}, 4, Decision{Status: StatusSuccess}},
		{"500 first", Outcome{StatusCode: 500}, 1, Decision{StatusRetrying, 5 * time.Second}},
		{"500 second", Outcome{StatusCode: 500}, 2, Decision{StatusRetrying, 10 * time.Second}},
		{"500 third", Outcome{StatusCode: 500}, 3, Decision{StatusRetrying, 15 * time.Second}},
		{"500 fourth is final", Outcome{StatusCode: 500}, 4, Decision{Status: StatusFailed}},
		{"network error", Outcome{Err: refused}, 1, Decision{StatusRetrying, 5 * time.Second}},
		{"2xx with error", Outcome{StatusCode: 200, Err: refused}, 1, Decision{StatusRetrying, 5 * time.Second}},
		{"410 is final at once", Outcome{StatusCode: 410}, 1, Decision{Status: StatusFailed}},
		{"redirect is a failure", Outcome{StatusCode: 302}, 1, Decision{StatusRetrying, 5 * time.Second}},
		{"retry-after later", Outcome{StatusCode: 429, RetryAfter: 30 * time.Second}, 1, Decision{StatusRetrying, 30 * time.Second}},
		{"retry-after sooner keeps schedule", Outcome{StatusCode: 503, RetryAfter: time.Second}, 2, Decision{StatusRetrying, 10 * time.Second}},
		{"retry-after capped", Outcome{StatusCode: 429, RetryAfter: time.Hour}, 1, Decision{StatusRetrying, time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := p.Decide(tt.outcome, tt.attempt); got != tt.want {
				t.Fatalf("Decide = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"30", 30 * time.Second},
		{"-5", 0},
		{"soon", 0},
		{"99999999", MaxRetryDelay},
		{now.Add(2 * time.Minute).Format(http.TimeFormat), 2 * time.Minute},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := ParseRetryAfter(tt.in, now); got != tt.want {
				t.Fatalf("ParseRetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// However long a Retry-After or a policy asks for, the delay stays within what SQS can hide a
// received message for, so the retry never comes early.
func TestDecideStaysWithinWhatSQSCanHide(t *testing.T) {
	p := RetryPolicy{Schedule: RetrySchedule{time.Second}, MaxRetryAfter: 48 * time.Hour}
	got := p.Decide(Outcome{StatusCode: 503, RetryAfter: 24 * time.Hour}, 1)
	if got.Status != StatusRetrying || got.Delay != MaxRetryDelay || got.Delay >= 12*time.Hour {
		t.Fatalf("Decide = %+v, want a retry after %s, under SQS's 12 h", got, MaxRetryDelay)
	}
}

func TestFitRedrive(t *testing.T) {
	long := RetrySchedule{time.Second, time.Second, time.Second, time.Second, time.Second}
	tests := []struct {
		name        string
		schedule    RetrySchedule
		maxReceives int
		wantErr     bool
	}{
		{"default schedule, default limit", DefaultRetryDelays, 10, false},
		{"default schedule, the least limit it fits", DefaultRetryDelays, 9, false},
		{"default schedule, one receive short", DefaultRetryDelays, 8, true},
		{"no retries", RetrySchedule{}, 6, false},
		{"no retries, no room for failures", RetrySchedule{}, 5, true},
		{"five retries, default limit", long, 10, true},
		{"five retries, raised limit", long, 11, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.schedule.FitRedrive(tt.maxReceives)
			if (err != nil) != tt.wantErr {
				t.Fatalf("FitRedrive(%d) = %v, wantErr %v", tt.maxReceives, err, tt.wantErr)
			}
		})
	}
}
