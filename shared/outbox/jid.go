package outbox

import (
	"regexp"
	"strings"

	"github.com/wagate/wagate/shared/webhook"
)

// JID servers a message may be addressed to.
const (
	UserServer  = "s.whatsapp.net"
	LIDServer   = "lid"
	GroupServer = "g.us"
)

var (
	// An E.164 number has at most 15 digits; 7 is the shortest in use with a country code.
	phonePattern = regexp.MustCompile(`^[1-9][0-9]{6,14}$`)
	lidPattern   = regexp.MustCompile(`^[0-9]{1,20}$`)
	// Groups are <digits>@g.us, or <creator>-<creation time>@g.us for old ones.
	groupPattern = regexp.MustCompile(`^[0-9]{1,20}(-[0-9]{1,20})?$`)
)

// phoneFiller is what people write inside phone numbers and is dropped before checking them.
var phoneFiller = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "")

// NormalisePhone reads an international number, "+62 812-3456-7890", "0062 ..." or
// "6281234567890", and returns its digits. A national number (leading single 0) is refused:
// it would address someone else once read as international.
func NormalisePhone(field, s string) (string, error) {
	digits := phoneFiller.Replace(s)
	switch {
	case strings.HasPrefix(digits, "+"):
		digits = digits[1:]
	case strings.HasPrefix(digits, "00"):
		digits = digits[2:]
	}
	if !phonePattern.MatchString(digits) {
		return "", webhook.Errorf(webhook.EInvalid, "%s: must be an international phone number (country code first, 7 to 15 digits)", field)
	}
	return digits, nil
}

// ParseUser reads a user: an international number or a user JID (<digits>@s.whatsapp.net or
// <digits>@lid, no device part), and returns its JID.
func ParseUser(field, s string) (string, error) {
	user, server, ok := strings.Cut(s, "@")
	if !ok {
		if digits, err := NormalisePhone(field, s); err == nil {
			return digits + "@" + UserServer, nil
		}
	}
	switch {
	case server == UserServer && phonePattern.MatchString(user),
		server == LIDServer && lidPattern.MatchString(user):
		return s, nil
	}
	return "", webhook.Errorf(webhook.EInvalid, "%s: must be an international phone number (country code first, 7 to 15 digits) or a user JID (<digits>@%s or <digits>@%s)", field, UserServer, LIDServer)
}

// ParseChat reads a recipient: a user as ParseUser reads one, or a group JID (...@g.us).
func ParseChat(field, s string) (string, error) {
	if user, ok := strings.CutSuffix(s, "@"+GroupServer); ok {
		if !groupPattern.MatchString(user) {
			return "", webhook.Errorf(webhook.EInvalid, "%s: not a group JID (<digits>@%s)", field, GroupServer)
		}
		return s, nil
	}
	jid, err := ParseUser(field, s)
	if err != nil {
		return "", webhook.Errorf(webhook.EInvalid, "%s: must be an international phone number (country code first, 7 to 15 digits), a user JID (<digits>@%s or <digits>@%s) or a group JID (<digits>@%s)", field, UserServer, LIDServer, GroupServer)
	}
	return jid, nil
}
