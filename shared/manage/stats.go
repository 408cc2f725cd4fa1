package manage

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/webhook"
)

// Stats is the seed's statistics shape, to the letter.
type Stats struct {
	Period      string      `json:"period"`
	Total       int         `json:"total"`
	Success     int         `json:"success"`
	Failed      int         `json:"failed"`
	SuccessRate string      `json:"successRate"`
	TopEvents   []EventStat `json:"topEvents"`
	InstanceID  *string     `json:"instanceId"`
}

// EventStat is one entry of topEvents.
type EventStat struct {
	Event string `json:"event"`
	Count struct {
		Event int `json:"event"`
	} `json:"_count"`
}

// statsWindow reads the query both statistics routes take: instanceId ("" for all) and days
// (1-90, default 7). The window is the last `days` calendar days (UTC), today included:
// counters are daily.
func (a *WebhookAPI) statsWindow(r *apigw.Request) (instanceID string, days int, from, to time.Time, err error) {
	if instanceID, err = r.Query("instanceId"); err != nil {
		return "", 0, from, to, err
	}
	if instanceID != "" {
		if err := webhook.ValidateInstanceID("instanceId", instanceID); err != nil {
			return "", 0, from, to, err
		}
	}
	if days, err = r.QueryInt("days", 7, 1, 90); err != nil {
		return "", 0, from, to, err
	}
	to = a.now().UTC()
	return instanceID, days, to.AddDate(0, 0, -(days - 1)), to, nil
}

func (a *WebhookAPI) stats(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	instanceID, days, from, to, err := a.statsWindow(r)
	if err != nil {
		return apigw.Response{}, err
	}
	counters, err := a.logs.Counters(ctx, instanceID, from, to)
	if err != nil {
		return apigw.Response{}, err
	}
	s := Stats{Period: fmt.Sprintf("%d days", days), TopEvents: []EventStat{}}
	byEvent := map[string]int{}
	for _, c := range counters {
		s.Total += c.Total
		s.Success += c.Success
		s.Failed += c.Failed
		byEvent[c.Event] += c.Total
	}
	for event, n := range byEvent {
		if n == 0 {
			continue
		}
		e := EventStat{Event: event}
		e.Count.Event = n
		s.TopEvents = append(s.TopEvents, e)
	}
	sort.Slice(s.TopEvents, func(i, j int) bool {
		a, b := s.TopEvents[i], s.TopEvents[j]
		return a.Count.Event > b.Count.Event || (a.Count.Event == b.Count.Event && a.Event < b.Event)
	})
	s.SuccessRate = "0.00"
	if s.Total > 0 {
		s.SuccessRate = fmt.Sprintf("%.2f", float64(s.Success)*100/float64(s.Total))
	}
	if instanceID != "" {
		s.InstanceID = &instanceID
	}
	return apigw.Response{Data: s}, nil
}

// DailyStats is GET /api/webhook/stats/daily's answer: the counts of each day of the window.
type DailyStats struct {
	InstanceID *string    `json:"instanceId"`
	Days       []DayStats `json:"days"`
}

// DayStats is one UTC day's webhooks, by outcome; total counts the retrying ones too.
type DayStats struct {
	Date    string `json:"date"`
	Total   int    `json:"total"`
	Success int    `json:"success"`
	Failed  int    `json:"failed"`
}

// dailyStats answers the counts of each day of the window, oldest first, from the same daily
// counters as stats (one item per day and event), with every day present.
func (a *WebhookAPI) dailyStats(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	instanceID, days, from, to, err := a.statsWindow(r)
	if err != nil {
		return apigw.Response{}, err
	}
	counters, err := a.logs.Counters(ctx, instanceID, from, to)
	if err != nil {
		return apigw.Response{}, err
	}
	out := DailyStats{Days: make([]DayStats, days)}
	index := make(map[string]int, days)
	for i := range out.Days {
		date := from.AddDate(0, 0, i).Format(time.DateOnly)
		out.Days[i].Date = date
		index[date] = i
	}
	for _, c := range counters {
		i, ok := index[c.Day]
		if !ok {
			continue
		}
		d := &out.Days[i]
		d.Total += c.Total
		d.Success += c.Success
		d.Failed += c.Failed
	}
	if instanceID != "" {
		out.InstanceID = &instanceID
	}
	return apigw.Response{Data: out}, nil
}
