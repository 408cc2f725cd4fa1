package webhook

import "testing"

func TestLogFilterMatches(t *testing.T) {
	l := &Log{InstanceID: "inst_a", Status: StatusFailed, Event: EventMessageReceived}
	tests := []struct {
		name string
		f    LogFilter
		want bool
	}{
		{"empty filter", LogFilter{}, true},
		{"instance", LogFilter{InstanceID: "inst_a"}, true},
		{"other instance", LogFilter{InstanceID: "inst_b"}, false},
		{"status", LogFilter{Status: StatusFailed}, true},
		{"other status", LogFilter{Status: StatusSuccess}, false},
		{"event", LogFilter{Event: EventMessageReceived}, true},
		{"other event", LogFilter{Event: EventMessageSent}, false},
		{"all three", LogFilter{InstanceID: "inst_a", Status: StatusFailed, Event: EventMessageReceived}, true},
		{"all three, one off", LogFilter{InstanceID: "inst_a", Status: StatusFailed, Event: EventSessionStatus}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Matches(l); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}
