// Package convert turns whatsmeow events into the data of wagate's webhook events (DESIGN.md §2).
// It is pure: no network, no store, no clock. The caller wraps the data in a webhook.Envelope.
//
// Shared conventions:
//   - Users are named by their phone JID without a device part; where WhatsApp gave a LID the
//     LID is added as senderLid (see person). A caller that knows a LID's phone number from the
//     device store can set the event's SenderAlt/RecipientAlt before converting.
//   - Timestamps are webhook.FormatTime of WhatsApp's own time for the event.
package convert

import "encoding/json"

// marshal encodes data built by this package. Its types hold only strings, bools, integers,
// finite floats, slices and pointers to those, which encoding/json cannot fail on, so an error
// here is a bug in this package.
func marshal(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("convert: " + err.Error())
	}
	return b
}
