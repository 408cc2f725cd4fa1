package main

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/shared/lambdas"
)

// The routes the handlers serve are exactly the spec's. Routes under /api/dev/ serve the local
// stack only and are deliberately not part of the published API, nor is the web console.
func TestRouterRoutesMatchSpec(t *testing.T) {
	var served []string
	for _, r := range lambdas.Routes() {
		if strings.HasPrefix(r.Resource, "/api/dev/") || isConsole(r.Resource) {
			continue
		}
		served = append(served, r.Method+" "+r.Resource)
	}
	assertSameRoutes(t, "shared/manage", served, specFile, specRoutes(t))
}
