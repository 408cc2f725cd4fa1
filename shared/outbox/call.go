package outbox

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

// TypeCall is a request–answer call (contacts and groups, DESIGN.md §7): something the API
// asks of the live connection and answers with what WhatsApp said. A call is an outbox record
// like an action, so it travels the same way to the host holding the instance's lease, but it
// is never sent again: its answer is written on the record (Record.Result) and the API reads
// it back within CallAnswerBound.
const TypeCall Type = "call"

// The operations a call does.
const (
	OpContactsCheck = "contacts.check" // which numbers are on WhatsApp
	OpContactInfo   = "contacts.info"  // a user's names, about text and picture
)

// Call is what a call asks.
type Call struct {
	Op     string   `json:"op"`
	Phones []string `json:"phones,omitempty"` // contacts.check: normalised digits
	JID    string   `json:"jid,omitempty"`    // contacts.info: the user
	Group  *Group   `json:"group,omitempty"`  // the group calls (groups.go)
}

// Mutates reports whether the call changes something on WhatsApp. A call that does not may be
// done again by a host that takes the lease over; one that does is never done twice.
func (c *Call) Mutates() bool {
	switch c.Op {
	case OpContactsCheck, OpContactInfo, OpGroupsList, OpGroupInfo:
		return false
	case OpGroupInvite:
		return c.Group != nil && c.Group.Reset
	}
	return true
}

// The bounds of a call. The API answers within CallAnswerBound of the request, or 503
// unavailable; the host does not start a call after CallDeadline from its accept (the record's
// ExpiresAt), and gives WhatsApp's request a context that ends then, so a call the API gave up
// on has not taken effect, except one whose request was on its way to WhatsApp when the
// deadline passed: the API's last look, CallAnswerBound, is late enough to see its answer.
const (
	CallAnswerBound = 20 * time.Second
	CallDeadline    = 18 * time.Second
)

// MaxCheckPhones is the most numbers one contacts/check takes.
const MaxCheckPhones = 50

// CheckRequest is the body of POST contacts/check.
type CheckRequest struct {
	Phones []string `json:"phones"`
}

// ParseCheck decodes and validates a contacts/check body into its call: each number
// normalised as a recipient's is (spaces, dashes, parentheses, a leading + or 00), duplicates
// after normalising kept once.
func ParseCheck(body []byte) (*Message, error) {
	var r CheckRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	if len(r.Phones) == 0 || len(r.Phones) > MaxCheckPhones {
		return nil, invalid("phones", "give 1 to %d phone numbers", MaxCheckPhones)
	}
	phones := make([]string, 0, len(r.Phones))
	seen := map[string]bool{}
	for i, p := range r.Phones {
		d, err := NormalisePhone(indexed("phones", i), p)
		if err != nil {
			return nil, err
		}
		if !seen[d] {
			seen[d] = true
			phones = append(phones, d)
		}
	}
	return &Message{Chat: "contacts", Type: TypeCall, Call: &Call{Op: OpContactsCheck, Phones: phones}}, nil
}

// ParseContactJID reads GET contacts/{jid}'s path: a user (a number or a user JID, as
// ParseUser reads one); a group JID is refused, naming the field.
func ParseContactJID(field, s string) (*Message, error) {
	if strings.HasSuffix(s, "@"+GroupServer) {
		return nil, invalid(field, "%s is a group; give a user (an international phone number or <digits>@%s)", s, UserServer)
	}
	jid, err := ParseUser(field, s)
	if err != nil {
		return nil, err
	}
	return &Message{Chat: jid, Type: TypeCall, Call: &Call{Op: OpContactInfo, JID: jid}}, nil
}

// CallResult is a call's answer as the host writes it on the record: Data, or Error with the
// code the API answers (and, for unavailable, when to try again).
type CallResult struct {
	Data  json.RawMessage `json:"data,omitempty"`
	Error *CallError      `json:"error,omitempty"`
}

// CallError is a call WhatsApp or the host refused.
type CallError struct {
	Code         string `json:"code"` // a webhook.E* code
	Message      string `json:"message"`
	RetryAfterMs int64  `json:"retryAfterMs,omitempty"`
}

// Err returns the error the API answers for e.
func (e *CallError) Err() error {
	return &webhook.Error{Code: e.Code, Message: e.Message, RetryAfter: time.Duration(e.RetryAfterMs) * time.Millisecond}
}

// CheckResult is one number's answer to contacts/check.
type CheckResult struct {
	Phone      string  `json:"phone"`
	OnWhatsApp bool    `json:"onWhatsApp"`
	JID        *string `json:"jid"`
	IsBusiness bool    `json:"isBusiness"`
}

// ContactInfo is the answer of GET contacts/{jid}. PictureURL is null when the picture is
// hidden from this account or there is none.
type ContactInfo struct {
	JID          string  `json:"jid"`
	PushName     *string `json:"pushName"`
	BusinessName *string `json:"businessName"`
	About        *string `json:"about"`
	PictureURL   *string `json:"pictureUrl"`
	PictureID    *string `json:"pictureId"`
}
