package wasim

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/session-host/convert"
	"github.com/wagate/wagate/shared/webhook"
)

// TestChangesByOthers makes the other members of a group change it and checks the account's
// device receives each as events.GroupInfo that converts to the group.updated WhatsApp's
// notification would.
func TestChangesByOthers(t *testing.T) {
	r := newRig(t, fast)
	_, rec, me := r.linked("6283841581033")
	const bob, carol, dave = "6281234567891", "6281234567892", "6281234567893"
	group := r.net.CreateGroup("Team", alice.User, me.User, bob)
	jid := func(n string) string { return n + "@s.whatsapp.net" }
	str := func(s string) *string { return &s }
	yes := true

	steps := []struct {
		name   string
		change GroupChange
		want   map[string]any
	}{
		{"an admin adds", GroupChange{By: alice.User, Action: "join", Participants: []string{carol}},
			map[string]any{"action": "join", "by": alice.String(), "participants": []any{jid(carol)}}},
		{"a join by link", GroupChange{By: "+" + dave, Action: "join", ByLink: true},
			map[string]any{"action": "join", "by": nil, "reason": "invite", "participants": []any{jid(dave)}}},
		{"the account is promoted", GroupChange{By: alice.User, Action: "promote", Participants: []string{me.User}},
			map[string]any{"action": "promote", "by": alice.String(), "participants": []any{me.ToNonAD().String()}}},
		{"a member renames", GroupChange{By: bob, Action: "subject", Subject: str("Team B")},
			map[string]any{"action": "subject", "by": jid(bob), "subject": "Team B", "participants": []any{}}},
		{"a member describes", GroupChange{By: bob, Action: "description", Description: str("Fridays")},
			map[string]any{"action": "description", "description": "Fridays"}},
		{"an admin locks", GroupChange{By: alice.User, Action: "settings", Locked: &yes},
			map[string]any{"action": "settings", "locked": true}},
		{"a member leaves", GroupChange{By: carol, Action: "leave"},
			map[string]any{"action": "leave", "by": jid(carol), "participants": []any{jid(carol)}}},
		{"an admin removes", GroupChange{By: alice.User, Action: "leave", Participants: []string{dave}},
			map[string]any{"action": "leave", "by": alice.String(), "participants": []any{jid(dave)}}},
		{"the account is demoted", GroupChange{By: alice.User, Action: "demote", Participants: []string{me.User}},
			map[string]any{"action": "demote", "participants": []any{me.ToNonAD().String()}}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			sent, err := r.net.ChangeGroup(group, s.change)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := rec.next(t).(*events.GroupInfo)
			if !ok || got != sent {
				t.Fatalf("the device got %+v, want %+v", got, sent)
			}
			datas := convert.GroupInfo(got)
			if len(datas) != 1 {
				t.Fatalf("%d group.updated", len(datas))
			}
			var data map[string]any
			if err := json.Unmarshal(datas[0], &data); err != nil {
				t.Fatal(err)
			}
			if data["groupId"] != group.String() {
				t.Errorf("groupId %v", data["groupId"])
			}
			for k, w := range s.want {
				if g, _ := json.Marshal(data[k]); string(g) != mustJSON(t, w) {
					t.Errorf("%s: %s, want %s in %v", k, g, mustJSON(t, w), data)
				}
			}
		})
	}
	if members, _ := r.net.Participants(group); strings.Join(members, ",") != strings.Join([]string{alice.User, me.User, bob}, ",") {
		t.Fatalf("members %v", members)
	}

	t.Run("refused", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			group  types.JID
			change GroupChange
			field  string
		}{
			{"no such group", types.NewJID("120363000000000000", types.GroupServer), GroupChange{By: bob, Action: "leave"}, "groupId"},
			{"not a member", group, GroupChange{By: carol, Action: "subject", Subject: str("x")}, "by"},
			{"a member who is not an admin adds", group, GroupChange{By: bob, Action: "join", Participants: []string{carol}}, "by"},
			{"a locked group's subject by a member", group, GroupChange{By: bob, Action: "subject", Subject: str("x")}, "by"},
			{"an unknown action", group, GroupChange{By: bob, Action: "ban"}, "action"},
			{"participants with a subject", group, GroupChange{By: alice.User, Action: "subject", Subject: str("x"), Participants: []string{bob}}, "participants"},
			{"promoting someone outside", group, GroupChange{By: alice.User, Action: "promote", Participants: []string{carol}}, "participants[0]"},
			{"a number without WhatsApp", group, GroupChange{By: alice.User, Action: "join", Participants: []string{"9991234567"}}, "participants[0]"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := r.net.ChangeGroup(tt.group, tt.change)
				if webhook.ErrorCode(err) != webhook.EInvalid || !strings.HasPrefix(webhook.ErrorMessage(err), tt.field+":") {
					t.Fatalf("%v", err)
				}
			})
		}
		rec.none(t, 50*time.Millisecond)
	})

	t.Run("the account added by another", func(t *testing.T) {
		other := r.net.CreateGroup("Other", alice.User)
		if _, err := r.net.ChangeGroup(other, GroupChange{By: alice.User, Action: "join", Participants: []string{me.User}}); err != nil {
			t.Fatal(err)
		}
		got, ok := rec.next(t).(*events.JoinedGroup)
		if !ok || got.JID != other || got.Sender == nil || *got.Sender != alice || len(got.Participants) != 2 {
			t.Fatalf("%+v", got)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
