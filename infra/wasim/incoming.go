package wasim

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/shared/webhook"
)

// Message types a simulated person can send.
const (
	TypeText     = "text"
	TypeImage    = "image"
	TypeVideo    = "video"
	TypeAudio    = "audio"
	TypeVoice    = "voice" // an audio recorded in the chat (a voice note)
	TypeDocument = "document"
	TypeSticker  = "sticker"
	TypeLocation = "location"
	TypeContact  = "contact"
	TypeReaction = "reaction"
	TypePoll     = "poll"
	TypeEdit     = "edit"
	TypeRevoke   = "revoke"
)

// Types are every Content type, in the order the dev routes list them.
var Types = []string{TypeText, TypeImage, TypeVideo, TypeAudio, TypeVoice, TypeDocument, TypeSticker,
	TypeLocation, TypeContact, TypeReaction, TypePoll, TypeEdit, TypeRevoke}

// Content is what a simulated person writes. Type picks the kind (text when empty); each kind
// reads its own fields, and every field left empty takes a realistic default.
type Content struct {
	Type string
	// Body is a text, a media caption, a poll's question or an edit's new text.
	Body string
	// Media, Mimetype and FileName are a media message's file: a small sample of the type when
	// Media is empty.
	Media              []byte
	Mimetype, FileName string
	// Corrupt makes the media servers answer the file with one byte changed, so every
	// download of it fails WhatsApp's checks; MediaDelay holds each download's answer that long.
	Corrupt    bool
	MediaDelay time.Duration
	// Latitude, Longitude, Name and Address are a location's.
	Latitude, Longitude *float64
	Name, Address       string
	// Contacts are a contact card's, one or more.
	Contacts []Contact
	// Emoji is a reaction's; "" takes a reaction back.
	Emoji *string
	// Options and Selectable are a poll's: its answers, and how many a voter may pick (0: any).
	Options    []string
	Selectable int
	// MessageID is the message a reaction, edit or revoke is about; ReplyTo the one it quotes.
	MessageID, ReplyTo string
}

// Contact is one card of a contact message.
type Contact struct{ Name, Phone string }

// From is who sends an incoming message, and where.
type From struct {
	// Number is the sender's phone number; PushName, when set, the name their account now
	// shows (the message carries it, as every message carries its sender's).
	Number, PushName string
	// Group is the group the message is sent in; empty for a direct message.
	Group types.JID
}

func invalid(format string, args ...any) error {
	return webhook.Errorf(webhook.EInvalid, format, args...)
}

// Receive makes a person send a message to an account, which every linked device of the
// account receives as whatsmeow's events.Message. It answers the message as delivered.
func (n *Network) Receive(account types.JID, from From, c Content) (*events.Message, error) {
	number := digits(from.Number)
	if !n.IsOnWhatsApp(number) {
		return nil, invalid("from: %q is not a phone number on WhatsApp", from.Number)
	}
	n.remember(account)
	me := account.ToNonAD()
	if number == me.User {
		return nil, invalid("from: is the account's own number; send from the phone instead")
	}
	chat := types.NewJID(number, types.DefaultUserServer)
	if !from.Group.IsEmpty() {
		members, ok := n.Participants(from.Group)
		switch {
		case !ok:
			return nil, invalid("group: no group %s", from.Group)
		case !slices.Contains(members, number):
			return nil, invalid("from: %s is not a member of group %s", number, from.Group)
		case !slices.Contains(members, me.User):
			return nil, invalid("group: the account is not a member of group %s", from.Group)
		}
		chat = from.Group
	}
	sender := types.NewJID(number, types.DefaultUserServer)
	if from.PushName != "" {
		n.SetPushName(number, from.PushName)
	}
	pushName, business := n.pushName(number), n.business(number)
	// The keys of what the message refers to are written from the sender's side.
	key := func(id string) *waCommon.MessageKey {
		k := &waCommon.MessageKey{RemoteJID: proto.String(me.String()), ID: proto.String(id), FromMe: proto.Bool(!n.sentBy(me, id))}
		if chat.Server == types.GroupServer {
			k.RemoteJID = proto.String(chat.String())
			if !k.GetFromMe() {
				k.Participant = proto.String(me.String())
			}
		}
		return k
	}
	evt, err := n.message(c, types.MessageInfo{
		MessageSource: types.MessageSource{Chat: chat, Sender: sender, IsGroup: chat.Server == types.GroupServer, AddressingMode: types.AddressingModePN},
		ID:            androidMessageID(), PushName: pushName, VerifiedName: business, Timestamp: now(),
	}, key, func(id string) types.JID {
		if n.sentBy(me, id) {
			return me
		}
		return sender
	})
	if err != nil {
		return nil, err
	}
	for _, d := range n.devicesOf(me.User) {
		n.deliver(d, evt)
	}
	return evt, nil
}

// SendFromPhone makes an account's phone send a message, to a number or a group: the network
// accepts it (receipts follow) and the account's linked devices receive it as whatsmeow
// does, a direct message wrapped as sent from another device.
func (n *Network) SendFromPhone(account types.JID, to types.JID, c Content) (*events.Message, error) {
	n.remember(account)
	me := account.ToNonAD()
	key := func(id string) *waCommon.MessageKey {
		k := &waCommon.MessageKey{RemoteJID: proto.String(to.String()), ID: proto.String(id), FromMe: proto.Bool(n.sentBy(me, id))}
		if to.Server == types.GroupServer && !k.GetFromMe() {
			k.Participant = proto.String(me.String())
		}
		return k
	}
	evt, err := n.message(c, types.MessageInfo{
		MessageSource: types.MessageSource{Chat: to, Sender: me, IsFromMe: true, IsGroup: to.Server == types.GroupServer, AddressingMode: types.AddressingModePN},
		ID:            androidMessageID(), PushName: n.pushName(me.User), Timestamp: now(),
	}, key, func(id string) types.JID {
		if n.sentBy(me, id) || to.Server == types.GroupServer {
			return me
		}
		return to
	})
	if err != nil {
		return nil, err
	}
	if _, err := n.accept(Sent{ID: evt.Info.ID, Chat: to, Sender: me, Message: evt.Message}); err != nil {
		return nil, fmt.Errorf("send from the phone: %w", err)
	}
	if to.Server != types.GroupServer {
		evt.RawMessage = &waE2E.Message{DeviceSentMessage: &waE2E.DeviceSentMessage{DestinationJID: proto.String(to.String()), Message: evt.RawMessage}}
		evt.UnwrapRaw()
	}
	for _, d := range n.devicesOf(me.User) {
		n.deliver(d, evt)
	}
	return evt, nil
}

// remember records a device a store knows as linked, as after a restart, unless it was
// unlinked meanwhile: what reaches the account waits for it.
func (n *Network) remember(device types.JID) {
	if device.Device == 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.unlinked[device] {
		n.phoneLocked(device.User).devices[device.Device] = true
	}
}

// sentBy reports whether an account's devices or phone sent the message id.
func (n *Network) sentBy(account types.JID, id string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, s := range n.sent {
		if s.ID == id && s.Sender.User == account.User {
			return true
		}
	}
	return false
}

// androidMessageID is a message id as WhatsApp on Android makes them.
func androidMessageID() string { return strings.ToUpper(hex.EncodeToString(randomBytes(16))) }

// message builds the event of a message as whatsmeow dispatches it: info completed for the
// content, the wire message as RawMessage, unwrapped into Message.
//
// key gives the key of a message the content refers to, author who wrote it.
func (n *Network) message(c Content, info types.MessageInfo, key func(id string) *waCommon.MessageKey, author func(id string) types.JID) (*events.Message, error) {
	if c.Type == "" {
		c.Type = TypeText
	}
	m, err := n.build(&c, &info, key)
	if err != nil {
		return nil, err
	}
	if c.ReplyTo != "" {
		if ctx := contextOf(m); ctx != nil {
			ctx.StanzaID, ctx.Participant = proto.String(c.ReplyTo), proto.String(author(c.ReplyTo).String())
		}
	}
	evt := &events.Message{Info: info, RawMessage: m}
	return evt.UnwrapRaw(), nil
}

// contextOf returns the context info a quotable message carries, creating it.
func contextOf(m *waE2E.Message) *waE2E.ContextInfo {
	switch {
	case m.ExtendedTextMessage != nil:
		if m.ExtendedTextMessage.ContextInfo == nil {
			m.ExtendedTextMessage.ContextInfo = &waE2E.ContextInfo{}
		}
		return m.ExtendedTextMessage.ContextInfo
	case m.ImageMessage != nil:
		if m.ImageMessage.ContextInfo == nil {
			m.ImageMessage.ContextInfo = &waE2E.ContextInfo{}
		}
		return m.ImageMessage.ContextInfo
	case m.VideoMessage != nil:
		if m.VideoMessage.ContextInfo == nil {
			m.VideoMessage.ContextInfo = &waE2E.ContextInfo{}
		}
		return m.VideoMessage.ContextInfo
	case m.DocumentMessage != nil:
		if m.DocumentMessage.ContextInfo == nil {
			m.DocumentMessage.ContextInfo = &waE2E.ContextInfo{}
		}
		return m.DocumentMessage.ContextInfo
	}
	return nil
}

// build makes the wire message of c, filling defaults in, and sets the info's type.
func (n *Network) build(c *Content, info *types.MessageInfo, key func(id string) *waCommon.MessageKey) (*waE2E.Message, error) {
	needTarget := func() error {
		if c.MessageID == "" {
			return invalid("messageId: required for a %s", c.Type)
		}
		return nil
	}
	info.Type = "text"
	switch c.Type {
	case TypeText:
		if c.Body == "" {
			c.Body = "Hello!"
		}
		if c.ReplyTo != "" {
			return &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String(c.Body)}}, nil
		}
		return &waE2E.Message{Conversation: proto.String(c.Body)}, nil
	case TypeImage, TypeVideo, TypeAudio, TypeVoice, TypeDocument, TypeSticker:
		return n.mediaMessage(c, info)
	case TypeLocation:
		if c.Latitude == nil || c.Longitude == nil {
			lat, long := -6.175392, 106.827153
			c.Latitude, c.Longitude = &lat, &long
			if c.Name == "" && c.Address == "" {
				c.Name, c.Address = "Monas", "Gambir, Central Jakarta"
			}
		}
		if math.Abs(*c.Latitude) > 90 {
			return nil, invalid("latitude: must be between -90 and 90")
		}
		if math.Abs(*c.Longitude) > 180 {
			return nil, invalid("longitude: must be between -180 and 180")
		}
		info.Type, info.MediaType = "media", "location"
		return &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude: c.Latitude, DegreesLongitude: c.Longitude, Name: optional(c.Name), Address: optional(c.Address),
		}}, nil
	case TypeContact:
		if len(c.Contacts) == 0 {
			c.Contacts = []Contact{{Name: "Siti Rahma", Phone: "6281298765432"}}
		}
		cards := make([]*waE2E.ContactMessage, len(c.Contacts))
		for i, ct := range c.Contacts {
			if ct.Name == "" {
				return nil, invalid("contacts[%d].name: required", i)
			}
			number := digits(ct.Phone)
			if !validNumber(number) {
				return nil, invalid("contacts[%d].phone: must be an international phone number", i)
			}
			vcard := fmt.Sprintf("BEGIN:VCARD\nVERSION:3.0\nN:;%s;;;\nFN:%s\nTEL;type=CELL;type=VOICE;waid=%s:+%s\nEND:VCARD", ct.Name, ct.Name, number, number)
			cards[i] = &waE2E.ContactMessage{DisplayName: proto.String(ct.Name), Vcard: proto.String(vcard)}
		}
		info.Type = "media"
		if len(cards) == 1 {
			info.MediaType = "vcard"
			return &waE2E.Message{ContactMessage: cards[0]}, nil
		}
		info.MediaType = "contact_array"
		return &waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{
			DisplayName: proto.String(fmt.Sprintf("%d contacts", len(cards))), Contacts: cards,
		}}, nil
	case TypeReaction:
		if err := needTarget(); err != nil {
			return nil, err
		}
		emoji := "👍"
		if c.Emoji != nil {
			emoji = *c.Emoji
		}
		info.Type = "reaction"
		return &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key: key(c.MessageID), Text: proto.String(emoji), SenderTimestampMS: proto.Int64(time.Now().UnixMilli()),
		}}, nil
	case TypePoll:
		if c.Body == "" {
			c.Body = "Which day suits you?"
		}
		if len(c.Options) == 0 {
			c.Options = []string{"Monday", "Tuesday", "Wednesday"}
		}
		if len(c.Options) < 2 || len(c.Options) > 12 {
			return nil, invalid("options: a poll has 2 to 12 options")
		}
		if c.Selectable < 0 || c.Selectable > len(c.Options) {
			return nil, invalid("selectableCount: must be between 0 and the number of options")
		}
		info.Type = "poll"
		m := (&whatsmeow.Client{}).BuildPollCreation(c.Body, c.Options, c.Selectable)
		if c.Selectable == 1 {
			// WhatsApp sends single-choice polls as version 3.
			m.PollCreationMessageV3, m.PollCreationMessage = m.PollCreationMessage, nil
		}
		return m, nil
	case TypeEdit:
		if err := needTarget(); err != nil {
			return nil, err
		}
		if c.Body == "" {
			c.Body = "Hello! (edited)"
		}
		info.Edit = types.EditAttributeMessageEdit
		k := key(c.MessageID)
		k.FromMe = proto.Bool(true)
		return &waE2E.Message{EditedMessage: &waE2E.FutureProofMessage{Message: &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
			Key: k, Type: waE2E.ProtocolMessage_MESSAGE_EDIT.Enum(),
			EditedMessage: &waE2E.Message{Conversation: proto.String(c.Body)}, TimestampMS: proto.Int64(time.Now().UnixMilli()),
		}}}}, nil
	case TypeRevoke:
		if err := needTarget(); err != nil {
			return nil, err
		}
		info.Edit = types.EditAttributeSenderRevoke
		k := key(c.MessageID)
		k.FromMe = proto.Bool(true)
		return &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Key: k, Type: waE2E.ProtocolMessage_REVOKE.Enum()}}, nil
	}
	return nil, invalid("type: must be one of %s", strings.Join(Types, ", "))
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
