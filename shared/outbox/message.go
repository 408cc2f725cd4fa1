// Package outbox is the domain of outbound messages (DESIGN.md §7): the request of
// POST /api/instance/{instanceId}/messages, its validation into a Message, and the Message's
// stored form. It has no AWS imports: the API stores Messages and the session host sends them.
package outbox

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Type is a message's type, the request's "type".
type Type string

// The message types, named as Meta's Cloud API names them.
const (
	TypeText     Type = "text"
	TypeImage    Type = "image"
	TypeVideo    Type = "video"
	TypeAudio    Type = "audio"
	TypeDocument Type = "document"
	TypeSticker  Type = "sticker"
	TypeLocation Type = "location"
	TypeContacts Type = "contacts"
	TypeReaction Type = "reaction"
	TypePoll     Type = "poll"
)

// IsMedia reports whether t carries a file.
func (t Type) IsMedia() bool {
	switch t {
	case TypeImage, TypeVideo, TypeAudio, TypeDocument, TypeSticker:
		return true
	}
	return false
}

// Message is a validated message as the outbox stores it: exactly the member of its Type is
// set. Its JSON encoding (Encode, DecodeStored) is the stored form.
type Message struct {
	// Chat is the recipient's chat JID: <digits>@s.whatsapp.net, <digits>@lid or a group's @g.us.
	Chat string `json:"chat"`
	Type Type   `json:"type"`

	Text     *Text     `json:"text,omitempty"`
	Media    *Media    `json:"media,omitempty"` // image, video, audio, document, sticker
	Location *Location `json:"location,omitempty"`
	Contacts []Contact `json:"contacts,omitempty"`
	Reaction *Reaction `json:"reaction,omitempty"`
	Poll     *Poll     `json:"poll,omitempty"`

	// The actions' members (action.go).
	Edit     *Edit     `json:"edit,omitempty"`
	Revoke   *Revoke   `json:"revoke,omitempty"`
	Read     *Read     `json:"read,omitempty"`
	Presence *Presence `json:"presence,omitempty"`
	Call     *Call     `json:"call,omitempty"` // a request–answer call (call.go)

	// ReplyTo is the WhatsApp id of the message in Chat this one quotes, "" for none.
	ReplyTo string `json:"replyTo,omitempty"`
	// Mentions are user JIDs mentioned in the text or caption.
	Mentions []string `json:"mentions,omitempty"`
}

// Text is a text message.
type Text struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"previewUrl,omitempty"`
}

// Media is a file message's source and details. Exactly one of MediaID, Link and Data is
// set; the host reads the upload MediaID names, or fetches Link, when it sends.
type Media struct {
	MediaID  string `json:"mediaId,omitempty"`
	Link     string `json:"link,omitempty"`
	Data     []byte `json:"data,omitempty"`
	Caption  string `json:"caption,omitempty"`
	FileName string `json:"fileName,omitempty"`
	// Mimetype is the media type the client gave, lower-cased, "" when it gave none.
	Mimetype string `json:"mimetype,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	ViewOnce bool   `json:"viewOnce,omitempty"`
}

// Location is a pin on the map.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// Contact is one shared contact: Name and Phones (normalised digits), or a whole VCard with
// the display name read from its FN line.
type Contact struct {
	Name   string   `json:"name"`
	Phones []string `json:"phones,omitempty"`
	VCard  string   `json:"vcard,omitempty"`
}

// Reaction sets, or with an empty Emoji removes, this account's reaction to a message in Chat.
type Reaction struct {
	MessageID string `json:"messageId"`
	Emoji     string `json:"emoji"`
}

// Poll is a poll. SelectableCount 0 lets a voter choose any number of options.
type Poll struct {
	Name            string   `json:"name"`
	Options         []string `json:"options"`
	SelectableCount int      `json:"selectableCount"`
}

// Encode returns m's stored form.
func (m *Message) Encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("outbox: encode message: %w", err)
	}
	return b, nil
}

// DecodeStored reads a stored form that Encode wrote. Unknown fields are refused: a reader
// older than the writer must fail the message rather than send it without what it did not
// understand.
func DecodeStored(b []byte) (*Message, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Message
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("outbox: decode stored message: %w", err)
	}
	return &m, nil
}
