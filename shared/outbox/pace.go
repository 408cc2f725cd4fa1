package outbox

import (
	"fmt"
	"time"
)

// Pace is how fast an instance sends: a burst queues instead of hammering WhatsApp, which
// bans numbers that send in bursts.
type Pace struct {
	// PerMinute is the most messages the instance sends in a minute, over all its chats.
	PerMinute int `json:"perMinute"`
	// JitterMs adds a random wait of up to this many milliseconds to each gap, so sends do
	// not come at machine-regular intervals.
	JitterMs int `json:"jitterMs"`
	// Typing shows "typing…" in the chat before each text message, for about as long as a
	// person would take to type it (bounded by the gap).
	Typing bool `json:"typing"`
}

// DefaultPace is the pace of an instance that set none: 20 a minute with up to 2 s of
// jitter, about what a busy person sends by hand.
var DefaultPace = Pace{PerMinute: 20, JitterMs: 2000}

// The bounds a pace must keep.
const (
	MaxPerMinute = 120
	MaxJitterMs  = 60_000
)

// Validate checks a pace, naming the field under prefix (e.g. "sendPace").
func (p Pace) Validate(prefix string) error {
	if p.PerMinute < 1 || p.PerMinute > MaxPerMinute {
		return invalid(prefix+".perMinute", "must be 1 to %d", MaxPerMinute)
	}
	if p.JitterMs < 0 || p.JitterMs > MaxJitterMs {
		return invalid(prefix+".jitterMs", "must be 0 to %d", MaxJitterMs)
	}
	return nil
}

// Gap returns the wait before the next send: a minute over PerMinute, plus jitter, where
// random returns a number in [0, 1).
func (p Pace) Gap(random func() float64) time.Duration {
	if p.PerMinute < 1 {
		p = DefaultPace
	}
	gap := time.Minute / time.Duration(p.PerMinute)
	return gap + time.Duration(random()*float64(time.Duration(p.JitterMs)*time.Millisecond))
}

// String describes the pace for logs.
func (p Pace) String() string {
	return fmt.Sprintf("%d/min, jitter %d ms, typing %v", p.PerMinute, p.JitterMs, p.Typing)
}
