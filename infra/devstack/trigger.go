package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

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

// trigger publishes an event for an instance through the publisher the session host uses,
// with realistic data for every field the caller left out.
func (s *Stack) trigger(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	var in triggerInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	if in.InstanceID == nil {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "instanceId: required")
	}
	if err := webhook.ValidateInstanceID("instanceId", *in.InstanceID); err != nil {
		return apigw.Response{}, err
	}
	if in.Event == nil || !webhook.IsEvent(*in.Event) || *in.Event == webhook.EventWebhookTest {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "event: must be one of session.status, message.received, message.sent, message.updated")
	}
	data := map[string]any{}
	if len(in.Data) > 0 && string(in.Data) != "null" {
		if err := json.Unmarshal(in.Data, &data); err != nil {
			return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "data: must be a JSON object")
		}
	}
	if _, err := s.instances.Get(ctx, *in.InstanceID); err != nil {
		return apigw.Response{}, err
	}
	now := time.Now()
	full := defaultData(*in.Event, now)
	maps.Copy(full, data)
	raw, err := json.Marshal(full)
	if err != nil {
		return apigw.Response{}, fmt.Errorf("encode trigger data: %w", err)
	}
	env := &webhook.Envelope{Event: *in.Event, InstanceID: *in.InstanceID, Data: raw}
	if err := s.publisher.Publish(ctx, []*webhook.Envelope{env}); err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Status: http.StatusAccepted, Data: env}, nil
}

// defaultData is what a real event of that kind carries, with fresh ids and times.
func defaultData(event string, now time.Time) map[string]any {
	messageID := "3EB0" + strings.ToUpper(fmt.Sprintf("%016X", rand.Uint64()))
	contact := "6281234567890@s.whatsapp.net"
	ts := webhook.FormatTime(now)
	switch event {
	case webhook.EventSessionStatus:
		return map[string]any{"status": "connected", "phoneNumber": "6283841581033"}
	case webhook.EventMessageSent:
		return map[string]any{
			"messageId": messageID, "from": "6283841581033@s.whatsapp.net", "to": contact, "chatId": contact,
			"body": "Thanks, we'll get back to you shortly.", "type": "text", "timestamp": ts,
			"fromMe": true, "pushName": "wagate", "isGroup": false,
		}
	case webhook.EventMessageUpdated:
		return map[string]any{"messageId": messageID, "chatId": contact, "status": "delivered", "timestamp": ts, "by": contact}
	default: // message.received
		return map[string]any{
			"messageId": messageID, "from": contact, "chatId": contact, "body": "Hello!", "type": "text",
			"timestamp": ts, "fromMe": false, "pushName": "Budi", "isGroup": false,
		}
	}
}
