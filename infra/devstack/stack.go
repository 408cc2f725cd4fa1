// Package devstack runs the whole gateway on one machine with no AWS account: the AWS
// emulator (moto, or LocalStack at an endpoint given), the tables and queues of template.yaml,
// the management API behind an emulation of API Gateway, the delivery and jobs functions
// driven as Lambda's SQS event source drives them, the scheduled functions at their rate, the
// session host over a simulated WhatsApp network (infra/wasim), and the dev-only routes that
// trigger events and drive the simulated phones.
package devstack

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/emulator"
	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/infra/wasim"
	"github.com/wagate/wagate/session-host/host"
	"github.com/wagate/wagate/session-host/lease"
	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/env"
	"github.com/wagate/wagate/shared/lambdas"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
)

// sessionHostTask is the logical id of the session host's task definition in template.yaml.
const sessionHostTask = "SessionHostTaskDefinition"

// Options configures a Stack.
type Options struct {
	Addr     string   // where the API listens; 127.0.0.1:8080 when ""
	APIKeys  []string // accepted X-API-Key values; one is generated when empty
	Endpoint string   // an AWS endpoint (LocalStack); moto is started when ""
	Prefix   string   // resource names start with it; "wagate-dev" when ""
	// Env overrides the functions' environment as template.yaml sets it, e.g.
	// WEBHOOK_RETRY_DELAYS, for every function that reads the variable.
	Env    map[string]string
	Logger *slog.Logger
	// Metrics receives the delivery function's EMF lines; discarded when nil.
	Metrics io.Writer
	// WhatsApp tunes the simulated WhatsApp network (receipt delays, QR lifetimes).
	WhatsApp wasim.Options
	// MediaRootCAs, when set, are the certificate authorities the session host trusts for
	// media links instead of the system's: a test's https server (httptest.NewTLSServer).
	MediaRootCAs *x509.CertPool
}

// Stack is a running local gateway.
type Stack struct {
	URL       string // http://host:port of the API
	Endpoint  string // the AWS endpoint in use
	APIKeys   []string
	Resources *samtemplate.Resources

	logger    *slog.Logger
	moto      *emulator.Moto
	server    *http.Server
	cancel    context.CancelFunc
	workers   sync.WaitGroup
	ready     atomic.Bool
	instances *store.InstanceStore
	publisher *queue.Publisher
	host      *host.Main
	// phones is the simulated WhatsApp every session of the stack connects to.
	phones *wasim.Network
}

// Start brings the stack up; Close takes it down.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:8080"
	}
	if o.Prefix == "" {
		o.Prefix = "wagate-dev"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Metrics == nil {
		o.Metrics = io.Discard
	}
	if len(o.APIKeys) == 0 {
		o.APIKeys = []string{"wgk_" + rand.Text()}
	}
	s := &Stack{APIKeys: o.APIKeys, Endpoint: o.Endpoint, logger: o.Logger}
	if err := s.start(ctx, o); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Stack) start(ctx context.Context, o Options) error {
	listener, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", o.Addr, err)
	}
	s.URL = "http://" + listener.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.health)
	s.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go s.server.Serve(listener)

	perService := s.Endpoint == "" && emulator.ServiceEndpointsSet()
	if s.Endpoint == "" && !perService {
		python, script, err := emulator.FindMoto()
		if err != nil {
			return err
		}
		if s.moto, err = emulator.StartMoto(python, script); err != nil {
			return err
		}
		s.Endpoint = s.moto.URL
	}
	// A service's own endpoint setting (AWS_ENDPOINT_URL_SQS, ...) wins over this one in the
	// SDK, so services can be mixed.
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(emulator.HTTPClient())}
	if perService {
		s.Endpoint = "each service's own (AWS_ENDPOINT_URL_<SERVICE>)"
	} else {
		opts = append(opts, config.WithBaseEndpoint(s.Endpoint))
	}
	cfg, err := config.LoadDefaultConfig(ctx, append(opts,
		config.WithRegion(regionOr("us-east-1")),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))...)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		return err
	}
	if s.Resources, err = tpl.Provision(ctx, dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg), s3.NewFromConfig(cfg), o.Prefix); err != nil {
		return err
	}

	// Each function is built from the table the Lambda mains use, with the environment
	// template.yaml gives it, as on AWS. The local stack delivers to receivers on this
	// machine, over plain http, and seals cursors with a key of its own.
	overrides := map[string]string{
		"WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8,::1/128",
		"WEBHOOK_ALLOW_HTTP":  "true",
		"API_CURSOR_KEY":      rand.Text() + rand.Text(),
		// Media links name this stack's API, and are signed with a key of its own.
		"MEDIA_LINK_KEY":  rand.Text() + rand.Text(),
		"MEDIA_LINK_BASE": s.URL,
	}
	maps.Copy(overrides, o.Env)
	build := func(f lambdas.Function) (lambdas.Handler, error) {
		vars, err := s.Resources.Env(f.ID)
		if err != nil {
			return lambdas.Handler{}, fmt.Errorf("template.yaml: %w", err)
		}
		for k, v := range overrides {
			if _, ok := vars[k]; ok {
				vars[k] = v
			}
		}
		return f.Build(lambdas.Input{AWS: cfg, Env: env.Map(vars), Logger: o.Logger, Metrics: o.Metrics})
	}
	handlers := map[string]lambdas.Handler{}
	for _, f := range lambdas.Functions {
		if handlers[f.ID], err = build(f); err != nil {
			return err
		}
	}
	sessionEnv, err := s.Resources.Env(sessionHostTask)
	if err != nil {
		return fmt.Errorf("template.yaml: %w", err)
	}
	s.instances = store.NewInstanceStore(dynamodb.NewFromConfig(cfg), sessionEnv["INSTANCES_TABLE"])
	s.publisher = queue.NewPublisher(sqs.NewFromConfig(cfg), sessionEnv["EVENTS_QUEUE_URL"])

	gw := lambdaemu.NewAPIGateway(o.APIKeys, "local")
	routes, err := tpl.APIRoutes()
	if err != nil {
		return err
	}
	for _, r := range routes {
		h := handlers[r.Function]
		if h.API == nil {
			return fmt.Errorf("template.yaml: %s serves %s %s, but the functions' table gives it no routes", r.Function, r.Method, r.Path)
		}
		if r.APIKeyRequired {
			gw.Add(r.Method, r.Path, h.API.Serve)
		} else {
			gw.AddPublic(r.Method, r.Path, h.API.Serve) // the console, media links
		}
	}
	dev := apigw.NewRouter(o.Logger)
	dev.Handle(http.MethodPost, TriggerResource, s.trigger)
	dev.Handle(http.MethodPost, PhoneLinkResource, s.linkPhone)
	dev.Handle(http.MethodDelete, PhoneLinkResource, s.unlinkPhone)
	dev.Handle(http.MethodPost, PhoneIncomingResource, s.incoming)
	dev.Handle(http.MethodPost, PhoneOutgoingResource, s.outgoing)
	dev.Handle(http.MethodGet, PhoneSentResource, s.sent)
	dev.Handle(http.MethodPost, PhoneGroupsResource, s.createGroup)
	dev.Handle(http.MethodPost, PhoneGroupChangeResource, s.changeGroup)
	dev.Handle(http.MethodPut, ContactResource, s.setProfile)
	for _, r := range dev.Routes() {
		gw.Add(r.Method, r.Resource, dev.Serve)
	}
	mux.Handle("/", gw)

	sources, err := tpl.SQSSources()
	if err != nil {
		return err
	}
	workCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	client := sqs.NewFromConfig(cfg)
	for _, src := range sources {
		if handlers[src.Function].SQS == nil {
			return fmt.Errorf("template.yaml: %s reads %s, but the functions' table gives it no SQS handler", src.Function, src.Queue)
		}
		// As many pollers as Lambda runs invocations, each a warm container with a handler
		// (and so an instance cache and circuit breakers) of its own.
		f, _ := lambdas.Lookup(src.Function)
		containers := make([]lambdaemu.SQSHandler, src.MaxConcurrency)
		for i := range containers {
			h, err := build(f)
			if err != nil {
				return err
			}
			containers[i] = lambdaemu.SQSHandler(h.SQS)
		}
		var started atomic.Int32
		q := s.Resources.Queue(src.Queue)
		es := &lambdaemu.SQSEventSource{
			SQS: client, QueueURL: q.URL, QueueARN: q.ARN, Region: cfg.Region,
			// Long polls shorter than Lambda's 20 s: stopping the stack waits for the one in
			// flight (see PollOnce), and a stack should stop within a few seconds.
			BatchSize: src.BatchSize, WaitTime: 2 * time.Second, Concurrency: src.MaxConcurrency, Logger: o.Logger,
		}
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			es.Run(workCtx, func() lambdaemu.SQSHandler { return containers[started.Add(1)-1] })
		}()
	}
	if err := s.startStreamSources(tpl, handlers, cfg, o.Logger, workCtx); err != nil {
		return err
	}
	if err := s.startSchedules(tpl, handlers, cfg.Region, o.Logger, workCtx); err != nil {
		return err
	}
	if err := s.startSessionHost(ctx, o, cfg, sessionEnv, overrides, workCtx); err != nil {
		return err
	}
	s.ready.Store(true)
	return nil
}

// startStreamSources drives the functions fed by a table's stream, as Lambda's DynamoDB
// event source mappings do.
func (s *Stack) startStreamSources(tpl *samtemplate.Template, handlers map[string]lambdas.Handler, cfg aws.Config, logger *slog.Logger, workCtx context.Context) error {
	sources, err := tpl.StreamSources()
	if err != nil {
		return err
	}
	streams := dynamodbstreams.NewFromConfig(cfg)
	for _, src := range sources {
		h := handlers[src.Function].Stream
		if h == nil {
			return fmt.Errorf("template.yaml: %s reads the stream of %s, but the functions' table gives it no stream handler", src.Function, src.Table)
		}
		es := &lambdaemu.StreamEventSource{
			Streams: streams, StreamARN: s.Resources.StreamARN(src.Table), Region: cfg.Region,
			BatchSize: src.BatchSize, Logger: logger,
		}
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			es.Run(workCtx, lambdaemu.StreamHandler(h))
		}()
	}
	return nil
}

// startSchedules invokes the functions with a Schedule event at their rate, as EventBridge
// does.
func (s *Stack) startSchedules(tpl *samtemplate.Template, handlers map[string]lambdas.Handler, region string, logger *slog.Logger, workCtx context.Context) error {
	sources, err := tpl.ScheduleSources()
	if err != nil {
		return err
	}
	for _, src := range sources {
		h := handlers[src.Function].Schedule
		if h == nil {
			return fmt.Errorf("template.yaml: %s runs on a schedule, but the functions' table gives it no schedule handler", src.Function)
		}
		sched := &lambdaemu.Schedule{Every: src.Every, Region: region, Logger: logger}
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			sched.Run(workCtx, lambdaemu.ScheduleHandler(h))
		}()
	}
	return nil
}

// startSessionHost runs the session host in this process, as ECS runs it: it leases the
// instances, pairs and connects them, and publishes their events. Its sessions connect to the
// simulated WhatsApp network, never to WhatsApp: the dev routes link them to simulated phones
// and make those phones write.
func (s *Stack) startSessionHost(ctx context.Context, o Options, cfg aws.Config, vars, overrides map[string]string, workCtx context.Context) error {
	// The host's configuration is the task definition's (device keys in DevicesTable, as on
	// ECS), with the functions' overrides (media links from this machine, as webhooks go to
	// it), a health endpoint on a free port and a name that says whose it is.
	vars = maps.Clone(vars)
	for k, v := range overrides {
		if _, ok := vars[k]; ok {
			vars[k] = v
		}
	}
	vars["HEALTH_ADDR"] = "127.0.0.1:0"
	// A new instance gets its session, so its QR code, within a second or two.
	vars["LEASE_INTERVAL"] = "1s"
	hostCfg, err := host.LoadConfig(env.Map(vars))
	if err != nil {
		return fmt.Errorf("session host: %w", err)
	}
	hostCfg.HostID = o.Prefix + "-host"
	hostCfg.MediaRootCAs = o.MediaRootCAs
	table := hostCfg.InstancesTable
	logger := o.Logger.With("component", "session-host")
	instances := store.NewInstanceStore(dynamodb.NewFromConfig(cfg), table)
	m, err := host.NewMain(ctx, hostCfg, cfg, logger, func(sessions *host.Sessions) (host.Leases, error) {
		return lease.New(lease.Config{
			Owner: hostCfg.HostID, Store: instances, Sessions: sessions, Capacity: hostCfg.Capacity,
			Interval: hostCfg.LeaseInterval, TTL: hostCfg.LeaseTTL, Logger: logger,
		})
	})
	if err != nil {
		return fmt.Errorf("session host: %w", err)
	}
	s.host = m
	s.phones = wasim.NewNetwork(withLogger(o.WhatsApp, logger))
	m.Sessions.UseClients(func(co host.ClientOptions) host.Client { return s.phones.NewClient(co) })
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		if err := m.Run(workCtx); err != nil {
			logger.Error("session host stopped", "error", err)
		}
	}()
	return nil
}

func withLogger(o wasim.Options, logger *slog.Logger) wasim.Options {
	if o.Logger == nil {
		o.Logger = logger
	}
	return o
}

func regionOr(def string) string {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil || cfg.Region == "" {
		return def
	}
	return cfg.Region
}

func (s *Stack) health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if !s.ready.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"status":"starting"}`))
		return
	}
	w.Write([]byte(`{"status":"ok"}`))
}

// Close stops the API, the workers and the emulator it started, within a few seconds.
func (s *Stack) Close() error {
	s.ready.Store(false)
	var errs []error
	if s.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := s.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop API: %w", err))
			s.server.Close()
		}
		cancel()
	}
	if s.cancel != nil {
		s.cancel() // a long poll in flight is aborted with its context
		s.workers.Wait()
	}
	if s.host != nil {
		if err := s.host.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stop session host: %w", err))
		}
	}
	if s.moto != nil {
		s.moto.Stop()
	}
	return errors.Join(errs...)
}
