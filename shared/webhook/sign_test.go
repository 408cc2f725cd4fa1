package webhook

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The Standard Webhooks specification's published test vector.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorID        = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorBody      = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesSpecVector(t *testing.T) {
	got, err := Sign([]string{vectorSecret}, vectorID, time.Unix(vectorTimestamp, 0), []byte(vectorBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != vectorSignature {
		t.Fatalf("signature = %q, want %q", got, vectorSignature)
	}
}

func TestSignWithTwoSecretsVerifiesWithEither(t *testing.T) {
	old, cur := NewSecret(), NewSecret()
	body := []byte(`{"event":"message.received"}`)
	h, err := SignatureHeaders([]string{cur, old}, "wh_1", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(h.Get(HeaderSignature))); n != 2 {
		t.Fatalf("want 2 signatures, got %d: %q", n, h.Get(HeaderSignature))
	}
	for name, secret := range map[string]string{"current": cur, "previous": old} {
		t.Run(name, func(t *testing.T) {
			if err := Verify(secret, body, h); err != nil {
				t.Fatalf("verify with %s secret: %v", name, err)
			}
		})
	}
	if err := Verify(NewSecret(), body, h); err == nil {
		t.Fatal("a third secret verified")
	}
}

func TestVerifyRejects(t *testing.T) {
	body := []byte(vectorBody)
	now := time.Now()
	good, err := SignatureHeaders([]string{vectorSecret}, vectorID, now, body)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		body   string
		mutate func(http.Header)
	}{
		{"altered body", `{"test": 1}`, func(http.Header) {}},
		{"other id", vectorBody, func(h http.Header) { h.Set(HeaderID, "msg_other") }},
		{"old timestamp", vectorBody, func(h http.Header) { h.Set(HeaderTimestamp, "1614265330") }},
		{"no signature", vectorBody, func(h http.Header) { h.Del(HeaderSignature) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := good.Clone()
			tt.mutate(h)
			if err := Verify(vectorSecret, []byte(tt.body), h); err == nil {
				t.Fatal("verified")
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	tests := []struct {
		secret string
		ok     bool
	}{
		{a, true},
		{vectorSecret, true},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false},
		{"whsec_not base64!", false},
		{"whsec_c2hvcnQ=", false},                      // 5 bytes
		{"whsec_" + strings.Repeat("QUFB", 22), false}, // 66 bytes
		{"whsec_" + strings.Repeat("QUFB", 4) + "\n" + strings.Repeat("QUFB", 4), false},
		{"whsec_" + strings.Repeat("QUFB", 8) + "\r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.secret, func(t *testing.T) {
			if err := ValidateSecret(tt.secret); (err == nil) != tt.ok {
				t.Fatalf("ValidateSecret(%q) = %v, want ok=%v", tt.secret, err, tt.ok)
			}
		})
	}
}
