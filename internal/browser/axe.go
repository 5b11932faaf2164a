package browser

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/chromedp/chromedp"
)

// AxeFile is where `npm ci` at the repository root puts axe-core.
const AxeFile = "node_modules/axe-core/axe.min.js"

// AxePath finds axe.min.js by walking up from the working directory (a
// test's is its package directory) to the repository root.
func AxePath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, AxeFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("browser: %s not found above the working directory: run 'npm ci' at the repository root (make test and .ci/run do)", AxeFile)
		}
		dir = parent
	}
}

// Violation is one axe-core rule that failed on the page.
type Violation struct {
	ID     string `json:"id"`     // the rule, e.g. "color-contrast"
	Impact string `json:"impact"` // "minor", "moderate", "serious" or "critical"
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []string `json:"target"` // CSS selectors of the element
		HTML    string   `json:"html"`
		Summary string   `json:"summary"`
	} `json:"nodes"`
}

// Serious reports whether the violation is of impact "serious" or "critical".
func (v Violation) Serious() bool { return v.Impact == "serious" || v.Impact == "critical" }

// String is one line per element: rule, impact, selector, and why.
func (v Violation) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for _, n := range v.Nodes {
		fmt.Fprintf(&sb, "\n    %s  %s", strings.Join(n.Target, " "), n.HTML)
		if n.Summary != "" {
			fmt.Fprintf(&sb, "\n      %s", strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
	}
	return sb.String()
}

// axeRun runs every rule on the document and keeps what a report needs.
// Injected code is not bound by the page's CSP, but axe.run finishes through
// setTimeout, which never fires while scripting is disabled: Axe turns
// scripting on around it.
const axeRun = `axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
	id: v.id, impact: v.impact || "", help: v.help,
	nodes: v.nodes.map(n => ({target: n.target.map(String), html: n.html, summary: n.failureSummary || ""}))
})))`

// Axe runs axe-core on the page as loaded, without reloading it: the page
// was rendered with JavaScript off, so axe checks exactly what a visitor
// without JavaScript sees. Scripting is on only while axe runs (the page's
// own scripts, if any, do not run again: there is no reload) and off again
// afterwards.
func (b *Browser) Axe() ([]Violation, error) {
	b.axeOnce.Do(func() {
		p, err := AxePath()
		if err != nil {
			b.axeErr = err
			return
		}
		src, err := os.ReadFile(p)
		b.axeSrc, b.axeErr = string(src), err
	})
	if b.axeErr != nil {
		return nil, b.axeErr
	}
	if err := b.do(setScripts(true)); err != nil {
		return nil, fmt.Errorf("browser: axe: enabling scripts: %w", err)
	}
	defer b.do(setScripts(false))
	if err := b.Eval(b.axeSrc+"\n;true", nil); err != nil {
		return nil, fmt.Errorf("browser: axe: injecting axe-core: %w", err)
	}
	vs, err := run(b, chromedp.Evaluate[[]Violation](axeRun, chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("browser: axe: %w", err)
	}
	return vs, nil
}
