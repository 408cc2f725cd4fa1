//go:build unix && !linux

package emulator

import (
	"os/exec"
	"syscall"
)

// detach puts moto in its own process group, so stopping it also stops anything it forks.
// Without Linux's Pdeathsig, a test binary killed outright leaves moto running.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}
