package convert

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"

	"google.golang.org/protobuf/reflect/protoreflect"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/shared/webhook"
)

// Message types, the data's "type".
const (
	TypeText     = "text"
	TypeImage    = "image"
	TypeVideo    = "video"
	TypeAudio    = "audio"
	TypeDocument = "document"
	TypeSticker  = "sticker"
	TypeLocation = "location"
	TypeContact  = "contact"
	TypeReaction = "reaction"
	TypePoll     = "poll"
	TypeUnknown  = "unknown"
)

// messageData is the data of message.received and message.sent.
type messageData struct {
	MessageID       string    `json:"messageId"`
	From            string    `json:"from"`
	SenderLID       string    `json:"senderLid,omitempty"`
	To              string    `json:"to,omitempty"`
	ChatID          string    `json:"chatId"`
	Body            string    `json:"body"`
	Type            string    `json:"type"`
	Timestamp       string    `json:"timestamp"`
	FromMe          bool      `json:"fromMe"`
	PushName        string    `json:"pushName"`
	IsGroup         bool      `json:"isGroup"`
	Participant     string    `json:"participant,omitempty"`
	QuotedMessageID string    `json:"quotedMessageId,omitempty"`
	Media           *media    `json:"media,omitempty"`
	Location        *location `json:"location,omitempty"`
	Contacts        []contact `json:"contacts,omitempty"`
	Poll            *poll     `json:"poll,omitempty"`
}

type media struct {
	Mimetype   string `json:"mimetype"`
	FileName   string `json:"fileName,omitempty"`
	FileLength uint64 `json:"fileLength"`
	Caption    string `json:"caption,omitempty"`
	SHA256     string `json:"sha256"`
	// PTT marks a voice note (an audio recorded in the chat rather than a file sent as audio).
	PTT bool `json:"ptt,omitempty"`
	// Stored, when the host stores files, adds mediaId, url and error.
	*Stored
}

// Stored is what became of a media message's file in the media bucket (DESIGN.md §8).
type Stored struct {
	MediaID string `json:"mediaId"`
	// URL is a link to the file that works without other credentials, nil when the file
	// could not be stored; Error then says why.
	URL   *string `json:"url"`
	Error string  `json:"error,omitempty"`
}

type location struct {
	// Latitude and Longitude are null if WhatsApp sent a value JSON can't carry (NaN, ±Inf).
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Name      string   `json:"name,omitempty"`
	Address   string   `json:"address,omitempty"`
	Comment   string   `json:"comment,omitempty"`
	Live      bool     `json:"live,omitempty"`
}

type contact struct {
	DisplayName string `json:"displayName"`
	Vcard       string `json:"vcard"`
}

type poll struct {
	Options []string `json:"options"`
	// SelectableCount is how many options a voter may pick; 0 means any number.
	SelectableCount uint32 `json:"selectableCount"`
}

// Message converts a message event. An edit or a revoke is message.updated (status edited or
// deleted) about the message it changes; anything else a person sent is message.received, or
// message.sent when it was sent from this account. ok is false for what is not a chat message:
// key distribution and other protocol messages whatsmeow also delivers as events.Message, and
// status (story) posts.
//
// evt must be as whatsmeow dispatches it, with the wrappers (ephemeral, view once, document with
// caption, edited, sent from another device) already unwrapped into evt.Message.
func Message(evt *events.Message) (event string, data json.RawMessage, ok bool) {
	return MessageStored(evt, nil)
}

// MessageStored is Message with what became of the message's file: stored, when not nil, is
// added to data.media.
func MessageStored(evt *events.Message, stored *Stored) (event string, data json.RawMessage, ok bool) {
	m := evt.Message
	if m == nil || evt.Info.Chat == types.StatusBroadcastJID {
		return "", nil, false
	}
	if pm := m.GetProtocolMessage(); pm != nil {
		return protocol(evt, pm)
	}
	c, ok := classify(m)
	if !ok {
		return "", nil, false
	}
	if c.media != nil {
		c.media.Stored = stored
	}
	d := messageData{
		MessageID:       evt.Info.ID,
		ChatID:          chat(evt.Info.MessageSource),
		Body:            c.body,
		Type:            c.typ,
		Timestamp:       webhook.FormatTime(evt.Info.Timestamp),
		FromMe:          evt.Info.IsFromMe,
		PushName:        evt.Info.PushName,
		IsGroup:         evt.Info.IsGroup,
		QuotedMessageID: c.quoted,
		Media:           c.media,
		Location:        c.location,
		Contacts:        c.contacts,
		Poll:            c.poll,
	}
	d.From, d.SenderLID = person(evt.Info.Sender, evt.Info.SenderAlt)
	if evt.Info.IsGroup {
		d.Participant = d.From
	}
	event = webhook.EventMessageReceived
	if evt.Info.IsFromMe {
		event = webhook.EventMessageSent
		d.To = d.ChatID
	}
	return event, marshal(d), true
}

// content is what a message says, apart from who sent it where.
type content struct {
	typ      string
	body     string
	quoted   string
	media    *media
	location *location
	contacts []contact
	poll     *poll
}

// classify reads the content of an unwrapped message. Only one content field is set on a real
// message; the order below only matters for malformed ones. ok is false when the message carries
// nothing a person sent (see hasContent).
func classify(m *waE2E.Message) (c content, ok bool) {
	switch {
	case m.Conversation != nil:
		return content{typ: TypeText, body: m.GetConversation()}, true
	case m.ExtendedTextMessage != nil:
		x := m.ExtendedTextMessage
		return content{typ: TypeText, body: x.GetText(), quoted: quoted(x)}, true
	case m.ImageMessage != nil:
		return mediaContent(TypeImage, m.ImageMessage, m.ImageMessage.GetCaption(), ""), true
	case m.VideoMessage != nil:
		return mediaContent(TypeVideo, m.VideoMessage, m.VideoMessage.GetCaption(), ""), true
	case m.PtvMessage != nil: // a round video note: still a video to the receiver
		return mediaContent(TypeVideo, m.PtvMessage, m.PtvMessage.GetCaption(), ""), true
	case m.AudioMessage != nil:
		c := mediaContent(TypeAudio, m.AudioMessage, "", "")
		c.media.PTT = m.AudioMessage.GetPTT()
		return c, true
	case m.DocumentMessage != nil:
		x := m.DocumentMessage
		return mediaContent(TypeDocument, x, x.GetCaption(), x.GetFileName()), true
	case m.StickerMessage != nil:
		return mediaContent(TypeSticker, m.StickerMessage, "", ""), true
	case m.LocationMessage != nil:
		x := m.LocationMessage
		return locationContent(x, x.GetDegreesLatitude(), x.GetDegreesLongitude(), location{
			Name: x.GetName(), Address: x.GetAddress(), Comment: x.GetComment(), Live: x.GetIsLive(),
		}), true
	case m.LiveLocationMessage != nil:
		x := m.LiveLocationMessage
		return locationContent(x, x.GetDegreesLatitude(), x.GetDegreesLongitude(), location{
			Comment: x.GetCaption(), Live: true,
		}), true
	case m.ContactMessage != nil:
		x := m.ContactMessage
		return content{typ: TypeContact, body: x.GetDisplayName(), quoted: quoted(x),
			contacts: contacts(x)}, true
	case m.ContactsArrayMessage != nil:
		x := m.ContactsArrayMessage
		return content{typ: TypeContact, body: x.GetDisplayName(), quoted: quoted(x),
			contacts: contacts(x.GetContacts()...)}, true
	case m.ReactionMessage != nil:
		// body is the emoji, "" when the reaction was taken back; the reacted-to message is
		// carried as quotedMessageId, the contract's one field for "the message this refers to".
		x := m.ReactionMessage
		return content{typ: TypeReaction, body: x.GetText(), quoted: x.GetKey().GetID()}, true
	}
	if p := pollCreation(m); p != nil {
		return pollContent(p), true
	}
	if hasContent(m) {
		return content{typ: TypeUnknown}, true
	}
	return content{}, false
}

// withContext is the part of every quotable waE2E message that points at a quoted message.
type withContext interface {
	GetContextInfo() *waE2E.ContextInfo
}

// quoted returns the id of the message x replies to, "" if none.
func quoted(x withContext) string { return x.GetContextInfo().GetStanzaID() }

// mediaMessage is what every waE2E media message has.
type mediaMessage interface {
	withContext
	GetMimetype() string
	GetFileLength() uint64
	GetFileSHA256() []byte
}

// mediaContent describes a media message; the caption, if any, is also the body so consumers
// that only read body see the text a person wrote.
func mediaContent(typ string, x mediaMessage, caption, fileName string) content {
	return content{typ: typ, body: caption, quoted: quoted(x), media: &media{
		Mimetype:   x.GetMimetype(),
		FileName:   fileName,
		FileLength: x.GetFileLength(),
		Caption:    caption,
		SHA256:     base64.StdEncoding.EncodeToString(x.GetFileSHA256()),
	}}
}

// locationContent describes a location: body is "latitude,longitude", a form any map accepts,
// and the location object has the numbers and the place's details. l brings the details.
func locationContent(x withContext, lat, long float64, l location) content {
	l.Latitude, l.Longitude = finite(lat), finite(long)
	c := content{typ: TypeLocation, quoted: quoted(x), location: &l}
	if l.Latitude != nil && l.Longitude != nil {
		c.body = strconv.FormatFloat(lat, 'f', -1, 64) + "," + strconv.FormatFloat(long, 'f', -1, 64)
	}
	return c
}

// finite returns a pointer to f, or nil if JSON can't carry it.
func finite(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return &f
}

func contacts(xs ...*waE2E.ContactMessage) []contact {
	out := make([]contact, 0, len(xs))
	for _, x := range xs {
		out = append(out, contact{DisplayName: x.GetDisplayName(), Vcard: x.GetVcard()})
	}
	return out
}

// pollCreation returns the poll a message creates, whichever of the versions WhatsApp used that
// share the PollCreationMessage shape (V4 is a different, wrapped shape and reads as unknown).
func pollCreation(m *waE2E.Message) *waE2E.PollCreationMessage {
	for _, p := range []*waE2E.PollCreationMessage{
		m.PollCreationMessage, m.PollCreationMessageV2, m.PollCreationMessageV3, m.PollCreationMessageV5,
	} {
		if p != nil {
			return p
		}
	}
	return nil
}

func pollContent(p *waE2E.PollCreationMessage) content {
	options := make([]string, 0, len(p.GetOptions()))
	for _, o := range p.GetOptions() {
		options = append(options, o.GetOptionName())
	}
	return content{typ: TypePoll, body: p.GetName(), quoted: quoted(p),
		poll: &poll{Options: options, SelectableCount: p.GetSelectableOptionsCount()}}
}

// hasContent reports whether m carries anything besides the machinery whatsmeow already acted
// on: sender key distribution (group encryption setup, often sent alone) and message context
// (secrets, device lists). Fields this whatsmeow version doesn't know count as content: they are
// message types newer than the library, which reach consumers as "unknown".
func hasContent(m *waE2E.Message) bool {
	r := m.ProtoReflect()
	if len(r.GetUnknown()) > 0 {
		return true
	}
	found := false
	r.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		switch fd.Name() {
		case "senderKeyDistributionMessage", "fastRatchetKeySenderKeyDistributionMessage", "messageContextInfo":
			return true
		}
		found = true
		return false
	})
	return found
}
