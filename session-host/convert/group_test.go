package convert

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// TestGroupInfo converts whatsmeow's events.GroupInfo values, kept in testdata/groupinfo as
// whatsmeow's own type encodes them (each as its parseGroupChange makes it from a
// notification: who joined, left, was promoted or demoted, a new subject, description or
// settings), and compares the group.updated data with testdata/<name>.json.
func TestGroupInfo(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "groupinfo", "*.json"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	wantEvents := map[string]int{"group_promote_and_subject": 2, "group_settings": 1, "group_ephemeral_only": 0}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			var evt events.GroupInfo
			if err := dec.Decode(&evt); err != nil {
				t.Fatalf("%s is not an events.GroupInfo: %v", in, err)
			}
			datas := GroupInfo(&evt)
			want, ok := wantEvents[name]
			if !ok {
				want = 1
			}
			if len(datas) != want {
				t.Fatalf("%d events, want %d", len(datas), want)
			}
			all, err := json.Marshal(datas)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name, all)
		})
	}
}

func TestJoinedGroup(t *testing.T) {
	self := types.NewJID("6281111111111", types.DefaultUserServer)
	adder := types.NewJID("6282222222222", types.DefaultUserServer)
	group := types.GroupInfo{JID: types.NewJID("120363025246125486", types.GroupServer)}
	at := time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		evt  events.JoinedGroup
		want string // "" when no event
	}{
		{"added by another member", events.JoinedGroup{Sender: &adder, GroupInfo: group},
			`{"groupId":"120363025246125486@g.us","action":"join","participants":["6281111111111@s.whatsapp.net"],"by":"6282222222222@s.whatsapp.net","timestamp":"2026-12-03T04:00:00.000Z"}`},
		{"joined by invite link", events.JoinedGroup{Reason: "invite", GroupInfo: group},
			`{"groupId":"120363025246125486@g.us","action":"join","participants":["6281111111111@s.whatsapp.net"],"by":null,"reason":"invite","timestamp":"2026-12-03T04:00:00.000Z"}`},
		{"created through the API", events.JoinedGroup{Type: "new", CreateKey: "3EB0ABC", Sender: &self, GroupInfo: group}, ""},
		{"created on the phone", events.JoinedGroup{Type: "new", Sender: &self, GroupInfo: group}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := JoinedGroup(&tt.evt, self, at)
			if ok != (tt.want != "") || (ok && string(got) != tt.want) {
				t.Fatalf("got %s (%v)\nwant %s", got, ok, tt.want)
			}
		})
	}
}
