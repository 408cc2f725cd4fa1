package outbox

import (
	"errors"
	"reflect"
	"testing"

	"github.com/wagate/wagate/shared/webhook"
)

// FuzzParse checks that no body makes Parse panic, that it answers either a Message or an
// invalid_request error, and that every Message it accepts survives its stored form.
func FuzzParse(f *testing.F) {
	for _, tc := range invalidCases {
		f.Add([]byte(tc.body))
	}
	for _, tc := range validCases {
		f.Add([]byte(tc.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := Parse(body)
		if err != nil {
			var we *webhook.Error
			if m != nil || !errors.As(err, &we) || we.Code != webhook.EInvalid {
				t.Fatalf("Parse(%q) = %v, %v; want nil and an invalid_request *webhook.Error", body, m, err)
			}
			return
		}
		if m == nil {
			t.Fatalf("Parse(%q) = nil, nil", body)
		}
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeStored(b)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("stored form of %q does not round-trip: %v\n%s", body, err, b)
		}
	})
}
