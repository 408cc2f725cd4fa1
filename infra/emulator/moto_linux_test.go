package emulator_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/wagate/wagate/infra/emulator"
)

// The kernel kills moto when the thread that started it ends (Pdeathsig), and a goroutine that
// ends locked to its thread takes the thread with it: moto must outlive both, as a test that
// starts it lazily, from a goroutine that ends, relies on.
func TestMotoOutlivesTheThreadThatStartedIt(t *testing.T) {
	python, script, err := emulator.FindMoto()
	if err != nil {
		t.Fatal(err)
	}
	var (
		srv *emulator.Moto
		tid int
	)
	onThreadThatEnds(func() {
		srv, err = emulator.StartMoto(python, script)
		tid = syscall.Gettid()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()

	// A thread's entry under /proc goes once the kernel has let its children know it ended.
	task := fmt.Sprintf("/proc/self/task/%d", tid)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(task); errors.Is(err, fs.ErrNotExist) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d that started moto did not end", tid)
		}
	}
	resp, err := http.Get(srv.URL + "/moto-api/")
	if err != nil {
		t.Fatalf("moto died with the thread that started it: %v", err)
	}
	resp.Body.Close()
}

// onThreadThatEnds runs f in a goroutine locked to its thread, which ends once f returns. The
// process's main thread never ends, only waits, so f runs on another one.
func onThreadThatEnds(f func()) {
	holdMain := make(chan struct{})
	defer close(holdMain)
	for {
		ran := make(chan bool)
		go func() {
			runtime.LockOSThread() // never unlocked but on the main thread: the thread ends with f
			if syscall.Gettid() == os.Getpid() {
				ran <- false
				<-holdMain // keep the main thread taken, so the next goroutine runs on another
				runtime.UnlockOSThread()
				return
			}
			f()
			ran <- true
		}()
		if <-ran {
			return
		}
	}
}
