package convert

import (
	"encoding/json"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/shared/webhook"
)

// The actions of group.updated (DESIGN.md §2).
const (
	GroupJoin        = "join"
	GroupLeave       = "leave"
	GroupPromote     = "promote"
	GroupDemote      = "demote"
	GroupSubject     = "subject"
	GroupDescription = "description"
	GroupSettings    = "settings"
)

// groupData is the data of group.updated: one change to a group. Participants are the users
// the change is about (join, leave, promote, demote; empty otherwise); By is who made it, null
// when WhatsApp does not say (a join by invite link names no one); the member of the value
// that changed is set, the others left out.
type groupData struct {
	GroupID      string   `json:"groupId"`
	Action       string   `json:"action"`
	Participants []string `json:"participants"`
	By           *string  `json:"by"`
	SenderLID    string   `json:"senderLid,omitempty"`
	// Reason is why users joined: "invite" when by the group's invite link.
	Reason      string  `json:"reason,omitempty"`
	Subject     *string `json:"subject,omitempty"`
	Description *string `json:"description,omitempty"` // "" when it was removed
	Announce    *bool   `json:"announce,omitempty"`    // only admins send messages
	Locked      *bool   `json:"locked,omitempty"`      // only admins edit the group's info
	Timestamp   string  `json:"timestamp"`
}

// GroupInfo converts a group notification into the data of one group.updated event per
// change it carries, in the order join, leave, promote, demote, subject, description,
// settings. Changes group.updated has no action for (disappearing messages, approval mode,
// community links, invite link resets, deletion) convert to none.
func GroupInfo(evt *events.GroupInfo) []json.RawMessage {
	base := groupData{GroupID: evt.JID.ToNonAD().String(), Participants: []string{}, Timestamp: webhook.FormatTime(evt.Timestamp)}
	base.setBy(evt.Sender, evt.SenderPN)
	var out []json.RawMessage
	members := func(action string, jids []types.JID) {
		if len(jids) == 0 {
			return
		}
		d := base
		d.Action, d.Participants = action, make([]string, len(jids))
		for i, j := range jids {
			d.Participants[i] = j.ToNonAD().String()
		}
		if action == GroupJoin {
			d.Reason = evt.JoinReason
		}
		out = append(out, marshal(d))
	}
	members(GroupJoin, evt.Join)
	members(GroupLeave, evt.Leave)
	members(GroupPromote, evt.Promote)
	members(GroupDemote, evt.Demote)
	if evt.Name != nil {
		d := base
		d.Action, d.Subject = GroupSubject, &evt.Name.Name
		out = append(out, marshal(d))
	}
	if evt.Topic != nil {
		d := base
		topic := evt.Topic.Topic
		if evt.Topic.TopicDeleted {
			topic = ""
		}
		d.Action, d.Description = GroupDescription, &topic
		out = append(out, marshal(d))
	}
	if evt.Announce != nil || evt.Locked != nil {
		d := base
		d.Action = GroupSettings
		if evt.Announce != nil {
			d.Announce = &evt.Announce.IsAnnounce
		}
		if evt.Locked != nil {
			d.Locked = &evt.Locked.IsLocked
		}
		out = append(out, marshal(d))
	}
	return out
}

// JoinedGroup converts WhatsApp's notice that this account, self, is now in a group (added by
// someone, or joined by an invite link) into the data of a group.updated join, at time at.
// A group this account created is not news to it: false.
func JoinedGroup(evt *events.JoinedGroup, self types.JID, at time.Time) (json.RawMessage, bool) {
	if evt.CreateKey != "" || (evt.Sender != nil && evt.Sender.User == self.User && !self.IsEmpty()) {
		return nil, false
	}
	d := groupData{
		GroupID: evt.JID.ToNonAD().String(), Action: GroupJoin, Participants: []string{self.ToNonAD().String()},
		Reason: evt.Reason, Timestamp: webhook.FormatTime(at),
	}
	d.setBy(evt.Sender, evt.SenderPN)
	return marshal(d), true
}

// setBy names who made the change, from a notification's sender and, when the sender is a
// LID, its phone JID; By stays null when WhatsApp names no one.
func (d *groupData) setBy(sender, senderPN *types.JID) {
	if sender == nil || sender.IsEmpty() {
		return
	}
	var alt types.JID
	if senderPN != nil {
		alt = *senderPN
	}
	by, lid := person(*sender, alt)
	d.By, d.SenderLID = &by, lid
}
