// Package metrics writes CloudWatch metrics as Embedded Metric Format log lines: a Lambda's
// stdout goes to CloudWatch Logs, which turns each such line into metric data points with no
// API call on the hot path.
package metrics

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Units used by wagate's metrics.
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
)

// Metric is one value to record, or several: Values, when set, are separate observations of
// the metric (at most 100, EMF's limit), and Value is not used.
type Metric struct {
	Name   string
	Unit   string
	Value  float64
	Values []float64
}

// Emitter writes EMF records to w, one JSON line each.
type Emitter struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	now       func() time.Time
}

// NewEmitter returns an Emitter writing to w under namespace.
func NewEmitter(w io.Writer, namespace string) *Emitter {
	return &Emitter{w: w, namespace: namespace, now: time.Now}
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Emit records the metrics once per dimension value and once more without dimensions, so
// dashboards can show both the total and the split.
func (e *Emitter) Emit(dims map[string]string, ms ...Metric) error {
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	rec := make(map[string]any, len(dims)+len(ms)+1)
	defs := make([]metricDef, len(ms))
	for i, m := range ms {
		defs[i] = metricDef{Name: m.Name, Unit: m.Unit}
		if m.Values != nil {
			rec[m.Name] = m.Values
		} else {
			rec[m.Name] = m.Value
		}
	}
	for k, v := range dims {
		rec[k] = v
	}
	dimSets := [][]string{{}}
	if len(keys) > 0 {
		dimSets = [][]string{keys, {}}
	}
	rec["_aws"] = metadata{
		Timestamp:         e.now().UnixMilli(),
		CloudWatchMetrics: []directive{{Namespace: e.namespace, Dimensions: dimSets, Metrics: defs}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.w.Write(append(b, '\n'))
	return err
}
