package host

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wagate/wagate/shared/metrics"
)

// The host reports its sessions as embedded metrics, for the dashboard's connected-instances
// chart: here two sessions run and, with no route to WhatsApp, none is connected.
func TestHostReportsItsSessions(t *testing.T) {
	r := newHostRig(t)
	m := r.newMain(r.config("host-metrics"))
	defer m.Close()
	var out bytes.Buffer
	m.metrics = metrics.NewEmitter(&out, "wagate")
	r.createInstances("inst_m1", "inst_m2")
	for _, id := range []string{"inst_m1", "inst_m2"} {
		if err := m.Sessions.Start(r.ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	m.emitSessions()
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
