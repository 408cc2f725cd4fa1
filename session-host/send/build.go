// Package send builds the whatsmeow message for an outbox message: the waE2E.Message the
// session host hands to Client.SendMessage with the outbox's message id. It is pure so that
// golden tests pin every message type: the host fetches and uploads media, looks up the
// message a reply or reaction points at, and supplies the time and the randomness.
package send

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/shared/outbox"
)

// Upload is a message's file as the host uploaded it with Client.Upload.
type Upload struct {
	whatsmeow.UploadResponse
	// Mimetype is the file's media type as the host found it; the request's wins when given.
	Mimetype string
	// Seconds is an audio's or a video's length, 0 when unknown.
	Seconds uint32
}

// Quoted is what the host knows of the message a reply quotes or a reaction is for.
type Quoted struct {
	// Sender sent it: a user's JID, this account's own for its own messages. Required: a
	// reply names it, and a reaction's key says whether the message was this account's.
	Sender types.JID
	// Message is its content, when known; the recipient's app shows it above the reply.
	Message *waE2E.Message
}

// Input is what a message needs beyond its outbox record.
type Input struct {
	Upload *Upload // media types
	Quoted *Quoted // messages with ReplyTo, and reactions
	Now    time.Time
	// Target is the message an edit changes, as the outbox accepted it: its type says whether
	// the edit is of a text or of a caption.
	Target *outbox.Message
	// Secret is a poll's message secret, the key its votes are encrypted with: 32 random
	// bytes, fixed when the message is accepted so that every resend is the same poll.
	Secret []byte
}

// SecretSize is the length of a poll's message secret.
const SecretSize = 32

// Builders are whatsmeow's message builders that need the account: *whatsmeow.Client has them.
type Builders interface {
	BuildReaction(chat, sender types.JID, id types.MessageID, reaction string) *waE2E.Message
	BuildPollCreation(name string, optionNames []string, selectableOptionCount int) *waE2E.Message
	BuildEdit(chat types.JID, id types.MessageID, newContent *waE2E.Message) *waE2E.Message
	BuildRevoke(chat, sender types.JID, id types.MessageID) *waE2E.Message
}

// Builder builds messages for one account.
type Builder struct {
	client Builders
}

// NewBuilder returns a Builder for the account client is logged in as. client need not be
// connected: Build only uses whatsmeow's message builders, which read the account's JIDs
// from the device store to tell its own messages from others'.
func NewBuilder(client Builders) *Builder { return &Builder{client: client} }

// MediaType is what a message's file is uploaded as: stickers are images to WhatsApp's media
// servers, voice notes audio.
func MediaType(t outbox.Type) (whatsmeow.MediaType, bool) {
	switch t {
	case outbox.TypeImage, outbox.TypeSticker:
		return whatsmeow.MediaImage, true
	case outbox.TypeVideo:
		return whatsmeow.MediaVideo, true
	case outbox.TypeAudio:
		return whatsmeow.MediaAudio, true
	case outbox.TypeDocument:
		return whatsmeow.MediaDocument, true
	}
	return "", false
}

// Build returns the message to send for m. An error means m and in do not make a message
// (the host passed too little); it is not WhatsApp's answer.
func (b *Builder) Build(m *outbox.Message, in Input) (*waE2E.Message, error) {
	chat, err := types.ParseJID(m.Chat)
	if err != nil {
		return nil, fmt.Errorf("send: chat %q: %w", m.Chat, err)
	}
	ctx, err := contextInfo(m, in)
	if err != nil {
		return nil, err
	}
	switch {
	case m.Type == outbox.TypeText && m.Text != nil:
		return text(m.Text, ctx), nil
	case m.Type.IsMedia() && m.Media != nil:
		return media(m.Type, m.Media, in.Upload, ctx)
	case m.Type == outbox.TypeLocation && m.Location != nil:
		return &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude: proto.Float64(m.Location.Latitude), DegreesLongitude: proto.Float64(m.Location.Longitude),
			Name: optional(m.Location.Name), Address: optional(m.Location.Address), ContextInfo: ctx,
		}}, nil
	case m.Type == outbox.TypeContacts && len(m.Contacts) > 0:
		return contacts(m.Contacts, ctx), nil
	case m.Type == outbox.TypeReaction && m.Reaction != nil:
		return b.reaction(chat, m.Reaction, in)
	case m.Type == outbox.TypePoll && m.Poll != nil:
		return b.poll(m.Poll, in.Secret, ctx)
	case m.Type == outbox.TypeEdit && m.Edit != nil:
		return b.edit(chat, m.Edit, in)
	case m.Type == outbox.TypeRevoke && m.Revoke != nil:
		// An empty sender revokes a message of this account's own.
		return b.client.BuildRevoke(chat, types.EmptyJID, m.Revoke.MessageID), nil
	}
	return nil, fmt.Errorf("send: message of type %q has no %s content", m.Type, m.Type)
}

// contextInfo is what a reply quotes and whom the message mentions, nil for neither.
func contextInfo(m *outbox.Message, in Input) (*waE2E.ContextInfo, error) {
	if m.ReplyTo == "" && len(m.Mentions) == 0 {
		return nil, nil
	}
	ctx := &waE2E.ContextInfo{MentionedJID: m.Mentions}
	if m.ReplyTo != "" {
		if in.Quoted == nil || in.Quoted.Sender.IsEmpty() {
			return nil, fmt.Errorf("send: reply to %s: the quoted message's sender is needed", m.ReplyTo)
		}
		ctx.StanzaID = proto.String(m.ReplyTo)
		ctx.Participant = proto.String(in.Quoted.Sender.ToNonAD().String())
		ctx.QuotedMessage = in.Quoted.Message
	}
	return ctx, nil
}

// text is a Conversation, the plain form, unless it replies, mentions or has a link to
// preview: those need an ExtendedTextMessage. whatsmeow does not fetch link previews, so a
// preview is the first link as MatchedText; the recipient's app shows it as a link, with no
// card of title and image (which would need the host to fetch the page).
func text(t *outbox.Text, ctx *waE2E.ContextInfo) *waE2E.Message {
	var matched string
	if t.PreviewURL {
		matched = firstLink(t.Body)
	}
	if ctx == nil && matched == "" {
		return &waE2E.Message{Conversation: proto.String(t.Body)}
	}
	return &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
		Text: proto.String(t.Body), MatchedText: optional(matched), ContextInfo: ctx,
	}}
}

// firstLink returns the first http(s) URL in s, "" if there is none.
func firstLink(s string) string {
	for _, word := range strings.Fields(s) {
		lower := strings.ToLower(word)
		if strings.HasPrefix(lower, "https://") || strings.HasPrefix(lower, "http://") {
			return strings.TrimRight(word, ".,;:!?)\"'")
		}
	}
	return ""
}

func media(t outbox.Type, m *outbox.Media, up *Upload, ctx *waE2E.ContextInfo) (*waE2E.Message, error) {
	if up == nil {
		return nil, fmt.Errorf("send: %s: the upload is needed", t)
	}
	mimetype := m.Mimetype
	switch {
	case m.Voice:
		mimetype = outbox.OpusOgg
	case mimetype == "":
		mimetype = up.Mimetype
	}
	if mimetype == "" {
		return nil, fmt.Errorf("send: %s: the file's media type is needed", t)
	}
	viewOnce := optionalBool(m.ViewOnce)
	var seconds *uint32
	if up.Seconds > 0 {
		seconds = proto.Uint32(up.Seconds)
	}
	u := up.UploadResponse
	var msg *waE2E.Message
	switch t {
	case outbox.TypeImage:
		msg = &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			URL: proto.String(u.URL), DirectPath: proto.String(u.DirectPath), MediaKey: u.MediaKey,
			FileEncSHA256: u.FileEncSHA256, FileSHA256: u.FileSHA256, FileLength: proto.Uint64(u.FileLength),
			Mimetype: proto.String(mimetype), Caption: optional(m.Caption), ViewOnce: viewOnce, ContextInfo: ctx,
		}}
	case outbox.TypeVideo:
		msg = &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			URL: proto.String(u.URL), DirectPath: proto.String(u.DirectPath), MediaKey: u.MediaKey,
			FileEncSHA256: u.FileEncSHA256, FileSHA256: u.FileSHA256, FileLength: proto.Uint64(u.FileLength),
			Mimetype: proto.String(mimetype), Caption: optional(m.Caption), Seconds: seconds, ViewOnce: viewOnce, ContextInfo: ctx,
		}}
	case outbox.TypeAudio:
		msg = &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
			URL: proto.String(u.URL), DirectPath: proto.String(u.DirectPath), MediaKey: u.MediaKey,
			FileEncSHA256: u.FileEncSHA256, FileSHA256: u.FileSHA256, FileLength: proto.Uint64(u.FileLength),
			Mimetype: proto.String(mimetype), Seconds: seconds, PTT: optionalBool(m.Voice), ViewOnce: viewOnce, ContextInfo: ctx,
		}}
	case outbox.TypeDocument:
		msg = &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
			URL: proto.String(u.URL), DirectPath: proto.String(u.DirectPath), MediaKey: u.MediaKey,
			FileEncSHA256: u.FileEncSHA256, FileSHA256: u.FileSHA256, FileLength: proto.Uint64(u.FileLength),
			Mimetype: proto.String(mimetype), Caption: optional(m.Caption), FileName: optional(m.FileName),
			Title: optional(m.FileName), ContextInfo: ctx,
		}}
	case outbox.TypeSticker:
		msg = &waE2E.Message{StickerMessage: &waE2E.StickerMessage{
			URL: proto.String(u.URL), DirectPath: proto.String(u.DirectPath), MediaKey: u.MediaKey,
			FileEncSHA256: u.FileEncSHA256, FileSHA256: u.FileSHA256, FileLength: proto.Uint64(u.FileLength),
			Mimetype: proto.String(mimetype), ContextInfo: ctx,
		}}
	}
	if m.ViewOnce {
		// The flag marks the media and the wrapper the message, as WhatsApp's own clients
		// send it; receivers (whatsmeow among them) unwrap ViewOnceMessage.
		msg = &waE2E.Message{ViewOnceMessage: &waE2E.FutureProofMessage{Message: msg}}
	}
	return msg, nil
}

func contacts(cs []outbox.Contact, ctx *waE2E.ContextInfo) *waE2E.Message {
	cards := make([]*waE2E.ContactMessage, len(cs))
	for i, c := range cs {
		card := c.VCard
		if card == "" {
			card = vcard(c.Name, c.Phones)
		}
		cards[i] = &waE2E.ContactMessage{DisplayName: proto.String(c.Name), Vcard: proto.String(card)}
	}
	if len(cards) == 1 {
		cards[0].ContextInfo = ctx
		return &waE2E.Message{ContactMessage: cards[0]}
	}
	return &waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{
		DisplayName: proto.String(fmt.Sprintf("%d contacts", len(cards))), Contacts: cards, ContextInfo: ctx,
	}}
}

// reaction uses whatsmeow's BuildReaction, whose key marks the message as this account's
// when its sender is, then sets the time from in, which whatsmeow takes from the clock.
func (b *Builder) reaction(chat types.JID, r *outbox.Reaction, in Input) (*waE2E.Message, error) {
	if in.Quoted == nil || in.Quoted.Sender.IsEmpty() {
		return nil, fmt.Errorf("send: reaction to %s: the message's sender is needed", r.MessageID)
	}
	if in.Now.IsZero() {
		return nil, errors.New("send: reaction: the time is needed")
	}
	msg := b.client.BuildReaction(chat, in.Quoted.Sender, r.MessageID, r.Emoji)
	msg.ReactionMessage.SenderTimestampMS = proto.Int64(in.Now.UnixMilli())
	return msg, nil
}

// edit uses whatsmeow's BuildEdit with the new text, or the target's kind of media message
// carrying only the new caption, as WhatsApp's apps send a caption's edit; the time comes
// from in.
func (b *Builder) edit(chat types.JID, e *outbox.Edit, in Input) (*waE2E.Message, error) {
	if in.Target == nil {
		return nil, fmt.Errorf("send: edit of %s: the edited message is needed", e.MessageID)
	}
	if in.Now.IsZero() {
		return nil, errors.New("send: edit: the time is needed")
	}
	var content *waE2E.Message
	switch t := in.Target.Type; {
	case t == outbox.TypeText && e.Caption == "":
		content = &waE2E.Message{Conversation: proto.String(e.Text)}
	case t == outbox.TypeImage && e.Text == "":
		content = &waE2E.Message{ImageMessage: &waE2E.ImageMessage{Caption: proto.String(e.Caption)}}
	case t == outbox.TypeVideo && e.Text == "":
		content = &waE2E.Message{VideoMessage: &waE2E.VideoMessage{Caption: proto.String(e.Caption)}}
	case t == outbox.TypeDocument && e.Text == "":
		content = &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{Caption: proto.String(e.Caption)}}
	default:
		return nil, fmt.Errorf("send: edit of %s: a %s message has no text or caption of that kind to edit", e.MessageID, t)
	}
	msg := b.client.BuildEdit(chat, e.MessageID, content)
	msg.EditedMessage.Message.ProtocolMessage.TimestampMS = proto.Int64(in.Now.UnixMilli())
	return msg, nil
}

// poll uses whatsmeow's BuildPollCreation, then replaces the random secret it makes with
// in's, which the outbox keeps so that a resend after a crash is the same poll.
func (b *Builder) poll(p *outbox.Poll, secret []byte, ctx *waE2E.ContextInfo) (*waE2E.Message, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("send: poll: a %d-byte message secret is needed, got %d bytes", SecretSize, len(secret))
	}
	msg := b.client.BuildPollCreation(p.Name, p.Options, p.SelectableCount)
	msg.MessageContextInfo.MessageSecret = secret
	msg.PollCreationMessage.ContextInfo = ctx
	return msg, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

func optionalBool(b bool) *bool {
	if !b {
		return nil
	}
	return proto.Bool(true)
}
