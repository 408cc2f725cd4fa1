package outbox

import (
	"strings"
	"unicode/utf8"
)

// The group calls (DESIGN.md §7, groups).
const (
	OpGroupsList        = "groups.list"
	OpGroupCreate       = "groups.create"
	OpGroupInfo         = "groups.info"
	OpGroupUpdate       = "groups.update"
	OpGroupParticipants = "groups.participants"
	OpGroupInvite       = "groups.invite"
	OpGroupLeave        = "groups.leave"
)

// WhatsApp's group limits: a subject of up to 100 characters (the apps' limit), a
// description of up to 2,048, and 1,024 members, so no list of participants is longer.
// Characters are code points, as the OpenAPI file's maxLength counts them.
const (
	MaxGroupName         = 100
	MaxGroupDescription  = 2048
	MaxGroupParticipants = 1024
)

// The participant actions of POST groups/{groupId}/participants.
const (
	ParticipantsAdd     = "add"
	ParticipantsRemove  = "remove"
	ParticipantsPromote = "promote"
	ParticipantsDemote  = "demote"
)

// Group is what a group call asks besides its Op (Call.Group).
type Group struct {
	JID          string   `json:"jid,omitempty"`
	Name         *string  `json:"name,omitempty"`
	Description  *string  `json:"description,omitempty"`
	Announce     *bool    `json:"announce,omitempty"`
	Locked       *bool    `json:"locked,omitempty"`
	Action       string   `json:"action,omitempty"`
	Participants []string `json:"participants,omitempty"` // user JIDs
	Reset        bool     `json:"reset,omitempty"`
	// Listing: at most Limit groups whose JIDs sort after After.
	Limit int    `json:"limit,omitempty"`
	After string `json:"after,omitempty"`
}

// groupCall is the call of op on g; its chat is the group, or "groups" for the listing and
// creation, so the calls of one group keep its order.
func groupCall(op string, g *Group) *Message {
	chat := g.JID
	if chat == "" {
		chat = "groups"
	}
	return &Message{Chat: chat, Type: TypeCall, Call: &Call{Op: op, Group: g}}
}

// ParseGroupJID reads a {groupId} path parameter: a group JID; a user's is refused.
func ParseGroupJID(field, s string) (string, error) {
	user, ok := strings.CutSuffix(s, "@"+GroupServer)
	if !ok || !groupPattern.MatchString(user) {
		return "", invalid(field, "must be a group JID (<digits>@%s); %q is not one", GroupServer, s)
	}
	return s, nil
}

// GroupsListCall is the call of GET groups: a page of limit groups after the JID after.
func GroupsListCall(limit int, after string) *Message {
	return groupCall(OpGroupsList, &Group{Limit: limit, After: after})
}

// GroupInfoCall, GroupInviteCall and GroupLeaveCall are the calls of the routes of that name.
func GroupInfoCall(jid string) *Message { return groupCall(OpGroupInfo, &Group{JID: jid}) }

// GroupInviteCall asks for a group's invite link, revoking the old one with reset.
func GroupInviteCall(jid string, reset bool) *Message {
	return groupCall(OpGroupInvite, &Group{JID: jid, Reset: reset})
}

// GroupLeaveCall leaves a group.
func GroupLeaveCall(jid string) *Message { return groupCall(OpGroupLeave, &Group{JID: jid}) }

// CreateGroupRequest is the body of POST groups.
type CreateGroupRequest struct {
	Name         *string  `json:"name"`
	Participants []string `json:"participants"`
}

// ParseCreateGroup decodes and validates POST groups.
func ParseCreateGroup(body []byte) (*Message, error) {
	var r CreateGroupRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	if r.Name == nil {
		return nil, invalid("name", "required: the group's subject, 1 to %d characters", MaxGroupName)
	}
	if err := validateGroupName("name", *r.Name); err != nil {
		return nil, err
	}
	if r.Participants == nil {
		return nil, invalid("participants", "required: the users to add, at most %d", MaxGroupParticipants-1)
	}
	users, err := parseParticipants(r.Participants, MaxGroupParticipants-1, 0)
	if err != nil {
		return nil, err
	}
	return groupCall(OpGroupCreate, &Group{Name: r.Name, Participants: users}), nil
}

func validateGroupName(field, name string) error {
	switch {
	case strings.TrimFunc(name, schemaSpace) == "":
		return invalid(field, "must not be empty or only white space")
	case utf8.RuneCountInString(name) > MaxGroupName:
		return invalid(field, "longer than %d characters", MaxGroupName)
	}
	return nil
}

// schemaSpace is white space as the OpenAPI file's patterns read it (ECMAScript's \s), so
// that a name the schema takes is one the API takes.
func schemaSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// parseParticipants reads a list of users, at least least and at most most, each once.
func parseParticipants(list []string, most, least int) ([]string, error) {
	if len(list) < least || len(list) > most {
		return nil, invalid("participants", "give %d to %d users (WhatsApp's groups hold at most %d members)", least, most, MaxGroupParticipants)
	}
	users := make([]string, 0, len(list))
	seen := map[string]bool{}
	for i, p := range list {
		f := indexed("participants", i)
		if strings.HasSuffix(p, "@"+GroupServer) {
			return nil, invalid(f, "%s is a group; give a user", p)
		}
		jid, err := ParseUser(f, p)
		if err != nil {
			return nil, err
		}
		if seen[jid] {
			return nil, invalid(f, "%s is listed more than once", jid)
		}
		seen[jid] = true
		users = append(users, jid)
	}
	return users, nil
}

// UpdateGroupRequest is the body of PUT groups/{groupId}: what to change.
type UpdateGroupRequest struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Announce    *bool   `json:"announce"`
	Locked      *bool   `json:"locked"`
}

// ParseUpdateGroup decodes and validates PUT groups/{groupId} for the group jid.
func ParseUpdateGroup(jid string, body []byte) (*Message, error) {
	var r UpdateGroupRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	if r.Name == nil && r.Description == nil && r.Announce == nil && r.Locked == nil {
		return nil, invalid("body", "give at least one of name, description, announce, locked")
	}
	if r.Name != nil {
		if err := validateGroupName("name", *r.Name); err != nil {
			return nil, err
		}
	}
	if r.Description != nil && utf8.RuneCountInString(*r.Description) > MaxGroupDescription {
		return nil, invalid("description", "longer than %d characters", MaxGroupDescription)
	}
	return groupCall(OpGroupUpdate, &Group{JID: jid, Name: r.Name, Description: r.Description, Announce: r.Announce, Locked: r.Locked}), nil
}

// ParticipantsRequest is the body of POST groups/{groupId}/participants.
type ParticipantsRequest struct {
	Action       *string  `json:"action"`
	Participants []string `json:"participants"`
}

// ParseParticipants decodes and validates POST groups/{groupId}/participants for jid.
func ParseParticipants(jid string, body []byte) (*Message, error) {
	var r ParticipantsRequest
	if err := decodeStrict(body, &r); err != nil {
		return nil, err
	}
	if r.Action == nil {
		return nil, invalid("action", "required: one of add, remove, promote, demote")
	}
	switch *r.Action {
	case ParticipantsAdd, ParticipantsRemove, ParticipantsPromote, ParticipantsDemote:
	default:
		return nil, invalid("action", "%q is not one of add, remove, promote, demote", *r.Action)
	}
	users, err := parseParticipants(r.Participants, MaxGroupParticipants, 1)
	if err != nil {
		return nil, err
	}
	return groupCall(OpGroupParticipants, &Group{JID: jid, Action: *r.Action, Participants: users}), nil
}

// GroupView is a group as the API shows it.
type GroupView struct {
	JID          string             `json:"groupId"`
	Name         string             `json:"name"`
	Description  string             `json:"description"`
	Owner        *string            `json:"owner"`
	Announce     bool               `json:"announce"`
	Locked       bool               `json:"locked"`
	CreatedAt    *string            `json:"createdAt"`
	Size         int                `json:"size"`
	Participants []GroupParticipant `json:"participants"`
}

// GroupParticipant is a member of a group.
type GroupParticipant struct {
	JID          string  `json:"jid"`
	LID          *string `json:"lid"`
	IsAdmin      bool    `json:"isAdmin"`
	IsSuperAdmin bool    `json:"isSuperAdmin"`
}

// GroupPage is a page of the listing as the host answers it: the API seals Next into its
// cursor.
type GroupPage struct {
	Groups []GroupView `json:"groups"`
	Next   string      `json:"next,omitempty"` // the last JID of this page when more follow
}

// ParticipantResult is one participant's result of POST groups/{groupId}/participants.
type ParticipantResult struct {
	JID    string `json:"jid"`
	Status string `json:"status"`
	// Code is WhatsApp's error code for the participant, 0 when it went through.
	Code int `json:"code,omitempty"`
}

// The statuses of a participant's result.
const (
	ParticipantOK         = "ok"          // added, removed, promoted or demoted
	ParticipantAlready    = "already"     // already in (add), or not an admin (demote), ...
	ParticipantNotAllowed = "not_allowed" // their privacy settings or WhatsApp refused it
	ParticipantInvited    = "invited"     // not added: WhatsApp sent them an invite instead
	ParticipantNotFound   = "not_found"   // not on WhatsApp, or not in the group
	ParticipantFailed     = "failed"      // another error, with its code
)
