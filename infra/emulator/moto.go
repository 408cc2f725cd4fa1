// Package emulator runs the AWS emulator wagate's tests and local stack use: moto's server as
// infra/moto/serve.py starts it, on a free loopback port, stopped with its whole process group.
package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/wagate/wagate/infra/samtemplate"
)

const (
	// MotoPythonEnv names the Python of moto's virtualenv; `make test` sets it.
	MotoPythonEnv = "WAGATE_MOTO_PYTHON"
	// motoStartTimeout is generous: moto imports a lot of Python before it listens (~1 s).
	motoStartTimeout = 60 * time.Second
	// Another process can take the free port between our probe and moto's bind.
	motoStartAttempts = 3
)

// Moto is a running infra/moto/serve.py: moto's server with DynamoDB writes applied one at a
// time, as real DynamoDB applies them.
type Moto struct {
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
	// URL is the endpoint, http://127.0.0.1:<port>.
	URL string
}

// FindMoto returns the Python that runs moto ($WAGATE_MOTO_PYTHON, or the virtualenv
// `make tools` installs in the repo) and the launcher script.
func FindMoto() (python, script string, err error) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		return "", "", fmt.Errorf("find moto: %w", err)
	}
	script = filepath.Join(root, "infra", "moto", "serve.py")
	python = os.Getenv(MotoPythonEnv)
	if python == "" {
		python = filepath.Join(root, ".venv", "moto", "bin", "python")
	}
	if _, err := os.Stat(python); err != nil {
		return "", "", fmt.Errorf("moto's virtualenv not found (%w): run `make tools` (or `make test`) at the repo root to install it, set %s to its python, or set AWS_ENDPOINT_URL to a running DynamoDB/SQS endpoint", err, MotoPythonEnv)
	}
	return python, script, nil
}

// StartMoto starts moto with python running script (see FindMoto) and waits until it answers.
// On Linux the kernel kills moto when the thread that started it ends (see detach), and the Go
// runtime ends threads of its own accord; so moto is started from a goroutine locked to its
// thread until moto exits, and lives until Stop or the end of this process, whichever
// goroutine called StartMoto.
func StartMoto(python, script string) (*Moto, error) {
	type started struct {
		srv *Moto
		err error
	}
	result := make(chan started)
	go func() {
		// Never unlocked: the thread ends with this goroutine, once moto has exited.
		runtime.LockOSThread()
		var errs []error
		for range motoStartAttempts {
			srv, err := startMotoOnce(python, script)
			if err == nil {
				result <- started{srv: srv}
				<-srv.exited
				return
			}
			errs = append(errs, err)
		}
		result <- started{err: errors.Join(errs...)}
	}()
	r := <-result
	return r.srv, r.err
}

func startMotoOnce(python, script string) (*Moto, error) {
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

	cmd := exec.Command(python, script, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	detach(cmd)
	if err := cmd.Start(); err != nil {
		os.Remove(logFile.Name())
		return nil, fmt.Errorf("start %s: %w", script, err)
	}
	srv := &Moto{
		cmd:    cmd,
		exited: make(chan struct{}),
		log:    logFile.Name(),
		URL:    "http://127.0.0.1:" + strconv.Itoa(port),
	}
	go func() {
		_ = cmd.Wait()
		close(srv.exited)
	}()

	if err := srv.waitReady(); err != nil {
		out, _ := os.ReadFile(srv.log)
		srv.Stop()
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
func (s *Moto) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), motoStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
		if err != nil {
			return fmt.Errorf("moto readiness request: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("moto_server on %s exited before answering: %v", s.URL, s.cmd.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("moto_server on %s did not answer within %s", s.URL, motoStartTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop kills moto's whole process group and waits for it to be gone.
func (s *Moto) Stop() {
	if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		fmt.Fprintf(os.Stderr, "emulator: kill moto: %v\n", err)
	}
	<-s.exited
	os.Remove(s.log)
}

// HTTPClient is the HTTP client for AWS SDK calls to the emulator. moto's server closes idle
// connections without telling the client, and a request written to such a connection fails
// with its response lost, after the emulator may have applied it; the SDK then sends the write
// again. Without keep-alive every request gets a fresh loopback connection and is sent once.
func HTTPClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DisableKeepAlives = true
	})
}
