package wasim

import (
	"context"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waVnameCert"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// The simulated accounts' profiles: every number on WhatsApp has the about text DefaultAbout
// and a profile picture, unless SetAbout, SetBusiness or HidePicture say otherwise.

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

// PictureURL is the simulated profile picture of a number.
func PictureURL(number string) string {
	return "https://pps.whatsapp.net/v/t61.24694-24/sim-" + digits(number) + ".jpg"
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
	defer n.mu.Unlock()
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
	return out, nil
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
