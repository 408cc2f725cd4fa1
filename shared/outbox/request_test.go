package outbox

import (
	"encoding/base64"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/wagate/wagate/shared/webhook"
)

const phone = "6281234567890"

// text returns a text request to phone with extra top-level members appended.
func text(extra string) string {
	return `{"to":"` + phone + `","type":"text","text":{"body":"hi"}` + extra + `}`
}

// typed returns a request to phone of type t whose member is member.
func typed(t, member string) string {
	return fmt.Sprintf(`{"to":%q,"type":%q,%q:%s}`, phone, t, t, member)
}

func to(s string) string { return fmt.Sprintf(`{"to":%q,"type":"text","text":{"body":"hi"}}`, s) }

func b64(n int) string { return base64.StdEncoding.EncodeToString(make([]byte, n)) }

// invalidCases are bodies Parse refuses, each with the field its error must name.
var invalidCases = []struct {
	name, body, field string
}{
	{"empty body", ``, "body"},
	{"malformed", `{"to":`, "body"},
	{"trailing data", text("") + `{}`, "body"},
	{"array body", `[]`, "body"},
	{"null body", `null`, "body"},
	{"unknown field", text(`,"foo":1`), "foo"},
	{"unknown nested field", `{"to":"` + phone + `","type":"text","text":{"body":"hi","bodyy":"x"}}`, "text.bodyy"},
	{"field in another case", `{"to":"` + phone + `","type":"text","Text":{"body":"hi"}}`, "Text"},
	{"field given twice", `{"to":"` + phone + `","to":"6281111111111","type":"text","text":{"body":"hi"}}`, "to"},
	{"null field", typed("text", `{"body":null}`), "text.body"},
	{"null member", `{"to":"` + phone + `","type":"text","text":null}`, "text"},
	{"to not a string", `{"to":6281234567890,"type":"text","text":{"body":"hi"}}`, "to"},
	{"member not an object", typed("text", `"hi"`), "text"},
	{"type missing", `{"to":"` + phone + `","text":{"body":"hi"}}`, "type"},
	{"unknown type", typed("sms", `{"body":"hi"}`), "type"},
	{"unknown type in another case", `{"to":"` + phone + `","type":"Text","Text":{"body":"hi"}}`, "type"},
	{"type not a string", `{"to":"` + phone + `","type":1,"text":{"body":"hi"}}`, "type"},
	{"unknown type with a known member", `{"to":"` + phone + `","type":"sms","text":{"body":"hi"}}`, "type"},
	{"member missing", `{"to":"` + phone + `","type":"text"}`, "text"},
	{"member of another type", text(`,"image":{"link":"https://example.com/a.jpg"}`), "image"},
	{"contacts beside text", text(`,"contacts":[]`), "contacts"},
	{"to missing", `{"type":"text","text":{"body":"hi"}}`, "to"},
	{"to letters", to("alice"), "to"},
	{"to too short", to("123456"), "to"},
	{"to 16 digits", to("1234567890123456"), "to"},
	{"to national number", to("081234567890"), "to"},
	{"to plus and 00", to("+0062812345678"), "to"},
	{"to empty after filler", to("+ --"), "to"},
	{"to user jid too short", to("6281@s.whatsapp.net"), "to"},
	{"to device jid", to(phone + ":3@s.whatsapp.net"), "to"},
	{"to other server", to(phone + "@example.com"), "to"},
	{"to empty server", to(phone + "@"), "to"},
	{"to group not digits", to("friends@g.us"), "to"},
	{"to bare group server", to("@g.us"), "to"},
	{"to lid letters", to("abc@lid"), "to"},
	{"text body missing", typed("text", `{}`), "text.body"},
	{"text body empty", typed("text", `{"body":""}`), "text.body"},
	{"text body white space", typed("text", `{"body":" \n\t"}`), "text.body"},
	{"text body over the limit", typed("text", `{"body":"`+strings.Repeat("a", MaxTextLength+1)+`"}`), "text.body"},
	{"text body over the limit in UTF-16", typed("text", `{"body":"`+strings.Repeat("😀", MaxTextLength/2+1)+`"}`), "text.body"},
	{"previewUrl not a bool", typed("text", `{"body":"hi","previewUrl":"yes"}`), "text.previewUrl"},
	{"caption over the limit", typed("image", `{"link":"https://example.com/a.jpg","caption":"`+strings.Repeat("a", MaxCaptionLength+1)+`"}`), "image.caption"},
	{"caption on audio", typed("audio", `{"link":"https://example.com/a.mp3","caption":"hi"}`), "audio.caption"},
	{"caption on sticker", typed("sticker", `{"link":"https://example.com/a.webp","caption":"hi"}`), "sticker.caption"},
	{"no source", typed("image", `{"caption":"hi"}`), "image"},
	{"two sources", typed("image", `{"link":"https://example.com/a.jpg","data":"`+b64(3)+`"}`), "image"},
	{"mediaId not an upload's", typed("video", `{"mediaId":"med_1"}`), "video.mediaId"},
	{"mediaId of a stored file, not an upload", typed("video", `{"mediaId":"wa_0123456789abcdef0123456789abcdef"}`), "video.mediaId"},
	{"mediaId and link", typed("image", `{"mediaId":"up_abcdefghijklmnopqrstuvwxyz","link":"https://example.com/a.jpg"}`), "image"},
	{"link over http", typed("image", `{"link":"http://example.com/a.jpg"}`), "image.link"},
	{"link relative", typed("image", `{"link":"/a.jpg"}`), "image.link"},
	{"link ftp", typed("document", `{"link":"ftp://example.com/a.pdf"}`), "document.link"},
	{"link with credentials", typed("image", `{"link":"https://u:p@example.com/a.jpg"}`), "image.link"},
	{"link empty", typed("image", `{"link":""}`), "image.link"},
	{"data not base64", typed("image", `{"data":"not base64!"}`), "image.data"},
	{"data unpadded", typed("image", `{"data":"AAA"}`), "image.data"},
	{"data url-safe alphabet", typed("image", `{"data":"-_-_"}`), "image.data"},
	{"data empty", typed("image", `{"data":""}`), "image.data"},
	{"data over the inline limit", typed("document", `{"data":"`+b64(MaxInlineBytes+1)+`"}`), "document.data"},
	{"mimetype not allowed for image", typed("image", `{"data":"`+b64(3)+`","mimetype":"image/gif"}`), "image.mimetype"},
	{"mimetype not a media type", typed("document", `{"data":"`+b64(3)+`","mimetype":"pdf"}`), "document.mimetype"},
	{"mimetype not allowed for video", typed("video", `{"data":"`+b64(3)+`","mimetype":"video/quicktime"}`), "video.mimetype"},
	{"mimetype ogg vorbis", typed("audio", `{"data":"`+b64(3)+`","mimetype":"audio/ogg; codecs=vorbis"}`), "audio.mimetype"},
	{"mimetype png sticker", typed("sticker", `{"data":"`+b64(3)+`","mimetype":"image/png"}`), "sticker.mimetype"},
	{"voice note not ogg", typed("audio", `{"data":"`+b64(3)+`","mimetype":"audio/mpeg","voice":true}`), "audio.mimetype"},
	{"voice on video", typed("video", `{"data":"`+b64(3)+`","voice":true}`), "video.voice"},
	{"viewOnce on document", typed("document", `{"data":"`+b64(3)+`","viewOnce":true}`), "document.viewOnce"},
	{"viewOnce on sticker", typed("sticker", `{"data":"`+b64(3)+`","viewOnce":true}`), "sticker.viewOnce"},
	{"fileName on image", typed("image", `{"data":"`+b64(3)+`","fileName":"a.jpg"}`), "image.fileName"},
	{"fileName with a slash", typed("document", `{"data":"`+b64(3)+`","fileName":"../a.pdf"}`), "document.fileName"},
	{"fileName empty", typed("document", `{"data":"`+b64(3)+`","fileName":""}`), "document.fileName"},
	{"latitude above 90", typed("location", `{"latitude":90.0001,"longitude":0}`), "location.latitude"},
	{"latitude below -90", typed("location", `{"latitude":-91,"longitude":0}`), "location.latitude"},
	{"longitude above 180", typed("location", `{"latitude":0,"longitude":180.5}`), "location.longitude"},
	{"longitude below -180", typed("location", `{"latitude":0,"longitude":-181}`), "location.longitude"},
	{"latitude missing", typed("location", `{"longitude":0}`), "location.latitude"},
	{"longitude missing", typed("location", `{"latitude":0}`), "location.longitude"},
	{"latitude NaN as a string", typed("location", `{"latitude":"NaN","longitude":0}`), "location.latitude"},
	{"latitude NaN bare", typed("location", `{"latitude":NaN,"longitude":0}`), "body"},
	{"latitude overflowing", typed("location", `{"latitude":1e999,"longitude":0}`), "location.latitude"},
	{"location name over the limit", typed("location", `{"latitude":0,"longitude":0,"name":"`+strings.Repeat("a", MaxPlaceLength+1)+`"}`), "location.name"},
	{"contacts empty", typed("contacts", `[]`), "contacts"},
	{"contacts not an array", typed("contacts", `{"name":"Ann","phones":["`+phone+`"]}`), "contacts"},
	{"contacts over the limit", typed("contacts", `[`+strings.Repeat(`{"name":"A","phones":["`+phone+`"]},`, MaxContacts)+`{"name":"A","phones":["`+phone+`"]}]`), "contacts"},
	{"contact with nothing", typed("contacts", `[{}]`), "contacts[0]"},
	{"contact without phones", typed("contacts", `[{"name":"Ann"}]`), "contacts[0].phones"},
	{"contact with no phones", typed("contacts", `[{"name":"Ann","phones":[]}]`), "contacts[0].phones"},
	{"contact without name", typed("contacts", `[{"phones":["`+phone+`"]}]`), "contacts[0].name"},
	{"contact phone bad", typed("contacts", `[{"name":"Ann","phones":["`+phone+`"]},{"name":"Bob","phones":["12"]}]`), "contacts[1].phones[0]"},
	{"contact phone not a string", typed("contacts", `[{"name":"Ann","phones":[`+phone+`]}]`), "contacts[0].phones[0]"},
	{"contact with vcard and name", typed("contacts", `[{"name":"Ann","vcard":"BEGIN:VCARD\nFN:Ann\nEND:VCARD"}]`), "contacts[0]"},
	{"contact vcard not a vcard", typed("contacts", `[{"vcard":"Ann +62 812"}]`), "contacts[0].vcard"},
	{"contact vcard without FN", typed("contacts", `[{"vcard":"BEGIN:VCARD\nVERSION:3.0\nTEL:+6281234567890\nEND:VCARD"}]`), "contacts[0].vcard"},
	{"reaction without messageId", typed("reaction", `{"emoji":"👍"}`), "reaction.messageId"},
	{"reaction messageId empty", typed("reaction", `{"messageId":"","emoji":"👍"}`), "reaction.messageId"},
	{"reaction messageId with a space", typed("reaction", `{"messageId":"3EB0 1","emoji":"👍"}`), "reaction.messageId"},
	{"reaction without emoji", typed("reaction", `{"messageId":"3EB0A1"}`), "reaction.emoji"},
	{"reaction emoji is a letter", typed("reaction", `{"messageId":"3EB0A1","emoji":"a"}`), "reaction.emoji"},
	{"reaction two emoji", typed("reaction", `{"messageId":"3EB0A1","emoji":"😀😀"}`), "reaction.emoji"},
	{"reaction emoji and text", typed("reaction", `{"messageId":"3EB0A1","emoji":"👍ok"}`), "reaction.emoji"},
	{"reaction trailing joiner", typed("reaction", `{"messageId":"3EB0A1","emoji":"😀\u200d"}`), "reaction.emoji"},
	{"reaction one regional indicator", typed("reaction", `{"messageId":"3EB0A1","emoji":"🇮"}`), "reaction.emoji"},
	{"reaction bare digit", typed("reaction", `{"messageId":"3EB0A1","emoji":"1"}`), "reaction.emoji"},
	{"reaction replying", `{"to":"` + phone + `","type":"reaction","reaction":{"messageId":"3EB0A1","emoji":"👍"},"replyTo":"3EB0A1"}`, "replyTo"},
	{"poll one option", typed("poll", `{"name":"Lunch?","options":["yes"],"selectableCount":1}`), "poll.options"},
	{"poll 13 options", typed("poll", `{"name":"Lunch?","options":["1","2","3","4","5","6","7","8","9","10","11","12","13"],"selectableCount":1}`), "poll.options"},
	{"poll options missing", typed("poll", `{"name":"Lunch?","selectableCount":1}`), "poll.options"},
	{"poll duplicate options", typed("poll", `{"name":"Lunch?","options":["yes","no","yes"],"selectableCount":1}`), "poll.options[2]"},
	{"poll empty option", typed("poll", `{"name":"Lunch?","options":["yes",""],"selectableCount":1}`), "poll.options[1]"},
	{"poll option over the limit", typed("poll", `{"name":"Lunch?","options":["yes","`+strings.Repeat("a", MaxPollOptionLength+1)+`"],"selectableCount":1}`), "poll.options[1]"},
	{"poll selectableCount above options", typed("poll", `{"name":"Lunch?","options":["yes","no"],"selectableCount":3}`), "poll.selectableCount"},
	{"poll selectableCount negative", typed("poll", `{"name":"Lunch?","options":["yes","no"],"selectableCount":-1}`), "poll.selectableCount"},
	{"poll selectableCount fractional", typed("poll", `{"name":"Lunch?","options":["yes","no"],"selectableCount":1.5}`), "poll.selectableCount"},
	{"poll selectableCount missing", typed("poll", `{"name":"Lunch?","options":["yes","no"]}`), "poll.selectableCount"},
	{"poll name empty", typed("poll", `{"name":" ","options":["yes","no"],"selectableCount":1}`), "poll.name"},
	{"poll name missing", typed("poll", `{"options":["yes","no"],"selectableCount":1}`), "poll.name"},
	{"mentions empty", text(`,"mentions":[]`), "mentions"},
	{"mention not a number", text(`,"mentions":["alice"]`), "mentions[0]"},
	{"mention of a group", text(`,"mentions":["12036302@g.us"]`), "mentions[0]"},
	{"mention twice", text(`,"mentions":["` + phone + `","+62 812 3456 7890"]`), "mentions[1]"},
	{"mentions on a location", `{"to":"` + phone + `","type":"location","location":{"latitude":0,"longitude":0},"mentions":["` + phone + `"]}`, "mentions"},
	{"mentions on audio", `{"to":"` + phone + `","type":"audio","audio":{"data":"` + b64(3) + `"},"mentions":["` + phone + `"]}`, "mentions"},
	{"replyTo empty", text(`,"replyTo":""`), "replyTo"},
	{"replyTo not a string", text(`,"replyTo":1`), "replyTo"},
	{"replyTo over the limit", text(`,"replyTo":"` + strings.Repeat("A", MaxMessageIDLength+1) + `"`), "replyTo"},
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range invalidCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.body))
			if err == nil {
				t.Fatalf("accepted: %+v", m)
			}
			var we *webhook.Error
			if !errors.As(err, &we) || we.Code != webhook.EInvalid {
				t.Fatalf("error %v is not an invalid_request *webhook.Error", err)
			}
			if !strings.HasPrefix(we.Message, tc.field+": ") {
				t.Errorf("message %q does not name %s", we.Message, tc.field)
			}
		})
	}
}

// validCases are bodies Parse accepts, with the Message it must return.
var validCases = []struct {
	name, body string
	want       Message
}{
	{"text", text(""), Message{Chat: phone + "@s.whatsapp.net", Type: TypeText, Text: &Text{Body: "hi"}}},
	{"text to a formatted number", to("+62 (812) 3456-7890"),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeText, Text: &Text{Body: "hi"}}},
	{"text to a number with 00", to("0062 812 3456 7890"),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeText, Text: &Text{Body: "hi"}}},
	{"text to a user JID", to(phone + "@s.whatsapp.net"),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeText, Text: &Text{Body: "hi"}}},
	{"text to a LID", to("123456789012345@lid"),
		Message{Chat: "123456789012345@lid", Type: TypeText, Text: &Text{Body: "hi"}}},
	{"text to a group", to("120363025246125486@g.us"),
		Message{Chat: "120363025246125486@g.us", Type: TypeText, Text: &Text{Body: "hi"}}},
	{"text to an old group", to("6281234567890-1614563890@g.us"),
		Message{Chat: "6281234567890-1614563890@g.us", Type: TypeText, Text: &Text{Body: "hi"}}},
	{"text at the limit", typed("text", `{"body":"`+strings.Repeat("😀", MaxTextLength/2)+`"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeText, Text: &Text{Body: strings.Repeat("😀", MaxTextLength/2)}}},
	{"text with preview, reply and mentions",
		`{"to":"120363025246125486@g.us","type":"text","text":{"body":"@6281111111111 see https://example.com","previewUrl":true},` +
			`"replyTo":"3EB0A1B2C3D4E5F6","mentions":["+62 811 1111 1111","123456789012345@lid"]}`,
		Message{Chat: "120363025246125486@g.us", Type: TypeText,
			Text:    &Text{Body: "@6281111111111 see https://example.com", PreviewURL: true},
			ReplyTo: "3EB0A1B2C3D4E5F6", Mentions: []string{"6281111111111@s.whatsapp.net", "123456789012345@lid"}}},
	{"image by link", typed("image", `{"link":"https://example.com/a.jpg","caption":"look","mimetype":"Image/JPEG"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeImage,
			Media: &Media{Link: "https://example.com/a.jpg", Caption: "look", Mimetype: "image/jpeg"}}},
	{"image by upload", typed("image", `{"mediaId":"up_abcdefghijklmnopqrstuvwxyz","caption":"look"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeImage, Media: &Media{MediaID: "up_abcdefghijklmnopqrstuvwxyz", Caption: "look"}}},
	{"image view once", typed("image", `{"data":"AQID","viewOnce":true}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeImage, Media: &Media{Data: []byte{1, 2, 3}, ViewOnce: true}}},
	{"video", typed("video", `{"link":"https://example.com/a.mp4","mimetype":"video/3gpp"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeVideo, Media: &Media{Link: "https://example.com/a.mp4", Mimetype: "video/3gpp"}}},
	{"voice note", typed("audio", `{"data":"AQID","voice":true,"mimetype":"audio/ogg"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeAudio, Media: &Media{Data: []byte{1, 2, 3}, Voice: true, Mimetype: OpusOgg}}},
	{"audio ogg opus", typed("audio", `{"data":"AQID","mimetype":"audio/ogg; codecs=OPUS"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeAudio, Media: &Media{Data: []byte{1, 2, 3}, Mimetype: OpusOgg}}},
	{"document of any type", typed("document", `{"link":"https://example.com/r.csv","fileName":"r.csv","caption":"report","mimetype":"text/csv; charset=UTF-8"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeDocument,
			Media: &Media{Link: "https://example.com/r.csv", FileName: "r.csv", Caption: "report", Mimetype: "text/csv; charset=UTF-8"}}},
	{"document at the inline limit", typed("document", `{"data":"`+b64(MaxInlineBytes)+`"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeDocument, Media: &Media{Data: make([]byte, MaxInlineBytes)}}},
	{"sticker", typed("sticker", `{"link":"https://example.com/s.webp","mimetype":"image/webp"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeSticker, Media: &Media{Link: "https://example.com/s.webp", Mimetype: "image/webp"}}},
	{"location at the edges", typed("location", `{"latitude":-90,"longitude":180,"name":"Pole","address":"South"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeLocation, Location: &Location{Latitude: -90, Longitude: 180, Name: "Pole", Address: "South"}}},
	{"contacts", typed("contacts", `[{"name":"Ann","phones":["+62 811-1111-1111","6282222222222"]},{"vcard":"BEGIN:VCARD\nVERSION:3.0\nFN;CHARSET=UTF-8:Bob\\, Jr.\nEND:VCARD"}]`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeContacts, Contacts: []Contact{
			{Name: "Ann", Phones: []string{"6281111111111", "6282222222222"}},
			{Name: "Bob, Jr.", VCard: "BEGIN:VCARD\nVERSION:3.0\nFN;CHARSET=UTF-8:Bob\\, Jr.\nEND:VCARD"}}}},
	{"reaction", typed("reaction", `{"messageId":"3EB0A1","emoji":"👍🏽"}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeReaction, Reaction: &Reaction{MessageID: "3EB0A1", Emoji: "👍🏽"}}},
	{"reaction removed", typed("reaction", `{"messageId":"3EB0A1","emoji":""}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypeReaction, Reaction: &Reaction{MessageID: "3EB0A1"}}},
	{"poll", typed("poll", `{"name":"Lunch?","options":["yes","no","later"],"selectableCount":1.0}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypePoll, Poll: &Poll{Name: "Lunch?", Options: []string{"yes", "no", "later"}, SelectableCount: 1}}},
	{"poll with any number of answers", typed("poll", `{"name":"Which?","options":["1","2","3","4","5","6","7","8","9","10","11","12"],"selectableCount":0}`),
		Message{Chat: phone + "@s.whatsapp.net", Type: TypePoll, Poll: &Poll{Name: "Which?",
			Options: []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}}}},
}

func TestParseAccepts(t *testing.T) {
	for _, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*m, tc.want) {
				t.Errorf("got  %+v\nwant %+v", *m, tc.want)
			}
		})
	}
}

func TestStoredFormRoundTrips(t *testing.T) {
	for _, tc := range validCases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Parse([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeStored(b)
			if err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if !reflect.DeepEqual(back, m) {
				t.Errorf("round trip changed the message\n got %+v\nwant %+v", back, m)
			}
		})
	}
}

func TestDecodeStoredRefusesUnknownFields(t *testing.T) {
	_, err := DecodeStored([]byte(`{"chat":"` + phone + `@s.whatsapp.net","type":"text","text":{"body":"hi"},"edit":true}`))
	if err == nil {
		t.Fatal("a stored form with a field this reader does not know was accepted")
	}
}

func TestEmoji(t *testing.T) {
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{"👍", true}, {"❤️", true}, {"❤", true}, {"👍🏽", true}, {"👩‍💻", true}, {"👩🏽‍💻", true},
		{"👨‍👩‍👧‍👦", true}, {"🏳️‍🌈", true}, {"🇮🇩", true}, {"1️⃣", true}, {"#⃣", true},
		{"🏴\U000E0067\U000E0062\U000E0073\U000E0063\U000E0074\U000E007F", true}, {"©️", true}, {"🏻", true},
		{"", false}, {"a", false}, {"1", false}, {"😀😀", false}, {"🇮🇩🇮", false}, {"🇮", false},
		{"\u200d😀", false}, {"😀\u200d", false}, {"😀\u200d\u200d😀", false}, {"1️", false},
		{"🏴\U000E0067", false}, {"🏴\U000E007F", false}, {"\xff", false}, {"️", false},
		{strings.Repeat("👩\u200d", 8) + "👩", false},
	} {
		t.Run(fmt.Sprintf("%q", tc.s), func(t *testing.T) {
			if got := isEmoji(tc.s); got != tc.ok {
				t.Errorf("isEmoji(%q) = %v, want %v", tc.s, got, tc.ok)
			}
		})
	}
}

func TestParseWait(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int // seconds; -1 for an error
	}{
		{"", 10}, {"0", 0}, {"1", 1}, {"20", 20}, {"21", -1}, {"-1", -1}, {"+5", -1}, {"5s", -1},
		{"1.5", -1}, {"020", -1}, {" 5", -1}, {"99999999999999999999", -1},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseWait(tc.in)
			if tc.want < 0 {
				if webhook.ErrorCode(err) != webhook.EInvalid || !strings.HasPrefix(webhook.ErrorMessage(err), "wait: ") {
					t.Fatalf("ParseWait(%q) = %v, %v; want an error naming wait", tc.in, got, err)
				}
				return
			}
			if err != nil || got.Seconds() != float64(tc.want) {
				t.Fatalf("ParseWait(%q) = %v, %v; want %ds", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestValidateIdempotencyKey(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		ok        bool
	}{
		{"absent", "", true},
		{"uuid", "5f0c9a3e-3c1b-4a55-9d2e-0c5d3c1b4a55", true},
		{"printable with spaces", "order 42 / retry #1 ~", true},
		{"at the limit", strings.Repeat("k", MaxIdempotencyKeyLength), true},
		{"over the limit", strings.Repeat("k", MaxIdempotencyKeyLength+1), false},
		{"control character", "key\n", false},
		{"non-ASCII", "clé", false},
		{"delete", "key\x7f", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateIdempotencyKey(tc.key)
			if tc.ok != (err == nil) {
				t.Fatalf("ValidateIdempotencyKey(%q) = %v", tc.key, err)
			}
			if err != nil && (webhook.ErrorCode(err) != webhook.EInvalid || !strings.HasPrefix(webhook.ErrorMessage(err), "Idempotency-Key: ")) {
				t.Errorf("error %v does not name the header", err)
			}
		})
	}
}
