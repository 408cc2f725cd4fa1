package devstack_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wagate/wagate/infra/awstest"
)

type groupAnswer struct {
	GroupID, Name, Description string
	Owner                      *string
	Announce, Locked           bool
	Size                       int
	Participants               []struct {
		JID                   string
		IsAdmin, IsSuperAdmin bool
	}
}

func (g groupAnswer) admin(jid string) (in, admin bool) {
	for _, p := range g.Participants {
		if p.JID == jid {
			return true, p.IsAdmin
		}
	}
	return false, false
}

type participantAnswer struct {
	JID, Status string
	Code        int
}

type createdAnswer struct {
	groupAnswer
	ParticipantResults []participantAnswer
}

// TestGroupsEndToEnd runs every group route through the local stack's API against the
// simulated WhatsApp, as a user would: create (a participant who can't be added is left out),
// list in pages, info with admins, rename, description and settings, participants with each
// one's own result (added, already in, not on WhatsApp, invited instead), invite links, the
// group.updated webhooks of the changes, and leaving.
func TestGroupsEndToEnd(t *testing.T) {
	s := startStack(t, awstest.Prefix(t))
	c := client{t, s.URL, testKey}
	ep := newEndpoint(t, 200)
	var in instance
	c.ok("POST", "/api/instance", fmt.Sprintf(`{"name":"Groups","webhookUrl":%q}`, ep.URL+"/webhook"), 201, &in)
	groups := "/api/instance/" + in.ID + "/groups"
	if r := c.call("GET", groups, ""); r.Status != 409 || r.Error.Code != "conflict" {
		t.Fatalf("groups before linking: %d %s", r.Status, r.Raw)
	}
	var l linked
	c.ok("POST", "/api/dev/phone/"+in.ID+"/link", "", 200, &l)
	me := l.Phone + "@s.whatsapp.net"
	const (
		alice   = "6281234567890@s.whatsapp.net"
		bob     = "6281234567891@s.whatsapp.net"
		carol   = "6281234567892@s.whatsapp.net"
		private = "6281234567899@s.whatsapp.net"
		nobody  = "9991234567@s.whatsapp.net"
	)
	s.WhatsApp().RequireInvite("6281234567899", true)

	var created createdAnswer
	c.ok("POST", groups, `{"name":"Weekend Riders","participants":["+62 812 3456 7890","6281234567891","9991234567","6281234567899"]}`, 201, &created)
	g := created.groupAnswer
	if !strings.HasSuffix(g.GroupID, "@g.us") || g.Name != "Weekend Riders" || g.Size != 3 || g.Owner == nil || *g.Owner != me {
		t.Fatalf("created %+v", g)
	}
	// WhatsApp answers the creation per participant: a partial result.
	wantCreated := []participantAnswer{{alice, "ok", 0}, {bob, "ok", 0}, {nobody, "not_found", 404}, {private, "invited", 403}}
	if fmt.Sprint(created.ParticipantResults) != fmt.Sprint(wantCreated) {
		t.Fatalf("participant results %+v, want %+v", created.ParticipantResults, wantCreated)
	}
	if in, _ := g.admin(private); in {
		t.Fatalf("a number refusing to be added was added: %+v", g)
	}
	if in, admin := g.admin(me); !in || !admin {
		t.Fatalf("the account is not the admin of %+v", g)
	}
	if in, _ := g.admin(nobody); in {
		t.Fatalf("a number without WhatsApp was added: %+v", g)
	}
	group := groups + "/" + g.GroupID
	var other groupAnswer
	c.ok("POST", groups, `{"name":"Other","participants":[]}`, 201, &other)

	t.Run("list in pages, asking WhatsApp once", func(t *testing.T) {
		asked := s.WhatsApp().JoinedGroupsQueries()
		seen := map[string]bool{}
		path := groups + "?limit=1"
		for range 3 {
			var page []groupAnswer
			r := c.ok("GET", path, "", 200, &page)
			for _, p := range page {
				seen[p.GroupID] = true
			}
			if r.Pagination == nil || r.Pagination.NextCursor == nil {
				break
			}
			path = groups + "?limit=1&cursor=" + *r.Pagination.NextCursor
		}
		if len(seen) != 2 || !seen[g.GroupID] || !seen[other.GroupID] {
			t.Fatalf("listed %v", seen)
		}
		if n := s.WhatsApp().JoinedGroupsQueries() - asked; n != 1 {
			t.Fatalf("paging through the groups asked WhatsApp %d times, want once", n)
		}
	})
	t.Run("info", func(t *testing.T) {
		var got groupAnswer
		c.ok("GET", group, "", 200, &got)
		if in, admin := got.admin(alice); !in || admin || len(got.Participants) != 3 {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("rename, description, settings", func(t *testing.T) {
		var got groupAnswer
		c.ok("PUT", group, `{"name":"Saturday Riders","description":"7am at the square","announce":true,"locked":true}`, 200, &got)
		if got.Name != "Saturday Riders" || got.Description != "7am at the square" || !got.Announce || !got.Locked {
			t.Fatalf("%+v", got)
		}
		ep.signed(t, in.WebhookSecret, "group.updated", map[string]any{"groupId": g.GroupID, "action": "subject", "subject": "Saturday Riders"})
		ep.signed(t, in.WebhookSecret, "group.updated", map[string]any{"groupId": g.GroupID, "action": "description", "description": "7am at the square"})
		ep.signed(t, in.WebhookSecret, "group.updated", map[string]any{"groupId": g.GroupID, "action": "settings", "locked": true})
	})
	t.Run("add: each participant's own result", func(t *testing.T) {
		var got []participantAnswer
		c.ok("POST", group+"/participants", `{"action":"add","participants":["`+alice+`","`+carol+`","`+nobody+`","`+private+`"]}`, 200, &got)
		want := []struct{ jid, status string }{{alice, "already"}, {carol, "ok"}, {nobody, "not_found"}, {private, "invited"}}
		if len(got) != len(want) {
			t.Fatalf("%+v", got)
		}
		for i, w := range want {
			if got[i].JID != w.jid || got[i].Status != w.status {
				t.Errorf("%s: %+v, want %s", w.jid, got[i], w.status)
			}
		}
		data := ep.signed(t, in.WebhookSecret, "group.updated", map[string]any{"groupId": g.GroupID, "action": "join"})
		if ps, _ := data["participants"].([]any); len(ps) != 1 || ps[0] != carol || data["by"] != me {
			t.Fatalf("join webhook %v", data)
		}
	})
	t.Run("promote, demote, remove", func(t *testing.T) {
		var got []participantAnswer
		c.ok("POST", group+"/participants", `{"action":"promote","participants":["`+carol+`","`+bob+`"]}`, 200, &got)
		if got[0].Status != "ok" || got[1].Status != "ok" {
			t.Fatalf("promote %+v", got)
		}
		c.ok("POST", group+"/participants", `{"action":"demote","participants":["`+bob+`","`+alice+`"]}`, 200, &got)
		if got[0].Status != "ok" || got[1].Status != "already" {
			t.Fatalf("demote %+v", got)
		}
		c.ok("POST", group+"/participants", `{"action":"remove","participants":["`+alice+`"]}`, 200, &got)
		if got[0].Status != "ok" {
			t.Fatalf("remove %+v", got)
		}
		var info groupAnswer
		c.ok("GET", group, "", 200, &info)
		if _, admin := info.admin(carol); !admin {
			t.Fatalf("carol not admin: %+v", info)
		}
		if in, _ := info.admin(alice); in {
			t.Fatalf("alice still in: %+v", info)
		}
		ep.signed(t, in.WebhookSecret, "group.updated", map[string]any{"groupId": g.GroupID, "action": "promote"})
		ep.signed(t, in.WebhookSecret, "group.updated", map[string]any{"groupId": g.GroupID, "action": "leave"})
	})
	t.Run("invite link and reset", func(t *testing.T) {
		var first, again, reset struct{ GroupID, Link string }
		c.ok("GET", group+"/invite", "", 200, &first)
		c.ok("GET", group+"/invite", "", 200, &again)
		c.ok("GET", group+"/invite?reset=true", "", 200, &reset)
		if !strings.HasPrefix(first.Link, "https://chat.whatsapp.com/") || again.Link != first.Link || reset.Link == first.Link {
			t.Fatalf("links %q %q %q", first.Link, again.Link, reset.Link)
		}
	})
	t.Run("bad input", func(t *testing.T) {
		many := make([]string, 1025)
		for i := range many {
			many[i] = fmt.Sprintf(`"628120%07d"`, i)
		}
		for _, tt := range []struct{ name, method, path, body, field string }{
			{"a user where a group is needed", "GET", groups + "/" + alice, "", "groupId"},
			{"an empty group name", "POST", groups, `{"name":"  ","participants":[]}`, "name"},
			{"participants over WhatsApp's limit", "POST", group + "/participants", `{"action":"add","participants":[` + strings.Join(many, ",") + `]}`, "participants"},
			{"an unknown action", "POST", group + "/participants", `{"action":"ban","participants":["` + alice + `"]}`, "action"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if r := c.call(tt.method, tt.path, tt.body); r.Status != 400 || !strings.HasPrefix(r.Error.Message, tt.field+":") {
					t.Fatalf("%d %s", r.Status, r.Raw)
				}
			})
		}
	})
	t.Run("leave", func(t *testing.T) {
		c.ok("POST", group+"/leave", "", 200, nil)
		if r := c.call("GET", group, ""); r.Status != 409 || r.Error.Code != "conflict" {
			t.Fatalf("info after leaving: %d %s", r.Status, r.Raw)
		}
		if r := c.call("GET", groups+"/120363000000000000@g.us", ""); r.Status != 404 {
			t.Fatalf("no such group: %d %s", r.Status, r.Raw)
		}
	})
}

// TestGroupChangesByOthersEndToEnd makes the other members of a group change it through the
// simulated phone's route, as they would in their apps, and checks the instance's webhook
// receives each as group.updated over HTTP, signed, with data of the documented shape
// (GroupUpdatedData in the OpenAPI file); the group's info then shows the changes.
func TestGroupChangesByOthersEndToEnd(t *testing.T) {
	s := startStack(t, awstest.Prefix(t))
	c := client{t, s.URL, testKey}
	ep := newEndpoint(t, 200)
	var in instance
	c.ok("POST", "/api/instance", fmt.Sprintf(`{"name":"Group changes","webhookUrl":%q,"webhookEvents":["group.updated"]}`, ep.URL+"/webhook"), 201, &in)
	var l linked
	c.ok("POST", "/api/dev/phone/"+in.ID+"/link", "", 200, &l)
	const (
		admin  = "6281234567890"
		member = "6281234567891"
		newbie = "6281234567892"
		byLink = "6281234567893"
	)
	jid := func(n string) string { return n + "@s.whatsapp.net" }
	// A group someone else made: the dev route makes the account its first member (owner), so
	// make it through the network, with the admin first.
	group := s.WhatsApp().CreateGroup("Book club", admin, l.Phone, member).String()
	change := "/api/dev/phone/" + in.ID + "/groups/" + group + "/change"
	schema := openAPISchema(t, "GroupUpdatedData")
	// The list of joined groups, kept by the session for a minute, from before the changes.
	listed := func() groupAnswer {
		t.Helper()
		var page []groupAnswer
		c.ok("GET", "/api/instance/"+in.ID+"/groups", "", 200, &page)
		for _, g := range page {
			if g.GroupID == group {
				return g
			}
		}
		t.Fatalf("group %s not listed: %+v", group, page)
		return groupAnswer{}
	}
	if g := listed(); g.Name != "Book club" {
		t.Fatalf("listed before the changes: %+v", g)
	}

	steps := []struct {
		name, body string
		want       map[string]any // fields of the webhook's data
		members    []string       // of the webhook's participants
	}{
		{"an admin adds", `{"by":"` + admin + `","action":"join","participants":["` + newbie + `"]}`,
			map[string]any{"action": "join", "by": jid(admin)}, []string{jid(newbie)}},
		{"a join by link", `{"by":"` + byLink + `","action":"join","byLink":true}`,
			map[string]any{"action": "join", "by": nil, "reason": "invite"}, []string{jid(byLink)}},
		{"an admin promotes", `{"by":"` + admin + `","action":"promote","participants":["` + member + `"]}`,
			map[string]any{"action": "promote", "by": jid(admin)}, []string{jid(member)}},
		{"a member renames", `{"by":"` + newbie + `","action":"subject","subject":"Readers"}`,
			map[string]any{"action": "subject", "by": jid(newbie), "subject": "Readers"}, []string{}},
		{"a member describes", `{"by":"` + newbie + `","action":"description","description":"A book a month"}`,
			map[string]any{"action": "description", "description": "A book a month"}, []string{}},
		{"an admin changes settings", `{"by":"` + member + `","action":"settings","announce":true,"locked":true}`,
			map[string]any{"action": "settings", "by": jid(member), "announce": true, "locked": true}, []string{}},
		{"an admin demotes", `{"by":"` + admin + `","action":"demote","participants":["` + member + `"]}`,
			map[string]any{"action": "demote"}, []string{jid(member)}},
		{"a member leaves", `{"by":"` + byLink + `","action":"leave"}`,
			map[string]any{"action": "leave", "by": jid(byLink)}, []string{jid(byLink)}},
		{"an admin removes", `{"by":"` + admin + `","action":"leave","participants":["` + newbie + `"]}`,
			map[string]any{"action": "leave", "by": jid(admin)}, []string{jid(newbie)}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var answered map[string]any
			c.ok("POST", change, st.body, 202, &answered)
			fields := map[string]any{"groupId": group, "timestamp": answered["timestamp"]}
			for k, v := range st.want {
				fields[k] = v
			}
			got := ep.signed(t, in.WebhookSecret, "group.updated", fields)
			if fmt.Sprint(got["participants"]) != fmt.Sprint(st.members) || fmt.Sprint(answered) != fmt.Sprint(got) {
				t.Fatalf("webhook data %v, route answered %v; want participants %v", got, answered, st.members)
			}
			conforms(t, schema, got)
		})
	}
	var info groupAnswer
	c.ok("GET", "/api/instance/"+in.ID+"/groups/"+group, "", 200, &info)
	if info.Name != "Readers" || info.Description != "A book a month" || !info.Announce || !info.Locked || len(info.Participants) != 3 {
		t.Fatalf("the group after the changes: %+v", info)
	}
	// Within the minute the list is kept: the notifications of the changes dropped it.
	if g := listed(); g.Name != "Readers" || g.Size != 3 {
		t.Fatalf("listed after the changes: %+v, want the new name and size", g)
	}
	if _, isAdmin := info.admin(jid(member)); isAdmin {
		t.Fatalf("demoted, still admin: %+v", info)
	}

	t.Run("the account added by another", func(t *testing.T) {
		other := s.WhatsApp().CreateGroup("Second club", admin, member).String()
		var answered map[string]any
		c.ok("POST", "/api/dev/phone/"+in.ID+"/groups/"+other+"/change", `{"by":"`+admin+`","action":"join","participants":["`+l.Phone+`"]}`, 202, &answered)
		got := ep.signed(t, in.WebhookSecret, "group.updated", map[string]any{"groupId": other, "action": "join", "by": jid(admin)})
		if fmt.Sprint(got["participants"]) != fmt.Sprint([]string{jid(l.Phone)}) {
			t.Fatalf("webhook data %v; want the account as the one who joined", got)
		}
		conforms(t, schema, got)
	})

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct{ name, path, body, field string }{
			{"not a member", change, `{"by":"` + newbie + `","action":"subject","subject":"x"}`, "by"},
			{"a member who is not an admin", change, `{"by":"` + member + `","action":"settings","announce":false}`, "by"},
			{"an unknown action", change, `{"by":"` + admin + `","action":"ban"}`, "action"},
			{"a user where a group is needed", "/api/dev/phone/" + in.ID + "/groups/" + jid(admin) + "/change", `{"by":"` + admin + `","action":"leave"}`, "groupId"},
			{"no such group", "/api/dev/phone/" + in.ID + "/groups/120363000000000000@g.us/change", `{"by":"` + admin + `","action":"leave"}`, "groupId"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if r := c.call("POST", tt.path, tt.body); r.Status != 400 || !strings.HasPrefix(r.Error.Message, tt.field+":") {
					t.Fatalf("%d %s", r.Status, r.Raw)
				}
			})
		}
	})
}
