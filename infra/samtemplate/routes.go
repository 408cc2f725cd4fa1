package samtemplate

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// APIRoute is one Api event of a function: what API Gateway serves.
type APIRoute struct {
	Function       string // logical id of the function
	Event          string // name of the event
	Method         string // upper case
	Path           string // with {parameters}, as API Gateway names the resource
	APIKeyRequired bool
}

// APIRoutes returns every Api event of the template's functions, sorted by path and method.
func (t *Template) APIRoutes() ([]APIRoute, error) {
	var out []APIRoute
	for name, fn := range t.CloudFormation().GetAllServerlessFunctionResources() {
		for event, src := range fn.Events {
			if src.Type != "Api" {
				continue
			}
			if src.Properties == nil || src.Properties.ApiEvent == nil {
				return nil, fmt.Errorf("%s.Events.%s: an Api event without Path and Method", name, event)
			}
			api := src.Properties.ApiEvent
			out = append(out, APIRoute{
				Function: name, Event: event, Method: strings.ToUpper(api.Method), Path: api.Path,
				APIKeyRequired: api.Auth != nil && api.Auth.ApiKeyRequired != nil && *api.Auth.ApiKeyRequired,
			})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Method < out[j].Method
	})
	return out, nil
}

// SQSSource is one SQS event of a function: a queue that Lambda's event source mapping feeds
// to it.
type SQSSource struct {
	Function  string // logical id of the function
	Queue     string // logical id of the queue
	BatchSize int
	// MaxConcurrency is ScalingConfig.MaximumConcurrency: the most invocations Lambda runs
	// for the source at once (2 to 1,000). Without it Lambda starts with 5 and scales on up.
	MaxConcurrency int
}

// defaultSQSConcurrency is what a source without MaximumConcurrency gets: the five
// concurrent batches Lambda's SQS pollers start with.
const defaultSQSConcurrency = 5

// SQSSources returns every SQS event of the template's functions.
func (t *Template) SQSSources() ([]SQSSource, error) {
	var out []SQSSource
	err := eventsOfType(t, "SQS", func(e functionEvent) error {
		var p struct {
			Queue         string
			BatchSize     *int
			ScalingConfig struct {
				// A number, or a parameter's value as a string (see refHandler).
				MaximumConcurrency any
			}
		}
		if err := json.Unmarshal(e.Properties, &p); err != nil {
			return fmt.Errorf("%s.Events.%s: %w", e.Function, e.Name, err)
		}
		queue, _, ok := parseMarker(p.Queue)
		if !ok {
			return fmt.Errorf("%s.Events.%s: Queue must be !GetAtt <queue>.Arn", e.Function, e.Name)
		}
		size := 10 // Lambda's default for standard queues
		if p.BatchSize != nil {
			size = *p.BatchSize
		}
		conc, err := maxConcurrency(p.ScalingConfig.MaximumConcurrency)
		if err != nil {
			return fmt.Errorf("%s.Events.%s.ScalingConfig.MaximumConcurrency: %w", e.Function, e.Name, err)
		}
		out = append(out, SQSSource{Function: e.Function, Queue: queue, BatchSize: size, MaxConcurrency: conc})
		return nil
	})
	return out, err
}

// maxConcurrency reads MaximumConcurrency as CloudFormation would take it: 2 to 1,000, or the
// default when it is absent.
func maxConcurrency(v any) (int, error) {
	var n float64
	switch v := v.(type) {
	case nil:
		return defaultSQSConcurrency, nil
	case float64:
		n = v
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", v)
		}
		n = f
	default:
		return 0, fmt.Errorf("%v is not a number (a reference to a resource?)", v)
	}
	if n != math.Trunc(n) || n < 2 || n > 1000 {
		return 0, fmt.Errorf("%v is not a whole number from 2 to 1,000", n)
	}
	return int(n), nil
}
