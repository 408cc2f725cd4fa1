package sendcheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/infra/wasim"
	"github.com/wagate/wagate/session-host/host"
	"github.com/wagate/wagate/session-host/lease"
	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testLog writes each log line to the test's output.
type testLog struct{ t testing.TB }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Lease timing of the hosts: a killed host's instances move within leaseTTL+leaseInterval.
const (
	leaseTTL      = 3 * time.Second
	leaseInterval = time.Second
)

// rig is the sending half of the gateway on the emulator: the messages API, the stores, and
// the simulated WhatsApp network the hosts it starts connect to.
type rig struct {
	t         testing.TB
	ctx       context.Context
	res       *samtemplate.Resources
	awsCfg    aws.Config
	instances *store.InstanceStore
	outbox    *store.OutboxStore
	api       *apigw.Router
	network   *wasim.Network
}

// newRig makes a rig whose simulated WhatsApp has the given timing (receipts, QR codes).
func newRig(t testing.TB, whatsapp wasim.Options) *rig {
	t.Helper()
	r := &rig{t: t, ctx: context.Background(), res: awstest.Stack(t), awsCfg: awstest.Config(t)}
	db := dynamodb.NewFromConfig(r.awsCfg)
	r.instances = store.NewInstanceStore(db, r.res.Table("InstancesTable"))
	r.outbox = store.NewOutboxStore(db, r.res.Table("OutboxTable"), r.res.Table("InstancesTable"), 30*24*time.Hour)
	// The API's internal errors (logged, never answered) go to the test's output.
	r.api = apigw.NewRouter(slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelError})))
	manage.NewMessageAPI(manage.MessageDeps{Outbox: r.outbox, Instances: r.instances, Cursors: apigw.NewCursors([]byte("sendcheck cursor key 0123456789ab"))}).Register(r.api)
	whatsapp.Logger = quiet
	r.network = wasim.NewNetwork(whatsapp)
	return r
}

// runningHost is a session host started by the rig.
type runningHost struct {
	main   *host.Main
	cancel context.CancelFunc
	done   chan struct{}
	killed atomic.Bool
}

// fastClock is real time that jumps over every wait at once: the pace, which the sender's own
// tests check, does not stretch a test of a thousand messages to minutes.
type fastClock struct{ skipped atomic.Int64 }

func (c *fastClock) Now() time.Time { return time.Now().Add(time.Duration(c.skipped.Load())) }
func (c *fastClock) After(d time.Duration) <-chan time.Time {
	c.skipped.Add(int64(d))
	ch := make(chan time.Time, 1)
	ch <- c.Now()
	return ch
}

type fixedPace outbox.Pace

func (p fixedPace) PaceOf(context.Context, string) (outbox.Pace, error) { return outbox.Pace(p), nil }

// startHost runs a session host named name, as ECS runs one, over awsCfg (which a test may
// make fail), connected to the rig's simulated WhatsApp. clock nil is real time.
func (r *rig) startHost(name string, awsCfg aws.Config, clock *fastClock) *runningHost {
	r.t.Helper()
	cfg := host.Config{
		HostID: name, InstancesTable: r.res.Table("InstancesTable"), QueueURL: r.res.QueueURL("EventsQueue"),
		OutboxTable: r.res.Table("OutboxTable"), Retention: 30 * 24 * time.Hour,
		HealthAddr: "127.0.0.1:0", Capacity: 100, LeaseTTL: leaseTTL, LeaseInterval: leaseInterval,
		Linger: 20 * time.Millisecond, Store: "dynamodb", DevicesTable: r.res.Table("DevicesTable"),
	}
	instances := store.NewInstanceStore(dynamodb.NewFromConfig(awsCfg), cfg.InstancesTable)
	m, err := host.NewMain(r.ctx, cfg, awsCfg, quiet, func(s *host.Sessions) (host.Leases, error) {
		return lease.New(lease.Config{Owner: name, Store: instances, Sessions: s, Capacity: cfg.Capacity, Interval: leaseInterval, TTL: leaseTTL, Logger: quiet})
	})
	if err != nil {
		r.t.Fatal(err)
	}
	m.Sessions.UseClients(func(o host.ClientOptions) host.Client { return r.network.NewClient(o) })
	if clock != nil {
		m.Sessions.UseOutbox(host.Outbox{
			Store: store.NewOutboxStore(dynamodb.NewFromConfig(awsCfg), cfg.OutboxTable, cfg.InstancesTable, cfg.Retention),
			Paces: fixedPace{PerMinute: outbox.MaxPerMinute}, Clock: clock,
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &runningHost{main: m, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		if err := m.Run(ctx); err != nil {
			r.t.Errorf("host %s: %v", name, err)
		}
	}()
	r.t.Cleanup(func() {
		h.kill()
		if err := m.Close(); err != nil {
			r.t.Logf("close host %s: %v", name, err)
		}
	})
	return h
}

// kill stops the host as a crash would, from the outside world's view: its sessions and
// senders end and it renews no lease, but it releases none either, so another host takes its
// instances only once their leases end.
func (h *runningHost) kill() {
	if h.killed.Swap(true) {
		return
	}
	h.cancel()
	<-h.done
	h.main.Sessions.StopAll()
}

// linkedInstance creates an instance and links it to a simulated phone; it returns the
// account's JID.
func (r *rig) linkedInstance(id, phone string) types.JID {
	r.t.Helper()
	r.createInstance(id)
	return r.link(id, phone)
}

func (r *rig) createInstance(id string) {
	r.t.Helper()
	now := time.Now()
	if err := r.instances.Create(r.ctx, &webhook.Instance{ID: id, WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}); err != nil {
		r.t.Fatal(err)
	}
}

// link waits for a host to show the instance's QR code and scans it with a simulated phone.
func (r *rig) link(id, phone string) types.JID {
	r.t.Helper()
	var code string
	waitFor(r.t, time.Minute, "a QR code for "+id, func() bool {
		st, err := r.instances.GetSession(r.ctx, id)
		if err != nil {
			return false
		}
		code, _, _ = st.CurrentQR(time.Now())
		return code != ""
	})
	device, err := r.network.Scan(code, phone)
	if err != nil {
		r.t.Fatal(err)
	}
	waitFor(r.t, 30*time.Second, "the host to record the pairing of "+id, func() bool {
		st, err := r.instances.GetSession(r.ctx, id)
		return err == nil && st.DeviceJID != ""
	})
	return device.ToNonAD()
}

// send posts one message through the messages API as API Gateway hands it to the function,
// and returns its answer's data.
func (r *rig) send(instanceID, body, idempotencyKey string, wait int) (int, messageView) {
	r.t.Helper()
	req := events.APIGatewayProxyRequest{
		HTTPMethod: http.MethodPost, Resource: "/api/instance/{instanceId}/messages",
		Path:                  "/api/instance/" + instanceID + "/messages",
		PathParameters:        map[string]string{"instanceId": instanceID},
		QueryStringParameters: map[string]string{"wait": fmt.Sprint(wait)},
		Headers:               map[string]string{"Content-Type": "application/json"},
		Body:                  body,
	}
	if idempotencyKey != "" {
		req.Headers["Idempotency-Key"] = idempotencyKey
	}
	resp, err := r.api.Serve(r.ctx, req)
	if err != nil {
		r.t.Fatal(err)
	}
	var out struct {
		Success bool
		Data    messageView
	}
	if err := json.Unmarshal([]byte(resp.Body), &out); err != nil || !out.Success {
		r.t.Fatalf("POST messages: %d %s", resp.StatusCode, resp.Body)
	}
	return resp.StatusCode, out.Data
}

type messageView struct {
	MessageID string `json:"messageId"`
	ChatID    string `json:"chatId"`
	Status    string `json:"status"`
}

// waitFor polls cond until it holds, failing the test with what after limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitForProgress waits until count reaches n, failing the test when count has not grown
// for stall: on a shared machine the pace varies, and only a stall says something is wrong.
func waitForProgress(t testing.TB, stall time.Duration, what string, n int, count func() int) {
	t.Helper()
	last, since := count(), time.Now()
	for last < n {
		time.Sleep(20 * time.Millisecond)
		if c := count(); c > last {
			last, since = c, time.Now()
		} else if time.Since(since) > stall {
			t.Fatalf("%s: %d of %d, and none more for %s", what, last, n, stall)
		}
	}
}

// sentIDs are the ids the simulated WhatsApp accepted from account, in the order it accepted
// them, with how often each.
func (r *rig) sentIDs(account types.JID) ([]wasim.Sent, map[string]int) {
	sent := r.network.Sent(account)
	count := map[string]int{}
	for _, s := range sent {
		count[s.ID]++
	}
	return sent, count
}
