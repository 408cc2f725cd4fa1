package lambdaemu

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// TestResourceBeforeMethod: as API Gateway, a path selects its most specific resource, then
// the method; a method that resource lacks is a 403, not the method of a less specific one.
func TestResourceBeforeMethod(t *testing.T) {
	g := NewAPIGateway([]string{"key"}, "v1")
	for _, r := range []struct{ method, resource string }{
		{"POST", "/api/instance/{instanceId}/contacts/check"},
		{"GET", "/api/instance/{instanceId}/contacts/{jid}"},
		{"GET", "/api/instance/{instanceId}"},
	} {
		g.Add(r.method, r.resource, func(_ context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
			return events.APIGatewayProxyResponse{StatusCode: 200, Body: ev.Resource}, nil
		})
	}
	for _, tt := range []struct {
		name, method, path string
		status             int
		resource           string
	}{
		{"the literal resource", "POST", "/api/instance/a/contacts/check", 200, "/api/instance/{instanceId}/contacts/check"},
		{"a method the literal resource lacks", "GET", "/api/instance/a/contacts/check", 403, ""},
		{"the parameter's resource", "GET", "/api/instance/a/contacts/6281234567890", 200, "/api/instance/{instanceId}/contacts/{jid}"},
		{"a method no resource has", "DELETE", "/api/instance/a", 403, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			req.Header.Set("X-API-Key", "key")
			w := httptest.NewRecorder()
			g.ServeHTTP(w, req)
			if w.Code != tt.status || (tt.status == http.StatusOK && w.Body.String() != tt.resource) {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Body, tt.status, tt.resource)
			}
		})
	}
}
