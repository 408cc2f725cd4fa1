package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/webhook"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func loadSpec(t *testing.T) *Spec {
	t.Helper()
	spec, err := LoadSpec(filepath.Join(repoRoot(t), specFile))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// specRoutes lists the spec's operations as "METHOD /path".
func specRoutes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, p := range loadSpec(t).Paths {
		for _, m := range p.Value.Operations() {
			out = append(out, m.Method+" "+p.Key)
		}
	}
	return out
}

// assertSameRoutes fails for every route one side has and the other lacks.
func assertSameRoutes(t *testing.T, aName string, a []string, bName string, b []string) {
	t.Helper()
	for _, r := range a {
		if !slices.Contains(b, r) {
			t.Errorf("%s has %s; %s does not", aName, r, bName)
		}
	}
	for _, r := range b {
		if !slices.Contains(a, r) {
			t.Errorf("%s has %s; %s does not", bName, r, aName)
		}
	}
	if len(a) != len(b) {
		t.Errorf("%s has %d routes, %s %d: a route is listed twice", aName, len(a), bName, len(b))
	}
}

// docs/api.md is exactly what the spec renders, so a spec change that was not followed by
// `go run ./infra/apidoc` fails here.
func TestReferenceIsUpToDate(t *testing.T) {
	root := repoRoot(t)
	reference, err := os.ReadFile(filepath.Join(root, referenceFile))
	if err != nil {
		t.Fatal(err)
	}
	want, err := updatedReference(root, reference)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(reference, want) {
		return
	}
	got, exp := strings.Split(string(reference), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(got), len(exp)) {
		if got[i] != exp[i] {
			t.Fatalf("%s is stale from line %d: run go run ./infra/apidoc\n have: %s\n want: %s", referenceFile, i+1, got[i], exp[i])
		}
	}
	t.Fatalf("%s is stale (%d lines, want %d): run go run ./infra/apidoc", referenceFile, len(got), len(exp))
}

func TestRenderIsDeterministic(t *testing.T) {
	spec := loadSpec(t)
	first, err := Render(spec)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		again, err := Render(spec)
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Fatal("two renders of the same spec differ")
		}
	}
}

func TestReplaceSection(t *testing.T) {
	doc := "# x\n\n" + startMarker + "\nold\n" + endMarker + "\ntail\n"
	got, err := replaceSection([]byte(doc), "new\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# x\n\n" + startMarker + "\nnew\n" + endMarker + "\ntail\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{
		"no markers",
		startMarker + " only the start",
		endMarker + "\n" + startMarker,
		startMarker + startMarker + endMarker,
	} {
		if _, err := replaceSection([]byte(bad), "new\n"); err == nil {
			t.Errorf("replaceSection(%q) succeeded; want an error", bad)
		}
	}
}

func TestAnchor(t *testing.T) {
	for heading, want := range map[string]string{
		"GET /api/instance/{instanceId}/webhook-secret": "get-apiinstanceinstanceidwebhook-secret",
		"WebhookLog":    "webhooklog",
		"Error answers": "error-answers",
	} {
		if got := anchor(heading); got != want {
			t.Errorf("anchor(%q) = %q, want %q", heading, got, want)
		}
	}
}

// The spec is OpenAPI 3.1 and holds together: every $ref resolves, every component is used,
// operation ids are unique, path parameters match the path, and every route documents the
// answers every route can give.
func TestSpecStructure(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), specFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]

	if v := child(root, "openapi"); v == nil || !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v.Value) {
		t.Fatalf("openapi: want 3.1.x")
	}
	used := map[string]bool{}
	for _, ref := range refs(root) {
		if err := resolve(root, ref); err != nil {
			t.Errorf("$ref %s (line %d): %v", ref.Value, ref.Line, err)
			continue
		}
		used[ref.Value] = true
	}
	for _, kind := range []string{"schemas", "parameters", "responses"} {
		group := child(child(root, "components"), kind)
		for i := 0; group != nil && i < len(group.Content); i += 2 {
			if name := group.Content[i].Value; !used["#/components/"+kind+"/"+name] {
				t.Errorf("components.%s.%s: nothing refers to it", kind, name)
			}
		}
	}

	spec := loadSpec(t)
	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([^}]+)\}`)
	for _, p := range spec.Paths {
		var inPath []string
		for _, m := range pathParam.FindAllStringSubmatch(p.Key, -1) {
			inPath = append(inPath, m[1])
		}
		for _, m := range p.Value.Operations() {
			route, op := m.Method+" "+p.Key, m.Operation
			if op.OperationID == "" || ids[op.OperationID] != "" {
				t.Errorf("%s: operationId %q is empty or also used by %s", route, op.OperationID, ids[op.OperationID])
			}
			ids[op.OperationID] = route
			if op.Summary == "" {
				t.Errorf("%s: no summary", route)
			}

			params, err := spec.Parameters(&p.Value, op)
			if err != nil {
				t.Fatalf("%s: %v", route, err)
			}
			var declared []string
			for _, prm := range params {
				if prm.In == "path" {
					declared = append(declared, prm.Name)
					if !prm.Required {
						t.Errorf("%s: path parameter %s must be required", route, prm.Name)
					}
				}
			}
			if !slices.Equal(slices.Sorted(slices.Values(declared)), slices.Sorted(slices.Values(inPath))) {
				t.Errorf("%s: path parameters %v, the path has %v", route, declared, inPath)
			}

			var statuses []string
			for _, r := range op.Responses {
				statuses = append(statuses, r.Key)
			}
			needs := []string{"403", "500"}
			if op.Public() { // no key, so never API Gateway's 403
				needs = needs[1:]
			}
			for _, need := range needs {
				if !slices.Contains(statuses, need) {
					t.Errorf("%s: no %s response", route, need)
				}
			}
			if op.RequestBody != nil && !slices.Contains(statuses, "413") {
				t.Errorf("%s: reads a body but has no 413 response", route)
			}
			if invalidable(params) || op.RequestBody != nil {
				if !slices.Contains(statuses, "400") {
					t.Errorf("%s: takes input but has no 400 response", route)
				}
			}
		}
	}
}

// lookupOnly are path parameters the API only looks up: any value it never issued is a 404,
// as Stripe and GitHub answer, so they cannot make a request invalid.
var lookupOnly = []string{"webhookId", "mediaId", "token"}

// invalidable reports whether some parameter can make a request a 400.
func invalidable(params []*Parameter) bool {
	for _, p := range params {
		if p.In != "path" || !slices.Contains(lookupOnly, p.Name) {
			return true
		}
	}
	return false
}

// child returns the value of key in a mapping node, nil when absent.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// refs returns the value nodes of every $ref under n.
func refs(n *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "$ref" {
				out = append(out, n.Content[i+1])
			}
		}
	}
	for _, c := range n.Content {
		out = append(out, refs(c)...)
	}
	return out
}

// resolve checks that a local JSON pointer reference ("#/a/b~1c") leads somewhere from root.
func resolve(root, ref *yaml.Node) error {
	pointer, ok := strings.CutPrefix(ref.Value, "#/")
	if !ok {
		return fmt.Errorf("only local references (#/...) are used here")
	}
	n := root
	for _, part := range strings.Split(pointer, "/") {
		part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
		if n = child(n, part); n == nil {
			return fmt.Errorf("%q does not exist", part)
		}
	}
	return nil
}

// The spec's objects have exactly the fields the Go types write, and require those they
// always write.
func TestSchemasMatchGoTypes(t *testing.T) {
	spec := loadSpec(t)
	code, msg, now := 200, "HTTP 500 Internal Server Error", time.Now()
	full := webhook.Log{
		InstanceID: "inst_1", Payload: json.RawMessage(`{}`), StatusCode: &code,
		Response: json.RawMessage(`{}`), Error: &msg, NextRetryAt: &now,
	}
	var stat manage.EventStat
	instanceID := "inst_1"
	for _, c := range []struct {
		schema        string
		full, minimal any
	}{
		{"WebhookLog", full, webhook.Log{}},
		{"Stats", manage.Stats{InstanceID: &instanceID}, manage.Stats{}},
		{"EventCount", stat, stat},
		{"DailyStats", manage.DailyStats{InstanceID: &instanceID}, manage.DailyStats{}},
		{"DayStats", manage.DayStats{}, manage.DayStats{}},
		{"Job", manage.JobView{InstanceID: &instanceID}, manage.JobView{}},
	} {
		t.Run(c.schema, func(t *testing.T) {
			sch, ok := spec.Components.Schemas.Get(c.schema)
			if !ok {
				t.Fatalf("no schema %s", c.schema)
			}
			var props []string
			for _, p := range sch.Properties {
				props = append(props, p.Key)
			}
			if got, want := jsonKeys(t, c.full), slices.Sorted(slices.Values(props)); !slices.Equal(got, want) {
				t.Errorf("Go writes %v; the schema has %v", got, want)
			}
			if got, want := jsonKeys(t, c.minimal), slices.Sorted(slices.Values(sch.Required)); !slices.Equal(got, want) {
				t.Errorf("Go always writes %v; the schema requires %v", got, want)
			}
		})
	}
}

// jsonKeys returns the sorted top-level keys of v's JSON.
func jsonKeys(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return slices.Sorted(maps.Keys(m))
}
