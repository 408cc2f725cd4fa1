package sender

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/session-host/send"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// backoff is the wait before a message whose attempt failed transiently is tried again, by
// the attempts made; the last repeats until the message's time to live passes.
var backoff = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}

// ackBackoff is the wait before writing an acknowledged message's status again; the last
// repeats.
var ackBackoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}

// permanentError is a failure that another attempt would meet again: the message fails.
type permanentError struct{ reason string }

func (e *permanentError) Error() string { return e.reason }

func permanent(format string, args ...any) error {
	return &permanentError{reason: fmt.Sprintf(format, args...)}
}

// handOver sends r: written sending with one more attempt, built, and handed to WhatsApp
// after typing (how long "typing…" shows first; 0 for none). A paced hand-over sets when the
// next may go.
func (s *Sender) handOver(ctx context.Context, r *outbox.Record, paced bool, typing time.Duration) {
	if r.Message.Type == outbox.TypeCall {
		s.call(ctx, r)
		return
	}
	now := s.clock.Now()
	sending := *r
	sending.Status, sending.Attempts, sending.NextAttemptAt = outbox.StatusSending, r.Attempts+1, nil
	sending.UpdatedAt, sending.Version = now, r.Version+1
	if err := s.store.Update(ctx, r, &sending); err != nil {
		s.writeFailed(ctx, "mark message sending", r, err)
		return
	}
	s.replace(&sending)
	chat, msg, err := s.prepare(ctx, &sending)
	if err == nil {
		if typing > 0 {
			s.showTyping(ctx, chat, typing)
		}
		// Checked last thing: once the session's lease is lost, another host sends it.
		if ctx.Err() != nil {
			return
		}
		var resp whatsmeow.SendResponse
		resp, err = s.deliver(ctx, chat, &sending, msg)
		if paced {
			s.nextAt = s.clock.Now().Add(s.pace(ctx).Gap(s.random))
		}
		if err == nil {
			s.ack(ctx, &sending, chat, msg, resp)
			return
		}
		err = classifySend(err)
	}
	if ctx.Err() != nil {
		return // stays sending, for the next holder of the lease
	}
	if p := (*permanentError)(nil); errors.As(err, &p) {
		if next := s.fail(ctx, &sending, p.reason); next != nil {
			s.replace(next)
		}
		return
	}
	s.retry(ctx, &sending, err)
}

// deliver hands r to WhatsApp: msg as a message with r's id, or, for the actions that are no
// message, a read receipt or a chat presence.
func (s *Sender) deliver(ctx context.Context, chat types.JID, r *outbox.Record, msg *waE2E.Message) (whatsmeow.SendResponse, error) {
	switch m := r.Message; m.Type {
	case outbox.TypeRead:
		sender, _ := types.ParseJID(m.Read.Sender) // empty in one-to-one chats
		now := s.clock.Now()
		return whatsmeow.SendResponse{ID: r.MessageID, Timestamp: now}, s.client.MarkRead(ctx, m.Read.MessageIDs, now, chat, sender)
	case outbox.TypePresence:
		state, media := types.ChatPresenceComposing, types.ChatPresenceMediaText
		switch m.Presence.State {
		case outbox.PresenceRecording:
			media = types.ChatPresenceMediaAudio
		case outbox.PresencePaused:
			state = types.ChatPresencePaused
		}
		return whatsmeow.SendResponse{ID: r.MessageID, Timestamp: s.clock.Now()}, s.client.SendChatPresence(ctx, chat, state, media)
	}
	return s.client.SendMessage(ctx, chat, msg, whatsmeow.SendRequestExtra{ID: r.MessageID})
}

// showTyping shows "typing…" in chat for d; a presence WhatsApp did not take is no reason
// not to send.
func (s *Sender) showTyping(ctx context.Context, chat types.JID, d time.Duration) {
	if err := s.client.SendChatPresence(ctx, chat, types.ChatPresenceComposing, types.ChatPresenceMediaText); err != nil {
		s.logger.Debug("typing presence not sent", "chat", chat.String(), "error", err)
		return
	}
	select {
	case <-ctx.Done():
	case <-s.clock.After(d):
	}
}

// retry writes r back with the time of its next attempt, after cause.
func (s *Sender) retry(ctx context.Context, r *outbox.Record, cause error) {
	now := s.clock.Now()
	at := now.Add(backoff[min(max(r.Attempts, 1), len(backoff))-1])
	next := *r
	next.NextAttemptAt, next.UpdatedAt, next.Version = &at, now, r.Version+1
	s.logger.Warn("message not sent; retrying", "messageId", r.MessageID, "attempt", r.Attempts, "retryAt", at, "error", cause)
	if err := s.store.Update(ctx, r, &next); err != nil {
		s.writeFailed(ctx, "schedule message retry", r, err)
		return
	}
	s.replace(&next)
}

// fail writes r failed for reason and publishes its message.updated; it returns r as written,
// nil when the write did not happen.
func (s *Sender) fail(ctx context.Context, r *outbox.Record, reason string) *outbox.Record {
	now := s.clock.Now()
	next, err := r.Move(outbox.StatusFailed, reason, now)
	if err != nil {
		s.logger.Error("fail message", "messageId", r.MessageID, "error", err)
		return nil
	}
	next.NextAttemptAt = nil
	if err := s.store.Update(ctx, r, next); err != nil {
		s.writeFailed(ctx, "mark message failed", r, err)
		return nil
	}
	s.logger.Warn("message failed", "messageId", r.MessageID, "chat", r.Message.Chat, "reason", reason)
	if r.Message.Type == outbox.TypeCall {
		return next // a call is answered to the API, not in a webhook
	}
	chat, _ := types.ParseJID(r.Message.Chat)
	s.publish(ctx, Failure{MessageID: r.MessageID, Chat: chat, Reason: reason, At: now}, "message.updated")
	return next
}

// writeFailed handles a write of r that did not happen: someone else changed it (read it
// again), or the store failed (wait, then read again).
func (s *Sender) writeFailed(ctx context.Context, what string, r *outbox.Record, err error) {
	s.stale = true
	if webhook.ErrorCode(err) == webhook.EConflict || ctx.Err() != nil {
		return
	}
	s.storeFailed = true
	s.logger.Error(what, "messageId", r.MessageID, "error", err)
}

// classifySend tells WhatsApp's refusals, which another attempt would meet again, from
// failures of the moment (not connected, timeouts, WhatsApp's server errors and rate limits).
func classifySend(err error) error {
	if errors.Is(err, whatsmeow.ErrServerReturnedError) {
		code, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(err.Error(), whatsmeow.ErrServerReturnedError.Error())))
		if code >= 400 && code < 500 && code != 408 && code != 429 {
			return permanent("WhatsApp refused the message (error %d)", code)
		}
		return err
	}
	for _, refused := range []error{
		whatsmeow.ErrUnknownServer, whatsmeow.ErrRecipientADJID, whatsmeow.ErrBroadcastListUnsupported,
		whatsmeow.ErrNotInGroup, whatsmeow.ErrGroupNotFound, whatsmeow.ErrIQForbidden, whatsmeow.ErrIQNotFound,
	} {
		if errors.Is(err, refused) {
			return permanent("WhatsApp refused the message: %v", err)
		}
	}
	return err
}

// ack is a message WhatsApp acknowledged, kept until its sent status is written.
type ack struct {
	prev    *outbox.Record // sending, as last written
	chat    types.JID
	msg     *waE2E.Message
	at      time.Time // WhatsApp's server timestamp
	tries   int
	retryAt time.Time
}

// ack records r as sent at WhatsApp's time and publishes its message.sent; until the status is
// written, r is never handed over again.
func (s *Sender) ack(ctx context.Context, r *outbox.Record, chat types.JID, msg *waE2E.Message, resp whatsmeow.SendResponse) {
	at := resp.Timestamp
	if at.IsZero() {
		at = s.clock.Now()
	}
	s.acked[r.MessageID] = &ack{prev: r, chat: chat, msg: msg, at: at.UTC()}
	s.replace(&outbox.Record{MessageID: r.MessageID, Status: outbox.StatusSent}) // out of the pending
	s.flushAcked(ctx)
}

// flushAcked writes the acknowledged messages whose write is due and publishes their
// message.sent. done is false while some remain, with the wait until the next is due.
func (s *Sender) flushAcked(ctx context.Context) (wait time.Duration, done bool) {
	now := s.clock.Now()
	var soonest time.Time
	for id, a := range s.acked {
		if now.Before(a.retryAt) {
			if soonest.IsZero() || a.retryAt.Before(soonest) {
				soonest = a.retryAt
			}
			continue
		}
		if err := s.writeSent(ctx, a, now); err != nil {
			a.retryAt = now.Add(ackBackoff[min(a.tries, len(ackBackoff)-1)])
			a.tries++
			if soonest.IsZero() || a.retryAt.Before(soonest) {
				soonest = a.retryAt
			}
			if ctx.Err() == nil {
				s.logger.Error("record message sent; retrying, it is not sent again", "messageId", id, "retryAt", a.retryAt, "error", err)
			}
			continue
		}
		delete(s.acked, id)
		s.publishSent(ctx, id, a)
	}
	if len(s.acked) == 0 {
		return 0, true
	}
	return max(soonest.Sub(now), time.Millisecond), false
}

// sentConflicts bounds the reads again of a message whose sent status races a receipt.
const sentConflicts = 5

// writeSent writes a's message sent, at WhatsApp's time. A receipt may have moved it on
// meanwhile; then only its SentAt is written.
func (s *Sender) writeSent(ctx context.Context, a *ack, now time.Time) error {
	cur := a.prev
	for range sentConflicts {
		next := sentFrom(cur, a.at, now)
		if next == nil {
			return nil
		}
		err := s.store.Update(ctx, cur, next)
		if webhook.ErrorCode(err) != webhook.EConflict {
			return err
		}
		if cur, err = s.store.Get(ctx, s.id, cur.MessageID); err != nil {
			if webhook.ErrorCode(err) == webhook.ENotFound {
				return nil
			}
			return err
		}
		a.prev = cur
	}
	return fmt.Errorf("message %s changed %d times while its sent status was written", a.prev.MessageID, sentConflicts)
}

// sentFrom is cur sent at at, nil when there is nothing to write.
func sentFrom(cur *outbox.Record, at, now time.Time) *outbox.Record {
	if cur.Status.Advances(outbox.StatusSent) {
		next, _ := cur.Move(outbox.StatusSent, "", now)
		next.SentAt, next.NextAttemptAt = &at, nil
		return next
	}
	if cur.Status == outbox.StatusFailed || cur.SentAt != nil {
		return nil
	}
	next := *cur
	next.SentAt, next.UpdatedAt, next.Version = &at, now, cur.Version+1
	return &next
}

// publishSent publishes the message.sent of an acknowledged message as the session's
// converter makes it of a message this account sent, so that it has the shape of one sent
// from the phone and the outbox's message id.
func (s *Sender) publishSent(ctx context.Context, id string, a *ack) {
	if a.msg == nil {
		return // a read receipt or a presence: no message was sent
	}
	own, err := s.ownJID()
	if err != nil {
		s.logger.Error("publish message.sent", "messageId", id, "error", err)
		return
	}
	evt := &events.Message{
		Info: types.MessageInfo{
			MessageSource: types.MessageSource{
				Chat: a.chat, Sender: own, IsFromMe: true, IsGroup: a.chat.Server == types.GroupServer,
			},
			ID: id, Timestamp: a.at,
		},
		RawMessage: a.msg,
	}
	s.publish(ctx, Sent{Message: evt.UnwrapRaw()}, "message.sent")
}

// prepare returns r's chat and its message, its media fetched and uploaded.
func (s *Sender) prepare(ctx context.Context, r *outbox.Record) (types.JID, *waE2E.Message, error) {
	m := r.Message
	chat, err := types.ParseJID(m.Chat)
	if err != nil {
		return chat, nil, permanent("chat %q is not a WhatsApp JID", m.Chat)
	}
	if chat.Server == types.DefaultUserServer {
		if err := s.checkOnWhatsApp(ctx, chat); err != nil {
			return chat, nil, err
		}
	}
	switch {
	case m.Type == outbox.TypeRead && m.Read == nil, m.Type == outbox.TypePresence && m.Presence == nil,
		m.Type == outbox.TypeEdit && m.Edit == nil, m.Type == outbox.TypeRevoke && m.Revoke == nil:
		return chat, nil, permanent("the %s has no %s content", m.Type, m.Type)
	case m.Type == outbox.TypeRead, m.Type == outbox.TypePresence:
		return chat, nil, nil
	}
	in := send.Input{Now: s.clock.Now()}
	if m.Type == outbox.TypeEdit || m.Type == outbox.TypeRevoke {
		if in.Target, err = s.changeable(ctx, m, in.Now); err != nil {
			return chat, nil, err
		}
	}
	if m.Type.IsMedia() && m.Media != nil {
		if in.Upload, err = s.upload(ctx, m); err != nil {
			return chat, nil, err
		}
	}
	if id := quotedID(m); id != "" {
		if in.Quoted, err = s.quoted(ctx, chat, id); err != nil {
			return chat, nil, err
		}
	}
	if m.Type == outbox.TypePoll {
		in.Secret = PollSecret(s.pollKey, r.MessageID)
	}
	msg, err := s.builder.Build(m, in)
	if err != nil {
		return chat, nil, permanent("the message cannot be built: %v", err)
	}
	return chat, msg, nil
}

// changeable returns the message an edit or revoke changes, once sure WhatsApp still lets it
// be changed (outbox.Message.Changeable).
func (s *Sender) changeable(ctx context.Context, m *outbox.Message, now time.Time) (*outbox.Message, error) {
	var id string
	switch {
	case m.Edit != nil:
		id = m.Edit.MessageID
	case m.Revoke != nil:
		id = m.Revoke.MessageID
	}
	target, err := s.store.Get(ctx, s.id, id)
	switch {
	case webhook.ErrorCode(err) == webhook.ENotFound:
		return nil, permanent("message %s is not in this instance's outbox", id)
	case err != nil:
		return nil, err
	}
	if err := m.Changeable(target, now); err != nil {
		return nil, permanent("%s", webhook.ErrorMessage(err))
	}
	return target.Message, nil
}

// checkOnWhatsApp fails a message to a phone number that is not on WhatsApp; a user's answer
// is kept for the session.
func (s *Sender) checkOnWhatsApp(ctx context.Context, chat types.JID) error {
	on, known := s.onWhatsApp[chat.User]
	if !known {
		resp, err := s.client.IsOnWhatsApp(ctx, []string{"+" + chat.User})
		if err != nil {
			return fmt.Errorf("check %s is on WhatsApp: %w", chat.User, err)
		}
		for _, r := range resp {
			if r.JID.User == chat.User || strings.TrimPrefix(r.Query, "+") == chat.User {
				on, known = r.IsIn, true
			}
		}
		if !known {
			return nil // no answer for it: let WhatsApp's answer to the send tell
		}
		s.onWhatsApp[chat.User] = on
	}
	if !on {
		return permanent("+%s is not on WhatsApp", chat.User)
	}
	return nil
}

// quotedID is the message a message replies to or reacts to, "" for none.
func quotedID(m *outbox.Message) string {
	if m.Type == outbox.TypeReaction && m.Reaction != nil {
		return m.Reaction.MessageID
	}
	return m.ReplyTo
}

// quoted is who sent the message id in chat, as a reply or reaction needs it: this account
// when it is in the instance's outbox, else, in a one-to-one chat, the other person. In a
// group, the sender of a message that did not go through the outbox is not known here.
func (s *Sender) quoted(ctx context.Context, chat types.JID, id string) (*send.Quoted, error) {
	_, err := s.store.Get(ctx, s.id, id)
	switch {
	case err == nil:
		own, err := s.ownJID()
		if err != nil {
			return nil, err
		}
		return &send.Quoted{Sender: own}, nil
	case webhook.ErrorCode(err) != webhook.ENotFound:
		return nil, err
	case chat.Server == types.DefaultUserServer || chat.Server == types.HiddenUserServer:
		return &send.Quoted{Sender: chat.ToNonAD()}, nil
	}
	return nil, permanent("message %s in group %s was not sent through this API: its sender is unknown to the gateway, and replying or reacting needs it", id, chat)
}

// PollKey derives, from the device's identity private key, the key poll secrets are derived
// from: it stays with the device, so every host that runs the instance derives the same.
func PollKey(identityPrivate []byte) []byte {
	mac := hmac.New(sha256.New, identityPrivate)
	mac.Write([]byte("wagate poll secret v1"))
	return mac.Sum(nil)
}

// PollSecret is a poll's message secret: HMAC-SHA256 of its message id under key, so every
// resend of the poll, from any host, is the same poll with the same secret (votes are
// encrypted with it), and no one without the device's keys can derive it.
func PollSecret(key []byte, messageID string) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(messageID))
	return mac.Sum(nil)
}
