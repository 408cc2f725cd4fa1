package host

import (
	"testing"

	"go.mau.fi/whatsmeow/types"
)

// Deleting an instance removes its device keys when its session stops; losing the lease to
// another host keeps them.
func TestStopForgetsTheDeviceOfADeletedInstanceOnly(t *testing.T) {
	r := newHostRig(t)
	sessions := r.sessions()
	pair := func(id, user string) types.JID {
		r.createInstances(id)
		jid := types.JID{User: user, Device: 2, Server: types.DefaultUserServer}
		r.pair(id, jid)
		if err := sessions.Start(r.ctx, id); err != nil {
			t.Fatal(err)
		}
		return jid
	}
	deleted := pair("inst_deleted", "6281111")
	moved := pair("inst_moved", "6282222")

	if err := r.instances.Delete(r.ctx, "inst_deleted"); err != nil {
		t.Fatal(err)
	}
	sessions.Stop("inst_deleted")
	sessions.Stop("inst_moved")

	if d, err := r.devices.GetDevice(r.ctx, deleted); err != nil || d != nil {
		t.Fatalf("device of the deleted instance: %v %v", d, err)
	}
	if d, err := r.devices.GetDevice(r.ctx, moved); err != nil || d == nil {
		t.Fatalf("device of an instance that only moved hosts: %v %v", d, err)
	}
}
