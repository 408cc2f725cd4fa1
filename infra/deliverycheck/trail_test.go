package deliverycheck_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
)

// trail keeps, in memory, every line the gateway's parts in a rig log (debug level included),
// so a test that finds a webhook mishandled can show what each part said about it: such a
// failure is rare, and a run is too long to repeat for its story.
type trail struct {
	mu    sync.Mutex
	lines []string
}

// logger returns a logger whose lines the trail keeps.
func (tr *trail) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(tr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Write keeps one line: the text handler writes each record in one call.
func (tr *trail) Write(p []byte) (int, error) {
	tr.mu.Lock()
	tr.lines = append(tr.lines, strings.TrimRight(string(p), "\n"))
	tr.mu.Unlock()
	return len(p), nil
}

// about returns what was logged about id, and the warnings and errors about nothing in
// particular (an emulator's failed call, a poller's), at most the last 40 of those.
func (tr *trail) about(id string) string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var mine, general []string
	for _, l := range tr.lines {
		switch {
		case strings.Contains(l, id):
			mine = append(mine, l)
		case !strings.Contains(l, "webhookId=") && (strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR")):
			general = append(general, l)
		}
	}
	general = general[max(len(general)-40, 0):]
	return fmt.Sprintf("logged about %s:\n  %s\nlast warnings and errors about no webhook:\n  %s",
		id, strings.Join(mine, "\n  "), strings.Join(general, "\n  "))
}
