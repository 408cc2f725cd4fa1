package apigw

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/shared/webhook"
)

// TestRetryAfterHeader checks that every 503 carries Retry-After: the error's own, rounded up
// to whole seconds, else one second.
func TestRetryAfterHeader(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after time.Duration
		want  string
	}{
		{"none given", 0, "1"},
		{"under a second", 300 * time.Millisecond, "1"},
		{"rounded up", 2100 * time.Millisecond, "3"},
		{"whole", 7 * time.Second, "7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rt := NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
			rt.Handle("GET", "/x", func(context.Context, *Request) (Response, error) {
				return Response{}, &webhook.Error{Code: webhook.EUnavailable, Message: "busy", RetryAfter: tt.after}
			})
			resp, _ := rt.Serve(context.Background(), events.APIGatewayProxyRequest{HTTPMethod: "GET", Resource: "/x"})
			if resp.StatusCode != 503 || resp.Headers["Retry-After"] != tt.want {
				t.Fatalf("got %d %v", resp.StatusCode, resp.Headers)
			}
		})
	}
}
