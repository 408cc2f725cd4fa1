package manage_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/lambdaemu"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/shared/deliver"
	"github.com/wagate/wagate/shared/metrics"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// receiverPythonEnv names the Python of the verifier's virtualenv; `make test` sets it.
const receiverPythonEnv = "WAGATE_RECEIVER_PYTHON"

// startVerifier runs infra/receiver/receiver.py, a webhook endpoint that checks signatures
// with the official Python Standard Webhooks library against each of secrets, and returns its
// URL. It stops when the test ends.
func startVerifier(t *testing.T, secrets map[string]string) string {
	t.Helper()
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	python := os.Getenv(receiverPythonEnv)
	if python == "" {
		python = filepath.Join(root, ".venv", "receiver", "bin", "python")
	}
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the Standard Webhooks verifier's virtualenv is missing (%v): run `make tools` at the repo root, or set %s", err, receiverPythonEnv)
	}
	cmd := exec.Command(python, filepath.Join(root, "infra", "receiver", "receiver.py"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the verifier: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close() // the verifier exits when its stdin closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line, _ := json.Marshal(secrets)
	if _, err := stdin.Write(append(line, '\n')); err != nil {
		t.Fatalf("give the verifier its secrets: %v (stderr: %s)", err, stderr.String())
	}
	port := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(stdout).ReadString('\n')
		port <- strings.TrimPrefix(strings.TrimSpace(l), "listening ")
	}()
	select {
	case p := <-port:
		if p == "" {
			t.Fatalf("the verifier did not start: %s", stderr.String())
		}
		return "http://127.0.0.1:" + p
	case <-time.After(30 * time.Second):
		t.Fatalf("the verifier did not start within 30 s: %s", stderr.String())
	}
	return ""
}

// deliveryRig is the delivery function over the API rig's tables: events go on the queue and
// the real handler, driven as Lambda drives it, sends them to the instance's webhook URL.
type deliveryRig struct {
	t       *testing.T
	logs    *store.LogStore
	pub     *queue.Publisher
	source  *lambdaemu.SQSEventSource
	handler *deliver.Handler
}

func newDeliveryRig(t *testing.T, api *apiRig) *deliveryRig {
	cfg := awstest.Config(t)
	db, sq := dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	queueURL := api.res.QueueURL("EventsQueue")
	logs := store.NewLogStore(db, api.res.Table("WebhookLogTable"), api.res.Table("WebhookStatsTable"), 30*24*time.Hour)
	return &deliveryRig{
		t: t, logs: logs,
		pub: queue.NewPublisher(sq, queueURL),
		source: &lambdaemu.SQSEventSource{
			SQS: sq, QueueURL: queueURL, QueueARN: "arn:aws:sqs:us-east-1:000000000000:events", Region: "us-east-1", BatchSize: 10,
		},
		handler: deliver.NewHandler(deliver.Config{
			Logs: logs, Instances: api.store, Queue: sq, QueueURL: queueURL,
			Sender: deliver.NewSender(deliver.SenderOptions{
				Timeout: 5 * time.Second, AllowHTTP: true, AllowedPrefixes: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			}),
			Policy:  webhook.RetryPolicy{Schedule: webhook.DefaultRetryDelays, MaxRetryAfter: time.Hour},
			Metrics: metrics.NewEmitter(io.Discard, "wagate"),
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		}),
	}
}

// verdict is what the verifier answered, kept in the delivery log as any receiver's answer is.
type verdict struct {
	Verified   map[string]bool
	Errors     map[string]string
	Signatures int
}

// deliver sends one message.received event for the instance through the queue and the
// handler, and returns the verifier's answer from the log.
func (d *deliveryRig) deliver(instanceID string) verdict {
	d.t.Helper()
	ctx := context.Background()
	env := &webhook.Envelope{
		Event: webhook.EventMessageReceived, InstanceID: instanceID,
		Data: json.RawMessage(`{"messageId":"m1","from":"6281234567890@s.whatsapp.net","body":"Hello!","type":"text"}`),
	}
	if err := d.pub.Publish(ctx, []*webhook.Envelope{env}); err != nil {
		d.t.Fatal(err)
	}
	for polls := 0; ; polls++ {
		if polls == 50 {
			d.t.Fatal("the event never came off the queue")
		}
		n, err := d.source.PollOnce(ctx, d.handler.Handle)
		if err != nil {
			d.t.Fatal(err)
		}
		if n > 0 {
			break
		}
	}
	l, err := d.logs.Get(ctx, env.WebhookID)
	if err != nil {
		d.t.Fatal(err)
	}
	if l.Status != webhook.StatusSuccess || l.StatusCode == nil || *l.StatusCode != 200 || l.Attempts != 1 {
		d.t.Fatalf("delivery: status %s code %v attempts %d error %v response %s", l.Status, l.StatusCode, l.Attempts, l.Error, l.Response)
	}
	var v verdict
	if err := json.Unmarshal(l.Response, &v); err != nil {
		d.t.Fatalf("verifier's answer %s: %v", l.Response, err)
	}
	return v
}

// A rotation end to end: the secrets come from the API, the webhook goes through the queue and
// the delivery handler, and the official Python Standard Webhooks library verifies it. During
// the overlap the old and the new secret each verify; once it is over, one signature is sent
// and only the new secret verifies.
func TestRotationVerifiedIndependently(t *testing.T) {
	api := newAPIRig(t, true)
	d := newDeliveryRig(t, api)

	inst := api.create("")
	var rotated secrets
	api.ok(request{method: "POST", resource: "/api/instance/{instanceId}/webhook-secret/rotate", id: inst.ID}, 200, &rotated)
	if rotated.PreviousSecret == nil || *rotated.PreviousSecret != inst.WebhookSecret {
		t.Fatalf("rotation answered %+v", rotated)
	}
	url := startVerifier(t, map[string]string{
		"old": inst.WebhookSecret, "new": rotated.WebhookSecret,
		"stranger": webhook.NewSecret(), // never verifies: the verifier is not fooled
	})
	api.ok(request{method: "PUT", resource: "/api/instance/{instanceId}", id: inst.ID, body: `{"webhookUrl":"` + url + `/hook"}`}, 200, nil)

	during := d.deliver(inst.ID)
	if !during.Verified["old"] || !during.Verified["new"] || during.Verified["stranger"] || during.Signatures != 2 {
		t.Fatalf("during the overlap the verifier found %+v; want old and new verified from 2 signatures", during)
	}

	// The overlap ends: as 24 hours later, previousSecretExpiresAt is in the past.
	expireOverlap(t, api, inst.ID, time.Now().Add(-time.Second))
	api.setNow(time.Now())
	var after secrets
	api.ok(request{method: "GET", resource: "/api/instance/{instanceId}/webhook-secret", id: inst.ID}, 200, &after)
	if after.WebhookSecret != rotated.WebhookSecret || after.PreviousSecret != nil {
		t.Fatalf("after the overlap the API shows %+v", after)
	}

	v := d.deliver(inst.ID)
	if v.Signatures != 1 || !v.Verified["new"] || v.Verified["old"] || v.Verified["stranger"] {
		t.Fatalf("after the overlap the verifier found %+v; want only new verified from 1 signature", v)
	}
	if v.Errors["old"] == "" {
		t.Fatal("the verifier gave no reason for refusing the old secret")
	}
}

// expireOverlap sets the instance's previousSecretExpiresAt to at, as the clock would once
// the overlap is over.
func expireOverlap(t *testing.T, api *apiRig, id string, at time.Time) {
	t.Helper()
	v, err := attributevalue.Marshal(at.UTC())
	if err != nil {
		t.Fatal(err)
	}
	table := api.res.Table("InstancesTable")
	_, err = dynamodb.NewFromConfig(awstest.Config(t)).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 &table,
		Key:                       map[string]types.AttributeValue{"instanceId": &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          aws.String("SET previousSecretExpiresAt = :at"),
		ConditionExpression:       aws.String("attribute_exists(previousSecret)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":at": v},
	})
	if err != nil {
		t.Fatalf("end the overlap: %v", err)
	}
}
