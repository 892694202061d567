package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/browsertest"
)

// TestHTMLInBrowser opens the offline report from file:// in headless Chromium: it must load with
// no console error, exception or CSP violation, list every ranked host, draw every plot, render
// the hostile log strings as text, and run none of them.
func TestHTMLInBrowser(t *testing.T) {
	b := browsertest.Start(t)
	r, v := htmlScenario(t)
	// Hostile strings that would run if they reached the DOM as HTML or a link.
	const (
		pwnScript = `<script>window.__pwned=1</script>`
		pwnImg    = `"><img src=x onerror="window.__pwned=2">`
		pwnLink   = `javascript:window.__pwned=3`
	)
	r.Hosts[0].Findings[0].Reason += " " + pwnScript + " " + pwnImg + " " + pwnLink
	page := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := HTML(f, r, v, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	st := b.OpenReport(t, "file://"+page)
	b.Screenshot(t, "report-file.png")

	p := HTMLPayload(r, v, 0)
	if st.Rows != len(p.Hosts) || st.Hosts != len(p.Hosts) {
		t.Errorf("table rows %d, host sections %d, want %d each", st.Rows, st.Hosts, len(p.Hosts))
	}
	findings := 0
	for _, h := range p.Hosts {
		findings += len(h.Findings)
	}
	if st.Findings != findings {
		t.Errorf("findings shown %d, want %d", st.Findings, findings)
	}
	// The scenario has every plot kind: timelines, gap histograms, the off-hours heatmap, a
	// fan-out and the p2p graph.
	if st.Plots < 10 || len(st.Undrawn) > 0 || st.BlankCanvases != 0 {
		t.Errorf("%d plots, %d canvases (%d blank); plots that drew nothing: %q", st.Plots, st.Canvases, st.BlankCanvases, st.Undrawn)
	}
	if st.Pwned {
		t.Error("a hostile string in the data ran as script")
	}
	for _, s := range []string{pwnScript, pwnImg, pwnLink, evilScript, evilImg} {
		if !strings.Contains(st.Text, s) {
			t.Errorf("hostile string %q not shown as text", s)
		}
	}
	if pr := b.Problems(); len(pr) > 0 {
		t.Errorf("the page reported %d problems:\n%s", len(pr), strings.Join(pr, "\n"))
	}
}
