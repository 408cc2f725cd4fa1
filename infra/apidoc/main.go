// Command apidoc renders the API reference, docs/api.md, from the OpenAPI description of the
// management API, infra/openapi.yaml, between the markers
//
//	<!-- api-reference:start -->
//	<!-- api-reference:end -->
//
// Usage, from anywhere in the repository:
//
//	go run ./infra/apidoc          rewrite the reference
//	go run ./infra/apidoc -check   exit 1 when the reference is not what the spec renders
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
	specFile      = "infra/openapi.yaml"
	referenceFile = "docs/api.md"
)

const (
	startMarker = "<!-- api-reference:start -->"
	endMarker   = "<!-- api-reference:end -->"
	// generatedNote opens the generated part, for whoever would edit it by hand.
	generatedNote = "<!-- Generated from " + specFile + " by `go run ./infra/apidoc`: edit the spec, then run it. -->"
)

func main() {
	check := flag.Bool("check", false, "only report whether "+referenceFile+" is up to date; exit 1 when it is not")
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
	referencePath := filepath.Join(root, referenceFile)
	reference, err := os.ReadFile(referencePath)
	if err != nil {
		return fmt.Errorf("read the API reference: %w", err)
	}
	updated, err := updatedReference(root, reference)
	if err != nil {
		return err
	}
	switch {
	case bytes.Equal(reference, updated):
		return nil
	case check:
		return errors.New(referenceFile + " is stale: run go run ./infra/apidoc")
	}
	if err := os.WriteFile(referencePath, updated, 0o644); err != nil {
		return fmt.Errorf("write the API reference: %w", err)
	}
	return nil
}

// updatedReference returns reference with its generated part rendered afresh from the spec
// under root.
func updatedReference(root string, reference []byte) ([]byte, error) {
	spec, err := LoadSpec(filepath.Join(root, specFile))
	if err != nil {
		return nil, err
	}
	section, err := Render(spec)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", specFile, err)
	}
	return replaceSection(reference, generatedNote+"\n\n"+strings.TrimRight(section, "\n")+"\n")
}

// replaceSection puts section between the markers of doc, which must hold each marker once,
// start before end.
func replaceSection(doc []byte, section string) ([]byte, error) {
	start, end := []byte(startMarker), []byte(endMarker)
	if bytes.Count(doc, start) != 1 || bytes.Count(doc, end) != 1 {
		return nil, fmt.Errorf("%s: want %s and %s once each", referenceFile, startMarker, endMarker)
	}
	i, j := bytes.Index(doc, start)+len(start), bytes.Index(doc, end)
	if j < i {
		return nil, fmt.Errorf("%s: %s comes before %s", referenceFile, endMarker, startMarker)
	}
	var out bytes.Buffer
	out.Write(doc[:i])
	out.WriteString("\n" + section)
	out.Write(doc[j:])
	return out.Bytes(), nil
}
