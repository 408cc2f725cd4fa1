package wiringcheck

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/wagate/wagate/infra/samtemplate"
)

const module = "github.com/wagate/wagate"

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// goList runs go list -json on patterns in the repository.
func goList(t *testing.T, args ...string) []listedPackage {
	t.Helper()
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatalf("go list %v found no packages", args)
	}
	return pkgs
}

// under reports whether an import path is dir of this module or below it.
func under(path, dir string) bool {
	p := module + "/" + dir
	return path == p || strings.HasPrefix(path, p+"/")
}

// Only code that ships is linked into what ships: no binary links the local stack, the
// emulators or the test helpers under infra/.
func TestShippedBinariesLinkNothingUnderInfra(t *testing.T) {
	binaries := goList(t, "-deps=false", "./functions/...", "./session-host")
	if len(binaries) < 9 {
		t.Fatalf("found %d binaries, want the eight functions and the session host", len(binaries))
	}
	for _, b := range binaries {
		deps := goList(t, "-deps", b.ImportPath)
		for _, d := range deps {
			if under(d.ImportPath, "infra") {
				t.Errorf("%s links %s", b.ImportPath, d.ImportPath)
			}
		}
	}
}

// shared/ holds packages used by both sides; it depends on neither the session host nor
// infra/.
func TestSharedImportsNeitherSessionHostNorInfra(t *testing.T) {
	for _, p := range goList(t, "./shared/...") {
		for _, imp := range p.Imports {
			if under(imp, "session-host") || under(imp, "infra") {
				t.Errorf("%s imports %s", p.ImportPath, imp)
			}
		}
	}
}

func TestUnder(t *testing.T) {
	tests := []struct {
		path, dir string
		want      bool
	}{
		{module + "/infra", "infra", true},
		{module + "/infra/devstack", "infra", true},
		{module + "/infrastructure", "infra", false},
		{module + "/shared/store", "infra", false},
		{"example.com/infra", "infra", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := under(tt.path, tt.dir); got != tt.want {
				t.Errorf("under(%q, %q) = %v, want %v", tt.path, tt.dir, got, tt.want)
			}
		})
	}
}
