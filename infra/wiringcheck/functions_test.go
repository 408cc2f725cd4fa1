package wiringcheck

import (
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/session-host/host"
	"github.com/wagate/wagate/shared/env"
	"github.com/wagate/wagate/shared/lambdas"
)

// sessionHostTask is the logical id of the session host's task definition.
const sessionHostTask = "SessionHostTaskDefinition"

// sdkVars are variables the template sets for the AWS SDK, which reads them itself.
var sdkVars = []string{"AWS_REGION"}

var loadTemplate = sync.OnceValues(samtemplate.LoadRepo)

func template(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := loadTemplate()
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// build wires a function of the table from the environment the template gives it, and
// reports which variables it read.
func build(t *testing.T, f lambdas.Function) (lambdas.Handler, []string) {
	t.Helper()
	vars, err := template(t).Env(f.ID)
	if err != nil {
		t.Fatal(err)
	}
	v := env.Map(vars)
	h, err := f.Build(lambdas.Input{AWS: aws.Config{Region: "us-east-1"}, Env: v, Logger: slog.New(slog.DiscardHandler), Metrics: io.Discard})
	if err != nil {
		t.Fatalf("build %s from the template's environment: %v", f.ID, err)
	}
	return h, v.Asked()
}

// The table names every function of the template, and only those.
func TestTableListsTheTemplatesFunctions(t *testing.T) {
	var ids []string
	for _, f := range lambdas.Functions {
		ids = append(ids, f.ID)
	}
	sort.Strings(ids)
	if want := template(t).FunctionIDs(); !slices.Equal(ids, want) {
		t.Errorf("table has %v, template.yaml has %v", ids, want)
	}
}

// What a function serves is what API Gateway and the event source mappings send it: a wrong
// entry in the table would compile, pass every other test and answer 404 on AWS.
func TestFunctionsServeTheTemplatesEvents(t *testing.T) {
	tpl := template(t)
	apiRoutes, err := tpl.APIRoutes()
	if err != nil {
		t.Fatal(err)
	}
	sqsSources, err := tpl.SQSSources()
	if err != nil {
		t.Fatal(err)
	}
	schedules, err := tpl.ScheduleSources()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range lambdas.Functions {
		t.Run(f.ID, func(t *testing.T) {
			h, _ := build(t, f)
			var want, got []string
			for _, r := range apiRoutes {
				if r.Function == f.ID {
					want = append(want, r.Method+" "+r.Path)
				}
			}
			if h.API != nil {
				for _, r := range h.API.Routes() {
					got = append(got, r.Method+" "+r.Resource)
				}
			}
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("serves routes %v, template.yaml sends it %v", got, want)
			}
			queues := 0
			for _, s := range sqsSources {
				if s.Function == f.ID {
					queues++
				}
			}
			if (queues > 0) != (h.SQS != nil) {
				t.Errorf("has an SQS handler: %v; template.yaml gives it %d SQS events", h.SQS != nil, queues)
			}
			scheduled := slices.ContainsFunc(schedules, func(s samtemplate.ScheduleSource) bool { return s.Function == f.ID })
			if scheduled != (h.Schedule != nil) {
				t.Errorf("has a schedule handler: %v; template.yaml gives it a Schedule event: %v", h.Schedule != nil, scheduled)
			}
			served := 0
			for _, has := range []bool{h.API != nil, h.SQS != nil, h.Stream != nil, h.Schedule != nil} {
				if has {
					served++
				}
			}
			if served != 1 {
				t.Errorf("serves %d kinds of event, want one (lambdas.Start starts one handler)", served)
			}
		})
	}
}

var startCall = regexp.MustCompile(`lambdas\.Start\([^,]+,\s*"([A-Za-z0-9]+)"\)`)

// Each functions/<dir>/main.go starts the function whose CodeUri is functions/<dir>/.
func TestMainsStartTheirTemplateFunction(t *testing.T) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	fns := template(t).CloudFormation().GetAllServerlessFunctionResources()
	if len(fns) == 0 {
		t.Fatal("template.yaml has no functions")
	}
	for id, fn := range fns {
		t.Run(id, func(t *testing.T) {
			if fn.CodeUri == nil || fn.CodeUri.String == nil {
				t.Fatal("no CodeUri")
			}
			src, err := os.ReadFile(filepath.Join(root, *fn.CodeUri.String, "main.go"))
			if err != nil {
				t.Fatal(err)
			}
			m := startCall.FindAllStringSubmatch(string(src), -1)
			if len(m) != 1 || m[0][1] != id {
				t.Errorf("%smain.go starts %v, want lambdas.Start(ctx, %q)", *fn.CodeUri.String, m, id)
			}
		})
	}
}

// Every variable a function or the session host reads is set for it in template.yaml, and
// every one the template sets is read: a missing one would fail on AWS, an unread one
// misleads whoever changes it.
func TestEnvironmentMatchesTheTemplate(t *testing.T) {
	tpl := template(t)
	check := func(t *testing.T, set map[string]string, read []string) {
		t.Helper()
		setNames := slices.Sorted(maps.Keys(set))
		setNames = slices.DeleteFunc(setNames, func(n string) bool { return slices.Contains(sdkVars, n) })
		if !slices.Equal(read, setNames) {
			t.Errorf("reads %v\ntemplate.yaml sets %v\nread, not set: %v\nset, not read: %v",
				read, setNames, missing(read, setNames), missing(setNames, read))
		}
	}
	for _, f := range lambdas.Functions {
		t.Run(f.ID, func(t *testing.T) {
			set, err := tpl.Env(f.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, read := build(t, f)
			check(t, set, read)
		})
	}
	t.Run("session host", func(t *testing.T) {
		set, err := tpl.Env(sessionHostTask)
		if err != nil {
			t.Fatal(err)
		}
		v := env.Map(set)
		if _, err := host.LoadConfig(v); err != nil {
			t.Fatalf("the task definition's environment: %v", err)
		}
		check(t, set, v.Asked())
	})
}

// missing returns the names of a not in b.
func missing(a, b []string) []string {
	var out []string
	for _, n := range a {
		if !slices.Contains(b, n) {
			out = append(out, n)
		}
	}
	return out
}

var getenvCall = regexp.MustCompile(`\bos\.(Getenv|LookupEnv|Environ)\b`)

// Configuration is read through env.Vars, whose record the test above checks; only the
// places that hand it the process's environment touch os.Getenv.
func TestEnvironmentIsReadOnlyThroughVars(t *testing.T) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{"shared/lambdas/lambdas.go": true, "session-host/main.go": true}
	seen := map[string]bool{}
	for _, dir := range []string{"shared", "session-host", "functions"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, path)
			if getenvCall.Match(src) {
				seen[rel] = true
				if !allowed[rel] {
					t.Errorf("%s reads the environment itself: read it through env.Vars", rel)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for f := range allowed {
		if !seen[f] {
			t.Errorf("%s no longer reads the environment: update the test", f)
		}
	}
}
