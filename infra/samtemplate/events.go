package samtemplate

import (
	"encoding/json"
	"fmt"
	"sort"
)

// functionEvent is one event of a function of the template, its properties still raw.
type functionEvent struct {
	Function, Name string
	Properties     json.RawMessage
}

// eventsOfType returns every event of the given type (SQS, DynamoDB, Schedule, ...) of the
// template's functions, by function, with each event's properties decoded by decode.
func eventsOfType(t *Template, typ string, decode func(e functionEvent) error) error {
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				Events map[string]struct {
					Type       string
					Properties json.RawMessage
				}
			}
		}
	}
	if err := json.Unmarshal(t.raw, &doc); err != nil {
		return fmt.Errorf("read functions' events: %w", err)
	}
	var found []functionEvent
	for name, res := range doc.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		for event, e := range res.Properties.Events {
			if e.Type == typ {
				found = append(found, functionEvent{Function: name, Name: event, Properties: e.Properties})
			}
		}
	}
	sort.Slice(found, func(i, j int) bool {
		if found[i].Function != found[j].Function {
			return found[i].Function < found[j].Function
		}
		return found[i].Name < found[j].Name
	})
	for _, e := range found {
		if err := decode(e); err != nil {
			return err
		}
	}
	return nil
}
