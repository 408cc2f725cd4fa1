package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/sync/semaphore"

	"github.com/wagate/wagate/session-host/sender"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/media"
	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
)

// Leases decides which instances this host runs: Run holds leases and starts and stops
// sessions until its context ends; Release gives every lease back.
type Leases interface {
	Run(ctx context.Context) error
	Release(ctx context.Context) error
}

// Main is the session host: the health endpoint, the leases, the sessions they start, and
// the batcher every session's events go through.
type Main struct {
	Config   Config
	logger   *slog.Logger
	health   *http.Server
	listener net.Listener
	ready    atomic.Bool
	devices  Devices
	batcher  *queue.Batcher
	Sessions *Sessions
	leases   Leases
	pairing  *PairingWatcher
	work     *WorkWatcher
	metrics  *metrics.Emitter
}

// metricsInterval is how often the host reports its sessions. Each host reports once per
// interval without a host dimension, so a one-minute Sum is the count over every host.
const metricsInterval = time.Minute

// NewMain builds the host from its configuration. newLeases builds the lease manager over the
// sessions it must start and stop.
func NewMain(ctx context.Context, cfg Config, awsCfg aws.Config, logger *slog.Logger,
	newLeases func(*Sessions) (Leases, error)) (*Main, error) {
	devices, err := openDevices(ctx, cfg, awsCfg, logger)
	if err != nil {
		return nil, err
	}
	// Embedded Metric Format lines on stdout, which the task's log group turns into metrics.
	m := &Main{Config: cfg, logger: logger, devices: devices, metrics: metrics.NewEmitter(os.Stdout, "wagate")}
	m.batcher = queue.NewBatcher(queue.NewPublisher(sqs.NewFromConfig(awsCfg), cfg.QueueURL), cfg.Linger)
	db := dynamodb.NewFromConfig(awsCfg)
	instances := store.NewInstanceStore(db, cfg.InstancesTable)
	messages := store.NewOutboxStore(db, cfg.OutboxTable, cfg.InstancesTable, cfg.Retention)
	m.Sessions = NewSessions(devices, instances, m.batcher, logger)
	var uploads sender.Uploads
	if mc := cfg.Media; mc.Bucket != "" {
		bucket := store.NewMediaBucket(s3.NewFromConfig(awsCfg), mc.Bucket)
		uploads = bucket
		m.Sessions.UseMedia(Media{
			Bucket: bucket, Links: media.NewLinks(mc.LinkKey, mc.LinkBase, mc.LinkTTL),
			MaxBytes: mc.MaxBytes, Timeout: mc.Timeout, Logger: logger, Backoff: []time.Duration{time.Second, 2 * time.Second},
		})
	}
	m.Sessions.UseOutbox(Outbox{
		Store: messages, Paces: instancePaces{instances}, Uploads: uploads,
		Media:       sender.NewLinkFetcher(deliver.SenderOptions{Timeout: 30 * time.Second, AllowedPrefixes: cfg.MediaAllow, RootCAs: cfg.MediaRootCAs}),
		MediaBudget: semaphore.NewWeighted(sender.MediaBudget),
	})
	m.pairing = NewPairingWatcher(cfg.HostID, instances, m.Sessions, time.Second, logger)
	m.work = NewWorkWatcher(cfg.HostID, messages, m.Sessions, time.Second, logger)
	if m.leases, err = newLeases(m.Sessions); err != nil {
		devices.Close()
		return nil, err
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if !m.ready.Load() {
			http.Error(w, `{"status":"stopping"}`, http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"status":"ok","host":%q}`, cfg.HostID)
	})
	if m.listener, err = net.Listen("tcp", cfg.HealthAddr); err != nil {
		devices.Close()
		return nil, fmt.Errorf("health endpoint on %s: %w", cfg.HealthAddr, err)
	}
	m.health = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	return m, nil
}

// HealthAddr is where the health endpoint listens.
func (m *Main) HealthAddr() string { return m.listener.Addr().String() }

// Run serves the health endpoint and holds leases until ctx ends.
func (m *Main) Run(ctx context.Context) error {
	go m.health.Serve(m.listener)
	go m.pairing.Run(ctx)
	go m.work.Run(ctx)
	go every(ctx, metricsInterval, m.emitSessions)
	m.ready.Store(true)
	m.logger.Info("session host running", "host", m.Config.HostID, "capacity", m.Config.Capacity, "health", m.HealthAddr())
	err := m.leases.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// every calls fn every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, fn func()) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			fn()
		}
	}
}

// emitSessions emits SessionsRunning and SessionsConnected once.
func (m *Main) emitSessions() {
	running, connected := m.Sessions.Counts()
	if err := m.metrics.Emit(nil,
		metrics.Metric{Name: "SessionsRunning", Unit: metrics.UnitCount, Value: float64(running)},
		metrics.Metric{Name: "SessionsConnected", Unit: metrics.UnitCount, Value: float64(connected)},
	); err != nil {
		m.logger.Error("emit session metrics", "error", err)
	}
}

// Close shuts down in the order that loses nothing: sessions first, so no new event comes
// in; then the batcher, so every event already accepted reaches the queue; then the leases,
// so another host can take the instances at once; then the health endpoint.
func (m *Main) Close() error {
	m.ready.Store(false)
	m.Sessions.StopAll()
	m.batcher.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if err := m.leases.Release(ctx); err != nil {
		errs = append(errs, fmt.Errorf("release leases: %w", err))
	}
	if err := m.devices.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close device store: %w", err))
	}
	if err := m.health.Shutdown(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
