package manage

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/wagate/wagate/shared/apigw"
)

// NewWebhookRouter builds what a webhook function serves: settings read through getenv, AWS
// clients from the default config, and the routes each register adds, e.g.
// (*WebhookAPI).RegisterLogs.
func NewWebhookRouter(ctx context.Context, getenv func(string) string, logger *slog.Logger, register ...func(*WebhookAPI, *apigw.Router)) (*apigw.Router, error) {
	api, err := NewWebhookAPIFromEnv(ctx, getenv)
	if err != nil {
		return nil, err
	}
	router := apigw.NewRouter(logger)
	for _, r := range register {
		r(api, router)
	}
	return router, nil
}

// NewWebhookAPIFromEnv wires a WebhookAPI from settings read through getenv and AWS's default
// config.
func NewWebhookAPIFromEnv(ctx context.Context, getenv func(string) string) (*WebhookAPI, error) {
	settings, err := LoadSettings(getenv)
	if err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	return NewWebhookAPIFromConfig(cfg, settings), nil
}
