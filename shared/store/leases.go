package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/wagate/wagate/shared/dynamo"
)

// A session host runs an instance only while it holds the instance's lease, kept on the
// instance's item in two attributes: leaseOwner, the holding host's id, and leaseExpiresAt,
// when the lease ends unless renewed, in unix milliseconds. Every lease change is one
// conditional UpdateItem of those two attributes alone, so of hosts racing for a lease exactly
// one wins, and the rest of the item stays as its other writers left it.
//
// Whether a lease has ended is judged by the clock of the host that asks: hosts' clocks must
// agree to well within a lease's time to live.

// LeaseState is an instance's lease as stored.
type LeaseState struct {
	InstanceID string
	Owner      string    // the host holding the lease; "" when none does
	ExpiresAt  time.Time // when the lease ends unless renewed; zero when Owner is ""
}

// Free reports whether a host may take the lease at now: no host holds it, or it has ended.
// It is the condition AcquireLease writes under, less the case of a lease the host holds.
func (l LeaseState) Free(now time.Time) bool {
	return l.Owner == "" || !now.Before(l.ExpiresAt)
}

// leaseItem is the lease part of an instance item.
type leaseItem struct {
	InstanceID string `dynamodbav:"instanceId"`
	Owner      string `dynamodbav:"leaseOwner"`
	ExpiresAt  int64  `dynamodbav:"leaseExpiresAt"`
}

func (it *leaseItem) toLease() LeaseState {
	l := LeaseState{InstanceID: it.InstanceID, Owner: it.Owner}
	if it.Owner != "" {
		l.ExpiresAt = time.UnixMilli(it.ExpiresAt).UTC()
	}
	return l
}

// AcquireLease makes owner the holder of the instance's lease until now+ttl when no host holds
// it, its lease ended at or before now, or owner holds it already (then it is renewed). It
// reports whether owner holds the lease now. A missing instance has no lease to take: that is
// false with no error, the answer for a lease another host holds, as the caller only needs to
// know it must not run the instance.
func (s *InstanceStore) AcquireLease(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	ok, err := s.writeLease(ctx, id, owner,
		"SET leaseOwner = :owner, leaseExpiresAt = :expires",
		"attribute_exists(instanceId) AND (attribute_not_exists(leaseOwner) OR leaseOwner = :owner OR leaseExpiresAt <= :now)",
		map[string]types.AttributeValue{":expires": unixMilli(now.Add(ttl)), ":now": unixMilli(now)})
	if err != nil {
		return false, fmt.Errorf("acquire lease of instance %s: %w", id, err)
	}
	return ok, nil
}

// RenewLease moves the end of owner's lease on the instance to now+ttl. It reports false when
// owner no longer holds the lease: another host took it, it was released, or the instance was
// deleted. A lease that ended but that no other host took is still owner's, and renewed.
func (s *InstanceStore) RenewLease(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (bool, error) {
	ok, err := s.writeLease(ctx, id, owner,
		"SET leaseExpiresAt = :expires", "leaseOwner = :owner",
		map[string]types.AttributeValue{":expires": unixMilli(now.Add(ttl))})
	if err != nil {
		return false, fmt.Errorf("renew lease of instance %s: %w", id, err)
	}
	return ok, nil
}

// ReleaseLease gives up owner's lease on the instance, so any host may take it at once. A
// lease owner does not hold (another host's, none, or a missing instance) is left alone: there
// is nothing of owner's to release, and that is not an error.
func (s *InstanceStore) ReleaseLease(ctx context.Context, id, owner string) error {
	if _, err := s.writeLease(ctx, id, owner, "REMOVE leaseOwner, leaseExpiresAt", "leaseOwner = :owner", nil); err != nil {
		return fmt.Errorf("release lease of instance %s: %w", id, err)
	}
	return nil
}

// writeLease runs one conditional UpdateItem of the lease attributes; values hold the
// expression values besides :owner. It reports whether the condition held.
func (s *InstanceStore) writeLease(ctx context.Context, id, owner, update, cond string, values map[string]types.AttributeValue) (bool, error) {
	if owner == "" {
		// An empty owner would read back as a lease no host holds.
		return false, errors.New("empty lease owner")
	}
	if values == nil {
		values = map[string]types.AttributeValue{}
	}
	values[":owner"] = &types.AttributeValueMemberS{Value: owner}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table, Key: instanceKey(id), UpdateExpression: &update,
		ConditionExpression: &cond, ExpressionAttributeValues: values,
	})
	if dynamo.ConditionFailed(err) {
		return false, nil
	}
	return err == nil, err
}

// ListLeases returns the leases of up to limit instances with ids after after ("" for the
// first page), in id order, and the id to pass as after for the next page ("" on the last
// page). It pages through the byList index like List, then reads the leases consistently, so
// a lease is as the last write left it; an instance deleted in between is left out.
func (s *InstanceStore) ListLeases(ctx context.Context, limit int, after string) ([]LeaseState, string, error) {
	ids, next, err := s.listIDs(ctx, limit, after)
	if err != nil {
		return nil, "", fmt.Errorf("list leases: %w", err)
	}
	items, err := batchGet(ctx, s.db, s.table, "instanceId", ids, "instanceId", "leaseOwner", "leaseExpiresAt")
	if err != nil {
		return nil, "", fmt.Errorf("list leases: %w", err)
	}
	byID := make(map[string]LeaseState, len(items))
	for _, item := range items {
		var it leaseItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return nil, "", fmt.Errorf("list leases: decode lease: %w", err)
		}
		byID[it.InstanceID] = it.toLease()
	}
	out := make([]LeaseState, 0, len(ids))
	for _, id := range ids {
		if l, ok := byID[id]; ok {
			out = append(out, l)
		}
	}
	return out, next, nil
}

func unixMilli(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.UnixMilli(), 10)}
}
