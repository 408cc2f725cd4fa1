package webhook

import (
	"crypto/rand"
	"regexp"
	"time"

	"github.com/oklog/ulid/v2"
)

var instanceIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidateInstanceID checks an instance id: 1 to 64 letters, digits, "_" or "-". field names
// the input in the error.
func ValidateInstanceID(field, id string) error {
	if !instanceIDPattern.MatchString(id) {
		return Errorf(EInvalid, "%s: must be 1 to 64 letters, digits, '_' or '-'", field)
	}
	return nil
}

// NewInstanceID returns a new instance id: "inst_" and a ULID, so generated ids sort by
// creation time.
func NewInstanceID(now time.Time) string {
	return "inst_" + ulid.MustNew(ulid.Timestamp(now), rand.Reader).String()
}
