package outbox

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

// The action types: what the session host does in a chat besides sending a message. They are
// outbox records like messages, so that an accepted action is durable, keeps its place in
// the chat and can be read back by id, but POST messages' "type" does not take them: each has
// its own route.
const (
	TypeEdit     Type = "edit"     // Edit: change the text or caption of a message sent earlier
	TypeRevoke   Type = "revoke"   // Revoke: delete a message sent earlier, for everyone
	TypeRead     Type = "read"     // Read: read receipts for received messages
	TypePresence Type = "presence" // Presence: typing, recording or paused in the chat
)

// IsAction reports whether t is an action rather than a message.
func (t Type) IsAction() bool {
	switch t {
	case TypeEdit, TypeRevoke, TypeRead, TypePresence, TypeCall:
		return true
	}
	return false
}

// Paced reports whether records of type t wait for their turn in the chat and for the
// instance's pace. Read receipts and presence are not sends a ban is counted on, and are
// worthless late (a "typing…" shown after the message it announced), so the host does them
// at once.
// Calls are answered while the API waits, so they do not queue behind sends either (contact
// lookups have a pace of their own on the host).
func (t Type) Paced() bool { return t != TypeRead && t != TypePresence && t != TypeCall }

// Edit changes the text of a text message, or the caption of an image, video or document,
// that this account sent through the outbox. Exactly one of Text and Caption is set.
type Edit struct {
	MessageID string `json:"messageId"`
	Text      string `json:"text,omitempty"`
	Caption   string `json:"caption,omitempty"`
}

// Revoke deletes a message this account sent through the outbox, for everyone in the chat.
type Revoke struct {
	MessageID string `json:"messageId"`
}

// Read marks received messages of the chat read. Sender is whose messages they are, set in
// groups only (a receipt there names the participant).
type Read struct {
	MessageIDs []string `json:"messageIds"`
	Sender     string   `json:"sender,omitempty"`
}

// Presence is the chat presence to show.
type Presence struct {
	State string `json:"state"`
}

// The presence states, as WhatsApp's chat states name them.
const (
	PresenceTyping    = "typing"
	PresenceRecording = "recording"
	PresencePaused    = "paused"
)

// WhatsApp's windows for changing a sent message. EditWindow is WhatsApp's own 20 minutes;
// RevokeWindow is kept under the "about two days" WhatsApp allows for deleting for everyone,
// so a revoke the API accepts is one WhatsApp still takes when the host sends it.
const (
	EditWindow   = 20 * time.Minute
	RevokeWindow = 48 * time.Hour
)

// MaxReadMessages bounds the ids of one read request.
const MaxReadMessages = 100

// EditRequest is the body of PUT messages/{messageId}: the new text, or the new caption.
type EditRequest struct {
	Text    *string `json:"text"`
	Caption *string `json:"caption"`
}

// ParseEdit decodes and checks an edit's body on its own; Edit checks it against its target.
func ParseEdit(body []byte) (*EditRequest, error) {
	var r EditRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	if (r.Text == nil) == (r.Caption == nil) {
		return nil, invalid("body", "give exactly one of text (for a text message) or caption (for an image, video or document)")
	}
	return &r, nil
}

// Edit returns the edit of target that r asks for, at now, or an error: ENotFound for an
// action, EConflict for a failed target or one past EditWindow, EInvalid for the wrong field
// or content out of bounds.
func (r *EditRequest) Edit(target *Record, now time.Time) (*Message, error) {
	if err := changeable(target, "edited", EditWindow, now); err != nil {
		return nil, err
	}
	t := target.Message.Type
	e := &Edit{MessageID: target.MessageID}
	switch {
	case t == TypeText:
		if r.Text == nil {
			return nil, invalid("caption", "message %s is a text message: give text", target.MessageID)
		}
		switch {
		case blank(*r.Text):
			return nil, invalid("text", "must not be empty or only white space")
		case length(*r.Text) > MaxTextLength:
			return nil, invalid("text", "longer than %d characters", MaxTextLength)
		}
		e.Text = *r.Text
	case t == TypeImage || t == TypeVideo || t == TypeDocument:
		if r.Caption == nil {
			return nil, invalid("text", "message %s is a %s: give caption", target.MessageID, t)
		}
		switch {
		case blank(*r.Caption):
			return nil, invalid("caption", "must not be empty or only white space")
		case length(*r.Caption) > MaxCaptionLength:
			return nil, invalid("caption", "longer than %d characters", MaxCaptionLength)
		}
		e.Caption = *r.Caption
	default:
		field := "text"
		if r.Caption != nil {
			field = "caption"
		}
		return nil, invalid(field, "message %s is a %s, which WhatsApp cannot edit; only text messages and the captions of images, videos and documents can be", target.MessageID, t)
	}
	return &Message{Chat: target.Message.Chat, Type: TypeEdit, Edit: e}, nil
}

// RevokeOf returns the revoke of target at now, or an error as Edit's.
func RevokeOf(target *Record, now time.Time) (*Message, error) {
	if err := changeable(target, "revoked", RevokeWindow, now); err != nil {
		return nil, err
	}
	return &Message{Chat: target.Message.Chat, Type: TypeRevoke, Revoke: &Revoke{MessageID: target.MessageID}}, nil
}

// Changeable checks that target can still take m, an edit or a revoke, as the API checked
// when it accepted m: the host checks again when it sends m, since target may have been sent
// late.
func (m *Message) Changeable(target *Record, now time.Time) error {
	switch {
	case m.Edit != nil:
		return changeable(target, "edited", EditWindow, now)
	case m.Revoke != nil:
		return changeable(target, "revoked", RevokeWindow, now)
	}
	return fmt.Errorf("outbox: a %s message changes no other", m.Type)
}

// changeable checks that target is a message this account can still edit or revoke: not an
// action, not failed, and sent no longer than window ago. A message not yet sent can be: the
// host sends the change after it, in the chat's order.
func changeable(target *Record, verb string, window time.Duration, now time.Time) error {
	switch {
	case target.Message.Type.IsAction():
		return webhook.Errorf(webhook.ENotFound, "messageId: %s is a %s action, not a message; only messages can be %s", target.MessageID, target.Message.Type, verb)
	case target.Status == StatusFailed:
		return webhook.Errorf(webhook.EConflict, "messageId: message %s failed and was never sent, so it cannot be %s", target.MessageID, verb)
	case target.SentAt != nil && now.After(target.SentAt.Add(window)):
		return webhook.Errorf(webhook.EConflict, "messageId: message %s was sent at %s; WhatsApp lets a message be %s within %s of sending", target.MessageID, webhook.FormatTime(*target.SentAt), verb, windowText(window))
	}
	return nil
}

func windowText(d time.Duration) string {
	if d%time.Hour == 0 {
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	}
	return strconv.Itoa(int(d/time.Minute)) + " minutes"
}

// ReadRequest is the body of POST chats/{chatId}/read.
type ReadRequest struct {
	MessageIDs []string `json:"messageIds"`
	Sender     *string  `json:"sender"`
}

// ParseRead decodes and validates a read request for chat, a JID as ParseChat returns.
func ParseRead(chat string, body []byte) (*Message, error) {
	var r ReadRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	return r.Validate(chat)
}

// Validate checks r for chat and returns its Message.
func (r *ReadRequest) Validate(chat string) (*Message, error) {
	if len(r.MessageIDs) == 0 || len(r.MessageIDs) > MaxReadMessages {
		return nil, invalid("messageIds", "give 1 to %d WhatsApp message ids", MaxReadMessages)
	}
	seen := map[string]bool{}
	for i, id := range r.MessageIDs {
		f := indexed("messageIds", i)
		if err := validateMessageID(f, id); err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, invalid(f, "%s is listed more than once", id)
		}
		seen[id] = true
	}
	read := &Read{MessageIDs: r.MessageIDs}
	group := strings.HasSuffix(chat, "@"+GroupServer)
	switch {
	case r.Sender == nil && group:
		return nil, invalid("sender", "required in a group: the user whose messages these are")
	case r.Sender != nil && !group:
		return nil, invalid("sender", "only in a group; in a one-to-one chat the messages are the chat's")
	case r.Sender != nil:
		sender, err := ParseUser("sender", *r.Sender)
		if err != nil {
			return nil, err
		}
		read.Sender = sender
	}
	return &Message{Chat: chat, Type: TypeRead, Read: read}, nil
}

// PresenceRequest is the body of POST chats/{chatId}/presence.
type PresenceRequest struct {
	State *string `json:"state"`
}

// ParsePresence decodes and validates a presence request for chat.
func ParsePresence(chat string, body []byte) (*Message, error) {
	var r PresenceRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	return r.Validate(chat)
}

// Validate checks r for chat and returns its Message.
func (r *PresenceRequest) Validate(chat string) (*Message, error) {
	if r.State == nil {
		return nil, invalid("state", "required: one of %s, %s, %s", PresenceTyping, PresenceRecording, PresencePaused)
	}
	switch *r.State {
	case PresenceTyping, PresenceRecording, PresencePaused:
	default:
		return nil, invalid("state", "%q is not a presence: one of %s, %s, %s", *r.State, PresenceTyping, PresenceRecording, PresencePaused)
	}
	return &Message{Chat: chat, Type: TypePresence, Presence: &Presence{State: *r.State}}, nil
}
