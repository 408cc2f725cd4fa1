// Package awstest runs a package's tests against a local DynamoDB and SQS (moto) that holds the
// tables and queues of template.yaml:
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
	"log/slog"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/emulator"
	"github.com/wagate/wagate/infra/samtemplate"
)

// EndpointEnv is read by the AWS SDKs; when it is already set, Main uses that endpoint
// (LocalStack, a moto started by hand) instead of starting moto.
const EndpointEnv = "AWS_ENDPOINT_URL"

// provisionTimeout bounds one Stack call; against moto it takes milliseconds.
const provisionTimeout = 2 * time.Minute

// Main runs the package's tests against the endpoint in AWS_ENDPOINT_URL or, when that is
// unset, against one moto server (infra/moto/serve.py) started for this test binary and stopped after it. It also
// sets AWS_REGION and dummy credentials where they are unset, so code that loads the default
// AWS config in the tests talks to that endpoint. It does not return.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv(EndpointEnv) == "" {
		python, script, err := emulator.FindMoto()
		if err != nil {
			slog.Error("awstest: cannot run the tests without a DynamoDB/SQS endpoint", "err", err)
			return 1
		}
		// Pdeathsig (see detach) fires when the thread that started moto ends; keep that the
		// thread of this goroutine, which lives until os.Exit.
		runtime.LockOSThread()
		srv, err := emulator.StartMoto(python, script)
		if err != nil {
			slog.Error("awstest: start moto_server", "err", err)
			return 1
		}
		defer srv.Stop()
		os.Setenv(EndpointEnv, srv.URL)
	}
	setDefault("AWS_REGION", "us-east-1")
	setDefault("AWS_ACCESS_KEY_ID", "test")
	setDefault("AWS_SECRET_ACCESS_KEY", "test")
	return m.Run()
}

func setDefault(key, value string) {
	if os.Getenv(key) == "" {
		os.Setenv(key, value)
	}
}

// Config returns an AWS config for the test endpoint. It fails the test when Main has not run,
// so a test never reaches a real AWS account by accident.
func Config(tb testing.TB) aws.Config {
	tb.Helper()
	endpoint := os.Getenv(EndpointEnv)
	if endpoint == "" {
		tb.Fatalf("awstest: %s is unset: call awstest.Main from TestMain", EndpointEnv)
	}
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithBaseEndpoint(endpoint),
		config.WithHTTPClient(emulator.HTTPClient()))
	if err != nil {
		tb.Fatalf("awstest: load AWS config: %v", err)
	}
	return cfg
}

// loadTemplate parses template.yaml once per test binary.
var loadTemplate = sync.OnceValues(samtemplate.LoadRepo)

// Stack provisions the template's tables and queues under a prefix of its own (see Prefix),
// so tests using it can run in parallel, and deletes them when the test ends.
func Stack(tb testing.TB) *samtemplate.Resources {
	tb.Helper()
	tpl, err := loadTemplate()
	if err != nil {
		tb.Fatalf("awstest: %v", err)
	}
	cfg := Config(tb)
	db, q := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)

	ctx, cancel := context.WithTimeout(context.Background(), provisionTimeout)
	defer cancel()
	res, err := tpl.Provision(ctx, db, q, Prefix(tb))
	if err != nil {
		tb.Fatalf("awstest: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), provisionTimeout)
		defer cancel()
		if err := res.Delete(ctx, db, q); err != nil {
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
