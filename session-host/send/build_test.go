package send

import (
	"strings"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/outbox"
)

func parse(t *testing.T, body string) *outbox.Message {
	t.Helper()
	m, err := outbox.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildRefusesWhatItCannotBuild(t *testing.T) {
	const to = `"to":"6281234567890",`
	for _, tc := range []struct {
		name, body string
		in         Input
		want       string
	}{
		{"media without its upload", `{` + to + `"type":"image","image":{"link":"https://example.com/a.jpg"}}`,
			Input{Now: now}, "upload"},
		{"media of no known type", `{` + to + `"type":"document","document":{"link":"https://example.com/a"}}`,
			Input{Now: now, Upload: upload("", 0)}, "media type"},
		{"reply without the quoted message", `{` + to + `"type":"text","text":{"body":"hi"},"replyTo":"3EB0A1"}`,
			Input{Now: now}, "sender"},
		{"reply without the quoted sender", `{` + to + `"type":"location","location":{"latitude":1,"longitude":2},"replyTo":"3EB0A1"}`,
			Input{Now: now, Quoted: &Quoted{}}, "sender"},
		{"reaction without the sender", `{` + to + `"type":"reaction","reaction":{"messageId":"3EB0A1","emoji":"👍"}}`,
			Input{Now: now}, "sender"},
		{"reaction without the time", `{` + to + `"type":"reaction","reaction":{"messageId":"3EB0A1","emoji":"👍"}}`,
			Input{Quoted: &Quoted{Sender: contact}}, "time"},
		{"poll without a secret", `{` + to + `"type":"poll","poll":{"name":"?","options":["a","b"],"selectableCount":1}}`,
			Input{Now: now}, "secret"},
		{"poll with a short secret", `{` + to + `"type":"poll","poll":{"name":"?","options":["a","b"],"selectableCount":1}}`,
			Input{Now: now, Secret: make([]byte, 16)}, "secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := builder().Build(parse(t, tc.body), tc.in)
			if err == nil {
				t.Fatalf("built %v", msg)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say what is missing (%s)", err, tc.want)
			}
		})
	}
}

func TestBuildRefusesAMessageWithoutItsContent(t *testing.T) {
	for _, m := range []*outbox.Message{
		{Chat: "6281234567890@s.whatsapp.net", Type: outbox.TypeText},
		{Chat: "6281234567890@s.whatsapp.net", Type: outbox.TypePoll, Text: &outbox.Text{Body: "hi"}},
		{Chat: "6281234567890@s.whatsapp.net", Type: "edit", Text: &outbox.Text{Body: "hi"}},
		{Chat: "6281:x@s.whatsapp.net", Type: outbox.TypeText, Text: &outbox.Text{Body: "hi"}},
	} {
		if msg, err := builder().Build(m, Input{Now: now}); err == nil {
			t.Errorf("Build(%+v) = %v, want an error", m, msg)
		}
	}
}

// A reaction's key says whether the message reacted to is this account's: by its phone JID
// on any device, or by its LID.
func TestReactionKeyKnowsOwnMessages(t *testing.T) {
	m := parse(t, `{"to":"6281234567890","type":"reaction","reaction":{"messageId":"3EB0A1","emoji":"👍"}}`)
	for _, tc := range []struct {
		name   string
		sender types.JID
		fromMe bool
	}{
		{"own phone JID", ownJID.ToNonAD(), true},
		{"own other device", types.NewADJID(ownJID.User, 0, 3), true},
		{"own LID", ownLID, true},
		{"the contact", contact, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, err := builder().Build(m, Input{Now: now, Quoted: &Quoted{Sender: tc.sender}})
			if err != nil {
				t.Fatal(err)
			}
			if got := msg.GetReactionMessage().GetKey().GetFromMe(); got != tc.fromMe {
				t.Errorf("fromMe = %v, want %v", got, tc.fromMe)
			}
		})
	}
}

func TestMediaType(t *testing.T) {
	for typ, want := range map[outbox.Type]whatsmeow.MediaType{
		outbox.TypeImage: whatsmeow.MediaImage, outbox.TypeSticker: whatsmeow.MediaImage,
		outbox.TypeVideo: whatsmeow.MediaVideo, outbox.TypeAudio: whatsmeow.MediaAudio,
		outbox.TypeDocument: whatsmeow.MediaDocument, outbox.TypeText: "", outbox.TypePoll: "",
	} {
		got, ok := MediaType(typ)
		if got != want || ok != typ.IsMedia() {
			t.Errorf("MediaType(%s) = %q, %v; want %q, %v", typ, got, ok, want, typ.IsMedia())
		}
	}
}

func TestFirstLink(t *testing.T) {
	for in, want := range map[string]string{
		"see https://example.com/a?b=1.":       "https://example.com/a?b=1",
		"(HTTP://Example.com) and https://x.y": "https://x.y",
		"HTTP://Example.com/x, then more":      "HTTP://Example.com/x",
		"no link here":                         "",
		"ftp://example.com https://a.b/c":      "https://a.b/c",
		"":                                     "",
	} {
		if got := firstLink(in); got != want {
			t.Errorf("firstLink(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestVCardEscapesTheName(t *testing.T) {
	got := vcard("Lee; Ann\\Bo,\nJr", []string{"6281111111111"})
	want := "BEGIN:VCARD\nVERSION:3.0\nN:;Lee\\; Ann\\\\Bo\\,\\nJr;;;\nFN:Lee\\; Ann\\\\Bo\\,\\nJr\n" +
		"TEL;type=CELL;type=VOICE;waid=6281111111111:+6281111111111\nEND:VCARD"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
