package webhook

import (
	"testing"
	"time"
)

func TestValidJobID(t *testing.T) {
	made := NewJobID(time.Now())
	tests := []struct {
		id   string
		want bool
	}{
		{made, true},
		{"job_01HK153X00YFZMTH8Y8AF1G8GN", true},
		{"job_01hk153x00yfzmth8y8af1g8gn", false}, // ids are made in capitals
		{"job_81HK153X00YFZMTH8Y8AF1G8GN", false}, // past the greatest ULID
		{"job_01HK153X00YFZMTH8Y8AF1G8G", false},
		{"wh_01HK153X00YFZMTH8Y8AF1G8GN", false},
		{"job_01HK153X00YFZMTH8Y8AF1G8GU", false}, // U is not Crockford base 32
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			if got := ValidJobID(tt.id); got != tt.want {
				t.Fatalf("ValidJobID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}
