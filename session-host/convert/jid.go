package convert

import "go.mau.fi/whatsmeow/types"

// person returns how a user is named in events: their phone JID when the event knows it, else
// the JID WhatsApp gave; and their LID whenever the event knows one. main is the JID WhatsApp
// addressed the user by and alt the alternative address it sent along (whatsmeow's SenderAlt),
// either of which may be a LID. Device parts are dropped: a webhook names people, not the phone
// or laptop they used.
func person(main, alt types.JID) (jid, lid string) {
	main, alt = main.ToNonAD(), alt.ToNonAD()
	switch {
	case main.Server == types.HiddenUserServer && alt.Server == types.DefaultUserServer:
		return alt.String(), main.String()
	case main.Server == types.HiddenUserServer:
		return main.String(), main.String()
	case alt.Server == types.HiddenUserServer:
		return main.String(), alt.String()
	}
	return main.String(), ""
}

// chat returns the chat's JID as events name it. A direct chat WhatsApp addresses by LID is named
// by the other person's phone JID when the event carries it, so one conversation keeps one
// chatId whichever addressing WhatsApp happens to use: for what others send the LID chat is the
// sender (SenderAlt is their phone JID), for what we send it is the recipient (RecipientAlt).
func chat(src types.MessageSource) string {
	c := src.Chat.ToNonAD()
	if c.Server != types.HiddenUserServer {
		return c.String()
	}
	alt := src.SenderAlt
	if src.IsFromMe {
		alt = src.RecipientAlt
	}
	if alt.Server == types.DefaultUserServer {
		return alt.ToNonAD().String()
	}
	return c.String()
}
