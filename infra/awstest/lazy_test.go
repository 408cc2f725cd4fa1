package awstest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/emulator"
)

// childEnv is set when a test below runs this test binary again to run one of the
// TestChild... tests as a package's tests run: with no moto to be found, and only the
// endpoint settings the test gives. Without it those tests do nothing.
const childEnv = "AWSTEST_CHILD"

// runChild runs the test binary's test named test, with env added to an environment that
// has no endpoint settings and a moto that cannot be found, and returns its output.
func runChild(t *testing.T, test string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1", "-test.v")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, awstest.EndpointEnv) && !strings.HasPrefix(kv, emulator.MotoPythonEnv+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=1", emulator.MotoPythonEnv+"="+t.TempDir()+"/no-moto/python")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// A test that never asks for AWS runs where moto cannot be found.
func TestChildPure(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		return
	}
	if p := awstest.Prefix(t); !strings.HasPrefix(p, "t-") {
		t.Errorf("Prefix = %q", p)
	}
}

// TestChildAWS asks for AWS, and calls DynamoDB and SQS once each.
func TestChildAWS(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		return
	}
	cfg := awstest.Config(t)
	ctx := context.Background()
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Error(err)
	}
	if _, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
		t.Error(err)
	}
}

func TestNoEmulatorFailsOnlyTheTestsThatNeedIt(t *testing.T) {
	if out, err := runChild(t, "TestChildPure"); err != nil {
		t.Errorf("a test that needs no AWS failed without moto: %v\n%s", err, out)
	}
	out, err := runChild(t, "TestChildAWS")
	if err == nil || !strings.Contains(out, "moto's virtualenv not found") {
		t.Errorf("a test that needs AWS, without moto: %v, want a failure saying moto's virtualenv was not found; output:\n%s", err, out)
	}
}

// fakeAWS is an endpoint that answers every DynamoDB or SQS call with an empty result and
// records which ones it got.
type fakeAWS struct {
	*httptest.Server
	mu    sync.Mutex
	calls []string // X-Amz-Target, such as DynamoDB_20120810.ListTables
}

func newFakeAWS(t *testing.T) *fakeAWS {
	f := &fakeAWS{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Header.Get("X-Amz-Target"))
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAWS) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Config leaves the endpoints to the SDK, which takes a service's own setting before the
// setting for all, and starts no moto when every service the tests use has one.
func TestConfigUsesTheEndpointSettings(t *testing.T) {
	const (
		listTables = "DynamoDB_20120810.ListTables"
		listQueues = "AmazonSQS.ListQueues"
	)
	tests := []struct {
		name string
		env  []string // settings, with {all}, {dynamodb} and {sqs} for the fake endpoints' URLs
		want map[string][]string
	}{
		{"one for all", []string{"AWS_ENDPOINT_URL={all}"},
			map[string][]string{"all": {listTables, listQueues}}},
		{"one for each service", []string{"AWS_ENDPOINT_URL_DYNAMODB={dynamodb}", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS={dynamodb}", "AWS_ENDPOINT_URL_SQS={sqs}", "AWS_ENDPOINT_URL_S3={sqs}"},
			map[string][]string{"dynamodb": {listTables}, "sqs": {listQueues}}},
		{"a service's own before the one for all", []string{"AWS_ENDPOINT_URL={all}", "AWS_ENDPOINT_URL_DYNAMODB={dynamodb}"},
			map[string][]string{"all": {listQueues}, "dynamodb": {listTables}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakes := map[string]*fakeAWS{"all": newFakeAWS(t), "dynamodb": newFakeAWS(t), "sqs": newFakeAWS(t)}
			var env []string
			for _, kv := range tt.env {
				for name, f := range fakes {
					kv = strings.ReplaceAll(kv, "{"+name+"}", f.URL)
				}
				env = append(env, kv)
			}
			if out, err := runChild(t, "TestChildAWS", env...); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for name, f := range fakes {
				if got := f.got(); !slices.Equal(got, tt.want[name]) {
					t.Errorf("endpoint %s got %v, want %v", name, got, tt.want[name])
				}
			}
		})
	}
	// With an endpoint for DynamoDB alone, SQS still needs moto.
	dynamo := newFakeAWS(t)
	out, err := runChild(t, "TestChildAWS", "AWS_ENDPOINT_URL_DYNAMODB="+dynamo.URL)
	if err == nil || !strings.Contains(out, "moto's virtualenv not found") {
		t.Errorf("DynamoDB's endpoint alone: %v, want a failure saying moto's virtualenv was not found; output:\n%s", err, out)
	}
}
