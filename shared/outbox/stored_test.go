package outbox

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/stored.golden.json from the current output")

// maxGoldenStored leaves the cases at the size limits out of the golden file.
const maxGoldenStored = 4096

// TestStoredFormIsStable pins the stored form of every accepted case small enough to read:
// records already in the outbox are read by later versions, so a change to it must show.
func TestStoredFormIsStable(t *testing.T) {
	got := map[string]json.RawMessage{}
	types := map[Type]bool{}
	for _, tc := range validCases {
		m, err := Parse([]byte(tc.body))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if len(b) <= maxGoldenStored {
			got[tc.name] = b
			types[m.Type] = true
		}
	}
	for name, m := range actionCases(t) {
		b, err := m.Encode()
		if err != nil {
			t.Fatal(err)
		}
		got["action: "+name] = b
		types[m.Type] = true
	}
	for _, typ := range append(slices.Clone(allTypes), TypeEdit, TypeRevoke, TypeRead, TypePresence) {
		if !types[typ] {
			t.Errorf("no stored form of type %s in the golden file", typ)
		}
	}
	path := filepath.Join("testdata", "stored.golden.json")
	b, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs (run go test -update and review the diff)\n got: %s", path, b)
	}
}
