package testproc

import (
	"os"
	"strconv"
	"strings"
	"sync"
)

// Alive reports whether pid exists and is not a zombie (Linux /proc).
func Alive(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}

// CappedBuffer keeps the first Max bytes written to it (a child's output,
// shown when it fails) and drops the rest.
type CappedBuffer struct {
	Max int
	mu  sync.Mutex
	buf []byte
}

func (c *CappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.Max - len(c.buf); room > 0 {
		c.buf = append(c.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (c *CappedBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}
