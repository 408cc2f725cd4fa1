package manage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/manage"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

const (
	checkPath        = "/api/instance/{instanceId}/contacts/check"
	contactPath      = "/api/instance/{instanceId}/contacts/{jid}"
	groupsPath       = "/api/instance/{instanceId}/groups"
	groupPath        = "/api/instance/{instanceId}/groups/{groupId}"
	participantsPath = "/api/instance/{instanceId}/groups/{groupId}/participants"
	invitePath       = "/api/instance/{instanceId}/groups/{groupId}/invite"
	leavePath        = "/api/instance/{instanceId}/groups/{groupId}/leave"
)

// newCallRig is a messageRig whose call routes wait bound for their answer.
func newCallRig(t *testing.T, bound time.Duration) *messageRig {
	t.Helper()
	r := &messageRig{apiRig: newAPIRig(t, false)}
	r.outbox = store.NewOutboxStore(dynamodb.NewFromConfig(awstest.Config(t)), r.res.Table("OutboxTable"), r.res.Table("InstancesTable"), 30*24*time.Hour)
	manage.NewMessageAPI(manage.MessageDeps{Outbox: r.outbox, Instances: r.store, Cursors: r.cursors, Now: r.clock, CallBound: bound}).Register(r.router)
	r.paired = r.pairedInstance("paired")
	return r
}

// answerCalls plays the session host: it answers each pending call of the instance with what
// answer returns, through the real store.
func (r *messageRig) answerCalls(ctx context.Context, instanceID string, answer func(c *outbox.Call) *outbox.CallResult) {
	go func() {
		for ctx.Err() == nil {
			recs, err := r.outbox.Pending(ctx, instanceID, 10)
			if err != nil && ctx.Err() == nil {
				r.t.Error(err)
				return
			}
			for _, rec := range recs {
				if rec.Message.Type != outbox.TypeCall {
					continue
				}
				b, _ := json.Marshal(answer(rec.Message.Call))
				now := r.clock()
				next, err := rec.Move(outbox.StatusSent, "", now)
				if err != nil {
					r.t.Error(err)
					return
				}
				next.Result, next.SentAt = b, &now
				if err := r.outbox.Update(ctx, rec, next); err != nil && ctx.Err() == nil {
					r.t.Error(err)
				}
			}
			time.Sleep(30 * time.Millisecond)
		}
	}()
}

func TestCallBadInput(t *testing.T) {
	r := newCallRig(t, 2*time.Second)
	phones := func(n int) string {
		p := make([]string, n)
		for i := range p {
			p[i] = `"62812345678` + string(rune('0'+i%10)) + `"`
		}
		return `{"phones":[` + strings.Join(p, ",") + `]}`
	}
	check := func(body string) request { return request{method: "POST", resource: checkPath, body: body} }
	contact := func(jid string) request {
		return request{method: "GET", resource: contactPath, params: map[string]string{"jid": jid}}
	}
	groups := func(body string) request { return request{method: "POST", resource: groupsPath, body: body} }
	group := func(method, resource, jid, body string) request {
		return request{method: method, resource: resource, params: map[string]string{"groupId": jid}, body: body}
	}
	users := func(n int) string {
		u := make([]string, n)
		for i := range u {
			u[i] = fmt.Sprintf(`"628120%07d"`, i)
		}
		return "[" + strings.Join(u, ",") + "]"
	}
	for _, tt := range []struct {
		name  string
		req   request
		field string
	}{
		{"no body", check(``), "body"},
		{"not an object", check(`[]`), "body"},
		{"no phones", check(`{}`), "phones"},
		{"empty phones", check(`{"phones":[]}`), "phones"},
		{"51 phones", check(phones(51)), "phones"},
		{"phones not an array", check(`{"phones":"6281234567890"}`), "phones"},
		{"a phone not a string", check(`{"phones":[6281234567890]}`), "phones[0]"},
		{"a national number", check(`{"phones":["6281234567890","081234567890"]}`), "phones[1]"},
		{"letters", check(`{"phones":["call me"]}`), "phones[0]"},
		{"unknown field", check(`{"phones":["6281234567890"],"numbers":[]}`), "numbers"},
		{"a group where a user is needed", contact(groupJID), "jid"},
		{"a user where a group is needed", group("GET", groupPath, alice, ``), "groupId"},
		{"a user JID where a group is needed", group("PUT", groupPath, aliceJID, `{"name":"x"}`), "groupId"},
		{"a bad group JID", group("POST", participantsPath, "abc@g.us", `{"action":"add","participants":["`+alice+`"]}`), "groupId"},
		{"create without a name", groups(`{"participants":[]}`), "name"},
		{"create with an empty name", groups(`{"name":"","participants":[]}`), "name"},
		{"create with a blank name", groups(`{"name":" \u3000 ","participants":[]}`), "name"},
		{"create with a long name", groups(`{"name":"` + strings.Repeat("n", outbox.MaxGroupName+1) + `","participants":[]}`), "name"},
		{"create without participants", groups(`{"name":"Riders"}`), "participants"},
		{"create with a group as participant", groups(`{"name":"Riders","participants":["` + groupJID + `"]}`), "participants[0]"},
		{"create with a national number", groups(`{"name":"Riders","participants":["081234567890"]}`), "participants[0]"},
		{"create with a participant twice", groups(`{"name":"Riders","participants":["` + alice + `","+` + alice + `"]}`), "participants[1]"},
		{"create with more than WhatsApp's limit", groups(`{"name":"Riders","participants":` + users(outbox.MaxGroupParticipants) + `}`), "participants"},
		{"update with nothing", group("PUT", groupPath, groupJID, `{}`), "body"},
		{"update with an empty name", group("PUT", groupPath, groupJID, `{"name":""}`), "name"},
		{"update with a long description", group("PUT", groupPath, groupJID, `{"description":"`+strings.Repeat("d", outbox.MaxGroupDescription+1)+`"}`), "description"},
		{"update announce not a bool", group("PUT", groupPath, groupJID, `{"announce":"yes"}`), "announce"},
		{"participants without action", group("POST", participantsPath, groupJID, `{"participants":["`+alice+`"]}`), "action"},
		{"participants with an unknown action", group("POST", participantsPath, groupJID, `{"action":"ban","participants":["`+alice+`"]}`), "action"},
		{"participants none", group("POST", participantsPath, groupJID, `{"action":"add","participants":[]}`), "participants"},
		{"participants over WhatsApp's limit", group("POST", participantsPath, groupJID, `{"action":"remove","participants":`+users(outbox.MaxGroupParticipants+1)+`}`), "participants"},
		{"participants a group", group("POST", participantsPath, groupJID, `{"action":"add","participants":["`+groupJID+`"]}`), "participants[0]"},
		{"invite reset not a bool", request{method: "GET", resource: invitePath, params: map[string]string{"groupId": groupJID}, query: map[string]string{"reset": "maybe"}}, "reset"},
		{"leave with a body", group("POST", leavePath, groupJID, `{}`), "body"},
		{"list limit 0", request{method: "GET", resource: groupsPath, query: map[string]string{"limit": "0"}}, "limit"},
		{"list bad cursor", request{method: "GET", resource: groupsPath, query: map[string]string{"cursor": "nonsense"}}, "cursor"},
		{"a national number as jid", contact("081234567890"), "jid"},
		{"a device JID", contact("6281234567890:3@s.whatsapp.net"), "jid"},
		{"not a JID", contact("alice@example.com"), "jid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.id = r.paired
			a := r.do(tt.req)
			if a.status != 400 || a.Error.Code != "invalid_request" || !strings.HasPrefix(a.Error.Message, tt.field+":") {
				t.Fatalf("got %d %s, want 400 naming %s", a.status, a.raw, tt.field)
			}
		})
	}
}

func TestCallAnswers(t *testing.T) {
	r := newCallRig(t, 3*time.Second)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	hosted := r.pairedInstance("hosted")
	calls := make(chan *outbox.Call, 10)
	r.answerCalls(ctx, hosted, func(c *outbox.Call) *outbox.CallResult {
		calls <- c
		switch c.Op {
		case outbox.OpContactsCheck:
			out := make([]outbox.CheckResult, len(c.Phones))
			for i, p := range c.Phones {
				jid := p + "@s.whatsapp.net"
				out[i] = outbox.CheckResult{Phone: p, OnWhatsApp: true, JID: &jid}
			}
			b, _ := json.Marshal(out)
			return &outbox.CallResult{Data: b}
		case outbox.OpContactInfo:
			if c.JID == "6280000000000@s.whatsapp.net" {
				return &outbox.CallResult{Error: &outbox.CallError{Code: webhook.ENotFound, Message: "jid: not on WhatsApp"}}
			}
			b, _ := json.Marshal(outbox.ContactInfo{JID: c.JID})
			return &outbox.CallResult{Data: b}
		}
		return nil
	})
	unpaired := r.create(`{"name":"unpaired"}`).ID

	t.Run("check normalises numbers and answers each", func(t *testing.T) {
		var got []outbox.CheckResult
		r.ok(request{method: "POST", resource: checkPath, id: hosted, body: `{"phones":["+62 812-3456-7890","006281234567890","(44) 7700 900123"]}`}, 200, &got)
		c := <-calls
		if strings.Join(c.Phones, ",") != "6281234567890,447700900123" {
			t.Fatalf("the host was asked about %v", c.Phones)
		}
		if len(got) != 2 || got[0].Phone != "6281234567890" || got[1].JID == nil || *got[1].JID != "447700900123@s.whatsapp.net" {
			t.Fatalf("answered %+v", got)
		}
	})
	t.Run("contact info", func(t *testing.T) {
		var got outbox.ContactInfo
		r.ok(request{method: "GET", resource: contactPath, id: hosted, params: map[string]string{"jid": "+62 812 3456 7890"}}, 200, &got)
		if got.JID != aliceJID {
			t.Fatalf("answered %+v", got)
		}
	})
	t.Run("WhatsApp's refusal is the call's error", func(t *testing.T) {
		a := r.do(request{method: "GET", resource: contactPath, id: hosted, params: map[string]string{"jid": "6280000000000@s.whatsapp.net"}})
		if a.status != 404 || a.Error.Code != "not_found" || !strings.HasPrefix(a.Error.Message, "jid:") {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
	})
	t.Run("no paired device is 409", func(t *testing.T) {
		a := r.do(request{method: "POST", resource: checkPath, id: unpaired, body: `{"phones":["6281234567890"]}`})
		if a.status != 409 || a.Error.Code != "conflict" {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
	})
	t.Run("unknown instance is 404", func(t *testing.T) {
		a := r.do(request{method: "GET", resource: contactPath, id: "inst_01JAAAAAAAAAAAAAAAAAAAAAAA", params: map[string]string{"jid": alice}})
		if a.status != 404 || a.Error.Code != "not_found" {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
	})
	t.Run("no host answers: 503 with Retry-After within the bound, and the call is not done later", func(t *testing.T) {
		start := time.Now()
		resp, err := r.router.Serve(context.Background(), events.APIGatewayProxyRequest{
			HTTPMethod: "POST", Resource: checkPath, Path: "/api/instance/" + r.paired + "/contacts/check",
			PathParameters: map[string]string{"instanceId": r.paired}, Body: `{"phones":["6281234567890"]}`,
		})
		took := time.Since(start)
		if err != nil || resp.StatusCode != 503 || resp.Headers["Retry-After"] != "1" || !strings.Contains(resp.Body, `"unavailable"`) {
			t.Fatalf("got %v %d %v %s", err, resp.StatusCode, resp.Headers, resp.Body)
		}
		if took > 3*time.Second || took < 2*time.Second {
			t.Fatalf("answered after %v, want within the 3 s bound and not long before", took)
		}
		recs, _, err := r.outbox.List(context.Background(), r.paired, store.OutboxFilter{}, 10, "")
		if err != nil || len(recs) != 1 {
			t.Fatalf("%d records, %v", len(recs), err)
		}
		rec := recs[0]
		if rec.Message.Type != outbox.TypeCall || !rec.ExpiresAt.Before(rec.AcceptedAt.Add(3*time.Second)) {
			t.Fatalf("the call's deadline %v is not before the API's bound after %v", rec.ExpiresAt, rec.AcceptedAt)
		}
	})
}

// TestGroupUpdatedSubscribable: an instance subscribes to group.updated like any other event.
func TestGroupUpdatedSubscribable(t *testing.T) {
	r := newCallRig(t, 2*time.Second)
	var v view
	r.ok(request{method: "PUT", resource: "/api/instance/{instanceId}", id: r.paired, body: `{"webhookUrl":"https://example.com/hook","webhookEvents":["group.updated","message.sent"]}`}, 200, &v)
	if strings.Join(v.WebhookEvents, ",") != "group.updated,message.sent" {
		t.Fatalf("webhookEvents %v", v.WebhookEvents)
	}
}
