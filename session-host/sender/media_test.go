package sender

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
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

// TestLinkFetcherRefusesAtDialTime: a link whose name resolves to a loopback address, or that
// names the cloud metadata address, is refused when the host dials, before any request, unless
// the deployment allows its range (the local stack allows 127.0.0.0/8 and nothing else).
func TestLinkFetcherRefusesAtDialTime(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Write([]byte("secret"))
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	localStack := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name  string
		allow []netip.Prefix
		link  string
	}{
		{"a name resolving to loopback, deployed", nil, "https://localhost:" + port + "/photo.jpg"},
		{"loopback, deployed", nil, "https://127.0.0.1:" + port + "/photo.jpg"},
		{"the metadata address, deployed", nil, "https://169.254.169.254/latest/meta-data/iam/security-credentials/"},
		{"the metadata address, local stack", localStack, "https://169.254.169.254/latest/meta-data/iam/security-credentials/"},
		{"the metadata address over plain http", localStack, "http://169.254.169.254/latest/meta-data/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewLinkFetcher(deliver.SenderOptions{Timeout: 5 * time.Second, AllowedPrefixes: tt.allow, RootCAs: pool, AllowHTTP: true})
			start := time.Now()
			_, _, err := f.Fetch(context.Background(), tt.link, 1024)
			var p *permanentError
			if !errors.As(err, &p) || !strings.Contains(err.Error(), "refused") {
				t.Fatalf("err %v, want a final refusal", err)
			}
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("refused after %s: it waited for a connection", took)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("the server got %d requests", n)
	}
	// The local stack's allow list lets the same server through (its certificate names no
	// localhost, so by address).
	f := NewLinkFetcher(deliver.SenderOptions{Timeout: 5 * time.Second, AllowedPrefixes: localStack, RootCAs: pool})
	if body, _, err := f.Fetch(context.Background(), srv.URL+"/photo.jpg", 1024); err != nil || string(body) != "secret" {
		t.Fatalf("allowed: %q %v", body, err)
	}
}

// TestLinkFetcherStopsOverTheLimit: a file over the limit is refused without being read whole,
// whether its answer says its length or not.
func TestLinkFetcherStopsOverTheLimit(t *testing.T) {
	const huge = 64 << 20
	var sent atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/declared" {
			w.Header().Set("Content-Length", strconv.Itoa(huge))
		}
		chunk := make([]byte, 32<<10)
		for written := 0; written < huge; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the fetcher hung up
			}
			sent.Add(int64(len(chunk)))
		}
	}))
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	f := NewLinkFetcher(deliver.SenderOptions{Timeout: 10 * time.Second, AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, RootCAs: pool})
	for _, path := range []string{"/declared", "/chunked"} {
		t.Run(path, func(t *testing.T) {
			sent.Store(0)
			_, _, err := f.Fetch(context.Background(), srv.URL+path, 16<<20)
			var p *permanentError
			if !errors.As(err, &p) || !strings.Contains(err.Error(), "larger than") {
				t.Fatalf("err %v, want a final refusal as too large", err)
			}
			time.Sleep(100 * time.Millisecond) // the server notices the closed connection
			if n := sent.Load(); n >= huge/2 {
				t.Errorf("the server sent %d of %d bytes before the fetcher hung up", n, huge)
			}
		})
	}
}
