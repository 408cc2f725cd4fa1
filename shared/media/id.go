package media

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Prefixes of media ids: a file the host stored from WhatsApp, or an upload for sending.
const (
	StoredPrefix = "wa_"
	UploadPrefix = "up_"
)

// StoredID is the id of the file of a message the host stored: derived from the chat, the
// sender and the message id, so a message WhatsApp delivers again is stored under the same key
// (and two messages of different chats that share an id are not).
func StoredID(chat, sender, messageID string) string {
	sum := sha256.Sum256([]byte(chat + "\x00" + sender + "\x00" + messageID))
	return StoredPrefix + hex.EncodeToString(sum[:16])
}

// NewUploadID returns a new upload's id: 130 random bits.
func NewUploadID() string {
	return UploadPrefix + strings.ToLower(rand.Text())
}

// ValidID reports whether id can be a media id this package made: the bucket key is built
// from it, so nothing else may reach the store.
func ValidID(id string) bool {
	var rest string
	switch {
	case strings.HasPrefix(id, StoredPrefix):
		rest = id[len(StoredPrefix):]
		if len(rest) != 32 {
			return false
		}
	case strings.HasPrefix(id, UploadPrefix):
		rest = id[len(UploadPrefix):]
		if len(rest) != 26 {
			return false
		}
	default:
		return false
	}
	for _, c := range rest {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// IsUpload reports whether id names an upload.
func IsUpload(id string) bool { return ValidID(id) && strings.HasPrefix(id, UploadPrefix) }

// Key is the bucket key of an instance's file.
func Key(instanceID, mediaID string) string { return instanceID + "/" + mediaID }
