package serve

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/browsertest"
	"github.com/flowhunt/flowhunt/internal/report"
)

// TestServeInBrowser loads the served UI in headless Chromium from a loopback port: no console
// error, exception or CSP violation; every host listed and every plot drawn; a finding's raw
// flows fetched from the server and shown; hostile user agents, Host headers and names shown as
// text, none of them run.
func TestServeInBrowser(t *testing.T) {
	b := browsertest.Start(t)
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()

	st := b.OpenReport(t, ts.URL+"/")
	p := report.HTMLPayload(f.res.Report, f.res.View, 0)
	if st.Rows != len(p.Hosts) || st.Hosts != len(p.Hosts) || st.Rows == 0 {
		t.Errorf("table rows %d, host sections %d, want %d each", st.Rows, st.Hosts, len(p.Hosts))
	}
	if st.Plots == 0 || len(st.Undrawn) > 0 || st.BlankCanvases != 0 {
		t.Errorf("%d plots, %d blank canvases; plots that drew nothing: %q", st.Plots, st.BlankCanvases, st.Undrawn)
	}
	if !strings.Contains(st.Text, "c2.<script>window.__pwned=4</script>.example") {
		t.Error("the hostile name from the DNS map is not shown as text")
	}

	// Drill down: the miner's finding, its pool's raw flows.
	pool := strconv.Quote(f.pool.String())
	clicked, err := browsertest.Eval[bool](b, `(() => {
	  const btn = Array.from(document.querySelectorAll('#host-1 button.peerbtn, details[id^="host-"] button.peerbtn'))
	    .find(x => x.textContent === `+pool+`);
	  if (!btn) return false;
	  btn.click();
	  return true;
	})()`)
	if err != nil || !clicked {
		t.Fatalf("no raw-flows button for %s (err %v)", f.pool, err)
	}
	if err := b.WaitFor(`document.querySelector('table.rawflows tbody tr')`, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	rows, err := browsertest.Eval[int](b, `document.querySelectorAll('table.rawflows tbody tr').length`)
	if err != nil {
		t.Fatal(err)
	}
	text, err := browsertest.Eval[string](b, `document.querySelector('table.rawflows').innerText`)
	if err != nil {
		t.Fatal(err)
	}
	if rows < 10 {
		t.Errorf("raw flows table has %d rows, want the pair's flows", rows)
	}
	for _, s := range []string{pwnScript, pwnImg, pwnLink} {
		if !strings.Contains(text, s) {
			t.Errorf("hostile string %q not shown as text in the raw flows", s)
		}
	}
	pwned, err := browsertest.Eval[bool](b, `typeof window.__pwned !== 'undefined'`)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pwned || pwned {
		t.Error("a hostile string from the logs ran as script")
	}
	b.Screenshot(t, "serve.png")
	if pr := b.Problems(); len(pr) > 0 {
		t.Errorf("the page reported %d problems:\n%s", len(pr), strings.Join(pr, "\n"))
	}
}
