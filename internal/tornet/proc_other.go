//go:build !linux

package tornet

import "syscall"

// sysProcAttr: only Linux has Pdeathsig; elsewhere tor's
// --__OwningControllerProcess is what stops an orphaned tor.
func sysProcAttr() *syscall.SysProcAttr { return nil }
