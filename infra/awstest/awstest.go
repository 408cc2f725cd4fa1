// Package awstest runs a package's tests against a local DynamoDB, SQS and S3 (moto) that holds
// the tables, queues and buckets of template.yaml:
//
//	func TestMain(m *testing.M) { awstest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		res := awstest.Stack(t)
//		db := dynamodb.NewFromConfig(awstest.Config(t))
//		... res.Table("WebhookLogTable"), res.QueueURL("EventsQueue") ...
//	}
package awstest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/emulator"
	"github.com/wagate/wagate/infra/samtemplate"
)

// EndpointEnv is the AWS SDKs' endpoint setting for every service; a service's own setting,
// such as AWS_ENDPOINT_URL_DYNAMODB, takes precedence over it. When the services the tests use
// have an endpoint set (LocalStack, a moto started by hand), the tests use those instead of
// starting moto.
const EndpointEnv = "AWS_ENDPOINT_URL"

// provisionTimeout bounds one Stack call; against moto it takes milliseconds.
const provisionTimeout = 2 * time.Minute

// Main runs the package's tests. The first test to ask for AWS (Config, Stack, Endpoint) gets
// the endpoints set in the environment or, where DynamoDB or SQS has none, one moto server
// (infra/moto/serve.py) started for this test binary and stopped after its tests; the tests
// that never ask need no emulator. Main also sets AWS_REGION and dummy credentials where they
// are unset, so code that loads the default AWS config in the tests talks to that endpoint
// and never to an AWS account. It does not return.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	setDefault("AWS_REGION", "us-east-1")
	setDefault("AWS_ACCESS_KEY_ID", "test")
	setDefault("AWS_SECRET_ACCESS_KEY", "test")
	mainRan.Store(true)
	defer stopEmulator()
	return m.Run()
}

func setDefault(key, value string) {
	if os.Getenv(key) == "" {
		os.Setenv(key, value)
	}
}

// mainRan is set once Main has set up the environment and will stop the emulator.
var mainRan atomic.Bool

// shared is the emulator of this test binary, started by the first test that asks for AWS.
var shared struct {
	once sync.Once
	moto *emulator.Moto // nil when the environment names the endpoints
	err  error
}

// startEmulator makes sure DynamoDB and SQS have an endpoint, starting moto the first time it
// is called when one of them has none; moto then serves every service without a setting of its own.
func startEmulator() error {
	shared.once.Do(func() {
		if endpointsSet() {
			return
		}
		python, script, err := emulator.FindMoto()
		if err != nil {
			shared.err = fmt.Errorf("no DynamoDB/SQS endpoint for the tests that need one: %w", err)
			return
		}
		if shared.moto, err = emulator.StartMoto(python, script); err != nil {
			shared.err = fmt.Errorf("start moto_server: %w", err)
			return
		}
		os.Setenv(EndpointEnv, shared.moto.URL)
	})
	return shared.err
}

// endpointsSet reports whether every service the tests use has an endpoint in the environment.
func endpointsSet() bool {
	return os.Getenv(EndpointEnv) != "" || emulator.ServiceEndpointsSet()
}

// stopEmulator stops moto if a test started it. Once it has run, no test starts moto again.
func stopEmulator() {
	shared.once.Do(func() {})
	if shared.moto != nil {
		shared.moto.Stop()
	}
}

// Config returns an AWS config for the test endpoints, starting moto on the first call where
// the environment names none. The SDK takes the endpoints from the environment itself, a
// service's own setting before AWS_ENDPOINT_URL. Config fails the test when Main has not run,
// when there is no endpoint (moto not found), or when a DynamoDB or SQS client made from the
// config would not use the test endpoint, so a test never reaches a real AWS account by accident.
func Config(tb testing.TB) aws.Config {
	tb.Helper()
	if !mainRan.Load() {
		tb.Fatal("awstest: call awstest.Main from TestMain")
	}
	if err := startEmulator(); err != nil {
		tb.Fatalf("awstest: %v", err)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithHTTPClient(emulator.HTTPClient()))
	if err != nil {
		tb.Fatalf("awstest: load AWS config: %v", err)
	}
	// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS, for one, has the SDK use AWS's own endpoints.
	if dynamodb.NewFromConfig(cfg).Options().BaseEndpoint == nil || sqs.NewFromConfig(cfg).Options().BaseEndpoint == nil || s3.NewFromConfig(cfg).Options().BaseEndpoint == nil {
		tb.Fatal("awstest: the AWS SDK ignores the configured endpoints: the tests would reach AWS")
	}
	return cfg
}

// Endpoint returns the one endpoint of every service, for code that takes a single endpoint
// (infra/devstack): AWS_ENDPOINT_URL, or moto's when Config starts it.
func Endpoint(tb testing.TB) string {
	tb.Helper()
	cfg := Config(tb)
	if cfg.BaseEndpoint == nil {
		tb.Fatalf("awstest: %s is unset: this test needs one endpoint for every service", EndpointEnv)
	}
	return *cfg.BaseEndpoint
}

// loadTemplate parses template.yaml once per test binary.
var loadTemplate = sync.OnceValues(samtemplate.LoadRepo)

// Stack provisions the template's tables, queues and buckets under a prefix of its own (see Prefix),
// so tests using it can run in parallel, and deletes them when the test ends.
func Stack(tb testing.TB) *samtemplate.Resources {
	tb.Helper()
	tpl, err := loadTemplate()
	if err != nil {
		tb.Fatalf("awstest: %v", err)
	}
	cfg := Config(tb)
	db, q, b := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg), s3.NewFromConfig(cfg)

	ctx, cancel := context.WithTimeout(context.Background(), provisionTimeout)
	defer cancel()
	res, err := tpl.Provision(ctx, db, q, b, Prefix(tb))
	if err != nil {
		tb.Fatalf("awstest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), provisionTimeout)
		defer cancel()
		if err := res.Delete(ctx, db, q, b); err != nil {
			tb.Errorf("awstest: %v", err)
		}
	})
	return res
}

var notNameChar = regexp.MustCompile(`[^A-Za-z0-9]+`)

// Prefix returns a resource-name prefix unique to this call: part of the test's name, to tell
// whose resources they are, and a random part, as test binaries may share one endpoint.
func Prefix(tb testing.TB) string {
	name := strings.Trim(notNameChar.ReplaceAllString(tb.Name(), "-"), "-")
	// SQS names stop at 80 characters, and the logical id still follows the prefix.
	name = strings.TrimRight(name[:min(len(name), 30)], "-")
	return "t-" + name + "-" + strings.ToLower(rand.Text()[:8])
}
