package manage

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/webhook"
)

func TestUploadRequestValidate(t *testing.T) {
	str := func(s string) *string { return &s }
	size := func(n int64) *apigw.Integer { i := apigw.Integer(n); return &i }
	tests := []struct {
		name     string
		req      uploadRequest
		field    string // the field the 400 names; "" for a valid request
		mimetype string
	}{
		{"document", uploadRequest{Mimetype: str("Application/PDF"), Size: size(100), FileName: str("invoice.pdf")}, "", "application/pdf"},
		{"any type without a message type", uploadRequest{Mimetype: str("text/csv; charset=UTF-8"), Size: size(1)}, "", "text/csv; charset=UTF-8"},
		{"image at its limit", uploadRequest{Mimetype: str("image/png"), Size: size(16 << 20), Type: str("image")}, "", "image/png"},
		{"voice note type", uploadRequest{Mimetype: str("audio/ogg"), Size: size(10), Type: str("audio")}, "", "audio/ogg; codecs=opus"},
		{"document at 100 MB", uploadRequest{Mimetype: str("application/zip"), Size: size(100 << 20)}, "", "application/zip"},
		{"no mimetype", uploadRequest{Size: size(1)}, "mimetype", ""},
		{"not a media type", uploadRequest{Mimetype: str("pdf"), Size: size(1)}, "mimetype", ""},
		{"no size", uploadRequest{Mimetype: str("image/png")}, "size", ""},
		{"empty", uploadRequest{Mimetype: str("image/png"), Size: size(0)}, "size", ""},
		{"over every limit", uploadRequest{Mimetype: str("application/zip"), Size: size(100<<20 + 1)}, "size", ""},
		{"image over its limit", uploadRequest{Mimetype: str("image/png"), Size: size(16<<20 + 1), Type: str("image")}, "size", ""},
		{"sticker over its limit", uploadRequest{Mimetype: str("image/webp"), Size: size(500<<10 + 1), Type: str("sticker")}, "size", ""},
		{"a type WhatsApp does not take for images", uploadRequest{Mimetype: str("image/gif"), Size: size(1), Type: str("image")}, "mimetype", ""},
		{"not a media message type", uploadRequest{Mimetype: str("image/png"), Size: size(1), Type: str("location")}, "type", ""},
		{"file name with a slash", uploadRequest{Mimetype: str("application/pdf"), Size: size(1), FileName: str("a/b.pdf")}, "fileName", ""},
		{"blank file name", uploadRequest{Mimetype: str("application/pdf"), Size: size(1), FileName: str("  ")}, "fileName", ""},
		{"file name with a newline", uploadRequest{Mimetype: str("application/pdf"), Size: size(1), FileName: str("a\nb.pdf")}, "fileName", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mimetype, _, _, err := tt.req.validate()
			if tt.field == "" {
				if err != nil || mimetype != tt.mimetype {
					t.Fatalf("validate = %q, %v; want %q", mimetype, err, tt.mimetype)
				}
				return
			}
			if webhook.ErrorCode(err) != webhook.EInvalid || !strings.HasPrefix(webhook.ErrorMessage(err), tt.field+":") {
				t.Fatalf("validate: %v, want a 400 naming %s", err, tt.field)
			}
		})
	}
}
