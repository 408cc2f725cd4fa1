package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

func TestMain(m *testing.M) { awstest.Main(m) }

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// The host as ECS runs it, with no route to WhatsApp: it takes the lease of the instance,
// retries the connection with backoff and one log line per attempt, answers its health check,
// and on SIGTERM exits and gives the lease back.
func TestHostWithoutWhatsAppThenSIGTERM(t *testing.T) {
	res := awstest.Stack(t)
	instances := store.NewInstanceStore(dynamodb.NewFromConfig(awstest.Config(t)), res.Table("InstancesTable"))
	now := time.Now()
	if err := instances.Create(context.Background(), &webhook.Instance{ID: "inst_host", WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "session-host")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	health := freeAddr(t)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "INSTANCES_TABLE="+res.Table("InstancesTable"), "OUTBOX_TABLE="+res.Table("OutboxTable"),
		"EVENTS_QUEUE_URL="+res.QueueURL("EventsQueue"), "HEALTH_ADDR="+health, "DATA_DIR="+t.TempDir(),
		"LEASE_INTERVAL=200ms", "LEASE_TTL=2s")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
		}
	}()
	countLines := func(substr string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, l := range lines {
			if strings.Contains(l, substr) {
				n++
			}
		}
		return n
	}

	healthy := false
	for range 300 {
		if resp, err := http.Get("http://" + health + "/healthz"); err == nil {
			resp.Body.Close()
			if healthy = resp.StatusCode == 200; healthy {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !healthy {
		t.Fatal("the host never answered its health check")
	}
	for i := 0; countLines(`"attempt":2`) == 0; i++ {
		if i == 300 {
			t.Fatalf("no second connection attempt; output:\n%s", strings.Join(lines, "\n"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	leases, _, err := instances.ListLeases(context.Background(), 10, "")
	// The lease is held by the host that logs under that name.
	if err != nil || len(leases) != 1 || countLines(`"host":"`+leases[0].Owner+`"`) == 0 {
		t.Fatalf("leases %+v %v; output:\n%s", leases, err, strings.Join(lines, "\n"))
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
	<-scanned
	// Backoff: attempts 1 s, 2 s, 5 s … apart, so a few seconds hold a few lines, not a flood.
	if n := countLines("connect to WhatsApp failed"); n < 2 || n > 5 {
		t.Fatalf("%d connection-failure lines", n)
	}
	leases, _, err = instances.ListLeases(context.Background(), 10, "")
	if err != nil || len(leases) != 1 || leases[0].Owner != "" {
		t.Fatalf("lease not released: %+v %v", leases, err)
	}
}
