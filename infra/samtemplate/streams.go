package samtemplate

import (
	"encoding/json"
	"fmt"
	"sort"
)

// StreamSource is one DynamoDB event of a function: a table's stream that Lambda's event
// source mapping feeds to it.
type StreamSource struct {
	Function  string // logical id of the function
	Table     string // logical id of the table
	BatchSize int
}

// StreamSources returns every DynamoDB stream event of the template's functions.
func (t *Template) StreamSources() ([]StreamSource, error) {
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				Events map[string]struct {
					Type       string
					Properties struct {
						Stream    string
						BatchSize *int
					}
				}
			}
		}
	}
	if err := json.Unmarshal(t.raw, &doc); err != nil {
		return nil, fmt.Errorf("read functions' events: %w", err)
	}
	var out []StreamSource
	for name, res := range doc.Resources {
		if res.Type != "AWS::Serverless::Function" {
			continue
		}
		for event, src := range res.Properties.Events {
			if src.Type != "DynamoDB" {
				continue
			}
			table, attr, ok := parseMarker(src.Properties.Stream)
			if !ok || attr != "StreamArn" {
				return nil, fmt.Errorf("%s.Events.%s: Stream must be !GetAtt <table>.StreamArn", name, event)
			}
			size := 100 // Lambda's default for DynamoDB streams
			if src.Properties.BatchSize != nil {
				size = *src.Properties.BatchSize
			}
			out = append(out, StreamSource{Function: name, Table: table, BatchSize: size})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Function < out[j].Function })
	return out, nil
}
