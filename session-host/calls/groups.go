package calls

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// Groups is what the group calls need of the session's connection: whatsmeow's own methods.
type Groups interface {
	GetJoinedGroups(ctx context.Context) ([]*types.GroupInfo, error)
	GetGroupInfo(ctx context.Context, jid types.JID) (*types.GroupInfo, error)
	CreateGroup(ctx context.Context, req whatsmeow.ReqCreateGroup) (*types.GroupInfo, error)
	SetGroupName(ctx context.Context, jid types.JID, name string) error
	SetGroupTopic(ctx context.Context, jid types.JID, previousID, newID, topic string) error
	SetGroupAnnounce(ctx context.Context, jid types.JID, announce bool) error
	SetGroupLocked(ctx context.Context, jid types.JID, locked bool) error
	UpdateGroupParticipants(ctx context.Context, jid types.JID, participantChanges []types.JID, action whatsmeow.ParticipantChange) ([]types.GroupParticipant, error)
	GetGroupInviteLink(ctx context.Context, jid types.JID, reset bool) (string, error)
	LeaveGroup(ctx context.Context, jid types.JID) error
}

// refusal maps WhatsApp's answers that another try would meet again to the API's errors; nil
// for failures of the moment (a timeout, no connection).
func refusal(jid string, err error) *outbox.CallResult {
	var iq *whatsmeow.IQError
	switch {
	case errors.Is(err, whatsmeow.ErrGroupNotFound), errors.Is(err, whatsmeow.ErrIQNotFound):
		return refused(webhook.ENotFound, "groupId: no group %s", jid)
	case errors.Is(err, whatsmeow.ErrNotInGroup):
		return refused(webhook.EConflict, "groupId: this account is not in group %s", jid)
	case errors.Is(err, whatsmeow.ErrGroupInviteLinkUnauthorized), errors.Is(err, whatsmeow.ErrIQNotAuthorized), errors.Is(err, whatsmeow.ErrIQForbidden):
		return refused(webhook.EConflict, "groupId: WhatsApp refused: this account is not an admin of group %s", jid)
	case errors.Is(err, whatsmeow.ErrIQBadRequest), errors.Is(err, whatsmeow.ErrIQNotAcceptable):
		return refused(webhook.EInvalid, "body: WhatsApp refused the change to group %s as not acceptable", jid)
	case errors.As(err, &iq) && iq.Code >= 400 && iq.Code < 500 && iq.Code != 408 && iq.Code != 429:
		return refused(webhook.EConflict, "groupId: WhatsApp refused the call on group %s (error %d)", jid, iq.Code)
	}
	return nil
}

// GroupsListTTL is how long a session keeps the list of joined groups it fetched for GET
// groups: the pages of one listing read the list fetched for its first page instead of asking
// WhatsApp for every group again (whatsmeow has no paged query, and each asks for every
// member of every group). A change this account makes through the API forgets the list at
// once, and so does a group notification (another member's change, the account added); a
// change WhatsApp sends no notification of to this device shows once the list is older than
// this. GET groups/{groupId} always asks WhatsApp.
const GroupsListTTL = time.Minute

// groupCall does a group call at now; a failure of the moment is returned as an error.
func (k *Caller) groupCall(ctx context.Context, op string, g *outbox.Group, now time.Time) (*outbox.CallResult, error) {
	if k.groups == nil {
		return refused(webhook.EUnavailable, "this host's connection does not do group calls"), nil
	}
	if g == nil {
		return refused(webhook.EInvalid, "the call has no group"), nil
	}
	var jid types.JID
	if g.JID != "" {
		var err error
		if jid, err = types.ParseJID(g.JID); err != nil {
			return refused(webhook.EInvalid, "groupId: %q is not a WhatsApp JID", g.JID), nil
		}
	}
	if op != outbox.OpGroupsList && op != outbox.OpGroupInfo && op != outbox.OpGroupInvite {
		// The list is forgotten whether the change was made or not: a failed one may have been.
		k.GroupsChanged()
	}
	res, err := k.doGroup(ctx, op, jid, g, now)
	if err != nil {
		if r := refusal(g.JID, err); r != nil {
			return r, nil
		}
		return nil, fmt.Errorf("%s %s: %w", op, g.JID, err)
	}
	return res, nil
}

func (k *Caller) doGroup(ctx context.Context, op string, jid types.JID, g *outbox.Group, now time.Time) (*outbox.CallResult, error) {
	switch op {
	case outbox.OpGroupsList:
		groups, err := k.joinedGroups(ctx, now)
		if err != nil {
			return nil, err
		}
		page := outbox.GroupPage{Groups: []outbox.GroupView{}}
		for _, gi := range groups {
			if gi.JID.String() <= g.After {
				continue
			}
			if len(page.Groups) == max(g.Limit, 1) {
				page.Next = page.Groups[len(page.Groups)-1].JID
				break
			}
			page.Groups = append(page.Groups, groupView(gi))
		}
		return answer(page)
	case outbox.OpGroupInfo:
		gi, err := k.groups.GetGroupInfo(ctx, jid)
		if err != nil {
			return nil, err
		}
		return answer(groupView(gi))
	case outbox.OpGroupCreate:
		req := whatsmeow.ReqCreateGroup{Name: deref(g.Name)}
		for _, p := range g.Participants {
			u, err := types.ParseJID(p)
			if err != nil {
				return refused(webhook.EInvalid, "participants: %q is not a WhatsApp JID", p), nil
			}
			req.Participants = append(req.Participants, u)
		}
		gi, err := k.groups.CreateGroup(ctx, req)
		if err != nil {
			return nil, err
		}
		// WhatsApp answers the creation per participant, as it answers adding them.
		return answer(createdGroup{GroupView: groupView(gi), ParticipantResults: participantResults(outbox.ParticipantsAdd, req.Participants, gi.Participants)})
	case outbox.OpGroupUpdate:
		return k.update(ctx, jid, g)
	case outbox.OpGroupParticipants:
		users := make([]types.JID, len(g.Participants))
		for i, p := range g.Participants {
			u, err := types.ParseJID(p)
			if err != nil {
				return refused(webhook.EInvalid, "participants[%d]: %q is not a WhatsApp JID", i, p), nil
			}
			users[i] = u
		}
		got, err := k.groups.UpdateGroupParticipants(ctx, jid, users, whatsmeow.ParticipantChange(g.Action))
		if err != nil {
			return nil, err
		}
		return answer(participantResults(g.Action, users, got))
	case outbox.OpGroupInvite:
		link, err := k.groups.GetGroupInviteLink(ctx, jid, g.Reset)
		if err != nil {
			return nil, err
		}
		return answer(map[string]string{"groupId": jid.String(), "link": link})
	case outbox.OpGroupLeave:
		if err := k.groups.LeaveGroup(ctx, jid); err != nil {
			return nil, err
		}
		return answer(map[string]any{"groupId": jid.String(), "left": true})
	}
	return refused(webhook.EInvalid, "this host does not know the call %q; it may be older than the API", op), nil
}

// createdGroup is POST groups' answer: the group as made, and each participant asked, in the
// order asked, with their own result.
type createdGroup struct {
	outbox.GroupView
	ParticipantResults []outbox.ParticipantResult `json:"participantResults"`
}

// joinedGroups answers the joined groups sorted by JID: the list fetched within GroupsListTTL
// before now, or a new one.
func (k *Caller) joinedGroups(ctx context.Context, now time.Time) ([]*types.GroupInfo, error) {
	k.mu.Lock()
	list, fetched := k.joined, k.joinedAt
	k.mu.Unlock()
	if list != nil && !now.Before(fetched) && now.Sub(fetched) < GroupsListTTL {
		return list, nil
	}
	list, err := k.groups.GetJoinedGroups(ctx)
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []*types.GroupInfo{}
	}
	slices.SortFunc(list, func(a, b *types.GroupInfo) int { return cmp.Compare(a.JID.String(), b.JID.String()) })
	k.mu.Lock()
	k.joined, k.joinedAt = list, now
	k.mu.Unlock()
	return list, nil
}

// GroupsChanged drops the kept list of joined groups: a change was made through the API, or a
// group notification came (another member's change, the account added to a group).
func (k *Caller) GroupsChanged() {
	k.mu.Lock()
	k.joined = nil
	k.mu.Unlock()
}

// update makes each change asked, in the order name, description, announce, locked, and
// answers the group as it then is. A change WhatsApp refuses stops the rest: the answer's
// error says which.
func (k *Caller) update(ctx context.Context, jid types.JID, g *outbox.Group) (*outbox.CallResult, error) {
	if g.Name != nil {
		if err := k.groups.SetGroupName(ctx, jid, *g.Name); err != nil {
			return nil, err
		}
	}
	if g.Description != nil {
		// WhatsApp wants the id of the description it replaces.
		gi, err := k.groups.GetGroupInfo(ctx, jid)
		if err != nil {
			return nil, err
		}
		if err := k.groups.SetGroupTopic(ctx, jid, gi.TopicID, "", *g.Description); err != nil {
			return nil, err
		}
	}
	if g.Announce != nil {
		if err := k.groups.SetGroupAnnounce(ctx, jid, *g.Announce); err != nil {
			return nil, err
		}
	}
	if g.Locked != nil {
		if err := k.groups.SetGroupLocked(ctx, jid, *g.Locked); err != nil {
			return nil, err
		}
	}
	gi, err := k.groups.GetGroupInfo(ctx, jid)
	if err != nil {
		return nil, err
	}
	return answer(groupView(gi))
}

// participantResults answers each participant asked about, in the order asked, from what
// WhatsApp answered per participant.
func participantResults(action string, asked []types.JID, got []types.GroupParticipant) []outbox.ParticipantResult {
	byUser := map[string]types.GroupParticipant{}
	for _, p := range got {
		for _, j := range []types.JID{p.JID, p.PhoneNumber, p.LID} {
			if !j.IsEmpty() {
				byUser[j.ToNonAD().String()] = p
			}
		}
	}
	out := make([]outbox.ParticipantResult, len(asked))
	for i, u := range asked {
		r := outbox.ParticipantResult{JID: u.String()}
		p, ok := byUser[u.ToNonAD().String()]
		switch {
		case !ok:
			r.Status = outbox.ParticipantFailed // WhatsApp said nothing of them
		case p.Error == 0:
			r.Status = outbox.ParticipantOK
		case p.Error == 403 && p.AddRequest != nil:
			r.Status, r.Code = outbox.ParticipantInvited, p.Error
		case p.Error == 403 || p.Error == 401:
			r.Status, r.Code = outbox.ParticipantNotAllowed, p.Error
		case p.Error == 409:
			r.Status, r.Code = outbox.ParticipantAlready, p.Error
		case p.Error == 404:
			r.Status, r.Code = outbox.ParticipantNotFound, p.Error
		default:
			r.Status, r.Code = outbox.ParticipantFailed, p.Error
		}
		out[i] = r
	}
	return out
}

// groupView is a group as the API shows it.
func groupView(gi *types.GroupInfo) outbox.GroupView {
	v := outbox.GroupView{
		JID: gi.JID.String(), Name: gi.Name, Description: gi.Topic, Announce: gi.IsAnnounce, Locked: gi.IsLocked,
		Size: gi.ParticipantCount, Participants: make([]outbox.GroupParticipant, 0, len(gi.Participants)),
	}
	if owner := cmp.Or(gi.OwnerPN, gi.OwnerJID); !owner.IsEmpty() {
		s := owner.ToNonAD().String()
		v.Owner = &s
	}
	if !gi.GroupCreated.IsZero() {
		s := webhook.FormatTime(gi.GroupCreated)
		v.CreatedAt = &s
	}
	for _, p := range gi.Participants {
		if p.Error != 0 {
			continue // not added (CreateGroup's answer lists them with their error)
		}
		jid := p.JID
		if !p.PhoneNumber.IsEmpty() {
			jid = p.PhoneNumber
		}
		gp := outbox.GroupParticipant{JID: jid.ToNonAD().String(), IsAdmin: p.IsAdmin || p.IsSuperAdmin, IsSuperAdmin: p.IsSuperAdmin}
		lid := p.LID
		if lid.IsEmpty() && p.JID.Server == types.HiddenUserServer {
			lid = p.JID
		}
		if !lid.IsEmpty() {
			s := lid.ToNonAD().String()
			gp.LID = &s
		}
		v.Participants = append(v.Participants, gp)
	}
	v.Size = max(v.Size, len(v.Participants))
	return v
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
