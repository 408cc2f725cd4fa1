package main

import (
	"os/exec"
	"testing"

	"github.com/wagate/wagate/infra/samtemplate"
)

func loadTemplate(t *testing.T) *samtemplate.Template {
	t.Helper()
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// sam build must build every function with the Makefile's recipe, the one buildcheck checks:
// BuildMethod makefile from the repository root, and a build-<LogicalId> target for it.
func TestEveryFunctionBuildsWithTheMakefile(t *testing.T) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for id, fn := range loadTemplate(t).CloudFormation().GetAllServerlessFunctionResources() {
		md := fn.AWSCloudFormationMetadata
		if md["BuildMethod"] != "makefile" || md["ContextPath"] != "." || md["WorkingDirectory"] != "." {
			t.Errorf("%s: Metadata = %v, want BuildMethod makefile, ContextPath and WorkingDirectory .", id, md)
		}
		// -n prints the recipe without running it; -q would not tell a missing target apart.
		cmd := exec.Command("make", "-n", "--no-print-directory", "build-"+id, "ARTIFACTS_DIR=/nonexistent")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: make -n build-%s: %v\n%s", id, id, err, out)
		}
	}
}

// Lambda advises a queue visibility timeout of at least six times the timeout of the function
// its event source mapping feeds, so a batch is not handed out again while a throttled or
// retried invocation still holds it.
func TestQueueVisibilityCoversItsFunction(t *testing.T) {
	tpl := loadTemplate(t)
	cfn := tpl.CloudFormation()
	sources, err := tpl.SQSSources()
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) == 0 {
		t.Fatal("no SQS event sources in the template")
	}
	globalTimeout := 3 // Lambda's default
	if g, err := cfn.GetServerlessGlobalFunction(); err == nil && g.Timeout != nil {
		globalTimeout = *g.Timeout
	}
	for _, src := range sources {
		fn := cfn.GetAllServerlessFunctionResources()[src.Function]
		timeout := globalTimeout
		if fn.Timeout != nil {
			timeout = *fn.Timeout
		}
		q := cfn.GetAllSQSQueueResources()[src.Queue]
		visibility := 30 // SQS's default
		if q.VisibilityTimeout != nil {
			visibility = *q.VisibilityTimeout
		}
		if visibility < 6*timeout {
			t.Errorf("%s: visibility timeout %d s, want at least 6 x %s's %d s", src.Queue, visibility, src.Function, timeout)
		}
		t.Logf("%s: visibility %d s, %s timeout %d s", src.Queue, visibility, src.Function, timeout)
	}
}
