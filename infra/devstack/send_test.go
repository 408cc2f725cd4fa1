package devstack_test

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/devstack"
	"github.com/wagate/wagate/shared/webhook"
)

// outboxView is a message or action as the messages API answers it.
type outboxView struct {
	MessageID, ChatID, Type, Status string
	Error                           *string
	Attempts                        int
	SentAt                          *string
}

// phoneSent is one message the simulated WhatsApp accepted from the account.
type phoneSent struct {
	MessageID, ChatID, Event string
	Data                     map[string]any
}

// signed waits for a webhook of event whose data has the given fields, checks its Standard
// Webhooks signature with secret and answers its data.
func (e *endpoint) signed(t *testing.T, secret, event string, fields map[string]any) map[string]any {
	t.Helper()
	header, body, data := e.first(t, event, fields)
	if err := webhook.Verify(secret, body, header); err != nil {
		t.Fatalf("%s webhook %s: signature: %v", event, header.Get("webhook-id"), err)
	}
	return data
}

// phoneGot answers what the simulated WhatsApp accepted from the instance's account with the
// id, once each time it was accepted.
func (c client) phoneGot(instanceID, messageID string) []phoneSent {
	c.t.Helper()
	var list []phoneSent
	c.ok("GET", "/api/dev/phone/"+instanceID+"/sent", "", 200, &list)
	var out []phoneSent
	for _, s := range list {
		if s.MessageID == messageID {
			out = append(out, s)
		}
	}
	return out
}

// waitStatus polls GET messages/{id} until the message has status, and answers it.
func (c client) waitStatus(instanceID, messageID, status string) outboxView {
	c.t.Helper()
	var v outboxView
	eventually(c.t, fmt.Sprintf("message %s %s", messageID, status), func() bool {
		c.ok("GET", "/api/instance/"+instanceID+"/messages/"+messageID, "", 200, &v)
		return v.Status == status
	})
	return v
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestSendingEndToEnd sends one message of every type through the messages API of the local
// stack, as a user would, and follows each one: the API's answer, what the simulated WhatsApp
// received, the signed message.sent and message.updated webhooks with the API's messageId, and
// the outbox's status. Then edits, revokes, read receipts, presence, an idempotent replay, a
// number not on WhatsApp and an instance not linked.
func TestSendingEndToEnd(t *testing.T) {
	// A media link is an https URL on this machine: the local stack's host fetches from
	// 127.0.0.0/8 and trusts this server's certificate (never the case when deployed).
	jpeg := []byte("\xff\xd8\xff\xe0\x00\x10JFIF a photo by link")
	files := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/photo.jpg" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(jpeg)
	}))
	t.Cleanup(files.Close)
	roots := x509.NewCertPool()
	roots.AddCert(files.Certificate())

	s := startStackWith(t, devstack.Options{Prefix: awstest.Prefix(t), MediaRootCAs: roots})
	c := client{t, s.URL, testKey}
	ep := newEndpoint(t, 200)
	var in instance
	c.ok("POST", "/api/instance", fmt.Sprintf(`{"name":"Sales","webhookUrl":%q}`, ep.URL+"/webhook"), 201, &in)
	messages := "/api/instance/" + in.ID + "/messages"
	const contact = "6281234567890"
	contactJID := contact + "@s.whatsapp.net"

	// Not linked yet: nothing to send with.
	if r := c.call("POST", messages, `{"to":"6281234567890","type":"text","text":{"body":"too early"}}`); r.Status != 409 || r.Error.Code != "conflict" {
		t.Fatalf("send before linking: %d %s", r.Status, r.Raw)
	}

	var l linked
	c.ok("POST", "/api/dev/phone/"+in.ID+"/link", "", 200, &l)
	own := l.Phone + "@s.whatsapp.net"
	c.ok("PUT", "/api/instance/"+in.ID, `{"sendPace":{"perMinute":120,"jitterMs":0}}`, 200, nil)
	// A message of the contact's, to reply to and to mark read.
	var incoming struct{ MessageID string }
	c.ok("POST", "/api/dev/phone/"+in.ID+"/incoming", `{"body":"Do you deliver?"}`, 202, &incoming)
	ep.signed(t, in.WebhookSecret, "message.received", map[string]any{"messageId": incoming.MessageID})

	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR an inline image")
	pdf := []byte("%PDF-1.4\n% an invoice\n")
	mp4 := []byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00 a video")
	ogg := []byte("OggS\x00\x02 a voice note")
	webp := []byte("RIFF\x1a\x00\x00\x00WEBPVP8 a sticker")

	type sendCase struct {
		name string
		body func(ids map[string]string) string
		typ  string // the webhook's type
		// file is the media's content, checked through the webhook's sha256 and length.
		file []byte
		// final is the status the receipts leave it in: reactions get none.
		final string
		check func(t *testing.T, d map[string]any, ids map[string]string)
	}
	cases := []sendCase{
		{name: "text", typ: "text", final: "read",
			body: func(map[string]string) string {
				return `{"to":"+6281234567890","type":"text","text":{"body":"Your order has shipped."}}`
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				if d["body"] != "Your order has shipped." {
					t.Errorf("body %v", d["body"])
				}
			}},
		{name: "text with a preview", typ: "text", final: "read",
			body: func(map[string]string) string {
				return `{"to":"6281234567890","type":"text","text":{"body":"Track it at https://example.com/t/1","previewUrl":true}}`
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				if d["body"] != "Track it at https://example.com/t/1" {
					t.Errorf("body %v", d["body"])
				}
			}},
		{name: "reply", typ: "text", final: "read",
			body: func(map[string]string) string {
				return fmt.Sprintf(`{"to":"6281234567890@s.whatsapp.net","type":"text","text":{"body":"Yes, we do."},"replyTo":%q}`, incoming.MessageID)
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				if d["quotedMessageId"] != incoming.MessageID {
					t.Errorf("quotedMessageId %v, want %s", d["quotedMessageId"], incoming.MessageID)
				}
			}},
		{name: "image by data", typ: "image", final: "read", file: png,
			body: func(map[string]string) string {
				return fmt.Sprintf(`{"to":"6281234567890","type":"image","image":{"data":%q,"caption":"the menu"}}`, b64(png))
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				if m, _ := d["media"].(map[string]any); d["body"] != "the menu" || m["mimetype"] != "image/png" {
					t.Errorf("image %v", d)
				}
			}},
		{name: "image by link", typ: "image", final: "read", file: jpeg,
			body: func(map[string]string) string {
				return fmt.Sprintf(`{"to":"6281234567890","type":"image","image":{"link":%q}}`, files.URL+"/photo.jpg")
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				if m, _ := d["media"].(map[string]any); m["mimetype"] != "image/jpeg" {
					t.Errorf("image %v", d)
				}
			}},
		{name: "document", typ: "document", final: "read", file: pdf,
			body: func(map[string]string) string {
				return fmt.Sprintf(`{"to":"6281234567890","type":"document","document":{"data":%q,"fileName":"invoice.pdf","mimetype":"application/pdf","caption":"your invoice"}}`, b64(pdf))
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				if m, _ := d["media"].(map[string]any); m["fileName"] != "invoice.pdf" || m["mimetype"] != "application/pdf" || d["body"] != "your invoice" {
					t.Errorf("document %v", d)
				}
			}},
		{name: "video", typ: "video", final: "read", file: mp4,
			body: func(map[string]string) string {
				return fmt.Sprintf(`{"to":"6281234567890","type":"video","video":{"data":%q,"mimetype":"video/mp4"}}`, b64(mp4))
			}},
		{name: "voice note", typ: "audio", final: "played", file: ogg,
			body: func(map[string]string) string {
				return fmt.Sprintf(`{"to":"6281234567890","type":"audio","audio":{"data":%q,"mimetype":"audio/ogg; codecs=opus","voice":true}}`, b64(ogg))
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				if m, _ := d["media"].(map[string]any); m["ptt"] != true {
					t.Errorf("voice note %v", d)
				}
			}},
		{name: "sticker", typ: "sticker", final: "read", file: webp,
			body: func(map[string]string) string {
				return fmt.Sprintf(`{"to":"6281234567890","type":"sticker","sticker":{"data":%q,"mimetype":"image/webp"}}`, b64(webp))
			}},
		{name: "location", typ: "location", final: "read",
			body: func(map[string]string) string {
				return `{"to":"6281234567890","type":"location","location":{"latitude":-6.2,"longitude":106.816666,"name":"Toko Budi","address":"Jl. Sudirman 1"}}`
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				if loc, _ := d["location"].(map[string]any); loc["latitude"] != -6.2 || loc["name"] != "Toko Budi" {
					t.Errorf("location %v", d)
				}
			}},
		{name: "contacts", typ: "contact", final: "read",
			body: func(map[string]string) string {
				return `{"to":"6281234567890","type":"contacts","contacts":[{"name":"Siti","phones":["+6281234567892"]}]}`
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				if d["body"] != "Siti" {
					t.Errorf("contacts %v", d)
				}
			}},
		{name: "reaction", typ: "reaction", final: "sent",
			body: func(ids map[string]string) string {
				return fmt.Sprintf(`{"to":"6281234567890","type":"reaction","reaction":{"messageId":%q,"emoji":"👍"}}`, ids["text"])
			},
			check: func(t *testing.T, d map[string]any, ids map[string]string) {
				if d["body"] != "👍" || d["quotedMessageId"] != ids["text"] {
					t.Errorf("reaction %v", d)
				}
			}},
		{name: "poll", typ: "poll", final: "read",
			body: func(map[string]string) string {
				return `{"to":"6281234567890","type":"poll","poll":{"name":"Pickup or delivery?","options":["Pickup","Delivery"],"selectableCount":1}}`
			},
			check: func(t *testing.T, d map[string]any, _ map[string]string) {
				p, _ := d["poll"].(map[string]any)
				if opts, _ := p["options"].([]any); d["body"] != "Pickup or delivery?" || len(opts) != 2 || p["selectableCount"] != 1.0 {
					t.Errorf("poll %v", d)
				}
			}},
	}

	// Every send is answered 201 once WhatsApp acknowledged it, and the simulated WhatsApp
	// has it under the API's id.
	ids := map[string]string{}
	for _, tc := range cases {
		t.Run("send "+tc.name, func(t *testing.T) {
			c := client{t, s.URL, testKey}
			var v outboxView
			r := c.ok("POST", messages+"?wait=15", tc.body(ids), 201, &v)
			if v.Status != "sent" || v.MessageID == "" || v.ChatID != contactJID || v.SentAt == nil || v.Attempts != 1 {
				t.Fatalf("answer %s", r.Raw)
			}
			ids[tc.name] = v.MessageID
			got := c.phoneGot(in.ID, v.MessageID)
			if len(got) != 1 || got[0].ChatID != contactJID || got[0].Event != "message.sent" || got[0].Data["type"] != tc.typ {
				t.Fatalf("the simulated WhatsApp got %+v", got)
			}
		})
	}
	if t.Failed() {
		t.FailNow()
	}

	// Each is a signed message.sent with the API's id, then its receipts as message.updated,
	// and the outbox follows them.
	for _, tc := range cases {
		t.Run("follow "+tc.name, func(t *testing.T) {
			id := ids[tc.name]
			d := ep.signed(t, in.WebhookSecret, "message.sent", map[string]any{"messageId": id})
			if d["fromMe"] != true || d["type"] != tc.typ || d["chatId"] != contactJID || d["to"] != contactJID || d["from"] != own {
				t.Fatalf("message.sent %v", d)
			}
			if tc.file != nil {
				if m, _ := d["media"].(map[string]any); m["sha256"] != sha(tc.file) || m["fileLength"] != float64(len(tc.file)) {
					t.Errorf("media %v, want sha256 %s and %d bytes", m, sha(tc.file), len(tc.file))
				}
			}
			if tc.check != nil {
				tc.check(t, d, ids)
			}
			var receipts []string
			switch tc.final {
			case "read":
				receipts = []string{"delivered", "read"}
			case "played":
				receipts = []string{"delivered", "read", "played"}
			}
			for _, st := range receipts {
				u := ep.signed(t, in.WebhookSecret, "message.updated", map[string]any{"messageId": id, "status": st})
				if u["chatId"] != contactJID || u["by"] != contactJID {
					t.Errorf("message.updated %s: %v", st, u)
				}
			}
			v := c.waitStatus(in.ID, id, tc.final)
			if v.Error != nil || v.SentAt == nil {
				t.Errorf("outbox %+v", v)
			}
		})
	}
	if t.Failed() {
		t.FailNow()
	}

	t.Run("edit", func(t *testing.T) {
		c := client{t, s.URL, testKey}
		target := ids["text"]
		var v outboxView
		c.ok("PUT", messages+"/"+target+"?wait=15", `{"text":"Your order has shipped (tracking 1Z999)."}`, 201, &v)
		if v.Type != "edit" || v.Status != "sent" || v.MessageID == target {
			t.Fatalf("edit %+v", v)
		}
		got := c.phoneGot(in.ID, v.MessageID)
		if len(got) != 1 || got[0].Event != "message.updated" || got[0].Data["status"] != "edited" || got[0].Data["messageId"] != target ||
			got[0].Data["body"] != "Your order has shipped (tracking 1Z999)." {
			t.Fatalf("the simulated WhatsApp got %+v", got)
		}
		ep.signed(t, in.WebhookSecret, "message.updated", map[string]any{"messageId": target, "status": "edited"})
		c.waitStatus(in.ID, v.MessageID, "sent")
	})
	t.Run("revoke", func(t *testing.T) {
		c := client{t, s.URL, testKey}
		target := ids["location"]
		var v outboxView
		c.ok("DELETE", messages+"/"+target+"?wait=15", "", 201, &v)
		if v.Type != "revoke" || v.Status != "sent" {
			t.Fatalf("revoke %+v", v)
		}
		got := c.phoneGot(in.ID, v.MessageID)
		if len(got) != 1 || got[0].Event != "message.updated" || got[0].Data["status"] != "deleted" || got[0].Data["messageId"] != target {
			t.Fatalf("the simulated WhatsApp got %+v", got)
		}
		ep.signed(t, in.WebhookSecret, "message.updated", map[string]any{"messageId": target, "status": "deleted"})
		c.waitStatus(in.ID, v.MessageID, "sent")
	})
	// Read receipts and presence are no messages: the simulated WhatsApp records them
	// (wasim's Reads and Presences, which no dev route shows), and their records end sent.
	t.Run("read", func(t *testing.T) {
		c := client{t, s.URL, testKey}
		var v outboxView
		c.ok("POST", "/api/instance/"+in.ID+"/chats/"+contact+"/read?wait=15", fmt.Sprintf(`{"messageIds":[%q]}`, incoming.MessageID), 201, &v)
		if v.Type != "read" || v.Status != "sent" || v.ChatID != contactJID {
			t.Fatalf("read %+v", v)
		}
		if got := c.phoneGot(in.ID, v.MessageID); len(got) != 0 {
			t.Fatalf("a read receipt is no message: %+v", got)
		}
	})
	t.Run("presence", func(t *testing.T) {
		c := client{t, s.URL, testKey}
		var v outboxView
		c.ok("POST", "/api/instance/"+in.ID+"/chats/"+contactJID+"/presence?wait=15", `{"state":"typing"}`, 201, &v)
		if v.Type != "presence" || v.Status != "sent" {
			t.Fatalf("presence %+v", v)
		}
	})

	t.Run("idempotent replay", func(t *testing.T) {
		c := client{t, s.URL, testKey}
		body := `{"to":"6281234567890","type":"text","text":{"body":"Only once, please."}}`
		key := map[string]string{"Idempotency-Key": "order-42-shipped"}
		first := c.callWith("POST", messages+"?wait=15", body, key)
		var a, b outboxView
		json.Unmarshal(first.Data, &a)
		if first.Status != 201 || a.Status != "sent" {
			t.Fatalf("first: %d %s", first.Status, first.Raw)
		}
		again := c.callWith("POST", messages+"?wait=15", body, key)
		json.Unmarshal(again.Data, &b)
		if again.Status != 201 || b.MessageID != a.MessageID {
			t.Fatalf("replay: %d %s, first was %s", again.Status, again.Raw, a.MessageID)
		}
		if r := c.callWith("POST", messages, `{"to":"6281234567890","type":"text","text":{"body":"Another."}}`, key); r.Status != 409 || !strings.Contains(r.Error.Message, "Idempotency-Key") {
			t.Fatalf("same key, another body: %d %s", r.Status, r.Raw)
		}
		c.waitStatus(in.ID, a.MessageID, "read")
		if got := c.phoneGot(in.ID, a.MessageID); len(got) != 1 {
			t.Fatalf("the simulated WhatsApp got it %d times", len(got))
		}
	})

	t.Run("not on WhatsApp", func(t *testing.T) {
		c := client{t, s.URL, testKey}
		var v outboxView
		r := c.ok("POST", messages+"?wait=15", `{"to":"9991234567","type":"text","text":{"body":"Hello?"}}`, 202, &v)
		if v.Status != "failed" || v.Error == nil || !strings.Contains(*v.Error, "not on WhatsApp") {
			t.Fatalf("answer %s", r.Raw)
		}
		d := ep.signed(t, in.WebhookSecret, "message.updated", map[string]any{"messageId": v.MessageID, "status": "failed"})
		if d["chatId"] != "9991234567@s.whatsapp.net" || d["error"] != *v.Error {
			t.Fatalf("message.updated %v", d)
		}
		if got := c.phoneGot(in.ID, v.MessageID); len(got) != 0 {
			t.Fatalf("the simulated WhatsApp got %+v", got)
		}
		c.waitStatus(in.ID, v.MessageID, "failed")
	})

	// The outbox lists them all, newest first.
	var list []outboxView
	c.ok("GET", messages+"?limit=100", "", 200, &list)
	if want := len(cases) + 6; len(list) != want || list[0].Status != "failed" {
		t.Fatalf("listed %d, want %d: %+v", len(list), want, list)
	}
}
