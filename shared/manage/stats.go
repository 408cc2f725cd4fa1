package manage

import (
	"context"
	"fmt"
	"sort"

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

func (a *WebhookAPI) stats(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	instanceID, err := r.Query("instanceId")
	if err != nil {
		return apigw.Response{}, err
	}
	if instanceID != "" {
		if err := webhook.ValidateInstanceID("instanceId", instanceID); err != nil {
			return apigw.Response{}, err
		}
	}
	days, err := r.QueryInt("days", 7, 1, 90)
	if err != nil {
		return apigw.Response{}, err
	}
	// The period is the last `days` calendar days (UTC), today included: counters are daily.
	today := a.now().UTC()
	counters, err := a.logs.Counters(ctx, instanceID, today.AddDate(0, 0, -(days-1)), today)
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
