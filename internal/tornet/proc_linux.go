package tornet

import "syscall"

// sysProcAttr makes the kernel SIGKILL a tor when the test process dies,
// even by SIGKILL, when nothing runs Close; --__OwningControllerProcess
// alone takes tor up to 15 s to notice. (Pdeathsig follows the OS thread
// that started the child, and Go keeps its threads alive unless a
// goroutine exits while locked to one, which this package never does.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
