package host

import (
	"encoding/json"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/shared/webhook"
)

func TestWhatsAppEvents(t *testing.T) {
	own := types.JID{User: "6283841581033", Device: 3, Server: types.DefaultUserServer}
	conv := whatsappEvents(func() types.JID { return own }, nil)
	contact := types.JID{User: "6281234567890", Server: types.DefaultUserServer}
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	msg := &events.Message{
		Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: contact, Sender: contact},
			ID:            "3EB0AA", Timestamp: at, PushName: "Budi",
		},
		Message: &waE2E.Message{Conversation: proto.String("Hello!")},
	}
	receipt := &events.Receipt{
		MessageSource: types.MessageSource{Chat: contact, Sender: contact},
		MessageIDs:    []string{"3EB0AA", "3EB0AB"}, Timestamp: at, Type: types.ReceiptTypeRead,
	}
	tests := []struct {
		name   string
		evt    any
		events []string
		field  string // a data field that must be set on the first event
	}{
		{"message", msg, []string{webhook.EventMessageReceived}, "messageId"},
		{"receipt of two messages", receipt, []string{webhook.EventMessageUpdated, webhook.EventMessageUpdated}, "status"},
		{"qr", &events.QR{Codes: []string{"2@code1", "2@code2"}}, []string{webhook.EventSessionStatus}, "qr"},
		{"connected", &events.Connected{}, []string{webhook.EventSessionStatus}, "phoneNumber"},
		{"ignored", &events.PushNameSetting{}, nil, ""},
		{"group promotion and subject", &events.GroupInfo{
			JID: types.NewJID("120363025246125486", types.GroupServer), Sender: &contact, Timestamp: at,
			Promote: []types.JID{own}, Name: &types.GroupName{Name: "Riders"},
		}, []string{webhook.EventGroupUpdated, webhook.EventGroupUpdated}, "groupId"},
		{"added to a group", &events.JoinedGroup{
			Sender: &contact, GroupInfo: types.GroupInfo{JID: types.NewJID("120363025246125486", types.GroupServer)},
		}, []string{webhook.EventGroupUpdated}, "participants"},
		{"group change without an action", &events.GroupInfo{
			JID: types.NewJID("120363025246125486", types.GroupServer), Timestamp: at, Ephemeral: &types.GroupEphemeral{IsEphemeral: true},
		}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := conv(tt.evt)
			if len(got) != len(tt.events) {
				t.Fatalf("%d events, want %d", len(got), len(tt.events))
			}
			keys := map[string]bool{}
			for i, e := range got {
				if e.Name != tt.events[i] || e.At.IsZero() || keys[e.Key] {
					t.Fatalf("event %d: %+v", i, e)
				}
				keys[e.Key] = true
			}
			if tt.field != "" {
				var data map[string]any
				if err := json.Unmarshal(got[0].Data, &data); err != nil || data[tt.field] == nil {
					t.Fatalf("data %s lacks %s", got[0].Data, tt.field)
				}
			}
		})
	}
	t.Run("two changes in one second are two events", func(t *testing.T) {
		group := types.NewJID("120363025246125486", types.GroupServer)
		subject := conv(&events.GroupInfo{JID: group, Sender: &contact, Timestamp: at, Name: &types.GroupName{Name: "Riders"}})
		topic := conv(&events.GroupInfo{JID: group, Sender: &contact, Timestamp: at, Topic: &types.GroupTopic{Topic: "Sunday rides"}})
		if subject[0].Key == topic[0].Key {
			t.Fatalf("both changes keyed %s: the second would be taken for a copy of the first", subject[0].Key)
		}
		if again := conv(&events.GroupInfo{JID: group, Sender: &contact, Timestamp: at, Name: &types.GroupName{Name: "Riders"}}); again[0].Key != subject[0].Key {
			t.Fatal("the same notification twice got two keys")
		}
	})
	t.Run("a redelivered message keeps its key", func(t *testing.T) {
		first, again := conv(msg), conv(msg)
		if first[0].Key != again[0].Key {
			t.Fatal("keys differ")
		}
	})
}
