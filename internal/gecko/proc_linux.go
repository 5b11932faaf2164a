package gecko

import "syscall"

// sysProcAttr puts Firefox in a process group of its own, which its helper
// processes inherit, so Close can kill what is left by that group; and
// makes the kernel SIGKILL Firefox when the test process dies, even by
// SIGKILL, when nothing runs Close. (Pdeathsig follows the OS thread that
// started the child; Go keeps its threads alive unless a goroutine exits
// while locked to one, which this package never does.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
