package outbox

import (
	"encoding/base64"
	"mime"
	"strings"
	"unicode"
	"unicode/utf16"

	"github.com/wagate/wagate/shared/media"
	"github.com/wagate/wagate/shared/webhook"
)

// Limits of message content. Lengths are in UTF-16 code units, which is how WhatsApp's apps
// count (and never fewer than characters), so a text that fits here fits there.
const (
	// MaxTextLength is what WhatsApp's apps accept in one text message. wagate speaks
	// WhatsApp's own protocol, so the Cloud API's 4,096 does not bind it; 65,536 units of
	// three UTF-8 bytes each still fit the API's 256 KiB body and a 400 KB DynamoDB item.
	MaxTextLength = 65536
	// MaxCaptionLength is the caption limit of the apps and of the Cloud API.
	MaxCaptionLength = 1024
	// MaxInlineBytes bounds decoded inline data. The outbox stores it in the message's
	// DynamoDB item (at most 400 KB) and the API reads at most 256 KiB of body, which base64
	// data of 128 KiB (171 KiB encoded) fits with room to spare. Larger files go by link.
	MaxInlineBytes = 128 * 1024
	// MaxFileNameLength is a file name's limit on common file systems.
	MaxFileNameLength = 255
	// MaxPlaceLength bounds a location's name and address.
	MaxPlaceLength = 1024
	// MaxContacts and MaxPhones bound a contacts message; MaxContactNameLength a name.
	MaxContacts          = 50
	MaxPhones            = 10
	MaxContactNameLength = 256
	// MaxVCardBytes bounds one vCard (room for an embedded photo).
	MaxVCardBytes = 64 * 1024
	// Poll limits, as WhatsApp's apps set them.
	MinPollOptions      = 2
	MaxPollOptions      = 12
	MaxPollNameLength   = 255
	MaxPollOptionLength = 100
)

// mimetypes lists the media types WhatsApp accepts per type, as Meta documents them for the
// Cloud API. Documents take any well-formed type: the apps send any file as one.
var mimetypes = map[Type][]string{
	TypeImage:   {"image/jpeg", "image/png"},
	TypeVideo:   {"video/mp4", "video/3gpp"},
	TypeAudio:   {"audio/aac", "audio/mp4", "audio/mpeg", "audio/amr", "audio/ogg"},
	TypeSticker: {"image/webp"},
}

// OpusOgg is the one audio/ogg WhatsApp plays, and the media type of every voice note.
const OpusOgg = "audio/ogg; codecs=opus"

func length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func blank(s string) bool { return strings.TrimFunc(s, unicode.IsSpace) == "" }

func (r *TextRequest) validate() (*Text, error) {
	switch {
	case r.Body == nil:
		return nil, invalid("text.body", "required")
	case blank(*r.Body):
		return nil, invalid("text.body", "must not be empty or only white space")
	case length(*r.Body) > MaxTextLength:
		return nil, invalid("text.body", "longer than %d characters", MaxTextLength)
	}
	return &Text{Body: *r.Body, PreviewURL: r.PreviewURL}, nil
}

func (r *MediaRequest) validate(t Type) (*Media, error) {
	f := string(t)
	sources := 0
	for _, s := range []*string{r.MediaID, r.Link, r.Data} {
		if s != nil {
			sources++
		}
	}
	if sources != 1 {
		return nil, invalid(f, "give exactly one of mediaId, link or data")
	}
	m := &Media{Voice: r.Voice, ViewOnce: r.ViewOnce}
	switch {
	case r.MediaID != nil:
		if !media.IsUpload(*r.MediaID) {
			return nil, invalid(f+".mediaId", "not an upload's id (POST /api/instance/{instanceId}/media answers one)")
		}
		m.MediaID = *r.MediaID
	case r.Link != nil:
		if err := webhook.ValidateURL(f+".link", *r.Link, false); err != nil {
			return nil, err
		}
		m.Link = *r.Link
	default:
		data, err := inlineData(f+".data", *r.Data)
		if err != nil {
			return nil, err
		}
		m.Data = data
	}
	if r.Caption != nil {
		if t != TypeImage && t != TypeVideo && t != TypeDocument {
			return nil, invalid(f+".caption", "only images, videos and documents have a caption")
		}
		if length(*r.Caption) > MaxCaptionLength {
			return nil, invalid(f+".caption", "longer than %d characters", MaxCaptionLength)
		}
		m.Caption = *r.Caption
	}
	if r.FileName != nil {
		if t != TypeDocument {
			return nil, invalid(f+".fileName", "only documents have a file name")
		}
		if err := validateFileName(f+".fileName", *r.FileName); err != nil {
			return nil, err
		}
		m.FileName = *r.FileName
	}
	if r.Voice && t != TypeAudio {
		return nil, invalid(f+".voice", "only audio can be a voice note")
	}
	if r.ViewOnce && t != TypeImage && t != TypeVideo && t != TypeAudio {
		return nil, invalid(f+".viewOnce", "only images, videos and audio can be view once")
	}
	if r.Mimetype != nil {
		mt, err := validateMimetype(f+".mimetype", t, *r.Mimetype)
		if err != nil {
			return nil, err
		}
		if r.Voice && mt != OpusOgg {
			return nil, invalid(f+".mimetype", "a voice note must be %s", OpusOgg)
		}
		m.Mimetype = mt
	}
	return m, nil
}

func inlineData(field, s string) ([]byte, error) {
	if s == "" {
		return nil, invalid(field, "empty")
	}
	if len(s) > base64.StdEncoding.EncodedLen(MaxInlineBytes) {
		return nil, invalid(field, "larger than %d KiB decoded; send larger files by link", MaxInlineBytes/1024)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, invalid(field, "not valid base64 (standard alphabet, padded)")
	}
	if len(b) > MaxInlineBytes {
		return nil, invalid(field, "larger than %d KiB decoded; send larger files by link", MaxInlineBytes/1024)
	}
	return b, nil
}

func validateFileName(field, name string) error {
	switch {
	case blank(name):
		return invalid(field, "must not be empty")
	case length(name) > MaxFileNameLength:
		return invalid(field, "longer than %d characters", MaxFileNameLength)
	case strings.ContainsAny(name, `/\`) || strings.ContainsFunc(name, unicode.IsControl):
		return invalid(field, "must not contain slashes or control characters")
	}
	return nil
}

// validateMimetype returns the media type lower-cased, with audio/ogg spelled OpusOgg and,
// except for documents, without parameters.
func validateMimetype(field string, t Type, s string) (string, error) {
	base, params, err := mime.ParseMediaType(s)
	if err != nil || !strings.Contains(base, "/") {
		return "", invalid(field, "not a media type (such as image/jpeg)")
	}
	allowed, checked := mimetypes[t]
	if !checked {
		return mime.FormatMediaType(base, params), nil
	}
	for _, a := range allowed {
		if base != a {
			continue
		}
		if base != "audio/ogg" {
			return base, nil
		}
		if c, ok := params["codecs"]; ok && strings.ToLower(c) != "opus" {
			break
		}
		return OpusOgg, nil
	}
	list := strings.Join(allowed, ", ")
	if t == TypeAudio {
		list += " (opus only)"
	}
	return "", invalid(field, "%s is not allowed for %s: give one of %s", s, t, list)
}

func (r *LocationRequest) validate() (*Location, error) {
	switch {
	case r.Latitude == nil:
		return nil, invalid("location.latitude", "required")
	case r.Longitude == nil:
		return nil, invalid("location.longitude", "required")
	case !(*r.Latitude >= -90 && *r.Latitude <= 90):
		return nil, invalid("location.latitude", "must be from -90 to 90")
	case !(*r.Longitude >= -180 && *r.Longitude <= 180):
		return nil, invalid("location.longitude", "must be from -180 to 180")
	case length(r.Name) > MaxPlaceLength:
		return nil, invalid("location.name", "longer than %d characters", MaxPlaceLength)
	case length(r.Address) > MaxPlaceLength:
		return nil, invalid("location.address", "longer than %d characters", MaxPlaceLength)
	}
	return &Location{Latitude: *r.Latitude, Longitude: *r.Longitude, Name: r.Name, Address: r.Address}, nil
}

func validateContacts(in []ContactRequest) ([]Contact, error) {
	if len(in) == 0 || len(in) > MaxContacts {
		return nil, invalid("contacts", "give 1 to %d contacts", MaxContacts)
	}
	out := make([]Contact, len(in))
	for i, c := range in {
		var err error
		if out[i], err = c.validate(indexed("contacts", i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c *ContactRequest) validate(f string) (Contact, error) {
	if c.VCard != nil {
		if c.Name != nil || c.Phones != nil {
			return Contact{}, invalid(f, "give name and phones, or vcard, not both")
		}
		name, err := vcardName(f+".vcard", *c.VCard)
		return Contact{Name: name, VCard: *c.VCard}, err
	}
	if c.Name == nil && c.Phones == nil {
		return Contact{}, invalid(f, "give name and phones, or vcard")
	}
	switch {
	case c.Name == nil || blank(*c.Name):
		return Contact{}, invalid(f+".name", "required with phones")
	case length(*c.Name) > MaxContactNameLength:
		return Contact{}, invalid(f+".name", "longer than %d characters", MaxContactNameLength)
	case len(c.Phones) == 0 || len(c.Phones) > MaxPhones:
		return Contact{}, invalid(f+".phones", "give 1 to %d phone numbers", MaxPhones)
	}
	out := Contact{Name: *c.Name, Phones: make([]string, len(c.Phones))}
	for j, p := range c.Phones {
		digits, err := NormalisePhone(indexed(f+".phones", j), p)
		if err != nil {
			return Contact{}, err
		}
		out.Phones[j] = digits
	}
	return out, nil
}

// vcardName checks that s is one vCard and returns its formatted name (FN), which WhatsApp
// shows as the contact's name.
func vcardName(field, s string) (string, error) {
	if len(s) > MaxVCardBytes {
		return "", invalid(field, "larger than %d KiB", MaxVCardBytes/1024)
	}
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	if len(lines) < 2 || !strings.EqualFold(strings.TrimSpace(lines[0]), "BEGIN:VCARD") ||
		!strings.EqualFold(strings.TrimSpace(lines[len(lines)-1]), "END:VCARD") {
		return "", invalid(field, "must be one vCard, from BEGIN:VCARD to END:VCARD")
	}
	for _, line := range lines {
		prop, value, ok := strings.Cut(line, ":")
		name, _, _ := strings.Cut(prop, ";")
		if ok && strings.EqualFold(name, "FN") && !blank(value) {
			return unescapeVCard(strings.TrimSpace(value)), nil
		}
	}
	return "", invalid(field, "needs an FN (formatted name) line")
}

var vcardUnescaper = strings.NewReplacer(`\n`, "\n", `\N`, "\n", `\,`, ",", `\;`, ";", `\\`, `\`)

func unescapeVCard(s string) string { return vcardUnescaper.Replace(s) }

func (r *ReactionRequest) validate() (*Reaction, error) {
	if r.MessageID == nil {
		return nil, invalid("reaction.messageId", "required: the WhatsApp id of the message to react to")
	}
	if err := validateMessageID("reaction.messageId", *r.MessageID); err != nil {
		return nil, err
	}
	switch {
	case r.Emoji == nil:
		return nil, invalid("reaction.emoji", `required: one emoji, or "" to remove the reaction`)
	case *r.Emoji != "" && !isEmoji(*r.Emoji):
		return nil, invalid("reaction.emoji", `must be one emoji, or "" to remove the reaction`)
	}
	return &Reaction{MessageID: *r.MessageID, Emoji: *r.Emoji}, nil
}

func (r *PollRequest) validate() (*Poll, error) {
	switch {
	case r.Name == nil || blank(*r.Name):
		return nil, invalid("poll.name", "required")
	case length(*r.Name) > MaxPollNameLength:
		return nil, invalid("poll.name", "longer than %d characters", MaxPollNameLength)
	case len(r.Options) < MinPollOptions || len(r.Options) > MaxPollOptions:
		return nil, invalid("poll.options", "give %d to %d options", MinPollOptions, MaxPollOptions)
	}
	seen := map[string]int{}
	for i, o := range r.Options {
		f := indexed("poll.options", i)
		switch {
		case blank(o):
			return nil, invalid(f, "must not be empty")
		case length(o) > MaxPollOptionLength:
			return nil, invalid(f, "longer than %d characters", MaxPollOptionLength)
		}
		// Votes name an option by its text's hash, so two equal options are one.
		if j, dup := seen[o]; dup {
			return nil, invalid(f, "same as poll.options[%d]", j)
		}
		seen[o] = i
	}
	n := len(r.Options)
	switch {
	case r.SelectableCount == nil:
		return nil, invalid("poll.selectableCount", "required: 1 to %d, or 0 for any number", n)
	case *r.SelectableCount < 0 || *r.SelectableCount > n:
		return nil, invalid("poll.selectableCount", "must be 1 to %d, or 0 for any number", n)
	}
	return &Poll{Name: *r.Name, Options: r.Options, SelectableCount: *r.SelectableCount}, nil
}
