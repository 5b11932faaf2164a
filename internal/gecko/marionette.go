package gecko

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Marionette's wire protocol, as Firefox speaks it on its marionette.port
// (chrome://remote/content/marionette/{server,message,packets}.sys.mjs):
// every message is "<byte length>:<JSON>". The server greets with
// {"applicationType":"gecko","marionetteProtocol":3}; a command is
// [0, id, "Name", {parameters}] and its response [1, id, error, body],
// where error is null or {"error","message","stacktrace"}. Most commands
// wrap their result as {"value": …}; a few old ones (NewSession,
// GetElementRect, SetWindowRect, FindElements, Quit) return it bare.

// maxMessage bounds one message: a full-page screenshot of a long page at
// 1000 px, base64'd, is a few MiB.
const maxMessage = 256 << 20

// Error is an error that Marionette returned for a command.
type Error struct {
	Command string
	Code    string `json:"error"` // WebDriver error code, e.g. "no such element"
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("gecko: %s: %s: %s", e.Command, e.Code, e.Message)
}

// IsNoSuchElement reports whether err says an element was not found.
func IsNoSuchElement(err error) bool {
	var me *Error
	return errors.As(err, &me) && me.Code == "no such element"
}

// conn is one Marionette connection. Commands are sent one at a time.
type conn struct {
	mu   sync.Mutex
	c    net.Conn
	r    *bufio.Reader
	next uint32
}

// dialMarionette connects to addr and reads Firefox's greeting; it fails
// when what answers is not Marionette.
func dialMarionette(ctx context.Context, addr string) (*conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp4", addr)
	if err != nil {
		return nil, err
	}
	mc := &conn{c: c, r: bufio.NewReader(c)}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	} else {
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	}
	raw, err := mc.read()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("gecko: Marionette greeting: %w", err)
	}
	var hello struct {
		ApplicationType    string `json:"applicationType"`
		MarionetteProtocol int    `json:"marionetteProtocol"`
	}
	if err := json.Unmarshal(raw, &hello); err != nil || hello.ApplicationType != "gecko" || hello.MarionetteProtocol < 3 {
		c.Close()
		return nil, fmt.Errorf("gecko: %s does not greet like Marionette: %.200q", addr, raw)
	}
	_ = c.SetDeadline(time.Time{})
	return mc, nil
}

func (mc *conn) close() error { return mc.c.Close() }

// read reads one length-prefixed message.
func (mc *conn) read() ([]byte, error) {
	prefix, err := mc.r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(prefix[:len(prefix)-1])
	if err != nil || n < 0 || n > maxMessage {
		return nil, fmt.Errorf("bad message length %q", prefix)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(mc.r, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// call sends one command and decodes its response body into out (nil:
// ignored), within timeout. A late response to a command that timed out
// is skipped when it comes.
func (mc *conn) call(timeout time.Duration, name string, params any, out any) error {
	if params == nil {
		params = struct{}{}
	}
	mc.mu.Lock()
	defer mc.mu.Unlock()
	mc.next++
	id := mc.next
	msg, err := json.Marshal([]any{0, id, name, params})
	if err != nil {
		return fmt.Errorf("gecko: %s: %w", name, err)
	}
	_ = mc.c.SetDeadline(time.Now().Add(timeout))
	defer mc.c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(mc.c, "%d:%s", len(msg), msg); err != nil {
		return fmt.Errorf("gecko: %s: %w", name, err)
	}
	for {
		raw, err := mc.read()
		if err != nil {
			return fmt.Errorf("gecko: %s: %w", name, err)
		}
		var resp []json.RawMessage
		if err := json.Unmarshal(raw, &resp); err != nil || len(resp) != 4 {
			return fmt.Errorf("gecko: %s: malformed response %.200q", name, raw)
		}
		var typ int
		var rid uint32
		if json.Unmarshal(resp[0], &typ) != nil || json.Unmarshal(resp[1], &rid) != nil || typ != 1 {
			return fmt.Errorf("gecko: %s: malformed response %.200q", name, raw)
		}
		if rid != id {
			continue // the late answer to a command that timed out
		}
		if string(resp[2]) != "null" {
			e := &Error{Command: name}
			if err := json.Unmarshal(resp[2], e); err != nil {
				return fmt.Errorf("gecko: %s: malformed error %.200q", name, resp[2])
			}
			return e
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(resp[3], out); err != nil {
			return fmt.Errorf("gecko: %s: decoding %.200q: %w", name, resp[3], err)
		}
		return nil
	}
}

// value is the {"value": …} wrapper of most results.
type value[T any] struct {
	Value T `json:"value"`
}

// elementKey is the W3C WebDriver key of an element reference.
const elementKey = "element-6066-11e4-a52e-4f735466cecf"
