package outbox

import (
	"strings"
	"testing"

	"github.com/wagate/wagate/shared/webhook"
)

func TestParseCheck(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		phones     []string
		field      string // the field a 400 names; "" when accepted
	}{
		{"normalised and kept once", `{"phones":["+62 812-3456-7890","0062 (812) 3456 7890","447700900123"]}`, []string{"6281234567890", "447700900123"}, ""},
		{"fifty", `{"phones":[` + strings.Repeat(`"6281234567890",`, 49) + `"6281234567891"]}`, []string{"6281234567890", "6281234567891"}, ""},
		{"fifty-one", `{"phones":[` + strings.Repeat(`"6281234567890",`, 50) + `"6281234567891"]}`, nil, "phones"},
		{"none", `{"phones":[]}`, nil, "phones"},
		{"a national number", `{"phones":["081234567890"]}`, nil, "phones[0]"},
		{"too short", `{"phones":["+62 812"]}`, nil, "phones[0]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m, err := ParseCheck([]byte(tt.body))
			if tt.field != "" {
				if webhook.ErrorCode(err) != webhook.EInvalid || !strings.HasPrefix(webhook.ErrorMessage(err), tt.field+":") {
					t.Fatalf("got %v, want a 400 naming %s", err, tt.field)
				}
				return
			}
			if err != nil || m.Type != TypeCall || m.Call.Op != OpContactsCheck || strings.Join(m.Call.Phones, ",") != strings.Join(tt.phones, ",") || m.Call.Mutates() {
				t.Fatalf("got %+v %v", m, err)
			}
		})
	}
}

func TestCallMutates(t *testing.T) {
	for _, tt := range []struct {
		call    *Call
		mutates bool
	}{
		{&Call{Op: OpContactsCheck}, false},
		{&Call{Op: OpContactInfo}, false},
		{&Call{Op: OpGroupsList, Group: &Group{}}, false},
		{&Call{Op: OpGroupInfo, Group: &Group{}}, false},
		{&Call{Op: OpGroupInvite, Group: &Group{}}, false},
		{&Call{Op: OpGroupInvite, Group: &Group{Reset: true}}, true},
		{&Call{Op: OpGroupCreate, Group: &Group{}}, true},
		{&Call{Op: OpGroupUpdate, Group: &Group{}}, true},
		{&Call{Op: OpGroupParticipants, Group: &Group{}}, true},
		{&Call{Op: OpGroupLeave, Group: &Group{}}, true},
		{&Call{Op: "groups.unknown"}, true},
	} {
		t.Run(tt.call.Op, func(t *testing.T) {
			if got := tt.call.Mutates(); got != tt.mutates {
				t.Fatalf("Mutates() = %v, want %v", got, tt.mutates)
			}
		})
	}
}

// A stored call reads back as written: the host decodes what the API encoded, strictly.
func TestCallStoredForm(t *testing.T) {
	name := "Riders"
	m, err := ParseCreateGroup([]byte(`{"name":"Riders","participants":["+6281234567890"]}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeStored(b)
	if err != nil || back.Call.Op != OpGroupCreate || *back.Call.Group.Name != name || back.Call.Group.Participants[0] != "6281234567890@s.whatsapp.net" {
		t.Fatalf("%s: %+v %v", b, back, err)
	}
}
