package devstack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/session-host/convert"
	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/webhook"
)

// TriggerResource is the local stack's own route: it exists only here, never in template.yaml.
const TriggerResource = "/api/dev/trigger"

type triggerInput struct {
	InstanceID *string         `json:"instanceId"`
	Event      *string         `json:"event"`
	Data       json.RawMessage `json:"data"`
}

// receiptInput is the data of a triggered message.updated.
type receiptInput struct {
	MessageID string `json:"messageId"`
	Status    string `json:"status"`
}

// trigger makes something happen on the instance's simulated WhatsApp account that becomes the
// event asked for, through the session host and the same conversion as real WhatsApp's events:
// message.received, a contact writes (data as the incoming route's body); message.sent, the
// phone writes (as the outgoing route's); message.updated, a receipt for the last message the
// account sent (data: messageId, status); session.status, the connection drops and comes back.
// An instance not linked yet is linked to its simulated phone first.
func (s *Stack) trigger(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	var in triggerInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	if in.InstanceID == nil {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "instanceId: required")
	}
	id := *in.InstanceID
	if err := webhook.ValidateInstanceID("instanceId", id); err != nil {
		return apigw.Response{}, err
	}
	if in.Event == nil || !webhook.IsEvent(*in.Event) || *in.Event == webhook.EventWebhookTest {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "event: must be one of session.status, message.received, message.sent, message.updated")
	}
	var msg messageInput
	var rcpt receiptInput
	switch *in.Event {
	case webhook.EventMessageReceived, webhook.EventMessageSent:
		if err := decodeData(in.Data, &msg); err != nil {
			return apigw.Response{}, err
		}
	case webhook.EventMessageUpdated:
		if err := decodeData(in.Data, &rcpt); err != nil {
			return apigw.Response{}, err
		}
	default:
		if err := decodeData(in.Data, &struct{}{}); err != nil {
			return apigw.Response{}, err
		}
	}
	account, err := s.linked(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	var evt any
	switch *in.Event {
	case webhook.EventMessageReceived:
		evt, err = s.receive(account, msg, "data.")
	case webhook.EventMessageSent:
		evt, err = s.sendFromPhone(account, msg, "data.")
	case webhook.EventMessageUpdated:
		evt, err = s.receipt(account, rcpt)
	default:
		return s.reconnect(id, account)
	}
	if err != nil {
		return apigw.Response{}, err
	}
	env, err := envelope(id, evt)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Status: http.StatusAccepted, Data: env}, nil
}

// decodeData reads the trigger's data into v, refusing what v does not have.
func decodeData(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return webhook.Errorf(webhook.EInvalid, "data.%s: not a field of this event's data", strings.Trim(field, `"`))
		}
		return webhook.Errorf(webhook.EInvalid, "data: must be a JSON object of this event's fields")
	}
	return nil
}

// linked answers the instance's device, linking the instance to its simulated phone first if
// it is not linked yet.
func (s *Stack) linked(ctx context.Context, id string) (types.JID, error) {
	st, err := s.instances.GetSession(ctx, id)
	if err != nil {
		return types.EmptyJID, err
	}
	if st.DeviceJID == "" {
		return s.link(ctx, id, phoneFor(id), "qr", "")
	}
	return types.ParseJID(st.DeviceJID)
}

// receipt makes the recipient of a message the account sent (the last one unless messageId
// names another) send a receipt for it.
func (s *Stack) receipt(account types.JID, in receiptInput) (*events.Receipt, error) {
	typ := types.ReceiptTypeDelivered
	switch in.Status {
	case "", convert.StatusDelivered:
	case convert.StatusRead:
		typ = types.ReceiptTypeRead
	case convert.StatusPlayed:
		typ = types.ReceiptTypePlayed
	default:
		return nil, webhook.Errorf(webhook.EInvalid, "data.status: must be delivered, read or played")
	}
	sent := s.phones.Sent(account)
	for i := len(sent) - 1; i >= 0; i-- {
		m := sent[i]
		if in.MessageID != "" && m.ID != in.MessageID {
			continue
		}
		by := m.Chat.User
		if m.Chat.Server == types.GroupServer {
			members, _ := s.phones.Participants(m.Chat)
			for _, p := range members {
				if p != account.User {
					by = p
					break
				}
			}
		}
		return s.phones.SendReceipt(account, by, m.Chat, typ, m.ID), nil
	}
	if in.MessageID != "" {
		return nil, webhook.Errorf(webhook.EInvalid, "data.messageId: the account sent no message %s", in.MessageID)
	}
	return nil, webhook.Errorf(webhook.EConflict, "the account has sent no message yet to have a receipt for; send one first (make trigger EVENT=message.sent)")
}

// reconnect drops the instance's simulated connection: session.status disconnected, then
// connected again once the client reconnects.
func (s *Stack) reconnect(id string, account types.JID) (apigw.Response, error) {
	if err := s.phones.Drop(account); err != nil {
		return apigw.Response{}, webhook.Errorf(webhook.EConflict, "instance %s is not connected now; try again in a few seconds", id)
	}
	return apigw.Response{Status: http.StatusAccepted, Data: map[string]any{
		"event": webhook.EventSessionStatus, "instanceId": id, "deviceJid": account.String(),
		"statuses": []string{convert.SessionDisconnected, convert.SessionConnected},
	}}, nil
}

// envelope is the webhook the session host makes of a message or receipt event: the same
// conversion, and the same webhook id, derived as session-host/host/events.go derives it.
func envelope(id string, evt any) (*webhook.Envelope, error) {
	var name, key string
	var data json.RawMessage
	var at time.Time
	switch e := evt.(type) {
	case *events.Message:
		at = e.Info.Timestamp
		var ok bool
		if name, data, ok = convert.Message(e); !ok {
			return nil, fmt.Errorf("message %s converts to no event", e.Info.ID)
		}
		key = "msg/" + e.Info.Chat.String() + "/" + e.Info.ID
	case *events.Receipt:
		datas := convert.Receipt(e)
		if len(datas) != 1 {
			return nil, fmt.Errorf("receipt converts to %d events", len(datas))
		}
		name, data, at = webhook.EventMessageUpdated, datas[0], e.Timestamp
		key = fmt.Sprintf("receipt/%s/%s/%s/%d", e.Type, e.Sender, e.Chat, 0) + "/" + e.MessageIDs[0]
	}
	return &webhook.Envelope{
		Event: name, InstanceID: id, Timestamp: webhook.FormatTime(at), Data: data,
		WebhookID: webhook.DeriveWebhookID(at, id+"/"+name+"/"+key),
	}, nil
}
