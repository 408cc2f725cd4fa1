package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Render returns the Markdown API reference of spec: an overview, every route with its
// parameters, body and responses, the shared error answers, and the objects the routes use.
// The same spec always renders the same text.
func Render(spec *Spec) (string, error) {
	r := &renderer{spec: spec, linked: map[string]bool{}}
	if err := r.document(); err != nil {
		return "", err
	}
	return r.b.String(), nil
}

type renderer struct {
	spec *Spec
	b    strings.Builder
	// linked holds the object schemas the text links to; each gets a section under Objects.
	linked map[string]bool
}

func (r *renderer) printf(format string, args ...any) { fmt.Fprintf(&r.b, format, args...) }

func (r *renderer) document() error {
	r.overview()
	for _, p := range r.spec.Paths {
		for _, m := range p.Value.Operations() {
			if err := r.operation(m.Method, p.Key, &p.Value, m.Operation); err != nil {
				return fmt.Errorf("%s %s: %w", m.Method, p.Key, err)
			}
		}
	}
	if err := r.errorAnswers(); err != nil {
		return err
	}
	return r.objects()
}

func (r *renderer) overview() {
	r.printf("%s\n\n", r.spec.Info.Description)
	r.printf("Servers:\n\n")
	for _, s := range r.spec.Servers {
		r.printf("- `%s`: %s", s.URL, s.Description)
		for _, v := range s.Variables {
			r.printf(" `{%s}` (default `%s`): %s", v.Key, v.Value.Default, v.Value.Description)
		}
		r.printf("\n")
	}
	r.printf("\n")
	for _, req := range r.spec.Security {
		for _, name := range slices.Sorted(maps.Keys(req)) {
			if sch, ok := r.spec.Components.SecuritySchemes.Get(name); ok {
				r.printf("Authentication: every route needs the `%s` %s, but those marked \"No API key\". %s\n\n", sch.Name, sch.In, sch.Description)
			}
		}
	}
	var rows [][]string
	for _, p := range r.spec.Paths {
		for _, m := range p.Value.Operations() {
			route := m.Method + " " + p.Key
			rows = append(rows, []string{fmt.Sprintf("[`%s`](#%s)", route, anchor(route)), m.Operation.Summary})
		}
	}
	r.table([]string{"route", "summary"}, rows)
}

func (r *renderer) operation(method, path string, item *PathItem, op *Operation) error {
	r.printf("## `%s %s`\n\n%s\n\n", method, path, op.Summary)
	if op.Public() {
		r.printf("No API key: this route takes none.\n\n")
	}
	if op.Description != "" {
		r.printf("%s\n\n", op.Description)
	}

	params, err := r.spec.Parameters(item, op)
	if err != nil {
		return err
	}
	if len(params) > 0 {
		var rows [][]string
		for _, p := range params {
			typ, err := r.typeText(p.Schema)
			if err != nil {
				return fmt.Errorf("parameter %s: %w", p.Name, err)
			}
			rows = append(rows, []string{code(p.Name), p.In, typ, yesNo(p.Required), p.Description})
		}
		r.printf("Parameters:\n\n")
		r.table([]string{"name", "in", "type", "required", "description"}, rows)
	}

	if body := op.RequestBody; body != nil {
		for _, c := range body.Content {
			if err := r.requestBody(c.Key, body.Required, c.Value); err != nil {
				return fmt.Errorf("request body: %w", err)
			}
		}
	}

	var rows [][]string
	var examples []Entry[*MediaType]
	for _, e := range op.Responses {
		if e.Value.Ref != "" {
			resp, err := r.spec.Response(e.Value)
			if err != nil {
				return err
			}
			rows = append(rows, []string{e.Key, resp.Description, "[error answer](#error-answers)"})
			continue
		}
		if len(e.Value.Content) == 0 {
			var hs []string
			for _, h := range e.Value.Headers {
				hs = append(hs, code(h.Key)+" header: "+h.Value.Description)
			}
			rows = append(rows, []string{e.Key, e.Value.Description, strings.Join(append([]string{"none"}, hs...), "; ")})
			continue
		}
		for _, c := range e.Value.Content {
			body, err := r.bodyText(c.Value.Schema)
			if err != nil {
				return fmt.Errorf("response %s: %w", e.Key, err)
			}
			rows = append(rows, []string{e.Key, e.Value.Description, body})
			examples = append(examples, Entry[*MediaType]{e.Key, c.Value})
		}
	}
	r.printf("Responses:\n\n")
	r.table([]string{"status", "description", "body"}, rows)
	for _, e := range examples {
		if err := r.example(code(e.Key)+" answer", &e.Value.Example); err != nil {
			return fmt.Errorf("response %s: %w", e.Key, err)
		}
	}
	return nil
}

// bodyText lists a response body's fields and their types on one line.
func (r *renderer) bodyText(s *Schema) (string, error) {
	fs, err := r.fields(s)
	if err != nil {
		return "", err
	}
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		typ, err := r.typeText(f.schema)
		if err != nil {
			return "", fmt.Errorf("field %s: %w", f.name, err)
		}
		parts = append(parts, code(f.name)+": "+typ)
	}
	return strings.Join(parts, ", "), nil
}

func (r *renderer) requestBody(mediaType string, required bool, mt *MediaType) error {
	need := "optional"
	if required {
		need = "required"
	}
	r.printf("Request body (`%s`, %s):\n\n", mediaType, need)
	s, err := r.spec.Schema(mt.Schema)
	if err != nil {
		return err
	}
	if s.Description != "" {
		r.printf("%s\n\n", s.Description)
	}
	alternatives := []*Schema{s}
	if len(s.OneOf) > 0 {
		alternatives = s.OneOf
	}
	for _, alt := range alternatives {
		alt, err := r.spec.Schema(alt)
		if err != nil {
			return err
		}
		if alt.Title != "" {
			r.printf("%s:\n\n", alt.Title)
		}
		if alt.MinProperties != nil {
			r.printf("At least %d of these fields.\n\n", *alt.MinProperties)
		}
		if err := r.fieldTable(alt); err != nil {
			return err
		}
	}
	return r.example("Example request body", &mt.Example)
}

// errorAnswers renders the shared responses once, under the statuses the routes use them for.
func (r *renderer) errorAnswers() error {
	statuses := map[string][]string{}
	for _, p := range r.spec.Paths {
		for _, m := range p.Value.Operations() {
			for _, e := range m.Operation.Responses {
				if name, ok := strings.CutPrefix(e.Value.Ref, responseRef); ok && !slices.Contains(statuses[name], e.Key) {
					statuses[name] = append(statuses[name], e.Key)
				}
			}
		}
	}
	r.printf("## Error answers\n\n")
	for _, e := range r.spec.Components.Responses {
		codes := statuses[e.Key]
		if len(codes) == 0 {
			return fmt.Errorf("response %s: no route uses it", e.Key)
		}
		slices.Sort(codes)
		r.printf("**%s**: %s\n\n", strings.Join(codes, ", "), e.Value.Description)
		for _, h := range e.Value.Headers {
			r.printf("Header `%s`: %s\n\n", h.Key, h.Value.Description)
		}
		for _, c := range e.Value.Content {
			if err := r.example("", &c.Value.Example); err != nil {
				return fmt.Errorf("response %s: %w", e.Key, err)
			}
		}
	}
	return nil
}

// objects renders a section for every object schema linked from the text, in the order of
// components.schemas. A section can link further objects, so it loops until none is new.
func (r *renderer) objects() error {
	sections := map[string]string{}
	for added := true; added; {
		added = false
		for _, e := range r.spec.Components.Schemas {
			if !r.linked[e.Key] || sections[e.Key] != "" {
				continue
			}
			text, err := r.object(e.Key, e.Value)
			if err != nil {
				return fmt.Errorf("schema %s: %w", e.Key, err)
			}
			sections[e.Key] = text
			added = true
		}
	}
	r.printf("## Objects\n\n")
	for _, e := range r.spec.Components.Schemas {
		r.b.WriteString(sections[e.Key])
	}
	return nil
}

func (r *renderer) object(name string, s *Schema) (string, error) {
	sub := &renderer{spec: r.spec, linked: r.linked}
	sub.printf("### %s\n\n", name)
	if s.Description != "" {
		sub.printf("%s\n\n", s.Description)
	}
	if len(s.OneOf) > 0 {
		alts := make([]string, 0, len(s.OneOf))
		for _, alt := range s.OneOf {
			text, err := sub.typeText(alt)
			if err != nil {
				return "", err
			}
			alts = append(alts, text)
		}
		sub.printf("One of %s", strings.Join(alts, ", "))
		if d := s.Discriminator; d != nil {
			sub.printf(", told apart by `%s`", d.PropertyName)
		}
		sub.printf(".\n\n")
	} else if err := sub.fieldTable(s); err != nil {
		return "", err
	}
	for i := range s.Examples {
		if err := sub.example("Example", &s.Examples[i]); err != nil {
			return "", err
		}
	}
	return sub.b.String(), nil
}

// field is one property of an object, after allOf is merged.
type field struct {
	name        string
	schema      *Schema
	required    bool
	description string
}

// fields lists an object's properties: those of its allOf parts first, then its own. A
// property given again (such as a const narrowing an enum) replaces the earlier one in place
// and keeps its description unless it brings one.
func (r *renderer) fields(s *Schema) ([]field, error) {
	s, err := r.spec.Schema(s)
	if err != nil {
		return nil, err
	}
	var out []field
	add := func(f field) {
		for i := range out {
			if out[i].name == f.name {
				if f.description == "" {
					f.description = out[i].description
				}
				f.required = f.required || out[i].required
				out[i] = f
				return
			}
		}
		out = append(out, f)
	}
	for _, part := range s.AllOf {
		fs, err := r.fields(part)
		if err != nil {
			return nil, err
		}
		for _, f := range fs {
			add(f)
		}
	}
	for _, p := range s.Properties {
		desc, err := r.description(p.Value)
		if err != nil {
			return nil, err
		}
		add(field{name: p.Key, schema: p.Value, description: desc})
	}
	for i := range out {
		if slices.Contains(s.Required, out[i].name) {
			out[i].required = true
		}
	}
	return out, nil
}

// description is a property's own description or, for a reference to a plain value such as
// an id, the referenced schema's.
func (r *renderer) description(s *Schema) (string, error) {
	if s.Description != "" || s.Ref == "" {
		return s.Description, nil
	}
	t, err := r.spec.Schema(s)
	if err != nil {
		return "", err
	}
	if r.objectLike(t) {
		return "", nil
	}
	return t.Description, nil
}

func (r *renderer) fieldTable(s *Schema) error {
	fs, err := r.fields(s)
	if err != nil {
		return err
	}
	rows := make([][]string, 0, len(fs))
	for _, f := range fs {
		typ, err := r.typeText(f.schema)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.name, err)
		}
		rows = append(rows, []string{code(f.name), typ, yesNo(f.required), f.description})
	}
	r.table([]string{"field", "type", "required", "description"}, rows)
	return nil
}

// typeText describes a schema in a few words: its type, enum or const, and constraints. A
// reference to an object becomes a link to the object's section.
func (r *renderer) typeText(s *Schema) (string, error) {
	if s == nil {
		return "any JSON", nil
	}
	if s.Ref != "" {
		t, err := r.spec.Schema(s)
		if err != nil {
			return "", err
		}
		if r.objectLike(t) {
			name := refName(s.Ref)
			r.linked[name] = true
			return fmt.Sprintf("[%s](#%s)", name, anchor(name)), nil
		}
		return r.typeText(t)
	}
	if s.Const.Kind != 0 {
		v, err := nodeJSON(&s.Const)
		return code(v), err
	}
	var alts []*Schema
	switch {
	case len(s.OneOf) > 0:
		alts = s.OneOf
	case len(s.AnyOf) > 0:
		alts = s.AnyOf
	case len(s.AllOf) > 0:
		// An allOf narrows its first part; the route's description says how.
		return r.typeText(s.AllOf[0])
	}
	if alts != nil {
		texts := make([]string, 0, len(alts))
		for _, a := range alts {
			t, err := r.typeText(a)
			if err != nil {
				return "", err
			}
			texts = append(texts, t)
		}
		return strings.Join(texts, " or "), nil
	}

	var base string
	switch {
	case len(s.Enum) > 0:
		vals := make([]string, 0, len(s.Enum))
		for i := range s.Enum {
			vals = append(vals, code(s.Enum[i].Value))
		}
		base = "one of " + strings.Join(vals, ", ")
	case s.Items != nil:
		items, err := r.typeText(s.Items)
		if err != nil {
			return "", err
		}
		base = "array of " + items
	case len(s.Type) > 0:
		base = strings.Join(s.Type, " or ")
	case len(s.Properties) > 0:
		base = "object"
	default:
		base = "any JSON"
	}
	parts := append([]string{base}, constraints(s)...)
	if s.Default.Kind != 0 {
		v, err := nodeJSON(&s.Default)
		if err != nil {
			return "", err
		}
		parts = append(parts, "default "+code(v))
	}
	return strings.Join(parts, ", "), nil
}

func constraints(s *Schema) []string {
	var out []string
	if s.Format != "" {
		out = append(out, s.Format)
	}
	// A format says it more plainly than its pattern; the schema's description has the rest.
	if s.Pattern != "" && s.Format == "" {
		out = append(out, "pattern "+code(s.Pattern))
	}
	switch {
	case s.Minimum != nil && s.Maximum != nil:
		out = append(out, number(*s.Minimum)+" to "+number(*s.Maximum))
	case s.Minimum != nil:
		out = append(out, "at least "+number(*s.Minimum))
	case s.Maximum != nil:
		out = append(out, "at most "+number(*s.Maximum))
	}
	switch {
	case s.MinLength == nil:
	case *s.MinLength == 1:
		out = append(out, "not empty")
	default:
		out = append(out, fmt.Sprintf("at least %d characters", *s.MinLength))
	}
	if s.MaxLength != nil {
		out = append(out, fmt.Sprintf("at most %d characters", *s.MaxLength))
	}
	switch {
	case s.MinItems != nil && s.MaxItems != nil:
		out = append(out, fmt.Sprintf("%d to %d items", *s.MinItems, *s.MaxItems))
	case s.MinItems != nil:
		out = append(out, fmt.Sprintf("at least %d items", *s.MinItems))
	case s.MaxItems != nil:
		out = append(out, fmt.Sprintf("at most %d items", *s.MaxItems))
	}
	if s.UniqueItems {
		out = append(out, "no duplicates")
	}
	return out
}

// objectLike reports whether a schema is an object, or a choice of objects, that deserves its
// own section rather than a few words inline.
func (r *renderer) objectLike(s *Schema) bool {
	s, err := r.spec.Schema(s)
	if err != nil || s == nil {
		return false
	}
	if slices.Contains(s.Type, "object") || len(s.Properties) > 0 {
		return true
	}
	for _, part := range s.AllOf {
		if r.objectLike(part) {
			return true
		}
	}
	if len(s.OneOf) == 0 {
		return false
	}
	for _, alt := range s.OneOf {
		if !r.objectLike(alt) {
			return false
		}
	}
	return true
}

// example writes a JSON code block of an example value, with a label line when label is set.
// An absent example is an error: every body the reference shows has one.
func (r *renderer) example(label string, n *yaml.Node) error {
	if n.Kind == 0 {
		return fmt.Errorf("%s: no example", strings.TrimSpace(label+" "))
	}
	compact, err := nodeJSON(n)
	if err != nil {
		return err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(compact), "", "  "); err != nil {
		return fmt.Errorf("indent example: %w", err)
	}
	if label != "" {
		r.printf("%s:\n\n", label)
	}
	r.printf("```json\n%s\n```\n\n", out.String())
	return nil
}

// table writes a Markdown table; cells are kept on one line and their pipes escaped.
func (r *renderer) table(header []string, rows [][]string) {
	cell := strings.NewReplacer("|", `\|`, "\n", " ")
	line := func(cells []string) {
		r.b.WriteString("|")
		for _, c := range cells {
			r.b.WriteString(" " + cell.Replace(c) + " |")
		}
		r.b.WriteString("\n")
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, row := range rows {
		line(row)
	}
	r.b.WriteString("\n")
}

// nodeJSON converts a YAML value to compact JSON, keeping the order of mapping keys.
func nodeJSON(n *yaml.Node) (string, error) {
	switch n.Kind {
	case yaml.DocumentNode:
		return nodeJSON(n.Content[0])
	case yaml.AliasNode:
		return nodeJSON(n.Alias)
	case yaml.MappingNode, yaml.SequenceNode:
		open, end, step := "[", "]", 1
		if n.Kind == yaml.MappingNode {
			open, end, step = "{", "}", 2
		}
		parts := make([]string, 0, len(n.Content)/step)
		for i := 0; i < len(n.Content); i += step {
			v, err := nodeJSON(n.Content[i+step-1])
			if err != nil {
				return "", err
			}
			if step == 2 {
				v = jsonString(n.Content[i].Value) + ":" + v
			}
			parts = append(parts, v)
		}
		return open + strings.Join(parts, ",") + end, nil
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return "", fmt.Errorf("line %d: %w", n.Line, err)
		}
		if s, ok := v.(string); ok {
			return jsonString(s), nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("line %d: %w", n.Line, err)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// jsonString quotes s as JSON without escaping <, > and &, which json.Marshal would.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// anchor is the fragment GitHub gives a heading: lower case, spaces to hyphens, other
// punctuation dropped.
func anchor(heading string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(heading) {
		switch {
		case c == ' ':
			b.WriteRune('-')
		case c == '-' || c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c):
			b.WriteRune(c)
		}
	}
	return b.String()
}

func code(s string) string { return "`" + s + "`" }

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func number(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
