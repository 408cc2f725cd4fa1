package wasim

import (
	"context"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waVnameCert"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// The simulated accounts' profiles, as WhatsApp keeps them: every number on WhatsApp has a
// push name ("+<number>" until SetPushName), the about text DefaultAbout and a profile
// picture, unless SetAbout, SetBusiness or HidePicture say otherwise. Others learn the push
// name only from the account's messages (whatsmeow stores the one each message carries in the
// device's contact store), and a business's verified name from its messages and from user
// info queries; the about text and picture only by asking.

// DefaultAbout is the about text of an account that set none, as WhatsApp's apps set it.
const DefaultAbout = "Hey there! I am using WhatsApp."

type profiles struct {
	about    map[string]string
	business map[string]string // verified business names
	hidden   map[string]bool   // numbers hiding their picture from everyone
	asked    int               // GetUserInfo queries received
	// inviteOnly are numbers whose privacy settings refuse being added to groups.
	inviteOnly map[string]bool
}

// UserInfoQueries answers how many GetUserInfo queries the network has received, answered or
// not (a test sees a call reach WhatsApp while the server is down).
func (n *Network) UserInfoQueries() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.profiles.asked
}

func (p *profiles) init() {
	if p.about == nil {
		p.about, p.business, p.hidden, p.inviteOnly = map[string]string{}, map[string]string{}, map[string]bool{}, map[string]bool{}
	}
}

// SetAbout sets a number's about text.
func (n *Network) SetAbout(number, about string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.profiles.init()
	n.profiles.about[digits(number)] = about
}

// SetBusiness makes a number a business account with a verified name ("" makes it personal).
func (n *Network) SetBusiness(number, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.profiles.init()
	if name == "" {
		delete(n.profiles.business, digits(number))
	} else {
		n.profiles.business[digits(number)] = name
	}
}

// HidePicture makes a number hide its profile picture from the simulated accounts, or show it.
func (n *Network) HidePicture(number string, hidden bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.profiles.init()
	n.profiles.hidden[digits(number)] = hidden
}

// Profile is what a number shows others.
type Profile struct {
	Number        string
	PushName      string
	BusinessName  string // the verified business name; "" for a personal account
	About         string
	PictureHidden bool
	// InviteOnly: the privacy settings refuse being added to groups (RequireInvite).
	InviteOnly bool
}

// Profile answers what a number shows others.
func (n *Network) Profile(number string) Profile {
	number = digits(number)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.profiles.init()
	p := Profile{Number: number, PushName: n.phoneLocked(number).pushName, BusinessName: n.profiles.business[number],
		About: n.profiles.about[number], PictureHidden: n.profiles.hidden[number], InviteOnly: n.profiles.inviteOnly[number]}
	if _, ok := n.profiles.about[number]; !ok {
		p.About = DefaultAbout
	}
	return p
}

// PictureURL is the simulated profile picture of a number.
func PictureURL(number string) string {
	return "https://pps.whatsapp.net/v/t61.24694-24/sim-" + digits(number) + ".jpg"
}

// business is the verified name a business's messages carry, nil for a personal account.
func (n *Network) business(number string) *types.VerifiedName {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.profiles.init()
	return n.verifiedName(number)
}

// verifiedName is the business's verified name as WhatsApp's certificate details carry it.
func (n *Network) verifiedName(number string) *types.VerifiedName {
	name, ok := n.profiles.business[number]
	if !ok {
		return nil
	}
	return &types.VerifiedName{Details: &waVnameCert.VerifiedNameCertificate_Details{VerifiedName: proto.String(name)}}
}

// serverDown waits, while the server is down, for ctx to end or whatsmeow's 75 s query
// timeout, as a query to a server that does not answer would.
func (n *Network) serverDown(ctx context.Context) error {
	n.mu.Lock()
	down := n.down
	n.mu.Unlock()
	if !down {
		return nil
	}
	select {
	case <-ctx.Done():
	case <-time.After(75 * time.Second):
	}
	return whatsmeow.ErrIQTimedOut
}

// GetUserInfo answers the about text, picture id and verified business name of each user on
// WhatsApp, as whatsmeow's does; users without an account are left out.
func (c *Client) GetUserInfo(ctx context.Context, jids []types.JID) (map[types.JID]types.UserInfo, error) {
	if _, err := c.connected(); err != nil {
		return nil, err
	}
	c.net.mu.Lock()
	c.net.profiles.asked++
	c.net.mu.Unlock()
	if err := c.net.serverDown(ctx); err != nil {
		return nil, err
	}
	n := c.net
	n.mu.Lock()
	n.profiles.init()
	out := map[types.JID]types.UserInfo{}
	for _, jid := range jids {
		if jid.Server != types.DefaultUserServer || !n.onWhatsApp(jid.User) {
			continue
		}
		about, ok := n.profiles.about[jid.User]
		if !ok {
			about = DefaultAbout
		}
		info := types.UserInfo{Status: about, VerifiedName: n.verifiedName(jid.User)}
		if !n.profiles.hidden[jid.User] {
			info.PictureID = "1" + jid.User
		}
		out[jid] = info
	}
	n.mu.Unlock()
	// whatsmeow keeps the verified names it is answered in the contact store.
	if contacts := c.device.Contacts; contacts != nil {
		for jid, info := range out {
			if info.VerifiedName != nil {
				if _, _, err := contacts.PutBusinessName(ctx, jid, info.VerifiedName.Details.GetVerifiedName()); err != nil {
					c.net.logger.Error("store business name", "user", jid, "error", err)
				}
			}
		}
	}
	return out, nil
}

// learnNames stores the push name and verified business name an incoming message carries in
// the device's contact store, as whatsmeow does with each message it receives, and reports a
// change as whatsmeow does (events.PushName, events.BusinessName).
func (c *Client) learnNames(m *events.Message) {
	contacts := c.device.Contacts
	if contacts == nil {
		return
	}
	ctx, cancel := withTimeout()
	defer cancel()
	user := m.Info.Sender.ToNonAD()
	if v := m.Info.VerifiedName; v != nil && v.Details.GetVerifiedName() != "" {
		name := v.Details.GetVerifiedName()
		if changed, old, err := contacts.PutBusinessName(ctx, user, name); err != nil {
			c.net.logger.Error("store business name", "user", user, "error", err)
		} else if changed {
			c.handle(&events.BusinessName{JID: user, Message: &m.Info, OldBusinessName: old, NewBusinessName: name})
		}
	}
	if name := m.Info.PushName; name != "" && name != "-" {
		if changed, old, err := contacts.PutPushName(ctx, user, name); err != nil {
			c.net.logger.Error("store push name", "user", user, "error", err)
		} else if changed {
			c.handle(&events.PushName{JID: user, Message: &m.Info, OldPushName: old, NewPushName: name})
		}
	}
}

// GetProfilePictureInfo answers a user's picture, or whatsmeow's error when it is hidden.
func (c *Client) GetProfilePictureInfo(ctx context.Context, jid types.JID, _ *whatsmeow.GetProfilePictureParams) (*types.ProfilePictureInfo, error) {
	if _, err := c.connected(); err != nil {
		return nil, err
	}
	if err := c.net.serverDown(ctx); err != nil {
		return nil, err
	}
	n := c.net
	n.mu.Lock()
	defer n.mu.Unlock()
	n.profiles.init()
	switch {
	case jid.Server == types.DefaultUserServer && !n.onWhatsApp(jid.User):
		return nil, whatsmeow.ErrProfilePictureNotSet
	case n.profiles.hidden[jid.User]:
		return nil, whatsmeow.ErrProfilePictureUnauthorized
	}
	return &types.ProfilePictureInfo{URL: PictureURL(jid.User), ID: "1" + jid.User, Type: "image"}, nil
}
