package convert

import (
	"encoding/json"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/shared/webhook"
)

// Statuses of message.updated.
const (
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusPlayed    = "played"
	StatusEdited    = "edited"
	StatusDeleted   = "deleted"
	// StatusFailed is an outbox message that will not be sent (DESIGN.md §7).
	StatusFailed = "failed"
)

// updateData is the data of message.updated.
type updateData struct {
	MessageID string `json:"messageId"`
	ChatID    string `json:"chatId"`
	Status    string `json:"status"`
	Timestamp string `json:"timestamp"`
	By        string `json:"by"`
	// SenderLID is the LID of By, under the contract's one name for a user's LID.
	SenderLID string `json:"senderLid,omitempty"`
	// Body is the new text of an edit, present even when empty (a caption removed).
	Body *string `json:"body,omitempty"`
	// Error is why a message failed.
	Error string `json:"error,omitempty"`
}

// Failed is the data of the message.updated that reports an outbox message as failed: the
// message this account (own, the account's JID) was to send to chat will not be sent, for
// reason. It has the shape of the receipts' updates, by this account.
func Failed(messageID string, chat, own types.JID, reason string, at time.Time) json.RawMessage {
	d := updateData{
		MessageID: messageID, ChatID: chat.ToNonAD().String(), Status: StatusFailed,
		Timestamp: webhook.FormatTime(at), Error: reason,
	}
	d.By, d.SenderLID = person(own, types.JID{})
	return marshal(d)
}

// protocol converts the two protocol messages a person causes: a revoke ("delete for everyone",
// by the sender or a group admin) and an edit. Other protocol messages (history sync, app state
// keys, ephemeral settings, ...) are whatsmeow's business, not a webhook's. The message changed
// is pm.Key's id; its chat is the event's own chat, not pm.Key's RemoteJID, which is written
// from the sender's point of view (in a direct chat, our own JID).
func protocol(evt *events.Message, pm *waE2E.ProtocolMessage) (event string, data json.RawMessage, ok bool) {
	// REVOKE is the enum's zero value, so a missing type must not read as a revoke.
	if pm.Type == nil || pm.GetKey().GetID() == "" {
		return "", nil, false
	}
	d := updateData{
		MessageID: pm.GetKey().GetID(),
		ChatID:    chat(evt.Info.MessageSource),
		Timestamp: webhook.FormatTime(evt.Info.Timestamp),
	}
	d.By, d.SenderLID = person(evt.Info.Sender, evt.Info.SenderAlt)
	switch pm.GetType() {
	case waE2E.ProtocolMessage_REVOKE:
		d.Status = StatusDeleted
	case waE2E.ProtocolMessage_MESSAGE_EDIT:
		d.Status = StatusEdited
		body := editedText(pm.GetEditedMessage())
		d.Body = &body
	default:
		return "", nil, false
	}
	return webhook.EventMessageUpdated, marshal(d), true
}

// editedText is the text an edit leaves: the new text of a text message, or the new caption of
// a media message (the only two things WhatsApp lets a person edit).
func editedText(m *waE2E.Message) string {
	if m == nil {
		return ""
	}
	c, _ := classify(m)
	return c.body
}
