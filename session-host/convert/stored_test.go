package convert

import (
	"encoding/json"
	"strings"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// A stored file adds mediaId and url (null when it could not be stored, with error) to
// data.media; without a store the media is as before; a message without a file gains nothing.
func TestMessageStored(t *testing.T) {
	chat := types.NewJID("6281234567890", types.DefaultUserServer)
	info := types.MessageInfo{MessageSource: types.MessageSource{Chat: chat, Sender: chat}, ID: "3EB0"}
	image := &events.Message{Info: info, Message: &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Mimetype: proto.String("image/jpeg"), FileLength: proto.Uint64(3)}}}
	text := &events.Message{Info: info, Message: &waE2E.Message{Conversation: proto.String("hi")}}
	link := "https://api.example/v1/media/tok"
	tests := []struct {
		name   string
		evt    *events.Message
		stored *Stored
		want   string // the media member, or what the data must not hold
		absent bool
	}{
		{"stored", image, &Stored{MediaID: "wa_1", URL: &link}, `{"mimetype":"image/jpeg","fileLength":3,"sha256":"","mediaId":"wa_1","url":"https://api.example/v1/media/tok"}`, false},
		{"not stored", image, &Stored{MediaID: "wa_1", Error: "download: file too short"}, `{"mimetype":"image/jpeg","fileLength":3,"sha256":"","mediaId":"wa_1","url":null,"error":"download: file too short"}`, false},
		{"no store", image, nil, `{"mimetype":"image/jpeg","fileLength":3,"sha256":""}`, false},
		{"no file", text, &Stored{MediaID: "wa_1", URL: &link}, `"media"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, data, ok := MessageStored(tt.evt, tt.stored)
			if !ok {
				t.Fatal("not converted")
			}
			if tt.absent {
				if strings.Contains(string(data), tt.want) {
					t.Fatalf("data %s holds %s", data, tt.want)
				}
				return
			}
			var d struct{ Media json.RawMessage }
			if err := json.Unmarshal(data, &d); err != nil || string(d.Media) != tt.want {
				t.Fatalf("media %s (%v), want %s", d.Media, err, tt.want)
			}
		})
	}
}
