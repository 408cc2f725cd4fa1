// Package console serves the web console (DESIGN.md §9) at /console: one page and its
// hashed assets, built at build time from web/ into dist/ and embedded in the binary. It
// holds no data: the page asks the operator for the API key and calls the /api routes with
// it, so these routes need no key.
package console

import (
	"context"
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/wagate/wagate/shared/apigw"
)

// The routes of the console, as template.yaml declares them (without an API key).
const (
	PageResource  = "/console"
	AssetResource = "/console/{file}"
)

//go:embed all:dist
var built embed.FS

// Built returns the embedded bundle: dist/ as `make console` left it at build time.
func Built() fs.FS {
	sub, err := fs.Sub(built, "dist")
	if err != nil {
		panic(err) // dist is embedded; Sub fails only on a malformed name
	}
	return sub
}

// Security headers of every answer. The page runs only its own script (no inline script or
// style, no eval), talks only to its own origin, shows images from itself and data: URLs (the
// QR code the API answers as a PNG data URL), and may not be framed.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func securityHeaders() map[string]string {
	return map[string]string{
		"Content-Security-Policy":      csp,
		"X-Content-Type-Options":       "nosniff",
		"Referrer-Policy":              "no-referrer",
		"X-Frame-Options":              "DENY",
		"Cross-Origin-Opener-Policy":   "same-origin",
		"Cross-Origin-Resource-Policy": "same-origin",
	}
}

// hashed is the name of an asset whose content decides its name ([name]-[hash].ext, as the
// bundler writes them): it never changes, so it is cached for a year.
var hashed = regexp.MustCompile(`^[a-z0-9]+-[A-Z0-9]{8,}\.(js|css|svg)$`)

// Handler serves the console from a bundle.
type Handler struct {
	files fs.FS
}

// New returns a Handler serving files (Built() in the functions).
func New(files fs.FS) *Handler { return &Handler{files: files} }

// Register adds the console's routes.
func (h *Handler) Register(r *apigw.Router) {
	r.Handle(http.MethodGet, PageResource, h.page)
	r.Handle(http.MethodGet, AssetResource, h.asset)
}

// page answers index.html. The page is at /console (no trailing slash) and names its assets
// "console/<file>" and the API "api/...", relative, so it works under API Gateway's stage
// prefix (/v1/console) as at the local stack's root. /console/ would resolve them wrongly, so
// it is sent to /console.
func (h *Handler) page(_ context.Context, r *apigw.Request) (apigw.Response, error) {
	if strings.HasSuffix(r.Path, "/") {
		hdr := securityHeaders()
		hdr["Location"] = "../console"
		hdr["Cache-Control"] = "no-store"
		return apigw.Response{Status: http.StatusMovedPermanently, Text: "moved to ../console\n", ContentType: "text/plain; charset=utf-8", Headers: hdr}, nil
	}
	body, err := fs.ReadFile(h.files, "index.html")
	if err != nil {
		return text(http.StatusServiceUnavailable, "The console was not built into this binary: build it with `make console` before `go build` (make build and sam build do).\n"), nil
	}
	hdr := securityHeaders()
	// The page names the current assets: always revalidated.
	hdr["Cache-Control"] = "no-cache"
	return apigw.Response{Text: string(body), ContentType: "text/html; charset=utf-8", Headers: hdr}, nil
}

// asset answers one built file by its hashed name.
func (h *Handler) asset(_ context.Context, r *apigw.Request) (apigw.Response, error) {
	name := r.Param("file")
	if !hashed.MatchString(name) {
		return text(http.StatusNotFound, "not found\n"), nil
	}
	body, err := fs.ReadFile(h.files, name)
	if err != nil {
		return text(http.StatusNotFound, "not found\n"), nil
	}
	hdr := securityHeaders()
	hdr["Cache-Control"] = "public, max-age=31536000, immutable"
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	}
	if strings.HasPrefix(ctype, "text/") || ctype == "image/svg+xml" {
		return apigw.Response{Text: string(body), ContentType: ctype, Headers: hdr}, nil
	}
	return apigw.Response{Binary: body, ContentType: ctype, Headers: hdr}, nil
}

func text(status int, msg string) apigw.Response {
	hdr := securityHeaders()
	hdr["Cache-Control"] = "no-store"
	return apigw.Response{Status: status, Text: msg, ContentType: "text/plain; charset=utf-8", Headers: hdr}
}
