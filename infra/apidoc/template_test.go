package main

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/infra/samtemplate"
)

// The routes API Gateway serves (template.yaml's Api events) are exactly the spec's, and each
// needs an API key, as the spec's global security says, but those the spec marks public
// (security: []), and those only.
func TestTemplateRoutesMatchSpec(t *testing.T) {
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	apiRoutes, err := tpl.APIRoutes()
	if err != nil {
		t.Fatal(err)
	}
	public := map[string]bool{}
	for _, p := range loadSpec(t).Paths {
		for _, m := range p.Value.Operations() {
			public[m.Method+" "+p.Key] = m.Operation.Public()
		}
	}
	var routes []string
	for _, r := range apiRoutes {
		if isConsole(r.Path) {
			// The console's page and assets: not part of the API, and open (they hold no data).
			if r.APIKeyRequired {
				t.Errorf("%s.Events.%s: the console loads without an API key; set Auth.ApiKeyRequired: false", r.Function, r.Event)
			}
			continue
		}
		routes = append(routes, r.Method+" "+r.Path)
		if !r.APIKeyRequired && !public[r.Method+" "+r.Path] {
			t.Errorf("%s.Events.%s: every route needs an API key; set Auth.ApiKeyRequired: true", r.Function, r.Event)
		}
		if r.APIKeyRequired && public[r.Method+" "+r.Path] {
			t.Errorf("%s.Events.%s: the spec serves it without a key (security: []); set Auth.ApiKeyRequired: false", r.Function, r.Event)
		}
	}
	assertSameRoutes(t, "template.yaml", routes, specFile, specRoutes(t))
}

// isConsole reports whether a path is the web console's (shared/console), served beside the
// API by the same API Gateway but not part of it.
func isConsole(path string) bool { return path == "/console" || strings.HasPrefix(path, "/console/") }
