package convert

import (
	"testing"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

func TestSessionStatus(t *testing.T) {
	tests := []struct {
		name   string
		evt    any
		device types.JID
	}{
		{"status_connected", &events.Connected{}, me},
		{"status_disconnected", &events.Disconnected{}, me},
		{"status_disconnected_unpaired", &events.Disconnected{}, types.EmptyJID},
		{"status_stream_replaced", &events.StreamReplaced{}, me},
		// The stream error whatsmeow sends when the device is unlinked while connected.
		{"status_logged_out_device_removed", &events.LoggedOut{OnConnect: false, Reason: events.ConnectFailureLoggedOut}, me},
		{"status_logged_out_main_device_gone", &events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureMainDeviceGone}, me},
		{"status_logged_out_unknown", &events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureUnknownLogout}, me},
		{"status_logged_out_other_code", &events.LoggedOut{OnConnect: true, Reason: events.ConnectFailureReason(499)}, me},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, ok := SessionStatus(tt.evt, tt.device)
			if !ok {
				t.Fatal("not converted")
			}
			golden(t, tt.name, data)
		})
	}
}

func TestSessionStatusOtherEvents(t *testing.T) {
	// QR codes go through QR, one at a time; the rest are not session statuses.
	for _, evt := range []any{&events.QR{Codes: []string{"2@abc"}}, &events.KeepAliveTimeout{}, &events.PairSuccess{ID: me}, nil} {
		if data, ok := SessionStatus(evt, me); ok {
			t.Errorf("%T converted to %s", evt, data)
		}
	}
}

func TestQR(t *testing.T) {
	golden(t, "status_qr", QR("2@Yx8kz1N0rHmBwQ==,hTq4f7WcVd0dH8XyZ3o=,3p1kYbqA9dL2s=,AAECAwQFBgcICQ=="))
}
