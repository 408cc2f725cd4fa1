package host

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/samtemplate"
	wastore "github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

var quietLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// hostRig is what the host's tests stand on: the template's tables and queue on the emulator,
// the instance store over them, and a SQLite device store of the test's own.
type hostRig struct {
	t         *testing.T
	ctx       context.Context
	res       *samtemplate.Resources
	awsCfg    aws.Config
	instances *wastore.InstanceStore
	devices   *sqlstore.Container
}

func newHostRig(t *testing.T) *hostRig {
	t.Helper()
	ctx := context.Background()
	res := awstest.Stack(t)
	awsCfg := awstest.Config(t)
	devices, err := OpenSQLDevices(ctx, t.TempDir(), "", quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devices.Close() })
	return &hostRig{
		t: t, ctx: ctx, res: res, awsCfg: awsCfg, devices: devices,
		instances: wastore.NewInstanceStore(dynamodb.NewFromConfig(awsCfg), res.Table("InstancesTable")),
	}
}

// config is a host's configuration over the rig's resources, with the SQLite store.
func (r *hostRig) config(hostID string) Config {
	return Config{
		HostID: hostID, InstancesTable: r.res.Table("InstancesTable"), QueueURL: r.res.QueueURL("EventsQueue"),
		OutboxTable: r.res.Table("OutboxTable"), Retention: 30 * 24 * time.Hour,
		HealthAddr: "127.0.0.1:0", Capacity: 10, LeaseTTL: time.Minute, LeaseInterval: time.Second,
		Linger: 20 * time.Millisecond, Store: "sqlite", DataDir: r.t.TempDir(),
	}
}

// newMain builds a host from cfg that holds no lease (the test starts sessions itself) and
// tries each connection once.
func (r *hostRig) newMain(cfg Config) *Main {
	r.t.Helper()
	m, err := NewMain(r.ctx, cfg, r.awsCfg, quietLogger, func(*Sessions) (Leases, error) { return idleLeases{}, nil })
	if err != nil {
		r.t.Fatal(err)
	}
	m.Sessions.backoff = []time.Duration{time.Hour}
	return m
}

// sessions are sessions over the rig's stores that try to connect once: there is no route to
// WhatsApp here.
func (r *hostRig) sessions() *Sessions {
	s := NewSessions(r.devices, r.instances, nil, quietLogger)
	s.backoff = []time.Duration{time.Hour}
	return s
}

func (r *hostRig) createInstances(ids ...string) {
	r.t.Helper()
	now := time.Now()
	for _, id := range ids {
		if err := r.instances.Create(r.ctx, &webhook.Instance{ID: id, WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}); err != nil {
			r.t.Fatal(err)
		}
	}
}

// pair saves a device paired as jid in the rig's device store and records it on the instance,
// as pairing leaves them.
func (r *hostRig) pair(id string, jid types.JID) *store.Device {
	r.t.Helper()
	device := savePairedDevice(r.t, r.devices, jid)
	js := jid.String()
	if err := r.instances.SetSession(r.ctx, id, wastore.SessionUpdate{DeviceJID: &js}, time.Now()); err != nil {
		r.t.Fatal(err)
	}
	return device
}

// savePairedDevice saves a device as pairing leaves it: new keys, an id and the account's
// signed identity.
func savePairedDevice(t *testing.T, devices Devices, jid types.JID) *store.Device {
	t.Helper()
	device := devices.NewDevice()
	device.ID = &jid
	device.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1}, AccountSignature: bytes.Repeat([]byte{2}, 64), AccountSignatureKey: bytes.Repeat([]byte{3}, 32), DeviceSignature: bytes.Repeat([]byte{4}, 64)}
	if err := device.Save(context.Background()); err != nil {
		t.Fatal(err)
	}
	return device
}

// current is the session the instance runs now, if any.
func (s *Sessions) current(id string) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.running[id]
	return sess, ok
}
