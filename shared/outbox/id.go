package outbox

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// messageIDPrefix begins the ids WhatsApp Web's clients give the messages they send.
const messageIDPrefix = "3EB0"

// NewMessageID returns a fresh WhatsApp message id of the shape a whatsmeow client gives its
// own sends: 3EB0 and 18 upper-case hex digits (9 random bytes). The API fixes it when it
// accepts a message, so every attempt, on whichever host, sends the same message.
func NewMessageID() string {
	b := make([]byte, 9)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return messageIDPrefix + strings.ToUpper(hex.EncodeToString(b))
}

// IsMessageID reports whether s has the shape NewMessageID gives, so a looked-up id that
// cannot be one is told apart without a read.
func IsMessageID(s string) bool {
	if len(s) != len(messageIDPrefix)+18 || !strings.HasPrefix(s, messageIDPrefix) {
		return false
	}
	for _, c := range s[len(messageIDPrefix):] {
		if (c < '0' || c > '9') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
