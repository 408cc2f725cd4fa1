package host

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/awstest"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// Deleting an instance removes its device keys when its session stops; losing the lease to
// another host keeps them.
func TestStopForgetsTheDeviceOfADeletedInstanceOnly(t *testing.T) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	res := awstest.Stack(t)
	instances := store.NewInstanceStore(dynamodb.NewFromConfig(awstest.Config(t)), res.Table("InstancesTable"))
	devices, err := OpenSQLDevices(ctx, t.TempDir(), "", logger)
	if err != nil {
		t.Fatal(err)
	}
	sessions := NewSessions(devices, instances, nil, logger)
	sessions.backoff = []time.Duration{time.Hour} // one connection attempt, no network anyway

	pair := func(id, user string) types.JID {
		now := time.Now()
		if err := instances.Create(ctx, &webhook.Instance{ID: id, WebhookSecret: webhook.NewSecret(), CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		device := devices.NewDevice()
		jid := types.JID{User: user, Device: 2, Server: types.DefaultUserServer}
		device.ID = &jid
		device.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte{1}, AccountSignature: bytes.Repeat([]byte{2}, 64), AccountSignatureKey: bytes.Repeat([]byte{3}, 32), DeviceSignature: bytes.Repeat([]byte{4}, 64)}
		if err := device.Save(ctx); err != nil {
			t.Fatal(err)
		}
		js := jid.String()
		if err := instances.SetSession(ctx, id, store.SessionUpdate{DeviceJID: &js}, now); err != nil {
			t.Fatal(err)
		}
		if err := sessions.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
		return jid
	}
	deleted := pair("inst_deleted", "6281111")
	moved := pair("inst_moved", "6282222")

	if err := instances.Delete(ctx, "inst_deleted"); err != nil {
		t.Fatal(err)
	}
	sessions.Stop("inst_deleted")
	sessions.Stop("inst_moved")

	if d, err := devices.GetDevice(ctx, deleted); err != nil || d != nil {
		t.Fatalf("device of the deleted instance: %v %v", d, err)
	}
	if d, err := devices.GetDevice(ctx, moved); err != nil || d == nil {
		t.Fatalf("device of an instance that only moved hosts: %v %v", d, err)
	}
}
