package outbox

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/wagate/wagate/shared/webhook"
)

// Request is the body of POST /api/instance/{instanceId}/messages (DESIGN.md §7): Meta's Cloud
// API message object in camelCase, with a member named after the type.
type Request struct {
	To       string           `json:"to"`
	Type     string           `json:"type"`
	Text     *TextRequest     `json:"text"`
	Image    *MediaRequest    `json:"image"`
	Video    *MediaRequest    `json:"video"`
	Audio    *MediaRequest    `json:"audio"`
	Document *MediaRequest    `json:"document"`
	Sticker  *MediaRequest    `json:"sticker"`
	Location *LocationRequest `json:"location"`
	Contacts []ContactRequest `json:"contacts"`
	Reaction *ReactionRequest `json:"reaction"`
	Poll     *PollRequest     `json:"poll"`
	ReplyTo  *string          `json:"replyTo"`
	Mentions []string         `json:"mentions"`
}

// TextRequest is the text member.
type TextRequest struct {
	Body       *string `json:"body"`
	PreviewURL bool    `json:"previewUrl"`
}

// MediaRequest is the member of the file types: exactly one source of MediaID, Link and Data.
type MediaRequest struct {
	MediaID  *string `json:"mediaId"`
	Link     *string `json:"link"`
	Data     *string `json:"data"` // standard base64, padded
	Caption  *string `json:"caption"`
	FileName *string `json:"fileName"`
	Mimetype *string `json:"mimetype"`
	Voice    bool    `json:"voice"`
	ViewOnce bool    `json:"viewOnce"`
}

// LocationRequest is the location member.
type LocationRequest struct {
	Latitude  *float64 `json:"latitude"`
	Longitude *float64 `json:"longitude"`
	Name      string   `json:"name"`
	Address   string   `json:"address"`
}

// ContactRequest is one element of the contacts member: name and phones, or a vCard.
type ContactRequest struct {
	Name   *string  `json:"name"`
	Phones []string `json:"phones"`
	VCard  *string  `json:"vcard"`
}

// ReactionRequest is the reaction member.
type ReactionRequest struct {
	MessageID *string `json:"messageId"`
	Emoji     *string `json:"emoji"`
}

// PollRequest is the poll member.
type PollRequest struct {
	Name            *string  `json:"name"`
	Options         []string `json:"options"`
	SelectableCount *int     `json:"selectableCount"`
}

// Parse decodes and validates a request body into the Message the outbox stores. Every bad
// input is a *webhook.Error with code EInvalid whose message starts with the field's path.
func Parse(body []byte) (*Message, error) {
	var r Request
	if err := decodeStrict(body, &r); err != nil {
		if t, ok := unknownType(body); ok {
			// {"type":"sms","sms":{...}} is wrong in its type first, not in its member.
			return nil, invalid("type", "%q is not a message type: one of %s", t, typeList())
		}
		return nil, err
	}
	return r.Validate()
}

// unknownType returns body's top-level "type" if it is a string naming no message type.
func unknownType(body []byte) (string, bool) {
	var top map[string]json.RawMessage // keys as written, unlike a struct's
	var t string
	if json.Unmarshal(body, &top) != nil || json.Unmarshal(top["type"], &t) != nil || t == "" {
		return "", false
	}
	return t, !slices.Contains(allTypes, Type(t))
}

// Validate checks r and returns its Message.
func (r *Request) Validate() (*Message, error) {
	t := Type(r.Type)
	members := r.members()
	if r.Type == "" {
		return nil, invalid("type", "required: one of %s", typeList())
	}
	if !slices.Contains(allTypes, t) {
		return nil, invalid("type", "%q is not a message type: one of %s", r.Type, typeList())
	}
	if !members[t] {
		return nil, invalid(string(t), "required for type %s", t)
	}
	for _, other := range allTypes {
		if other != t && members[other] {
			return nil, invalid(string(other), "not allowed with type %s", t)
		}
	}
	if r.To == "" {
		return nil, invalid("to", "required")
	}
	chat, err := ParseChat("to", r.To)
	if err != nil {
		return nil, err
	}
	m := &Message{Chat: chat, Type: t}
	switch t {
	case TypeText:
		m.Text, err = r.Text.validate()
	case TypeImage, TypeVideo, TypeAudio, TypeDocument, TypeSticker:
		m.Media, err = r.media(t).validate(t)
	case TypeLocation:
		m.Location, err = r.Location.validate()
	case TypeContacts:
		m.Contacts, err = validateContacts(r.Contacts)
	case TypeReaction:
		m.Reaction, err = r.Reaction.validate()
	case TypePoll:
		m.Poll, err = r.Poll.validate()
	}
	if err != nil {
		return nil, err
	}
	if m.ReplyTo, err = r.replyTo(t); err != nil {
		return nil, err
	}
	if m.Mentions, err = r.mentions(t); err != nil {
		return nil, err
	}
	return m, nil
}

var allTypes = []Type{TypeText, TypeImage, TypeVideo, TypeAudio, TypeDocument, TypeSticker,
	TypeLocation, TypeContacts, TypeReaction, TypePoll}

func typeList() string {
	names := make([]string, len(allTypes))
	for i, t := range allTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// members tells, for every type, whether its member was given.
func (r *Request) members() map[Type]bool {
	return map[Type]bool{
		TypeText: r.Text != nil, TypeImage: r.Image != nil, TypeVideo: r.Video != nil,
		TypeAudio: r.Audio != nil, TypeDocument: r.Document != nil, TypeSticker: r.Sticker != nil,
		TypeLocation: r.Location != nil, TypeContacts: r.Contacts != nil,
		TypeReaction: r.Reaction != nil, TypePoll: r.Poll != nil,
	}
}

func (r *Request) media(t Type) *MediaRequest {
	return map[Type]*MediaRequest{TypeImage: r.Image, TypeVideo: r.Video, TypeAudio: r.Audio,
		TypeDocument: r.Document, TypeSticker: r.Sticker}[t]
}

func (r *Request) replyTo(t Type) (string, error) {
	if r.ReplyTo == nil {
		return "", nil
	}
	if t == TypeReaction {
		return "", invalid("replyTo", "a reaction cannot reply; leave replyTo out")
	}
	if err := validateMessageID("replyTo", *r.ReplyTo); err != nil {
		return "", err
	}
	return *r.ReplyTo, nil
}

// MaxMentions bounds mentions: a group has at most 1,024 members.
const MaxMentions = 1024

func (r *Request) mentions(t Type) ([]string, error) {
	if r.Mentions == nil {
		return nil, nil
	}
	switch t {
	case TypeText, TypeImage, TypeVideo, TypeDocument:
	default:
		return nil, invalid("mentions", "only text and captioned media (image, video, document) can mention")
	}
	if len(r.Mentions) == 0 || len(r.Mentions) > MaxMentions {
		return nil, invalid("mentions", "give 1 to %d users, or leave mentions out", MaxMentions)
	}
	out := make([]string, len(r.Mentions))
	seen := map[string]bool{}
	for i, s := range r.Mentions {
		field := indexed("mentions", i)
		jid, err := ParseUser(field, s)
		if err != nil {
			return nil, err
		}
		if seen[jid] {
			return nil, invalid(field, "%s is mentioned more than once", jid)
		}
		seen[jid] = true
		out[i] = jid
	}
	return out, nil
}

// MaxMessageIDLength bounds a WhatsApp message id; the apps' are 16 to 32 characters.
const MaxMessageIDLength = 128

// validateMessageID checks a WhatsApp message id: 1 to 128 printable ASCII characters, no spaces.
func validateMessageID(field, id string) error {
	if id == "" {
		return invalid(field, "must not be empty: give the WhatsApp id of a message in this chat")
	}
	if len(id) > MaxMessageIDLength {
		return invalid(field, "longer than %d characters", MaxMessageIDLength)
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return invalid(field, "must be printable ASCII without spaces")
		}
	}
	return nil
}

func invalid(field, format string, args ...any) error {
	return webhook.Errorf(webhook.EInvalid, "%s: "+format, append([]any{field}, args...)...)
}

func indexed(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}
