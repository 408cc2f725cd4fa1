// Package lambdas is the table of wagate's Lambda functions: each logical id of template.yaml
// and what that function serves, built from its own environment. A function's main names its
// logical id and nothing else; the local stack builds every function from the same table, and
// tests hold the table against the template (routes, queues, environment variables).
package lambdas

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/console"
	"github.com/wagate/wagate/shared/counting"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/env"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/reconcile"
)

// SQSHandler handles a batch from an SQS event source mapping, reporting partial failures.
type SQSHandler func(context.Context, events.SQSEvent) (events.SQSEventResponse, error)

// StreamHandler handles a batch of one shard of a DynamoDB stream, from a mapping with a
// tumbling window (whose events name their shard).
type StreamHandler func(context.Context, events.DynamoDBTimeWindowEvent) (events.DynamoDBTimeWindowEventResponse, error)

// ScheduleHandler handles the event of an EventBridge schedule.
type ScheduleHandler func(context.Context, events.EventBridgeEvent) error

// Handler is what one function serves: API Gateway requests through a router, batches from
// a queue, batches from a table's stream, or a schedule's events.
type Handler struct {
	API      *apigw.Router
	SQS      SQSHandler
	Stream   StreamHandler
	Schedule ScheduleHandler
}

// Input is what a function is built from.
type Input struct {
	AWS     aws.Config
	Env     *env.Vars    // the function's environment, as template.yaml sets it
	Logger  *slog.Logger // what the function logs with
	Metrics io.Writer    // where Embedded Metric Format lines go (stdout on Lambda)
}

// Function is one function of template.yaml.
type Function struct {
	ID   string // logical id in template.yaml
	wire func(in Input) Handler
}

// jobsBudget is how long the jobs function works on one job message: it leaves room under
// the function's 120 s timeout to queue the rest of the job.
const jobsBudget = 90 * time.Second

// reconcileBudget is how long a reconcile run reads retrying logs, under the function's 60 s
// timeout; the next run, minutes later, reads what it did not reach.
const reconcileBudget = 45 * time.Second

// Functions lists every function of template.yaml.
var Functions = []Function{
	{ID: "WebhookDeliveryFunction", wire: func(in Input) Handler {
		db := dynamodb.NewFromConfig(in.AWS)
		instances, sender, q := instanceStore(in.Env, db), senderOptions(in.Env), sqs.NewFromConfig(in.AWS)
		h := deliver.NewHandler(deliver.Config{
			Logs:      logStore(in.Env, db),
			Instances: deliver.NewInstanceCache(instances, instanceCacheTTL(in.Env)),
			Queue:     q,
			QueueURL:  eventsQueueURL(in.Env),
			SlowLane:  &deliver.SlowLane{Queue: q, URL: in.Env.Required("SLOW_EVENTS_QUEUE_URL")},
			Sender:    deliver.NewSender(sender),
			Policy:    retryPolicy(in.Env),
			Metrics:   metrics.NewEmitter(in.Metrics, "wagate"),
			Logger:    in.Logger,
			// Circuits shared through the instances' items: a probe holds the others off for
			// its timeout and 5 s more.
			Circuits: deliver.NewCircuits(deliver.CircuitOptions{Shared: instances, ProbeHold: sender.Timeout + 5*time.Second}),
		})
		return Handler{SQS: h.Handle}
	}},
	{ID: "WebhookTestFunction", wire: func(in Input) Handler {
		db := dynamodb.NewFromConfig(in.AWS)
		sender := senderOptions(in.Env)
		api := manage.NewWebhookAPI(manage.WebhookDeps{
			Logs: logStore(in.Env, db), Instances: instanceStore(in.Env, db),
			Sender: deliver.NewSender(sender), AllowHTTP: sender.AllowHTTP,
		})
		return routes(in, api.RegisterTest)
	}},
	{ID: "WebhookLogsFunction", wire: func(in Input) Handler {
		api := manage.NewWebhookAPI(manage.WebhookDeps{
			Logs: logStore(in.Env, dynamodb.NewFromConfig(in.AWS)), Cursors: cursors(in.Env),
		})
		return routes(in, api.RegisterLogs)
	}},
	{ID: "WebhookRetryFunction", wire: func(in Input) Handler {
		db, q := dynamodb.NewFromConfig(in.AWS), sqs.NewFromConfig(in.AWS)
		api := manage.NewWebhookAPI(manage.WebhookDeps{
			Logs: logStore(in.Env, db), Instances: instanceStore(in.Env, db),
			Sender: deliver.NewSender(senderOptions(in.Env)), Publisher: publisher(in.Env, q), Jobs: jobs(in.Env, q),
			Progress: jobStore(in.Env, db),
		})
		return routes(in, api.RegisterRetry)
	}},
	// The statistics and the progress of background jobs: both read the stats table.
	{ID: "WebhookStatsFunction", wire: func(in Input) Handler {
		db := dynamodb.NewFromConfig(in.AWS)
		api := manage.NewWebhookAPI(manage.WebhookDeps{Logs: logStore(in.Env, db), Progress: jobStore(in.Env, db)})
		return routes(in, api.RegisterStats, api.RegisterJobs)
	}},
	{ID: "WebhookCountFunction", wire: func(in Input) Handler {
		return Handler{Stream: counting.NewHandler(logStore(in.Env, dynamodb.NewFromConfig(in.AWS)), in.Logger).Handle}
	}},
	{ID: "WebhookClearFunction", wire: func(in Input) Handler {
		db := dynamodb.NewFromConfig(in.AWS)
		api := manage.NewWebhookAPI(manage.WebhookDeps{
			Logs: logStore(in.Env, db), Jobs: jobs(in.Env, sqs.NewFromConfig(in.AWS)), Progress: jobStore(in.Env, db),
		})
		return routes(in, api.RegisterClear)
	}},
	{ID: "WebhookJobsFunction", wire: func(in Input) Handler {
		db, q := dynamodb.NewFromConfig(in.AWS), sqs.NewFromConfig(in.AWS)
		api := manage.NewWebhookAPI(manage.WebhookDeps{
			Logs: logStore(in.Env, db), Publisher: publisher(in.Env, q), Jobs: jobs(in.Env, q), Progress: jobStore(in.Env, db),
		})
		return Handler{SQS: api.HandleJobs(jobsBudget)}
	}},
	{ID: "WebhookReconcileFunction", wire: func(in Input) Handler {
		r := reconcile.New(reconcile.Config{
			Logs: logStore(in.Env, dynamodb.NewFromConfig(in.AWS)), Queue: sqs.NewFromConfig(in.AWS), QueueURL: eventsQueueURL(in.Env),
			Logger: in.Logger, Budget: reconcileBudget,
		})
		return Handler{Schedule: r.Handle}
	}},
	{ID: "InstancesFunction", wire: func(in Input) Handler {
		api := manage.NewInstanceAPI(manage.InstanceDeps{
			Store: instanceStore(in.Env, dynamodb.NewFromConfig(in.AWS)), Cursors: cursors(in.Env), AllowHTTP: allowHTTP(in.Env),
		})
		return routes(in, api.Register)
	}},
	{ID: "MessagesFunction", wire: func(in Input) Handler {
		db := dynamodb.NewFromConfig(in.AWS)
		api := manage.NewMessageAPI(manage.MessageDeps{
			Outbox: outboxStore(in.Env, db), Instances: instanceStore(in.Env, db), Cursors: cursors(in.Env),
			AllowedPrefixes: allowedCIDRs(in.Env), Uploads: mediaBucket(in.Env, in.AWS),
		})
		return routes(in, api.Register)
	}},
	{ID: "MediaFunction", wire: func(in Input) Handler {
		api := manage.NewMediaAPI(manage.MediaDeps{
			Files: mediaBucket(in.Env, in.AWS), Links: mediaLinks(in.Env),
			Instances: instanceStore(in.Env, dynamodb.NewFromConfig(in.AWS)),
		})
		return routes(in, api.Register)
	}},
	// The web console's page and assets, embedded at build time; no AWS client, no data.
	{ID: "ConsoleFunction", wire: func(in Input) Handler {
		return routes(in, console.New(console.Built()).Register)
	}},
}

// Routes lists every API route the functions serve, for the OpenAPI checks.
func Routes() []apigw.Route {
	var out []apigw.Route
	for _, f := range Functions {
		h := f.wire(Input{Env: env.Map(nil), Logger: slog.New(slog.DiscardHandler), Metrics: io.Discard})
		if h.API != nil {
			out = append(out, h.API.Routes()...)
		}
	}
	return out
}

func routes(in Input, register ...func(*apigw.Router)) Handler {
	r := apigw.NewRouter(in.Logger)
	for _, reg := range register {
		reg(r)
	}
	return Handler{API: r}
}

// Lookup returns the function with a logical id.
func Lookup(id string) (Function, bool) {
	i := slices.IndexFunc(Functions, func(f Function) bool { return f.ID == id })
	if i < 0 {
		return Function{}, false
	}
	return Functions[i], true
}

// Build wires the function from its environment, and fails with every bad setting at once.
func (f Function) Build(in Input) (Handler, error) {
	h := f.wire(in)
	if err := in.Env.Err(); err != nil {
		return Handler{}, fmt.Errorf("%s's configuration: %w", f.ID, err)
	}
	return h, nil
}

// lambdaLogger logs JSON (AWS_LAMBDA_LOG_FORMAT) with the request id, at the level Lambda
// passes from the template's ApplicationLogLevel (AWS_LAMBDA_LOG_LEVEL; INFO when unset), so
// lines below it are never formatted.
func lambdaLogger() *slog.Logger { return lambdacontext.NewLogger() }

// Start runs the function with the given logical id on Lambda: its environment from the
// process, AWS's default config, JSON logs with the request id, metrics on stdout. It returns
// only when the function cannot be built.
func Start(ctx context.Context, id string) error {
	f, ok := Lookup(id)
	if !ok {
		return fmt.Errorf("no function %q in the table", id)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	h, err := f.Build(Input{AWS: cfg, Env: env.New(os.Getenv), Logger: lambdaLogger(), Metrics: os.Stdout})
	if err != nil {
		return err
	}
	switch {
	case h.API != nil:
		lambda.StartWithOptions(h.API.Serve, lambda.WithContext(ctx))
	case h.Stream != nil:
		lambda.StartWithOptions(h.Stream, lambda.WithContext(ctx))
	case h.Schedule != nil:
		lambda.StartWithOptions(h.Schedule, lambda.WithContext(ctx))
	default:
		lambda.StartWithOptions(h.SQS, lambda.WithContext(ctx))
	}
	return nil
}
