package wasim

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// The group calls of the simulated network, as WhatsApp answers them: a group's first member
// is its owner and admin; only admins change it (its info only admins when it is locked);
// adding answers per participant: 404 for a number without an account, 409 for a member, and
// 403 with an invite instead for numbers marked with RequireInvite. Every change reaches the
// members' devices as whatsmeow's events.GroupInfo.

// RequireInvite makes a number's privacy settings refuse being added to groups: adding it
// sends an invite instead (WhatsApp's 403 with an add request).
func (n *Network) RequireInvite(number string, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.profiles.init()
	n.profiles.inviteOnly[digits(number)] = on
}

// account answers the connected account's number, or whatsmeow's error.
func (c *Client) account() (string, error) {
	jid, err := c.connected()
	if err != nil {
		return "", err
	}
	return jid.User, nil
}

// groupLocked answers a group the account is in.
func (n *Network) groupLocked(jid types.JID, me string) (*group, error) {
	g, ok := n.groups[jid]
	switch {
	case !ok:
		return nil, whatsmeow.ErrGroupNotFound
	case !slices.Contains(g.participants, me):
		return nil, whatsmeow.ErrNotInGroup
	}
	g.ensureAdmins()
	return g, nil
}

// ensureAdmins makes the owner the admin of a group made by CreateGroup.
func (g *group) ensureAdmins() {
	if g.admins == nil {
		g.admins = map[string]bool{}
		if g.owner != "" && slices.Contains(g.participants, g.owner) {
			g.admins[g.owner] = true
		}
	}
}

func (n *Network) infoLocked(jid types.JID, g *group) *types.GroupInfo {
	gi := &types.GroupInfo{JID: jid, ParticipantCount: len(g.participants), GroupCreated: g.created}
	gi.Name, gi.Topic, gi.TopicID, gi.IsAnnounce, gi.IsLocked = g.name, g.topic, g.topicID, g.announce, g.locked
	if g.owner != "" {
		gi.OwnerJID = types.NewJID(g.owner, types.DefaultUserServer)
	}
	for _, p := range g.participants {
		gi.Participants = append(gi.Participants, types.GroupParticipant{
			JID: types.NewJID(p, types.DefaultUserServer), PhoneNumber: types.NewJID(p, types.DefaultUserServer),
			IsAdmin: g.admins[p], IsSuperAdmin: p == g.owner,
		})
	}
	return gi
}

// notify sends evt to every device of the group's members (and of those just removed). The
// devices of the accounts evt adds get joined instead, when given: WhatsApp tells an account
// it was added with the group's info (whatsmeow's events.JoinedGroup).
func (n *Network) notify(evt *events.GroupInfo, numbers []string, joined *events.JoinedGroup) {
	for _, number := range numbers {
		var e any = evt
		if joined != nil && slices.ContainsFunc(evt.Join, func(j types.JID) bool { return j.User == number }) {
			e = joined
		}
		for _, d := range n.devicesOf(number) {
			n.deliver(d, e)
		}
	}
}

func (n *Network) changed(jid types.JID, by string, fill func(*events.GroupInfo)) *events.GroupInfo {
	sender := types.NewJID(by, types.DefaultUserServer)
	evt := &events.GroupInfo{JID: jid, Sender: &sender, Timestamp: now()}
	fill(evt)
	return evt
}

// JoinedGroupsQueries answers how many times devices asked for their joined groups.
func (n *Network) JoinedGroupsQueries() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.lists
}

// GetJoinedGroups answers the groups the account is in.
func (c *Client) GetJoinedGroups(ctx context.Context) ([]*types.GroupInfo, error) {
	me, err := c.account()
	if err != nil {
		return nil, err
	}
	n := c.net
	n.mu.Lock()
	defer n.mu.Unlock()
	n.lists++
	var out []*types.GroupInfo
	for jid, g := range n.groups {
		if slices.Contains(g.participants, me) {
			if _, err := n.groupLocked(jid, me); err == nil {
				out = append(out, n.infoLocked(jid, g))
			}
		}
	}
	return out, nil
}

// GetGroupInfo answers a group the account is in.
func (c *Client) GetGroupInfo(ctx context.Context, jid types.JID) (*types.GroupInfo, error) {
	me, err := c.account()
	if err != nil {
		return nil, err
	}
	n := c.net
	n.mu.Lock()
	defer n.mu.Unlock()
	g, err := n.groupLocked(jid, me)
	if err != nil {
		return nil, err
	}
	return n.infoLocked(jid, g), nil
}

// CreateGroup makes a group of the account and those participants that can be added; the
// others are in the answer with their error, as WhatsApp answers.
func (c *Client) CreateGroup(ctx context.Context, req whatsmeow.ReqCreateGroup) (*types.GroupInfo, error) {
	me, err := c.account()
	if err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, whatsmeow.ErrIQBadRequest
	}
	jid := c.net.CreateGroup(req.Name, me)
	n := c.net
	n.mu.Lock()
	g := n.groups[jid]
	g.created = now()
	results := n.addLocked(g, req.Participants)
	gi := n.infoLocked(jid, g)
	n.mu.Unlock()
	for i, r := range results {
		if r.Error != 0 {
			gi.Participants = append(gi.Participants, results[i])
		}
	}
	return gi, nil
}

// addLocked adds users to g and answers each one's result.
func (n *Network) addLocked(g *group, users []types.JID) []types.GroupParticipant {
	n.profiles.init()
	g.ensureAdmins()
	out := make([]types.GroupParticipant, len(users))
	for i, u := range users {
		p := types.GroupParticipant{JID: u, PhoneNumber: u}
		switch {
		case u.Server != types.DefaultUserServer || !n.onWhatsApp(u.User):
			p.Error = 404
		case slices.Contains(g.participants, u.User):
			p.Error = 409
		case n.profiles.inviteOnly[u.User]:
			p.Error = 403
			p.AddRequest = &types.GroupParticipantAddRequest{Code: strings.ToUpper(hex.EncodeToString(randomBytes(6))), Expiration: now().Add(72 * time.Hour)}
		default:
			g.participants = append(g.participants, u.User)
		}
		out[i] = p
	}
	return out
}

// UpdateGroupParticipants adds, removes, promotes or demotes, answering per participant.
func (c *Client) UpdateGroupParticipants(ctx context.Context, jid types.JID, users []types.JID, action whatsmeow.ParticipantChange) ([]types.GroupParticipant, error) {
	switch action {
	case whatsmeow.ParticipantChangeAdd, whatsmeow.ParticipantChangeRemove, whatsmeow.ParticipantChangePromote, whatsmeow.ParticipantChangeDemote:
	default:
		return nil, fmt.Errorf("%w: unknown action %q", whatsmeow.ErrIQBadRequest, action)
	}
	me, err := c.account()
	if err != nil {
		return nil, err
	}
	n := c.net
	n.mu.Lock()
	g, err := n.groupLocked(jid, me)
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	if !g.admins[me] {
		n.mu.Unlock()
		return nil, whatsmeow.ErrIQForbidden
	}
	var out []types.GroupParticipant
	var done []types.JID
	before := slices.Clone(g.participants)
	if action == whatsmeow.ParticipantChangeAdd {
		out = n.addLocked(g, users)
	} else {
		out = make([]types.GroupParticipant, len(users))
		for i, u := range users {
			p := types.GroupParticipant{JID: u, PhoneNumber: u}
			in := slices.Contains(g.participants, u.User)
			switch {
			case !in:
				p.Error = 404
			case action == whatsmeow.ParticipantChangeRemove:
				g.participants = slices.DeleteFunc(g.participants, func(m string) bool { return m == u.User })
				delete(g.admins, u.User)
			case action == whatsmeow.ParticipantChangePromote && g.admins[u.User],
				action == whatsmeow.ParticipantChangeDemote && !g.admins[u.User]:
				p.Error = 409
			case action == whatsmeow.ParticipantChangePromote:
				g.admins[u.User] = true
			case action == whatsmeow.ParticipantChangeDemote:
				delete(g.admins, u.User)
			}
			out[i] = p
		}
	}
	for _, p := range out {
		if p.Error == 0 {
			done = append(done, p.JID)
		}
	}
	members := slices.Clone(g.participants)
	info := n.infoLocked(jid, g)
	var prev, next string
	if len(done) > 0 {
		prev, next = g.nextVersion()
	}
	n.mu.Unlock()
	if len(done) > 0 {
		evt := n.changed(jid, me, func(e *events.GroupInfo) {
			e.PrevParticipantVersionID, e.ParticipantVersionID = prev, next
			switch action {
			case whatsmeow.ParticipantChangeAdd:
				e.Join = done
			case whatsmeow.ParticipantChangeRemove:
				e.Leave = done
			case whatsmeow.ParticipantChangePromote:
				e.Promote = done
			case whatsmeow.ParticipantChangeDemote:
				e.Demote = done
			}
		})
		var joined *events.JoinedGroup
		if action == whatsmeow.ParticipantChangeAdd {
			joined = &events.JoinedGroup{Sender: evt.Sender, GroupInfo: *info}
		}
		n.notify(evt, union(before, members), joined)
	}
	return out, nil
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, x := range b {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// change runs f on a group the account administers (or any member's, when open), then
// notifies the members.
func (c *Client) change(jid types.JID, info bool, f func(g *group), fill func(*events.GroupInfo)) error {
	me, err := c.account()
	if err != nil {
		return err
	}
	n := c.net
	n.mu.Lock()
	g, err := n.groupLocked(jid, me)
	if err != nil {
		n.mu.Unlock()
		return err
	}
	// Info (subject, description) is anyone's to change unless the group is locked; settings
	// are the admins'.
	if !g.admins[me] && (!info || g.locked) {
		n.mu.Unlock()
		return whatsmeow.ErrIQForbidden
	}
	f(g)
	members := slices.Clone(g.participants)
	n.mu.Unlock()
	n.notify(n.changed(jid, me, fill), members, nil)
	return nil
}

// SetGroupName changes the subject.
func (c *Client) SetGroupName(ctx context.Context, jid types.JID, name string) error {
	if name == "" {
		return whatsmeow.ErrIQBadRequest
	}
	return c.change(jid, true, func(g *group) { g.name = name }, func(e *events.GroupInfo) {
		e.Name = &types.GroupName{Name: name, NameSetAt: e.Timestamp, NameSetBy: *e.Sender}
	})
}

// SetGroupTopic changes the description; previousID must be the current one's.
func (c *Client) SetGroupTopic(ctx context.Context, jid types.JID, previousID, newID, topic string) error {
	if newID == "" {
		newID = strings.ToUpper(hex.EncodeToString(randomBytes(8)))
	}
	var conflict bool
	err := c.change(jid, true, func(g *group) {
		if previousID != g.topicID {
			conflict = true
			return
		}
		g.topic, g.topicID = topic, newID
	}, func(e *events.GroupInfo) {
		e.Topic = &types.GroupTopic{Topic: topic, TopicID: newID, TopicSetAt: e.Timestamp, TopicSetBy: *e.Sender, TopicDeleted: topic == ""}
	})
	if err == nil && conflict {
		return &whatsmeow.IQError{Code: 409, Text: "conflict"}
	}
	return err
}

// SetGroupAnnounce lets only admins send messages, or everyone.
func (c *Client) SetGroupAnnounce(ctx context.Context, jid types.JID, announce bool) error {
	return c.change(jid, false, func(g *group) { g.announce = announce }, func(e *events.GroupInfo) {
		e.Announce = &types.GroupAnnounce{IsAnnounce: announce}
	})
}

// SetGroupLocked lets only admins edit the group's info, or everyone.
func (c *Client) SetGroupLocked(ctx context.Context, jid types.JID, locked bool) error {
	return c.change(jid, false, func(g *group) { g.locked = locked }, func(e *events.GroupInfo) {
		e.Locked = &types.GroupLocked{IsLocked: locked}
	})
}

// GetGroupInviteLink answers the group's invite link, a new one with reset; admins only.
func (c *Client) GetGroupInviteLink(ctx context.Context, jid types.JID, reset bool) (string, error) {
	me, err := c.account()
	if err != nil {
		return "", err
	}
	n := c.net
	n.mu.Lock()
	defer n.mu.Unlock()
	g, err := n.groupLocked(jid, me)
	if err != nil {
		return "", err
	}
	if !g.admins[me] {
		return "", whatsmeow.ErrGroupInviteLinkUnauthorized
	}
	if g.invite == "" || reset {
		g.invite = strings.ToUpper(hex.EncodeToString(randomBytes(11)))
	}
	return whatsmeow.InviteLinkPrefix + g.invite, nil
}

// LeaveGroup takes the account out of the group.
func (c *Client) LeaveGroup(ctx context.Context, jid types.JID) error {
	me, err := c.account()
	if err != nil {
		return err
	}
	n := c.net
	n.mu.Lock()
	g, err := n.groupLocked(jid, me)
	if err != nil {
		n.mu.Unlock()
		return err
	}
	members := slices.Clone(g.participants)
	g.participants = slices.DeleteFunc(g.participants, func(m string) bool { return m == me })
	delete(g.admins, me)
	prev, next := g.nextVersion()
	n.mu.Unlock()
	n.notify(n.changed(jid, me, func(e *events.GroupInfo) {
		e.Leave = []types.JID{types.NewJID(me, types.DefaultUserServer)}
		e.PrevParticipantVersionID, e.ParticipantVersionID = prev, next
	}), members, nil)
	return nil
}
