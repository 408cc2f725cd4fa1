package convert

import (
	"encoding/json"
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// receipt builds a receipt as whatsmeow's parseReceipt does: the source is the receipt's sender.
func receipt(src types.MessageSource, typ types.ReceiptType, ids ...types.MessageID) *events.Receipt {
	return &events.Receipt{MessageSource: src, MessageIDs: ids, Timestamp: t0, Type: typ}
}

// byAlice is Alice's receipt for messages this account sent her.
var byAlice = types.MessageSource{Chat: alice, Sender: aliceDevice}

func TestReceipt(t *testing.T) {
	tests := []struct {
		name string
		evt  *events.Receipt
	}{
		{"receipt_delivered", receipt(byAlice, types.ReceiptTypeDelivered, "3EB0AAAAAAAAAAAAAAAA")},
		{"receipt_read_several", receipt(byAlice, types.ReceiptTypeRead,
			"3EB0AAAAAAAAAAAAAAAA", "3EB0BBBBBBBBBBBBBBBB", "3EB0CCCCCCCCCCCCCCCC")},
		{"receipt_played", receipt(byAlice, types.ReceiptTypePlayed, "3EB0AAAAAAAAAAAAAAAA")},
		{"receipt_read_lid_dm", receipt(types.MessageSource{
			Chat: aliceLID, Sender: aliceLIDDev, SenderAlt: aliceDevice, AddressingMode: types.AddressingModeLID,
		}, types.ReceiptTypeRead, "3EB0AAAAAAAAAAAAAAAA")},
		{"receipt_read_group_lid_participant", receipt(types.MessageSource{
			Chat: group, Sender: bobLIDDev, SenderAlt: bobDevice, IsGroup: true, AddressingMode: types.AddressingModeLID,
		}, types.ReceiptTypeRead, "3EB0AAAAAAAAAAAAAAAA")},
		// This account read Alice's message on its phone with read receipts turned off.
		{"receipt_read_self", &events.Receipt{
			MessageSource: types.MessageSource{Chat: alice, Sender: me, IsFromMe: true},
			MessageIDs:    []types.MessageID{"3EB0DDDDDDDDDDDDDDDD"}, Timestamp: t0, Type: types.ReceiptTypeReadSelf,
			MessageSender: alice,
		}},
		{"receipt_played_self", &events.Receipt{
			MessageSource: types.MessageSource{Chat: alice, Sender: me, IsFromMe: true},
			MessageIDs:    []types.MessageID{"3EB0DDDDDDDDDDDDDDDD"}, Timestamp: t0, Type: types.ReceiptTypePlayedSelf,
			MessageSender: alice,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(Receipt(tt.evt))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, got)
		})
	}
}

// TestReceiptNotConverted covers receipt types that say nothing about delivery or reading.
func TestReceiptNotConverted(t *testing.T) {
	for _, typ := range []types.ReceiptType{
		types.ReceiptTypeRetry, types.ReceiptTypeSender, types.ReceiptTypeServerError,
		types.ReceiptTypeInactive, types.ReceiptTypePeerMsg, types.ReceiptTypeHistorySync, "some-future-type",
	} {
		if got := Receipt(receipt(byAlice, typ, "3EB0AAAAAAAAAAAAAAAA")); len(got) != 0 {
			t.Errorf("%q converted to %s", typ, got)
		}
	}
}
