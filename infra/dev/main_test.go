package main

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wagate/wagate/infra/emulator"
)

// devProcess is `make dev`'s binary running as a user runs it.
type devProcess struct {
	cmd     *exec.Cmd
	motoURL chan string
	exited  chan error
}

func buildDev(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wagate-dev")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

var endpointLine = regexp.MustCompile(`AWS endpoint\s+(http://\S+)`)

func startDev(t *testing.T, bin, addr string) *devProcess {
	t.Helper()
	python, _, err := emulator.FindMoto()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_ENDPOINT_URL=") { // start its own moto, as on a laptop
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "WAGATE_ADDR="+addr, "WAGATE_API_KEY=k-123", emulator.MotoPythonEnv+"="+python,
		"WAGATE_STATE_FILE="+filepath.Join(t.TempDir(), "dev.env"))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd, motoURL: make(chan string, 1), exited: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := endpointLine.FindStringSubmatch(sc.Text()); m != nil {
				p.motoURL <- m[1]
			}
		}
	}()
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return p
}

// emulatorURL is the AWS endpoint the process printed in its banner.
func (p *devProcess) emulatorURL(t *testing.T) string {
	t.Helper()
	select {
	case url := <-p.motoURL:
		return url
	case <-time.After(30 * time.Second):
		t.Fatal("the banner named no AWS endpoint")
		return ""
	}
}

// waitHealthy polls /healthz until it answers 200.
func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	for range 600 {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never became healthy", addr)
}

func answers(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url + "/moto-api/")
	if err == nil {
		resp.Body.Close()
	}
	return err == nil
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// A run killed outright takes its emulator with it, the next run on the same port works, and
// SIGTERM stops everything, leaving no process behind.
func TestUncleanStopThenRestartThenSIGTERM(t *testing.T) {
	bin := buildDev(t)
	addr := freeAddr(t)

	first := startDev(t, bin, addr)
	waitHealthy(t, addr)
	firstMoto := first.emulatorURL(t)
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	for i := 0; answers(firstMoto); i++ {
		if i == 100 {
			t.Fatal("the emulator of a killed run is still running")
		}
		time.Sleep(100 * time.Millisecond)
	}

	second := startDev(t, bin, addr)
	waitHealthy(t, addr)
	secondMoto := second.emulatorURL(t)
	req, _ := http.NewRequest("POST", "http://"+addr+"/api/instance", strings.NewReader(`{"instanceId":"inst_after"}`))
	req.Header.Set("X-API-Key", "k-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("create after restart: %v %v", err, resp)
	}
	resp.Body.Close()

	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-second.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("did not exit after SIGTERM")
	}
	if answers(secondMoto) {
		t.Fatal("the emulator outlived the stack")
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("the API still answers")
	}
}
