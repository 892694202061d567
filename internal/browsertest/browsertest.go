// Package browsertest runs flowhunt's pages in a real headless Chromium for tests: it starts the
// browser with a fresh profile, records every console error, uncaught exception and browser log
// error (a CSP violation is one), and saves screenshots to an artifact folder. Only tests import
// it.
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Browser is one tab of a headless Chromium with the problems it reported.
type Browser struct {
	Ctx context.Context

	mu       sync.Mutex
	problems []string
}

// chromiumNames are the executables tried, Debian's first.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

// Start opens a headless Chromium for t, closed when t ends. Without a browser on this machine
// the test is skipped, except under CI (CI=true), where .ci/run installs Debian's chromium and a
// missing browser is a failure. FLOWHUNT_CHROMIUM names a browser binary explicitly.
func Start(t *testing.T) *Browser {
	t.Helper()
	path := os.Getenv("FLOWHUNT_CHROMIUM")
	for _, n := range chromiumNames {
		if path != "" {
			break
		}
		path, _ = exec.LookPath(n)
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("no Chromium found (tried " + strings.Join(chromiumNames, ", ") + "): .ci/run must install Debian's chromium")
		}
		t.Skip("no Chromium on this machine (apt-get install chromium, or set FLOWHUNT_CHROMIUM): browser test skipped")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	b := &Browser{Ctx: ctx}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return b
}

// record keeps the events that mean the page went wrong. It runs in chromedp's reading loop, so
// it only appends under a lock.
func (b *Browser) record(ev any) {
	var p string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
			var parts []string
			for _, a := range e.Args {
				if a.Value != nil {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			p = "console." + string(e.Type) + ": " + strings.Join(parts, " ")
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		p = "uncaught exception: " + d.Text
		if d.Exception != nil {
			p += " " + d.Exception.Description
		}
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError {
			p = "browser log (" + string(e.Entry.Source) + "): " + e.Entry.Text
		}
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

// Problems returns the console errors, exceptions and error log entries seen so far.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Navigate loads url and waits until the document has loaded.
func (b *Browser) Navigate(url string) error {
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	return chromedp.Do(ctx, chromedp.Navigate(url))
}

// Eval evaluates a JavaScript expression and returns its value; EvalAwaitPromise lets it be a
// promise.
func Eval[T any](b *Browser, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// WaitFor polls a JavaScript condition until it is true or the timeout passes.
func (b *Browser) WaitFor(cond string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := Eval[bool](b, "Boolean("+cond+")")
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %v waiting for %s", timeout, cond)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// OpenReport loads a flowhunt report page (file:// or served), waits for its host table, opens
// every section and returns what PageChecks found.
func (b *Browser) OpenReport(t *testing.T, url string) PageState {
	t.Helper()
	if err := b.Navigate(url); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor(`document.querySelector('table.hosts tbody tr')`, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	st, err := Eval[PageState](b, PageChecks)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Screenshot saves a full-page PNG as name in ArtifactDir and returns its path.
func (b *Browser) Screenshot(t *testing.T, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 1000 {
		t.Fatalf("screenshot is %d bytes: nothing drawn", len(png))
	}
	dir := ArtifactDir(t)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
	return path
}

// ArtifactDir is where browser tests leave screenshots: $FLOWHUNT_ARTIFACTS, or
// .artifacts/browser at the repository root (ignored by git).
func ArtifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FLOWHUNT_ARTIFACTS")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, ".artifacts", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// PageChecks is JavaScript that opens every host's details and reports what the page drew:
// how many host rows the table has, and which plots drew nothing (no inked canvas, no SVG
// shape, no coloured heatmap cell). Run it with Eval[PageState] after the page has loaded.
const PageChecks = `(async () => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  await new Promise(r => setTimeout(r, 300));
  const inked = c => {
    if (!c.width || !c.height) return false;
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true;
    return false;
  };
  const canvases = Array.from(document.querySelectorAll('canvas'));
  const svgs = Array.from(document.querySelectorAll('svg'));
  const plots = Array.from(document.querySelectorAll('.plot'));
  // A plot has drawn when it has an inked canvas, a non-empty SVG, or a grid of coloured cells.
  const undrawn = plots.filter(p =>
    !Array.from(p.querySelectorAll('canvas')).some(inked) &&
    !Array.from(p.querySelectorAll('svg')).some(s => s.querySelector('circle,line,path,rect')) &&
    !Array.from(p.querySelectorAll('.cell')).some(c => getComputedStyle(c).backgroundColor !== 'rgba(0, 0, 0, 0)')
  ).map(p => (p.querySelector('.title') || p).textContent);
  return {
    rows: document.querySelectorAll('table.hosts tbody tr').length,
    hosts: document.querySelectorAll('details[id^="host-"]').length,
    findings: document.querySelectorAll('.finding').length,
    plots: plots.length,
    undrawn: undrawn,
    canvases: canvases.length,
    blank_canvases: canvases.filter(c => !inked(c)).length,
    pwned: typeof window.__pwned !== 'undefined',
    text: document.body.innerText
  };
})()`

// PageState is what PageChecks reports.
type PageState struct {
	Rows          int      `json:"rows"`
	Hosts         int      `json:"hosts"`
	Findings      int      `json:"findings"`
	Plots         int      `json:"plots"`
	Undrawn       []string `json:"undrawn"` // titles of plots that drew nothing
	Canvases      int      `json:"canvases"`
	BlankCanvases int      `json:"blank_canvases"`
	Pwned         bool     `json:"pwned"`
	Text          string   `json:"text"`
}
