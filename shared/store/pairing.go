package store

import (
	"cmp"
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

// A pairing code can only come from the whatsmeow client of the session host that holds the
// instance's lease, and the API cannot call that host. So the API leaves the request on the
// instance's item, addressed to the holder by pairHost; each host polls the sparse byPairHost
// index for requests addressed to it, and writes its answer back on the item, where the API
// reads it. pairHost, pairPhone and pairRequestId live only while a request waits.

// PairRequest is a request for a pairing code, waiting for the session host holding the
// instance.
type PairRequest struct {
	InstanceID string `dynamodbav:"instanceId"`
	RequestID  string `dynamodbav:"pairRequestId"`
	Phone      string `dynamodbav:"pairPhone"` // international number, digits only
}

// PairAnswer is a session host's answer to a PairRequest: a code, or an error a client may see
// with its code (webhook.EConflict, webhook.EUnavailable).
type PairAnswer struct {
	RequestID string `dynamodbav:"pairAnswerId"`
	Code      string `dynamodbav:"pairCode"`
	Error     string `dynamodbav:"pairError"`
	ErrorCode string `dynamodbav:"pairErrorCode"`
}

// RequestPairing addresses r to the session host holding the instance's lease at now,
// replacing any request or answer before it. An instance that no host holds has nothing to
// pair with: that is EConflict; a missing instance is ENotFound.
func (s *InstanceStore) RequestPairing(ctx context.Context, r PairRequest, now time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           &s.table,
		Key:                 instanceKey(r.InstanceID),
		UpdateExpression:    aws.String("SET pairHost = leaseOwner, pairRequestId = :rid, pairPhone = :phone REMOVE pairAnswerId, pairCode, pairError, pairErrorCode"),
		ConditionExpression: aws.String("attribute_exists(instanceId) AND attribute_exists(leaseOwner) AND leaseExpiresAt > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":rid": &types.AttributeValueMemberS{Value: r.RequestID}, ":phone": &types.AttributeValueMemberS{Value: r.Phone},
			":now": unixMilli(now),
		},
	})
	if !dynamo.ConditionFailed(err) {
		if err != nil {
			return fmt.Errorf("request pairing of %s: %w", r.InstanceID, err)
		}
		return nil
	}
	if _, err := s.GetSession(ctx, r.InstanceID); err != nil {
		return err
	}
	return webhook.Errorf(webhook.EConflict, "no session host runs instance %s yet; try again in a few seconds", r.InstanceID)
}

// PendingPairings lists the requests addressed to host. The index is eventually consistent: a
// request answered a moment ago may still be listed.
func (s *InstanceStore) PendingPairings(ctx context.Context, host string) ([]PairRequest, error) {
	var reqs []PairRequest
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String("byPairHost"),
		KeyConditionExpression:    aws.String("pairHost = :host"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":host": &types.AttributeValueMemberS{Value: host}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("pairing requests of host %s: %w", host, err)
		}
		var batch []PairRequest
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &batch); err != nil {
			return nil, fmt.Errorf("decode pairing requests of host %s: %w", host, err)
		}
		reqs = append(reqs, batch...)
	}
	return reqs, nil
}

// AnswerPairing records a host's answer to the instance's request a.RequestID and takes the
// request off the host's list. It reports false, writing nothing, when that request is no
// longer the instance's: a newer one replaced it, or the instance is gone.
func (s *InstanceStore) AnswerPairing(ctx context.Context, id string, a PairAnswer) (bool, error) {
	values := map[string]types.AttributeValue{":rid": &types.AttributeValueMemberS{Value: a.RequestID}}
	set := "SET pairAnswerId = :rid"
	if a.Error != "" {
		set += ", pairError = :answer, pairErrorCode = :code"
		values[":answer"] = &types.AttributeValueMemberS{Value: a.Error}
		values[":code"] = &types.AttributeValueMemberS{Value: cmp.Or(a.ErrorCode, webhook.EConflict)}
	} else {
		set += ", pairCode = :answer"
		values[":answer"] = &types.AttributeValueMemberS{Value: a.Code}
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       instanceKey(id),
		UpdateExpression:          aws.String(set + " REMOVE pairHost, pairPhone, pairRequestId"),
		ConditionExpression:       aws.String("pairRequestId = :rid"),
		ExpressionAttributeValues: values,
	})
	if dynamo.ConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("answer pairing of %s: %w", id, err)
	}
	return true, nil
}

// GetPairAnswer reads the instance's last pairing answer; its RequestID is "" when there is none.
func (s *InstanceStore) GetPairAnswer(ctx context.Context, id string) (PairAnswer, error) {
	var a PairAnswer
	if err := s.getPart(ctx, id, "instanceId, pairAnswerId, pairCode, pairError, pairErrorCode", nil, &a); err != nil {
		return PairAnswer{}, fmt.Errorf("read pairing answer of %s: %w", id, err)
	}
	return a, nil
}
