package host

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/awstest"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// A Fargate task's disk is gone at every restart. With WA_STORE=dynamodb, a host started on a
// fresh disk loads a paired instance's device and its keys back, so no one scans a QR again.
func TestRestartOnAFreshDiskKeepsDevicesInDynamoDB(t *testing.T) {
	ctx := context.Background()
	res := awstest.Stack(t)
	awsCfg := awstest.Config(t)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	hostOn := func(disk string) *Main {
		t.Helper()
		cfg := Config{
			HostID: "host-restart", InstancesTable: res.Table("InstancesTable"), QueueURL: res.QueueURL("EventsQueue"),
			HealthAddr: "127.0.0.1:0", Capacity: 10, LeaseTTL: time.Minute, LeaseInterval: time.Second,
			Linger: 20 * time.Millisecond, Store: "dynamodb", DevicesTable: res.Table("DevicesTable"), DataDir: disk,
		}
		m, err := NewMain(ctx, cfg, awsCfg, logger, func(*Sessions) (Leases, error) { return idleLeases{}, nil })
		if err != nil {
			t.Fatal(err)
		}
		m.Sessions.backoff = []time.Duration{time.Hour} // no route to WhatsApp here
		return m
	}
	instances := store.NewInstanceStore(dynamodb.NewFromConfig(awsCfg), res.Table("InstancesTable"))
	now := time.Now()
	const id = "inst_restart"
	if err := instances.Create(ctx, &webhook.Instance{ID: id, WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}

	// The first task pairs the instance: what whatsmeow saves at PairSuccess, plus the keys a
	// session gathers as it runs.
	first := hostOn(filepath.Join(t.TempDir(), "task-1"))
	device := first.devices.NewDevice()
	jid := types.JID{User: "6281234567890", Device: 12, Server: types.DefaultUserServer}
	device.ID = &jid
	device.PushName = "Sales desk"
	device.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1, 2}, AccountSignature: bytes.Repeat([]byte{2}, 64), AccountSignatureKey: bytes.Repeat([]byte{3}, 32), DeviceSignature: bytes.Repeat([]byte{4}, 64)}
	if err := device.Save(ctx); err != nil {
		t.Fatal(err)
	}
	peer := "6289876543210.0:0"
	if err := device.Sessions.PutSession(ctx, peer, []byte("signal session state")); err != nil {
		t.Fatal(err)
	}
	if err := device.Identities.PutIdentity(ctx, peer, [32]byte{9, 9, 9}); err != nil {
		t.Fatal(err)
	}
	preKeys, err := device.PreKeys.GetOrGenPreKeys(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	js := jid.String()
	if err := instances.SetSession(ctx, id, store.SessionUpdate{DeviceJID: &js}, now); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	// The next task, on a disk of its own, runs the instance with the same device.
	disk := filepath.Join(t.TempDir(), "task-2")
	second := hostOn(disk)
	defer second.Close()
	if err := second.Sessions.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	second.Sessions.mu.Lock()
	loaded := second.Sessions.running[id].client.Store
	second.Sessions.mu.Unlock()
	if loaded.ID == nil || *loaded.ID != jid || loaded.PushName != "Sales desk" ||
		*loaded.NoiseKey.Priv != *device.NoiseKey.Priv || *loaded.IdentityKey.Priv != *device.IdentityKey.Priv ||
		loaded.RegistrationID != device.RegistrationID || !bytes.Equal(loaded.Account.DeviceSignature, device.Account.DeviceSignature) {
		t.Fatalf("the restarted host runs another device: %+v", loaded)
	}
	if got, err := loaded.Sessions.GetSession(ctx, peer); err != nil || string(got) != "signal session state" {
		t.Fatalf("signal session after restart: %q %v", got, err)
	}
	if trusted, err := loaded.Identities.IsTrustedIdentity(ctx, peer, [32]byte{9, 9, 9}); err != nil || !trusted {
		t.Fatalf("identity after restart: %v %v", trusted, err)
	}
	for _, k := range preKeys {
		got, err := loaded.PreKeys.GetPreKey(ctx, k.KeyID)
		if err != nil || got == nil || *got.Priv != *k.Priv {
			t.Fatalf("pre-key %d after restart: %v %v", k.KeyID, got, err)
		}
	}
	// Nothing of it was on the disk.
	if entries, err := os.ReadDir(disk); err == nil && len(entries) > 0 {
		t.Fatalf("the DynamoDB store wrote to the disk: %v", entries)
	}
}
