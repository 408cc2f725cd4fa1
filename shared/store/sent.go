package store

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/wagate/wagate/shared/webhook"
)

// A log's request headers are stored as the few bytes nothing else holds: the timestamp and
// attempt number as unsigned varints, then each signature's HMAC-SHA256 (Standard Webhooks'
// "v1,<base64>") as its 32 raw bytes. About 40 bytes for a signed request against about 80 as
// named attributes: a log stays within one write unit with a longer event.
const (
	signaturePrefix = "v1,"
	signatureBytes  = 32
)

func packSent(s webhook.Sent) ([]byte, error) {
	if s.Timestamp < 0 || s.Attempt < 0 {
		return nil, fmt.Errorf("pack request headers: negative timestamp or attempt")
	}
	b := binary.AppendUvarint(nil, uint64(s.Timestamp))
	b = binary.AppendUvarint(b, uint64(s.Attempt))
	if s.Signature == "" {
		return b, nil
	}
	for _, sig := range strings.Split(s.Signature, " ") {
		raw, ok := strings.CutPrefix(sig, signaturePrefix)
		mac, err := base64.StdEncoding.DecodeString(raw)
		if !ok || err != nil || len(mac) != signatureBytes {
			return nil, fmt.Errorf("pack request headers: signature %q is not a v1 HMAC-SHA256", sig)
		}
		b = append(b, mac...)
	}
	return b, nil
}

func unpackSent(b []byte) (webhook.Sent, error) {
	ts, n := binary.Uvarint(b)
	if n <= 0 {
		return webhook.Sent{}, errors.New("unpack request headers: bad timestamp")
	}
	b = b[n:]
	attempt, n := binary.Uvarint(b)
	if n <= 0 {
		return webhook.Sent{}, errors.New("unpack request headers: bad attempt")
	}
	b = b[n:]
	if len(b)%signatureBytes != 0 {
		return webhook.Sent{}, fmt.Errorf("unpack request headers: %d bytes of signatures", len(b))
	}
	sigs := make([]string, 0, len(b)/signatureBytes)
	for ; len(b) > 0; b = b[signatureBytes:] {
		sigs = append(sigs, signaturePrefix+base64.StdEncoding.EncodeToString(b[:signatureBytes]))
	}
	return webhook.Sent{Timestamp: int64(ts), Attempt: int(attempt), Signature: strings.Join(sigs, " ")}, nil
}
