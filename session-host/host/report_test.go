package host

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/metrics"
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
	r := newHostRig(t)
	m := r.newMain(r.config("host-metrics"))
	defer m.Close()
	out := &lockedBuffer{}
	m.metrics = metrics.NewEmitter(out, "wagate")
	r.createInstances("inst_m1", "inst_m2")
	for _, id := range []string{"inst_m1", "inst_m2"} {
		if err := m.Sessions.Start(r.ctx, id); err != nil {
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
