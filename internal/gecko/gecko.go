// Package gecko is a test harness that drives Debian's firefox-esr — the
// engine under Tor Browser — headless, with a profile that approximates Tor
// Browser at the "Safest" security level (JavaScript, SVG, MathML, WebGL and
// remote fonts off, resistFingerprinting and letterboxing on, every request
// through a Tor client's SOCKS port with remote DNS, no background
// connections). It speaks Marionette, Firefox's own remote protocol, on
// 127.0.0.1, so no geckodriver is needed: it opens pages, reads their
// source and elements, types and clicks, takes full-page screenshots and
// prints to PDF.
//
// It owns the Firefox process, every process Firefox starts, and every file
// Firefox writes (a fresh profile, HOME and TMPDIR under one temporary
// directory), and removes them on Close, by PID. The profile lives in
// testdata/ (derived from shared/tools/tor-browser-safest.user.js.in).
//
// Like internal/browser, it must never let a test reach beyond 127.0.0.1:
// the profile sends everything through the SOCKS port and switches off
// Firefox's own connections, and every test that uses it calls
// RequireLoopbackOnly first, so that it runs only inside a loopback-only
// network namespace (`make test` makes one).
package gecko

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tropa/internal/testproc"
)

//go:embed testdata/tor-browser-safest.user.js.in
var profileTemplate string

// Timeouts. A page of tropa over the private Tor network loads in well
// under a second; these only keep a stuck browser from eating the whole
// test timeout. A navigation may wait for a fresh onion circuit.
const (
	startTimeout    = 60 * time.Second
	stepTimeout     = 30 * time.Second
	navigateTimeout = 90 * time.Second
	quitWait        = 5 * time.Second
)

// ExecPath is Debian's firefox-esr: the real binary (/usr/bin/firefox-esr
// is a symlink to it).
func ExecPath() (string, error) {
	for _, p := range []string{"/usr/lib/firefox-esr/firefox-esr", "/usr/bin/firefox-esr"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("gecko: firefox-esr is not installed: run 'apt-get install -y firefox-esr' as root (make test and .ci/run do)")
}

// Profile returns the user.js text for a Firefox that proxies everything
// to the SOCKS5 port socksPort on 127.0.0.1 and listens for Marionette on
// marionettePort.
func Profile(socksPort, marionettePort int) string {
	r := strings.NewReplacer("@SOCKSPORT@", strconv.Itoa(socksPort), "@MARIONETTEPORT@", strconv.Itoa(marionettePort))
	return r.Replace(profileTemplate)
}

// Options configure Start.
type Options struct {
	// SocksAddr is the Tor client's SOCKS port, "127.0.0.1:P": every
	// request of the browser goes there, host names unresolved.
	SocksAddr string
	// Prefs are extra user_pref lines appended to the profile, e.g.
	// `user_pref("ui.prefersReducedMotion", 1);`.
	Prefs []string
}

// Browser is one headless Firefox with one tab, driven over Marionette.
// Its methods act on that tab and must not be called concurrently.
type Browser struct {
	dir     string // temporary: profile/, home/, tmp/
	profile string
	cmd     *exec.Cmd
	done    chan struct{} // closed once cmd.Wait returned
	output  *testproc.CappedBuffer
	mc      *conn

	// windows maps a viewport size to a window size that gave it.
	windows map[[2]int][2]int

	closeOnce sync.Once
	closeErr  error
}

// Element is a reference to an element of the current page.
type Element struct {
	b  *Browser
	ID string
}

// New starts Firefox for the test and closes it when the test ends. It
// fails the test when Firefox cannot start.
func New(tb testing.TB, o Options) *Browser {
	tb.Helper()
	b, err := Start(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Error(err)
		}
	})
	return b
}

// Start starts a headless Firefox with a fresh copy of the profile and
// opens a Marionette session. The caller must Close it. On failure it
// leaves nothing behind and returns an error with Firefox's output.
func Start(o Options) (*Browser, error) {
	exe, err := ExecPath()
	if err != nil {
		return nil, err
	}
	host, portStr, err := net.SplitHostPort(o.SocksAddr)
	socksPort, perr := strconv.Atoi(portStr)
	if err != nil || perr != nil || host != "127.0.0.1" || socksPort <= 0 || socksPort > 65535 {
		return nil, fmt.Errorf("gecko: SocksAddr %q: want 127.0.0.1:PORT", o.SocksAddr)
	}
	mport, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tropa-gecko-")
	if err != nil {
		return nil, err
	}
	b := &Browser{dir: dir, profile: filepath.Join(dir, "profile"), output: &testproc.CappedBuffer{Max: 16 << 10}, done: make(chan struct{})}
	fail := func(err error) (*Browser, error) {
		out := b.output.String()
		b.Close()
		return nil, fmt.Errorf("%w\nfirefox output:\n%s", err, out)
	}
	home, tmp := filepath.Join(dir, "home"), filepath.Join(dir, "tmp")
	for _, d := range []string{b.profile, home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fail(err)
		}
	}
	if err := os.WriteFile(filepath.Join(b.profile, "user.js"), []byte(Profile(socksPort, mport)+strings.Join(o.Prefs, "\n")+"\n"), 0o600); err != nil {
		return fail(err)
	}

	b.cmd = exec.Command(exe, "--headless", "--marionette", "--no-remote", "--profile", b.profile, "about:blank")
	b.cmd.Dir = tmp
	// Firefox writes under $HOME and $TMPDIR whatever its profile; no
	// display, no crash reporter.
	b.cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + home, "TMPDIR=" + tmp,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_RUNTIME_DIR=" + tmp,
		"MOZ_HEADLESS=1",
		"MOZ_CRASHREPORTER_DISABLE=1",
		"MOZ_DISABLE_AUTO_SAFE_MODE=1",
		// Release builds ignore the profile's services.settings.server
		// (remote settings, polled at start) unless this is set.
		"MOZ_REMOTE_SETTINGS_DEVTOOLS=1",
		"LANG=C.UTF-8",
	}
	b.cmd.Stdout, b.cmd.Stderr = b.output, b.output
	b.cmd.SysProcAttr = sysProcAttr()
	if err := b.cmd.Start(); err != nil {
		return fail(fmt.Errorf("gecko: starting %s: %w", exe, err))
	}
	go func() {
		b.cmd.Wait()
		close(b.done)
	}()

	// Marionette listens once Firefox has started up; keep dialling.
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(mport))
	for {
		b.mc, err = dialMarionette(ctx, addr)
		if err == nil {
			break
		}
		select {
		case <-b.done:
			return fail(fmt.Errorf("gecko: firefox exited before Marionette answered: %v", b.cmd.ProcessState))
		case <-ctx.Done():
			return fail(fmt.Errorf("gecko: Marionette did not answer on %s within %s: %w", addr, startTimeout, err))
		case <-time.After(100 * time.Millisecond):
		}
	}
	caps := map[string]any{
		"pageLoadStrategy": "normal",
		"timeouts":         map[string]int{"implicit": 0, "pageLoad": int(navigateTimeout / time.Millisecond), "script": int(stepTimeout / time.Millisecond)},
	}
	if err := b.mc.call(startTimeout, "WebDriver:NewSession", caps, nil); err != nil {
		return fail(err)
	}
	return b, nil
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("gecko: picking a port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Dir is the temporary directory that holds Firefox's profile, HOME and
// TMPDIR; Close removes it.
func (b *Browser) Dir() string { return b.dir }

// PID is the process ID of Firefox's main process.
func (b *Browser) PID() int {
	if b.cmd == nil || b.cmd.Process == nil {
		return 0
	}
	return b.cmd.Process.Pid
}

// Output is the start of what Firefox printed, for error messages.
func (b *Browser) Output() string { return b.output.String() }

// Close asks Firefox to quit, then kills it and every process it started
// by PID, and removes its profile, HOME and TMPDIR. It is safe to call
// more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		var pid int
		var kids []int
		if b.cmd != nil && b.cmd.Process != nil {
			pid = b.cmd.Process.Pid
			kids = descendants(pid) // before they are orphaned
		}
		if b.mc != nil {
			// Quitting politely lets Firefox reap its content processes;
			// whatever is left afterwards is killed.
			_ = b.mc.call(quitWait, "Marionette:Quit", map[string]any{"flags": []string{"eForceQuit"}}, nil)
			b.mc.close()
		}
		if pid > 0 {
			select {
			case <-b.done:
			case <-time.After(quitWait):
				kids = append(kids, descendants(pid)...)
				syscall.Kill(pid, syscall.SIGKILL)
				<-b.done
			}
			// Firefox's helpers (content, socket, utility processes) are
			// its children; killed by PID, then by its process group,
			// which it leads (Setpgid).
			for _, k := range kids {
				if testproc.Alive(k) {
					syscall.Kill(k, syscall.SIGKILL)
				}
			}
			syscall.Kill(-pid, syscall.SIGKILL)
			deadline := time.Now().Add(5 * time.Second)
			for {
				left := 0
				for _, k := range kids {
					if testproc.Alive(k) {
						left++
					}
				}
				if left == 0 {
					break
				}
				if time.Now().After(deadline) {
					b.closeErr = fmt.Errorf("gecko: %d Firefox processes survived SIGKILL", left)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		if err := os.RemoveAll(b.dir); err != nil && b.closeErr == nil {
			b.closeErr = fmt.Errorf("gecko: removing %s: %w", b.dir, err)
		}
	})
	return b.closeErr
}

// ---- navigation and the page -------------------------------------------------

// Navigate loads url in the tab and waits until it has loaded. A page that
// Firefox could not load shows Firefox's own error page (about:neterror);
// Marionette reports that, and so does Navigate. An HTTP error status is
// not an error: the server's page is shown.
func (b *Browser) Navigate(url string) error {
	return b.mc.call(navigateTimeout, "WebDriver:Navigate", map[string]string{"url": url}, nil)
}

// URL is the address of the page in the tab.
func (b *Browser) URL() (string, error) {
	var v value[string]
	err := b.mc.call(stepTimeout, "WebDriver:GetCurrentURL", nil, &v)
	return v.Value, err
}

// Title is the document title of the page in the tab.
func (b *Browser) Title() (string, error) {
	var v value[string]
	err := b.mc.call(stepTimeout, "WebDriver:GetTitle", nil, &v)
	return v.Value, err
}

// PageSource is the current DOM of the page, serialised.
func (b *Browser) PageSource() (string, error) {
	var v value[string]
	err := b.mc.call(stepTimeout, "WebDriver:GetPageSource", nil, &v)
	return v.Value, err
}

// Find returns the first element that matches the CSS selector; an error
// for which IsNoSuchElement is true when there is none.
func (b *Browser) Find(css string) (Element, error) {
	var v value[map[string]string]
	if err := b.mc.call(stepTimeout, "WebDriver:FindElement", map[string]string{"using": "css selector", "value": css}, &v); err != nil {
		return Element{}, err
	}
	id := v.Value[elementKey]
	if id == "" {
		return Element{}, fmt.Errorf("gecko: FindElement %s: no element reference in %v", css, v.Value)
	}
	return Element{b: b, ID: id}, nil
}

// FindAll returns every element that matches the CSS selector.
func (b *Browser) FindAll(css string) ([]Element, error) {
	var refs []map[string]string
	if err := b.mc.call(stepTimeout, "WebDriver:FindElements", map[string]string{"using": "css selector", "value": css}, &refs); err != nil {
		return nil, err
	}
	out := make([]Element, 0, len(refs))
	for _, r := range refs {
		out = append(out, Element{b: b, ID: r[elementKey]})
	}
	return out, nil
}

// SendKeys types text into the element, as key presses.
func (e Element) SendKeys(text string) error {
	return e.b.mc.call(stepTimeout, "WebDriver:ElementSendKeys", map[string]string{"id": e.ID, "text": text}, nil)
}

// Clear empties an input or textarea.
func (e Element) Clear() error {
	return e.b.mc.call(stepTimeout, "WebDriver:ElementClear", map[string]string{"id": e.ID}, nil)
}

// Click clicks the element. When the click starts a navigation (a link, a
// submit button), Marionette waits until the new page has loaded, after
// redirects such as a form's 303.
func (e Element) Click() error {
	return e.b.mc.call(navigateTimeout, "WebDriver:ElementClick", map[string]string{"id": e.ID}, nil)
}

// Text is the element's rendered text.
func (e Element) Text() (string, error) {
	var v value[string]
	err := e.b.mc.call(stepTimeout, "WebDriver:GetElementText", map[string]string{"id": e.ID}, &v)
	return v.Value, err
}

// Displayed reports whether the element is shown to the visitor.
func (e Element) Displayed() (bool, error) {
	var v value[bool]
	err := e.b.mc.call(stepTimeout, "WebDriver:IsElementDisplayed", map[string]string{"id": e.ID}, &v)
	return v.Value, err
}

// Rect is an element's box in CSS pixels, relative to the document.
type Rect struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// Rect is the element's box.
func (e Element) Rect() (Rect, error) {
	var r Rect
	err := e.b.mc.call(stepTimeout, "WebDriver:GetElementRect", map[string]string{"id": e.ID}, &r)
	return r, err
}

// Attribute is the element's attribute name ("" when absent).
func (e Element) Attribute(name string) (string, error) {
	var v value[*string]
	err := e.b.mc.call(stepTimeout, "WebDriver:GetElementAttribute", map[string]string{"id": e.ID, "name": name}, &v)
	if v.Value == nil {
		return "", err
	}
	return *v.Value, err
}

// Property decodes the element's DOM property name into out. Marionette
// reads it with its own privileges, so it works with the page's JavaScript
// off (naturalWidth of an image, scrollWidth of the root element).
func (e Element) Property(name string, out any) error {
	var v value[json.RawMessage]
	if err := e.b.mc.call(stepTimeout, "WebDriver:GetElementProperty", map[string]string{"id": e.ID, "name": name}, &v); err != nil {
		return err
	}
	if err := json.Unmarshal(v.Value, out); err != nil {
		return fmt.Errorf("gecko: property %s = %.100s: %w", name, v.Value, err)
	}
	return nil
}

// Screenshot is a PNG of the element as it is on screen.
func (e Element) Screenshot() ([]byte, error) {
	return e.b.screenshot(map[string]any{"id": e.ID, "full": false, "scroll": true})
}

// ExecuteScript runs script (a function body; args are in `arguments`) in
// Marionette's sandbox on the page and decodes what it returns into out
// (nil: ignored). It is the test's code, not the page's: it runs while the
// page's JavaScript stays off and is not bound by the page's CSP, so a
// test can read the DOM or set a field beyond what typing could (a value
// longer than its maxlength). It must not depend on timers or events.
func (b *Browser) ExecuteScript(script string, args []any, out any) error {
	if args == nil {
		args = []any{}
	}
	var v value[json.RawMessage]
	if err := b.mc.call(stepTimeout, "WebDriver:ExecuteScript", map[string]any{"script": script, "args": args}, &v); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(v.Value, out); err != nil {
		return fmt.Errorf("gecko: script result %.100s: %w", v.Value, err)
	}
	return nil
}

// ---- screenshots, printing, the window --------------------------------------

// Screenshot is a PNG of the whole page at its current layout: as wide as
// the document's scrollWidth (wider than the viewport if the page
// overflows sideways) and as tall as the page.
func (b *Browser) Screenshot() ([]byte, error) {
	return b.screenshot(map[string]any{"full": true})
}

// ViewportScreenshot is a PNG of what the viewport shows.
func (b *Browser) ViewportScreenshot() ([]byte, error) {
	return b.screenshot(map[string]any{"full": false})
}

func (b *Browser) screenshot(params map[string]any) ([]byte, error) {
	var v value[string]
	params["hash"] = false
	if err := b.mc.call(stepTimeout, "WebDriver:TakeScreenshot", params, &v); err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(v.Value)
	if err != nil {
		return nil, fmt.Errorf("gecko: screenshot: %w", err)
	}
	return raw, nil
}

// SaveScreenshot writes a full-page screenshot to path and returns its
// size in pixels.
func (b *Browser) SaveScreenshot(path string) (width, height int, err error) {
	raw, err := b.Screenshot()
	if err != nil {
		return 0, 0, err
	}
	w, h, err := PNGSize(raw)
	if err != nil {
		return 0, 0, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, 0, err
	}
	return w, h, os.WriteFile(path, raw, 0o644)
}

// PNGSize reads the size of a PNG from its header.
func PNGSize(raw []byte) (width, height int, err error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		return 0, 0, fmt.Errorf("gecko: not a PNG: %w", err)
	}
	return cfg.Width, cfg.Height, nil
}

// DecodePNG decodes a PNG screenshot.
func DecodePNG(raw []byte) (image.Image, error) {
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("gecko: not a PNG: %w", err)
	}
	return img, nil
}

// Print renders the page to PDF (A4, backgrounds on) as Firefox's "Save
// to PDF" would.
func (b *Browser) Print() ([]byte, error) {
	var v value[string]
	if err := b.mc.call(stepTimeout, "WebDriver:Print", map[string]any{"background": true}, &v); err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(v.Value)
	if err != nil {
		return nil, fmt.Errorf("gecko: print: %w", err)
	}
	if !bytes.HasPrefix(raw, []byte("%PDF-")) {
		return nil, fmt.Errorf("gecko: print did not return a PDF: %.20q", raw)
	}
	return raw, nil
}

// WindowRect is the outer window's position and size.
type WindowRect struct {
	X      int `json:"x"`
	Y      int `json:"y"`
	Width  int `json:"width"`
	Height int `json:"height"`
}

// SetWindowRect sets the outer window's size (browser chrome included)
// and returns the size Firefox settled on.
func (b *Browser) SetWindowRect(width, height int) (WindowRect, error) {
	var r WindowRect
	err := b.mc.call(stepTimeout, "WebDriver:SetWindowRect", map[string]int{"width": width, "height": height}, &r)
	return r, err
}

// Viewport is the size of the viewport in CSS pixels (window.innerWidth
// and innerHeight: what a visible-area screenshot covers).
func (b *Browser) Viewport() (width, height int, err error) {
	raw, err := b.ViewportScreenshot()
	if err != nil {
		return 0, 0, err
	}
	return PNGSize(raw)
}

// SetViewport resizes the window until the viewport is width×height CSS
// pixels. With resistFingerprinting's letterboxing (as in Tor Browser) the
// viewport is the window's content area rounded down to a step (50 px up
// to 500, then 100 px for heights and 200 px for widths), and the window
// is at least 500 px wide; sizes on those steps, like 1000×900 and
// 400×800 (from a 550 px window), come out exact. The window size that
// gave a viewport is remembered, so the next change to it is one step.
func (b *Browser) SetViewport(width, height int) error {
	key := [2]int{width, height}
	if b.windows == nil {
		b.windows = map[[2]int][2]int{}
	}
	// A first guess (the chrome of a headless window is about 80-100 px
	// tall), with a little slack that letterboxing rounds away.
	ww, wh := width+4, height+84
	if win, ok := b.windows[key]; ok {
		ww, wh = win[0], win[1]
	}
	var gw, gh int
	var tried []string
	for try := 0; try < 10; try++ {
		r, err := b.SetWindowRect(ww, wh)
		if err != nil {
			return err
		}
		if gw, gh, err = b.waitViewport(width, height); err != nil {
			return err
		}
		if gw == width && gh == height {
			b.windows[key] = [2]int{ww, wh}
			return nil
		}
		tried = append(tried, fmt.Sprintf("window %dx%d→%dx%d: viewport %dx%d", ww, wh, r.Width, r.Height, gw, gh))
		ww = nextWindow(ww, r.Width, gw, width)
		wh = nextWindow(wh, r.Height, gh, height)
	}
	return fmt.Errorf("gecko: cannot make the viewport %dx%d:\n  %s", width, height, strings.Join(tried, "\n  "))
}

// nextWindow is the next window size to try along one axis: asked is what
// was asked for, got what Firefox made of it, view the viewport that gave,
// want the viewport wanted.
func nextWindow(asked, got, view, want int) int {
	switch {
	case view == want:
		return asked
	case got > asked:
		// The window is at its minimum size: go to a larger one whose
		// content area letterboxing rounds down (by 200 px) to want.
		return got + 50
	case view < want:
		return asked + want - view
	default:
		return asked - (view - want)
	}
}

// waitViewport polls the viewport after a resize until it is width×height
// or has stopped changing: the content process, and letterboxing, learn
// the new window size a little after Marionette returns.
func (b *Browser) waitViewport(width, height int) (int, int, error) {
	deadline := time.Now().Add(2 * time.Second)
	var lw, lh, same int
	for {
		gw, gh, err := b.Viewport()
		if err != nil {
			return 0, 0, err
		}
		if gw == width && gh == height {
			return gw, gh, nil
		}
		if gw == lw && gh == lh {
			same++
		} else {
			same, lw, lh = 0, gw, gh
		}
		if same >= 4 || time.Now().After(deadline) {
			return gw, gh, nil
		}
		time.Sleep(40 * time.Millisecond)
	}
}

// PageWidth is the root element's scrollWidth and clientWidth: the page
// overflows sideways when scroll > client. (Firefox on Linux draws classic
// scrollbars, so a long page's clientWidth is the viewport's width less
// the scrollbar's.) Marionette reads them with the page's JavaScript off.
func (b *Browser) PageWidth() (scroll, client int, err error) {
	root, err := b.Find("html")
	if err != nil {
		return 0, 0, err
	}
	if err := root.Property("scrollWidth", &scroll); err != nil {
		return 0, 0, err
	}
	if err := root.Property("clientWidth", &client); err != nil {
		return 0, 0, err
	}
	return scroll, client, nil
}

// ---- processes ---------------------------------------------------------------

// descendants lists the PIDs of every living descendant of pid, from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if pp := ppid(p); pp > 0 {
			children[pp] = append(children[pp], p)
		}
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// ppid is the parent of pid, 0 if unknown.
func ppid(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}
