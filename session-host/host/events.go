package host

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/session-host/convert"
	"github.com/wagate/wagate/session-host/sender"
	"github.com/wagate/wagate/shared/webhook"
)

// whatsappEvents is the Converter of a session: device returns the session's own id, empty
// until it is paired; store, when not nil, stores a message's file (see Media.Store).
func whatsappEvents(device func() types.JID, store func(*events.Message) *convert.Stored) Converter {
	return func(evt any) []Event {
		switch e := evt.(type) {
		case *events.Message:
			var stored *convert.Stored
			if store != nil {
				stored = store(e)
			}
			name, data, ok := convert.MessageStored(e, stored)
			if !ok {
				return nil
			}
			// A message is keyed by its id: WhatsApp redelivers an unacked one unchanged.
			return []Event{{Name: name, Data: data, Key: "msg/" + e.Info.Chat.String() + "/" + e.Info.ID, At: e.Info.Timestamp, Redelivered: true}}
		case *events.Receipt:
			datas := convert.Receipt(e)
			out := make([]Event, len(datas))
			for i, data := range datas {
				out[i] = Event{
					Name: webhook.EventMessageUpdated, Data: data, At: e.Timestamp,
					Key:         fmt.Sprintf("receipt/%s/%s/%s/%d", e.Type, e.Sender, e.Chat, i) + "/" + receiptID(e, i),
					Redelivered: true,
				}
			}
			return out
		case *events.GroupInfo:
			// Keyed by the notification (group, time, participant list version), the change's
			// place in it and what it says: WhatsApp's times are whole seconds, and two changes
			// in one second (a subject, then a description) are two events. The sink keeps them:
			// whether WhatsApp sends a notification again after a failed ack is not something to
			// count on.
			datas := convert.GroupInfo(e)
			out := make([]Event, len(datas))
			for i, data := range datas {
				sum := sha256.Sum256(data)
				out[i] = Event{
					Name: webhook.EventGroupUpdated, Data: data, At: e.Timestamp,
					Key: fmt.Sprintf("group/%s/%d/%s/%d/%x", e.JID, e.Timestamp.UnixNano(), e.ParticipantVersionID, i, sum[:8]),
				}
			}
			return out
		case *events.JoinedGroup:
			// This account was added to a group, or joined one by its link: a join of its own.
			// WhatsApp's notice carries no time; it happens once per joining.
			now := time.Now()
			data, ok := convert.JoinedGroup(e, device(), now)
			if !ok {
				return nil
			}
			return []Event{{Name: webhook.EventGroupUpdated, Data: data, At: now, Key: fmt.Sprintf("joined/%s/%d", e.JID, now.UnixNano())}}
		case sender.Sent:
			// Made by this host, not delivered by WhatsApp: nothing would deliver it again, so
			// the sink keeps it when the queue refuses it. Its file, just uploaded, is stored
			// like a received one (downloaded back from WhatsApp: what the recipient gets).
			var stored *convert.Stored
			if store != nil {
				stored = store(e.Message)
			}
			name, data, ok := convert.MessageStored(e.Message, stored)
			if !ok {
				return nil
			}
			return []Event{{Name: name, Data: data, Key: "msg/" + e.Message.Info.Chat.String() + "/" + e.Message.Info.ID, At: e.Message.Info.Timestamp}}
		case sender.Failure:
			// Keyed by the message: it fails once.
			return []Event{{Name: webhook.EventMessageUpdated, Data: convert.Failed(e.MessageID, e.Chat, device(), e.Reason, e.At), Key: "failed/" + e.MessageID, At: e.At}}
		case *events.QR:
			if len(e.Codes) == 0 {
				return nil
			}
			return []Event{{Name: webhook.EventSessionStatus, Data: convert.QR(e.Codes[0]), Key: "qr/" + e.Codes[0], At: time.Now()}}
		default:
			data, ok := convert.SessionStatus(evt, device())
			if !ok {
				return nil
			}
			// Each status change is its own occurrence.
			now := time.Now()
			return []Event{{Name: webhook.EventSessionStatus, Data: data, Key: fmt.Sprintf("status/%T/", evt) + strconv.FormatInt(now.UnixNano(), 10), At: now}}
		}
	}
}

func receiptID(e *events.Receipt, i int) string {
	if i < len(e.MessageIDs) {
		return e.MessageIDs[i]
	}
	return ""
}
