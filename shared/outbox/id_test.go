package outbox

import (
	"regexp"
	"testing"
)

func TestNewMessageIDHasWhatsmeowsShape(t *testing.T) {
	shape := regexp.MustCompile(`^3EB0[0-9A-F]{18}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewMessageID()
		if !shape.MatchString(id) || !IsMessageID(id) {
			t.Fatalf("id %q has the wrong shape", id)
		}
		if seen[id] {
			t.Fatalf("id %q came twice", id)
		}
		seen[id] = true
	}
}

func TestIsMessageID(t *testing.T) {
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{"3EB0ABCDEF0123456789AB", true},
		{"3EB0abcdef0123456789ab", false},
		{"3EB0ABCDEF0123456789A", false},
		{"3EB1ABCDEF0123456789AB", false},
		{"3EB0ABCDEF0123456789AG", false},
		{"", false},
	} {
		t.Run(tt.id, func(t *testing.T) {
			if got := IsMessageID(tt.id); got != tt.want {
				t.Fatalf("IsMessageID(%q) = %v", tt.id, got)
			}
		})
	}
}
