package sender

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/deliver"
)

// TestLinkFetcher fetches media links from an https server on this machine, as the local
// stack's host does: allowed by its prefix and trusted by its certificate, and nothing else.
func TestLinkFetcher(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n not much of a PNG")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/menu.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		case "/plain":
			http.Redirect(w, r, "http://"+r.Host+"/menu.png", http.StatusFound)
		case "/big":
			w.Write(make([]byte, 2048))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	local := NewLinkFetcher(deliver.SenderOptions{Timeout: 5 * time.Second, AllowedPrefixes: loopback, RootCAs: pool})
	ctx := context.Background()

	body, mimetype, err := local.Fetch(ctx, srv.URL+"/menu.png", 1024)
	if err != nil || string(body) != string(png) || mimetype != "image/png" {
		t.Fatalf("fetch: %q %q %v", body, mimetype, err)
	}

	tests := []struct {
		name      string
		f         *LinkFetcher
		path      string
		permanent bool
	}{
		// As deployed: no allowed prefix and the system's roots.
		{"loopback refused", NewLinkFetcher(deliver.SenderOptions{Timeout: 5 * time.Second}), "/menu.png", true},
		// Allowed, but the test server's certificate is no system root's.
		{"certificate untrusted", NewLinkFetcher(deliver.SenderOptions{Timeout: 5 * time.Second, AllowedPrefixes: loopback}), "/menu.png", false},
		{"404 is final", local, "/missing", true},
		{"redirect to http refused", local, "/plain", true},
		{"over the limit", local, "/big", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.f.Fetch(ctx, srv.URL+tt.path, 1024)
			var p *permanentError
			if err == nil || errors.As(err, &p) != tt.permanent {
				t.Fatalf("err %v, permanent %v; want permanent %v", err, p != nil, tt.permanent)
			}
		})
	}
}
