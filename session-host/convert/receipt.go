package convert

import (
	"encoding/json"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/shared/webhook"
)

// Receipt converts a receipt into the data of one message.updated event per message it covers,
// in the receipt's order. Receipts that say nothing about a message's delivery or reading
// (retry requests, our other devices' sender receipts, server errors, inactive, peer and history
// sync receipts) convert to none.
func Receipt(evt *events.Receipt) []json.RawMessage {
	status, ok := receiptStatus(evt.Type)
	if !ok {
		return nil
	}
	d := updateData{
		ChatID:    chat(evt.MessageSource),
		Status:    status,
		Timestamp: webhook.FormatTime(evt.Timestamp),
	}
	d.By, d.SenderLID = person(evt.Sender, evt.SenderAlt)
	out := make([]json.RawMessage, 0, len(evt.MessageIDs))
	for _, id := range evt.MessageIDs {
		d.MessageID = id
		out = append(out, marshal(d))
	}
	return out
}

// receiptStatus maps a receipt type to a message.updated status. The -self types are this
// account reading or playing a message on one of its devices while its privacy settings hide
// read receipts; they mean the same as read and played from this account with receipts on
// (which WhatsApp sends as plain read and played), so they map alike and by is this account.
func receiptStatus(t types.ReceiptType) (string, bool) {
	switch t {
	case types.ReceiptTypeDelivered:
		return StatusDelivered, true
	case types.ReceiptTypeRead, types.ReceiptTypeReadSelf:
		return StatusRead, true
	case types.ReceiptTypePlayed, types.ReceiptTypePlayedSelf:
		return StatusPlayed, true
	}
	return "", false
}
