package sender

import (
	"context"

	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"

	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// receipt is a receipt waiting to move outbox records forward.
type receipt struct {
	ids    []string
	status outbox.Status
}

// receiptStatus is the status a receipt moves this account's messages to. Receipts of this
// account's other devices (its own reads) and those that are not about delivery say nothing
// of a sent message's progress.
func receiptStatus(e *events.Receipt) (outbox.Status, bool) {
	if e.IsFromMe {
		return "", false
	}
	switch e.Type {
	case types.ReceiptTypeDelivered:
		return outbox.StatusDelivered, true
	case types.ReceiptTypeRead:
		return outbox.StatusRead, true
	case types.ReceiptTypePlayed:
		return outbox.StatusPlayed, true
	}
	return "", false
}

// receiptConflicts bounds the reads again of a record another write changed meanwhile.
const receiptConflicts = 3

// writeReceipts moves records forward as receipts come, off the event path, until ctx ends.
// What is still queued then is lost, as after a crash: the webhooks went out; the outbox's
// status stays behind.
func (s *Sender) writeReceipts(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-s.receipts:
			for _, id := range r.ids {
				if err := s.advance(ctx, id, r.status); err != nil && ctx.Err() == nil {
					s.logger.Warn("record receipt", "messageId", id, "status", r.status, "error", err)
				}
			}
		}
	}
}

// advance moves the message id forward to status; never back, and a message not in the
// outbox (sent from the phone) is none of its business.
func (s *Sender) advance(ctx context.Context, id string, status outbox.Status) error {
	for range receiptConflicts {
		cur, err := s.store.Get(ctx, s.id, id)
		if webhook.ErrorCode(err) == webhook.ENotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if !cur.Status.Advances(status) {
			return nil
		}
		next, err := cur.Move(status, "", s.clock.Now())
		if err != nil {
			return err
		}
		err = s.store.Update(ctx, cur, next)
		if webhook.ErrorCode(err) != webhook.EConflict {
			return err
		}
	}
	return webhook.Errorf(webhook.EConflict, "message %s kept changing", id)
}
