package samtemplate

import (
	"encoding/json"
	"fmt"
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
	var out []ScheduleSource
	err := eventsOfType(t, "Schedule", func(e functionEvent) error {
		var p struct{ Schedule string }
		if err := json.Unmarshal(e.Properties, &p); err != nil {
			return fmt.Errorf("%s.Events.%s: %w", e.Function, e.Name, err)
		}
		every, err := parseRate(p.Schedule)
		if err != nil {
			return fmt.Errorf("%s.Events.%s: %w", e.Function, e.Name, err)
		}
		out = append(out, ScheduleSource{Function: e.Function, Every: every})
		return nil
	})
	return out, err
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
