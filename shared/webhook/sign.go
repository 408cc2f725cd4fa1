package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// SecretPrefix starts every signing secret, as Standard Webhooks recommends.
const SecretPrefix = "whsec_"

// secretBytes is the size of a generated secret's key; the contract allows 24 to 64.
const secretBytes = 32

// Standard Webhooks headers, and wagate's own.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
	HeaderEvent     = "X-Webhook-Event"
	HeaderAttempt   = "X-Webhook-Attempt"
)

// NewSecret returns a fresh signing secret: "whsec_" and the base64 of 32 random bytes.
func NewSecret() string {
	key := make([]byte, secretBytes)
	if _, err := rand.Read(key); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // never happens on supported platforms
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// ValidateSecret checks that s is "whsec_" and the base64 of 24 to 64 bytes.
func ValidateSecret(s string) error {
	raw, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return fmt.Errorf("secret must start with %q", SecretPrefix)
	}
	// The decoder skips line breaks; a secret is one line of base64.
	if strings.ContainsAny(raw, "\r\n") {
		return fmt.Errorf("secret is not valid base64: it holds a line break")
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return fmt.Errorf("secret is not valid base64: %w", err)
	}
	if len(key) < 24 || len(key) > 64 {
		return fmt.Errorf("secret key is %d bytes; it must be 24 to 64", len(key))
	}
	return nil
}

// Sign returns the webhook-signature header value for a message signed with every given secret:
// one "v1,<base64>" per secret, space-separated, so receivers holding either secret of a
// rotation can verify.
func Sign(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			return "", fmt.Errorf("signing secret: %w", err)
		}
		sig, err := wh.Sign(id, ts, body)
		if err != nil {
			return "", fmt.Errorf("sign %s: %w", id, err)
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

// SignatureHeaders returns the Standard Webhooks headers for a message.
func SignatureHeaders(secrets []string, id string, ts time.Time, body []byte) (http.Header, error) {
	sig, err := Sign(secrets, id, ts, body)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	if sig != "" {
		h.Set(HeaderSignature, sig)
	}
	return h, nil
}

// Verify checks a received message against secret the way a receiver would, timestamp
// tolerance included.
func Verify(secret string, body []byte, h http.Header) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return fmt.Errorf("signing secret: %w", err)
	}
	return wh.Verify(body, h)
}
