package host

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/shared/queue"
	"github.com/wagate/wagate/shared/webhook"
)

// cuttableLink is a TCP proxy to the emulator that can be cut, as a network outage would:
// open connections drop and new ones are refused until it is mended.
type cuttableLink struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newCuttableLink(t *testing.T, target string) *cuttableLink {
	l := &cuttableLink{t: t, target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	l.mend()
	t.Cleanup(l.cut)
	return l
}

func (l *cuttableLink) mend() {
	l.mu.Lock()
	defer l.mu.Unlock()
	ln, err := net.Listen("tcp", l.addr)
	if err != nil {
		l.t.Fatalf("mend link: %v", err)
	}
	l.ln, l.addr = ln, ln.Addr().String()
	go l.serve(ln)
}

func (l *cuttableLink) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
		l.ln = nil
	}
	for c := range l.conns {
		c.Close()
	}
	clear(l.conns)
}

func (l *cuttableLink) serve(ln net.Listener) {
	for {
		in, err := ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", l.target)
		if err != nil {
			in.Close()
			continue
		}
		l.mu.Lock()
		if l.ln != ln { // cut meanwhile
			l.mu.Unlock()
			in.Close()
			out.Close()
			return
		}
		l.conns[in], l.conns[out] = true, true
		l.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// whatsappMessages turns int n into one message whose WhatsApp timestamp and id stay the same
// on every redelivery, as a real message's do.
func whatsappMessages(evt any) []Event {
	n, ok := evt.(int)
	if !ok {
		return nil
	}
	data, _ := json.Marshal(map[string]string{"key": burstKey(n)})
	at := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Millisecond)
	return []Event{{Name: webhook.EventMessageReceived, Data: data, Key: burstKey(n), At: at, Redelivered: true}}
}

// SQS unreachable for a while, through a real cut connection: the handler reports failure for
// what arrives meanwhile, so WhatsApp keeps those messages; once SQS is back, every message is
// on the queue, and none more often than WhatsApp handed it over.
func TestSQSOutageLosesNothing(t *testing.T) {
	awsCfg := awstest.Config(t)
	res := awstest.Stack(t)
	queueURL := res.QueueURL("EventsQueue")
	emulator, err := url.Parse(aws.ToString(awsCfg.BaseEndpoint))
	if err != nil {
		t.Fatal(err)
	}
	link := newCuttableLink(t, emulator.Host)
	viaLink := awsCfg.Copy()
	viaLink.BaseEndpoint = aws.String("http://" + link.addr)
	batcher := queue.NewBatcher(queue.NewPublisher(sqs.NewFromConfig(viaLink), queueURL), 20*time.Millisecond)
	defer batcher.Close()
	sink := NewSink(context.Background(), "inst_outage", whatsappMessages, batcher, quietLogger)

	var mu sync.Mutex
	handed := map[int]int{} // how often WhatsApp handed each message over
	acked := map[int]bool{}
	deliver := func(ns ...int) {
		var wg sync.WaitGroup
		for _, n := range ns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok := sink.Handle(n)
				mu.Lock()
				handed[n]++
				acked[n] = acked[n] || ok
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	span := func(from, to int) []int {
		var ns []int
		for n := from; n < to; n++ {
			ns = append(ns, n)
		}
		return ns
	}

	deliver(span(0, 20)...)
	link.cut()
	deliver(span(20, 40)...)
	for n := 20; n < 40; n++ {
		if acked[n] {
			t.Fatalf("message %d acked while SQS was unreachable", n)
		}
	}
	// Messages keep coming while the link is mended, part way through: the publisher's retries
	// with backoff carry those that came shortly before across the gap.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 40; n < 80; n += 5 {
			deliver(span(n, n+5)...)
		}
	}()
	time.Sleep(300 * time.Millisecond)
	link.mend()
	wg.Wait()
	failedDuringMend := 0
	for n := 40; n < 80; n++ {
		if !acked[n] {
			failedDuringMend++
		}
	}
	t.Logf("of the 40 messages that came around the mend, %d were refused and left to WhatsApp", failedDuringMend)
	// WhatsApp redelivers what was not acked until it is.
	for round := 0; ; round++ {
		var unacked []int
		for n := range 80 {
			if !acked[n] {
				unacked = append(unacked, n)
			}
		}
		if len(unacked) == 0 {
			break
		}
		if round == 5 {
			t.Fatalf("still unacked with SQS back: %v", unacked)
		}
		deliver(unacked...)
	}

	onQueue := drainQueue(t, sqs.NewFromConfig(awsCfg), queueURL)
	for n := range 80 {
		got := onQueue[burstKey(n)]
		if got == 0 || got > handed[n] {
			t.Errorf("message %d: %d copies on the queue, handed over %d times", n, got, handed[n])
		}
	}
	if len(onQueue) != 80 {
		t.Errorf("%d distinct messages on the queue, want 80", len(onQueue))
	}
}
