// Command dev runs the whole gateway on this machine (`make dev`): see shared/devstack.
//
//	WAGATE_ADDR        where the API listens (127.0.0.1:8080)
//	WAGATE_API_KEY     accepted API keys, comma-separated (one is generated when unset)
//	AWS_ENDPOINT_URL   a running LocalStack to use instead of starting moto
//	WAGATE_STATE_FILE  where to record the URL and key for `make trigger` (.wagate/dev.env)
//	WAGATE_WEBHOOK_TIMEOUT  the functions' WEBHOOK_TIMEOUT, one attempt's limit (10s when
//	                   unset); infra/schemathesis/run.sh shortens it for the URLs it makes up
package main

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/wagate/wagate/infra/devstack"
	"github.com/wagate/wagate/infra/samtemplate"
)

func main() {
	// The kernel stops moto when the thread that started it ends: keep this one to the end.
	runtime.LockOSThread()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	addr := os.Getenv("WAGATE_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		log.Fatalf("WAGATE_ADDR %q: %v", addr, err)
	}
	var keys []string
	for _, k := range strings.Split(os.Getenv("WAGATE_API_KEY"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}

	env := map[string]string{}
	if v := os.Getenv("WAGATE_WEBHOOK_TIMEOUT"); v != "" {
		env["WEBHOOK_TIMEOUT"] = v
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stack, err := devstack.Start(ctx, devstack.Options{
		Addr: addr, APIKeys: keys, Endpoint: os.Getenv("AWS_ENDPOINT_URL"),
		// Runs on different ports sharing one LocalStack keep to their own resources.
		Prefix: "wagate-dev-" + port, Logger: logger, Env: env,
	})
	if err != nil {
		log.Fatalf("start: %v", err)
	}
	state, err := writeState(stack)
	if err != nil {
		logger.Warn("write the state file for make trigger", "error", err)
	}
	fmt.Print(banner(stack))

	<-ctx.Done()
	logger.Info("stopping")
	done := make(chan error, 1)
	go func() { done <- stack.Close() }()
	select {
	case err := <-done:
		if err != nil {
			logger.Warn("stop", "error", err)
		}
	case <-time.After(5 * time.Second):
		logger.Error("stop took over 5 s; exiting anyway")
	}
	if state != "" {
		os.Remove(state) // make trigger then says no stack is running
	}
}

// writeState records where the stack listens, for `make trigger`, and returns the file's path.
func writeState(s *devstack.Stack) (string, error) {
	path := os.Getenv("WAGATE_STATE_FILE")
	if path == "" {
		root, err := samtemplate.RepoRoot()
		if err != nil {
			return "", err
		}
		path = filepath.Join(root, ".wagate", "dev.env")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	body := fmt.Sprintf("WAGATE_URL=%s\nWAGATE_API_KEY=%s\n", s.URL, s.APIKeys[0])
	return path, os.WriteFile(path, []byte(body), 0o600)
}

func banner(s *devstack.Stack) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nwagate is running locally.\n\n")
	fmt.Fprintf(&b, "  %-22s %s  (header X-API-Key)\n", "API", s.URL)
	fmt.Fprintf(&b, "  %-22s %s\n", "API key", strings.Join(s.APIKeys, ", "))
	fmt.Fprintf(&b, "  %-22s %s/console  (sign in with the API key)\n", "Console", s.URL)
	fmt.Fprintf(&b, "  %-22s %s\n", "AWS endpoint", s.Endpoint)
	for _, name := range []string{"InstancesTable", "WebhookLogTable", "WebhookStatsTable"} {
		fmt.Fprintf(&b, "  %-22s %s\n", name, s.Resources.Table(name))
	}
	for _, name := range []string{"EventsQueue", "EventsDeadLetterQueue", "JobsQueue"} {
		fmt.Fprintf(&b, "  %-22s %s\n", name, s.Resources.QueueURL(name))
	}
	fmt.Fprintf(&b, "\nTry:\n  curl -s -X POST %s/api/instance -H 'X-API-Key: %s' -H 'Content-Type: application/json' -d '{\"webhookUrl\":\"http://127.0.0.1:3001/webhook\"}'\n", s.URL, s.APIKeys[0])
	fmt.Fprintf(&b, "  make trigger EVENT=message.received INSTANCE=<id>\n\nCtrl-C stops everything.\n\n")
	return b.String()
}
