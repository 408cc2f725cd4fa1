// Command buildcheck checks that every function of template.yaml was built into the binary
// Lambda's provided.al2023 arm64 runtime runs: dir/<LogicalId>/bootstrap, a static linux/arm64
// ELF (no interpreter, no dynamic section) built with CGO off, -tags lambda.norpc, -trimpath
// and -ldflags "-s -w". It runs after `make build` (dir .build) and `sam build`
// (dir .aws-sam/build):
//
//	go run ./infra/buildcheck -dir .aws-sam/build
package main

import (
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wagate/wagate/infra/samtemplate"
)

func main() {
	dir := flag.String("dir", "", "the build output: one folder per function's logical id, holding bootstrap")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: buildcheck -dir <build output>")
		os.Exit(2)
	}
	ids, err := functionIDs()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	failed := false
	for _, id := range ids {
		path := filepath.Join(*dir, id, "bootstrap")
		size, err := Check(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL %s: %v\n", path, err)
			failed = true
			continue
		}
		fmt.Printf("ok   %s (%.1f MiB)\n", path, float64(size)/(1<<20))
	}
	if failed {
		os.Exit(1)
	}
}

// functionIDs lists the logical ids of the template's functions, sorted.
func functionIDs() ([]string, error) {
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		return nil, err
	}
	ids := slices.Sorted(maps.Keys(tpl.CloudFormation().GetAllServerlessFunctionResources()))
	if len(ids) == 0 {
		return nil, errors.New("template.yaml has no functions")
	}
	return ids, nil
}

// wantSettings are the build settings a bootstrap must have been built with, as the Go
// toolchain records them in the binary. It does not record -ldflags next to -trimpath (they
// may hold paths), so the missing symbol and DWARF sections stand for -s -w.
var wantSettings = map[string]string{
	"GOOS":        "linux",
	"GOARCH":      "arm64",
	"CGO_ENABLED": "0",
	"-trimpath":   "true",
}

// Check reports why the file at path is not a bootstrap Lambda's arm64 runtime can run as
// built by the Makefile, and its size.
func Check(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return 0, fmt.Errorf("not executable (mode %s)", fi.Mode())
	}
	problems, err := staticARM64Problems(path)
	if err != nil {
		return 0, err
	}

	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("no Go build information: %w", err)
	}
	got := map[string]string{}
	for _, s := range info.Settings {
		got[s.Key] = s.Value
	}
	for _, k := range slices.Sorted(maps.Keys(wantSettings)) {
		if got[k] != wantSettings[k] {
			problems = append(problems, fmt.Sprintf("built with %s=%q, want %q", k, got[k], wantSettings[k]))
		}
	}
	if !slices.Contains(strings.Split(got["-tags"], ","), "lambda.norpc") {
		problems = append(problems, fmt.Sprintf("built with -tags %q, want lambda.norpc among them", got["-tags"]))
	}
	if len(problems) > 0 {
		return 0, errors.New(strings.Join(problems, "; "))
	}
	return fi.Size(), nil
}

// staticARM64Problems lists why the ELF file at path is not a stripped, static linux/arm64
// executable.
func staticARM64Problems(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("not an ELF file: %w", err)
	}
	defer f.Close()
	var problems []string
	if f.Class != elf.ELFCLASS64 || f.Machine != elf.EM_AARCH64 {
		problems = append(problems, fmt.Sprintf("built for %s %s, want ELFCLASS64 EM_AARCH64", f.Class, f.Machine))
	}
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			problems = append(problems, "dynamically linked (has a program interpreter)")
		case elf.PT_DYNAMIC:
			problems = append(problems, "has a dynamic section")
		}
	}
	for _, name := range []string{".symtab", ".debug_info", ".zdebug_info"} {
		if f.Section(name) != nil {
			problems = append(problems, fmt.Sprintf("not stripped (has %s; want -ldflags \"-s -w\")", name))
		}
	}
	return problems, nil
}
