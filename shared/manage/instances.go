package manage

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"rsc.io/qr"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// MaxNameLength bounds an instance's name, in characters.
const MaxNameLength = 100

// InstanceStore is what the instance routes need of the instance store.
type InstanceStore interface {
	Create(ctx context.Context, in *webhook.Instance) error
	Get(ctx context.Context, id string) (*webhook.Instance, error)
	List(ctx context.Context, limit int, after string) ([]*webhook.Instance, string, error)
	Update(ctx context.Context, id string, u store.UpdateInstance, now time.Time) (*webhook.Instance, error)
	Delete(ctx context.Context, id string) error
	RotateSecret(ctx context.Context, id, newSecret string, now time.Time) (*webhook.Instance, error)
	GetSession(ctx context.Context, id string) (store.SessionState, error)
	RequestPairing(ctx context.Context, r store.PairRequest, now time.Time) error
	GetPairAnswer(ctx context.Context, id string) (store.PairAnswer, error)
}

// InstanceAPI serves the instance routes.
type InstanceAPI struct {
	store     InstanceStore
	cursors   *apigw.Cursors
	allowHTTP bool
	now       func() time.Time
	pairWait  time.Duration
}

// InstanceDeps are an InstanceAPI's dependencies.
type InstanceDeps struct {
	Store     InstanceStore
	Cursors   *apigw.Cursors
	AllowHTTP bool             // plain http webhook URLs; https only when false
	Now       func() time.Time // time.Now when nil
	// PairWait bounds how long a pairing request waits for the session host's answer;
	// DefaultPairWait when zero. It must stay under API Gateway's 29 s.
	PairWait time.Duration
}

// DefaultPairWait is how long a pairing request waits for the session host by default: the
// host polls for requests every second, and WhatsApp answers within a few.
const DefaultPairWait = 20 * time.Second

// NewInstanceAPI returns an InstanceAPI.
func NewInstanceAPI(d InstanceDeps) *InstanceAPI {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	wait := d.PairWait
	if wait <= 0 {
		wait = DefaultPairWait
	}
	return &InstanceAPI{store: d.Store, cursors: d.Cursors, allowHTTP: d.AllowHTTP, now: now, pairWait: wait}
}

// Register adds the instance routes.
func (a *InstanceAPI) Register(r *apigw.Router) {
	r.Handle(http.MethodPost, "/api/instance", a.create)
	r.Handle(http.MethodGet, "/api/instances", a.list)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}", a.get)
	r.Handle(http.MethodPut, "/api/instance/{instanceId}", a.update)
	r.Handle(http.MethodDelete, "/api/instance/{instanceId}", a.delete)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}/webhook-secret", a.getSecret)
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/webhook-secret/rotate", a.rotateSecret)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}/qr", a.qr)
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/pair", a.pair)
}

// clock is the time of a request, to the millisecond the API shows, so what is stored is
// what is shown.
func (a *InstanceAPI) clock() time.Time { return a.now().UTC().Truncate(time.Millisecond) }

// instanceView is an instance as the API shows it: never with its secrets.
type instanceView struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	WebhookURL    *string  `json:"webhookUrl"`    // null when webhooks are off
	WebhookEvents []string `json:"webhookEvents"` // [] for every event
	CreatedAt     string   `json:"createdAt"`
	UpdatedAt     string   `json:"updatedAt"`
}

func viewOf(in *webhook.Instance) instanceView {
	v := instanceView{
		ID: in.ID, Name: in.Name, WebhookEvents: in.WebhookEvents,
		CreatedAt: webhook.FormatTime(in.CreatedAt), UpdatedAt: webhook.FormatTime(in.UpdatedAt),
	}
	if in.WebhookURL != "" {
		v.WebhookURL = &in.WebhookURL
	}
	if v.WebhookEvents == nil {
		v.WebhookEvents = []string{}
	}
	return v
}

// paceView is an instance's send pace as the API shows it.
type paceView struct {
	PerMinute int  `json:"perMinute"`
	JitterMs  int  `json:"jitterMs"`
	Typing    bool `json:"typing"`
}

// detailView is one instance as its own routes show it: with its send pace, which the
// listing leaves out (it is kept beside the instance's settings, read apart from them).
type detailView struct {
	instanceView
	SendPace paceView    `json:"sendPace"`
	Session  sessionView `json:"session"`
}

// sessionView is the instance's WhatsApp session as the session host last recorded it, so a
// client (the console) can show whether it is connected.
type sessionView struct {
	Status      *string `json:"status"`      // qr, connecting, connected, disconnected, logged_out; null before a host ran it
	PhoneNumber *string `json:"phoneNumber"` // digits, once paired
}

func sessionViewOf(st store.SessionState) sessionView {
	var v sessionView
	if st.Status != "" {
		v.Status = &st.Status
	}
	if st.PhoneNumber != "" {
		v.PhoneNumber = &st.PhoneNumber
	}
	return v
}

// createdView is the answer to a create: the one time the secret comes with the instance.
type createdView struct {
	detailView
	WebhookSecret string `json:"webhookSecret"`
}

// detail shows in with its send pace, read with the session.
func (a *InstanceAPI) detail(ctx context.Context, in *webhook.Instance) (detailView, error) {
	st, err := a.store.GetSession(ctx, in.ID)
	if err != nil {
		return detailView{}, err
	}
	return detailView{viewOf(in), paceView(st.SendPace), sessionViewOf(st)}, nil
}

// secretView shows an instance's signing secrets at now: the previous one only while it
// still signs.
type secretView struct {
	WebhookSecret           string  `json:"webhookSecret"`
	PreviousSecret          *string `json:"previousSecret"`
	PreviousSecretExpiresAt *string `json:"previousSecretExpiresAt"`
}

func secretViewOf(in *webhook.Instance, now time.Time) secretView {
	v := secretView{WebhookSecret: in.WebhookSecret}
	if secrets := in.SigningSecrets(now); len(secrets) > 1 {
		expires := webhook.FormatTime(in.PreviousSecretExpiresAt)
		v.PreviousSecret, v.PreviousSecretExpiresAt = &secrets[1], &expires
	}
	return v
}

// createInstanceInput is a create's body. null is a value of the settings only, where it
// means what "" or [] means; an instanceId is a string or left out.
type createInstanceInput struct {
	InstanceID    *string  `json:"instanceId"`
	Name          string   `json:"name" api:"nullable"`
	WebhookURL    *string  `json:"webhookUrl" api:"nullable"`
	WebhookEvents []string `json:"webhookEvents" api:"nullable"`
}

func (a *InstanceAPI) create(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	var body createInstanceInput
	if err := r.Decode(&body); err != nil {
		return apigw.Response{}, err
	}
	now := a.clock()
	in := &webhook.Instance{
		ID: webhook.NewInstanceID(now), Name: body.Name, WebhookSecret: webhook.NewSecret(),
		CreatedAt: now, UpdatedAt: now,
	}
	if body.InstanceID != nil {
		if err := webhook.ValidateInstanceID("instanceId", *body.InstanceID); err != nil {
			return apigw.Response{}, err
		}
		in.ID = *body.InstanceID
	}
	if err := validateName(in.Name); err != nil {
		return apigw.Response{}, err
	}
	var err error
	if in.WebhookURL, err = a.webhookURL(body.WebhookURL); err != nil {
		return apigw.Response{}, err
	}
	if err := validateEvents(body.WebhookEvents); err != nil {
		return apigw.Response{}, err
	}
	if len(body.WebhookEvents) > 0 {
		in.WebhookEvents = body.WebhookEvents
	}
	if err := a.store.Create(ctx, in); err != nil {
		if webhook.ErrorCode(err) == webhook.EConflict {
			return apigw.Response{}, webhook.Errorf(webhook.EConflict, "instanceId: instance %s already exists", in.ID)
		}
		return apigw.Response{}, err
	}
	// A new instance has the default pace: no need to read it back.
	return apigw.Response{Status: http.StatusCreated, Data: createdView{detailView{viewOf(in), paceView(outbox.DefaultPace), sessionView{}}, in.WebhookSecret}}, nil
}

// instancesCursor is the state an instances cursor seals: where the page stopped.
type instancesCursor struct {
	Kind  string `json:"k"`
	After string `json:"a"`
}

const instancesCursorKind = "instances"

func (a *InstanceAPI) list(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	var c instancesCursor
	limit, resumed, err := readPage(r, a.cursors, &c)
	if err != nil {
		return apigw.Response{}, err
	}
	var after string
	if resumed {
		if c.Kind != instancesCursorKind || webhook.ValidateInstanceID("cursor", c.After) != nil {
			return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "cursor: belongs to another query")
		}
		after = c.After
	}
	ins, next, err := a.store.List(ctx, limit, after)
	if err != nil {
		return apigw.Response{}, err
	}
	views := make([]instanceView, len(ins))
	for i, in := range ins {
		views[i] = viewOf(in)
	}
	p := pagination{Limit: limit}
	if next != "" {
		tok, err := a.cursors.Seal(instancesCursor{Kind: instancesCursorKind, After: next})
		if err != nil {
			return apigw.Response{}, fmt.Errorf("seal cursor: %w", err)
		}
		p.NextCursor = &tok
	}
	return apigw.Response{Data: views, Extra: map[string]any{"pagination": p}}, nil
}

// pathID returns the request's valid instanceId path parameter.
func pathID(r *apigw.Request) (string, error) {
	id := r.Param("instanceId")
	return id, webhook.ValidateInstanceID("instanceId", id)
}

func (a *InstanceAPI) get(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	in, err := a.store.Get(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	v, err := a.detail(ctx, in)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Data: v}, nil
}

type updateInstanceInput struct {
	Name          *string    `json:"name" api:"nullable"`
	WebhookURL    *string    `json:"webhookUrl" api:"nullable"`
	WebhookEvents []string   `json:"webhookEvents" api:"nullable"`
	SendPace      *paceInput `json:"sendPace"`
}

// paceInput is a sendPace as given: a member left out keeps the default pace's value.
type paceInput struct {
	PerMinute *apigw.Integer `json:"perMinute"`
	JitterMs  *apigw.Integer `json:"jitterMs"`
	Typing    *bool          `json:"typing"`
}

// pace returns the pace p gives, validated.
func (p *paceInput) pace() (outbox.Pace, error) {
	pace := outbox.DefaultPace
	// apigw.Integer is an int64, which an int holds on the 64-bit platforms wagate runs on.
	if p.PerMinute != nil {
		pace.PerMinute = int(*p.PerMinute)
	}
	if p.JitterMs != nil {
		pace.JitterMs = int(*p.JitterMs)
	}
	if p.Typing != nil {
		pace.Typing = *p.Typing
	}
	return pace, pace.Validate("sendPace")
}

// updateFields are the fields a PUT may give, exactly as spelt.
var updateFields = []string{"name", "webhookUrl", "webhookEvents", "sendPace"}

func (a *InstanceAPI) update(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	// A field given as null differs from a field left out (null turns webhooks off), so read
	// which fields are there before their values.
	var given map[string]json.RawMessage
	if err := r.Decode(&given); err != nil {
		return apigw.Response{}, err
	}
	if len(given) == 0 {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "body: give at least one of %s", strings.Join(updateFields, ", "))
	}
	for _, f := range slices.Sorted(maps.Keys(given)) {
		if !slices.Contains(updateFields, f) {
			return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "%s: unknown field", f)
		}
	}
	var body updateInstanceInput
	if err := r.Decode(&body); err != nil {
		return apigw.Response{}, err
	}

	var u store.UpdateInstance
	if _, ok := given["name"]; ok {
		name := ""
		if body.Name != nil {
			name = *body.Name
		}
		if err := validateName(name); err != nil {
			return apigw.Response{}, err
		}
		u.Name = &name
	}
	if _, ok := given["webhookUrl"]; ok {
		url, err := a.webhookURL(body.WebhookURL)
		if err != nil {
			return apigw.Response{}, err
		}
		u.WebhookURL = &url
	}
	if _, ok := given["webhookEvents"]; ok {
		if err := validateEvents(body.WebhookEvents); err != nil {
			return apigw.Response{}, err
		}
		events := body.WebhookEvents
		if events == nil {
			events = []string{}
		}
		u.WebhookEvents = &events
	}
	if body.SendPace != nil {
		pace, err := body.SendPace.pace()
		if err != nil {
			return apigw.Response{}, err
		}
		u.SendPace = &pace
	}
	in, err := a.store.Update(ctx, id, u, a.clock())
	if err != nil {
		return apigw.Response{}, err
	}
	v, err := a.detail(ctx, in)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Data: v}, nil
}

func (a *InstanceAPI) delete(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	if err := a.store.Delete(ctx, id); err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Data: map[string]any{"id": id, "deleted": true}}, nil
}

func (a *InstanceAPI) getSecret(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	in, err := a.store.Get(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Data: secretViewOf(in, a.clock())}, nil
}

// rotateSecret gives the instance a new secret; the one it replaces keeps signing beside it
// for webhook.SecretOverlap, so receivers can switch without dropping a webhook.
func (a *InstanceAPI) rotateSecret(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	now := a.clock()
	in, err := a.store.RotateSecret(ctx, id, webhook.NewSecret(), now)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Data: secretViewOf(in, now)}, nil
}

func validateName(name string) error {
	if utf8.RuneCountInString(name) > MaxNameLength {
		return webhook.Errorf(webhook.EInvalid, "name: longer than %d characters", MaxNameLength)
	}
	return nil
}

// webhookURL validates a webhookUrl field: null or "" turn webhooks off, and come back as "".
func (a *InstanceAPI) webhookURL(v *string) (string, error) {
	if v == nil || *v == "" {
		return "", nil
	}
	return *v, webhook.ValidateURL("webhookUrl", *v, a.allowHTTP)
}

// validateEvents checks a webhookEvents field: known events a webhook can subscribe to, each
// once. Empty means every event.
func validateEvents(events []string) error {
	var subscribable []string
	for _, e := range webhook.Events {
		if e != webhook.EventWebhookTest {
			subscribable = append(subscribable, e)
		}
	}
	for i, e := range events {
		switch {
		case e == webhook.EventWebhookTest:
			return webhook.Errorf(webhook.EInvalid, "webhookEvents[%d]: %s is sent only by the test endpoint and can't be subscribed to", i, e)
		case !webhook.IsEvent(e):
			return webhook.Errorf(webhook.EInvalid, "webhookEvents[%d]: unknown event %q; one of %s", i, e, strings.Join(subscribable, ", "))
		case slices.Contains(events[:i], e):
			return webhook.Errorf(webhook.EInvalid, "webhookEvents[%d]: %s is listed twice", i, e)
		}
	}
	return nil
}

// qrView is the pairing code of an instance waiting to be paired.
type qrView struct {
	InstanceID  string `json:"instanceId"`
	Status      string `json:"status"`
	QR          string `json:"qr"`
	QRExpiresAt string `json:"qrExpiresAt"`
	// Image is the code as a PNG data URL, ready for an <img src>.
	Image string `json:"image"`
}

// qr answers the code the session host last got from WhatsApp for the instance, while it can
// still be scanned: as JSON with a PNG data URL, or as the PNG itself when Accept asks for
// image/png.
func (a *InstanceAPI) qr(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	st, err := a.store.GetSession(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	current, expires, ok := st.CurrentQR(a.clock())
	if !ok {
		status := st.Status
		if status == "" {
			status = "not started"
		}
		return apigw.Response{}, webhook.Errorf(webhook.ENotFound, "instance %s has no QR code to scan now (session: %s)", id, status)
	}
	code, err := qr.Encode(current, qr.M)
	if err != nil {
		return apigw.Response{}, fmt.Errorf("encode QR of %s: %w", id, err)
	}
	png := code.PNG()
	if strings.Contains(r.Header("Accept"), "image/png") {
		return apigw.Response{Binary: png, ContentType: "image/png"}, nil
	}
	return apigw.Response{Data: qrView{
		InstanceID: id, Status: st.Status, QR: current, QRExpiresAt: webhook.FormatTime(expires),
		Image: "data:image/png;base64," + base64.StdEncoding.EncodeToString(png),
	}}, nil
}

type pairInput struct {
	PhoneNumber *string `json:"phoneNumber"`
}

type pairView struct {
	InstanceID  string `json:"instanceId"`
	PhoneNumber string `json:"phoneNumber"`
	PairingCode string `json:"pairingCode"`
}

// pairPollInterval is how often a pairing request looks for the session host's answer.
const pairPollInterval = 200 * time.Millisecond

// pair asks the session host running the instance for a code to link the phone with, the way
// WhatsApp's "Link with phone number" does, and waits for its answer.
func (a *InstanceAPI) pair(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	var body pairInput
	if err := r.Decode(&body); err != nil {
		return apigw.Response{}, err
	}
	phone, err := phoneDigits(body.PhoneNumber)
	if err != nil {
		return apigw.Response{}, err
	}
	st, err := a.store.GetSession(ctx, id)
	if err != nil {
		return apigw.Response{}, err
	}
	if st.DeviceJID != "" || st.Status == "connected" {
		return apigw.Response{}, webhook.Errorf(webhook.EConflict, "instance %s is already paired; delete it to pair another phone", id)
	}
	req := store.PairRequest{InstanceID: id, RequestID: strings.ToLower(rand.Text()), Phone: phone}
	if err := a.store.RequestPairing(ctx, req, a.clock()); err != nil {
		return apigw.Response{}, err
	}
	wait, cancel := context.WithTimeout(ctx, a.pairWait)
	defer cancel()
	tick := time.NewTicker(pairPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-wait.Done():
			return apigw.Response{}, webhook.Errorf(webhook.EUnavailable, "the session host running instance %s did not answer within %s; try again", id, a.pairWait)
		case <-tick.C:
		}
		ans, err := a.store.GetPairAnswer(ctx, id)
		if err != nil {
			return apigw.Response{}, err
		}
		switch {
		case ans.RequestID != req.RequestID:
			continue
		case ans.Error != "":
			code := webhook.EConflict
			if ans.ErrorCode == webhook.EUnavailable {
				code = webhook.EUnavailable
			}
			return apigw.Response{}, webhook.Errorf(code, "instance %s: %s", id, ans.Error)
		}
		return apigw.Response{Data: pairView{InstanceID: id, PhoneNumber: phone, PairingCode: ans.Code}}, nil
	}
}

// phoneDigits checks a phone number in international form, with or without its leading +,
// and returns its digits.
func phoneDigits(v *string) (string, error) {
	const want = "phoneNumber: must be a phone number in international form, digits only with an optional leading +, such as +6281234567890"
	if v == nil {
		return "", webhook.Errorf(webhook.EInvalid, "phoneNumber: required")
	}
	digits := strings.TrimPrefix(*v, "+")
	if len(digits) < 7 || len(digits) > 15 || digits[0] == '0' {
		return "", webhook.Errorf(webhook.EInvalid, "%s", want)
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return "", webhook.Errorf(webhook.EInvalid, "%s", want)
		}
	}
	return digits, nil
}
