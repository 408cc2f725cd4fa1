package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wagate/wagate/infra/samtemplate"
)

// The session host's image is distroless/static: no libc, no loader. Its binary, built by
// the very command its Dockerfile runs, must be a stripped, static arm64 executable.
func TestSessionHostImageBinaryIsStaticARM64(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the session host")
	}
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dockerfile, err := os.ReadFile(filepath.Join(root, "session-host", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var build string
	for _, line := range strings.Split(string(dockerfile), "\n") {
		if strings.HasPrefix(line, "RUN ") && strings.Contains(line, " go build ") {
			build = strings.TrimPrefix(line, "RUN ")
		}
	}
	if !strings.Contains(build, "-o /out/session-host") {
		t.Fatalf("the Dockerfile's go build line (%q) does not write /out/session-host", build)
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "-c", strings.ReplaceAll(build, "/out/", out+"/"))
	cmd.Dir = root
	// What the Dockerfile's ARG gives for a linux/arm64 image.
	cmd.Env = append(os.Environ(), "TARGETARCH=arm64", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build, err, b)
	}
	problems, err := staticARM64Problems(filepath.Join(out, "session-host"))
	if err != nil || len(problems) > 0 {
		t.Fatalf("session host binary: %v %v", err, problems)
	}
}
