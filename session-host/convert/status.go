package convert

import (
	"encoding/json"
	"strconv"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// Session statuses, the data's "status" of session.status.
const (
	SessionQR           = "qr"
	SessionConnected    = "connected"
	SessionDisconnected = "disconnected"
	SessionLoggedOut    = "logged_out"
)

// statusData is the data of session.status.
type statusData struct {
	Status string `json:"status"`
	// PhoneNumber is null until the account is paired: the contract keeps the key present.
	PhoneNumber *string `json:"phoneNumber"`
	QR          string  `json:"qr,omitempty"`
	Reason      string  `json:"reason,omitempty"`
}

// SessionStatus converts a whatsmeow connection event: Connected, Disconnected, LoggedOut and
// StreamReplaced (another connection took over the session: disconnected, reason
// "stream_replaced"). ok is false for any other event. device is the account's device JID
// (whatsmeow's Store.ID), the zero JID while unpaired; it gives phoneNumber, since these events
// don't carry it.
func SessionStatus(evt any, device types.JID) (data json.RawMessage, ok bool) {
	d := statusData{PhoneNumber: phoneNumber(device)}
	switch e := evt.(type) {
	case *events.Connected:
		d.Status = SessionConnected
	case *events.Disconnected:
		d.Status = SessionDisconnected
	case *events.StreamReplaced:
		d.Status, d.Reason = SessionDisconnected, "stream_replaced"
	case *events.LoggedOut:
		d.Status, d.Reason = SessionLoggedOut, logoutReason(e.Reason)
	default:
		return nil, false
	}
	return marshal(d), true
}

// QR is the status to show one pairing code. whatsmeow hands out several codes that replace one
// another over time (events.QR's Codes, or its QR channel), so the caller sends one of these per
// code as it shows it.
func QR(code string) json.RawMessage {
	return marshal(statusData{Status: SessionQR, QR: code})
}

// phoneNumber returns the digits of a paired account's number, nil before pairing.
func phoneNumber(device types.JID) *string {
	if device.Server != types.DefaultUserServer || device.User == "" {
		return nil
	}
	return &device.User
}

// logoutReason names why WhatsApp logged the account out, in the snake_case of the other
// reasons. whatsmeow sends LoggedOut for these three codes only; the fallback keeps a code it
// may add later visible.
func logoutReason(r events.ConnectFailureReason) string {
	switch r {
	case events.ConnectFailureLoggedOut: // the device was unlinked, on the phone or elsewhere
		return "device_removed"
	case events.ConnectFailureMainDeviceGone: // WhatsApp Web calls it "locked"
		return "main_device_gone"
	case events.ConnectFailureUnknownLogout: // WhatsApp Web calls it "banned"
		return "unknown_logout"
	}
	return "connect_failure_" + strconv.Itoa(int(r))
}
