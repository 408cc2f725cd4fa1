package manage_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/webhook"
)

// TestDailyStatsAddUpToStats loads logs over ten days and asks for each window, of one
// instance and of all: every day is present, oldest first, and the days add up to what
// GET /api/webhook/stats answers for the same window, read from one counter item per day and
// event whatever the number of logs.
func TestDailyStatsAddUpToStats(t *testing.T) {
	r := newWebhookRig(t)
	logs := fixtureLogs(1200, []string{"inst_d", "inst_e"}, 10)
	r.load(logs)
	r.counting.Count(t)
	for _, days := range []int{1, 7, 10, 30} {
		for _, inst := range []string{"inst_d", ""} {
			q := map[string]string{"days": strconv.Itoa(days)}
			if inst != "" {
				q["instanceId"] = inst
			}
			var daily manage.DailyStats
			items, ops := r.reads.measure(func() {
				r.ok(request{method: "GET", resource: "/api/webhook/stats/daily", query: q}, 200, &daily)
			})
			// One item per day and event, never per log: here at most 300 against 1,200 logs.
			assertReads(t, items, ops, days*len(webhook.Events))
			total := r.stats(q)
			if len(daily.Days) != days {
				t.Fatalf("%d days, %q: %d entries", days, inst, len(daily.Days))
			}
			today := time.Now().UTC()
			var sum manage.DayStats
			for i, d := range daily.Days {
				if want := today.AddDate(0, 0, i-(days-1)).Format(time.DateOnly); d.Date != want {
					t.Fatalf("%d days, %q: entry %d is %s, want %s (oldest first, today last)", days, inst, i, d.Date, want)
				}
				if i < days-11 && d != (manage.DayStats{Date: d.Date}) {
					t.Fatalf("%d days, %q: %s holds no logs, shows %+v", days, inst, d.Date, d)
				}
				sum.Total += d.Total
				sum.Success += d.Success
				sum.Failed += d.Failed
			}
			if sum.Total != total.Total || sum.Success != total.Success || sum.Failed != total.Failed {
				t.Fatalf("%d days, %q: the days add up to %+v, stats answers %+v", days, inst, sum, total)
			}
			if want := fixtureSum(logs, inst, daily.Days[0].Date); sum != want {
				t.Fatalf("%d days, %q: the days add up to %+v; the logs loaded, %+v", days, inst, sum, want)
			}
			if (daily.InstanceID == nil) != (inst == "") || inst != "" && *daily.InstanceID != inst {
				t.Fatalf("instanceId %v, want %q", daily.InstanceID, inst)
			}
		}
	}
}

func TestDailyStatsShape(t *testing.T) {
	r := newWebhookRig(t)
	a := r.do(request{method: "GET", resource: "/api/webhook/stats/daily"})
	if a.status != 200 {
		t.Fatalf("status %d: %s", a.status, a.raw)
	}
	var raw struct {
		InstanceID *string          `json:"instanceId"`
		Days       []map[string]any `json:"days"`
	}
	if err := json.Unmarshal(a.Data, &raw); err != nil {
		t.Fatal(err)
	}
	var top map[string]any
	if err := json.Unmarshal(a.Data, &top); err != nil {
		t.Fatal(err)
	}
	if _, ok := top["instanceId"]; !ok || len(top) != 2 || raw.InstanceID != nil || len(raw.Days) != 7 {
		t.Fatalf("shape %s: want instanceId null and 7 days by default", a.Data)
	}
	for _, d := range raw.Days {
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"date", "failed", "success", "total"}) || d["total"] != 0.0 {
			t.Fatalf("day %v: want date, total, success, failed, all zero", d)
		}
	}
}

// fixtureSum counts the logs of an instance ("" for all) created on or after the day from.
func fixtureSum(logs []*webhook.Log, instanceID, from string) manage.DayStats {
	var sum manage.DayStats
	for _, l := range logs {
		if (instanceID != "" && l.InstanceID != instanceID) || l.CreatedAt.UTC().Format(time.DateOnly) < from {
			continue
		}
		sum.Total++
		switch l.Status {
		case webhook.StatusSuccess:
			sum.Success++
		case webhook.StatusFailed:
			sum.Failed++
		}
	}
	return sum
}
