package webhook

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Log states.
const (
	// StatusRetrying: failed at least once, another attempt is scheduled at NextRetryAt.
	StatusRetrying = "retrying"
	// StatusSuccess: an attempt got a 2xx answer. Final.
	StatusSuccess = "success"
	// StatusFailed: no attempt succeeded and none is scheduled. Final until a manual retry.
	StatusFailed = "failed"
)

// Statuses lists every log state.
var Statuses = []string{StatusRetrying, StatusSuccess, StatusFailed}

// IsStatus reports whether s is a log state.
func IsStatus(s string) bool {
	return s == StatusRetrying || s == StatusSuccess || s == StatusFailed
}

// NoDeliveryLeft begins the error of a log closed because no message was left to deliver it: its
// event went to the dead-letter queue, or a recover marked it retrying and was cut off before
// queueing it. Such a log is failed but not final for its event: a message of it that still
// arrives (a redrive, a retry that waited in a backlog) carries on with the log's schedule.
const NoDeliveryLeft = "no delivery left: the event reached the dead-letter queue or was never queued"

// Orphaned reports whether the log was closed for want of a message (Log.Unqueued) and has not
// been attempted since.
func (l *Log) Orphaned() bool {
	return l.Status == StatusFailed && l.Unqueued
}

// MaxResponseBytes bounds how much of an endpoint's answer a log keeps.
const MaxResponseBytes = 4096

// Log is the record of one webhook: every attempt to deliver it updates the same log.
type Log struct {
	ID          string          `json:"id"`
	WebhookID   string          `json:"webhookId"`
	InstanceID  string          `json:"instanceId,omitempty"`
	URL         string          `json:"url"`
	Event       string          `json:"event"`
	Payload     json.RawMessage `json:"payload"`
	Status      string          `json:"status"`
	StatusCode  *int            `json:"statusCode"`
	Response    json.RawMessage `json:"response"`
	Error       *string         `json:"error"`
	Attempts    int             `json:"attempts"`
	DurationMs  int64           `json:"durationMs"`
	NextRetryAt *time.Time      `json:"nextRetryAt"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`

	// Version counts the writes of the log; a store writes only over the version it read, so
	// two deliveries of one message can't both move the counters.
	Version int `json:"-"`
	// ManualAttempts is how many of Attempts manual retries made. The automatic schedule
	// decides on the rest, so a manual retry never shortens it.
	ManualAttempts int `json:"-"`
	// CutAttempts is how many of Attempts were cut short because they alone kept an
	// events-queue batch waiting, and sent again at once: they spend nothing of the schedule.
	CutAttempts int `json:"-"`
	// Unqueued marks a log closed because no message was left to deliver it (NoDeliveryLeft
	// says so in its error); the next attempt clears it.
	Unqueued bool `json:"-"`
	// Sent describes the request of the last HTTP attempt (nil when none was made); the
	// API shows it as requestHeaders.
	Sent *Sent `json:"-"`
}

// MarshalJSON writes times in the contract's layout.
func (l Log) MarshalJSON() ([]byte, error) {
	type plain Log
	var next *string
	if l.NextRetryAt != nil {
		s := FormatTime(*l.NextRetryAt)
		next = &s
	}
	return json.Marshal(struct {
		plain
		NextRetryAt    *string           `json:"nextRetryAt"`
		CreatedAt      string            `json:"createdAt"`
		UpdatedAt      string            `json:"updatedAt"`
		RequestHeaders map[string]string `json:"requestHeaders"`
	}{plain(l), next, FormatTime(l.CreatedAt), FormatTime(l.UpdatedAt), l.RequestHeaders()})
}

// ResponseBody returns what a log keeps of an endpoint's answer: at most MaxResponseBytes, as
// JSON when the whole body is JSON, otherwise as a JSON string. An empty body is null.
func ResponseBody(body []byte) json.RawMessage {
	if len(body) == 0 {
		return nil
	}
	if len(body) <= MaxResponseBytes && json.Valid(body) {
		return json.RawMessage(body)
	}
	if len(body) > MaxResponseBytes {
		body = body[:MaxResponseBytes]
		// Don't split a UTF-8 sequence at the cut.
		for len(body) > 0 && !utf8.Valid(body) {
			body = body[:len(body)-1]
		}
	}
	s, _ := json.Marshal(string(body))
	return s
}
