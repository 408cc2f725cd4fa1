package host

import (
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/shared/store"
)

// What whatsmeow reports lands on the instance: every QR code of a connection with when
// they were issued, the device once paired, the status throughout.
func TestSessionsRecordWhatWhatsmeowReports(t *testing.T) {
	r := newHostRig(t)
	r.createInstances("inst_record")
	sessions := r.sessions()
	me := types.JID{User: "6281234567890", Device: 9, Server: types.DefaultUserServer}
	steps := []struct {
		name  string
		evt   any
		check func(store.SessionState) bool
	}{
		{"qr codes", &events.QR{Codes: []string{"2@one", "2@two", "2@three"}}, func(st store.SessionState) bool {
			code, ends, ok := st.CurrentQR(time.Now())
			return st.Status == "qr" && slices.Equal(st.QRCodes, []string{"2@one", "2@two", "2@three"}) && ok && code == "2@one" &&
				ends.Sub(*st.QRIssuedAt) == 60*time.Second
		}},
		{"paired", &events.PairSuccess{ID: me}, func(st store.SessionState) bool {
			_, _, ok := st.CurrentQR(time.Now())
			return st.DeviceJID == me.String() && st.PhoneNumber == me.User && !ok && st.QRCodes == nil && st.QRIssuedAt == nil
		}},
		{"connected", &events.Connected{}, func(st store.SessionState) bool { return st.Status == "connected" }},
		{"logged out", &events.LoggedOut{}, func(st store.SessionState) bool { return st.Status == "logged_out" && st.DeviceJID == "" }},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			sessions.record("inst_record", step.evt)
			st, err := r.instances.GetSession(r.ctx, "inst_record")
			if err != nil {
				t.Fatal(err)
			}
			if !step.check(st) {
				t.Fatalf("after %T: %+v", step.evt, st)
			}
		})
	}
}
