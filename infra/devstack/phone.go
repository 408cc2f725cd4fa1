package devstack

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/infra/wasim"
	"github.com/wagate/wagate/session-host/convert"
	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/webhook"
)

// The local stack's routes to the simulated WhatsApp phone of an instance. Like the trigger
// route, they exist only here, never in template.yaml.
const (
	PhoneLinkResource     = "/api/dev/phone/{instanceId}/link"
	PhoneIncomingResource = "/api/dev/phone/{instanceId}/incoming"
	PhoneOutgoingResource = "/api/dev/phone/{instanceId}/outgoing"
	PhoneSentResource     = "/api/dev/phone/{instanceId}/sent"
	PhoneGroupsResource   = "/api/dev/phone/{instanceId}/groups"
	// PhoneGroupChangeResource makes another member change a group of the account.
	PhoneGroupChangeResource = "/api/dev/phone/{instanceId}/groups/{groupId}/change"
)

// Defaults of the simulated people: the contact who writes to an instance and is written to.
const (
	defaultContact  = "6281234567890"
	defaultPushName = "Budi"
)

// linkWait bounds how long linking waits for the instance's session to show a QR code (a new
// instance's session starts within a lease interval) and to record the pairing.
const linkWait = 20 * time.Second

type linkInput struct {
	Phone  string `json:"phone"`
	Method string `json:"method"`
	// QR is the code the phone scans, as a page showing the instance's QR code shows it (the
	// console's browser tests); the instance's current code when empty.
	QR string `json:"qr"`
}

type linkOutput struct {
	InstanceID string `json:"instanceId"`
	Phone      string `json:"phone"`
	DeviceJID  string `json:"deviceJid"`
	Method     string `json:"method"`
}

// phoneFor is the number an instance's simulated phone has unless the caller names one:
// 62838 and eight digits of the instance id's hash, so each instance has its own account.
func phoneFor(instanceID string) string {
	sum := sha256.Sum256([]byte(instanceID))
	n := uint64(0)
	for _, b := range sum[:8] {
		n = n<<8 | uint64(b)
	}
	return fmt.Sprintf("62838%08d", n%100_000_000)
}

// linkPhone links the instance's session to a simulated phone, by its QR code or its pairing
// code, as a person does with a real phone.
func (s *Stack) linkPhone(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := instanceParam(r)
	if err != nil {
		return apigw.Response{}, err
	}
	var in linkInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	if in.Phone == "" {
		in.Phone = phoneFor(id)
	}
	number := digitsOnly(strings.TrimPrefix(in.Phone, "+"))
	if number == "" || !s.phones.IsOnWhatsApp(number) {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "phone: %q is not a phone number on WhatsApp (international digits, not starting with 999)", in.Phone)
	}
	switch in.Method {
	case "":
		in.Method = "qr"
	case "qr", "code":
	default:
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "method: must be qr or code")
	}
	if in.QR != "" && in.Method != "qr" {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "qr: only with method qr")
	}
	jid, err := s.link(ctx, id, number, in.Method, in.QR)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Status: http.StatusOK, Data: linkOutput{InstanceID: id, Phone: number, DeviceJID: jid.String(), Method: in.Method}}, nil
}

// link pairs the instance's current session with the phone of number and waits until the
// session host recorded it.
func (s *Stack) link(ctx context.Context, id, number, method, scan string) (types.JID, error) {
	deadline := time.Now().Add(linkWait)
	var code string
	for {
		st, err := s.instances.GetSession(ctx, id)
		if err != nil {
			return types.EmptyJID, err
		}
		if st.DeviceJID != "" {
			return types.EmptyJID, webhook.Errorf(webhook.EConflict, "instance %s is already linked, as %s; unlink it with DELETE %s first", id, st.DeviceJID, strings.Replace(PhoneLinkResource, "{instanceId}", id, 1))
		}
		if scan != "" {
			code = scan
			break
		}
		if c, _, ok := st.CurrentQR(time.Now()); ok {
			code = c
			break
		}
		if time.Now().After(deadline) {
			return types.EmptyJID, webhook.Errorf(webhook.EConflict, "instance %s has no QR code yet: its session is not running; try again in a few seconds", id)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return types.EmptyJID, err
		}
	}
	var err error
	if method == "code" {
		// The session host asks for a code as the pair API does; the phone types it in.
		_, err = s.host.Sessions.Pair(ctx, id, number)
	} else {
		_, err = s.phones.Scan(code, number)
	}
	switch {
	case errors.Is(err, wasim.ErrTooManyLinked):
		return types.EmptyJID, webhook.Errorf(webhook.EConflict, "phone: %s already has 4 linked devices", number)
	case errors.Is(err, wasim.ErrUnknownCode), errors.Is(err, wasim.ErrCodeExpired):
		return types.EmptyJID, webhook.Errorf(webhook.EConflict, "the instance's code changed while linking; try again")
	case err != nil:
		return types.EmptyJID, err
	}
	for time.Now().Before(deadline) {
		if st, err := s.instances.GetSession(ctx, id); err == nil && st.DeviceJID != "" {
			s.logger.Info("instance linked to a simulated phone", "instanceId", id, "device", st.DeviceJID)
			return types.ParseJID(st.DeviceJID)
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return types.EmptyJID, err
		}
	}
	return types.EmptyJID, fmt.Errorf("instance %s: linked to %s, but the session host never recorded it", id, number)
}

// unlinkPhone removes the instance's device from its simulated phone: the session is logged
// out and pairs anew.
func (s *Stack) unlinkPhone(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := instanceParam(r)
	if err != nil {
		return apigw.Response{}, err
	}
	jid, err := s.device(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := s.phones.Unlink(jid); err != nil {
		return apigw.Response{}, webhook.Errorf(webhook.EConflict, "instance %s is not linked to a simulated phone", id)
	}
	return apigw.Response{Status: http.StatusOK, Data: map[string]any{"instanceId": id, "deviceJid": jid.String(), "unlinked": true}}, nil
}

// device answers the device the instance is linked as, or a 409 saying how to link it.
func (s *Stack) device(ctx context.Context, id string) (types.JID, error) {
	st, err := s.instances.GetSession(ctx, id)
	if err != nil {
		return types.EmptyJID, err
	}
	if st.DeviceJID == "" {
		return types.EmptyJID, webhook.Errorf(webhook.EConflict, "instance %s is not linked to a phone; link it with POST %s", id, strings.Replace(PhoneLinkResource, "{instanceId}", id, 1))
	}
	jid, err := types.ParseJID(st.DeviceJID)
	if err != nil {
		return types.EmptyJID, fmt.Errorf("instance %s: device %q: %w", id, st.DeviceJID, err)
	}
	return jid, nil
}

// messageInput is a message a simulated person sends: to the instance (incoming, from a
// contact) or from the instance's phone (outgoing, to a contact or a group).
type messageInput struct {
	From     string `json:"from"`
	To       string `json:"to"`
	PushName string `json:"pushName"`
	Group    string `json:"group"`
	Type     string `json:"type"`
	Body     string `json:"body"`
	Media    string `json:"media"` // base64
	Mimetype string `json:"mimetype"`
	FileName string `json:"fileName"`
	// CorruptMedia makes every download of the file fail WhatsApp's checks; MediaDelayMs
	// holds each download that long.
	CorruptMedia    bool            `json:"corruptMedia"`
	MediaDelayMs    int             `json:"mediaDelayMs"`
	Latitude        *float64        `json:"latitude"`
	Longitude       *float64        `json:"longitude"`
	Name            string          `json:"name"`
	Address         string          `json:"address"`
	Contacts        []wasim.Contact `json:"contacts"`
	Emoji           *string         `json:"emoji"`
	Options         []string        `json:"options"`
	SelectableCount int             `json:"selectableCount"`
	MessageID       string          `json:"messageId"`
	ReplyTo         string          `json:"replyTo"`
}

// content is the message's content for the simulation; field names errors with prefix.
func (in messageInput) content(prefix string) (wasim.Content, error) {
	var media []byte
	if in.Media != "" {
		b, err := base64.StdEncoding.DecodeString(in.Media)
		if err != nil {
			return wasim.Content{}, webhook.Errorf(webhook.EInvalid, "%smedia: must be base64", prefix)
		}
		media = b
	}
	return wasim.Content{
		Type: in.Type, Body: in.Body, Media: media, Mimetype: in.Mimetype, FileName: in.FileName,
		Corrupt: in.CorruptMedia, MediaDelay: time.Duration(in.MediaDelayMs) * time.Millisecond,
		Latitude: in.Latitude, Longitude: in.Longitude, Name: in.Name, Address: in.Address, Contacts: in.Contacts,
		Emoji: in.Emoji, Options: in.Options, Selectable: in.SelectableCount, MessageID: in.MessageID, ReplyTo: in.ReplyTo,
	}, nil
}

// sentMessage is what the incoming and outgoing routes answer.
type sentMessage struct {
	MessageID string `json:"messageId"`
	ChatID    string `json:"chatId"`
	From      string `json:"from"`
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
}

func describe(evt *events.Message, typ string) sentMessage {
	if typ == "" {
		typ = wasim.TypeText
	}
	return sentMessage{MessageID: evt.Info.ID, ChatID: evt.Info.Chat.String(), From: evt.Info.Sender.ToNonAD().String(), Type: typ, Timestamp: webhook.FormatTime(evt.Info.Timestamp)}
}

// incoming makes a contact send a message to the instance's account.
func (s *Stack) incoming(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := instanceParam(r)
	if err != nil {
		return apigw.Response{}, err
	}
	var in messageInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	if in.To != "" {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "to: an incoming message is sent to the instance; use from")
	}
	jid, err := s.device(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	evt, err := s.receive(jid, in, "")
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Status: http.StatusAccepted, Data: describe(evt, in.Type)}, nil
}

func (s *Stack) receive(account types.JID, in messageInput, prefix string) (*events.Message, error) {
	c, err := in.content(prefix)
	if err != nil {
		return nil, err
	}
	from := wasim.From{Number: in.From, PushName: in.PushName}
	if from.Number == "" {
		from.Number = defaultContact
		if from.PushName == "" {
			from.PushName = defaultPushName
		}
	}
	if in.Group != "" {
		g, err := types.ParseJID(in.Group)
		if err != nil || g.Server != types.GroupServer {
			return nil, webhook.Errorf(webhook.EInvalid, "%sgroup: must be a group JID (…@g.us)", prefix)
		}
		from.Group = g
	}
	evt, err := s.phones.Receive(account, from, c)
	return evt, prefixed(err, prefix)
}

// outgoing makes the instance's phone send a message, as its owner would on the phone.
func (s *Stack) outgoing(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := instanceParam(r)
	if err != nil {
		return apigw.Response{}, err
	}
	var in messageInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	jid, err := s.device(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	evt, err := s.sendFromPhone(jid, in, "")
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Status: http.StatusAccepted, Data: describe(evt, in.Type)}, nil
}

func (s *Stack) sendFromPhone(account types.JID, in messageInput, prefix string) (*events.Message, error) {
	if in.From != "" || in.PushName != "" || in.Group != "" {
		return nil, webhook.Errorf(webhook.EInvalid, "%sfrom: a message from the phone is sent by the instance's account; name its chat with to", prefix)
	}
	c, err := in.content(prefix)
	if err != nil {
		return nil, err
	}
	to := types.NewJID(defaultContact, types.DefaultUserServer)
	if in.To != "" {
		if to, err = recipient(in.To); err != nil {
			return nil, webhook.Errorf(webhook.EInvalid, "%sto: %s", prefix, err)
		}
	}
	if to.Server == types.DefaultUserServer && !s.phones.IsOnWhatsApp(to.User) {
		return nil, webhook.Errorf(webhook.EInvalid, "%sto: %s is not on WhatsApp", prefix, to.User)
	}
	if _, ok := s.phones.Participants(to); to.Server == types.GroupServer && !ok {
		return nil, webhook.Errorf(webhook.EInvalid, "%sto: no group %s", prefix, to)
	}
	evt, err := s.phones.SendFromPhone(account, to, c)
	return evt, prefixed(err, prefix)
}

// recipient reads a chat as the messages API does: international digits ('+' allowed), a user
// JID or a group JID.
func recipient(to string) (types.JID, error) {
	if strings.Contains(to, "@") {
		jid, err := types.ParseJID(to)
		if err != nil || (jid.Server != types.DefaultUserServer && jid.Server != types.GroupServer) || jid.User == "" {
			return types.EmptyJID, errors.New("must be international digits, a user JID or a group JID")
		}
		return jid.ToNonAD(), nil
	}
	number := strings.TrimPrefix(to, "+")
	if number == "" || digitsOnly(number) != number {
		return types.EmptyJID, errors.New("must be international digits, a user JID or a group JID")
	}
	return types.NewJID(number, types.DefaultUserServer), nil
}

// prefixed names a bad field of data inside the trigger's body.
func prefixed(err error, prefix string) error {
	if err == nil || prefix == "" || webhook.ErrorCode(err) != webhook.EInvalid {
		return err
	}
	return webhook.Errorf(webhook.EInvalid, "%s%s", prefix, webhook.ErrorMessage(err))
}

// sentItem is one message the simulated WhatsApp accepted from the instance's account, with
// the webhook it is to the account itself.
type sentItem struct {
	MessageID string          `json:"messageId"`
	ChatID    string          `json:"chatId"`
	Sender    string          `json:"sender"`
	SentAt    string          `json:"sentAt"`
	Event     string          `json:"event,omitempty"`
	Data      json.RawMessage `json:"data"`
}

// sent lists what the simulated WhatsApp accepted from the instance's account (its linked
// devices and its phone), oldest first, duplicates included.
func (s *Stack) sent(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := instanceParam(r)
	if err != nil {
		return apigw.Response{}, err
	}
	jid, err := s.device(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	out := []sentItem{}
	for _, m := range s.phones.Sent(jid) {
		item := sentItem{MessageID: m.ID, ChatID: m.Chat.String(), Sender: m.Sender.String(), SentAt: webhook.FormatTime(m.At), Data: json.RawMessage("null")}
		evt := (&events.Message{Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: m.Chat, Sender: m.Sender, IsFromMe: true, IsGroup: m.Chat.Server == types.GroupServer},
			ID:            m.ID, Timestamp: m.At,
		}, RawMessage: m.Message}).UnwrapRaw()
		if name, data, ok := convert.Message(evt); ok {
			item.Event, item.Data = name, data
		}
		out = append(out, item)
	}
	return apigw.Response{Status: http.StatusOK, Data: out}, nil
}

type groupInput struct {
	Name         string   `json:"name"`
	Participants []string `json:"participants"`
}

// createGroup makes a group of the instance's account and the participants, for incoming
// group messages and group sends.
func (s *Stack) createGroup(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := instanceParam(r)
	if err != nil {
		return apigw.Response{}, err
	}
	var in groupInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	if in.Name == "" {
		in.Name = "Team"
	}
	if len(in.Participants) == 0 {
		in.Participants = []string{defaultContact, "6281234567891"}
	}
	members := make([]string, len(in.Participants))
	for i, p := range in.Participants {
		if members[i] = digitsOnly(strings.TrimPrefix(p, "+")); !s.phones.IsOnWhatsApp(members[i]) {
			return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "participants[%d]: %q is not a phone number on WhatsApp", i, p)
		}
	}
	jid, err := s.device(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	group := s.phones.CreateGroup(in.Name, append([]string{jid.User}, members...)...)
	return apigw.Response{Status: http.StatusCreated, Data: map[string]any{"groupId": group.String(), "name": in.Name, "participants": append([]string{jid.User}, members...)}}, nil
}

type groupChangeInput struct {
	By           string   `json:"by"`
	Action       string   `json:"action"`
	Participants []string `json:"participants"`
	ByLink       bool     `json:"byLink"`
	Subject      *string  `json:"subject"`
	Description  *string  `json:"description"`
	Announce     *bool    `json:"announce"`
	Locked       *bool    `json:"locked"`
}

// changeGroup makes another member of a group of the instance's account change it, as they
// would in their app: the account's devices receive WhatsApp's notification, a group.updated
// webhook. It answers 202 with the webhook's data.
func (s *Stack) changeGroup(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := instanceParam(r)
	if err != nil {
		return apigw.Response{}, err
	}
	group, err := types.ParseJID(r.Param("groupId"))
	if err != nil || group.Server != types.GroupServer {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "groupId: must be a group JID (…@g.us)")
	}
	var in groupChangeInput
	if err := r.Decode(&in); err != nil {
		return apigw.Response{}, err
	}
	jid, err := s.device(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	members, ok := s.phones.Participants(group)
	adding := in.Action == convert.GroupJoin && slices.ContainsFunc(in.Participants, func(p string) bool { return strings.TrimPrefix(p, "+") == jid.User })
	if ok && !slices.Contains(members, jid.User) && !adding {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "groupId: the account of instance %s is not a member of group %s", id, group)
	}
	evt, err := s.phones.ChangeGroup(group, wasim.GroupChange{
		By: in.By, Action: in.Action, Participants: in.Participants, ByLink: in.ByLink,
		Subject: in.Subject, Description: in.Description, Announce: in.Announce, Locked: in.Locked,
	})
	if err != nil {
		return apigw.Response{}, err
	}
	datas := convert.GroupInfo(evt)
	if len(datas) != 1 {
		return apigw.Response{}, fmt.Errorf("group change %s of %s made %d group.updated", in.Action, group, len(datas))
	}
	return apigw.Response{Status: http.StatusAccepted, Data: datas[0]}, nil
}

func instanceParam(r *apigw.Request) (string, error) {
	id := r.Param("instanceId")
	return id, webhook.ValidateInstanceID("instanceId", id)
}

func digitsOnly(s string) string {
	for _, r := range s {
		if r < '0' || r > '9' {
			return ""
		}
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
