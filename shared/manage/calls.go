package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// The call routes (DESIGN.md §7, contacts and groups) ask the live connection something and
// answer with what WhatsApp said. Each is an outbox record of type call, accepted like a send
// (404 for an unknown instance, 409 without a paired device) and done by the host holding the
// lease, which writes the answer on the record; the route reads it back until
// outbox.CallAnswerBound has passed since the request came, then answers 503 unavailable with
// Retry-After. The host does not start a call past its deadline (outbox.CallDeadline from its
// accept), so a call the API gave up on does not take effect later.

// registerCalls adds the call routes.
func (a *MessageAPI) registerCalls(r *apigw.Router) {
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/contacts/check", a.checkContacts)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}/contacts/{jid}", a.contactInfo)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}/groups", a.listGroups)
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/groups", a.createGroup)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}/groups/{groupId}", a.groupInfo)
	r.Handle(http.MethodPut, "/api/instance/{instanceId}/groups/{groupId}", a.updateGroup)
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/groups/{groupId}/participants", a.groupParticipants)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}/groups/{groupId}/invite", a.groupInvite)
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/groups/{groupId}/leave", a.leaveGroup)
}

func (a *MessageAPI) checkContacts(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now()
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := outbox.ParseCheck(r.RawBody())
	if err != nil {
		return apigw.Response{}, err
	}
	return a.call(ctx, start, id, m)
}

func (a *MessageAPI) contactInfo(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now()
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := outbox.ParseContactJID("jid", r.Param("jid"))
	if err != nil {
		return apigw.Response{}, err
	}
	return a.call(ctx, start, id, m)
}

// groupsCursor is the listing's cursor: the last group of the page before.
type groupsCursor struct {
	Kind       string `json:"k"`
	InstanceID string `json:"i"`
	After      string `json:"a"`
}

const groupsCursorKind = "groups"

func (a *MessageAPI) listGroups(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now()
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	var c groupsCursor
	limit, resumed, err := readPage(r, a.cursors, &c)
	if err != nil {
		return apigw.Response{}, err
	}
	if resumed && (c.Kind != groupsCursorKind || c.InstanceID != id || c.After == "") {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "cursor: belongs to another query")
	}
	resp, err := a.call(ctx, start, id, outbox.GroupsListCall(limit, c.After))
	if err != nil {
		return apigw.Response{}, err
	}
	var page outbox.GroupPage
	if err := json.Unmarshal(resp.Data.(json.RawMessage), &page); err != nil {
		return apigw.Response{}, fmt.Errorf("groups of %s: decode the host's page: %w", id, err)
	}
	p := pagination{Limit: limit}
	if page.Next != "" {
		tok, err := a.cursors.Seal(groupsCursor{Kind: groupsCursorKind, InstanceID: id, After: page.Next})
		if err != nil {
			return apigw.Response{}, fmt.Errorf("seal cursor: %w", err)
		}
		p.NextCursor = &tok
	}
	if page.Groups == nil {
		page.Groups = []outbox.GroupView{}
	}
	return apigw.Response{Data: page.Groups, Extra: map[string]any{"pagination": p}}, nil
}

func (a *MessageAPI) createGroup(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now()
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := outbox.ParseCreateGroup(r.RawBody())
	if err != nil {
		return apigw.Response{}, err
	}
	resp, err := a.call(ctx, start, id, m)
	resp.Status = http.StatusCreated
	return resp, err
}

// groupPath reads the instance and the group of a group's route.
func groupPath(r *apigw.Request) (string, string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", "", err
	}
	jid, err := outbox.ParseGroupJID("groupId", r.Param("groupId"))
	return id, jid, err
}

func (a *MessageAPI) groupInfo(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now()
	id, jid, err := groupPath(r)
	if err != nil {
		return apigw.Response{}, err
	}
	return a.call(ctx, start, id, outbox.GroupInfoCall(jid))
}

func (a *MessageAPI) updateGroup(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now()
	id, jid, err := groupPath(r)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := outbox.ParseUpdateGroup(jid, r.RawBody())
	if err != nil {
		return apigw.Response{}, err
	}
	return a.call(ctx, start, id, m)
}

func (a *MessageAPI) groupParticipants(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now()
	id, jid, err := groupPath(r)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := outbox.ParseParticipants(jid, r.RawBody())
	if err != nil {
		return apigw.Response{}, err
	}
	return a.call(ctx, start, id, m)
}

func (a *MessageAPI) groupInvite(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now()
	id, jid, err := groupPath(r)
	if err != nil {
		return apigw.Response{}, err
	}
	reset, err := r.QueryBool("reset")
	if err != nil {
		return apigw.Response{}, err
	}
	return a.call(ctx, start, id, outbox.GroupInviteCall(jid, reset))
}

func (a *MessageAPI) leaveGroup(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now()
	id, jid, err := groupPath(r)
	if err != nil {
		return apigw.Response{}, err
	}
	if r.HasBody() {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "body: must be empty")
	}
	return a.call(ctx, start, id, outbox.GroupLeaveCall(jid))
}

// call accepts m for the instance and waits for its answer until CallAnswerBound after start.
func (a *MessageAPI) call(ctx context.Context, start time.Time, instanceID string, m *outbox.Message) (apigw.Response, error) {
	bound := start.Add(a.callBound)
	ctx, cancel := context.WithDeadline(ctx, bound)
	defer cancel()
	now := a.clock()
	rec := &outbox.Record{
		InstanceID: instanceID, MessageID: outbox.NewMessageID(), Message: m, Status: outbox.StatusQueued,
		AcceptedAt: now, UpdatedAt: now, ExpiresAt: now.Add(a.callBound - (outbox.CallAnswerBound - outbox.CallDeadline)),
	}
	rec, _, err := a.outbox.Accept(ctx, rec, "", now)
	if err != nil {
		if ctx.Err() != nil {
			return apigw.Response{}, a.unanswered(instanceID, time.Second)
		}
		return apigw.Response{}, err
	}
	// The last look leaves half a second to read and answer within the bound.
	rec, err = a.await(ctx, rec, bound.Add(-time.Second/2))
	if err != nil {
		return apigw.Response{}, err
	}
	return a.callAnswer(rec)
}

// callAnswer turns a call's record as last read into the route's answer.
func (a *MessageAPI) callAnswer(rec *outbox.Record) (apigw.Response, error) {
	if rec.Status.Pending() || rec.Status == outbox.StatusFailed || len(rec.Result) == 0 {
		// Not done within the bound (no host holds the instance, it is disconnected or busy),
		// or past its deadline: the host will not do it any more.
		return apigw.Response{}, a.unanswered(rec.InstanceID, time.Second)
	}
	var res outbox.CallResult
	if err := json.Unmarshal(rec.Result, &res); err != nil {
		return apigw.Response{}, fmt.Errorf("call %s of %s: decode its answer: %w", rec.MessageID, rec.InstanceID, err)
	}
	if res.Error != nil {
		return apigw.Response{}, res.Error.Err()
	}
	return apigw.Response{Data: res.Data}, nil
}

func (a *MessageAPI) unanswered(instanceID string, after time.Duration) error {
	return &webhook.Error{
		Code:       webhook.EUnavailable,
		Message:    fmt.Sprintf("instance %s did not answer within %d s (not connected, or its host is busy or moving); try again", instanceID, int(a.callBound/time.Second)),
		RetryAfter: after,
	}
}
