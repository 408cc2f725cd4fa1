package media

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// LinkPath is the API route a link names: GET /media/{token}, served without an API key (the
// token is the credential) by a redirect to a presigned GET made at that moment. A presigned
// URL lives at most as long as the credentials that signed it (hours for a task or function
// role), so the events carry this route instead, which lives as long as the token says.
const LinkPath = "/media/"

// DefaultLinkTTL is how long a link works: the 24 h the contract promises at least.
const DefaultLinkTTL = 24 * time.Hour

// MinLinkKey is the shortest key links are signed with.
const MinLinkKey = 16

// Links signs and checks media links.
type Links struct {
	key  []byte
	base string // the API's base URL, without a trailing slash
	ttl  time.Duration
}

// NewLinks returns links signed with key, on the API at base (https://…/v1), living ttl.
func NewLinks(key []byte, base string, ttl time.Duration) *Links {
	return &Links{key: key, base: strings.TrimRight(base, "/"), ttl: ttl}
}

// TTL is how long a link works.
func (l *Links) TTL() time.Duration { return l.ttl }

// Link returns a link to an instance's file, working until the returned time.
func (l *Links) Link(instanceID, mediaID string, now time.Time) (string, time.Time) {
	exp := now.Add(l.ttl).Truncate(time.Second)
	payload := instanceID + "/" + mediaID + "/" + strconv.FormatInt(exp.Unix(), 10)
	token := base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(l.mac(payload))
	return l.base + LinkPath + token, exp
}

func (l *Links) mac(payload string) []byte {
	h := hmac.New(sha256.New, l.key)
	h.Write([]byte("wagate media link v1\x00" + payload))
	return h.Sum(nil)[:18]
}

// Link errors.
var (
	ErrBadLink     = errors.New("not a media link")
	ErrExpiredLink = errors.New("the media link has expired")
)

// Check returns the instance and file a token names, ErrBadLink when the token was not made
// by Link with this key, ErrExpiredLink once it has expired.
func (l *Links) Check(token string, now time.Time) (instanceID, mediaID string, err error) {
	p, m, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 {
		return "", "", ErrBadLink
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, l.mac(string(payload))) {
		return "", "", ErrBadLink
	}
	parts := strings.Split(string(payload), "/")
	if len(parts) != 3 || !ValidID(parts[1]) {
		return "", "", ErrBadLink
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", "", ErrBadLink
	}
	if !now.Before(time.Unix(exp, 0)) {
		return "", "", ErrExpiredLink
	}
	return parts[0], parts[1], nil
}
