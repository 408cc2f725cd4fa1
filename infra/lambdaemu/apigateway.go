package lambdaemu

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// maxPayload is API Gateway's limit on a request body.
const maxPayload = 10 << 20

// route is one resource and method API Gateway serves, and the handler behind it.
type route struct {
	method   string
	resource string
	segments []string
	public   bool // served without an API key
	handler  func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)
}

// APIGateway emulates API Gateway's REST API with proxy integrations: it checks the API key,
// matches the path against the declared resources, and hands the handler the same
// events.APIGatewayProxyRequest API Gateway would.
type APIGateway struct {
	routes []route
	keys   []string
	stage  string
}

// NewAPIGateway returns a gateway that accepts keys and names its stage stage in the events.
func NewAPIGateway(keys []string, stage string) *APIGateway {
	return &APIGateway{keys: keys, stage: stage}
}

// Add declares a resource (with {parameters}) and method, served by h to requests with a key.
func (g *APIGateway) Add(method, resource string, h func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)) {
	g.routes = append(g.routes, route{method: method, resource: resource, segments: strings.Split(strings.Trim(resource, "/"), "/"), handler: h})
}

// AddPublic declares a resource and method served without an API key (ApiKeyRequired false).
func (g *APIGateway) AddPublic(method, resource string, h func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)) {
	g.Add(method, resource, h)
	g.routes[len(g.routes)-1].public = true
}

// match finds the route for a method and path, with the path's parameters.
func (g *APIGateway) match(method, path string) (*route, map[string]string) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	// As API Gateway: the path selects one resource, the most specific (a literal segment
	// beats a {parameter} in the first place they differ), and then the method; a method the
	// resource lacks is not looked for on a less specific one (GET /contacts/check is not
	// GET /contacts/{jid}).
	var best []string
	for i := range g.routes {
		rt := &g.routes[i]
		if _, ok := matchSegments(rt.segments, parts); ok && (best == nil || moreSpecific(rt.segments, best)) {
			best = rt.segments
		}
	}
	for i := range g.routes {
		rt := &g.routes[i]
		if rt.method == method && slices.Equal(rt.segments, best) {
			params, _ := matchSegments(rt.segments, parts)
			return rt, params
		}
	}
	return nil, nil
}

// moreSpecific reports whether resource a is more specific than b, of the same length: a
// literal segment where b has a parameter, in the first place they differ.
func moreSpecific(a, b []string) bool {
	for i := range a {
		ap, bp := strings.HasPrefix(a[i], "{"), strings.HasPrefix(b[i], "{")
		if ap != bp {
			return bp
		}
	}
	return false
}

func matchSegments(pattern, parts []string) (map[string]string, bool) {
	if len(pattern) != len(parts) {
		return nil, false
	}
	var params map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if parts[i] == "" {
				return nil, false
			}
			v, err := url.PathUnescape(parts[i])
			if err != nil {
				return nil, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[p[1:len(p)-1]] = v
			continue
		}
		if p != parts[i] {
			return nil, false
		}
	}
	return params, true
}

func (g *APIGateway) validKey(k string) bool {
	ok := false
	for _, key := range g.keys {
		ok = ok || subtle.ConstantTimeCompare([]byte(k), []byte(key)) == 1
	}
	return ok && k != ""
}

func gatewayAnswer(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", "ForbiddenException")
	w.WriteHeader(status)
	io.WriteString(w, `{"message":"`+message+`"}`)
}

func (g *APIGateway) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rt, params := g.match(req.Method, req.URL.EscapedPath())
	if rt == nil {
		// API Gateway answers an undeclared resource or method like a missing key.
		gatewayAnswer(w, http.StatusForbidden, "Missing Authentication Token")
		return
	}
	key := req.Header.Get("X-API-Key")
	if !rt.public && !g.validKey(key) {
		gatewayAnswer(w, http.StatusForbidden, "Forbidden")
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxPayload+1))
	if err != nil {
		gatewayAnswer(w, http.StatusBadRequest, "Could not read the request body")
		return
	}
	if len(body) > maxPayload {
		gatewayAnswer(w, http.StatusRequestEntityTooLarge, "Request Too Long")
		return
	}
	ev := g.event(req, rt, params, body, key)
	resp, err := rt.handler(req.Context(), ev)
	if err != nil {
		// Lambda's own failure, as API Gateway reports it.
		gatewayAnswer(w, http.StatusBadGateway, "Internal server error")
		return
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			gatewayAnswer(w, http.StatusBadGateway, "Internal server error")
			return
		}
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(out)
}

// event builds the proxy integration's input for a request.
func (g *APIGateway) event(req *http.Request, rt *route, params map[string]string, body []byte, key string) events.APIGatewayProxyRequest {
	headers, multiHeaders := map[string]string{}, map[string][]string{}
	for k, vs := range req.Header {
		headers[k] = vs[len(vs)-1]
		multiHeaders[k] = vs
	}
	var query map[string]string
	var multiQuery map[string][]string
	if q := req.URL.Query(); len(q) > 0 {
		query, multiQuery = map[string]string{}, map[string][]string{}
		for k, vs := range q {
			query[k] = vs[len(vs)-1]
			multiQuery[k] = vs
		}
	}
	host, _, _ := net.SplitHostPort(req.RemoteAddr)
	ev := events.APIGatewayProxyRequest{
		Resource: rt.resource, Path: req.URL.Path, HTTPMethod: req.Method,
		Headers: headers, MultiValueHeaders: multiHeaders,
		QueryStringParameters: query, MultiValueQueryStringParameters: multiQuery,
		PathParameters: params,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: "000000000000", ResourceID: rt.resource, Stage: g.stage,
			RequestID: requestID(), ResourcePath: rt.resource, HTTPMethod: req.Method,
			APIID: "local", Path: "/" + g.stage + req.URL.Path,
			RequestTimeEpoch: time.Now().UnixMilli(),
			Identity:         events.APIGatewayRequestIdentity{APIKey: key, SourceIP: host, UserAgent: req.UserAgent()},
		},
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return ev
}

func requestID() string { return strings.ToLower(rand.Text()) }
