package apigw

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/wagate/wagate/shared/webhook"
)

// Cursors seals pagination state into opaque tokens: base64url JSON and an HMAC over it, so a
// client can neither read nor alter one. Callers put the query's filters into the state and
// compare them when a cursor comes back, so a cursor can't be carried into another query.
type Cursors struct {
	key []byte
}

// NewCursors returns a Cursors signing with key.
func NewCursors(key []byte) *Cursors { return &Cursors{key: key} }

// Seal returns the token for state.
func (c *Cursors) Seal(state any) (string, error) {
	b, err := json.Marshal(state)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b) + "." + base64.RawURLEncoding.EncodeToString(c.mac(b)), nil
}

// Open reads a token made by Seal into state. Anything else is an invalid_request error
// naming field.
func (c *Cursors) Open(field, token string, state any) error {
	bad := webhook.Errorf(webhook.EInvalid, "%s: not a cursor this API issued for this query", field)
	data, sig, ok := strings.Cut(token, ".")
	if !ok {
		return bad
	}
	b, err1 := base64.RawURLEncoding.DecodeString(data)
	mac, err2 := base64.RawURLEncoding.DecodeString(sig)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, c.mac(b)) {
		return bad
	}
	if err := json.Unmarshal(b, state); err != nil {
		return bad
	}
	return nil
}

func (c *Cursors) mac(b []byte) []byte {
	h := hmac.New(sha256.New, c.key)
	h.Write([]byte("wagate-cursor-v1\x00"))
	h.Write(b)
	return h.Sum(nil)
}
