package deliver

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

// slowInstances counts reads and holds each one until released, so misses overlap.
type slowInstances struct {
	reads   atomic.Int32
	release chan struct{}
	err     error
}

func (s *slowInstances) Get(_ context.Context, id string) (*webhook.Instance, error) {
	s.reads.Add(1)
	<-s.release
	if s.err != nil {
		return nil, s.err
	}
	return &webhook.Instance{ID: id}, nil
}

func TestInstanceCache(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode string
		kept     bool // whether the answer is kept for the next Get
	}{
		{"found", nil, "", true},
		{"not found", webhook.Errorf(webhook.ENotFound, "instance inst_1 not found"), webhook.ENotFound, true},
		{"store failure", errors.New("dynamodb down"), webhook.EInternal, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &slowInstances{release: make(chan struct{}), err: tt.err}
			c := NewInstanceCache(src, time.Minute)
			var sharing sync.WaitGroup
			sharing.Add(10)
			c.sharing = func(string) { sharing.Done() }
			check := func(in *webhook.Instance, err error) {
				if webhook.ErrorCode(err) != tt.wantCode && (tt.wantCode != "" || err != nil) {
					t.Errorf("got %v, want code %q", err, tt.wantCode)
				}
				if err == nil && (in == nil || in.ID != "inst_1") {
					t.Errorf("instance %+v", in)
				}
			}
			// Ten misses at the same moment, as a batch of ten events for one instance.
			var wg sync.WaitGroup
			for range 10 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					check(c.Get(context.Background(), "inst_1"))
				}()
			}
			sharing.Wait() // all ten share a read before it ends
			c.sharing = nil
			close(src.release)
			wg.Wait()
			if got := src.reads.Load(); got != 1 {
				t.Fatalf("ten simultaneous misses made %d reads, want 1", got)
			}
			check(c.Get(context.Background(), "inst_1"))
			want := int32(1)
			if !tt.kept {
				want = 2
			}
			if got := src.reads.Load(); got != want {
				t.Fatalf("%d reads after one more Get, want %d", got, want)
			}
		})
	}
}

// batchInstances serves the instances in it, counting each kind of read.
type batchInstances struct {
	known      map[string]bool
	gets, many int
	asked      [][]string
	fail       error
}

func (b *batchInstances) Get(_ context.Context, id string) (*webhook.Instance, error) {
	b.gets++
	if !b.known[id] {
		return nil, webhook.Errorf(webhook.ENotFound, "instance %s not found", id)
	}
	return &webhook.Instance{ID: id}, nil
}

func (b *batchInstances) GetMany(_ context.Context, ids []string) (map[string]*webhook.Instance, error) {
	b.many++
	b.asked = append(b.asked, ids)
	if b.fail != nil {
		return nil, b.fail
	}
	out := map[string]*webhook.Instance{}
	for _, id := range ids {
		if b.known[id] {
			out[id] = &webhook.Instance{ID: id}
		}
	}
	return out, nil
}

func TestInstanceCachePrefetch(t *testing.T) {
	tests := []struct {
		name      string
		cached    []string // read by Get before the prefetch
		batch     []string // the batch's instance ids, repeats included
		fail      error
		wantAsked []string // what the one batch read asks for; nil: no batch read
		wantGets  int      // reads by Get for the batch's records after the prefetch
	}{
		{"a batch of several instances is one read", nil, []string{"a", "b", "a", "gone", "b"}, nil, []string{"a", "b", "gone"}, 0},
		{"cached instances are not read again", []string{"a"}, []string{"a", "b", "c"}, nil, []string{"b", "c"}, 0},
		{"one missing instance is left to Get", []string{"a"}, []string{"a", "b", "a"}, nil, nil, 1},
		{"a failed batch read leaves each to Get", nil, []string{"a", "b"}, errors.New("throttled"), []string{"a", "b"}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &batchInstances{known: map[string]bool{"a": true, "b": true, "c": true}, fail: tt.fail}
			c := NewInstanceCache(src, time.Minute)
			ctx := context.Background()
			for _, id := range tt.cached {
				if _, err := c.Get(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			src.gets = 0
			if err := c.Prefetch(ctx, tt.batch); err != tt.fail {
				t.Fatalf("prefetch: %v, want %v", err, tt.fail)
			}
			switch {
			case tt.wantAsked == nil && src.many != 0:
				t.Fatalf("batch reads %q, want none", src.asked)
			case tt.wantAsked != nil && (src.many != 1 || !slices.Equal(src.asked[0], tt.wantAsked)):
				t.Fatalf("batch reads %q, want one of %q", src.asked, tt.wantAsked)
			}
			for _, id := range tt.batch {
				in, err := c.Get(ctx, id)
				if id == "gone" {
					if webhook.ErrorCode(err) != webhook.ENotFound {
						t.Fatalf("%s: %v, want not found", id, err)
					}
					continue
				}
				if err != nil || in.ID != id {
					t.Fatalf("%s: %+v, %v", id, in, err)
				}
			}
			if src.gets != tt.wantGets {
				t.Fatalf("%d reads by Get after the prefetch, want %d", src.gets, tt.wantGets)
			}
		})
	}
}
