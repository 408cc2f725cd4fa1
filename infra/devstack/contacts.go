package devstack

import (
	"context"
	"net/http"
	"strings"

	"github.com/wagate/wagate/infra/wasim"
	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/webhook"
)

// ContactResource is the local stack's route to what a simulated person's WhatsApp account
// shows others; like the phone routes it exists only here.
const ContactResource = "/api/dev/contacts/{phone}"

// WhatsApp is the simulated WhatsApp network the stack's session host connects to, for tests
// that set up what its accounts show (business names, hidden pictures, about texts).
func (s *Stack) WhatsApp() *wasim.Network { return s.phones }

// profileInput changes what an account shows: each field given, the others kept.
type profileInput struct {
	PushName      *string `json:"pushName"`
	BusinessName  *string `json:"businessName"`
	About         *string `json:"about"`
	PictureHidden *bool   `json:"pictureHidden"`
	// GroupInviteOnly is the privacy setting that refuses being added to groups: adding the
	// account sends it an invite instead.
	GroupInviteOnly *bool `json:"groupInviteOnly"`
}

type profileOutput struct {
	Phone           string  `json:"phone"`
	PushName        string  `json:"pushName"`
	BusinessName    *string `json:"businessName"`
	About           string  `json:"about"`
	PictureURL      *string `json:"pictureUrl"`
	PictureHidden   bool    `json:"pictureHidden"`
	GroupInviteOnly bool    `json:"groupInviteOnly"`
}

// setProfile sets a simulated account's profile, as its owner would in the app. The push
// name reaches an instance with the account's next message, as on WhatsApp.
func (s *Stack) setProfile(_ context.Context, r *apigw.Request) (apigw.Response, error) {
	number := digitsOnly(strings.TrimPrefix(r.Param("phone"), "+"))
	if number == "" || !s.phones.IsOnWhatsApp(number) {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "phone: %q is not a phone number on WhatsApp (international digits, not starting with 999)", r.Param("phone"))
	}
	var in profileInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	if in.PushName != nil && strings.TrimSpace(*in.PushName) == "" {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "pushName: must not be empty (WhatsApp asks every account for one)")
	}
	if in.PushName != nil {
		s.phones.SetPushName(number, *in.PushName)
	}
	if in.BusinessName != nil {
		s.phones.SetBusiness(number, *in.BusinessName)
	}
	if in.About != nil {
		s.phones.SetAbout(number, *in.About)
	}
	if in.PictureHidden != nil {
		s.phones.HidePicture(number, *in.PictureHidden)
	}
	if in.GroupInviteOnly != nil {
		s.phones.RequireInvite(number, *in.GroupInviteOnly)
	}
	p := s.phones.Profile(number)
	out := profileOutput{Phone: p.Number, PushName: p.PushName, About: p.About, PictureHidden: p.PictureHidden, GroupInviteOnly: p.InviteOnly}
	if p.BusinessName != "" {
		out.BusinessName = &p.BusinessName
	}
	if !p.PictureHidden {
		url := wasim.PictureURL(number)
		out.PictureURL = &url
	}
	return apigw.Response{Status: http.StatusOK, Data: out}, nil
}
