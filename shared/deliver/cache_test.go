package deliver

import (
	"context"
	"errors"
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
