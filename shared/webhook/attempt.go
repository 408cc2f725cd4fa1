package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Result is what an endpoint answered to one attempt, or why it didn't.
type Result struct {
	StatusCode int    // 0 when no answer came
	Body       []byte // at most MaxResponseBytes+1 bytes of the answer
	Err        error
	RetryAfter time.Duration
	Duration   time.Duration
	// Sent describes the request when one was made (its headers were set and it went to the
	// transport, whatever came of it); nil when the attempt stopped before (a bad URL).
	Sent *Sent
	// Unwritten is set when the attempt ended before its request went out whole (while
	// connecting, say): the endpoint cannot have it.
	Unwritten bool
}

// Outcome is the result as the retry policy sees it.
func (r Result) Outcome() Outcome {
	return Outcome{StatusCode: r.StatusCode, Err: r.Err, RetryAfter: r.RetryAfter}
}

// ErrorText is what a log records as the attempt's error: the transport error, or a short
// description of an answer that was not a success.
func (r Result) ErrorText() *string {
	var s string
	switch {
	case r.Err != nil:
		s = r.Err.Error()
	case r.StatusCode >= 300 && r.StatusCode < 400:
		s = fmt.Sprintf("HTTP %d: redirects are not followed", r.StatusCode)
	case r.StatusCode < 200 || r.StatusCode >= 300:
		s = fmt.Sprintf("HTTP %d %s", r.StatusCode, http.StatusText(r.StatusCode))
	default:
		return nil
	}
	return &s
}

// Attempt is one attempt to record in a webhook's log.
type Attempt struct {
	Envelope *Envelope // the event; read for a webhook's first attempt, which creates its log
	Body     []byte    // the exact body sent, kept as a new log's payload
	URL      string    // "" keeps the log's URL
	Result   Result
	Count    int // 1, or 0 when no request was made
	// Manual marks an attempt of a manual retry, which Log.ManualAttempts counts apart.
	Manual bool
	// Cut marks an attempt cut short and sent again at once, which Log.CutAttempts counts
	// apart.
	Cut bool
}

// AutomaticAttempts is how many of the log's attempts the automatic schedule made: the number
// the retry policy decides on.
func (l *Log) AutomaticAttempts() int { return l.Attempts - l.ManualAttempts - l.CutAttempts }

// Decider picks the state of a log after an attempt, from the log as it was before (nil for a
// webhook's first attempt), the attempt's outcome and the number of automatic attempts the log
// then counts (Log.AutomaticAttempts). RetryPolicy.Decide, with prev ignored, is the delivery
// function's.
type Decider func(prev *Log, o Outcome, attempts int) Decision

// NextLog returns the log after attempt a over prev (nil for a webhook's first attempt), in
// the state decide picks, and that decision. A log that is already final is never reopened by
// a failure; an orphaned one (Log.Orphaned) is not final, as the attempt is the message its
// reconciliation found missing.
func NextLog(prev *Log, a Attempt, decide Decider, now time.Time) (*Log, Decision) {
	now = now.UTC()
	var next *Log
	if prev != nil {
		stored := *prev
		next = &stored
	} else {
		env := a.Envelope
		next = &Log{
			ID: NewLogID(now), WebhookID: env.WebhookID, InstanceID: env.InstanceID,
			Event: env.Event, Payload: json.RawMessage(a.Body), CreatedAt: now,
		}
		if created, ok := WebhookIDTime(env.WebhookID); ok {
			next.CreatedAt = created // counted on the day the event happened, whoever records it
		}
	}
	if a.URL != "" {
		next.URL = a.URL
	}
	next.Attempts += a.Count
	if a.Manual {
		next.ManualAttempts += a.Count
	}
	if a.Cut {
		next.CutAttempts += a.Count
	}
	if a.Result.Sent != nil {
		sent := *a.Result.Sent
		next.Sent = &sent
	}
	next.UpdatedAt = now
	next.NextRetryAt = nil
	next.Unqueued = false

	dec := decide(prev, a.Result.Outcome(), next.AutomaticAttempts())
	if prev != nil && prev.Status != StatusRetrying && !prev.Orphaned() && dec.Status != StatusSuccess {
		// Already final: a failure doesn't reopen it, nor overwrite the answer of a success.
		dec = Decision{Status: prev.Status}
		if prev.Status == StatusSuccess {
			return next, dec
		}
	}
	if dec.Status == StatusRetrying {
		at := now.Add(dec.Delay)
		next.NextRetryAt = &at
	}
	next.Status = dec.Status
	next.StatusCode = nil
	if a.Result.StatusCode != 0 {
		code := a.Result.StatusCode
		next.StatusCode = &code
	}
	next.Response = ResponseBody(a.Result.Body)
	next.Error = a.Result.ErrorText()
	next.DurationMs = a.Result.Duration.Milliseconds()
	return next, dec
}

// LogStore is what RecordAttempt needs of a log store. Save writes next only over prev, the
// version read (nil: only when no log exists), and answers an EConflict error when the stored
// log is no longer prev.
type LogStore interface {
	Get(ctx context.Context, webhookID string) (*Log, error)
	Save(ctx context.Context, prev, next *Log) error
}

// saveTries bounds how often RecordAttempt applies an attempt over a log that keeps changing.
const saveTries = 5

// RecordAttempt saves attempt a over prev, the webhook's log as read (nil when it has none
// yet). When the log changed meanwhile (another copy of the message was delivered, a manual
// retry or a clear ran), it reads the log again and applies a over the fresh one, at most
// saveTries saves in all. now is read at each try. It returns the log saved and the decision
// taken; with an error, a is not recorded.
func RecordAttempt(ctx context.Context, logs LogStore, prev *Log, a Attempt, decide Decider, now func() time.Time) (*Log, Decision, error) {
	for try := 1; ; try++ {
		next, dec := NextLog(prev, a, decide, now())
		err := logs.Save(ctx, prev, next)
		if err == nil {
			return next, dec, nil
		}
		if ErrorCode(err) != EConflict {
			return nil, Decision{}, fmt.Errorf("record attempt: %w", err)
		}
		if try == saveTries {
			return nil, Decision{}, fmt.Errorf("record attempt: gave up after %d conflicting saves: %w", saveTries, err)
		}
		if prev, err = logs.Get(ctx, next.WebhookID); err != nil {
			return nil, Decision{}, fmt.Errorf("record attempt: re-read log after a conflict: %w", err)
		}
	}
}
