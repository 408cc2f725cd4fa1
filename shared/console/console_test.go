package console_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/console"
)

const page = `<!doctype html><html lang="en"><head><link rel="stylesheet" href="console/app-ABCDEFGH.css">` +
	`<script type="module" src="console/app-ABCD1234.js"></script></head><body><div id="app"></div></body></html>`

func bundle() fstest.MapFS {
	return fstest.MapFS{
		"index.html":        {Data: []byte(page)},
		"app-ABCD1234.js":   {Data: []byte("console.log(1)")},
		"app-ABCDEFGH.css":  {Data: []byte("body{}")},
		"icon-ABCDEFGH.svg": {Data: []byte("<svg/>")},
		"README":            {Data: []byte("not served")},
	}
}

func serve(t *testing.T, files fs.FS, resource, path string, params map[string]string) events.APIGatewayProxyResponse {
	t.Helper()
	r := apigw.NewRouter(slog.New(slog.DiscardHandler))
	console.New(files).Register(r)
	resp, err := r.Serve(context.Background(), events.APIGatewayProxyRequest{
		HTTPMethod: "GET", Resource: resource, Path: path, PathParameters: params,
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Every answer carries the security headers, whatever it is.
func checkSecurity(t *testing.T, resp events.APIGatewayProxyResponse) {
	t.Helper()
	csp := resp.Headers["Content-Security-Policy"]
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") {
		t.Errorf("Content-Security-Policy %q allows inline code or another origin", csp)
	}
	if resp.Headers["X-Content-Type-Options"] != "nosniff" || resp.Headers["Referrer-Policy"] != "no-referrer" {
		t.Errorf("headers %v", resp.Headers)
	}
}

func TestPage(t *testing.T) {
	resp := serve(t, bundle(), console.PageResource, "/console", nil)
	checkSecurity(t, resp)
	if resp.StatusCode != 200 || resp.Body != page || resp.IsBase64Encoded ||
		resp.Headers["Content-Type"] != "text/html; charset=utf-8" || resp.Headers["Cache-Control"] != "no-cache" {
		t.Fatalf("page: %d %v %q", resp.StatusCode, resp.Headers, resp.Body)
	}
}

// /console/ would resolve the page's relative links one level too deep: it is sent to /console.
func TestPageWithSlashRedirects(t *testing.T) {
	resp := serve(t, bundle(), console.PageResource, "/console/", nil)
	checkSecurity(t, resp)
	if resp.StatusCode != 301 || resp.Headers["Location"] != "../console" {
		t.Fatalf("/console/: %d %v", resp.StatusCode, resp.Headers)
	}
}

func TestAssets(t *testing.T) {
	for _, tt := range []struct{ file, ctype, body string }{
		{"app-ABCD1234.js", "text/javascript; charset=utf-8", "console.log(1)"},
		{"app-ABCDEFGH.css", "text/css; charset=utf-8", "body{}"},
		{"icon-ABCDEFGH.svg", "image/svg+xml", "<svg/>"},
	} {
		resp := serve(t, bundle(), console.AssetResource, "/console/"+tt.file, map[string]string{"file": tt.file})
		checkSecurity(t, resp)
		if resp.StatusCode != 200 || resp.Body != tt.body || resp.IsBase64Encoded || resp.Headers["Content-Type"] != tt.ctype ||
			resp.Headers["Cache-Control"] != "public, max-age=31536000, immutable" {
			t.Errorf("%s: %d %v %q", tt.file, resp.StatusCode, resp.Headers, resp.Body)
		}
	}
}

// Only hashed names are served: not the page under another name, not files that are not
// assets, not paths out of the bundle.
func TestUnknownAssets(t *testing.T) {
	for _, file := range []string{"index.html", "README", "app-ABCD9999.js", "../console.go", "app.js", "APP-ABCD1234.JS", "%2e%2e"} {
		resp := serve(t, bundle(), console.AssetResource, "/console/"+file, map[string]string{"file": file})
		checkSecurity(t, resp)
		if resp.StatusCode != 404 || resp.Headers["Cache-Control"] != "no-store" {
			t.Errorf("%s: %d %v", file, resp.StatusCode, resp.Headers)
		}
	}
}

// A binary built without `make console` says so instead of serving an empty page.
func TestNotBuilt(t *testing.T) {
	resp := serve(t, fstest.MapFS{"README": {Data: []byte("placeholder")}}, console.PageResource, "/console", nil)
	checkSecurity(t, resp)
	if resp.StatusCode != 503 || !strings.Contains(resp.Body, "make console") {
		t.Fatalf("unbuilt: %d %q", resp.StatusCode, resp.Body)
	}
}

var (
	assetRef     = regexp.MustCompile(`(?:src|href)="console/([^"]+)"`)
	inlineScript = regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>|\son[a-z]+=|<style|style="|javascript:`)
	anyURL       = regexp.MustCompile(`(?:src|href)="(?:https?:)?//`)
)

// The bundle embedded in this binary, when it was built (make test builds it first): its page
// names assets that exist, runs no inline code, loads nothing from elsewhere, and the whole
// bundle is under 200 KB gzipped.
func TestBuiltBundle(t *testing.T) {
	files := console.Built()
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		if os.Getenv("WAGATE_CONSOLE_BUILT") != "" {
			t.Fatalf("the console was not built into dist/ (make console): %v", err)
		}
		t.Skip("the console is not built (make console builds it; make test does first)")
	}
	if inlineScript.Match(index) || anyURL.Match(index) {
		t.Errorf("index.html has inline code or a remote asset:\n%s", index)
	}
	refs := assetRef.FindAllSubmatch(index, -1)
	if len(refs) < 2 {
		t.Errorf("index.html names %d assets, want the script and the style sheet:\n%s", len(refs), index)
	}
	for _, m := range refs {
		resp := serve(t, files, console.AssetResource, "/console/"+string(m[1]), map[string]string{"file": string(m[1])})
		if resp.StatusCode != 200 {
			t.Errorf("index.html names %s, served %d", m[1], resp.StatusCode)
		}
	}
	var total int
	fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || p == "README" {
			return err
		}
		b, _ := fs.ReadFile(files, p)
		var z bytes.Buffer
		w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
		w.Write(b)
		w.Close()
		total += z.Len()
		t.Logf("%s: %d bytes, %d gzipped", p, len(b), z.Len())
		return nil
	})
	if total > 200_000 {
		t.Errorf("the bundle is %d bytes gzipped, over the 200 KB budget", total)
	}
}
