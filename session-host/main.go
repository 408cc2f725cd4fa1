// Command session-host is the long-running ECS service that keeps WhatsApp accounts connected
// and puts what happens on them on the events queue. See the host package for what it does;
// this file only wires it. Configuration: see host.LoadConfig.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/session-host/host"
	"github.com/wagate/wagate/session-host/lease"
	"github.com/wagate/wagate/shared/env"
	"github.com/wagate/wagate/shared/store"
)

func main() {
	healthcheck := flag.Bool("healthcheck", false, "check the running host's health endpoint and exit 0 when healthy (the container's HEALTHCHECK)")
	flag.Parse()
	cfg, err := host.LoadConfig(env.New(os.Getenv))
	if err != nil {
		log.Fatalf("configuration: %v", err)
	}
	if *healthcheck {
		os.Exit(checkHealth(cfg.HealthAddr))
	}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil)).With("host", cfg.HostID)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatalf("aws config: %v", err)
	}
	instances := store.NewInstanceStore(dynamodb.NewFromConfig(awsCfg), cfg.InstancesTable)
	m, err := host.NewMain(ctx, cfg, awsCfg, logger, func(s *host.Sessions) (host.Leases, error) {
		return lease.New(lease.Config{
			Owner: cfg.HostID, Store: instances, Sessions: s, Capacity: cfg.Capacity,
			Interval: cfg.LeaseInterval, TTL: cfg.LeaseTTL, Logger: logger,
		})
	})
	if err != nil {
		log.Fatalf("start: %v", err)
	}
	if err := m.Run(ctx); err != nil {
		logger.Error("session host stopped", "error", err)
	}
	logger.Info("shutting down: flushing events and releasing leases")
	if err := m.Close(); err != nil {
		logger.Error("shutdown", "error", err)
		os.Exit(1)
	}
}

// checkHealth asks the health endpoint at addr, as the container's health check.
func checkHealth(addr string) int {
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
