package store_test

import (
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/wagate/wagate/shared/store"
)

const leaseTTL = 30 * time.Second

// lease reads an instance's lease attributes straight from its item.
func (r *instanceRig) lease(id string) store.LeaseState {
	r.t.Helper()
	item := r.rawItem(id)
	l := store.LeaseState{InstanceID: id}
	if v, ok := item["leaseOwner"].(*types.AttributeValueMemberS); ok {
		l.Owner = v.Value
	}
	if v, ok := item["leaseExpiresAt"].(*types.AttributeValueMemberN); ok {
		ms, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			r.t.Fatal(err)
		}
		l.ExpiresAt = time.UnixMilli(ms).UTC()
	}
	if (l.Owner == "") != l.ExpiresAt.IsZero() {
		r.t.Fatalf("instance %s has half a lease: %v", id, item)
	}
	return l
}

// acquire takes a lease that must be free.
func (r *instanceRig) acquire(id, owner string, now time.Time, ttl time.Duration) {
	r.t.Helper()
	if ok, err := r.s.AcquireLease(r.ctx, id, owner, now, ttl); err != nil || !ok {
		r.t.Fatalf("acquire %s for %s: %v %v", id, owner, ok, err)
	}
}

func TestAcquireLease(t *testing.T) {
	r := newInstanceRig(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	tests := []struct {
		name  string
		setup func(id string)
		ok    bool
		want  store.LeaseState // the lease after the call; InstanceID is filled in
	}{
		{"no lease", func(string) {}, true, store.LeaseState{Owner: "a", ExpiresAt: now.Add(leaseTTL)}},
		{"held by another", func(id string) { r.acquire(id, "b", now, time.Minute) },
			false, store.LeaseState{Owner: "b", ExpiresAt: now.Add(time.Minute)}},
		{"another's ends a millisecond later", func(id string) { r.acquire(id, "b", now.Add(-leaseTTL), leaseTTL+time.Millisecond) },
			false, store.LeaseState{Owner: "b", ExpiresAt: now.Add(time.Millisecond)}},
		{"another's ends now", func(id string) { r.acquire(id, "b", now.Add(-leaseTTL), leaseTTL) },
			true, store.LeaseState{Owner: "a", ExpiresAt: now.Add(leaseTTL)}},
		{"another's ended", func(id string) { r.acquire(id, "b", now.Add(-time.Hour), leaseTTL) },
			true, store.LeaseState{Owner: "a", ExpiresAt: now.Add(leaseTTL)}},
		{"released by another", func(id string) {
			r.acquire(id, "b", now, time.Minute)
			if err := r.s.ReleaseLease(r.ctx, id, "b"); err != nil {
				t.Fatal(err)
			}
		}, true, store.LeaseState{Owner: "a", ExpiresAt: now.Add(leaseTTL)}},
		{"ours already: renewed", func(id string) { r.acquire(id, "a", now.Add(-10*time.Second), leaseTTL) },
			true, store.LeaseState{Owner: "a", ExpiresAt: now.Add(leaseTTL)}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("inst_a%d", i)
			r.create(id)
			tt.setup(id)
			ok, err := r.s.AcquireLease(r.ctx, id, "a", now, leaseTTL)
			if err != nil || ok != tt.ok {
				t.Fatalf("acquire: %v %v, want %v", ok, err, tt.ok)
			}
			tt.want.InstanceID = id
			if got := r.lease(id); got != tt.want {
				t.Fatalf("lease %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("missing instance", func(t *testing.T) {
		ok, err := r.s.AcquireLease(r.ctx, "inst_nope", "a", now, leaseTTL)
		if err != nil || ok {
			t.Fatalf("acquire: %v %v, want false and no error", ok, err)
		}
		if r.rawItem("inst_nope") != nil {
			t.Fatal("acquiring created the missing instance")
		}
	})

	t.Run("empty owner", func(t *testing.T) {
		r.create("inst_e")
		if ok, err := r.s.AcquireLease(r.ctx, "inst_e", "", now, leaseTTL); err == nil || ok {
			t.Fatalf("acquire: %v %v, want an error", ok, err)
		}
	})
}

func TestRenewLease(t *testing.T) {
	r := newInstanceRig(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	tests := []struct {
		name  string
		setup func(id string)
		ok    bool
		want  store.LeaseState
	}{
		{"ours", func(id string) { r.acquire(id, "a", now.Add(-10*time.Second), leaseTTL) },
			true, store.LeaseState{Owner: "a", ExpiresAt: now.Add(leaseTTL)}},
		{"ours, ended, not taken", func(id string) { r.acquire(id, "a", now.Add(-time.Hour), leaseTTL) },
			true, store.LeaseState{Owner: "a", ExpiresAt: now.Add(leaseTTL)}},
		{"another's", func(id string) { r.acquire(id, "b", now, time.Minute) },
			false, store.LeaseState{Owner: "b", ExpiresAt: now.Add(time.Minute)}},
		{"taken over once ours ended", func(id string) {
			r.acquire(id, "a", now.Add(-time.Hour), leaseTTL)
			r.acquire(id, "b", now.Add(-time.Second), leaseTTL)
		}, false, store.LeaseState{Owner: "b", ExpiresAt: now.Add(leaseTTL - time.Second)}},
		{"released", func(id string) {
			r.acquire(id, "a", now, leaseTTL)
			if err := r.s.ReleaseLease(r.ctx, id, "a"); err != nil {
				t.Fatal(err)
			}
		}, false, store.LeaseState{}},
		{"never held", func(string) {}, false, store.LeaseState{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("inst_r%d", i)
			r.create(id)
			tt.setup(id)
			ok, err := r.s.RenewLease(r.ctx, id, "a", now, leaseTTL)
			if err != nil || ok != tt.ok {
				t.Fatalf("renew: %v %v, want %v", ok, err, tt.ok)
			}
			tt.want.InstanceID = id
			if got := r.lease(id); got != tt.want {
				t.Fatalf("lease %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("deleted instance", func(t *testing.T) {
		r.create("inst_d")
		r.acquire("inst_d", "a", now, leaseTTL)
		if err := r.s.Delete(r.ctx, "inst_d"); err != nil {
			t.Fatal(err)
		}
		if ok, err := r.s.RenewLease(r.ctx, "inst_d", "a", now, leaseTTL); err != nil || ok {
			t.Fatalf("renew: %v %v, want false and no error", ok, err)
		}
		if r.rawItem("inst_d") != nil {
			t.Fatal("renewing brought the deleted instance back")
		}
	})
}

func TestReleaseLease(t *testing.T) {
	r := newInstanceRig(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	tests := []struct {
		name  string
		setup func(id string)
		want  store.LeaseState
	}{
		{"ours", func(id string) { r.acquire(id, "a", now, leaseTTL) }, store.LeaseState{}},
		{"ours, ended", func(id string) { r.acquire(id, "a", now.Add(-time.Hour), leaseTTL) }, store.LeaseState{}},
		{"another's: left alone", func(id string) { r.acquire(id, "b", now, leaseTTL) },
			store.LeaseState{Owner: "b", ExpiresAt: now.Add(leaseTTL)}},
		{"none", func(string) {}, store.LeaseState{}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("inst_l%d", i)
			r.create(id)
			tt.setup(id)
			if err := r.s.ReleaseLease(r.ctx, id, "a"); err != nil {
				t.Fatal(err)
			}
			tt.want.InstanceID = id
			if got := r.lease(id); got != tt.want {
				t.Fatalf("lease %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("missing instance", func(t *testing.T) {
		if err := r.s.ReleaseLease(r.ctx, "inst_nope", "a"); err != nil {
			t.Fatal(err)
		}
		if r.rawItem("inst_nope") != nil {
			t.Fatal("releasing created the missing instance")
		}
	})
}

// Hosts racing for the same free leases: each lease goes to exactly one of them, the one the
// table names.
func TestConcurrentAcquire(t *testing.T) {
	r := newInstanceRig(t)
	const owners, instances = 5, 5
	for i := range instances {
		r.create(fmt.Sprintf("inst_c%d", i))
	}
	now := time.Now()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners = map[string][]string{} // instance → owners told they hold it
	)
	for o := range owners {
		for i := range instances {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, owner := fmt.Sprintf("inst_c%d", i), fmt.Sprintf("host-%d", o)
				ok, err := r.s.AcquireLease(r.ctx, id, owner, now, leaseTTL)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					winners[id] = append(winners[id], owner)
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	for i := range instances {
		id := fmt.Sprintf("inst_c%d", i)
		if len(winners[id]) != 1 {
			t.Fatalf("%s acquired by %v, want exactly one owner", id, winners[id])
		}
		if got := r.lease(id).Owner; got != winners[id][0] {
			t.Fatalf("%s: table names %q, the winner was %q", id, got, winners[id][0])
		}
	}
}

// Lease writes touch the lease alone, and instance writes leave the lease alone.
func TestLeaseAndInstanceWritesKeepEachOther(t *testing.T) {
	r := newInstanceRig(t)
	in := r.create("inst_k")
	if _, err := r.db.UpdateItem(r.ctx, &dynamodb.UpdateItemInput{
		TableName: &r.table, Key: map[string]types.AttributeValue{"instanceId": &types.AttributeValueMemberS{Value: in.ID}},
		UpdateExpression:          aws.String("SET #s = :s"),
		ExpressionAttributeNames:  map[string]string{"#s": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": &types.AttributeValueMemberS{Value: "connected"}},
	}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	r.acquire(in.ID, "a", now, leaseTTL)
	if ok, err := r.s.RenewLease(r.ctx, in.ID, "a", now.Add(time.Second), leaseTTL); err != nil || !ok {
		t.Fatalf("renew: %v %v", ok, err)
	}
	got, err := r.s.Get(r.ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.WebhookSecret != in.WebhookSecret || !got.UpdatedAt.Equal(in.UpdatedAt) || !got.CreatedAt.Equal(in.CreatedAt) {
		t.Fatalf("instance changed by lease writes: %+v, was %+v", got, in)
	}

	name := "Sales"
	if _, err := r.s.Update(r.ctx, in.ID, store.UpdateInstance{Name: &name}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.RotateSecret(r.ctx, in.ID, "whsec_new", now); err != nil {
		t.Fatal(err)
	}
	if got, want := r.lease(in.ID), (store.LeaseState{InstanceID: in.ID, Owner: "a", ExpiresAt: now.Add(time.Second + leaseTTL)}); got != want {
		t.Fatalf("lease after instance writes %+v, want %+v", got, want)
	}

	if err := r.s.ReleaseLease(r.ctx, in.ID, "a"); err != nil {
		t.Fatal(err)
	}
	if s, ok := r.rawItem(in.ID)["status"].(*types.AttributeValueMemberS); !ok || s.Value != "connected" {
		t.Fatalf("another service's attribute was lost: %v", r.rawItem(in.ID))
	}
}

func TestListLeases(t *testing.T) {
	r := newInstanceRig(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	var want []store.LeaseState
	for i := range 12 {
		id := fmt.Sprintf("inst_%02d", i)
		r.create(id)
		l := store.LeaseState{InstanceID: id}
		switch i % 3 {
		case 1:
			r.acquire(id, "a", now, leaseTTL)
			l.Owner, l.ExpiresAt = "a", now.Add(leaseTTL)
		case 2:
			r.acquire(id, "b", now.Add(-time.Hour), leaseTTL)
			l.Owner, l.ExpiresAt = "b", now.Add(leaseTTL-time.Hour)
		}
		want = append(want, l)
	}
	if err := r.s.Delete(r.ctx, "inst_04"); err != nil {
		t.Fatal(err)
	}
	want = slices.Delete(want, 4, 5)

	var got []store.LeaseState
	after, pages := "", 0
	for {
		page, next, err := r.s.ListLeases(r.ctx, 5, after)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		pages++
		if next == "" {
			break
		}
		after = next
	}
	if !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("%d pages of leases %+v\nwant 3 pages of %+v", pages, got, want)
	}

	free := map[string]bool{}
	for _, l := range got {
		free[l.InstanceID] = l.Free(now)
	}
	if !free["inst_00"] || free["inst_01"] || !free["inst_02"] {
		t.Fatalf("free at now: %v; want none, a's live and b's ended lease free, taken, free", free)
	}
	if _, _, err := r.s.ListLeases(r.ctx, 0, ""); err == nil {
		t.Fatal("limit 0 listed")
	}
}
