package outbox

import (
	"fmt"
	"time"
)

// Status is where an accepted message is on its way (DESIGN.md §7).
type Status string

// The statuses, in the order a message moves through them. Failed is final; receipts may skip
// steps (a read receipt can come without a delivered one).
const (
	StatusQueued    Status = "queued"    // accepted, waiting for its turn in its chat and the pace
	StatusSending   Status = "sending"   // handed to WhatsApp; no server ack yet
	StatusSent      Status = "sent"      // WhatsApp's server acknowledged it
	StatusDelivered Status = "delivered" // the recipient's phone has it
	StatusRead      Status = "read"
	StatusPlayed    Status = "played" // a voice note or video was played
	StatusFailed    Status = "failed"
)

// rank orders the statuses a message moves forward through.
var rank = map[Status]int{
	StatusQueued: 0, StatusSending: 1, StatusSent: 2, StatusDelivered: 3, StatusRead: 4, StatusPlayed: 5,
}

// IsStatus reports whether s is a status.
func IsStatus(s string) bool {
	_, ok := rank[Status(s)]
	return ok || Status(s) == StatusFailed
}

// Pending reports whether a message with this status is still to be sent.
func (s Status) Pending() bool { return s == StatusQueued || s == StatusSending }

// Advances reports whether a message may move from s to next: forward only, and never out of
// failed. A message WhatsApp acknowledged cannot fail any more; a receipt that comes late
// (delivered after read) does not move it back.
func (s Status) Advances(next Status) bool {
	if s == StatusFailed {
		return false
	}
	if next == StatusFailed {
		return s.Pending()
	}
	r, ok := rank[next]
	return ok && r > rank[s]
}

// DefaultTTL is how long an accepted message may wait to be sent before it fails.
const DefaultTTL = 24 * time.Hour

// Record is one accepted message as the outbox keeps it.
type Record struct {
	InstanceID string
	// MessageID is the WhatsApp message id, fixed when the message is accepted and reused by
	// every attempt, so a resend after a crash is the same message to the recipient.
	MessageID string
	// Seq orders the messages of one chat of one instance: they leave in Seq order.
	Seq     int64
	Message *Message // Message.Chat is the chat

	Status   Status
	Error    string // why it failed, "" otherwise
	Attempts int    // hand-overs to WhatsApp
	// NextAttemptAt is when a message whose last attempt failed transiently is tried again;
	// nil when it may go now.
	NextAttemptAt *time.Time

	AcceptedAt time.Time
	SentAt     *time.Time // WhatsApp's server timestamp of the ack
	UpdatedAt  time.Time
	// ExpiresAt is when a message still pending fails (its time to live).
	ExpiresAt time.Time
	// Result is a call's answer (a CallResult's JSON), written when the host did it; nil for
	// messages and other actions.
	Result []byte
	// Version counts the record's writes; a write is conditional on the version it read.
	Version int
}

// Move returns a copy of r moved to status next at now, with reason for a failure, or an
// error when the move goes backwards or leaves a final status.
func (r *Record) Move(next Status, reason string, now time.Time) (*Record, error) {
	if !r.Status.Advances(next) {
		return nil, fmt.Errorf("message %s: %s cannot become %s", r.MessageID, r.Status, next)
	}
	n := *r
	n.Status, n.UpdatedAt, n.Version = next, now, r.Version+1
	if next == StatusFailed {
		n.Error = reason
	}
	return &n, nil
}
