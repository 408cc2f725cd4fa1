package main

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/shared/samtemplate"
)

// The routes API Gateway serves (template.yaml's Api events) are exactly the spec's, and each
// needs an API key, as the spec's global security says.
func TestTemplateRoutesMatchSpec(t *testing.T) {
	path, err := samtemplate.TemplatePath()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for name, fn := range tpl.CloudFormation().GetAllServerlessFunctionResources() {
		for event, src := range fn.Events {
			if src.Type != "Api" {
				continue
			}
			if src.Properties == nil || src.Properties.ApiEvent == nil {
				t.Errorf("%s.Events.%s: an Api event without Path and Method", name, event)
				continue
			}
			api := src.Properties.ApiEvent
			routes = append(routes, strings.ToUpper(api.Method)+" "+api.Path)
			if api.Auth == nil || api.Auth.ApiKeyRequired == nil || !*api.Auth.ApiKeyRequired {
				t.Errorf("%s.Events.%s: every route needs an API key; set Auth.ApiKeyRequired: true", name, event)
			}
		}
	}
	assertSameRoutes(t, "template.yaml", routes, specFile, specRoutes(t))
}
