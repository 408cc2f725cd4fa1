package sender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wagate/wagate/session-host/calls"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// Calls does the instance's request–answer calls (*calls.Caller).
type Calls interface {
	Do(ctx context.Context, c *outbox.Call, now time.Time) (*outbox.CallResult, error)
}

// callRetry is the wait before a call whose connection failed is tried again, within its
// deadline.
const callRetry = time.Second

// call does r, a call, at once, and writes its answer on the record (status sent): the API
// reads it back. A call is never started once its deadline (ExpiresAt) has passed: choose
// fails it first, without a webhook, and the API has answered 503 by then. WhatsApp's request
// gets a context that ends at the deadline too. A call that changes something and was started
// by a host that lost the lease is not started again: it fails.
func (s *Sender) call(ctx context.Context, r *outbox.Record) {
	now := s.clock.Now()
	c := r.Message.Call
	switch {
	case c == nil:
		s.answer(ctx, r, &outbox.CallResult{Error: &outbox.CallError{Code: webhook.EInvalid, Message: "the call has no content"}}, now)
		return
	case s.calls == nil:
		s.answer(ctx, r, &outbox.CallResult{Error: &outbox.CallError{Code: webhook.EUnavailable, Message: "this host does no calls", RetryAfterMs: 1000}}, now)
		return
	case c.Mutates() && r.Attempts > 0:
		s.fail(ctx, r, "the host doing the call stopped; it may have taken effect")
		return
	}
	if c.Mutates() {
		// Written first, so that a host taking the lease over does not do it again.
		sending := *r
		sending.Status, sending.Attempts, sending.UpdatedAt, sending.Version = outbox.StatusSending, r.Attempts+1, now, r.Version+1
		if err := s.store.Update(ctx, r, &sending); err != nil {
			s.writeFailed(ctx, "mark call started", r, err)
			return
		}
		s.replace(&sending)
		r = &sending
	}
	cctx, cancel := context.WithTimeout(ctx, r.ExpiresAt.Sub(now))
	res, err := s.calls.Do(cctx, c, now)
	cancel()
	var wait *calls.WaitError
	switch {
	case ctx.Err() != nil:
		return // the lease is lost: the next holder answers it, or its deadline passes
	case errors.As(err, &wait) && !wait.Until.Before(r.ExpiresAt):
		// Its turn of the pace comes after its deadline: answer now when to try again.
		s.answer(ctx, r, &outbox.CallResult{Error: &outbox.CallError{
			Code: webhook.EUnavailable, Message: "the instance's lookup pace has no turn for this call in time; try again later",
			RetryAfterMs: wait.Until.Sub(now).Milliseconds(),
		}}, now)
	case errors.As(err, &wait):
		s.later(r, wait.Until) // in memory only: choose wakes the sender then
	case err != nil && c.Mutates():
		// It may have reached WhatsApp: never sent again, answered unavailable.
		s.logger.Warn("call not answered", "messageId", r.MessageID, "op", c.Op, "error", err)
		s.answer(ctx, r, &outbox.CallResult{Error: &outbox.CallError{
			Code: webhook.EUnavailable, Message: "WhatsApp did not answer; the change may or may not have been made: read the group to see", RetryAfterMs: 1000,
		}}, s.clock.Now())
	case err != nil:
		s.logger.Warn("call not answered; trying again", "messageId", r.MessageID, "op", c.Op, "error", err)
		s.later(r, now.Add(callRetry))
	default:
		s.answer(ctx, r, res, now)
	}
}

// later keeps r pending in memory until at.
func (s *Sender) later(r *outbox.Record, at time.Time) {
	next := *r
	next.NextAttemptAt = &at
	s.replace(&next)
}

// maxResult bounds an answer written on a record, under DynamoDB's 400 KB item: a page of
// large groups with every participant can be more.
const maxResult = 300 << 10

// answer writes res on r, which ends sent.
func (s *Sender) answer(ctx context.Context, r *outbox.Record, res *outbox.CallResult, now time.Time) {
	b, err := json.Marshal(res)
	if err != nil {
		s.fail(ctx, r, "the answer could not be encoded")
		return
	}
	if len(b) > maxResult {
		b, _ = json.Marshal(&outbox.CallResult{Error: &outbox.CallError{
			Code:    webhook.EPayloadTooLarge,
			Message: fmt.Sprintf("the answer is %d bytes, more than the %d the gateway passes on; ask for fewer (a smaller limit)", len(b), maxResult),
		}})
	}
	next := *r
	next.Status, next.Result, next.SentAt, next.NextAttemptAt = outbox.StatusSent, b, &now, nil
	next.UpdatedAt, next.Version = now, r.Version+1
	if err := s.store.Update(ctx, r, &next); err != nil {
		s.writeFailed(ctx, "write call answer", r, err)
		return
	}
	s.replace(&next)
}
