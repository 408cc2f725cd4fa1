package awstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/wagate/wagate/shared/samtemplate"
)

const (
	// MotoServerEnv names the moto_server binary; `make test` sets it.
	MotoServerEnv = "WAGATE_MOTO_SERVER"
	// motoStartTimeout is generous: moto imports a lot of Python before it listens (~1 s).
	motoStartTimeout = 60 * time.Second
	// Another process can take the free port between our probe and moto's bind.
	motoStartAttempts = 3
)

type motoServer struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
	url    string
}

// findMotoServer returns $WAGATE_MOTO_SERVER, or the one `make tools` installs in the repo.
func findMotoServer() (string, error) {
	path := os.Getenv(MotoServerEnv)
	if path == "" {
		root, err := samtemplate.RepoRoot()
		if err != nil {
			return "", fmt.Errorf("find moto_server: %w", err)
		}
		path = filepath.Join(root, ".venv", "moto", "bin", "moto_server")
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("moto_server not found (%w): run `make tools` (or `make test`) at the repo root to install it, set %s to a moto_server binary, or set AWS_ENDPOINT_URL to a running DynamoDB/SQS endpoint", err, MotoServerEnv)
	}
	return path, nil
}

func startMoto(bin string) (*motoServer, error) {
	var errs []error
	for range motoStartAttempts {
		srv, err := startMotoOnce(bin)
		if err == nil {
			return srv, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func startMotoOnce(bin string) (*motoServer, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	// moto logs every request; keep that out of the test output but at hand when start fails.
	logFile, err := os.CreateTemp("", "moto-*.log")
	if err != nil {
		return nil, fmt.Errorf("create moto log: %w", err)
	}
	defer logFile.Close()

	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	detach(cmd)
	if err := cmd.Start(); err != nil {
		os.Remove(logFile.Name())
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	srv := &motoServer{
		cmd:    cmd,
		exited: make(chan struct{}),
		log:    logFile.Name(),
		url:    "http://127.0.0.1:" + strconv.Itoa(port),
	}
	go func() {
		_ = cmd.Wait()
		close(srv.exited)
	}()

	if err := srv.waitReady(); err != nil {
		out, _ := os.ReadFile(srv.log)
		srv.stop()
		return nil, fmt.Errorf("%w; moto output:\n%s", err, out)
	}
	return srv, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls until moto answers HTTP at all: it binds only once it can serve.
func (s *motoServer) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), motoStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/moto-api/", nil)
		if err != nil {
			return fmt.Errorf("moto readiness request: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("moto_server on %s exited before answering: %v", s.url, s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("moto_server on %s did not answer within %s", s.url, motoStartTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop kills moto's whole process group and waits for it to be gone.
func (s *motoServer) stop() {
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		fmt.Fprintf(os.Stderr, "awstest: kill moto_server: %v\n", err)
	}
	<-s.exited
	os.Remove(s.log)
}
