package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/outbox"
)

// SessionUpdate is what the session host records on an instance about its WhatsApp session;
// nil fields are left as they are.
type SessionUpdate struct {
	Status      *string // qr, connecting, connected, disconnected, logged_out
	PhoneNumber *string // digits; "" removes it
	DeviceJID   *string // whatsmeow's device id once paired; "" removes it
	// QRCodes are every pairing code of a connection, in the order WhatsApp shows them from
	// the update's time on: the first for FirstQRLifetime, each next for NextQRLifetime.
	QRCodes []string
	ClearQR bool // removes the codes: paired, or their connection is gone
}

// How long WhatsApp's pairing codes last: the first of a connection 60 s, each next one 20 s.
const (
	FirstQRLifetime = 60 * time.Second
	NextQRLifetime  = 20 * time.Second
)

// SessionState is the session part of an instance.
type SessionState struct {
	Status      string     `dynamodbav:"status"`
	PhoneNumber string     `dynamodbav:"phoneNumber"`
	DeviceJID   string     `dynamodbav:"deviceJid"`
	QRCodes     []string   `dynamodbav:"qrCodes"`
	QRIssuedAt  *time.Time `dynamodbav:"qrIssuedAt"`
	// SendPace is the instance's send pace, outbox.DefaultPace when it set none.
	SendPace outbox.Pace `dynamodbav:"-"`
}

// sessionItem is the projection GetSession reads: the session, and the pace, which the
// session host needs where it reads the session.
type sessionItem struct {
	SessionState
	SendPace *paceItem `dynamodbav:"sendPace"`
}

// paceItem is an outbox.Pace as stored, in the API's names.
type paceItem struct {
	PerMinute int  `dynamodbav:"perMinute"`
	JitterMs  int  `dynamodbav:"jitterMs"`
	Typing    bool `dynamodbav:"typing"`
}

// CurrentQR answers the code scannable at now and when it stops being, or false when none is.
func (st SessionState) CurrentQR(now time.Time) (string, time.Time, bool) {
	if st.QRIssuedAt == nil {
		return "", time.Time{}, false
	}
	end := st.QRIssuedAt.Add(FirstQRLifetime)
	for _, code := range st.QRCodes {
		if now.Before(end) {
			return code, end, true
		}
		end = end.Add(NextQRLifetime)
	}
	return "", time.Time{}, false
}

// SetSession records u on an existing instance, touching only the fields u sets.
func (s *InstanceStore) SetSession(ctx context.Context, id string, u SessionUpdate, now time.Time) error {
	at := expression.Value(now.UTC().Format(time.RFC3339Nano))
	update := expression.Set(expression.Name("updatedAt"), at)
	field := func(name string, v *string) {
		switch {
		case v == nil:
		case *v == "":
			update = update.Remove(expression.Name(name))
		default:
			update = update.Set(expression.Name(name), expression.Value(*v))
		}
	}
	field("status", u.Status)
	field("phoneNumber", u.PhoneNumber)
	field("deviceJid", u.DeviceJID)
	switch {
	case u.ClearQR:
		update = update.Remove(expression.Name("qrCodes")).Remove(expression.Name("qrIssuedAt"))
	case len(u.QRCodes) > 0:
		update = update.Set(expression.Name("qrCodes"), expression.Value(u.QRCodes)).
			Set(expression.Name("qrIssuedAt"), at)
	}
	expr, err := expression.NewBuilder().
		WithUpdate(update).
		WithCondition(expression.AttributeExists(expression.Name("instanceId"))).
		Build()
	if err != nil {
		return fmt.Errorf("record session of %s: %w", id, err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: instanceKey(id),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if dynamo.ConditionFailed(err) {
		return notFound(id)
	}
	if err != nil {
		return fmt.Errorf("record session of %s: %w", id, err)
	}
	return nil
}

// GetSession reads the session part of an instance.
func (s *InstanceStore) GetSession(ctx context.Context, id string) (SessionState, error) {
	var it sessionItem
	err := s.getPart(ctx, id, "instanceId, #status, phoneNumber, deviceJid, qrCodes, qrIssuedAt, sendPace", map[string]string{"#status": "status"}, &it)
	if err != nil {
		return SessionState{}, fmt.Errorf("read session of %s: %w", id, err)
	}
	it.SessionState.SendPace = outbox.DefaultPace
	if it.SendPace != nil {
		it.SessionState.SendPace = outbox.Pace(*it.SendPace)
	}
	return it.SessionState, nil
}

// getPart reads, consistently, the attributes of an instance that projection names into out;
// a missing instance is ENotFound.
func (s *InstanceStore) getPart(ctx context.Context, id, projection string, names map[string]string, out any) error {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: instanceKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression: &projection, ExpressionAttributeNames: names,
	})
	if err != nil {
		return err
	}
	if res.Item == nil {
		return notFound(id)
	}
	return attributevalue.UnmarshalMap(res.Item, out)
}
