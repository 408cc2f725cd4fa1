package devstack_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// objectSchema is the part of an OpenAPI object schema a webhook's data is checked against.
type objectSchema struct {
	Required   []string
	Properties map[string]propertySchema
	// refs are the file's schemas, to resolve a property's $ref.
	refs map[string]propertySchema
}

type propertySchema struct {
	Type any      // a name, or a list of names
	Enum []string // of a string
	Ref  string   `yaml:"$ref"`
}

// openAPISchema reads an object schema of infra/openapi.yaml's components.
func openAPISchema(t *testing.T, name string) objectSchema {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct{ Schemas map[string]objectSchema }
	}
	// A schema's own type, for the $refs of properties.
	var types struct {
		Components struct{ Schemas map[string]propertySchema }
	}
	if err := yaml.Unmarshal(b, &types); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	s, ok := doc.Components.Schemas[name]
	if !ok || len(s.Properties) == 0 {
		t.Fatalf("openapi.yaml has no object schema %s", name)
	}
	s.refs = types.Components.Schemas
	return s
}

// conforms checks data has every required member of s and no other than its properties, each
// of the JSON type s gives it and within its enum.
func conforms(t *testing.T, s objectSchema, data map[string]any) {
	t.Helper()
	for _, k := range s.Required {
		if _, ok := data[k]; !ok {
			t.Errorf("data lacks %s, which the OpenAPI file requires: %v", k, data)
		}
	}
	for k, v := range data {
		p, ok := s.Properties[k]
		if !ok {
			t.Errorf("data has %s, which the OpenAPI file does not document: %v", k, data)
			continue
		}
		if p.Ref != "" {
			p = s.refs[strings.TrimPrefix(p.Ref, "#/components/schemas/")]
		}
		var types []string
		switch ty := p.Type.(type) {
		case string:
			types = []string{ty}
		case []any:
			for _, x := range ty {
				types = append(types, x.(string))
			}
		}
		if !slices.Contains(types, jsonType(v)) {
			t.Errorf("%s is %s (%v), the OpenAPI file says %v", k, jsonType(v), v, types)
		}
		if s, ok := v.(string); ok && len(p.Enum) > 0 && !slices.Contains(p.Enum, s) {
			t.Errorf("%s is %q, not one of %v", k, s, p.Enum)
		}
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}
