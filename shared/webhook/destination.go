package webhook

import (
	"net/url"
	"strings"
)

// MaxURLLength bounds a webhook URL.
const MaxURLLength = 2048

// ValidateURL checks that raw is an absolute http(s) URL a webhook may be sent to. Plain http
// is refused unless allowHTTP. Where the host resolves to is checked at dial time, not here,
// so DNS can't be used to slip past the check. field names the input in the error.
func ValidateURL(field, raw string, allowHTTP bool) error {
	if raw == "" {
		return Errorf(EInvalid, "%s: required", field)
	}
	if len(raw) > MaxURLLength {
		return Errorf(EInvalid, "%s: longer than %d characters", field, MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return Errorf(EInvalid, "%s: must be an absolute http(s) URL", field)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
	case "http":
		if !allowHTTP {
			return Errorf(EInvalid, "%s: must use https", field)
		}
	default:
		return Errorf(EInvalid, "%s: scheme %q is not http(s)", field, u.Scheme)
	}
	if u.User != nil {
		return Errorf(EInvalid, "%s: must not carry credentials", field)
	}
	if u.Hostname() == "" {
		return Errorf(EInvalid, "%s: has no host", field)
	}
	if u.Fragment != "" {
		return Errorf(EInvalid, "%s: must not have a fragment", field)
	}
	return nil
}
