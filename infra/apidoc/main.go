// Command apidoc renders README.md's API reference from the OpenAPI description of the
// management API, infra/openapi.yaml, between the markers
//
//	<!-- api-reference:start -->
//	<!-- api-reference:end -->
//
// Usage, from anywhere in the repository:
//
//	go run ./infra/apidoc          rewrite the section
//	go run ./infra/apidoc -check   exit 1 when the section is not what the spec renders
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/wagate/wagate/infra/samtemplate"
)

// Paths from the repository root.
const (
	specFile   = "infra/openapi.yaml"
	readmeFile = "README.md"
)

const (
	startMarker = "<!-- api-reference:start -->"
	endMarker   = "<!-- api-reference:end -->"
	// generatedNote opens the section, for whoever would edit it by hand.
	generatedNote = "<!-- Generated from " + specFile + " by `go run ./infra/apidoc`: edit the spec, then run it. -->"
)

func main() {
	check := flag.Bool("check", false, "only report whether "+readmeFile+" is up to date; exit 1 when it is not")
	flag.Parse()
	if err := run(*check); err != nil {
		fmt.Fprintln(os.Stderr, "apidoc:", err)
		os.Exit(1)
	}
}

func run(check bool) error {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		return err
	}
	readmePath := filepath.Join(root, readmeFile)
	readme, err := os.ReadFile(readmePath)
	if err != nil {
		return fmt.Errorf("read readme: %w", err)
	}
	updated, err := updatedReadme(root, readme)
	if err != nil {
		return err
	}
	switch {
	case bytes.Equal(readme, updated):
		return nil
	case check:
		return errors.New(readmeFile + "'s API reference is stale: run go run ./infra/apidoc")
	}
	if err := os.WriteFile(readmePath, updated, 0o644); err != nil {
		return fmt.Errorf("write readme: %w", err)
	}
	return nil
}

// updatedReadme returns readme with its API reference rendered afresh from the spec under root.
func updatedReadme(root string, readme []byte) ([]byte, error) {
	spec, err := LoadSpec(filepath.Join(root, specFile))
	if err != nil {
		return nil, err
	}
	section, err := Render(spec)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", specFile, err)
	}
	return replaceSection(readme, generatedNote+"\n\n"+strings.TrimRight(section, "\n")+"\n")
}

// replaceSection puts section between the markers of doc, which must hold each marker once,
// start before end.
func replaceSection(doc []byte, section string) ([]byte, error) {
	start, end := []byte(startMarker), []byte(endMarker)
	if bytes.Count(doc, start) != 1 || bytes.Count(doc, end) != 1 {
		return nil, fmt.Errorf("%s: want %s and %s once each", readmeFile, startMarker, endMarker)
	}
	i, j := bytes.Index(doc, start)+len(start), bytes.Index(doc, end)
	if j < i {
		return nil, fmt.Errorf("%s: %s comes before %s", readmeFile, endMarker, startMarker)
	}
	var out bytes.Buffer
	out.Write(doc[:i])
	out.WriteString("\n" + section)
	out.Write(doc[j:])
	return out.Bytes(), nil
}
