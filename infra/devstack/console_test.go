package devstack_test

import (
	"io"
	"net/http"
	"testing"
)

// The console's page and assets load without an API key, as through API Gateway (their
// routes have ApiKeyRequired false), with the console's security headers; the API still
// needs the key.
func TestConsoleLoadsWithoutAKey(t *testing.T) {
	s := startStack(t, "console")
	get := func(path string) *http.Response {
		t.Helper()
		resp, err := http.Get(s.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	page := get("/console")
	// 503 when this binary's bundle was not built (go test without make console).
	if page.StatusCode != 200 && page.StatusCode != 503 {
		t.Fatalf("GET /console without a key: %d", page.StatusCode)
	}
	if page.Header.Get("Content-Security-Policy") == "" || page.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET /console headers %v", page.Header)
	}
	if a := get("/console/nothing-ABCDEFGH.js"); a.StatusCode != 404 {
		t.Errorf("GET an unknown asset: %d, want 404", a.StatusCode)
	}
	if a := get("/api/instances"); a.StatusCode != 403 {
		t.Errorf("GET /api/instances without a key: %d, want 403", a.StatusCode)
	}
}
