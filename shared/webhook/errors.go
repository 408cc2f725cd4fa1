package webhook

import (
	"errors"
	"fmt"
	"time"
)

// Error codes, each mapped to one HTTP status by the API layer.
const (
	EInvalid         = "invalid_request"
	ENotFound        = "not_found"
	EConflict        = "conflict"
	EPayloadTooLarge = "payload_too_large"
	EUnavailable     = "unavailable" // a part of the system did not answer in time; try again
	EInternal        = "internal"
)

// Error is an error a client may see: its Message is safe to return as is.
type Error struct {
	Code    string
	Message string
	// RetryAfter, for EUnavailable, is when the client may try again (the Retry-After header);
	// 0 lets the API layer choose.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	return fmt.Sprintf("wagate error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EInternal for any other error,
// and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ErrorMessage returns the client-safe message of err. Errors that are not *Error never leak
// their text.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// RetryAfter returns the RetryAfter of the first *Error in err's chain, 0 for none.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
