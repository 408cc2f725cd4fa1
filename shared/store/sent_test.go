package store

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/shared/webhook"
)

func TestPackSentRefusesWhatItCannotRebuild(t *testing.T) {
	tests := []struct {
		name string
		sig  string
	}{
		{"not v1", "v2,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
		{"not base64", "v1,not base64!"},
		{"not 32 bytes", "v1,AAAA"},
		{"double space", "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=  v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := packSent(webhook.Sent{Timestamp: 1, Signature: tt.sig, Attempt: 1}); err == nil {
				t.Fatalf("packed %q", tt.sig)
			}
		})
	}
}

func TestUnpackSentRefusesDamagedBytes(t *testing.T) {
	good, err := packSent(webhook.Sent{Timestamp: 1700000000, Signature: "v1," + strings.Repeat("A", 43) + "=", Attempt: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{nil, {0x80}, good[:len(good)-1], append(good, 0)} {
		if _, err := unpackSent(b); err == nil {
			t.Errorf("unpacked %x", b)
		}
	}
	if _, err := unpackSent(good); err != nil {
		t.Fatal(err)
	}
}
