package manage

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"code.dny.dev/ssrf"

	"github.com/wagate/wagate/shared/apigw"
	"github.com/wagate/wagate/shared/media"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// OutboxStore is what the message routes need of the outbox.
type OutboxStore interface {
	Accept(ctx context.Context, rec *outbox.Record, key string, now time.Time) (*outbox.Record, bool, error)
	Get(ctx context.Context, instanceID, messageID string) (*outbox.Record, error)
	List(ctx context.Context, instanceID string, f store.OutboxFilter, limit int, before string) ([]*outbox.Record, string, error)
}

// MessageAPI serves the message routes (DESIGN.md §7): sends, and the actions on a chat that
// the session host performs for the API (edit, revoke, read receipts, presence). Every one is
// an outbox record, accepted in one transaction and then done by the host holding the
// instance's lease; the route waits up to `wait` for WhatsApp's acknowledgement.
type MessageAPI struct {
	outbox    OutboxStore
	instances InstanceGetter
	cursors   *apigw.Cursors
	guard     *ssrf.Guardian
	uploads   UploadHeads
	now       func() time.Time
	poll      pollSchedule
	callBound time.Duration
}

// MessageDeps are a MessageAPI's dependencies.
type MessageDeps struct {
	Outbox    OutboxStore
	Instances InstanceGetter // for the listing's 404 on an unknown instance
	Cursors   *apigw.Cursors
	// AllowedPrefixes are destinations a media link may name by IP although they are
	// private, loopback or otherwise refused: the webhook sender's WEBHOOK_ALLOW_CIDRS, since
	// the host fetches links through the same checks.
	AllowedPrefixes []netip.Prefix
	// Uploads describes the uploads a mediaId names, whose size and type are checked before
	// the message is accepted.
	Uploads UploadHeads
	Now     func() time.Time // time.Now when nil
	// CallBound is how long a call route waits for its answer; outbox.CallAnswerBound when 0
	// (tests shorten it).
	CallBound time.Duration
}

// UploadHeads describes stored files.
type UploadHeads interface {
	Head(ctx context.Context, key string) (media.Object, error)
}

// pollSchedule is how a send waits for the host: a first look after First, each next
// interval twice the last, up to Max.
type pollSchedule struct{ First, Max time.Duration }

// maxBlock bounds a message request, accept and wait together (DESIGN.md §7: no request
// blocks for more than 25 s), under the function's timeout and API Gateway's 29 s.
const maxBlock = 25 * time.Second

// NewMessageAPI returns a MessageAPI.
func NewMessageAPI(d MessageDeps) *MessageAPI {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	var v4, v6 []netip.Prefix
	for _, p := range d.AllowedPrefixes {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
	}
	return &MessageAPI{
		outbox: d.Outbox, instances: d.Instances, cursors: d.Cursors, now: now, uploads: d.Uploads,
		guard:     ssrf.New(ssrf.WithAnyPort(), ssrf.WithAllowedV4Prefixes(v4...), ssrf.WithAllowedV6Prefixes(v6...)),
		poll:      pollSchedule{First: 100 * time.Millisecond, Max: time.Second},
		callBound: cmp.Or(d.CallBound, outbox.CallAnswerBound),
	}
}

// Register adds the message routes.
func (a *MessageAPI) Register(r *apigw.Router) {
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/messages", a.send)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}/messages", a.list)
	r.Handle(http.MethodGet, "/api/instance/{instanceId}/messages/{messageId}", a.get)
	r.Handle(http.MethodPut, "/api/instance/{instanceId}/messages/{messageId}", a.edit)
	r.Handle(http.MethodDelete, "/api/instance/{instanceId}/messages/{messageId}", a.revoke)
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/chats/{chatId}/read", a.read)
	r.Handle(http.MethodPost, "/api/instance/{instanceId}/chats/{chatId}/presence", a.presence)
	a.registerCalls(r)
}

// clock is the time of a request, to the millisecond the API shows.
func (a *MessageAPI) clock() time.Time { return a.now().UTC().Truncate(time.Millisecond) }

// messageView is an outbox record as the API shows it, a message or an action alike.
type messageView struct {
	MessageID  string  `json:"messageId"`
	InstanceID string  `json:"instanceId"`
	ChatID     string  `json:"chatId"`
	Type       string  `json:"type"`
	Status     string  `json:"status"`
	Error      *string `json:"error"`
	Attempts   int     `json:"attempts"`
	// Seq is the record's place in its chat: records of a chat are done in Seq order.
	Seq       int64   `json:"seq"`
	CreatedAt string  `json:"createdAt"`
	SentAt    *string `json:"sentAt"`
	UpdatedAt string  `json:"updatedAt"`
	// Timestamp is when WhatsApp took it (sentAt), or when the API did while it has not.
	Timestamp string `json:"timestamp"`
}

func messageViewOf(r *outbox.Record) messageView {
	v := messageView{
		MessageID: r.MessageID, InstanceID: r.InstanceID, ChatID: r.Message.Chat, Type: string(r.Message.Type),
		Status: string(r.Status), Attempts: r.Attempts, Seq: r.Seq,
		CreatedAt: webhook.FormatTime(r.AcceptedAt), UpdatedAt: webhook.FormatTime(r.UpdatedAt),
		Timestamp: webhook.FormatTime(r.AcceptedAt),
	}
	if r.Error != "" {
		v.Error = &r.Error
	}
	if r.SentAt != nil {
		sent := webhook.FormatTime(*r.SentAt)
		v.SentAt, v.Timestamp = &sent, sent
	}
	return v
}

// acked reports whether WhatsApp's server has acknowledged the record.
func acked(s outbox.Status) bool { return !s.Pending() && s != outbox.StatusFailed }

// sendOptions are what every accepting route reads besides its body: the wait and the
// Idempotency-Key.
type sendOptions struct {
	instanceID string
	wait       time.Duration
	key        string
}

func readSendOptions(r *apigw.Request) (sendOptions, error) {
	id, err := pathID(r)
	if err != nil {
		return sendOptions{}, err
	}
	w, err := r.Query("wait")
	if err != nil {
		return sendOptions{}, err
	}
	wait, err := outbox.ParseWait(w)
	if err != nil {
		return sendOptions{}, err
	}
	key, given := r.HeaderGiven("Idempotency-Key")
	if given && key == "" {
		// An empty key is not a request without one: the client meant to set it.
		return sendOptions{}, webhook.Errorf(webhook.EInvalid, "Idempotency-Key: empty; give 1 to %d printable ASCII characters, or leave the header out", outbox.MaxIdempotencyKeyLength)
	}
	if err := outbox.ValidateIdempotencyKey(key); err != nil {
		return sendOptions{}, err
	}
	return sendOptions{instanceID: id, wait: wait, key: key}, nil
}

func (a *MessageAPI) send(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now() // the wait is real time, whatever the clock of records
	o, err := readSendOptions(r)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := outbox.Parse(r.RawBody())
	if err != nil {
		return apigw.Response{}, err
	}
	if err := a.checkLink(m); err != nil {
		return apigw.Response{}, err
	}
	if err := a.checkUpload(ctx, r.Param("instanceId"), m); err != nil {
		return apigw.Response{}, err
	}
	return a.accept(ctx, start, o, m)
}

// checkUpload refuses a mediaId that names no upload of the instance, or one WhatsApp would
// refuse for the message's type (too large, a type it does not take), before anything is
// queued. The upload's own type is the message's mimetype unless the request gave one.
func (a *MessageAPI) checkUpload(ctx context.Context, instanceID string, m *outbox.Message) error {
	if m.Media == nil || m.Media.MediaID == "" {
		return nil
	}
	field := string(m.Type) + ".mediaId"
	if webhook.ValidateInstanceID("instanceId", instanceID) != nil {
		return nil // accept answers the instance's 404
	}
	if a.uploads == nil {
		return webhook.Errorf(webhook.EInvalid, "%s: uploads are not available here; give link or data", field)
	}
	o, err := a.uploads.Head(ctx, media.Key(instanceID, m.Media.MediaID))
	if webhook.ErrorCode(err) == webhook.ENotFound {
		// An unknown instance is its 404, as accept would answer, not a missing upload.
		if _, err := a.instances.Get(ctx, instanceID); err != nil {
			return err
		}
		return webhook.Errorf(webhook.EInvalid, "%s: no upload %s of this instance (never PUT, or expired)", field, m.Media.MediaID)
	}
	if err != nil {
		return err
	}
	if limit := outbox.MediaLimit(m.Type); o.Size > limit {
		return webhook.Errorf(webhook.EInvalid, "%s: the upload is %d bytes, larger than WhatsApp's %s for %s", field, o.Size, megabytes(limit), m.Type)
	}
	if m.Media.Mimetype == "" {
		mt, err := outbox.ValidateMimetype(field, m.Type, o.ContentType)
		if err != nil {
			return err
		}
		m.Media.Mimetype = mt
	}
	if m.Media.FileName == "" && m.Type == outbox.TypeDocument {
		m.Media.FileName = o.FileName
	}
	return nil
}

// checkLink refuses a media link whose host is an IP address the host would refuse to dial
// (loopback, private, link-local and cloud metadata, CGNAT, multicast, reserved): the client
// learns now rather than from a failed message. Host names are checked when the host dials,
// after DNS, as webhooks are.
func (a *MessageAPI) checkLink(m *outbox.Message) error {
	if m.Media == nil || m.Media.Link == "" {
		return nil
	}
	field := string(m.Type) + ".link"
	u, err := url.Parse(m.Media.Link)
	if err != nil {
		return webhook.Errorf(webhook.EInvalid, "%s: must be an absolute https URL", field)
	}
	addr, err := netip.ParseAddr(u.Hostname())
	if err != nil {
		return nil // a host name
	}
	if err := a.guard.SafeAddr(addr.Unmap()); err != nil {
		return webhook.Errorf(webhook.EInvalid, "%s: %s is a private, loopback, link-local or reserved address; give a public https URL", field, addr)
	}
	return nil
}

// accept stores m for the instance and waits for the host, as every accepting route does.
func (a *MessageAPI) accept(ctx context.Context, start time.Time, o sendOptions, m *outbox.Message) (apigw.Response, error) {
	ctx, cancel := context.WithDeadline(ctx, start.Add(maxBlock))
	defer cancel()
	now := a.clock()
	rec := &outbox.Record{
		InstanceID: o.instanceID, MessageID: outbox.NewMessageID(), Message: m, Status: outbox.StatusQueued,
		AcceptedAt: now, UpdatedAt: now, ExpiresAt: now.Add(outbox.DefaultTTL),
	}
	// A replayed Idempotency-Key answers the message it stored then, as it is now; nothing
	// new is stored or sent.
	rec, _, err := a.outbox.Accept(ctx, rec, o.key, now)
	if err != nil {
		return apigw.Response{}, err
	}
	rec, err = a.await(ctx, rec, start.Add(min(o.wait, maxBlock)))
	if err != nil {
		return apigw.Response{}, err
	}
	status := http.StatusAccepted
	if acked(rec.Status) {
		status = http.StatusCreated
	}
	return apigw.Response{Status: status, Data: messageViewOf(rec)}, nil
}

// await reads rec again, more and more slowly, until WhatsApp acknowledged it, it failed, or
// deadline passes, and returns it as last read.
func (a *MessageAPI) await(ctx context.Context, rec *outbox.Record, deadline time.Time) (*outbox.Record, error) {
	interval := a.poll.First
	for rec.Status.Pending() {
		left := time.Until(deadline)
		if left <= 0 {
			return rec, nil
		}
		t := time.NewTimer(min(interval, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return rec, nil
		case <-t.C:
		}
		interval = min(2*interval, a.poll.Max)
		next, err := a.outbox.Get(ctx, rec.InstanceID, rec.MessageID)
		if err != nil {
			if ctx.Err() != nil {
				return rec, nil // out of time: answer what is known
			}
			return nil, err
		}
		rec = next
	}
	return rec, nil
}

// messagePath returns the request's instance and the messageId path parameter, ENotFound
// when the id cannot be one the API gave: no store is asked about a key it could not hold.
func messagePath(r *apigw.Request) (string, string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", "", err
	}
	msg := r.Param("messageId")
	if !outbox.IsMessageID(msg) {
		return "", "", webhook.Errorf(webhook.ENotFound, "messageId: no message of instance %s has this id; the API's message ids are 3EB0 and 18 hex digits", id)
	}
	return id, msg, nil
}

func (a *MessageAPI) get(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, msg, err := messagePath(r)
	if err != nil {
		return apigw.Response{}, err
	}
	rec, err := a.outbox.Get(ctx, id, msg)
	if err != nil {
		return apigw.Response{}, err
	}
	return apigw.Response{Data: messageViewOf(rec)}, nil
}

// target reads the message an edit or revoke changes: one this instance sent through the
// outbox (messages sent from the phone are not in it).
func (a *MessageAPI) target(ctx context.Context, r *apigw.Request) (*outbox.Record, error) {
	id, msg, err := messagePath(r)
	if err != nil {
		return nil, err
	}
	rec, err := a.outbox.Get(ctx, id, msg)
	if webhook.ErrorCode(err) == webhook.ENotFound {
		return nil, webhook.Errorf(webhook.ENotFound, "messageId: instance %s sent no message %s through the API; only those can be edited or revoked", id, msg)
	}
	return rec, err
}

func (a *MessageAPI) edit(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now() // the wait is real time, whatever the clock of records
	o, err := readSendOptions(r)
	if err != nil {
		return apigw.Response{}, err
	}
	req, err := outbox.ParseEdit(r.RawBody())
	if err != nil {
		return apigw.Response{}, err
	}
	target, err := a.target(ctx, r)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := req.Edit(target, a.now())
	if err != nil {
		return apigw.Response{}, err
	}
	return a.accept(ctx, start, o, m)
}

func (a *MessageAPI) revoke(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	start := time.Now() // the wait is real time, whatever the clock of records
	o, err := readSendOptions(r)
	if err != nil {
		return apigw.Response{}, err
	}
	if r.HasBody() {
		return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "body: a revoke takes none")
	}
	target, err := a.target(ctx, r)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := outbox.RevokeOf(target, a.now())
	if err != nil {
		return apigw.Response{}, err
	}
	return a.accept(ctx, start, o, m)
}

// chatPath returns the chatId path parameter as a JID.
func chatPath(r *apigw.Request) (string, error) {
	return outbox.ParseChat("chatId", r.Param("chatId"))
}

func (a *MessageAPI) read(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	return a.chatAction(ctx, r, outbox.ParseRead)
}

func (a *MessageAPI) presence(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	return a.chatAction(ctx, r, outbox.ParsePresence)
}

func (a *MessageAPI) chatAction(ctx context.Context, r *apigw.Request, parse func(chat string, body []byte) (*outbox.Message, error)) (apigw.Response, error) {
	start := time.Now() // the wait is real time, whatever the clock of records
	o, err := readSendOptions(r)
	if err != nil {
		return apigw.Response{}, err
	}
	chat, err := chatPath(r)
	if err != nil {
		return apigw.Response{}, err
	}
	m, err := parse(chat, r.RawBody())
	if err != nil {
		return apigw.Response{}, err
	}
	return a.accept(ctx, start, o, m)
}

// messagesCursor is the state a messages cursor seals: the query it belongs to and where it
// stopped.
type messagesCursor struct {
	Kind       string `json:"k"`
	InstanceID string `json:"i"`
	Chat       string `json:"c,omitempty"`
	Status     string `json:"s,omitempty"`
	Before     string `json:"b"`
}

const messagesCursorKind = "messages"

func (a *MessageAPI) list(ctx context.Context, r *apigw.Request) (apigw.Response, error) {
	id, err := pathID(r)
	if err != nil {
		return apigw.Response{}, err
	}
	f, err := outboxFilter(r)
	if err != nil {
		return apigw.Response{}, err
	}
	var c messagesCursor
	limit, resumed, err := readPage(r, a.cursors, &c)
	if err != nil {
		return apigw.Response{}, err
	}
	var before string
	if resumed {
		if c.Kind != messagesCursorKind || c.InstanceID != id || c.Chat != f.Chat || c.Status != string(f.Status) || c.Before == "" {
			return apigw.Response{}, webhook.Errorf(webhook.EInvalid, "cursor: belongs to another query")
		}
		before = c.Before
	}
	// An instance with no messages and no instance at all differ: the second is a 404.
	if _, err := a.instances.Get(ctx, id); err != nil {
		return apigw.Response{}, err
	}
	recs, next, err := a.outbox.List(ctx, id, f, limit, before)
	if err != nil {
		return apigw.Response{}, err
	}
	views := make([]messageView, len(recs))
	for i, rec := range recs {
		views[i] = messageViewOf(rec)
	}
	p := pagination{Limit: limit}
	if next != "" {
		tok, err := a.cursors.Seal(messagesCursor{Kind: messagesCursorKind, InstanceID: id, Chat: f.Chat, Status: string(f.Status), Before: next})
		if err != nil {
			return apigw.Response{}, fmt.Errorf("seal cursor: %w", err)
		}
		p.NextCursor = &tok
	}
	return apigw.Response{Data: views, Extra: map[string]any{"pagination": p}}, nil
}

var statusList = strings.Join([]string{
	string(outbox.StatusQueued), string(outbox.StatusSending), string(outbox.StatusSent), string(outbox.StatusDelivered),
	string(outbox.StatusRead), string(outbox.StatusPlayed), string(outbox.StatusFailed),
}, ", ")

func outboxFilter(r *apigw.Request) (store.OutboxFilter, error) {
	var f store.OutboxFilter
	chat, err := r.Query("chatId")
	if err != nil {
		return f, err
	}
	if chat != "" {
		if f.Chat, err = outbox.ParseChat("chatId", chat); err != nil {
			return f, err
		}
	}
	status, err := r.Query("status")
	if err != nil {
		return f, err
	}
	if status != "" && !outbox.IsStatus(status) {
		return f, webhook.Errorf(webhook.EInvalid, "status: must be one of %s", statusList)
	}
	f.Status = outbox.Status(status)
	return f, nil
}
