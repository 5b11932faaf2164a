package onion

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Filesystem magic numbers of RAM-backed filesystems (statfs(2)).
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// ramDir creates a fresh 0700 directory on a RAM-backed filesystem for
// tor's copy of the onion keys and the unix sockets, after removing the
// directories of earlier tropa processes that no longer run (a SIGKILL
// leaves one behind).
func ramDir() (string, error) {
	var tried []string
	for _, base := range []string{"/dev/shm", os.Getenv("XDG_RUNTIME_DIR"), "/run/user/" + strconv.Itoa(os.Getuid())} {
		if base == "" {
			continue
		}
		tried = append(tried, base)
		var st syscall.Statfs_t
		if err := syscall.Statfs(base, &st); err != nil {
			continue
		}
		if st.Type != tmpfsMagic && st.Type != ramfsMagic {
			continue
		}
		removeStale(base)
		dir, err := os.MkdirTemp(base, fmt.Sprintf("tropa-%d-", os.Getpid()))
		if err != nil {
			continue
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			os.RemoveAll(dir)
			return "", err
		}
		return dir, nil
	}
	return "", errors.New("no RAM-backed filesystem found for the onion keys (tried " + strings.Join(tried, ", ") +
		"): tropa does not write onion keys to persistent disk; mount a tmpfs on /dev/shm")
}

func removeStale(base string) {
	matches, _ := filepath.Glob(filepath.Join(base, "tropa-*-*"))
	for _, m := range matches {
		parts := strings.SplitN(filepath.Base(m), "-", 3)
		pid, err := strconv.Atoi(parts[1])
		if err != nil || pid == os.Getpid() {
			continue
		}
		fi, err := os.Stat(m)
		if err != nil || !fi.IsDir() {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(m)
		}
	}
}
