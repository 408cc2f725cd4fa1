package host

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"

	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// pairerFunc counts its calls per instance.
type pairerFunc struct {
	mu    sync.Mutex
	calls map[string]int
	pair  func(id, phone string) (string, error)
}

func (p *pairerFunc) Pair(_ context.Context, id, phone string) (string, error) {
	p.mu.Lock()
	p.calls[id]++
	p.mu.Unlock()
	return p.pair(id, phone)
}

func (p *pairerFunc) callsOf(id string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[id]
}

// pollCounter counts a watcher's polls: its reads of the pending requests.
type pollCounter struct {
	PairingStore
	polls atomic.Int32
}

func (p *pollCounter) PendingPairings(ctx context.Context, host string) ([]store.PairRequest, error) {
	defer p.polls.Add(1)
	return p.PairingStore.PendingPairings(ctx, host)
}

func (p *pollCounter) count() int32 { return p.polls.Load() }

// The watcher answers each request addressed to its host once, through the real store: the
// code, a coded error as it is, and an internal error as a generic message.
func TestPairingWatcherAnswersItsHostsRequests(t *testing.T) {
	r := newHostRig(t)
	instances := r.instances
	ctx, stop := context.WithCancel(r.ctx)
	defer stop()
	now := time.Now()
	answers := map[string]struct {
		code, err, errCode string
	}{
		"inst_pair_ok":        {code: "ABCD-1234"},
		"inst_pair_offline":   {err: "the session is not connected to WhatsApp yet; try again in a few seconds", errCode: webhook.EConflict},
		"inst_pair_internal":  {err: "WhatsApp gave no pairing code; try again", errCode: webhook.EUnavailable},
		"inst_pair_elsewhere": {},
	}
	for id := range answers {
		r.createInstances(id)
		owner := "host-p"
		if id == "inst_pair_elsewhere" {
			owner = "host-other"
		}
		if ok, err := instances.AcquireLease(ctx, id, owner, now, time.Hour); err != nil || !ok {
			t.Fatalf("lease %s: %v %v", id, ok, err)
		}
		if err := instances.RequestPairing(ctx, store.PairRequest{InstanceID: id, RequestID: "req-" + id, Phone: "6281234567890"}, now); err != nil {
			t.Fatal(err)
		}
	}
	pairer := &pairerFunc{calls: map[string]int{}, pair: func(id, phone string) (string, error) {
		switch id {
		case "inst_pair_ok":
			return "ABCD-1234", nil
		case "inst_pair_offline":
			return "", webhook.Errorf(webhook.EConflict, "the session is not connected to WhatsApp yet; try again in a few seconds")
		}
		return "", errors.New("pair: websocket to 10.1.2.3 closed")
	}}
	var logs bytes.Buffer
	polls := &pollCounter{PairingStore: instances}
	w := NewPairingWatcher("host-p", polls, pairer, 20*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		w.Run(ctx)
	}()

	for id, want := range answers {
		t.Run(id, func(t *testing.T) {
			if id == "inst_pair_elsewhere" {
				return // checked below, once the others are answered
			}
			var got store.PairAnswer
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				var err error
				if got, err = instances.GetPairAnswer(ctx, id); err != nil {
					t.Fatal(err)
				}
				if got.RequestID != "" {
					break
				}
			}
			if got != (store.PairAnswer{RequestID: "req-" + id, Code: want.code, Error: want.err, ErrorCode: want.errCode}) {
				t.Fatalf("answer %+v, want %+v", got, want)
			}
		})
	}
	// A few more polls, then the watcher stops once what they started is done: a request asked
	// of WhatsApp again at any of them shows.
	for more, deadline := polls.count()+3, time.Now().Add(10*time.Second); polls.count() < more; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the watcher stopped polling")
		}
	}
	stop()
	<-ran
	for id := range answers {
		want := 1
		if id == "inst_pair_elsewhere" {
			want = 0 // another host's request
		}
		if got := pairer.callsOf(id); got != want {
			t.Errorf("%s: WhatsApp asked %d times, want %d", id, got, want)
		}
	}
	if !strings.Contains(logs.String(), "10.1.2.3") {
		t.Error("the internal error was not logged")
	}
}

// stuckIndex lists the same requests on every poll, as a lagging index may.
type stuckIndex struct {
	reqs    []store.PairRequest
	mu      sync.Mutex
	answers map[string]int
}

func (s *stuckIndex) PendingPairings(context.Context, string) ([]store.PairRequest, error) {
	return s.reqs, nil
}

func (s *stuckIndex) AnswerPairing(_ context.Context, id string, _ store.PairAnswer) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[id]++
	return s.answers[id] == 1, nil
}

func (s *stuckIndex) answersOf(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answers[id]
}

// A request the index still lists after it was answered is not sent to WhatsApp again: a
// second code would void the first one the customer is typing in.
func TestPairingWatcherAsksWhatsAppOncePerRequest(t *testing.T) {
	idx := &stuckIndex{reqs: []store.PairRequest{{InstanceID: "inst_1", RequestID: "r1", Phone: "6281234567890"}}, answers: map[string]int{}}
	pairer := &pairerFunc{calls: map[string]int{}, pair: func(string, string) (string, error) { return "ABCD-1234", nil }}
	w := NewPairingWatcher("h", idx, pairer, time.Millisecond, quietLogger)
	for range 5 {
		w.answerPending(context.Background())
		w.inFlight.Wait()
	}
	if pairer.callsOf("inst_1") != 1 || idx.answersOf("inst_1") != 1 {
		t.Fatalf("asked WhatsApp %d times, answered %d times", pairer.callsOf("inst_1"), idx.answersOf("inst_1"))
	}
}

// A request WhatsApp is slow to answer holds no other back: the API waits 20 s for each.
func TestPairingWatcherAnswersEachRequestAsItComes(t *testing.T) {
	idx := &stuckIndex{reqs: []store.PairRequest{
		{InstanceID: "inst_slow", RequestID: "r1", Phone: "6281234567890"},
		{InstanceID: "inst_quick", RequestID: "r2", Phone: "6281234567891"},
	}, answers: map[string]int{}}
	release := make(chan struct{})
	pairer := &pairerFunc{calls: map[string]int{}, pair: func(id, _ string) (string, error) {
		if id == "inst_slow" {
			<-release
		}
		return "ABCD-1234", nil
	}}
	w := NewPairingWatcher("h", idx, pairer, time.Millisecond, quietLogger)
	w.answerPending(context.Background())
	for deadline := time.Now().Add(5 * time.Second); idx.answersOf("inst_quick") == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the quick request waited for the slow one")
		}
	}
	close(release)
	w.inFlight.Wait()
	if idx.answersOf("inst_slow") != 1 {
		t.Fatal("the slow request was not answered")
	}
}

// Sessions.Pair refuses, with a message a client may see, what WhatsApp could not pair.
func TestSessionsPairRefusesWhatCannotPair(t *testing.T) {
	r := newHostRig(t)
	ctx := r.ctx
	sessions := r.sessions()
	sessions.dial = func(Client) error { return nil } // never connected, as offline
	defer sessions.StopAll()
	r.createInstances("inst_unpaired", "inst_paired")
	r.pair("inst_paired", types.JID{User: "6283333", Device: 4, Server: types.DefaultUserServer})
	for _, id := range []string{"inst_unpaired", "inst_paired"} {
		if err := sessions.Start(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct{ id, inMsg string }{
		{"inst_not_here", "not running"},
		{"inst_unpaired", "not connected to WhatsApp"},
		{"inst_paired", "already paired"},
	} {
		t.Run(tt.id, func(t *testing.T) {
			_, err := sessions.Pair(ctx, tt.id, "6281234567890")
			if webhook.ErrorCode(err) != webhook.EConflict || !strings.Contains(webhook.ErrorMessage(err), tt.inMsg) {
				t.Fatalf("got %v, want a conflict saying %q", err, tt.inMsg)
			}
		})
	}

	// A connection that got its QR codes too long ago has too little time left for a code:
	// the session renews it, and the client is told to ask again.
	sessions.replacePause = time.Millisecond
	unpaired, _ := sessions.current("inst_unpaired")
	for _, tt := range []struct {
		name     string
		firstQR  time.Time
		replaced bool
	}{
		{"codes shown, connection dropped since", time.Now(), false},
		{"codes shown too long ago", time.Now().Add(-pairWindow - time.Second), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			unpaired.firstQR.Store(tt.firstQR.UnixMilli())
			_, err := sessions.Pair(ctx, "inst_unpaired", "6281234567890")
			if webhook.ErrorCode(err) != webhook.EUnavailable || !strings.Contains(webhook.ErrorMessage(err), "try again") {
				t.Fatalf("got %v, want unavailable, try again", err)
			}
			sessions.replacements.Wait() // a replacement Pair started has run
			if replaced := !sessions.isCurrent("inst_unpaired", unpaired); replaced != tt.replaced {
				t.Fatalf("replaced %v, want %v", replaced, tt.replaced)
			}
		})
	}
}

// Every client acks WhatsApp only after its handlers, and keeps the plaintext of what it
// decrypted until then, so a message sent again after a failed ack is not lost; and it stops
// everything of its own with its session.
func TestSessionsClientsAckAfterTheQueue(t *testing.T) {
	r := newHostRig(t)
	r.createInstances("inst_acks")
	sess, err := r.sessions().newSession(r.ctx, "inst_acks")
	if err != nil {
		t.Fatal(err)
	}
	client, ok := sess.client.(*whatsmeow.Client)
	if !ok {
		t.Fatalf("the host's client is a %T, not whatsmeow's", sess.client)
	}
	if !client.SynchronousAck || !client.EnableDecryptedEventBuffer {
		t.Fatalf("SynchronousAck %v, EnableDecryptedEventBuffer %v", client.SynchronousAck, client.EnableDecryptedEventBuffer)
	}
	// whatsmeow's own reconnects run on the session's context, so a stopped session cannot
	// connect again behind the lease's back.
	sess.cancel()
	if client.BackgroundEventCtx.Err() == nil {
		t.Fatal("whatsmeow's background context outlives the session")
	}
}
