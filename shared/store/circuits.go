package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/dynamo"
	"github.com/wagate/wagate/shared/webhook"
)

// The circuit breaker of an instance's webhook URL lives on the instance's item, where every
// delivery function reads it with the instance (through its cache): one function's timeouts
// open the circuit for all of them. Each write is conditional on the URL still being the
// instance's, so a new URL starts closed. They are rare: an attempt that got no answer, the
// first answer after such attempts, and a probe.

// AddCircuitFailure counts one more attempt to url that got no answer, and returns the
// circuit's failures as they now are (its open time only where DynamoDB returns it: read it
// with ReadCircuit). A missing instance, or one whose URL changed, gives the zero Circuit.
func (s *InstanceStore) AddCircuitFailure(ctx context.Context, id, url string) (webhook.Circuit, error) {
	values := map[string]types.AttributeValue{
		":u": &types.AttributeValueMemberS{Value: url}, ":one": number(1), ":zero": number(0),
	}
	// Most often the circuit is this URL's already; else this failure starts it. Every
	// attribute is set, so the update returns them all (UPDATED_NEW, which the delivery
	// role's attribute condition allows: ALL_NEW would return the secrets).
	attrs, ok, err := s.circuitUpdate(ctx, id,
		"SET circuitUrl = :u, circuitOpenUntil = if_not_exists(circuitOpenUntil, :zero), circuitPeriod = if_not_exists(circuitPeriod, :zero) ADD circuitFailures :one",
		"webhookUrl = :u AND circuitUrl = :u", values, types.ReturnValueUpdatedNew)
	if err == nil && !ok {
		attrs, ok, err = s.circuitUpdate(ctx, id, "SET circuitUrl = :u, circuitFailures = :one, circuitOpenUntil = :zero, circuitPeriod = :zero",
			"webhookUrl = :u AND (attribute_not_exists(circuitUrl) OR circuitUrl <> :u)", values, types.ReturnValueUpdatedNew)
	}
	if err != nil || !ok {
		return webhook.Circuit{}, err
	}
	var it instanceItem
	if err := attributevalue.UnmarshalMap(attrs, &it); err != nil {
		return webhook.Circuit{}, fmt.Errorf("decode the circuit of instance %s: %w", id, err)
	}
	// The condition held, so the circuit is url's, whether or not the answer repeats it.
	it.CircuitURL = url
	return it.circuit(), nil
}

// ReadCircuit reads url's circuit consistently: the zero Circuit of url when it has none.
func (s *InstanceStore) ReadCircuit(ctx context.Context, id, url string) (webhook.Circuit, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table, Key: instanceKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("circuitUrl, circuitFailures, circuitOpenUntil, circuitPeriod"),
	})
	if err != nil {
		return webhook.Circuit{}, fmt.Errorf("read the circuit of instance %s: %w", id, err)
	}
	var it instanceItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return webhook.Circuit{}, fmt.Errorf("decode the circuit of instance %s: %w", id, err)
	}
	return it.circuit().For(url), nil
}

// OpenCircuit opens url's circuit until until, for period, unless its open time now differs
// from seen (zero: not open): then another function moved it first, and opened is false.
func (s *InstanceStore) OpenCircuit(ctx context.Context, id, url string, seen, until time.Time, period time.Duration) (opened bool, err error) {
	_, opened, err = s.circuitUpdate(ctx, id, "SET circuitOpenUntil = :until, circuitPeriod = :period",
		"circuitUrl = :u AND circuitOpenUntil = :seen", map[string]types.AttributeValue{
			":u": &types.AttributeValueMemberS{Value: url}, ":seen": number(circuitTime(seen)),
			":until": number(until.UnixMilli()), ":period": number(period.Milliseconds()),
		}, types.ReturnValueNone)
	return opened, err
}

// CloseCircuit forgets url's circuit: the endpoint answered.
func (s *InstanceStore) CloseCircuit(ctx context.Context, id, url string) error {
	_, _, err := s.circuitUpdate(ctx, id, "REMOVE circuitUrl, circuitFailures, circuitOpenUntil, circuitPeriod", "circuitUrl = :u",
		map[string]types.AttributeValue{":u": &types.AttributeValueMemberS{Value: url}}, types.ReturnValueNone)
	return err
}

// circuitTime is a circuit's time as stored: Unix milliseconds, 0 for none.
func circuitTime(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// circuitUpdate applies update to the instance's circuit when cond holds, and reports
// whether it did, with the attributes ret asks for.
func (s *InstanceStore) circuitUpdate(ctx context.Context, id, update, cond string, values map[string]types.AttributeValue, ret types.ReturnValue) (map[string]types.AttributeValue, bool, error) {
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: instanceKey(id), UpdateExpression: aws.String(update),
		ConditionExpression: aws.String(cond), ExpressionAttributeValues: values, ReturnValues: ret,
	})
	if dynamo.ConditionFailed(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("update the circuit of instance %s: %w", id, err)
	}
	return out.Attributes, true, nil
}
