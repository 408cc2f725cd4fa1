package calls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/outbox"
)

// fakeGroups answers the group calls from a list of groups, as WhatsApp would, counting the
// queries for the joined groups.
type fakeGroups struct {
	fakeClient
	groups  []*types.GroupInfo
	listed  int // GetJoinedGroups queries
	created whatsmeow.ReqCreateGroup
	answer  *types.GroupInfo // CreateGroup's
}

func (f *fakeGroups) GetJoinedGroups(context.Context) ([]*types.GroupInfo, error) {
	f.listed++
	out := make([]*types.GroupInfo, len(f.groups))
	for i, g := range f.groups {
		c := *g // each answer is WhatsApp's anew
		out[i] = &c
	}
	return out, nil
}

func (f *fakeGroups) GetGroupInfo(_ context.Context, jid types.JID) (*types.GroupInfo, error) {
	for _, g := range f.groups {
		if g.JID == jid {
			return g, nil
		}
	}
	return nil, whatsmeow.ErrGroupNotFound
}

func (f *fakeGroups) CreateGroup(_ context.Context, req whatsmeow.ReqCreateGroup) (*types.GroupInfo, error) {
	f.created = req
	return f.answer, nil
}

func (f *fakeGroups) SetGroupName(_ context.Context, jid types.JID, name string) error {
	g, err := f.GetGroupInfo(context.Background(), jid)
	if err != nil {
		return err
	}
	g.Name = name
	return nil
}

func (f *fakeGroups) SetGroupTopic(context.Context, types.JID, string, string, string) error {
	return errors.New("not used")
}
func (f *fakeGroups) SetGroupAnnounce(context.Context, types.JID, bool) error {
	return errors.New("not used")
}
func (f *fakeGroups) SetGroupLocked(context.Context, types.JID, bool) error {
	return errors.New("not used")
}
func (f *fakeGroups) UpdateGroupParticipants(context.Context, types.JID, []types.JID, whatsmeow.ParticipantChange) ([]types.GroupParticipant, error) {
	return nil, errors.New("not used")
}
func (f *fakeGroups) GetGroupInviteLink(context.Context, types.JID, bool) (string, error) {
	return "", errors.New("not used")
}
func (f *fakeGroups) LeaveGroup(context.Context, types.JID) error { return errors.New("not used") }

func groupJID(i int) types.JID {
	return types.NewJID(fmt.Sprintf("1203630000000000%02d", i), types.GroupServer)
}

// listAll pages through the joined groups at now, limit a page, as the API does, and answers
// the groups' JIDs and names in order.
func listAll(t *testing.T, k *Caller, limit int, now time.Time) []string {
	t.Helper()
	var out []string
	after := ""
	for range 100 {
		res, err := k.Do(context.Background(), outbox.GroupsListCall(limit, after).Call, now)
		if err != nil || res.Error != nil {
			t.Fatalf("list after %q: %v %+v", after, err, res)
		}
		var page outbox.GroupPage
		if err := json.Unmarshal(res.Data, &page); err != nil {
			t.Fatal(err)
		}
		for _, g := range page.Groups {
			out = append(out, g.JID+" "+g.Name)
		}
		if page.Next == "" {
			return out
		}
		after = page.Next
	}
	t.Fatal("the listing never ends")
	return nil
}

// TestGroupsListKept pages through 25 groups and checks WhatsApp is asked for the joined
// groups once for the whole listing; that a change made by others shows once the list is
// older than GroupsListTTL, and one this account makes at once.
func TestGroupsListKept(t *testing.T) {
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	f := &fakeGroups{fakeClient: fakeClient{clock: &start}}
	for i := 25; i > 0; i-- { // WhatsApp's order is not the listing's
		f.groups = append(f.groups, &types.GroupInfo{JID: groupJID(i), GroupName: types.GroupName{Name: fmt.Sprintf("g%d", i)}})
	}
	k := New(f, nil, func() time.Duration { return time.Second })

	first := listAll(t, k, 4, start)
	if len(first) != 25 || f.listed != 1 {
		t.Fatalf("listed %d groups asking WhatsApp %d times, want 25 asking once", len(first), f.listed)
	}
	for i := 1; i < len(first); i++ {
		if first[i] <= first[i-1] {
			t.Fatalf("not in JID order: %v", first)
		}
	}

	// Another member renames a group and this account leaves one, on the phone.
	f.groups[1].Name = "renamed by others" // g24
	f.groups = f.groups[1:]                // g25
	if again := listAll(t, k, 10, start.Add(GroupsListTTL-time.Second)); len(again) != 25 || again[23] != groupJID(24).String()+" g24" || f.listed != 1 {
		t.Fatalf("within the period: %d groups, %d queries; want the kept 25, 1", len(again), f.listed)
	}
	later := listAll(t, k, 10, start.Add(GroupsListTTL))
	if len(later) != 24 || later[23] != groupJID(24).String()+" renamed by others" || f.listed != 2 {
		t.Fatalf("after the period: %v, %d queries", later, f.listed)
	}

	// This account renames one through the API: the next listing shows it.
	at := start.Add(GroupsListTTL + time.Second)
	name := "renamed here"
	res, err := k.Do(context.Background(), outbox.GroupInfoCall(groupJID(1).String()).Call, at)
	if err != nil || res.Error != nil {
		t.Fatalf("info: %v %+v", err, res)
	}
	if res, err := k.Do(context.Background(), &outbox.Call{Op: outbox.OpGroupUpdate, Group: &outbox.Group{JID: groupJID(1).String(), Name: &name}}, at); err != nil || res.Error != nil {
		t.Fatalf("rename: %v %+v", err, res)
	}
	if got := listAll(t, k, 50, at); got[0] != groupJID(1).String()+" renamed here" || f.listed != 3 {
		t.Fatalf("after renaming here: %v, %d queries", got[0], f.listed)
	}
}

// TestCreateAnswersEachParticipant checks POST groups answers the group and each participant
// asked with WhatsApp's own result for them, in the order asked.
func TestCreateAnswersEachParticipant(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	me := types.NewJID("6283841581033", types.DefaultUserServer)
	added := types.NewJID("6281234567890", types.DefaultUserServer)
	private := types.NewJID("6281234567899", types.DefaultUserServer)
	refused := types.NewJID("6281234567898", types.DefaultUserServer)
	nobody := types.NewJID("9991234567", types.DefaultUserServer)
	silent := types.NewJID("6281234567897", types.DefaultUserServer)
	f := &fakeGroups{fakeClient: fakeClient{clock: &now}, answer: &types.GroupInfo{
		JID: groupJID(1), OwnerJID: me, GroupName: types.GroupName{Name: "Riders"},
		Participants: []types.GroupParticipant{
			{JID: me, PhoneNumber: me, IsAdmin: true, IsSuperAdmin: true},
			{JID: added, PhoneNumber: added},
			{JID: private, PhoneNumber: private, Error: 403, AddRequest: &types.GroupParticipantAddRequest{Code: "AB12", Expiration: now.Add(72 * time.Hour)}},
			{JID: refused, PhoneNumber: refused, Error: 403},
			{JID: nobody, Error: 404},
		},
	}}
	k := New(f, nil, func() time.Duration { return time.Second })
	name := "Riders"
	asked := []string{nobody.String(), added.String(), private.String(), refused.String(), silent.String()}
	res, err := k.Do(context.Background(), &outbox.Call{Op: outbox.OpGroupCreate, Group: &outbox.Group{Name: &name, Participants: asked}}, now)
	if err != nil || res.Error != nil {
		t.Fatalf("%v %+v", err, res)
	}
	if len(f.created.Participants) != len(asked) || f.created.Name != name {
		t.Fatalf("asked WhatsApp %+v", f.created)
	}
	var got createdGroup
	if err := json.Unmarshal(res.Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.JID != groupJID(1).String() || len(got.Participants) != 2 || got.Size != 2 {
		t.Fatalf("the group: %+v", got.GroupView)
	}
	want := []outbox.ParticipantResult{
		{JID: nobody.String(), Status: outbox.ParticipantNotFound, Code: 404},
		{JID: added.String(), Status: outbox.ParticipantOK},
		{JID: private.String(), Status: outbox.ParticipantInvited, Code: 403},
		{JID: refused.String(), Status: outbox.ParticipantNotAllowed, Code: 403},
		{JID: silent.String(), Status: outbox.ParticipantFailed},
	}
	if len(got.ParticipantResults) != len(want) {
		t.Fatalf("results %+v", got.ParticipantResults)
	}
	for i, w := range want {
		if got.ParticipantResults[i] != w {
			t.Errorf("result %d = %+v, want %+v", i, got.ParticipantResults[i], w)
		}
	}
}
