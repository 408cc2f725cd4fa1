package emulator

import (
	"os/exec"
	"syscall"
)

// detach puts moto in its own process group, so stopping it also stops anything it forks,
// and has the kernel kill it when the test binary dies in a way no deferred call survives
// (a panicking test, -timeout, os.Exit in a test). Pdeathsig follows the thread that started
// moto, which is why StartMoto starts it from a goroutine locked to a thread of its own.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
