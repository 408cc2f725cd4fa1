package samtemplate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ScheduleSource is one Schedule event of a function: EventBridge invokes it at a fixed rate.
type ScheduleSource struct {
	Function string // logical id of the function
	Every    time.Duration
}

// ScheduleSources returns every Schedule event of the template's functions. Only rate
// expressions are read: a cron expression has no fixed period to drive locally.
func (t *Template) ScheduleSources() ([]ScheduleSource, error) {
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				Events map[string]struct {
					Type       string
					Properties struct{ Schedule string }
				}
			}
		}
	}
	if err := json.Unmarshal(t.raw, &doc); err != nil {
		return nil, fmt.Errorf("read functions' events: %w", err)
	}
	var out []ScheduleSource
	for name, res := range doc.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		for event, src := range res.Properties.Events {
			if src.Type != "Schedule" {
				continue
			}
			every, err := parseRate(src.Properties.Schedule)
			if err != nil {
				return nil, fmt.Errorf("%s.Events.%s: %w", name, event, err)
			}
			out = append(out, ScheduleSource{Function: name, Every: every})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function < out[j].Function })
	return out, nil
}

// parseRate reads an EventBridge rate expression: "rate(<n> <unit>)", the unit minute(s),
// hour(s) or day(s), singular exactly when n is 1.
func parseRate(expr string) (time.Duration, error) {
	inner, open := strings.CutPrefix(expr, "rate(")
	inner, closed := strings.CutSuffix(inner, ")")
	if !open || !closed {
		return 0, fmt.Errorf("schedule %q: want rate(<n> <unit>)", expr)
	}
	num, unit, _ := strings.Cut(inner, " ")
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("schedule %q: the rate must be a whole number of at least 1", expr)
	}
	units := map[string]time.Duration{
		"minute": time.Minute, "minutes": time.Minute, "hour": time.Hour, "hours": time.Hour,
		"day": 24 * time.Hour, "days": 24 * time.Hour,
	}
	d, ok := units[unit]
	if !ok || strings.HasSuffix(unit, "s") != (n != 1) {
		return 0, fmt.Errorf("schedule %q: the unit must be minute, hour or day, plural above 1", expr)
	}
	return time.Duration(n) * d, nil
}
