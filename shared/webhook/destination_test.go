package webhook

import (
	"strings"
	"testing"
)

func TestValidateURL(t *testing.T) {
	tests := []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://example.com/hook", false, true},
		{"https://example.com:8443/hook?x=1", false, true},
		{"http://example.com/hook", false, false},
		{"http://127.0.0.1:9000/hook", true, true},
		{"", false, false},
		{"example.com/hook", false, false},
		{"/hook", false, false},
		{"ftp://example.com/", false, false},
		{"https://user:pw@example.com/", false, false},
		{"https:///nohost", false, false},
		{"https://example.com/#frag", false, false},
		{"javascript:alert(1)", false, false},
		{"https://example.com/" + strings.Repeat("a", MaxURLLength), false, false},
		{"https://exa mple.com/", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := ValidateURL("webhookUrl", tt.url, tt.allowHTTP)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
			}
			if err != nil {
				if ErrorCode(err) != EInvalid || !strings.HasPrefix(ErrorMessage(err), "webhookUrl: ") {
					t.Fatalf("error %v does not name the field as invalid_request", err)
				}
			}
		})
	}
}
