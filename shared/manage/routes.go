package manage

import (
	"io"
	"log/slog"

	"github.com/wagate/wagate/shared/apigw"
)

// Routes lists every route of the management API, across all its functions. The OpenAPI file
// and template.yaml are checked against it.
func Routes() []apigw.Route {
	r := apigw.NewRouter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	w := NewWebhookAPI(WebhookDeps{})
	w.RegisterTest(r)
	w.RegisterLogs(r)
	w.RegisterRetry(r)
	w.RegisterStats(r)
	w.RegisterClear(r)
	NewInstanceAPI(InstanceDeps{}).Register(r)
	return r.Routes()
}
