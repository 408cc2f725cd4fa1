package outbox_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/outbox"
)

func TestStatusAdvances(t *testing.T) {
	tests := []struct {
		from, to outbox.Status
		want     bool
	}{
		{outbox.StatusQueued, outbox.StatusSending, true},
		{outbox.StatusSending, outbox.StatusSent, true},
		{outbox.StatusQueued, outbox.StatusSent, true},
		{outbox.StatusSent, outbox.StatusRead, true}, // read without delivered
		{outbox.StatusRead, outbox.StatusDelivered, false},
		{outbox.StatusSent, outbox.StatusSent, false},
		{outbox.StatusSending, outbox.StatusQueued, false},
		{outbox.StatusQueued, outbox.StatusFailed, true},
		{outbox.StatusSending, outbox.StatusFailed, true},
		{outbox.StatusSent, outbox.StatusFailed, false},
		{outbox.StatusFailed, outbox.StatusSent, false},
		{outbox.StatusFailed, outbox.StatusFailed, false},
		{outbox.StatusRead, outbox.StatusPlayed, true},
		{outbox.StatusQueued, "bogus", false},
	}
	for _, tt := range tests {
		t.Run(string(tt.from)+"→"+string(tt.to), func(t *testing.T) {
			if got := tt.from.Advances(tt.to); got != tt.want {
				t.Errorf("Advances = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRecordMove(t *testing.T) {
	now := time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)
	r := &outbox.Record{MessageID: "3EB0AA", Status: outbox.StatusSending, Version: 3}
	failed, err := r.Move(outbox.StatusFailed, "not on WhatsApp", now)
	if err != nil {
		t.Fatal(err)
	}
	if failed.Status != outbox.StatusFailed || failed.Error != "not on WhatsApp" || failed.Version != 4 || !failed.UpdatedAt.Equal(now) {
		t.Errorf("Move = %+v", failed)
	}
	if r.Status != outbox.StatusSending || r.Version != 3 {
		t.Errorf("Move changed the record it was given: %+v", r)
	}
	if _, err := failed.Move(outbox.StatusSent, "", now); err == nil {
		t.Error("a failed message moved on")
	}
}

func TestIsStatus(t *testing.T) {
	for _, s := range []string{"queued", "sending", "sent", "delivered", "read", "played", "failed"} {
		if !outbox.IsStatus(s) {
			t.Errorf("IsStatus(%q) = false", s)
		}
	}
	if outbox.IsStatus("pending") {
		t.Error(`IsStatus("pending") = true`)
	}
}

func TestPace(t *testing.T) {
	tests := []struct {
		name    string
		pace    outbox.Pace
		random  float64
		gap     time.Duration
		wantErr string
	}{
		{"default", outbox.DefaultPace, 0, 3 * time.Second, ""},
		{"default, most jitter", outbox.DefaultPace, 0.5, 4 * time.Second, ""},
		{"one a second", outbox.Pace{PerMinute: 60}, 0.9, time.Second, ""},
		{"too fast", outbox.Pace{PerMinute: 121}, 0, time.Minute / 121, "sendPace.perMinute"},
		{"zero", outbox.Pace{}, 0, 3 * time.Second, "sendPace.perMinute"},
		{"negative jitter", outbox.Pace{PerMinute: 10, JitterMs: -1}, 0, 6 * time.Second, "sendPace.jitterMs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.pace.Gap(func() float64 { return tt.random }); got != tt.gap {
				t.Errorf("Gap = %s, want %s", got, tt.gap)
			}
			err := tt.pace.Validate("sendPace")
			if (err != nil) != (tt.wantErr != "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
