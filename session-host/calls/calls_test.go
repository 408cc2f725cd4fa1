package calls

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/outbox"
)

// fakeClient answers lookups as WhatsApp would, numbers starting 999 not on it, and records
// when each query came (by the test's fake clock).
type fakeClient struct {
	clock   *time.Time
	queries []time.Time
	numbers int
	err     error
}

func (f *fakeClient) IsOnWhatsApp(_ context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error) {
	f.queries = append(f.queries, *f.clock)
	f.numbers += len(phones)
	if f.err != nil {
		return nil, f.err
	}
	var out []types.IsOnWhatsAppResponse
	for _, p := range phones {
		d := strings.TrimPrefix(p, "+")
		out = append(out, types.IsOnWhatsAppResponse{Query: p, JID: types.NewJID(d, types.DefaultUserServer), IsIn: !strings.HasPrefix(d, "999")})
	}
	return out, nil
}

func (f *fakeClient) GetUserInfo(context.Context, []types.JID) (map[types.JID]types.UserInfo, error) {
	return nil, errors.New("not used")
}

func (f *fakeClient) GetProfilePictureInfo(context.Context, types.JID, *whatsmeow.GetProfilePictureParams) (*types.ProfilePictureInfo, error) {
	return nil, errors.New("not used")
}

func check(phones ...string) *outbox.Call {
	return &outbox.Call{Op: outbox.OpContactsCheck, Phones: phones}
}

func TestCheckCache(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	f := &fakeClient{clock: &now}
	gap := 3 * time.Second
	k := New(f, nil, func() time.Duration { return gap })

	steps := []struct {
		name    string
		at      time.Duration // since the start
		phones  []string
		queries int // lookups made so far
		numbers int // numbers looked up so far
	}{
		{"first check looks up", 0, []string{"6281234567890", "9991234567"}, 1, 2},
		{"the same numbers within the cache period: no lookup", time.Second, []string{"9991234567", "6281234567890"}, 1, 2},
		{"one new number among known ones: only it is looked up", 10 * time.Second, []string{"6281234567890", "6281234567891"}, 2, 3},
		{"a day later, still cached just before the period ends", CheckTTL - time.Second, []string{"6281234567890"}, 2, 3},
		{"at the end of the period: looked up again", CheckTTL + time.Second, []string{"6281234567890"}, 3, 4},
	}
	start := now
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			now = start.Add(s.at)
			res, err := k.Do(context.Background(), check(s.phones...), now)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			if len(f.queries) != s.queries || f.numbers != s.numbers {
				t.Errorf("lookups: %d queries of %d numbers, want %d of %d", len(f.queries), f.numbers, s.queries, s.numbers)
			}
			var got []outbox.CheckResult
			if err := json.Unmarshal(res.Data, &got); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(s.phones) {
				t.Fatalf("answered %d numbers, want %d", len(got), len(s.phones))
			}
			for i, p := range s.phones {
				on := !strings.HasPrefix(p, "999")
				if got[i].Phone != p || got[i].OnWhatsApp != on || (got[i].JID != nil) != on {
					t.Errorf("answer %d = %+v, want %s on WhatsApp %v", i, got[i], p, on)
				}
			}
		})
	}
}

// TestCheckPace checks 500 uncached numbers in calls of 50, as a client would, doing each call
// again when asked to wait: the lookups go no faster than one a gap of the pace.
func TestCheckPace(t *testing.T) {
	start := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	now := start
	f := &fakeClient{clock: &now}
	gap := 3 * time.Second // the default pace: 20 a minute
	k := New(f, nil, func() time.Duration { return gap })
	waits := 0
	for call := range 10 {
		phones := make([]string, 50)
		for i := range phones {
			phones[i] = fmt.Sprintf("628%010d", call*50+i)
		}
		for {
			_, err := k.Do(context.Background(), check(phones...), now)
			var w *WaitError
			if errors.As(err, &w) {
				waits++
				if !w.Until.After(now) {
					t.Fatalf("asked to wait until %v, not after now %v", w.Until, now)
				}
				now = w.Until
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if f.numbers != 500 || len(f.queries) != 10 {
		t.Fatalf("looked up %d numbers in %d queries, want 500 in 10", f.numbers, len(f.queries))
	}
	for i := 1; i < len(f.queries); i++ {
		if d := f.queries[i].Sub(f.queries[i-1]); d < gap {
			t.Errorf("query %d came %v after the one before, faster than the pace's %v", i, d, gap)
		}
	}
	if waits != 9 {
		t.Errorf("%d waits, want 9 (each call after the first waits its turn)", waits)
	}
	if total := f.queries[9].Sub(start); total < 9*gap {
		t.Errorf("500 numbers looked up in %v, faster than 9 gaps of %v", total, gap)
	}
	// A failed lookup takes its turn too: a client retrying at once is paced.
	f.err = errors.New("connection lost")
	_, err := k.Do(context.Background(), check("6289999999991"), now.Add(gap))
	if err == nil || errors.As(err, new(*WaitError)) {
		t.Fatalf("Do with a failing connection = %v, want its error", err)
	}
	_, err = k.Do(context.Background(), check("6289999999991"), now.Add(gap+time.Second))
	if !errors.As(err, new(*WaitError)) {
		t.Fatalf("Do right after a failed lookup = %v, want a wait", err)
	}
}
