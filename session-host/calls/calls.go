// Package calls does the request–answer calls of the contacts and groups routes (DESIGN.md
// §7) on a session's live connection: the session's sender hands it each call record and
// writes the answer it returns on the record, which the API reads back.
//
// Contact lookups are cached per instance (CheckTTL) and paced: each query to WhatsApp for
// numbers not in the cache takes a turn of the instance's send pace, as a send does, so a
// bulk check is as slow as sending to as many people in as many batches (bulk lookups are a
// known cause of bans). The list of joined groups is kept for GroupsListTTL, so paging through
// it asks WhatsApp once (groups.go).
package calls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// CheckTTL is how long a number's answer to contacts/check is kept by the instance's session:
// a number that joins or leaves WhatsApp shows within a day, and a list checked again and
// again costs WhatsApp nothing. The cache lives with the session, so a host that takes the
// lease over looks numbers up again.
const CheckTTL = 24 * time.Hour

// Client is what calls need of the session's connection (whatsmeow's own methods).
type Client interface {
	IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error)
	GetUserInfo(ctx context.Context, jids []types.JID) (map[types.JID]types.UserInfo, error)
	GetProfilePictureInfo(ctx context.Context, jid types.JID, params *whatsmeow.GetProfilePictureParams) (*types.ProfilePictureInfo, error)
}

// Contacts is the device's contact store (whatsmeow's store.ContactStore): the push names
// WhatsApp sent this account.
type Contacts interface {
	GetContact(ctx context.Context, user types.JID) (types.ContactInfo, error)
}

// WaitError is returned by Do when a call must wait for its turn of the pace: do it again at
// Until.
type WaitError struct{ Until time.Time }

func (e *WaitError) Error() string { return "wait for the lookup pace until " + e.Until.String() }

// Caller does one instance's calls. It is used by the instance's sender only, one call at a
// time, but is safe for concurrent use.
type Caller struct {
	client   Client
	groups   Groups               // nil when the connection does no group calls
	contacts func() Contacts      // the device's contact store as it is now
	gap      func() time.Duration // the instance's send pace's next gap

	mu     sync.Mutex
	cache  map[string]cached // by digits
	nextAt time.Time         // when the next uncached lookup may go
	// joined is the list of joined groups fetched at joinedAt, sorted by JID; nil when none
	// is kept (groups.go).
	joined   []*types.GroupInfo
	joinedAt time.Time
}

type cached struct {
	result outbox.CheckResult
	until  time.Time
}

// New returns the Caller of a session; gap returns the wait between two uncached lookups (the
// instance's send pace). contacts answers the device's contact store as it is at the time of
// a call: a device gets its store when it is paired, after its session started. It may be nil,
// or answer nil.
func New(client Client, contacts func() Contacts, gap func() time.Duration) *Caller {
	k := &Caller{client: client, contacts: contacts, gap: gap, cache: map[string]cached{}}
	k.groups, _ = client.(Groups)
	return k
}

// Do does c at now, with ctx ending at the call's deadline, and returns its answer: a
// CallResult with data, or with the error the API answers (WhatsApp refusing it). A *WaitError
// asks to be called again later; any other error is the connection failing (the call is not
// answered, and the API answers 503).
func (k *Caller) Do(ctx context.Context, c *outbox.Call, now time.Time) (*outbox.CallResult, error) {
	switch c.Op {
	case outbox.OpContactsCheck:
		return k.check(ctx, c.Phones, now)
	case outbox.OpContactInfo:
		return k.info(ctx, c.JID)
	case outbox.OpGroupsList, outbox.OpGroupInfo, outbox.OpGroupCreate, outbox.OpGroupUpdate,
		outbox.OpGroupParticipants, outbox.OpGroupInvite, outbox.OpGroupLeave:
		return k.groupCall(ctx, c.Op, c.Group, now)
	}
	return refused(webhook.EInvalid, "this host does not know the call %q; it may be older than the API", c.Op), nil
}

func refused(code, format string, args ...any) *outbox.CallResult {
	return &outbox.CallResult{Error: &outbox.CallError{Code: code, Message: fmt.Sprintf(format, args...)}}
}

func answer(v any) (*outbox.CallResult, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode answer: %w", err)
	}
	return &outbox.CallResult{Data: b}, nil
}

// check answers each number from the cache, and looks the rest up in one query if the pace
// lets one go now.
func (k *Caller) check(ctx context.Context, phones []string, now time.Time) (*outbox.CallResult, error) {
	k.mu.Lock()
	var missing []string
	for _, p := range phones {
		if e, ok := k.cache[p]; !ok || !now.Before(e.until) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		if now.Before(k.nextAt) {
			until := k.nextAt
			k.mu.Unlock()
			return nil, &WaitError{Until: until}
		}
		// The turn is taken before the query: one that fails still counts against the pace.
		k.nextAt = now.Add(k.gap())
	}
	k.mu.Unlock()
	if len(missing) > 0 {
		query := make([]string, len(missing))
		for i, p := range missing {
			query[i] = "+" + p
		}
		resp, err := k.client.IsOnWhatsApp(ctx, query)
		if err != nil {
			return nil, fmt.Errorf("look up %d numbers: %w", len(missing), err)
		}
		found := map[string]outbox.CheckResult{}
		for _, r := range resp {
			d := strings.TrimPrefix(r.Query, "+")
			res := outbox.CheckResult{Phone: d, OnWhatsApp: r.IsIn, IsBusiness: r.VerifiedName != nil}
			if r.IsIn && !r.JID.IsEmpty() {
				jid := r.JID.ToNonAD().String()
				res.JID = &jid
			}
			found[d] = res
		}
		k.mu.Lock()
		for _, p := range missing {
			res, ok := found[p]
			if !ok {
				res = outbox.CheckResult{Phone: p} // WhatsApp answers nothing for a number it has no account of
			}
			k.cache[p] = cached{result: res, until: now.Add(CheckTTL)}
		}
		k.mu.Unlock()
	}
	k.mu.Lock()
	out := make([]outbox.CheckResult, len(phones))
	for i, p := range phones {
		out[i] = k.cache[p].result
	}
	k.mu.Unlock()
	return answer(out)
}

func (k *Caller) contactStore() Contacts {
	if k.contacts == nil {
		return nil
	}
	return k.contacts()
}

// info answers a user's names, about text and picture.
func (k *Caller) info(ctx context.Context, jidText string) (*outbox.CallResult, error) {
	jid, err := types.ParseJID(jidText)
	if err != nil {
		return refused(webhook.EInvalid, "jid: %q is not a WhatsApp JID", jidText), nil
	}
	users, err := k.client.GetUserInfo(ctx, []types.JID{jid})
	if err != nil {
		return nil, fmt.Errorf("user info of %s: %w", jid, err)
	}
	u, ok := users[jid]
	if !ok {
		return refused(webhook.ENotFound, "jid: %s is not on WhatsApp", jid), nil
	}
	out := outbox.ContactInfo{JID: jid.String()}
	if u.Status != "" {
		out.About = &u.Status
	}
	if u.VerifiedName != nil && u.VerifiedName.Details.GetVerifiedName() != "" {
		name := u.VerifiedName.Details.GetVerifiedName()
		out.BusinessName = &name
	}
	if store := k.contactStore(); store != nil {
		if c, err := store.GetContact(ctx, jid); err == nil {
			if c.PushName != "" {
				out.PushName = &c.PushName
			}
			if out.BusinessName == nil && c.BusinessName != "" {
				out.BusinessName = &c.BusinessName
			}
		}
	}
	pic, err := k.client.GetProfilePictureInfo(ctx, jid, &whatsmeow.GetProfilePictureParams{})
	switch {
	case errors.Is(err, whatsmeow.ErrProfilePictureUnauthorized), errors.Is(err, whatsmeow.ErrProfilePictureNotSet):
		// Hidden from this account, or none: null.
	case err != nil:
		return nil, fmt.Errorf("profile picture of %s: %w", jid, err)
	case pic != nil && pic.URL != "":
		out.PictureURL, out.PictureID = &pic.URL, &pic.ID
	}
	return answer(out)
}
