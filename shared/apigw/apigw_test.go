package apigw

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/shared/webhook"
)

type createInput struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
	On    bool     `json:"on"`
	Ref   *string  `json:"ref"`
	Note  *string  `json:"note" api:"nullable"`
	Days  *Integer `json:"days"`
}

func testRouter() *Router {
	rt := NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	rt.Handle(http.MethodPost, "/api/thing", func(_ context.Context, r *Request) (Response, error) {
		var in createInput
		if err := r.Decode(&in); err != nil {
			return Response{}, err
		}
		return Response{Status: http.StatusCreated, Data: in}, nil
	})
	rt.Handle(http.MethodGet, "/api/thing/{id}", func(_ context.Context, r *Request) (Response, error) {
		limit, err := r.QueryInt("limit", 50, 1, 100)
		if err != nil {
			return Response{}, err
		}
		switch r.Param("id") {
		case "boom":
			return Response{}, errors.New("dynamodb: table wagate-secret-name is on fire")
		case "panic":
			panic("oh no")
		case "missing":
			return Response{}, webhook.Errorf(webhook.ENotFound, "thing missing not found")
		}
		return Response{Data: r.Param("id"), Extra: map[string]any{"pagination": map[string]int{"limit": limit}}}, nil
	})
	return rt
}

func TestServe(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		resource   string
		id         string
		query      map[string]string
		multi      map[string][]string
		body       string
		wantStatus int
		wantCode   string
		wantInMsg  string
		wantData   string // in the answer's data
	}{
		{name: "created", method: "POST", resource: "/api/thing", body: `{"name":"a","count":2,"tags":["x"],"on":true}`, wantStatus: 201},
		{name: "empty body", method: "POST", resource: "/api/thing", wantStatus: 201},
		{name: "blank body", method: "POST", resource: "/api/thing", body: "\n", wantStatus: 400, wantInMsg: "body: malformed JSON"},
		{name: "spaces", method: "POST", resource: "/api/thing", body: "  \t ", wantStatus: 400, wantInMsg: "body: malformed JSON"},
		{name: "malformed", method: "POST", resource: "/api/thing", body: `{"name":`, wantStatus: 400, wantCode: "invalid_request", wantInMsg: "body: malformed JSON"},
		{name: "wrong type", method: "POST", resource: "/api/thing", body: `{"count":"two"}`, wantStatus: 400, wantCode: "invalid_request", wantInMsg: "count: must be a whole number"},
		{name: "wrong type bool", method: "POST", resource: "/api/thing", body: `{"on":"yes"}`, wantStatus: 400, wantInMsg: "on: must be true or false"},
		{name: "array not object", method: "POST", resource: "/api/thing", body: `[1,2]`, wantStatus: 400, wantInMsg: "body: must be a JSON object"},
		{name: "unknown field", method: "POST", resource: "/api/thing", body: `{"nmae":"a"}`, wantStatus: 400, wantInMsg: "nmae: unknown field"},
		{name: "trailing data", method: "POST", resource: "/api/thing", body: `{"name":"a"} {}`, wantStatus: 400, wantInMsg: "body:"},
		{name: "null string", method: "POST", resource: "/api/thing", body: `{"name":null}`, wantStatus: 400, wantCode: "invalid_request", wantInMsg: "name: must be a string, not null"},
		{name: "null number", method: "POST", resource: "/api/thing", body: `{"name":"a","count":null}`, wantStatus: 400, wantInMsg: "count: must be a whole number, not null"},
		{name: "null pointer", method: "POST", resource: "/api/thing", body: `{"ref":null}`, wantStatus: 400, wantInMsg: "ref: must be a string, not null"},
		{name: "null array", method: "POST", resource: "/api/thing", body: `{"tags":null}`, wantStatus: 400, wantInMsg: "tags: must be an array, not null"},
		{name: "null in another case", method: "POST", resource: "/api/thing", body: `{"NAME":null}`, wantStatus: 400, wantInMsg: "NAME: must be a string, not null"},
		{name: "null where nullable", method: "POST", resource: "/api/thing", body: `{"note":null}`, wantStatus: 201},
		{name: "null body", method: "POST", resource: "/api/thing", body: `null`, wantStatus: 400, wantInMsg: "body: must be a JSON object"},
		{name: "integer", method: "POST", resource: "/api/thing", body: `{"days":30}`, wantStatus: 201, wantData: `"days":30`},
		{name: "integer with a fraction of zero", method: "POST", resource: "/api/thing", body: `{"days":3186.0}`, wantStatus: 201, wantData: `"days":3186`},
		{name: "integer with an exponent", method: "POST", resource: "/api/thing", body: `{"days":3e1}`, wantStatus: 201, wantData: `"days":30`},
		{name: "integer negative", method: "POST", resource: "/api/thing", body: `{"days":-2.00}`, wantStatus: 201, wantData: `"days":-2`},
		{name: "integer with a fraction", method: "POST", resource: "/api/thing", body: `{"days":1.5}`, wantStatus: 400, wantInMsg: "days: must be a whole number"},
		{name: "integer too large", method: "POST", resource: "/api/thing", body: `{"days":1e19}`, wantStatus: 400, wantInMsg: "days: must be a whole number"},
		{name: "integer huge exponent", method: "POST", resource: "/api/thing", body: `{"days":1e999999999}`, wantStatus: 400, wantInMsg: "days: must be a whole number"},
		{name: "integer as a string", method: "POST", resource: "/api/thing", body: `{"days":"30"}`, wantStatus: 400, wantInMsg: "days: must be a whole number"},
		{name: "integer as a bool", method: "POST", resource: "/api/thing", body: `{"days":true}`, wantStatus: 400, wantInMsg: "days: must be a whole number"},
		{name: "integer null", method: "POST", resource: "/api/thing", body: `{"days":null}`, wantStatus: 400, wantInMsg: "days: must be a whole number, not null"},
		{name: "too large", method: "POST", resource: "/api/thing", body: `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, wantStatus: 413, wantCode: "payload_too_large"},
		{name: "ok with pagination", method: "GET", resource: "/api/thing/{id}", id: "abc", wantStatus: 200},
		{name: "bad limit", method: "GET", resource: "/api/thing/{id}", id: "abc", query: map[string]string{"limit": "0"}, wantStatus: 400, wantInMsg: "limit: must be a whole number from 1 to 100"},
		{name: "empty param", method: "GET", resource: "/api/thing/{id}", id: "abc", query: map[string]string{"limit": ""}, wantStatus: 400, wantInMsg: "limit: empty"},
		{name: "repeated param", method: "GET", resource: "/api/thing/{id}", id: "abc", query: map[string]string{"limit": "5"}, multi: map[string][]string{"limit": {"5", "6"}}, wantStatus: 400, wantInMsg: "limit: given more than once"},
		{name: "not found", method: "GET", resource: "/api/thing/{id}", id: "missing", wantStatus: 404, wantCode: "not_found"},
		{name: "internal hides details", method: "GET", resource: "/api/thing/{id}", id: "boom", wantStatus: 500, wantCode: "internal", wantInMsg: "An internal error occurred."},
		{name: "panic is a 500", method: "GET", resource: "/api/thing/{id}", id: "panic", wantStatus: 500, wantCode: "internal"},
		{name: "no route", method: "DELETE", resource: "/api/thing/{id}", id: "abc", wantStatus: 404, wantCode: "not_found"},
	}
	rt := testRouter()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := rt.Serve(context.Background(), events.APIGatewayProxyRequest{
				HTTPMethod: tt.method, Resource: tt.resource, Path: strings.Replace(tt.resource, "{id}", tt.id, 1),
				PathParameters: map[string]string{"id": tt.id}, QueryStringParameters: tt.query,
				MultiValueQueryStringParameters: tt.multi, Body: tt.body,
			})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.wantStatus, resp.Body)
			}
			var body struct {
				Success bool
				Data    json.RawMessage
				Error   struct{ Code, Message string }
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body %q: %v", resp.Body, err)
			}
			if body.Success != (tt.wantStatus < 300) {
				t.Fatalf("success %v for status %d", body.Success, resp.StatusCode)
			}
			if tt.wantCode != "" && body.Error.Code != tt.wantCode {
				t.Fatalf("code %q, want %q", body.Error.Code, tt.wantCode)
			}
			if tt.wantData != "" && !strings.Contains(string(body.Data), tt.wantData) {
				t.Fatalf("data %s lacks %s", body.Data, tt.wantData)
			}
			if tt.wantInMsg != "" && !strings.Contains(body.Error.Message, tt.wantInMsg) {
				t.Fatalf("message %q lacks %q", body.Error.Message, tt.wantInMsg)
			}
			if strings.Contains(resp.Body, "on fire") || strings.Contains(resp.Body, "oh no") {
				t.Fatalf("internals leaked: %s", resp.Body)
			}
		})
	}
}

func TestCursors(t *testing.T) {
	c := NewCursors([]byte("k1"))
	type state struct{ Instance, Before string }
	tok, err := c.Seal(state{"inst_1", "wh_X"})
	if err != nil {
		t.Fatal(err)
	}
	var got state
	if err := c.Open("cursor", tok, &got); err != nil || got != (state{"inst_1", "wh_X"}) {
		t.Fatalf("open: %v %+v", err, got)
	}
	data, _, _ := strings.Cut(tok, ".")
	forged := []string{"", "abc", tok + "x", "e30." + strings.Split(tok, ".")[1], data + ".AAAA"}
	if other, err := NewCursors([]byte("k2")).Seal(state{"inst_1", "wh_X"}); err == nil {
		forged = append(forged, other)
	}
	for _, f := range forged {
		if err := c.Open("cursor", f, &got); webhook.ErrorCode(err) != webhook.EInvalid || !strings.HasPrefix(webhook.ErrorMessage(err), "cursor: ") {
			t.Errorf("Open(%q) = %v", f, err)
		}
	}
}
