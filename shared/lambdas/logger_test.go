package lambdas

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// The level is read when the process starts, as on Lambda, so each case runs this test's
// binary again with the variable set; the child prints the lowest level its logger writes.
func TestLoggerFollowsLambdaLogLevel(t *testing.T) {
	if os.Getenv("WAGATE_LOG_LEVEL_CHILD") != "" {
		for _, l := range []slog.Level{slog.LevelDebug, slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
			if lambdaLogger().Enabled(context.Background(), l) {
				fmt.Println("lowest:", l)
				return
			}
		}
		return
	}
	tests := []struct{ level, want string }{
		{"DEBUG", "DEBUG"}, {"INFO", "INFO"}, {"WARN", "WARN"}, {"ERROR", "ERROR"}, {"", "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLoggerFollowsLambdaLogLevel$")
			cmd.Env = append(os.Environ(), "WAGATE_LOG_LEVEL_CHILD=1", "AWS_LAMBDA_LOG_LEVEL="+tt.level)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if !strings.Contains(string(out), "lowest: "+tt.want+"\n") {
				t.Fatalf("AWS_LAMBDA_LOG_LEVEL=%s: %s, want lowest %s", tt.level, out, tt.want)
			}
		})
	}
}
