package send

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/wagate/wagate/shared/outbox"
)

// FuzzBuild checks that no request Parse accepts makes Build panic when the host passes
// everything a message can need, and that Build then builds it.
func FuzzBuild(f *testing.F) {
	requests, err := filepath.Glob(filepath.Join("testdata", "*.request.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range requests {
		body, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	b := builder()
	in := Input{Now: now, Upload: upload("application/octet-stream", 1), Quoted: &Quoted{Sender: contact},
		Secret: bytes.Repeat([]byte{9}, SecretSize)}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := outbox.Parse(body)
		if err != nil {
			return
		}
		msg, err := b.Build(m, in)
		if err != nil || msg == nil {
			t.Fatalf("Build of accepted %q = %v, %v", body, msg, err)
		}
	})
}
