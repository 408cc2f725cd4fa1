package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// build compiles an empty program for goarch with the given flags and returns its path.
func build(t *testing.T, goarch string, flags ...string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"go.mod":  "module example.com/empty\n\ngo 1.22\n",
		"main.go": "package main\n\nfunc main() {}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOFLAGS=", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

var makefileFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w"}

func TestCheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries")
	}
	if size, err := Check(build(t, "arm64", makefileFlags...)); err != nil || size == 0 {
		t.Errorf("Check(static arm64 built as the Makefile builds) = %d, %v; want its size and no error", size, err)
	}

	tests := []struct {
		name   string
		goarch string
		flags  []string
		want   []string
	}{
		{"amd64", "amd64", makefileFlags, []string{"EM_X86_64", "GOARCH=\"amd64\""}},
		{"default flags", "arm64", nil, []string{"-symtab", "-trimpath", "lambda.norpc", "-s -w"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(build(t, tt.goarch, tt.flags...))
			if err == nil {
				t.Fatal("Check succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), strings.TrimPrefix(w, "-")) {
					t.Errorf("Check error %q does not mention %s", err, w)
				}
			}
		})
	}
}

func TestCheckRejectsNonELF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Check(path); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("Check(shell script) = %v, want not an ELF file", err)
	}
}
