package outbox

import (
	"strconv"
	"time"
)

// Bounds of the wait query parameter: how long a send request waits for WhatsApp's server ack
// before answering 202. 20 s keeps a request, with its store work, under 25 s (DESIGN.md §7).
const (
	DefaultWait = 10 * time.Second
	MaxWait     = 20 * time.Second
)

// ParseWait reads the wait query parameter, whole seconds from 0 to 20; "" (absent) is 10 s.
func ParseWait(s string) (time.Duration, error) {
	if s == "" {
		return DefaultWait, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > 2 || s[0] < '0' || s[0] > '9' || time.Duration(n)*time.Second > MaxWait {
		return 0, invalid("wait", "must be whole seconds from 0 to %d", int(MaxWait/time.Second))
	}
	return time.Duration(n) * time.Second, nil
}

// MaxIdempotencyKeyLength is Stripe's limit on an Idempotency-Key.
const MaxIdempotencyKeyLength = 255

// ValidateIdempotencyKey checks an Idempotency-Key header: "" (absent) or 1 to 255 printable
// ASCII characters, as Stripe allows, so a key is safe to store and log as it is.
func ValidateIdempotencyKey(key string) error {
	if len(key) > MaxIdempotencyKeyLength {
		return invalid("Idempotency-Key", "longer than %d characters", MaxIdempotencyKeyLength)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < ' ' || key[i] > '~' {
			return invalid("Idempotency-Key", "must be printable ASCII")
		}
	}
	return nil
}
