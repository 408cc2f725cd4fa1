package dynamo

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestBackoffDelay(t *testing.T) {
	b := Backoff{First: 20 * time.Millisecond, Max: time.Second}
	tests := []struct {
		try int
		// full is the wait before jitter: the delay is between half of it and all of it.
		full time.Duration
	}{
		{0, 20 * time.Millisecond},
		{1, 40 * time.Millisecond},
		{3, 160 * time.Millisecond},
		{5, 640 * time.Millisecond},
		{6, time.Second},
		{9, time.Second},
		// First shifted this far overflows: still Max.
		{62, time.Second},
		{100, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.full.String(), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := b.delay(tt.try)
				if d < tt.full/2 || d > tt.full {
					t.Fatalf("delay(%d) = %v, want between %v and %v", tt.try, d, tt.full/2, tt.full)
				}
				seen[d] = true
			}
			if len(seen) < 2 {
				t.Errorf("delay(%d) is always %v: no jitter", tt.try, b.delay(tt.try))
			}
		})
	}
}

func TestBackoffWaitStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := (Backoff{First: time.Hour, Max: time.Hour}).Wait(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}
	if err := (Backoff{First: time.Microsecond, Max: time.Microsecond}).Wait(context.Background(), 3); err != nil {
		t.Errorf("Wait = %v", err)
	}
}
