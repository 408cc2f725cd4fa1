package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// Spec is the part of an OpenAPI 3.1 document that the reference renders. It is decoded with
// unknown fields refused, so a keyword the spec starts using can't be silently left out of
// the API reference: it has to be added here, and rendered, first.
type Spec struct {
	OpenAPI    string                `yaml:"openapi"`
	Info       Info                  `yaml:"info"`
	Servers    []Server              `yaml:"servers"`
	Security   []map[string][]string `yaml:"security"`
	Tags       []Tag                 `yaml:"tags"`
	Paths      Ordered[PathItem]     `yaml:"paths"`
	Components Components            `yaml:"components"`
}

// Info is the document's info object.
type Info struct {
	Title       string `yaml:"title"`
	Version     string `yaml:"version"`
	Summary     string `yaml:"summary"`
	Description string `yaml:"description"`
}

// Server is one base URL the API is served at.
type Server struct {
	URL         string                  `yaml:"url"`
	Description string                  `yaml:"description"`
	Variables   Ordered[ServerVariable] `yaml:"variables"`
}

// ServerVariable is a placeholder in a server URL.
type ServerVariable struct {
	Default     string   `yaml:"default"`
	Enum        []string `yaml:"enum"`
	Description string   `yaml:"description"`
}

// Tag groups operations.
type Tag struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

// PathItem is one path and its operations.
type PathItem struct {
	Parameters []*Parameter `yaml:"parameters"`
	Get        *Operation   `yaml:"get"`
	Post       *Operation   `yaml:"post"`
	Put        *Operation   `yaml:"put"`
	Delete     *Operation   `yaml:"delete"`
}

// Operations returns the path's operations by HTTP method, in a fixed order.
func (p *PathItem) Operations() []MethodOperation {
	var out []MethodOperation
	for _, m := range []MethodOperation{{"GET", p.Get}, {"POST", p.Post}, {"PUT", p.Put}, {"DELETE", p.Delete}} {
		if m.Operation != nil {
			out = append(out, m)
		}
	}
	return out
}

// MethodOperation is an operation and its HTTP method.
type MethodOperation struct {
	Method    string
	Operation *Operation
}

// Operation is one route.
type Operation struct {
	OperationID string             `yaml:"operationId"`
	Tags        []string           `yaml:"tags"`
	Summary     string             `yaml:"summary"`
	Description string             `yaml:"description"`
	Parameters  []*Parameter       `yaml:"parameters"`
	RequestBody *RequestBody       `yaml:"requestBody"`
	Responses   Ordered[*Response] `yaml:"responses"`
}

// Parameter is a path or query parameter, or a reference to one.
type Parameter struct {
	Ref         string    `yaml:"$ref"`
	Name        string    `yaml:"name"`
	In          string    `yaml:"in"`
	Required    bool      `yaml:"required"`
	Description string    `yaml:"description"`
	Schema      *Schema   `yaml:"schema"`
	Example     yaml.Node `yaml:"example"`
}

// RequestBody is an operation's body.
type RequestBody struct {
	Required bool                `yaml:"required"`
	Content  Ordered[*MediaType] `yaml:"content"`
}

// Response is one status's answer, or a reference to one.
type Response struct {
	Ref         string              `yaml:"$ref"`
	Description string              `yaml:"description"`
	Headers     Ordered[*Header]    `yaml:"headers"`
	Content     Ordered[*MediaType] `yaml:"content"`
}

// Header is a response header.
type Header struct {
	Description string  `yaml:"description"`
	Schema      *Schema `yaml:"schema"`
}

// MediaType is a body's schema and example.
type MediaType struct {
	Schema  *Schema   `yaml:"schema"`
	Example yaml.Node `yaml:"example"`
}

// Components holds the named, reusable parts.
type Components struct {
	SecuritySchemes Ordered[SecurityScheme] `yaml:"securitySchemes"`
	Parameters      Ordered[*Parameter]     `yaml:"parameters"`
	Responses       Ordered[*Response]      `yaml:"responses"`
	Schemas         Ordered[*Schema]        `yaml:"schemas"`
}

// SecurityScheme is how a client authenticates.
type SecurityScheme struct {
	Type        string `yaml:"type"`
	In          string `yaml:"in"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

// Schema is a JSON Schema (2020-12) as OpenAPI 3.1 uses it. Keywords whose absence differs
// from their zero value (const: false, default: 0) are kept as nodes.
type Schema struct {
	Ref                  string           `yaml:"$ref"`
	Title                string           `yaml:"title"`
	Description          string           `yaml:"description"`
	Type                 TypeList         `yaml:"type"`
	Format               string           `yaml:"format"`
	Pattern              string           `yaml:"pattern"`
	Enum                 []yaml.Node      `yaml:"enum"`
	Const                yaml.Node        `yaml:"const"`
	Default              yaml.Node        `yaml:"default"`
	Minimum              *float64         `yaml:"minimum"`
	Maximum              *float64         `yaml:"maximum"`
	MinLength            *int             `yaml:"minLength"`
	MaxLength            *int             `yaml:"maxLength"`
	MinProperties        *int             `yaml:"minProperties"`
	MinItems             *int             `yaml:"minItems"`
	MaxItems             *int             `yaml:"maxItems"`
	UniqueItems          bool             `yaml:"uniqueItems"`
	Required             []string         `yaml:"required"`
	Properties           Ordered[*Schema] `yaml:"properties"`
	AdditionalProperties *bool            `yaml:"additionalProperties"`
	Items                *Schema          `yaml:"items"`
	AllOf                []*Schema        `yaml:"allOf"`
	OneOf                []*Schema        `yaml:"oneOf"`
	AnyOf                []*Schema        `yaml:"anyOf"`
	Discriminator        *Discriminator   `yaml:"discriminator"`
	Examples             []yaml.Node      `yaml:"examples"`
}

// Discriminator names the property that tells oneOf alternatives apart.
type Discriminator struct {
	PropertyName string          `yaml:"propertyName"`
	Mapping      Ordered[string] `yaml:"mapping"`
}

// TypeList is a schema's type: one name, or a list such as [string, "null"].
type TypeList []string

// UnmarshalYAML accepts both forms.
func (t *TypeList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*t = TypeList{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return fmt.Errorf("type: %w", err)
	}
	*t = list
	return nil
}

// Ordered is a YAML mapping kept in document order, so the reference lists paths, fields
// and responses in the order the spec gives them.
type Ordered[T any] []Entry[T]

// Entry is one key and value of an Ordered mapping.
type Entry[T any] struct {
	Key   string
	Value T
}

// UnmarshalYAML decodes a mapping node entry by entry.
func (o *Ordered[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	out := make(Ordered[T], 0, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		var v T
		if err := strictDecode(n.Content[i+1], &v); err != nil {
			return fmt.Errorf("%s: %w", n.Content[i].Value, err)
		}
		out = append(out, Entry[T]{n.Content[i].Value, v})
	}
	*o = out
	return nil
}

// strictDecode decodes n into v refusing unknown fields. Node.Decode would not: it forgets
// the KnownFields setting of the decoder it runs under. Errors name lines within n.
func strictDecode(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return fmt.Errorf("re-encode: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// Get returns the value for key.
func (o Ordered[T]) Get(key string) (T, bool) {
	for _, e := range o {
		if e.Key == key {
			return e.Value, true
		}
	}
	var zero T
	return zero, false
}

// LoadSpec reads and decodes the OpenAPI document at path.
func LoadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	return &s, nil
}

// Local names of references into components, such as "#/components/schemas/WebhookLog".
const (
	schemaRef    = "#/components/schemas/"
	parameterRef = "#/components/parameters/"
	responseRef  = "#/components/responses/"
)

// refName returns the component name a reference points at.
func refName(ref string) string { return ref[strings.LastIndex(ref, "/")+1:] }

// Schema resolves s when it is a reference; other schemas come back as they are.
func (s *Spec) Schema(sch *Schema) (*Schema, error) {
	for sch != nil && sch.Ref != "" {
		name, ok := strings.CutPrefix(sch.Ref, schemaRef)
		if !ok {
			return nil, fmt.Errorf("schema $ref %s: only %s... is supported", sch.Ref, schemaRef)
		}
		target, found := s.Components.Schemas.Get(name)
		if !found {
			return nil, fmt.Errorf("schema $ref %s: no such schema", sch.Ref)
		}
		sch = target
	}
	return sch, nil
}

// Parameter resolves p when it is a reference.
func (s *Spec) Parameter(p *Parameter) (*Parameter, error) {
	if p.Ref == "" {
		return p, nil
	}
	name, ok := strings.CutPrefix(p.Ref, parameterRef)
	target, found := s.Components.Parameters.Get(name)
	if !ok || !found {
		return nil, fmt.Errorf("parameter $ref %s: no such parameter", p.Ref)
	}
	return target, nil
}

// Response resolves r when it is a reference.
func (s *Spec) Response(r *Response) (*Response, error) {
	if r.Ref == "" {
		return r, nil
	}
	name, ok := strings.CutPrefix(r.Ref, responseRef)
	target, found := s.Components.Responses.Get(name)
	if !ok || !found {
		return nil, fmt.Errorf("response $ref %s: no such response", r.Ref)
	}
	return target, nil
}

// Parameters returns an operation's parameters, the path's own first, all resolved.
func (s *Spec) Parameters(path *PathItem, op *Operation) ([]*Parameter, error) {
	var out []*Parameter
	for _, p := range append(append([]*Parameter(nil), path.Parameters...), op.Parameters...) {
		r, err := s.Parameter(p)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
