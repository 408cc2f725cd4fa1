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
		addSeed(f, tc.body)
	}
	for _, tc := range validCases {
		addSeed(f, tc.body)
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

// maxSeed leaves out the cases at the size limits: mutating 200 KB bodies would slow the
// fuzzer tenfold, and the table tests hold those limits.
const maxSeed = 4096

func addSeed(f *testing.F, body string) {
	if len(body) <= maxSeed {
		f.Add([]byte(body))
	}
}
