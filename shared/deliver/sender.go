package deliver

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"sync/atomic"
	"time"

	"code.dny.dev/ssrf"

	"github.com/wagate/wagate/shared/webhook"
)

// Version is sent in the User-Agent header.
const Version = webhook.Version

// SenderOptions configures a Sender.
type SenderOptions struct {
	Timeout time.Duration // per attempt, answer included
	// AllowedPrefixes are destinations allowed although they are private, loopback or
	// otherwise refused (the local stack allows 127.0.0.0/8).
	AllowedPrefixes []netip.Prefix
	AllowHTTP       bool // plain http URLs; https only when false
	// RootCAs are the certificate authorities trusted instead of the system's; nil, as every
	// deployed function and host leaves it, trusts the system's. Only the local stack's tests
	// set it, to fetch from a test server's certificate.
	RootCAs *x509.CertPool
}

// Sender makes one signed HTTP attempt at a time.
type Sender struct {
	client    *http.Client
	allowHTTP bool
	timeout   time.Duration
	now       func() time.Time
}

// NewSender returns a Sender whose every connection is checked where it is dialled, after DNS,
// so a hostname that resolves to a refused address is refused too.
func NewSender(o SenderOptions) *Sender {
	return &Sender{client: NewClient(o), allowHTTP: o.AllowHTTP, timeout: o.Timeout, now: time.Now}
}

// NewClient returns the HTTP client a Sender uses, for others that fetch from addresses a
// customer gave (the session host fetching media links): every connection is checked where it
// is dialled against o's allowed destinations, a proxy is never used, and redirects are not
// followed (set CheckRedirect on a copy to follow them: each hop is dialled through the check).
func NewClient(o SenderOptions) *http.Client {
	var v4, v6 []netip.Prefix
	for _, p := range o.AllowedPrefixes {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	guard := ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...))
	dialer := &net.Dialer{Timeout: o.Timeout, Control: guard.Safe}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, past the guard
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   10,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   o.Timeout,
		ResponseHeaderTimeout: o.Timeout,
	}
	if o.RootCAs != nil {
		transport.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // a redirect is an answer, and not a 2xx one
		},
	}
}

// Refused reports whether err is a connection the dial-time check refused.
func Refused(err error) bool {
	return errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedPort) || errors.Is(err, ssrf.ErrProhibitedNetwork)
}

// Request is one attempt to deliver a webhook.
type Request struct {
	URL       string
	WebhookID string
	Event     string
	Attempt   int
	Body      []byte
	Secrets   []string
}

// Send makes one attempt. It never panics on a bad destination: every problem is in Result.Err.
func (s *Sender) Send(ctx context.Context, r Request) webhook.Result {
	start := s.now()
	res := s.send(ctx, r, start)
	res.Duration = s.now().Sub(start)
	return res
}

func (s *Sender) send(ctx context.Context, r Request, now time.Time) webhook.Result {
	if err := webhook.ValidateURL("url", r.URL, s.allowHTTP); err != nil {
		return webhook.Result{Err: errors.New(webhook.ErrorMessage(err))}
	}
	sig, err := webhook.Sign(r.Secrets, r.WebhookID, now, r.Body)
	if err != nil {
		return webhook.Result{Err: err}
	}
	var written atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(w httptrace.WroteRequestInfo) {
		if w.Err == nil {
			written.Store(true)
		}
	}})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return webhook.Result{Err: fmt.Errorf("build request: %w", err)}
	}
	sent := &webhook.Sent{Timestamp: now.Unix(), Signature: sig, Attempt: r.Attempt}
	for _, h := range webhook.RequestHeaders(r.WebhookID, r.Event, *sent) {
		req.Header.Set(h.Name, h.Value)
	}

	resp, err := s.client.Do(req)
	if err != nil {
		return webhook.Result{Err: describe(err), Sent: sent, Unwritten: !written.Load()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, webhook.MaxResponseBytes+1))
	res := webhook.Result{StatusCode: resp.StatusCode, Body: body, Sent: sent}
	if err != nil && (resp.StatusCode < 200 || resp.StatusCode >= 300) {
		res.Err = fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		res.RetryAfter = webhook.ParseRetryAfter(resp.Header.Get("Retry-After"), s.now())
	}
	return res
}

// describe turns a transport error into the text a customer reads in the log.
func describe(err error) error {
	var urlErr interface{ Unwrap() error }
	switch {
	case Refused(err):
		var opErr *net.OpError
		if errors.As(err, &opErr) && opErr.Err != nil {
			return fmt.Errorf("destination refused: %w", opErr.Err)
		}
		return fmt.Errorf("destination refused: %w", err)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return errTimeout
	case errors.As(err, &urlErr):
		return urlErr.Unwrap()
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
