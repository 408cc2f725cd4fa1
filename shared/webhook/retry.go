package webhook

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultRetryDelays is the seed's schedule: retries 5 s, 10 s and 15 s after each failure, so
// at most four attempts.
var DefaultRetryDelays = RetrySchedule{5 * time.Second, 10 * time.Second, 15 * time.Second}

// MaxRetryDelay is the longest a message can be hidden for its next attempt. SQS refuses a
// visibility timeout that would keep a message hidden more than 12 hours after it was
// received, and the delivery function has spent part of that by the time it hides the
// message; a refused hide brings the message back after the queue's own timeout, minutes
// instead of hours: the retry would go early, silently. Five minutes short of 12 hours
// leaves room for the longest invocation.
const MaxRetryDelay = 12*time.Hour - 5*time.Minute

// RetrySchedule is the delay before each automatic retry; its length is the number of retries.
type RetrySchedule []time.Duration

// ParseRetrySchedule parses a comma-separated list of Go durations, e.g. "5s,10s,15s". An empty
// string is a schedule with no retries.
func ParseRetrySchedule(s string) (RetrySchedule, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return RetrySchedule{}, nil
	}
	var out RetrySchedule
	for i, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("retry delay %d: %w", i+1, err)
		}
		if d < time.Second || d > MaxRetryDelay {
			return nil, fmt.Errorf("retry delay %d: %s is outside 1s..%s (SQS hides a message at most 12 h after it was received)", i+1, d, MaxRetryDelay)
		}
		out = append(out, d)
	}
	return out, nil
}

// InfraReceives is how many receives of an event the events queue's redrive limit must leave
// beside the schedule's attempts: every attempt is one receive, and every infrastructure
// failure (a table or the queue unreachable, a crash, a throttled invocation) spends one more.
// Five is AWS's advice for the redrive limit of a Lambda function's SQS source.
const InfraReceives = 5

// FitRedrive reports an error when the schedule's attempts and InfraReceives take more than
// maxReceives, the events queue's maxReceiveCount: a webhook could reach the dead-letter queue
// before its schedule ends, its log left retrying.
func (s RetrySchedule) FitRedrive(maxReceives int) error {
	attempts := len(s) + 1
	if need := attempts + InfraReceives; need > maxReceives {
		return fmt.Errorf("%d retries make %d attempts, which with %d receives kept for infrastructure failures need a redrive limit of at least %d; the events queue's is %d",
			len(s), attempts, InfraReceives, need, maxReceives)
	}
	return nil
}

// Outcome is what one HTTP attempt came to.
type Outcome struct {
	StatusCode int // 0 when no answer came
	Err        error
	RetryAfter time.Duration // from a Retry-After header on 429 or 503, else 0
}

// Succeeded reports whether the endpoint accepted the webhook.
func (o Outcome) Succeeded() bool {
	return o.Err == nil && o.StatusCode >= 200 && o.StatusCode < 300
}

// Decision is what happens to a webhook after an attempt.
type Decision struct {
	Status string
	Delay  time.Duration // before the next attempt, when Status is StatusRetrying
}

// RetryPolicy decides the state of a webhook after each attempt.
type RetryPolicy struct {
	Schedule RetrySchedule
	// MaxRetryAfter caps how long a Retry-After header may postpone the next attempt.
	MaxRetryAfter time.Duration
}

// Decide returns the state after an attempt that ended in o, attempt being its 1-based number
// in the current round of automatic retries.
func (p RetryPolicy) Decide(o Outcome, attempt int) Decision {
	switch {
	case o.Succeeded():
		return Decision{Status: StatusSuccess}
	case o.StatusCode == 410: // the endpoint says it is gone for good
		return Decision{Status: StatusFailed}
	case attempt < 1 || attempt > len(p.Schedule):
		return Decision{Status: StatusFailed}
	}
	delay := p.Schedule[attempt-1]
	// Retry-After can only push the next attempt later, and no further than the cap.
	if ra := min(o.RetryAfter, p.MaxRetryAfter); ra > delay {
		delay = ra
	}
	return Decision{Status: StatusRetrying, Delay: min(delay, MaxRetryDelay)}
}

// ParseRetryAfter reads a Retry-After header value (seconds or an HTTP date) relative to now.
// It returns 0 when the value is missing or unreadable.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, int64(MaxRetryDelay/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}
