package host

import (
	"context"
	"fmt"
	"log/slog"

	waLog "go.mau.fi/whatsmeow/util/log"
)

// waLogger hands whatsmeow's log lines to slog, with the module as an attribute.
type waLogger struct {
	l *slog.Logger
}

// newWALogger returns a whatsmeow logger writing to l.
func newWALogger(l *slog.Logger) waLog.Logger { return waLogger{l} }

func (w waLogger) log(level slog.Level, msg string, args []any) {
	if w.l.Enabled(context.Background(), level) {
		w.l.Log(context.Background(), level, fmt.Sprintf(msg, args...))
	}
}

func (w waLogger) Errorf(msg string, args ...any) { w.log(slog.LevelError, msg, args) }
func (w waLogger) Warnf(msg string, args ...any)  { w.log(slog.LevelWarn, msg, args) }
func (w waLogger) Infof(msg string, args ...any)  { w.log(slog.LevelInfo, msg, args) }
func (w waLogger) Debugf(msg string, args ...any) { w.log(slog.LevelDebug, msg, args) }
func (w waLogger) Sub(module string) waLog.Logger {
	return waLogger{w.l.With("module", module)}
}
