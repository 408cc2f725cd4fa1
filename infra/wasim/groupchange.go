package wasim

import (
	"encoding/hex"
	"slices"
	"strings"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/session-host/convert"
)

// GroupChange is a change another member of a group makes in their app (ChangeGroup).
type GroupChange struct {
	// By is who makes it: a member, or for a join by link the one joining.
	By string
	// Action is group.updated's: join, leave, promote, demote, subject, description,
	// settings.
	Action string
	// Participants are who By adds (join), removes (leave), promotes or demotes. Leaving or
	// joining by link names none: By leaves or joins.
	Participants []string
	// ByLink is a join by the group's invite link.
	ByLink bool
	// Subject and Description are the new ones; "" removes the description.
	Subject, Description *string
	// Announce and Locked are the new settings: either or both.
	Announce, Locked *bool
}

// ChangeGroup makes a member change a group, with WhatsApp's rules: only admins add, remove,
// promote, demote and change settings, and change the subject and description of a locked
// group. The devices of every member (and of those removed) receive it as whatsmeow's
// events.GroupInfo, built as whatsmeow parses WhatsApp's notification; those of an account
// just added get events.JoinedGroup instead. It answers the events.GroupInfo. Bad input is a
// webhook error naming the field.
func (n *Network) ChangeGroup(jid types.JID, c GroupChange) (*events.GroupInfo, error) {
	by := digits(c.By)
	users := make([]string, len(c.Participants))
	for i, p := range c.Participants {
		users[i] = digits(p)
		if !n.IsOnWhatsApp(users[i]) {
			return nil, invalid("participants[%d]: %q is not a phone number on WhatsApp", i, p)
		}
	}
	if err := c.fieldsFit(); err != nil {
		return nil, err
	}
	if by == "" || !n.IsOnWhatsApp(by) {
		return nil, invalid("by: %q is not a phone number on WhatsApp", c.By)
	}
	n.mu.Lock()
	g, ok := n.groups[jid]
	if !ok {
		n.mu.Unlock()
		return nil, invalid("groupId: no group %s", jid)
	}
	g.ensureAdmins()
	before := slices.Clone(g.participants)
	evt, err := n.applyLocked(jid, g, by, users, c)
	if err != nil {
		n.mu.Unlock()
		return nil, err
	}
	var joined *events.JoinedGroup
	if len(evt.Join) > 0 {
		joined = &events.JoinedGroup{Sender: evt.Sender, GroupInfo: *n.infoLocked(jid, g)}
		if c.ByLink {
			joined.Reason = "invite"
		}
	}
	members := slices.Clone(g.participants)
	n.mu.Unlock()
	n.notify(evt, union(before, members), joined)
	return evt, nil
}

// fieldsFit refuses the fields the action does not take.
func (c GroupChange) fieldsFit() error {
	members := c.Action == convert.GroupJoin || c.Action == convert.GroupLeave || c.Action == convert.GroupPromote || c.Action == convert.GroupDemote
	switch {
	case c.Action == "":
		return invalid("action: required: join, leave, promote, demote, subject, description or settings")
	case !members && c.Action != convert.GroupSubject && c.Action != convert.GroupDescription && c.Action != convert.GroupSettings:
		return invalid("action: %q is not one of join, leave, promote, demote, subject, description, settings", c.Action)
	case !members && len(c.Participants) > 0:
		return invalid("participants: only with join, leave, promote and demote")
	case c.ByLink && c.Action != convert.GroupJoin:
		return invalid("byLink: only with join")
	case c.Subject != nil && c.Action != convert.GroupSubject:
		return invalid("subject: only with subject")
	case c.Description != nil && c.Action != convert.GroupDescription:
		return invalid("description: only with description")
	case (c.Announce != nil || c.Locked != nil) && c.Action != convert.GroupSettings:
		return invalid("announce: announce and locked only with settings")
	}
	return nil
}

// applyLocked makes the change by the member by on g and answers its notification.
func (n *Network) applyLocked(jid types.JID, g *group, by string, users []string, c GroupChange) (*events.GroupInfo, error) {
	sender := types.NewJID(by, types.DefaultUserServer)
	evt := &events.GroupInfo{JID: jid, Sender: &sender, Timestamp: now()}
	member := slices.Contains(g.participants, by)
	if !member && !c.ByLink {
		return nil, invalid("by: %s is not a member of group %s", by, jid)
	}
	admin := func() error {
		if !g.admins[by] {
			return invalid("by: %s is not an admin of group %s", by, jid)
		}
		return nil
	}
	// each checks every user named: check answers what is wrong with one, "" when nothing.
	each := func(check func(u string) string) error {
		if len(users) == 0 {
			return invalid("participants: name who the %s is about", c.Action)
		}
		for i, u := range users {
			if slices.Index(users, u) != i {
				return invalid("participants[%d]: %s is listed more than once", i, u)
			}
			if why := check(u); why != "" {
				return invalid("participants[%d]: %s", i, why)
			}
		}
		return nil
	}
	notMember := func(u string) string {
		if !slices.Contains(g.participants, u) {
			return u + " is not a member"
		}
		return ""
	}
	switch c.Action {
	case convert.GroupJoin:
		if c.ByLink {
			// WhatsApp names no one for a join by link: the joiner is in Join.
			if member {
				return nil, invalid("by: %s is already a member of group %s", by, jid)
			}
			if len(users) > 0 {
				return nil, invalid("participants: a join by link names none: by joins")
			}
			users = []string{by}
			evt.Sender, evt.Notify, evt.JoinReason = nil, "invite", "invite"
		} else if err := admin(); err != nil {
			return nil, err
		} else if err := each(func(u string) string {
			if slices.Contains(g.participants, u) {
				return u + " is already a member"
			}
			return ""
		}); err != nil {
			return nil, err
		}
		g.participants = append(g.participants, users...)
		evt.Join = userJIDs(users)
	case convert.GroupLeave:
		if len(users) == 0 {
			users = []string{by}
		}
		if len(users) != 1 || users[0] != by {
			if err := admin(); err != nil {
				return nil, err
			}
			if err := each(notMember); err != nil {
				return nil, err
			}
		}
		g.participants = slices.DeleteFunc(g.participants, func(m string) bool { return slices.Contains(users, m) })
		for _, u := range users {
			delete(g.admins, u)
		}
		evt.Leave = userJIDs(users)
	case convert.GroupPromote, convert.GroupDemote:
		promote := c.Action == convert.GroupPromote
		if err := admin(); err != nil {
			return nil, err
		}
		if err := each(func(u string) string {
			switch {
			case notMember(u) != "":
				return notMember(u)
			case promote && g.admins[u]:
				return u + " is already an admin"
			case !promote && !g.admins[u]:
				return u + " is not an admin"
			}
			return ""
		}); err != nil {
			return nil, err
		}
		for _, u := range users {
			if promote {
				g.admins[u] = true
			} else {
				delete(g.admins, u)
			}
		}
		if promote {
			evt.Promote = userJIDs(users)
		} else {
			evt.Demote = userJIDs(users)
		}
	case convert.GroupSubject:
		if c.Subject == nil || strings.TrimSpace(*c.Subject) == "" {
			return nil, invalid("subject: required, not empty")
		}
		if g.locked {
			if err := admin(); err != nil {
				return nil, err
			}
		}
		g.name = *c.Subject
		evt.Name = &types.GroupName{Name: g.name, NameSetAt: evt.Timestamp, NameSetBy: sender}
	case convert.GroupDescription:
		if c.Description == nil {
			return nil, invalid("description: required; \"\" removes it")
		}
		if g.locked {
			if err := admin(); err != nil {
				return nil, err
			}
		}
		g.topic, g.topicID = *c.Description, strings.ToUpper(hex.EncodeToString(randomBytes(8)))
		evt.Topic = &types.GroupTopic{Topic: g.topic, TopicID: g.topicID, TopicSetAt: evt.Timestamp, TopicSetBy: sender, TopicDeleted: g.topic == ""}
	case convert.GroupSettings:
		if c.Announce == nil && c.Locked == nil {
			return nil, invalid("announce: give announce, locked or both")
		}
		if err := admin(); err != nil {
			return nil, err
		}
		if c.Announce != nil {
			g.announce = *c.Announce
			evt.Announce = &types.GroupAnnounce{IsAnnounce: g.announce, AnnounceVersionID: strings.ToUpper(hex.EncodeToString(randomBytes(8)))}
		}
		if c.Locked != nil {
			g.locked = *c.Locked
			evt.Locked = &types.GroupLocked{IsLocked: g.locked}
		}
	}
	if len(evt.Join)+len(evt.Leave)+len(evt.Promote)+len(evt.Demote) > 0 {
		evt.PrevParticipantVersionID, evt.ParticipantVersionID = g.nextVersion()
	}
	return evt, nil
}

// nextVersion gives the group's participant list a new version, as WhatsApp's notifications
// of member changes carry (prev_v_id, v_id).
func (g *group) nextVersion() (prev, next string) {
	prev = g.version
	g.version = hex.EncodeToString(randomBytes(8))
	return prev, g.version
}

func userJIDs(numbers []string) []types.JID {
	out := make([]types.JID, len(numbers))
	for i, u := range numbers {
		out[i] = types.NewJID(u, types.DefaultUserServer)
	}
	return out
}
