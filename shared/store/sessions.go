package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/webhook"
)

// SessionUpdate is what the session host records on an instance about its WhatsApp session;
// nil fields are left as they are.
type SessionUpdate struct {
	Status      *string    // qr, connecting, connected, disconnected, logged_out
	PhoneNumber *string    // digits; "" removes it
	DeviceJID   *string    // whatsmeow's device id once paired; "" removes it
	QR          *string    // the first pairing code; "" removes every QR field
	QRExpiresAt *time.Time // when the last code stops being scannable
	// QRCodes are every code of the connection, in the order WhatsApp shows them from
	// QRIssuedAt: the first for FirstQRLifetime, each next for NextQRLifetime.
	QRCodes    []string
	QRIssuedAt *time.Time
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
	QR          string     `dynamodbav:"qr"`
	QRExpiresAt *time.Time `dynamodbav:"qrExpiresAt"`
	QRCodes     []string   `dynamodbav:"qrCodes"`
	QRIssuedAt  *time.Time `dynamodbav:"qrIssuedAt"`
}

// CurrentQR answers the code scannable at now and when it stops being, or false when none is.
// A state with QR alone (no QRCodes) has that one code until QRExpiresAt.
func (st SessionState) CurrentQR(now time.Time) (string, time.Time, bool) {
	if len(st.QRCodes) == 0 || st.QRIssuedAt == nil {
		if st.QR == "" || st.QRExpiresAt == nil || !now.Before(*st.QRExpiresAt) {
			return "", time.Time{}, false
		}
		return st.QR, *st.QRExpiresAt, true
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
	var set, remove []string
	values := map[string]types.AttributeValue{":now": &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339Nano)}}
	names := map[string]string{}
	field := func(name string, v *string) {
		if v == nil {
			return
		}
		names["#"+name] = name
		if *v == "" {
			remove = append(remove, "#"+name)
			return
		}
		set = append(set, fmt.Sprintf("#%s = :%s", name, name))
		values[":"+name] = &types.AttributeValueMemberS{Value: *v}
	}
	field("status", u.Status)
	field("phoneNumber", u.PhoneNumber)
	field("deviceJid", u.DeviceJID)
	field("qr", u.QR)
	if u.QR != nil && *u.QR == "" {
		remove = append(remove, "qrExpiresAt", "qrCodes", "qrIssuedAt")
	} else {
		if u.QRExpiresAt != nil {
			set = append(set, "qrExpiresAt = :qrExpiresAt")
			values[":qrExpiresAt"] = &types.AttributeValueMemberS{Value: u.QRExpiresAt.UTC().Format(time.RFC3339Nano)}
		}
		if len(u.QRCodes) > 0 {
			codes, err := attributevalue.Marshal(u.QRCodes)
			if err != nil {
				return fmt.Errorf("record session of %s: %w", id, err)
			}
			set = append(set, "qrCodes = :qrCodes")
			values[":qrCodes"] = codes
		}
		if u.QRIssuedAt != nil {
			set = append(set, "qrIssuedAt = :qrIssuedAt")
			values[":qrIssuedAt"] = &types.AttributeValueMemberS{Value: u.QRIssuedAt.UTC().Format(time.RFC3339Nano)}
		}
	}
	expr := "SET " + strings.Join(append(set, "updatedAt = :now"), ", ")
	if len(remove) > 0 {
		expr += " REMOVE " + strings.Join(remove, ", ")
	}
	in := &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       map[string]types.AttributeValue{"instanceId": &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          &expr,
		ConditionExpression:       aws.String("attribute_exists(instanceId)"),
		ExpressionAttributeValues: values,
	}
	if len(names) > 0 {
		in.ExpressionAttributeNames = names
	}
	_, err := s.db.UpdateItem(ctx, in)
	if isConditionFailure(err) {
		return webhook.Errorf(webhook.ENotFound, "instance %s not found", id)
	}
	if err != nil {
		return fmt.Errorf("record session of %s: %w", id, err)
	}
	return nil
}

// GetSession reads the session part of an instance.
func (s *InstanceStore) GetSession(ctx context.Context, id string) (SessionState, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &s.table,
		Key:                      map[string]types.AttributeValue{"instanceId": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("instanceId, #status, phoneNumber, deviceJid, qr, qrExpiresAt, qrCodes, qrIssuedAt"),
		ExpressionAttributeNames: map[string]string{"#status": "status"},
	})
	if err != nil {
		return SessionState{}, fmt.Errorf("read session of %s: %w", id, err)
	}
	if out.Item == nil {
		return SessionState{}, webhook.Errorf(webhook.ENotFound, "instance %s not found", id)
	}
	var st SessionState
	if err := attributevalue.UnmarshalMap(out.Item, &st); err != nil {
		return SessionState{}, fmt.Errorf("decode session of %s: %w", id, err)
	}
	return st, nil
}
