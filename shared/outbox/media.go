package outbox

// Media limits, WhatsApp's own: what its apps and media servers take per type.
const (
	MaxMediaBytes    = 16 << 20  // image, video, audio
	MaxDocumentBytes = 100 << 20 // document
	MaxStickerBytes  = 500 << 10 // an animated sticker; a still one is smaller
)

// MediaLimit is the largest file WhatsApp takes for a media type.
func MediaLimit(t Type) int64 {
	switch t {
	case TypeDocument:
		return MaxDocumentBytes
	case TypeSticker:
		return MaxStickerBytes
	}
	return MaxMediaBytes
}

// ValidateMimetype checks a media type for t as a request's mimetype is checked: the types
// WhatsApp takes for t, lower-cased, without parameters but for documents and opus audio.
// Errors name field.
func ValidateMimetype(field string, t Type, s string) (string, error) {
	return validateMimetype(field, t, s)
}
