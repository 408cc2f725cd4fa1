// Package apigw serves the management API from API Gateway REST proxy events: it routes a
// request to its handler, decodes and validates input into coded errors that name the field,
// and writes every answer, success or error, in the API's one envelope. Error codes map to
// HTTP statuses here and nowhere else.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/shared/webhook"
)

// MaxBodyBytes is the largest request body the API reads.
const MaxBodyBytes = 256 * 1024

// statusOf maps an error code to its HTTP status.
func statusOf(code string) int {
	switch code {
	case webhook.EInvalid:
		return http.StatusBadRequest
	case webhook.ENotFound:
		return http.StatusNotFound
	case webhook.EConflict:
		return http.StatusConflict
	case webhook.EPayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case webhook.EUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Request is one API request, with helpers that turn bad input into coded errors.
type Request struct {
	events.APIGatewayProxyRequest
	body []byte
}

// Response is what a handler answers: a status (200 when 0), the value of "data", and any
// other top-level fields (such as "pagination").
type Response struct {
	Status int
	Data   any
	Extra  map[string]any
	// Binary, when set, is the whole answer instead of the JSON envelope, sent base64-encoded
	// as API Gateway's binary media types require, with ContentType.
	Binary      []byte
	ContentType string
	// Location, when set, makes the answer a redirect there (302 when Status is 0), with no
	// body and not to be cached.
	Location string
	// Text, when set, is the whole answer instead of the JSON envelope, sent as it is (a web
	// page, a script, a style sheet), with ContentType.
	Text string
	// Headers are added to the answer (caching, Content-Security-Policy).
	Headers map[string]string
}

// HandlerFunc handles one route.
type HandlerFunc func(ctx context.Context, r *Request) (Response, error)

// Route is a method and an API Gateway resource path such as /api/webhook/logs/{webhookId}.
type Route struct {
	Method   string
	Resource string
}

// Router dispatches by the request's method and resource.
type Router struct {
	routes map[Route]HandlerFunc
	logger *slog.Logger
}

// NewRouter returns an empty router that logs internal errors to logger.
func NewRouter(logger *slog.Logger) *Router {
	return &Router{routes: map[Route]HandlerFunc{}, logger: logger}
}

// Handle adds a route.
func (rt *Router) Handle(method, resource string, h HandlerFunc) {
	rt.routes[Route{method, resource}] = h
}

// Routes lists the routes served.
func (rt *Router) Routes() []Route {
	out := make([]Route, 0, len(rt.routes))
	for r := range rt.routes {
		out = append(out, r)
	}
	return out
}

// Serve is the Lambda handler: it never returns an error, so API Gateway always gets the
// API's own answer, and a panic in a handler becomes a 500 with no internals in it.
func (rt *Router) Serve(ctx context.Context, ev events.APIGatewayProxyRequest) (resp events.APIGatewayProxyResponse, err error) {
	defer func() {
		if p := recover(); p != nil {
			rt.logger.ErrorContext(ctx, "handler panic", "panic", p, "stack", string(debug.Stack()), "path", ev.Path)
			resp = rt.errorResponse(ctx, errors.New("panic"))
			err = nil
		}
	}()
	h, ok := rt.routes[Route{ev.HTTPMethod, ev.Resource}]
	if !ok {
		return rt.errorResponse(ctx, webhook.Errorf(webhook.ENotFound, "no route for %s %s", ev.HTTPMethod, ev.Path)), nil
	}
	req := &Request{APIGatewayProxyRequest: ev}
	body, err := decodeBody(ev)
	if err != nil {
		return rt.errorResponse(ctx, err), nil
	}
	req.body = body
	out, err := h(ctx, req)
	if err != nil {
		return rt.errorResponse(ctx, err), nil
	}
	status := out.Status
	if out.Location != "" {
		if status == 0 {
			status = http.StatusFound
		}
		return events.APIGatewayProxyResponse{StatusCode: status, Headers: map[string]string{"Location": out.Location, "Cache-Control": "no-store"}}, nil
	}
	if status == 0 {
		status = http.StatusOK
	}
	if out.Binary != nil {
		return withHeaders(events.APIGatewayProxyResponse{
			StatusCode: status, Headers: map[string]string{"Content-Type": out.ContentType},
			Body: base64.StdEncoding.EncodeToString(out.Binary), IsBase64Encoded: true,
		}, out.Headers), nil
	}
	if out.Text != "" {
		return withHeaders(events.APIGatewayProxyResponse{
			StatusCode: status, Headers: map[string]string{"Content-Type": out.ContentType}, Body: out.Text,
		}, out.Headers), nil
	}
	payload := map[string]any{"success": true, "data": out.Data}
	for k, v := range out.Extra {
		payload[k] = v
	}
	return withHeaders(write(status, payload), out.Headers), nil
}

// withHeaders adds h to the answer's headers.
func withHeaders(resp events.APIGatewayProxyResponse, h map[string]string) events.APIGatewayProxyResponse {
	for k, v := range h {
		resp.Headers[k] = v
	}
	return resp
}

func (rt *Router) errorResponse(ctx context.Context, err error) events.APIGatewayProxyResponse {
	code := webhook.ErrorCode(err)
	if code == webhook.EInternal {
		rt.logger.ErrorContext(ctx, "internal error", "error", err)
	}
	resp := write(statusOf(code), envelopeError(code, webhook.ErrorMessage(err)))
	if code == webhook.EUnavailable {
		// Every 503 says when to try again: the error's own time, else a second.
		secs := max(int64((webhook.RetryAfter(err)+time.Second-1)/time.Second), 1)
		resp.Headers["Retry-After"] = strconv.FormatInt(secs, 10)
	}
	return resp
}

func envelopeError(code, message string) map[string]any {
	return map[string]any{"success": false, "error": map[string]string{"code": code, "message": message}}
}

func write(status int, payload any) events.APIGatewayProxyResponse {
	b, err := json.Marshal(payload)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"success":false,"error":{"code":"internal","message":"An internal error occurred."}}`)
	}
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}

func decodeBody(ev events.APIGatewayProxyRequest) ([]byte, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, webhook.Errorf(webhook.EInvalid, "body: not valid base64")
		}
	}
	if len(body) > MaxBodyBytes {
		return nil, webhook.Errorf(webhook.EPayloadTooLarge, "body: larger than %d bytes", MaxBodyBytes)
	}
	return body, nil
}

// RawBody returns the request's body as sent, decoded from base64 when API Gateway encoded
// it, for handlers that decode it more strictly than Decode does.
func (r *Request) RawBody() []byte { return r.body }

// HasBody reports whether the request carries a body. A body of only white space is one,
// and Decode refuses it: it is not a JSON document.
func (r *Request) HasBody() bool { return len(r.body) > 0 }

// Decode reads the JSON body into v. Unknown fields, trailing data and wrong types are
// invalid_request errors that name the field; no body at all leaves v as it is.
//
// A body that is null is refused. When v points to a struct, a field given as null is
// refused too, naming it, unless its
// struct field is tagged `api:"nullable"`: encoding/json would otherwise take null for a
// field left out, and accept what the API's description says is not a value of the field.
func (r *Request) Decode(v any) error {
	if !r.HasBody() {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return webhook.Errorf(webhook.EInvalid, "body: must hold one JSON object and nothing after it")
	}
	return refuseNulls(r.body, v)
}

// refuseNulls refuses a body that is null, and returns an error naming the first field, in
// the body's order, that is null where v's struct does not allow it. Objects decoded into a
// struct field (sendPace) are checked alike, their fields named by path (sendPace.typing).
func refuseNulls(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err == nil && tok == nil {
		return webhook.Errorf(webhook.EInvalid, "body: must be a JSON object, not null")
	}
	rv := reflect.ValueOf(v)
	if err != nil || tok != json.Delim('{') || rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return nil
	}
	return nullField(body, rv.Elem().Type(), "")
}

// nullField returns the error for the first field of object that is null where struct t does
// not allow it, searching the objects of struct fields too; path names object's place.
func nullField(object []byte, t reflect.Type, path string) error {
	dec := json.NewDecoder(bytes.NewReader(object))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil
		}
		f, ok := fieldFor(t, key)
		if !ok {
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		name := key
		if path != "" {
			name = path + "." + key
		}
		if string(raw) == "null" {
			if f.Tag.Get("api") != "nullable" {
				return webhook.Errorf(webhook.EInvalid, "%s: must be %s, not null", name, jsonType(ft.Kind().String()))
			}
			continue
		}
		if ft.Kind() == reflect.Struct && len(raw) > 0 && raw[0] == '{' {
			if err := nullField(raw, ft, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldFor finds the struct field encoding/json decodes key into: the one whose name matches
// exactly, else the first that matches without regard to case.
func fieldFor(t reflect.Type, key string) (reflect.StructField, bool) {
	var fold *reflect.StructField
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if fold == nil && strings.EqualFold(name, key) {
			fold = &f
		}
	}
	if fold != nil {
		return *fold, true
	}
	return reflect.StructField{}, false
}

func bodyError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return webhook.Errorf(webhook.EInvalid, "body: must be a JSON object")
		}
		return webhook.Errorf(webhook.EInvalid, "%s: must be %s", field, jsonType(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return webhook.Errorf(webhook.EInvalid, "body: malformed JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return webhook.Errorf(webhook.EInvalid, "%s: unknown field", strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`))
	}
	var fieldErr *webhook.Error
	if errors.As(err, &fieldErr) {
		return fieldErr
	}
	return webhook.Errorf(webhook.EInvalid, "body: %s", err.Error())
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "float32", "float64":
		return "a number"
	}
	return "of another type"
}

// Header returns a request header, whatever its case.
func (r *Request) Header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// HeaderGiven returns a request header, whatever its case, and whether it was given at all:
// a header given empty is not one left out.
func (r *Request) HeaderGiven(name string) (string, bool) {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// Param returns a path parameter.
func (r *Request) Param(name string) string { return r.PathParameters[name] }

// Query returns a query-string value, "" when absent. A parameter given more than once, or
// given with an empty value (`?name=`), is an error naming it: no parameter of the API has a
// meaning for "", and taking it for absent would widen a filter the client meant to set.
func (r *Request) Query(name string) (string, error) {
	if vs := r.MultiValueQueryStringParameters[name]; len(vs) > 1 {
		return "", webhook.Errorf(webhook.EInvalid, "%s: given more than once", name)
	}
	v, ok := r.QueryStringParameters[name]
	if ok && v == "" {
		return "", webhook.Errorf(webhook.EInvalid, "%s: empty; give a value or leave the parameter out", name)
	}
	return v, nil
}

// QueryInt returns an integer query parameter within [lo, hi], def when absent.
func (r *Request) QueryInt(name string, def, lo, hi int) (int, error) {
	v, err := r.Query(name)
	if err != nil || v == "" {
		return def, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, webhook.Errorf(webhook.EInvalid, "%s: must be a whole number from %d to %d", name, lo, hi)
	}
	return n, nil
}

// QueryBool returns a boolean query parameter, false when absent.
func (r *Request) QueryBool(name string) (bool, error) {
	v, err := r.Query(name)
	if err != nil || v == "" {
		return false, err
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, webhook.Errorf(webhook.EInvalid, "%s: must be true or false", name)
	}
	return b, nil
}

// Integer is a whole number read from a JSON body as JSON Schema reads an "integer": any JSON
// number whose value is whole, so 30, 30.0 and 3e1 are all 30. encoding/json takes only the
// first spelling into an int. Anything else is an error naming the field.
type Integer int64

// UnmarshalJSON reads a JSON number with a whole value that fits in an int64.
func (n *Integer) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil // refused by Decode unless the field is nullable
	}
	notWhole := &json.UnmarshalTypeError{Value: "number " + string(b), Type: reflect.TypeFor[int64]()}
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		notWhole.Value = "non-number"
		return notWhole
	}
	var num json.Number
	if err := json.Unmarshal(b, &num); err != nil {
		return notWhole
	}
	if i, err := num.Int64(); err == nil {
		*n = Integer(i)
		return nil
	}
	f, ok := new(big.Float).SetString(num.String())
	if !ok || !f.IsInt() {
		return notWhole
	}
	i, acc := f.Int64()
	if acc != big.Exact {
		return notWhole
	}
	*n = Integer(i)
	return nil
}
