package samtemplate

import (
	"encoding/json"
	"fmt"
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
	var out []StreamSource
	err := eventsOfType(t, "DynamoDB", func(e functionEvent) error {
		var p struct {
			Stream    string
			BatchSize *int
		}
		if err := json.Unmarshal(e.Properties, &p); err != nil {
			return fmt.Errorf("%s.Events.%s: %w", e.Function, e.Name, err)
		}
		table, attr, ok := parseMarker(p.Stream)
		if !ok || attr != "StreamArn" {
			return fmt.Errorf("%s.Events.%s: Stream must be !GetAtt <table>.StreamArn", e.Function, e.Name)
		}
		size := 100 // Lambda's default for DynamoDB streams
		if p.BatchSize != nil {
			size = *p.BatchSize
		}
		out = append(out, StreamSource{Function: e.Function, Table: table, BatchSize: size})
		return nil
	})
	return out, err
}
