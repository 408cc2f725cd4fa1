package host

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/store"
)

// A Fargate task's disk is gone at every restart. With WA_STORE=dynamodb, a host started on a
// fresh disk loads a paired instance's device and its keys back, so no one scans a QR again.
func TestRestartOnAFreshDiskKeepsDevicesInDynamoDB(t *testing.T) {
	r := newHostRig(t)
	ctx := r.ctx
	hostOn := func(disk string) *Main {
		cfg := r.config("host-restart")
		cfg.Store, cfg.DevicesTable, cfg.DataDir = "dynamodb", r.res.Table("DevicesTable"), disk
		return r.newMain(cfg)
	}
	const id = "inst_restart"
	r.createInstances(id)

	// The first task pairs the instance: what whatsmeow saves at PairSuccess, plus the keys a
	// session gathers as it runs.
	first := hostOn(filepath.Join(t.TempDir(), "task-1"))
	jid := types.JID{User: "6281234567890", Device: 12, Server: types.DefaultUserServer}
	device := savePairedDevice(t, first.devices, jid)
	device.PushName = "Sales desk"
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
	if err := r.instances.SetSession(ctx, id, store.SessionUpdate{DeviceJID: &js}, time.Now()); err != nil {
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
	sess, _ := second.Sessions.current(id)
	loaded := sess.device
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
