package wasim

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/session-host/convert"
	"github.com/wagate/wagate/shared/webhook"
)

// converted is the webhook a message event becomes, through the host's own conversion.
func converted(t *testing.T, evt any) (string, map[string]any) {
	t.Helper()
	m, ok := evt.(*events.Message)
	if !ok {
		t.Fatalf("%T, want a message", evt)
	}
	name, data, ok := convert.Message(m)
	if !ok {
		t.Fatalf("message %+v converts to nothing", m)
	}
	var d map[string]any
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	return name, d
}

// has checks the fields of data named in want; a nested object is given as a map.
func has(t *testing.T, data, want map[string]any) {
	t.Helper()
	for k, w := range want {
		switch w := w.(type) {
		case map[string]any:
			sub, ok := data[k].(map[string]any)
			if !ok {
				t.Fatalf("%s: %v is not an object in %v", k, data[k], data)
			}
			has(t, sub, w)
		default:
			if data[k] != w {
				t.Errorf("%s: %v (%T), want %v (%T) in %v", k, data[k], data[k], w, w, data)
			}
		}
	}
}

func TestReceiveEveryType(t *testing.T) {
	r := newRig(t, fast)
	_, rec, me := r.linked("6283841581033")
	r.net.SetPushName(alice.User, "Alice")
	from := From{Number: alice.User}
	pdf := []byte("%PDF-1.4 a quote")
	pdfSum := sha256.Sum256(pdf)
	lat, long := 1.5, 2.25
	poll, edit, none := "poll", "edit", ""

	first, err := r.net.Receive(me, from, Content{Body: "first"})
	if err != nil {
		t.Fatal(err)
	}
	rec.next(t)
	target := first.Info.ID
	tests := []struct {
		name  string
		c     Content
		event string
		want  map[string]any
	}{
		{"text", Content{Body: "Halo"}, webhook.EventMessageReceived, map[string]any{"type": "text", "body": "Halo", "pushName": "Alice", "fromMe": false, "from": alice.String(), "chatId": alice.String()}},
		{"text default", Content{}, webhook.EventMessageReceived, map[string]any{"type": "text", "body": "Hello!"}},
		{"reply", Content{Body: "yes", ReplyTo: target}, webhook.EventMessageReceived, map[string]any{"type": "text", "quotedMessageId": target}},
		{"image", Content{Type: TypeImage, Body: "look"}, webhook.EventMessageReceived, map[string]any{"type": "image", "body": "look", "media": map[string]any{"mimetype": "image/jpeg", "caption": "look"}}},
		{"video", Content{Type: TypeVideo}, webhook.EventMessageReceived, map[string]any{"type": "video", "media": map[string]any{"mimetype": "video/mp4"}}},
		{"audio", Content{Type: TypeAudio}, webhook.EventMessageReceived, map[string]any{"type": "audio", "media": map[string]any{"mimetype": "audio/mpeg"}}},
		{"voice note", Content{Type: TypeVoice}, webhook.EventMessageReceived, map[string]any{"type": "audio", "media": map[string]any{"ptt": true}}},
		{"document", Content{Type: TypeDocument, Media: pdf, FileName: "quote.pdf", Body: "the quote"}, webhook.EventMessageReceived, map[string]any{"type": "document", "body": "the quote",
			"media": map[string]any{"fileName": "quote.pdf", "mimetype": "application/pdf", "fileLength": float64(len(pdf)), "sha256": base64.StdEncoding.EncodeToString(pdfSum[:])}}},
		{"sticker", Content{Type: TypeSticker}, webhook.EventMessageReceived, map[string]any{"type": "sticker", "media": map[string]any{"mimetype": "image/webp"}}},
		{"location", Content{Type: TypeLocation, Latitude: &lat, Longitude: &long, Name: "Here"}, webhook.EventMessageReceived, map[string]any{"type": "location", "body": "1.5,2.25", "location": map[string]any{"name": "Here"}}},
		{"location default", Content{Type: TypeLocation}, webhook.EventMessageReceived, map[string]any{"type": "location", "location": map[string]any{"name": "Monas"}}},
		{"contact", Content{Type: TypeContact}, webhook.EventMessageReceived, map[string]any{"type": "contact", "body": "Siti Rahma"}},
		{"contacts", Content{Type: TypeContact, Contacts: []Contact{{"A", "6281200000001"}, {"B", "6281200000002"}}}, webhook.EventMessageReceived, map[string]any{"type": "contact", "body": "2 contacts"}},
		{"reaction", Content{Type: TypeReaction, MessageID: target}, webhook.EventMessageReceived, map[string]any{"type": "reaction", "body": "👍", "quotedMessageId": target}},
		{"reaction removed", Content{Type: TypeReaction, MessageID: target, Emoji: &none}, webhook.EventMessageReceived, map[string]any{"type": "reaction", "body": ""}},
		{"poll", Content{Type: TypePoll, Body: poll}, webhook.EventMessageReceived, map[string]any{"type": "poll", "body": "poll", "poll": map[string]any{"selectableCount": float64(0)}}},
		{"single choice poll", Content{Type: TypePoll, Selectable: 1}, webhook.EventMessageReceived, map[string]any{"type": "poll", "poll": map[string]any{"selectableCount": float64(1)}}},
		{"edit", Content{Type: TypeEdit, MessageID: target, Body: edit}, webhook.EventMessageUpdated, map[string]any{"status": "edited", "messageId": target, "body": "edit", "by": alice.String()}},
		{"revoke", Content{Type: TypeRevoke, MessageID: target}, webhook.EventMessageUpdated, map[string]any{"status": "deleted", "messageId": target, "by": alice.String()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent, err := r.net.Receive(me, from, tt.c)
			if err != nil {
				t.Fatal(err)
			}
			evt := rec.next(t)
			if evt != any(sent) {
				t.Fatal("the device got another event than the one sent")
			}
			name, data := converted(t, evt)
			if name != tt.event {
				t.Fatalf("event %s, want %s", name, tt.event)
			}
			has(t, data, tt.want)
			if tt.event == webhook.EventMessageReceived && data["messageId"] != sent.Info.ID {
				t.Errorf("messageId %v", data["messageId"])
			}
			// Media is on the network, with the hash the event gives.
			if m, ok := data["media"].(map[string]any); ok {
				path := directPath(sent)
				b, kept := r.net.Media(path)
				sum := sha256.Sum256(b)
				if !kept || m["sha256"] != base64.StdEncoding.EncodeToString(sum[:]) {
					t.Errorf("media %q kept %v", path, kept)
				}
			}
		})
	}
	t.Run("bad content", func(t *testing.T) {
		for _, tt := range []struct {
			c     Content
			field string
		}{
			{Content{Type: "gif"}, "type"},
			{Content{Type: TypeReaction}, "messageId"},
			{Content{Type: TypeEdit}, "messageId"},
			{Content{Type: TypePoll, Options: []string{"one"}}, "options"},
			{Content{Type: TypeContact, Contacts: []Contact{{Name: "A", Phone: "12"}}}, "contacts[0].phone"},
		} {
			if _, err := r.net.Receive(me, from, tt.c); webhook.ErrorCode(err) != webhook.EInvalid || !strings.HasPrefix(webhook.ErrorMessage(err), tt.field+":") {
				t.Errorf("%+v: %v", tt.c, err)
			}
		}
		if _, err := r.net.Receive(me, From{Number: "99912345678"}, Content{}); !strings.HasPrefix(webhook.ErrorMessage(err), "from:") {
			t.Errorf("from not on WhatsApp: %v", err)
		}
	})
}

func directPath(m *events.Message) string {
	x := m.Message
	for _, p := range []interface{ GetDirectPath() string }{x.GetImageMessage(), x.GetVideoMessage(), x.GetAudioMessage(), x.GetDocumentMessage(), x.GetStickerMessage()} {
		if s := p.GetDirectPath(); s != "" {
			return s
		}
	}
	return ""
}

func TestReceiveInGroup(t *testing.T) {
	r := newRig(t, fast)
	_, rec, me := r.linked("6283841581033")
	group := r.net.CreateGroup("Team", me.User, alice.User)
	if _, err := r.net.Receive(me, From{Number: alice.User, PushName: "Al", Group: group}, Content{Body: "hi all"}); err != nil {
		t.Fatal(err)
	}
	_, data := converted(t, rec.next(t))
	has(t, data, map[string]any{"chatId": group.String(), "isGroup": true, "participant": alice.String(), "pushName": "Al"})
	if _, err := r.net.Receive(me, From{Number: "6281999999999", Group: group}, Content{}); webhook.ErrorCode(err) != webhook.EInvalid {
		t.Fatalf("non-member: %v", err)
	}
}

func TestSendFromPhone(t *testing.T) {
	r := newRig(t, fast)
	_, rec, me := r.linked("6283841581033")
	sent, err := r.net.SendFromPhone(me, alice, Content{Body: "from my phone"})
	if err != nil {
		t.Fatal(err)
	}
	evt := rec.next(t).(*events.Message)
	if evt.Info.DeviceSentMeta == nil || evt.Info.DeviceSentMeta.DestinationJID != alice.String() {
		t.Fatalf("not wrapped as sent from another device: %+v", evt.Info)
	}
	name, data := converted(t, evt)
	if name != webhook.EventMessageSent {
		t.Fatal(name)
	}
	has(t, data, map[string]any{"fromMe": true, "to": alice.String(), "from": me.ToNonAD().String(), "body": "from my phone", "messageId": sent.Info.ID})
	// Its receipts reach the linked device too.
	if u := receiptUpdate(t, rec.next(t)); u.Status != "delivered" || u.MessageID != sent.Info.ID {
		t.Fatalf("%+v", u)
	}
	if got := r.net.Sent(me); len(got) != 1 || got[0].ID != sent.Info.ID {
		t.Fatalf("sent %+v", got)
	}
}

func TestMessagesWaitForTheDevice(t *testing.T) {
	r := newRig(t, fast)
	c, rec, me := r.linked("6283841581033")
	device := c.device
	c.Disconnect()
	var ids []types.MessageID
	for _, body := range []string{"one", "two"} {
		m, err := r.net.Receive(me, From{Number: alice.User}, Content{Body: body})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.Info.ID)
	}
	rec.none(t, 50*time.Millisecond)
	again, rec2 := r.client(device)
	again.Connect()
	got := rec2.expect(t, &events.Connected{}, &events.Message{}, &events.Message{})
	if got[1].(*events.Message).Info.ID != ids[0] || got[2].(*events.Message).Info.ID != ids[1] {
		t.Fatal("offline messages out of order")
	}
}

func TestFailedHandlerGetsTheMessageAgain(t *testing.T) {
	r := newRig(t, fast)
	_, rec, me := r.linked("6283841581033")
	rec.fail.Store(2)
	m, err := r.net.Receive(me, From{Number: alice.User}, Content{Type: TypeImage, Media: bytes.Repeat([]byte{1}, 10)})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.next(t).(*events.Message); got.Info.ID != m.Info.ID {
		t.Fatal("another message")
	}
}
