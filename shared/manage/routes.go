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
	RegisterAll(r, NewWebhookAPI(WebhookDeps{}), NewInstanceAPI(InstanceDeps{}))
	return r.Routes()
}

// RegisterAll adds every route of the management API to r, for a server that runs them all
// in one process (the local stack).
func RegisterAll(r *apigw.Router, w *WebhookAPI, in *InstanceAPI) {
	w.RegisterTest(r)
	w.RegisterLogs(r)
	w.RegisterRetry(r)
	w.RegisterStats(r)
	w.RegisterClear(r)
	in.Register(r)
}
