package webhook

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"time"

	"github.com/oklog/ulid/v2"
)

// Event names, as sent in the envelope's "event" field and the X-Webhook-Event header.
const (
	EventSessionStatus   = "session.status"
	EventMessageReceived = "message.received"
	EventMessageSent     = "message.sent"
	EventMessageUpdated  = "message.updated"
	EventGroupUpdated    = "group.updated"
	EventWebhookTest     = "webhook.test"
)

// Events lists every event a webhook can carry.
var Events = []string{EventSessionStatus, EventMessageReceived, EventMessageSent, EventMessageUpdated, EventGroupUpdated, EventWebhookTest}

// IsEvent reports whether name is a known event.
func IsEvent(name string) bool {
	for _, e := range Events {
		if e == name {
			return true
		}
	}
	return false
}

// TimeLayout is the one timestamp format of the contract: RFC 3339, UTC, milliseconds, "Z".
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime formats t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// Envelope is the JSON body of every webhook.
type Envelope struct {
	Event      string          `json:"event"`
	InstanceID string          `json:"instanceId"`
	Timestamp  string          `json:"timestamp"`
	WebhookID  string          `json:"webhookId"`
	Data       json.RawMessage `json:"data"`
}

// Validate checks the fields every queued envelope must have.
func (e *Envelope) Validate() error {
	switch {
	case !IsEvent(e.Event):
		return Errorf(EInvalid, "event: unknown event %q", e.Event)
	case e.WebhookID == "":
		return Errorf(EInvalid, "webhookId: required")
	case e.Timestamp == "":
		return Errorf(EInvalid, "timestamp: required")
	case len(e.Data) == 0 || !json.Valid(e.Data):
		return Errorf(EInvalid, "data: must be a JSON value")
	}
	if _, err := time.Parse(TimeLayout, e.Timestamp); err != nil {
		return Errorf(EInvalid, "timestamp: must look like 2024-01-01T00:00:00.000Z")
	}
	return nil
}

// NewWebhookID returns a new webhook id: "wh_" and a ULID, so ids sort by creation time.
func NewWebhookID(now time.Time) string {
	return "wh_" + ulid.MustNew(ulid.Timestamp(now), rand.Reader).String()
}

// NewLogID returns a new log id, distinct from the webhook id as in the seed's schema.
func NewLogID(now time.Time) string {
	return "log_" + ulid.MustNew(ulid.Timestamp(now), rand.Reader).String()
}

// WebhookIDTime returns the creation time encoded in a webhook id, and false for an id that is
// not one of ours.
func WebhookIDTime(id string) (time.Time, bool) {
	if len(id) != 3+ulid.EncodedSize || id[:3] != "wh_" {
		return time.Time{}, false
	}
	u, err := ulid.ParseStrict(id[3:])
	if err != nil {
		return time.Time{}, false
	}
	return ulid.Time(u.Time()).UTC(), true
}

// FirstWebhookID and LastWebhookID are the least and greatest webhook ids that can carry a
// time in t's millisecond: bounds for a range of ids by time. A time outside the range a ULID
// can carry (before 1970, or after the year 10889) is taken as the nearest one it can, so a
// bound from any time a client sends is an id.
func FirstWebhookID(t time.Time) string { return idBound(t, 0x00) }

// LastWebhookID: see FirstWebhookID.
func LastWebhookID(t time.Time) string { return idBound(t, 0xff) }

func idBound(t time.Time, fill byte) string {
	ms := ulid.MaxTime()
	switch {
	case t.Before(time.UnixMilli(0)):
		ms = 0
	case t.Before(ulid.Time(ulid.MaxTime())):
		ms = ulid.Timestamp(t)
	}
	var u ulid.ULID
	if err := u.SetTime(ms); err != nil {
		panic(err) // ms is within range
	}
	for i := 6; i < len(u); i++ {
		u[i] = fill
	}
	return "wh_" + u.String()
}

// PrevWebhookID returns the greatest webhook id less than id, so a range read can step past
// an id with an inclusive bound. id must be a valid webhook id.
func PrevWebhookID(id string) string {
	u, err := ulid.ParseStrict(id[3:])
	if err != nil {
		return id
	}
	for i := len(u) - 1; i >= 0; i-- {
		u[i]--
		if u[i] != 0xff {
			break
		}
	}
	return "wh_" + u.String()
}

// DeriveWebhookID returns the webhook id of an event that can be seen more than once, such
// as a WhatsApp message redelivered after a failed ack: the time part is t, the random part
// comes from key, so the same event gets the same id and receivers can drop the copy.
func DeriveWebhookID(t time.Time, key string) string {
	var u ulid.ULID
	if err := u.SetTime(ulid.Timestamp(t)); err != nil {
		panic(err) // only for times past the year 10889
	}
	sum := sha256.Sum256([]byte(key))
	copy(u[6:], sum[:10])
	return "wh_" + u.String()
}
