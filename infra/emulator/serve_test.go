package emulator_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wagate/wagate/infra/emulator"
)

// serve.py's changes to moto's models that requests cannot show reliably (a race needs a thread
// switch at one exact point) have tests of their own, in Python, against moto's models.
func TestMotoPatches(t *testing.T) {
	python, script, err := emulator.FindMoto()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, filepath.Join(filepath.Dir(script), "serve_test.py"), "-v").CombinedOutput()
	if err != nil {
		t.Fatalf("infra/moto/serve_test.py: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
