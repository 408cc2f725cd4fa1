package sendcheck_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/wagate/wagate/infra/wasim"
	"github.com/wagate/wagate/shared/outbox"
)

// outage fails, while on, every DynamoDB call of one SDK config that touches table, as an
// unreachable or throttled table does; the rest of the config's calls (leases, device keys)
// go through.
type outage struct {
	table  string
	on     atomic.Bool
	failed atomic.Int64
}

func (o *outage) config(cfg aws.Config) aws.Config {
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, func(s *middleware.Stack) error {
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("outage",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if o.on.Load() && touches(in.Parameters, o.table) {
					o.failed.Add(1)
					time.Sleep(10 * time.Millisecond) // a failing call is not free
					return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "injected outage"}
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	})
	return cfg
}

// touches reports whether a DynamoDB input names table.
func touches(params any, table string) bool {
	if in, ok := params.(*dynamodb.BatchGetItemInput); ok {
		_, found := in.RequestItems[table]
		return found
	}
	v := reflect.ValueOf(params)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	f := v.Elem().FieldByName("TableName")
	return f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().String() == table
}

// Accepted means sent: 1,000 messages over 20 chats accepted through the API while the host
// sending them is killed mid-drain and another takes the lease over, under which the outbox's
// table then fails for a while. Every message reaches WhatsApp, none under an id the API did
// not give, each chat in accept order, and every record ends sent or later. (One run for both
// failures: the emulator takes about a minute and a half for a thousand messages.)
func TestConservation(t *testing.T) {
	const total, chats, writers = 1000, 20, 4
	r := newRig(t, wasim.Options{Delivered: time.Hour}) // receipts: the sender's own tests
	first := r.startHost("host-a", r.awsCfg, &fastClock{})
	account := r.linkedInstance("inst_conserve", "6283800000001")
	out := &outage{table: r.res.Table("OutboxTable")}
	second := r.startHost("host-b", out.config(r.awsCfg), &fastClock{})

	// Four writers accept at once, each for chats of its own, so each chat's accept
	// order is the order its writer was answered in.
	accepted := make([][]string, chats) // chat → message ids in accept order
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < total; i += writers {
				chat := i % chats // i ≡ w (mod writers), and writers divides chats
				body := fmt.Sprintf(`{"to":"62813%08d","type":"text","text":{"body":"message %d to chat %d"}}`, chat+1, i, chat)
				code, m := r.send("inst_conserve", body, "", 0)
				if code != 202 || m.Status != string(outbox.StatusQueued) {
					t.Errorf("accept %d: %d %s", i, code, m.Status)
					return
				}
				accepted[chat] = append(accepted[chat], m.MessageID)
			}
		})
	}

	// Kill the first host once it has sent a quarter; the second takes the lease when
	// it ends.
	// The pace depends on the machine's load: a wait fails only when sending stops.
	sentSoFar := func() int { return len(r.network.Sent(account)) }
	waitForProgress(t, time.Minute, "messages sent by the first host", 250, sentSoFar)
	first.kill()
	killedAt := sentSoFar()
	// The second host starts once the killed host's lease expires.
	waitForProgress(t, 2*time.Minute, "messages sent once the second host took over", killedAt+100, sentSoFar)
	out.on.Store(true)
	time.Sleep(2 * time.Second)
	out.on.Store(false)
	if out.failed.Load() == 0 {
		t.Fatal("the outage failed no call")
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	want := map[string]int{} // message id → its chat
	for chat, ids := range accepted {
		for _, id := range ids {
			want[id] = chat
		}
	}
	if len(want) != total {
		t.Fatalf("%d distinct message ids accepted, want %d", len(want), total)
	}
	waitForProgress(t, 2*time.Minute, "accepted messages on WhatsApp", len(want), func() int {
		_, count := r.sentIDs(account)
		n := 0
		for id := range want {
			if count[id] > 0 {
				n++
			}
		}
		return n
	})
	sent, count := r.sentIDs(account)
	order := make([][]string, chats) // chat → first arrivals
	resent := 0
	seen := map[string]bool{}
	for _, s := range sent {
		chat, ok := want[s.ID]
		if !ok {
			t.Fatalf("WhatsApp got message %s, an id the API never gave", s.ID)
		}
		if want := fmt.Sprintf("62813%08d", chat+1); s.Chat.User != want {
			t.Fatalf("message %s went to %s, want %s", s.ID, s.Chat, want)
		}
		if seen[s.ID] {
			resent++
			continue
		}
		seen[s.ID] = true
		order[chat] = append(order[chat], s.ID)
	}
	for chat := range chats {
		if !slices.Equal(order[chat], accepted[chat]) {
			t.Fatalf("chat %d reached WhatsApp in another order than it was accepted in:\n got %v\nwant %v", chat, order[chat], accepted[chat])
		}
	}
	// A resend is the same message to the recipient (same id): only those whose ack
	// the killed host had not written yet, or whose write the outage cut off.
	t.Logf("%d messages, %d sent again under their own id (%d sent when the first host was killed; %d calls failed by the outage)",
		total, resent, killedAt, out.failed.Load())
	for id, n := range count {
		if n > 3 {
			t.Errorf("message %s reached WhatsApp %d times", id, n)
		}
	}
	waitFor(t, time.Minute, "every record sent or later", func() bool {
		for id := range want {
			rec, err := r.outbox.Get(r.ctx, "inst_conserve", id)
			if err != nil || rec.Status.Pending() || rec.Status == outbox.StatusFailed {
				return false
			}
		}
		return true
	})
	// The second host sent the rest: it holds the instance now.
	if st, err := r.instances.GetSession(r.ctx, "inst_conserve"); err != nil || second.main.Config.HostID != "host-b" || st.DeviceJID == "" {
		t.Fatalf("session %+v, %v", st, err)
	}
}
