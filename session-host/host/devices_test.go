package host

import (
	"bytes"
	"context"
	"testing"

	"go.mau.fi/whatsmeow/types"
)

// A paired device saved by one host process is there for the next one on the same disk, or
// the same Postgres.
func TestDeviceStoreKeepsDevicesAcrossOpens(t *testing.T) {
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			dir, dsn := t.TempDir(), ""
			if store == "postgres" {
				dsn = startPostgres(t)
			}
			testDevicesKept(t, dir, dsn)
		})
	}
}

func testDevicesKept(t *testing.T, dir, dsn string) {
	ctx := context.Background()
	devices, err := OpenSQLDevices(ctx, dir, dsn, quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	defer devices.Close()
	jid := types.JID{User: "6281234567890", Device: 7, Server: types.DefaultUserServer}
	device := savePairedDevice(t, devices, jid)
	device.PushName = "Sales"
	if err := device.Save(ctx); err != nil {
		t.Fatal(err)
	}

	reopened, err := OpenSQLDevices(ctx, dir, dsn, quietLogger)
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	got, err := reopened.GetDevice(ctx, jid)
	if err != nil || got == nil {
		t.Fatalf("device after reopening: %v %v", got, err)
	}
	if got.PushName != "Sales" || got.NoiseKey == nil || *got.NoiseKey.Priv != *device.NoiseKey.Priv || !bytes.Equal(got.Account.DeviceSignature, device.Account.DeviceSignature) {
		t.Fatal("device keys changed across reopening")
	}
}
