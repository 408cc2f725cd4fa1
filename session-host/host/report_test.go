package host

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/shared/awstest"
	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// lockedBuffer is a buffer the reporting goroutine and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The host reports its sessions as embedded metrics, for the dashboard's connected-instances
// chart: here two sessions run and, with no route to WhatsApp, none is connected.
func TestHostReportsItsSessions(t *testing.T) {
	res := awstest.Stack(t)
	awsCfg := awstest.Config(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{
		HostID: "host-metrics", InstancesTable: res.Table("InstancesTable"), QueueURL: res.QueueURL("EventsQueue"),
		HealthAddr: "127.0.0.1:0", Capacity: 10, LeaseTTL: time.Minute, LeaseInterval: time.Second,
		Linger: 20 * time.Millisecond, Store: "sqlite", DataDir: t.TempDir(),
	}
	m, err := NewMain(context.Background(), cfg, awsCfg, logger, func(*Sessions) (Leases, error) { return idleLeases{}, nil })
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := &lockedBuffer{}
	m.metrics = metrics.NewEmitter(out, "wagate")
	m.Sessions.backoff = []time.Duration{time.Hour}
	instances := store.NewInstanceStore(dynamodb.NewFromConfig(awsCfg), cfg.InstancesTable)
	for _, id := range []string{"inst_m1", "inst_m2"} {
		now := time.Now()
		if err := instances.Create(context.Background(), &webhook.Instance{ID: id, WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := m.Sessions.Start(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { m.reportSessions(ctx, 20*time.Millisecond); close(done) }()
	for deadline := time.Now().Add(5 * time.Second); out.String() == "" && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	line, _, _ := strings.Cut(out.String(), "\n")
	var rec struct {
		SessionsRunning, SessionsConnected *float64
		AWS                                struct {
			CloudWatchMetrics []struct{ Namespace string }
		} `json:"_aws"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if rec.SessionsRunning == nil || *rec.SessionsRunning != 2 || rec.SessionsConnected == nil || *rec.SessionsConnected != 0 ||
		len(rec.AWS.CloudWatchMetrics) != 1 || rec.AWS.CloudWatchMetrics[0].Namespace != "wagate" {
		t.Fatalf("metrics line %s", line)
	}
}
