// Package browser is a test harness that drives Debian's Chromium, headless
// and with JavaScript off, so that tests see tropa the way a Tor Browser
// visitor at the "Safest" level does: it opens pages, counts their network
// requests, takes full-page screenshots, fills and submits forms, and runs
// axe-core on what a visitor without JavaScript sees.
//
// It owns the Chromium process and every file Chromium writes (a fresh
// profile, HOME and TMPDIR under one temporary directory) and removes them on
// Close. It must never let a test reach beyond 127.0.0.1: Chromium connects
// to a public address when it starts, whatever its flags, so every test that
// uses it calls RequireLoopbackOnly first and runs only inside a loopback-only
// network namespace (`make test` makes one).
package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"tropa/internal/testproc"
)

// Timeouts for one step. A page of tropa loads in well under a second; these
// only keep a stuck browser from eating the whole test timeout.
const (
	startTimeout = 60 * time.Second
	stepTimeout  = 30 * time.Second
)

// The viewport a page loads at until Screenshot changes it.
const (
	DefaultWidth  = 1000
	DefaultHeight = 900
)

// ExecPath is Debian's Chromium: the real binary when present, because
// /usr/bin/chromium is a shell wrapper that adds flags of its own and prints
// noise; else the wrapper.
func ExecPath() (string, error) {
	for _, p := range []string{"/usr/lib/chromium/chromium", "/usr/bin/chromium"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", errors.New("browser: Chromium is not installed: run 'apt-get install -y chromium' as root (make test and .ci/run do)")
}

// Browser is one headless Chromium with one tab. Its methods act on that tab
// and must not be called concurrently.
type Browser struct {
	dir         string // temporary: profile/, home/, tmp/
	profile     string
	tab         context.Context
	cancelTab   context.CancelFunc
	cancelAlloc context.CancelFunc
	pid         int
	output      *testproc.CappedBuffer

	mu       sync.Mutex
	requests []string // network requests since the last Open

	axeOnce sync.Once
	axeSrc  string
	axeErr  error

	closeOnce sync.Once
	closeErr  error
}

// Page is what Open saw of one page load.
type Page struct {
	URL    string
	Status int // the HTTP status of the document (after redirects); 0 for data: URLs
	// Requests lists every network request the tab made for the page until
	// it loaded, document first, as "METHOD URL". A redirect counts as a
	// request of its own. data: URLs never touch the network and are not
	// listed.
	Requests []string
}

// New starts Chromium for the test and closes it when the test ends. It
// fails the test when Chromium cannot start.
func New(tb testing.TB) *Browser {
	tb.Helper()
	b, err := Start()
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

// Start starts a headless Chromium with JavaScript disabled in its tab,
// before anything is loaded. The caller must Close it.
func Start() (*Browser, error) {
	exe, err := ExecPath()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "tropa-browser-")
	if err != nil {
		return nil, err
	}
	b := &Browser{dir: dir, profile: filepath.Join(dir, "profile"), output: &testproc.CappedBuffer{Max: 16 << 10}}
	home, tmp := filepath.Join(dir, "home"), filepath.Join(dir, "tmp")
	for _, d := range []string{b.profile, home, tmp} {
		if err := os.Mkdir(d, 0o700); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe),
		// The flags asked of every tropa browser test, in this order.
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(b.profile),
		// Quieter and steadier, as in chromedp's defaults.
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("window-size", fmt.Sprintf("%d,%d", DefaultWidth, DefaultHeight)),
		// Even with its own profile, Chromium writes under $HOME/.config,
		// $HOME/.cache and $TMPDIR.
		chromedp.Env("HOME="+home, "TMPDIR="+tmp,
			"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
			"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
			"XDG_DATA_HOME="+filepath.Join(home, ".local", "share")),
		chromedp.CombinedOutput(b.output),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	b.tab, b.cancelTab, b.cancelAlloc = tab, cancelTab, cancelAlloc

	// The first Run starts Chromium and binds it to tab, so it cannot carry
	// a timeout of its own; a watchdog stops a start that hangs.
	watchdog := time.AfterFunc(startTimeout, cancelAlloc)
	err = chromedp.Do(tab, setScripts(false))
	watchdog.Stop()
	if c := chromedp.FromContext(tab); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		b.pid = c.Browser.Process().Pid
	}
	if err == nil {
		err = chromedp.Listen(tab, b.onEvent)
	}
	if err == nil {
		err = b.do(emulateViewport(DefaultWidth, DefaultHeight))
	}
	if err != nil {
		out := b.output.String()
		b.Close()
		return nil, fmt.Errorf("browser: starting %s: %w\n%s", exe, err, out)
	}
	return b, nil
}

// onEvent runs on chromedp's reading goroutine: it must be quick and must not
// call back into the browser.
func (b *Browser) onEvent(ev any) {
	if ev, ok := ev.(*network.EventRequestWillBeSent); ok && ev.Request != nil {
		if strings.HasPrefix(ev.Request.URL, "data:") {
			return
		}
		b.mu.Lock()
		b.requests = append(b.requests, ev.Request.Method+" "+ev.Request.URL)
		b.mu.Unlock()
	}
}

// Requests lists the network requests of the tab since the last Open,
// including any made after the page loaded.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// Dir is the temporary directory that holds Chromium's profile, HOME and
// TMPDIR; Close removes it.
func (b *Browser) Dir() string { return b.dir }

// PID is the process ID of Chromium's main process.
func (b *Browser) PID() int { return b.pid }

// do runs actions on the tab with the step timeout.
func (b *Browser) do(actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.tab, stepTimeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// run runs one action that returns a value on the tab with the step timeout.
func run[T any](b *Browser, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(b.tab, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

func setScripts(enabled bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !enabled})
		return err
	})
}

func emulateViewport(width, height int) chromedp.Action[chromedp.Void] {
	return chromedp.EmulateViewport(int64(width), int64(height))
}

// Open loads url in the tab with JavaScript off and waits for it to load.
// A page that fails to load (no answer, a network error) is an error; an
// HTTP error status is not, it is in Page.Status.
func (b *Browser) Open(url string) (Page, error) {
	if err := b.do(setScripts(false)); err != nil {
		return Page{}, fmt.Errorf("browser: open %s: %w", url, err)
	}
	b.mu.Lock()
	b.requests = nil
	b.mu.Unlock()
	resp, err := run(b, chromedp.NavigateResponse(url))
	if err != nil {
		return Page{}, fmt.Errorf("browser: open %s: %w", url, err)
	}
	p := Page{URL: url, Requests: b.Requests()}
	if resp != nil {
		p.Status = int(resp.Status)
	}
	return p, nil
}

// Location is the URL of the page in the tab.
func (b *Browser) Location() (string, error) { return run(b, chromedp.Location()) }

// Title is the document title of the page in the tab.
func (b *Browser) Title() (string, error) { return run(b, chromedp.Title()) }

// Screenshot sets the viewport to width×height CSS pixels and saves a PNG of
// the whole page at that layout: as tall as the page, and as wide as its
// content, so a page that overflows sideways shows it. The viewport stays
// at that size.
func (b *Browser) Screenshot(path string, width, height int) error {
	png, err := run(b, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		if _, err := emulateViewport(width, height)(ctx, t); err != nil {
			return nil, err
		}
		m, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			return nil, err
		}
		w, h := float64(width), float64(height)
		if cs := m.CSSContentSize; cs != nil {
			w, h = max(w, cs.Width), max(h, cs.Height)
		}
		fromSurface, beyond := true, true
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			Clip:                  &page.Viewport{Width: w, Height: h, Scale: 1},
			FromSurface:           &fromSurface,
			CaptureBeyondViewport: &beyond,
		})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	})
	if err != nil {
		return fmt.Errorf("browser: screenshot %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, png, 0o644)
}

// SetViewport sets the viewport to width×height CSS pixels.
func (b *Browser) SetViewport(width, height int) error {
	return b.do(emulateViewport(width, height))
}

// ContentSize is the size of the page's scrollable area in CSS pixels, from
// the layout (no JavaScript involved).
func (b *Browser) ContentSize() (width, height float64, err error) {
	m, err := run(b, func(ctx context.Context, t *chromedp.Target) (*page.GetLayoutMetricsResult, error) {
		r, err := cdp.Call(ctx, t, page.GetLayoutMetrics, cdp.Empty{})
		return &r, err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("browser: layout metrics: %w", err)
	}
	if m.CSSContentSize == nil {
		return 0, 0, errors.New("browser: layout metrics without a content size")
	}
	return m.CSSContentSize.Width, m.CSSContentSize.Height, nil
}

// Eval evaluates a JavaScript expression through the DevTools protocol and
// decodes its JSON value into out. It works while the page's own scripts are
// disabled and is not bound by the page's Content-Security-Policy, so a test
// can read the DOM (links, sizes) without turning JavaScript on. It must not
// depend on timers or promises: with scripting off they never run.
func (b *Browser) Eval(expr string, out any) error {
	raw, err := run(b, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		return fmt.Errorf("browser: eval %q: %w", short(expr), err)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// short shortens an expression for an error message (axe-core is 650 kB).
func short(expr string) string {
	if len(expr) > 80 {
		return expr[:80] + "…"
	}
	return expr
}

// SendKeys types text into the first element matching the CSS selector.
func (b *Browser) SendKeys(css, text string) error {
	return b.do(chromedp.SendKeys(chromedp.CSS(css), text))
}

// Click clicks the first element matching the CSS selector and does not
// wait for a navigation; use ClickNavigate for a link or a submit button.
func (b *Browser) Click(css string) error {
	return b.do(chromedp.Click(chromedp.CSS(css)))
}

// ClickNavigate clicks the first element matching the CSS selector and waits
// for the page it leads to (after redirects, such as a form's 303), counting
// its requests as Open does.
func (b *Browser) ClickNavigate(css string) (Page, error) {
	if err := b.do(setScripts(false)); err != nil {
		return Page{}, err
	}
	b.mu.Lock()
	b.requests = nil
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(b.tab, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(css)))
	if err != nil {
		return Page{}, fmt.Errorf("browser: click %s: %w", css, err)
	}
	p := Page{Requests: b.Requests()}
	p.URL, _ = b.Location()
	if resp != nil {
		p.Status = int(resp.Status)
	}
	return p, nil
}

// Text is the visible text of the first element matching the CSS selector.
func (b *Browser) Text(css string) (string, error) {
	return run(b, chromedp.Text(chromedp.CSS(css)))
}

// Close kills Chromium and every process it started, by PID, and removes
// its profile, HOME and TMPDIR. It is safe to call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		if b.pid > 0 {
			syscall.Kill(b.pid, syscall.SIGKILL)
		}
		killUsing(b.profile)
		// Both wait until the main process is reaped.
		b.cancelTab()
		b.cancelAlloc()
		// Chromium's helpers (zygote, network service, renderers) can fork
		// as the main process dies; look until none is left.
		deadline := time.Now().Add(5 * time.Second)
		for quiet := 0; quiet < 3 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if killUsing(b.profile) == 0 {
				quiet++
			} else {
				quiet = 0
			}
		}
		if n := killUsing(b.profile); n > 0 {
			b.closeErr = fmt.Errorf("browser: %d Chromium processes survived SIGKILL", n)
		}
		if err := os.RemoveAll(b.dir); err != nil && b.closeErr == nil {
			b.closeErr = fmt.Errorf("browser: removing %s: %w", b.dir, err)
		}
	})
	return b.closeErr
}

// killUsing sends SIGKILL to every process started with our profile (Chromium
// passes --user-data-dir to all its children, and ours is unique) and
// returns how many it found.
func killUsing(profile string) int {
	want := "--user-data-dir=" + profile
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for _, arg := range strings.Split(string(cmdline), "\x00") {
			if arg == want {
				if !testproc.Alive(pid) {
					break
				}
				syscall.Kill(pid, syscall.SIGKILL)
				n++
				break
			}
		}
	}
	return n
}
