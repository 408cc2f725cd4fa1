package devstack_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/types"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/devstack"
	"github.com/wagate/wagate/session-host/dynamostore"
	"github.com/wagate/wagate/shared/webhook"
)

// delivered waits for the receiver to get the webhook of id, checks its signature and answers
// its envelope.
func (e *endpoint) delivered(t *testing.T, secret, id string) webhook.Envelope {
	t.Helper()
	var env webhook.Envelope
	eventually(t, "webhook "+id+" delivered", func() bool {
		headers, bodies := e.requests()
		for i, h := range headers {
			if h.Get("webhook-id") != id {
				continue
			}
			if err := webhook.Verify(secret, bodies[i], h); err != nil {
				t.Fatalf("signature: %v", err)
			}
			json.Unmarshal(bodies[i], &env)
			return true
		}
		return false
	})
	return env
}

// where answers the data of the first webhook of event whose data has the given fields.
func (e *endpoint) where(t *testing.T, event string, fields map[string]any) map[string]any {
	t.Helper()
	_, _, data := e.first(t, event, fields)
	return data
}

// first waits for the first webhook of event whose data has the given fields, and answers its
// headers, body and data.
func (e *endpoint) first(t *testing.T, event string, fields map[string]any) (http.Header, []byte, map[string]any) {
	t.Helper()
	var (
		header http.Header
		body   []byte
		found  map[string]any
	)
	eventually(t, fmt.Sprintf("a %s webhook with %v", event, fields), func() bool {
		headers, bodies := e.requests()
		for i, b := range bodies {
			var env struct {
				Event string
				Data  map[string]any
			}
			json.Unmarshal(b, &env)
			match := env.Event == event
			for k, v := range fields {
				match = match && env.Data[k] == v
			}
			if match {
				header, body, found = headers[i], b, env.Data
				return true
			}
		}
		return false
	})
	return header, body, found
}

func data(t *testing.T, env webhook.Envelope) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(env.Data, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

type linked struct {
	InstanceID, Phone, DeviceJID, Method string
}

// TestSimulatedPhone drives an instance's simulated phone over HTTP: link it, make a contact
// write text and an image, the phone write, a receipt and a reconnect, and list what the
// simulated WhatsApp received.
func TestSimulatedPhone(t *testing.T) {
	s := startStack(t, awstest.Prefix(t))
	c := client{t, s.URL, testKey}
	ep := newEndpoint(t, 200)
	var in instance
	c.ok("POST", "/api/instance", fmt.Sprintf(`{"webhookUrl":%q}`, ep.URL+"/webhook"), 201, &in)
	base := "/api/dev/phone/" + in.ID

	if r := c.call("POST", base+"/incoming", `{}`); r.Status != 409 || !strings.Contains(r.Error.Message, "/link") {
		t.Fatalf("incoming before linking: %d %s", r.Status, r.Raw)
	}
	var l linked
	c.ok("POST", base+"/link", `{"phone":"+6283841581033"}`, 200, &l)
	if l.Phone != "6283841581033" || !strings.HasPrefix(l.DeviceJID, "6283841581033:") || l.Method != "qr" {
		t.Fatalf("linked %+v", l)
	}
	ep.where(t, "session.status", map[string]any{"status": "connected", "phoneNumber": "6283841581033"})
	if r := c.call("POST", base+"/link", `{}`); r.Status != 409 {
		t.Fatalf("linked twice: %d %s", r.Status, r.Raw)
	}

	// A contact writes a text, then an image: converted, signed webhooks.
	var m struct{ MessageID, ChatID, From string }
	c.ok("POST", base+"/incoming", `{"from":"6281234567890","pushName":"Alice","body":"Halo"}`, 202, &m)
	got := ep.where(t, "message.received", map[string]any{"messageId": m.MessageID})
	for k, want := range map[string]any{"body": "Halo", "type": "text", "from": "6281234567890@s.whatsapp.net", "chatId": "6281234567890@s.whatsapp.net", "pushName": "Alice", "fromMe": false, "isGroup": false} {
		if got[k] != want {
			t.Errorf("%s: %v, want %v", k, got[k], want)
		}
	}
	img := []byte("\xff\xd8\xff\xe0 not much of a JPEG")
	sum := sha256.Sum256(img)
	c.ok("POST", base+"/incoming", fmt.Sprintf(`{"type":"image","body":"the menu","media":%q}`, base64.StdEncoding.EncodeToString(img)), 202, &m)
	got = ep.where(t, "message.received", map[string]any{"messageId": m.MessageID})
	media, _ := got["media"].(map[string]any)
	if got["type"] != "image" || got["body"] != "the menu" || media["sha256"] != base64.StdEncoding.EncodeToString(sum[:]) ||
		media["fileLength"] != float64(len(img)) || media["mimetype"] != "image/jpeg" || got["pushName"] != "Budi" {
		t.Fatalf("image %v", got)
	}

	// The trigger goes through the simulation too: each event is the converted one.
	var env webhook.Envelope
	c.ok("POST", "/api/dev/trigger", fmt.Sprintf(`{"instanceId":%q,"event":"message.received","data":{"body":"via trigger"}}`, in.ID), 202, &env)
	if d := data(t, ep.delivered(t, in.WebhookSecret, env.WebhookID)); d["body"] != "via trigger" || d["type"] != "text" {
		t.Fatalf("trigger received %v", d)
	}
	c.ok("POST", "/api/dev/trigger", fmt.Sprintf(`{"instanceId":%q,"event":"message.sent","data":{"to":"+6281234567891","body":"on my way"}}`, in.ID), 202, &env)
	sent := data(t, ep.delivered(t, in.WebhookSecret, env.WebhookID))
	if sent["fromMe"] != true || sent["to"] != "6281234567891@s.whatsapp.net" || sent["body"] != "on my way" {
		t.Fatalf("trigger sent %v", sent)
	}
	// The phone's message gets its receipts by itself; a triggered one is one more.
	ep.where(t, "message.updated", map[string]any{"messageId": sent["messageId"], "status": "read"})
	c.ok("POST", "/api/dev/trigger", fmt.Sprintf(`{"instanceId":%q,"event":"message.updated","data":{"status":"played"}}`, in.ID), 202, &env)
	if d := data(t, ep.delivered(t, in.WebhookSecret, env.WebhookID)); d["status"] != "played" || d["messageId"] != sent["messageId"] || d["by"] != "6281234567891@s.whatsapp.net" {
		t.Fatalf("trigger updated %v", d)
	}
	var status struct{ Statuses []string }
	c.ok("POST", "/api/dev/trigger", fmt.Sprintf(`{"instanceId":%q,"event":"session.status"}`, in.ID), 202, &status)
	ep.where(t, "session.status", map[string]any{"status": "disconnected", "phoneNumber": "6283841581033"})

	// What reached the simulated WhatsApp from the account.
	var list []struct {
		MessageID, ChatID, Event string
		Data                     map[string]any
	}
	c.ok("GET", base+"/sent", "", 200, &list)
	if len(list) != 1 || list[0].MessageID != sent["messageId"] || list[0].Event != "message.sent" || list[0].Data["body"] != "on my way" {
		t.Fatalf("sent %+v", list)
	}

	// A group, and a message in it.
	var g struct{ GroupID string }
	c.ok("POST", base+"/groups", `{"participants":["6281234567890"]}`, 201, &g)
	c.ok("POST", base+"/incoming", fmt.Sprintf(`{"group":%q,"type":"poll"}`, g.GroupID), 202, &m)
	if d := ep.where(t, "message.received", map[string]any{"messageId": m.MessageID}); d["isGroup"] != true || d["chatId"] != g.GroupID || d["type"] != "poll" {
		t.Fatalf("group poll %v", d)
	}

	// Unlinked from the phone: logged out, and a new session to pair.
	c.ok("DELETE", base+"/link", "", 200, nil)
	ep.where(t, "session.status", map[string]any{"status": "logged_out", "reason": "device_removed"})
}

func TestPhoneRoutesValidate(t *testing.T) {
	s := startStack(t, awstest.Prefix(t))
	c := client{t, s.URL, testKey}
	c.ok("POST", "/api/instance", `{"instanceId":"inst_v"}`, 201, nil)
	c.ok("POST", "/api/dev/phone/inst_v/link", `{"method":"code"}`, 200, nil)
	tests := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/api/dev/phone/inst_none/incoming", `{}`, 404, ""},
		{"POST", "/api/dev/phone/inst_v/link", `{"phone":"99912345678"}`, 400, "phone"},
		{"POST", "/api/dev/phone/inst_v/link", `{"method":"nfc"}`, 400, "method"},
		{"POST", "/api/dev/phone/inst_v/incoming", `{"type":"gif"}`, 400, "type"},
		{"POST", "/api/dev/phone/inst_v/incoming", `{"type":"reaction"}`, 400, "messageId"},
		{"POST", "/api/dev/phone/inst_v/incoming", `{"media":"%%%"}`, 400, "media"},
		{"POST", "/api/dev/phone/inst_v/incoming", `{"from":"99912345678"}`, 400, "from"},
		{"POST", "/api/dev/phone/inst_v/incoming", `{"group":"x@s.whatsapp.net"}`, 400, "group"},
		{"POST", "/api/dev/phone/inst_v/incoming", `{"to":"6281234567890"}`, 400, "to"},
		{"POST", "/api/dev/phone/inst_v/incoming", `{"colour":"red"}`, 400, "colour"},
		{"POST", "/api/dev/phone/inst_v/outgoing", `{"to":"abc"}`, 400, "to"},
		{"POST", "/api/dev/phone/inst_v/outgoing", `{"to":"99912345678"}`, 400, "to"},
		{"POST", "/api/dev/phone/inst_v/groups", `{"participants":["12"]}`, 400, "participants[0]"},
		{"POST", "/api/dev/trigger", `{"instanceId":"inst_v","event":"message.received","data":{"type":"gif"}}`, 400, "data.type"},
		{"POST", "/api/dev/trigger", `{"instanceId":"inst_v","event":"message.received","data":{"colour":"red"}}`, 400, "data.colour"},
		{"POST", "/api/dev/trigger", `{"instanceId":"inst_v","event":"message.updated","data":{"status":"seen"}}`, 400, "data.status"},
		{"POST", "/api/dev/trigger", `{"instanceId":"inst_v","event":"message.updated"}`, 409, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.body, func(t *testing.T) {
			r := c.call(tt.method, tt.path, tt.body)
			if r.Status != tt.status || (tt.field != "" && !strings.HasPrefix(r.Error.Message, tt.field+":")) {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		})
	}
}

// TestRestartKeepsThePairing: the device keys are in DevicesTable, so a stack started again
// over the same resources connects the instance as paired, and its phone can write at once.
func TestRestartKeepsThePairing(t *testing.T) {
	prefix := awstest.Prefix(t)
	first, err := devstack.Start(context.Background(), devstack.Options{
		Addr: "127.0.0.1:0", APIKeys: []string{testKey}, Endpoint: awstest.Endpoint(t),
		Prefix: prefix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ep := newEndpoint(t, 200)
	c1 := client{t, first.URL, testKey}
	var in instance
	c1.ok("POST", "/api/instance", fmt.Sprintf(`{"webhookUrl":%q}`, ep.URL+"/webhook"), 201, &in)
	var l linked
	c1.ok("POST", "/api/dev/phone/"+in.ID+"/link", "", 200, &l)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := startStack(t, prefix)
	jid, _ := types.ParseJID(l.DeviceJID)
	devices := dynamostore.New(dynamodb.NewFromConfig(awstest.Config(t)), second.Resources.Table("DevicesTable"), waLog.Noop)
	if d, err := devices.GetDevice(context.Background(), jid); err != nil || d == nil {
		t.Fatalf("device %s not in DevicesTable: %v", jid, err)
	}
	c2 := client{t, second.URL, testKey}
	var m struct{ MessageID string }
	c2.ok("POST", "/api/dev/phone/"+in.ID+"/incoming", `{"body":"still there?"}`, 202, &m)
	ep.where(t, "message.received", map[string]any{"messageId": m.MessageID, "body": "still there?"})
	if r := c2.call("POST", "/api/dev/phone/"+in.ID+"/link", ""); r.Status != 409 || !strings.Contains(r.Raw, l.DeviceJID) {
		t.Fatalf("relink after restart: %d %s", r.Status, r.Raw)
	}
}
