package host

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	embeddedpostgres "github.com/fergusstrange/embedded-postgres"
)

// nobody is the user a test runs Postgres as when it runs as root, which Postgres refuses.
const nobody = 65534

// startPostgres runs a throwaway Postgres server, its binaries fetched once from Maven Central
// (the zonky builds embedded-postgres uses), and answers its DSN.
func startPostgres(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "wagate-pg-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint32(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	cfg := embeddedpostgres.DefaultConfig().Version(embeddedpostgres.V16).Port(port).
		RuntimePath(filepath.Join(dir, "run")).BinariesPath(filepath.Join(dir, "pg")).
		DataPath(filepath.Join(dir, "data")).Logger(nil)
	db := embeddedpostgres.NewDatabase(cfg)
	if os.Geteuid() != 0 {
		if err := db.Start(); err != nil {
			t.Fatalf("start postgres: %v", err)
		}
		t.Cleanup(func() { db.Stop() })
		return cfg.GetConnectionURL() + "?sslmode=disable"
	}

	// As root, Start fetches and unpacks the binaries, then initdb refuses to run; the
	// server is set up here instead, as nobody.
	_ = db.Start()
	bin := filepath.Join(dir, "pg", "bin")
	if _, err := os.Stat(filepath.Join(bin, "initdb")); err != nil {
		t.Fatalf("postgres binaries were not fetched: %v", err)
	}
	data, sock := filepath.Join(dir, "nobody-data"), filepath.Join(dir, "sock")
	for _, d := range []string{data, sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	asNobody := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
	}
	asNobody("initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C")
	asNobody("pg_ctl", "start", "-w", "-D", data, "-l", filepath.Join(sock, "log"),
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1", port, sock))
	t.Cleanup(func() {
		cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "stop", "-m", "immediate", "-D", data)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		cmd.Run()
	})
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
}
