package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEmitWritesEMF(t *testing.T) {
	var buf bytes.Buffer
	e := NewEmitter(&buf, "wagate")
	e.now = func() time.Time { return time.UnixMilli(1700000000123) }
	if err := e.Emit(map[string]string{"Event": "message.received"},
		Metric{Name: "Delivered", Unit: UnitCount, Value: 1},
		Metric{Name: "AttemptLatency", Unit: UnitMilliseconds, Values: []float64{42, 7}}); err != nil {
		t.Fatal(err)
	}
	if err := e.Emit(nil, Metric{Name: "Failed", Unit: UnitCount, Value: 1}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines, got %d", len(lines))
	}
	var rec struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		Event          string
		Delivered      float64
		AttemptLatency []float64
	}
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	d := rec.AWS.CloudWatchMetrics[0]
	if rec.AWS.Timestamp != 1700000000123 || d.Namespace != "wagate" || rec.Event != "message.received" ||
		rec.Delivered != 1 || len(rec.AttemptLatency) != 2 || rec.AttemptLatency[0] != 42 || rec.AttemptLatency[1] != 7 || len(d.Metrics) != 2 ||
		len(d.Dimensions) != 2 || d.Dimensions[0][0] != "Event" || len(d.Dimensions[1]) != 0 {
		t.Fatalf("unexpected record: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"Dimensions":[[]]`) {
		t.Fatalf("record without dimensions: %s", lines[1])
	}
}
