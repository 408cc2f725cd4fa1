package convert

import (
	"crypto/sha256"
	"encoding/json"
	"math"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// The people and chats of the tests. WhatsApp addresses senders with a device part; events
// must name them without it.
var (
	// t0 is not UTC and has sub-millisecond digits: output must be UTC with exactly 3 digits.
	t0 = time.Date(2024, 1, 2, 3, 4, 5, 678_912_345, time.FixedZone("WIB", 7*3600))

	alice       = types.NewJID("6281234567890", types.DefaultUserServer)
	aliceDevice = types.NewADJID("6281234567890", 0, 3)
	aliceLID    = types.NewJID("112233445566778", types.HiddenUserServer)
	aliceLIDDev = types.NewADJID("112233445566778", types.LIDDomain, 3)
	bobDevice   = types.NewADJID("6289876543210", 0, 1)
	bobLIDDev   = types.NewADJID("998877665544332", types.LIDDomain, 1)
	me          = types.NewADJID("6283841581033", 0, 12)
	group       = types.NewJID("120363025246125486", types.GroupServer)
)

// received builds the event whatsmeow dispatches for raw: it unwraps with the same UnwrapRaw.
func received(info types.MessageInfo, raw *waE2E.Message) *events.Message {
	return (&events.Message{Info: info, RawMessage: raw}).UnwrapRaw()
}

func info(src types.MessageSource, pushName string) types.MessageInfo {
	return types.MessageInfo{
		MessageSource: src, ID: "3EB0C767D82B0A1E0E6A", PushName: pushName, Timestamp: t0, Type: "text",
	}
}

// fromAlice is a direct message from Alice's phone, addressed by phone number.
func fromAlice() types.MessageInfo {
	return info(types.MessageSource{Chat: alice, Sender: aliceDevice, AddressingMode: types.AddressingModePN}, "Alice")
}

// fromAliceLID is a direct message WhatsApp addressed by Alice's LID, her phone JID alongside.
func fromAliceLID() types.MessageInfo {
	return info(types.MessageSource{
		Chat: aliceLID, Sender: aliceLIDDev, SenderAlt: aliceDevice, AddressingMode: types.AddressingModeLID,
	}, "Alice")
}

// fromBobInGroup is a group message in a phone-addressed group; WhatsApp adds Bob's LID.
func fromBobInGroup() types.MessageInfo {
	return info(types.MessageSource{
		Chat: group, Sender: bobDevice, SenderAlt: bobLIDDev, IsGroup: true, AddressingMode: types.AddressingModePN,
	}, "Bob")
}

// fromBobInLIDGroup is a group message in a LID-addressed group, Bob's phone JID alongside.
func fromBobInLIDGroup() types.MessageInfo {
	return info(types.MessageSource{
		Chat: group, Sender: bobLIDDev, SenderAlt: bobDevice, IsGroup: true, AddressingMode: types.AddressingModeLID,
	}, "Bob")
}

// toAlice is a message this account sent to Alice from its phone.
func toAlice() types.MessageInfo {
	return info(types.MessageSource{Chat: alice, Sender: me, IsFromMe: true}, "Me")
}

// fromPhone wraps m as a message sent from this account's phone reaches its linked devices.
func fromPhone(dest types.JID, m *waE2E.Message) *waE2E.Message {
	return &waE2E.Message{DeviceSentMessage: &waE2E.DeviceSentMessage{
		DestinationJID: proto.String(dest.String()), Message: m,
	}}
}

func digest(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func quote(id string, who types.JID) *waE2E.ContextInfo {
	return &waE2E.ContextInfo{
		StanzaID: proto.String(id), Participant: proto.String(who.String()),
		QuotedMessage: &waE2E.Message{Conversation: proto.String("the original")},
	}
}

func image(caption string) *waE2E.ImageMessage {
	return &waE2E.ImageMessage{
		Mimetype: proto.String("image/jpeg"), FileLength: proto.Uint64(48213), FileSHA256: digest("image"),
		Caption: proto.String(caption), Height: proto.Uint32(1280), Width: proto.Uint32(960),
		MediaKey: digest("key"), DirectPath: proto.String("/v/t62.7118-24/1.enc"),
	}
}

func document(caption string) *waE2E.DocumentMessage {
	d := &waE2E.DocumentMessage{
		Mimetype: proto.String("application/pdf"), FileLength: proto.Uint64(5_368_709_120),
		FileSHA256: digest("document"), FileName: proto.String("invoice-2024-01.pdf"),
		Title: proto.String("invoice-2024-01"), PageCount: proto.Uint32(3),
	}
	if caption != "" {
		d.Caption = proto.String(caption)
	}
	return d
}

func audio(ptt bool) *waE2E.AudioMessage {
	return &waE2E.AudioMessage{
		Mimetype: proto.String("audio/ogg; codecs=opus"), FileLength: proto.Uint64(9120),
		FileSHA256: digest("audio"), Seconds: proto.Uint32(4), PTT: proto.Bool(ptt),
	}
}

func pollOf(question string, selectable uint32, options ...string) *waE2E.PollCreationMessage {
	p := &waE2E.PollCreationMessage{
		Name: proto.String(question), SelectableOptionsCount: proto.Uint32(selectable), EncKey: digest("poll"),
	}
	for _, o := range options {
		p.Options = append(p.Options, &waE2E.PollCreationMessage_Option{OptionName: proto.String(o)})
	}
	return p
}

// edit is how WhatsApp edits a message: a MESSAGE_EDIT protocol message in an EditedMessage.
func edit(chat types.JID, id string, fromMe bool, content *waE2E.Message) *waE2E.Message {
	return &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{
		ProtocolMessage: &waE2E.ProtocolMessage{
			Key:           &waCommon.MessageKey{RemoteJID: proto.String(chat.String()), FromMe: proto.Bool(fromMe), ID: proto.String(id)},
			Type:          waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			EditedMessage: content,
			TimestampMS:   proto.Int64(t0.UnixMilli()),
		},
	}}}
}

func revoke(key *waCommon.MessageKey) *waE2E.Message {
	return &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Key: key, Type: waE2E.ProtocolMessage_REVOKE.Enum(),
	}}
}

// unknownField decodes a message carrying field 999, a message type newer than this whatsmeow.
func unknownField(t *testing.T) *waE2E.Message {
	t.Helper()
	b := protowire.AppendTag(nil, 999, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte("\x0a\x05hello"))
	var m waE2E.Message
	if err := proto.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestMessage(t *testing.T) {
	tests := []struct {
		name string
		evt  *events.Message
	}{
		{"text", received(fromAlice(), &waE2E.Message{Conversation: proto.String("Hello!")})},
		{"text_quoted_reply", received(fromAlice(), &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
			Text: proto.String("Yes, that one"), ContextInfo: quote("3EB0AAAAAAAAAAAAAAAA", me),
		}})},
		{"text_ephemeral", received(fromAlice(), &waE2E.Message{EphemeralMessage: &waE2E.FutureProofMessage{
			Message: &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
				Text: proto.String("gone in a week"), ContextInfo: &waE2E.ContextInfo{Expiration: proto.Uint32(604800)},
			}},
		}})},
		{"group_text", received(fromBobInGroup(), &waE2E.Message{Conversation: proto.String("Hi all")})},
		{"group_lid_sender", received(fromBobInLIDGroup(), &waE2E.Message{Conversation: proto.String("Hi all")})},
		{"dm_lid_sender", received(fromAliceLID(), &waE2E.Message{Conversation: proto.String("Hello!")})},
		{"dm_lid_phone_unknown", received(info(types.MessageSource{
			Chat: aliceLID, Sender: aliceLIDDev, AddressingMode: types.AddressingModeLID,
		}, "Alice"), &waE2E.Message{Conversation: proto.String("Hello!")})},
		{"sent_from_phone", received(toAlice(), fromPhone(alice, &waE2E.Message{Conversation: proto.String("On my way")}))},
		{"sent_to_lid_chat", received(info(types.MessageSource{
			Chat: aliceLID, Sender: me, IsFromMe: true, RecipientAlt: alice, AddressingMode: types.AddressingModeLID,
		}, "Me"), fromPhone(aliceLID, &waE2E.Message{Conversation: proto.String("On my way")}))},
		{"sent_to_group", received(info(types.MessageSource{Chat: group, Sender: me, IsFromMe: true, IsGroup: true}, "Me"),
			&waE2E.Message{Conversation: proto.String("Hi all")})},
		{"image", received(fromAlice(), &waE2E.Message{ImageMessage: image("Look at this")})},
		{"image_view_once", received(fromAlice(), &waE2E.Message{ViewOnceMessageV2: &waE2E.FutureProofMessage{
			Message: &waE2E.Message{ImageMessage: func() *waE2E.ImageMessage {
				m := image("")
				m.ViewOnce = proto.Bool(true)
				return m
			}()},
		}})},
		{"video", received(fromBobInGroup(), &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			Mimetype: proto.String("video/mp4"), FileLength: proto.Uint64(1_048_576), FileSHA256: digest("video"),
			Seconds: proto.Uint32(12), Caption: proto.String("the goal"), ContextInfo: quote("3EB0BBBBBBBBBBBBBBBB", alice),
		}})},
		{"video_note", received(fromAlice(), &waE2E.Message{PtvMessage: &waE2E.VideoMessage{
			Mimetype: proto.String("video/mp4"), FileLength: proto.Uint64(300_000), FileSHA256: digest("ptv"), Seconds: proto.Uint32(8),
		}})},
		{"audio", received(fromAlice(), &waE2E.Message{AudioMessage: audio(false)})},
		{"voice_note", received(fromAlice(), &waE2E.Message{AudioMessage: audio(true)})},
		{"document", received(fromAlice(), &waE2E.Message{DocumentMessage: document("")})},
		{"document_with_caption", received(fromAlice(), &waE2E.Message{DocumentWithCaptionMessage: &waE2E.FutureProofMessage{
			Message: &waE2E.Message{DocumentMessage: document("January invoice")},
		}})},
		{"sticker", received(fromAlice(), &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
			Mimetype: proto.String("image/webp"), FileLength: proto.Uint64(20_480), FileSHA256: digest("sticker"),
			IsAnimated: proto.Bool(false), Height: proto.Uint32(512), Width: proto.Uint32(512),
		}})},
		{"location", received(fromAlice(), &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude: proto.Float64(-6.175392), DegreesLongitude: proto.Float64(106.827153),
			Name: proto.String("Monas"), Address: proto.String("Gambir, Central Jakarta"),
		}})},
		{"location_live", received(fromAlice(), &waE2E.Message{LiveLocationMessage: &waE2E.LiveLocationMessage{
			DegreesLatitude: proto.Float64(-6.2), DegreesLongitude: proto.Float64(106.816666),
			Caption: proto.String("coming to you"), SequenceNumber: proto.Int64(1),
		}})},
		{"contact", received(fromAlice(), &waE2E.Message{ContactMessage: &waE2E.ContactMessage{
			DisplayName: proto.String("Bob"),
			Vcard:       proto.String("BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nTEL;type=CELL;waid=6289876543210:+62 898-7654-3210\nEND:VCARD"),
		}})},
		{"contacts_array", received(fromAlice(), &waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{
			DisplayName: proto.String("2 contacts"),
			Contacts: []*waE2E.ContactMessage{
				{DisplayName: proto.String("Bob"), Vcard: proto.String("BEGIN:VCARD\nVERSION:3.0\nFN:Bob\nEND:VCARD")},
				{DisplayName: proto.String("Carol"), Vcard: proto.String("BEGIN:VCARD\nVERSION:3.0\nFN:Carol\nEND:VCARD")},
			},
		}})},
		{"reaction", received(fromAlice(), &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key:  &waCommon.MessageKey{RemoteJID: proto.String(alice.String()), FromMe: proto.Bool(true), ID: proto.String("3EB0CCCCCCCCCCCCCCCC")},
			Text: proto.String("👍"), SenderTimestampMS: proto.Int64(t0.UnixMilli()),
		}})},
		{"reaction_removed", received(fromAlice(), &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key:  &waCommon.MessageKey{RemoteJID: proto.String(alice.String()), FromMe: proto.Bool(true), ID: proto.String("3EB0CCCCCCCCCCCCCCCC")},
			Text: proto.String(""), SenderTimestampMS: proto.Int64(t0.UnixMilli()),
		}})},
		{"poll", received(fromBobInGroup(), &waE2E.Message{PollCreationMessage: pollOf("Lunch?", 0, "Nasi goreng", "Sate", "Bakso")})},
		{"poll_v3_single_choice", received(fromBobInGroup(), &waE2E.Message{PollCreationMessageV3: pollOf("Meet at?", 1, "10:00", "14:00")})},
		{"unknown_type", received(fromAlice(), &waE2E.Message{GroupInviteMessage: &waE2E.GroupInviteMessage{
			GroupJID: proto.String(group.String()), InviteCode: proto.String("AbCdEf"), GroupName: proto.String("Team"),
		}})},
		{"unknown_newer_than_whatsmeow", received(fromAlice(), unknownField(t))},
		{"edit", received(fromAlice(), edit(me.ToNonAD(), "3EB0DDDDDDDDDDDDDDDD", true,
			&waE2E.Message{Conversation: proto.String("Hello, fixed")}))},
		{"edit_caption_lid_group", received(fromBobInLIDGroup(), edit(group, "3EB0EEEEEEEEEEEEEEEE", true,
			&waE2E.Message{ImageMessage: image("better caption")}))},
		{"edit_from_phone", received(toAlice(), fromPhone(alice, edit(alice, "3EB0FFFFFFFFFFFFFFFF", true,
			&waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("typo fixed")}})))},
		{"revoke", received(fromAlice(), revoke(&waCommon.MessageKey{
			RemoteJID: proto.String(me.ToNonAD().String()), FromMe: proto.Bool(true), ID: proto.String("3EB0DDDDDDDDDDDDDDDD"),
		}))},
		{"revoke_by_group_admin", received(fromBobInGroup(), revoke(&waCommon.MessageKey{
			RemoteJID: proto.String(group.String()), FromMe: proto.Bool(false), ID: proto.String("3EB0EEEEEEEEEEEEEEEE"),
			Participant: proto.String(alice.String()),
		}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			event, data, ok := Message(tt.evt)
			if !ok {
				t.Fatal("not converted")
			}
			got, err := json.Marshal(struct {
				Event string          `json:"event"`
				Data  json.RawMessage `json:"data"`
			}{event, data})
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, got)
		})
	}
}

// TestMessageNotConverted covers what whatsmeow delivers as messages but no person sent.
func TestMessageNotConverted(t *testing.T) {
	tests := []struct {
		name string
		evt  *events.Message
	}{
		{"sender key distribution alone", received(fromBobInGroup(), &waE2E.Message{
			SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{
				GroupID: proto.String(group.String()), AxolotlSenderKeyDistributionMessage: digest("skdm"),
			},
			MessageContextInfo: &waE2E.MessageContextInfo{MessageSecret: digest("secret")},
		})},
		{"fast ratchet key distribution alone", received(fromBobInGroup(), &waE2E.Message{
			FastRatchetKeySenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{
				GroupID: proto.String(group.String()), AxolotlSenderKeyDistributionMessage: digest("skdm"),
			},
		})},
		{"history sync notification", received(toAlice(), fromPhone(me.ToNonAD(), &waE2E.Message{
			ProtocolMessage: &waE2E.ProtocolMessage{
				Type:                    waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum(),
				HistorySyncNotification: &waE2E.HistorySyncNotification{FileLength: proto.Uint64(1)},
			},
		}))},
		{"ephemeral setting", received(fromAlice(), &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Type: waE2E.ProtocolMessage_EPHEMERAL_SETTING.Enum(), EphemeralExpiration: proto.Uint32(86400),
		}})},
		{"protocol message without a type is not a revoke", received(fromAlice(), &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Key: &waCommon.MessageKey{ID: proto.String("3EB0DDDDDDDDDDDDDDDD")},
		}})},
		{"revoke without a message id", received(fromAlice(), revoke(&waCommon.MessageKey{RemoteJID: proto.String(alice.String())}))},
		{"status post", received(info(types.MessageSource{
			Chat: types.StatusBroadcastJID, Sender: aliceDevice, IsGroup: true,
		}, "Alice"), &waE2E.Message{ImageMessage: image("my holiday")})},
		{"no message", &events.Message{Info: fromAlice()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if event, data, ok := Message(tt.evt); ok {
				t.Fatalf("converted to %s %s", event, data)
			}
		})
	}
}

// TestMessageLocationNotFinite: a NaN coordinate from a broken or hostile client must still give
// valid JSON rather than lose the message.
func TestMessageLocationNotFinite(t *testing.T) {
	nan := math.NaN()
	_, data, ok := Message(received(fromAlice(), &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
		DegreesLatitude: proto.Float64(nan), DegreesLongitude: proto.Float64(106.8),
	}}))
	if !ok {
		t.Fatal("not converted")
	}
	golden(t, "location_not_finite", data)
}

// TestFixtures guards the test JIDs themselves: a LID that came out as a phone JID would make
// the LID cases prove nothing.
func TestFixtures(t *testing.T) {
	for jid, want := range map[types.JID]string{
		aliceDevice: "6281234567890:3@s.whatsapp.net",
		aliceLIDDev: "112233445566778:3@lid",
		bobLIDDev:   "998877665544332:1@lid",
		me:          "6283841581033:12@s.whatsapp.net",
	} {
		if jid.String() != want {
			t.Errorf("fixture %s, want %s", jid, want)
		}
	}
}
