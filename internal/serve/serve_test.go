package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/hunt"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// Hostile strings as they may arrive in logs: a user agent, an HTTP Host, a name in the DNS map.
const (
	pwnScript = `<script>window.__pwned=1</script>`
	pwnImg    = `"><img src=x onerror="window.__pwned=2">`
	pwnLink   = `javascript:window.__pwned=3`
)

// fixture is a served hunt over the seed-000 scenario (two miners on port 443), with a Zeek
// http.log whose user agents and Host headers from one miner to its pool are hostile, and a DNS
// map whose names for the pool are too.
type fixture struct {
	res   *hunt.Result
	opts  hunt.Options
	srv   *Server
	miner netip.Addr
	pool  netip.AddrPort
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	sc, err := sim.MinerNetwork(sim.Config{Hosts: 20, Days: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := sim.WriteScenario(sc, "filterlog", dir+"/", nil); err != nil {
		t.Fatal(err)
	}
	// One miner's first pool flow, to hang the hostile application records on.
	var pf *flow.Record
	for i := range sc.Records {
		r := &sc.Records[i]
		if _, planted := sc.Truth.Hosts[r.Src.String()]; planted && r.DstPort == 443 && r.Kind == flow.KindFlow {
			pf = r
			break
		}
	}
	if pf == nil {
		t.Fatal("no miner flow in the scenario")
	}
	f := &fixture{miner: pf.Src, pool: netip.AddrPortFrom(pf.Dst, pf.DstPort)}
	var http strings.Builder
	http.WriteString("#separator \\x09\n#path\thttp\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tmethod\thost\turi\tuser_agent\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tstring\tstring\tstring\tstring\n")
	for i, ua := range []string{pwnScript, pwnImg, pwnLink} {
		fmt.Fprintf(&http, "%d.5\tC%d\t%s\t%d\t%s\t%d\tGET\t%s\t/\t%s\n", pf.Time/1e9+int64(i), i, pf.Src, 50000+i, pf.Dst, pf.DstPort,
			[]string{pwnLink, "pool.example", pwnScript}[i], ua)
	}
	if err := os.WriteFile(filepath.Join(dir, "http.log"), []byte(http.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	mapPath := filepath.Join(dir, "rdns.txt")
	m, err := os.OpenFile(mapPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(m, "%s %s\n%s %s\n", pf.Dst, "c2.<script>window.__pwned=4</script>.example", pf.Dst, pwnLink)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	f.opts = hunt.Options{
		Paths: []string{filepath.Join(dir, "flows.log"), filepath.Join(dir, "http.log")}, DNSMaps: []string{mapPath},
		Internal: sc.Truth.Internal, Detect: detect.Defaults(), Version: "test", Ingest: ingest.Options{Now: sim.EndOf(sc)},
	}
	f.res, err = hunt.Run(context.Background(), f.opts)
	if err != nil {
		t.Fatal(err)
	}
	if f.srv, err = New(f.res, f.opts.Paths, f.opts.Ingest, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return f
}

func get(t *testing.T, ts *httptest.Server, method, path string, header map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		if k == "Host" {
			req.Host = v
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

func TestServeRoutes(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()
	flowsPath := "/api/flows?" + url.Values{"host": {f.miner.String()}, "peer": {f.pool.String()}}.Encode()

	tests := []struct {
		name, method, path string
		header             map[string]string
		code               int
		contains           string
	}{
		{"page", "GET", "/", nil, 200, `"live":true`},
		{"page head", "HEAD", "/", nil, 200, ""},
		{"report", "GET", "/api/report", nil, 200, `"summary"`},
		{"flows", "GET", flowsPath, nil, 200, `"matched"`},
		{"post", "POST", "/", nil, 405, "read-only"},
		{"put flows", "PUT", flowsPath, nil, 405, "read-only"},
		{"delete", "DELETE", "/api/report", nil, 405, "read-only"},
		{"traversal", "GET", "/../../etc/passwd", nil, 404, ""},
		{"encoded traversal", "GET", "/%2e%2e/%2e%2e/etc/passwd", nil, 404, ""},
		{"input file by name", "GET", "/flows.log", nil, 404, ""},
		{"api traversal", "GET", "/api/../../etc/passwd", nil, 404, ""},
		{"rebinding host", "GET", "/", map[string]string{"Host": "attacker.example:8080"}, 421, "loopback"},
		{"localhost host", "GET", "/api/report", map[string]string{"Host": "localhost:8080"}, 200, `"hosts"`},
		{"v6 loopback host", "GET", "/api/report", map[string]string{"Host": "[::1]:8080"}, 200, `"hosts"`},
		{"bad host param", "GET", "/api/flows?host=x&peer=1.2.3.4", nil, 400, `host \"x\"`},
		{"bad peer", "GET", "/api/flows?host=10.0.0.1&peer=evil.example", nil, 400, "peer"},
		{"bad limit", "GET", "/api/flows?host=10.0.0.1&peer=1.2.3.4&limit=999999", nil, 400, "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, h, body := get(t, ts, tt.method, tt.path, tt.header)
			if code != tt.code || !strings.Contains(body, tt.contains) {
				t.Errorf("%s %s: %d %.200q, want %d containing %q", tt.method, tt.path, code, body, tt.code, tt.contains)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("security headers missing: %v", h)
			}
		})
	}

	_, h, page := get(t, ts, "GET", "/", nil)
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "connect-src 'self'") || strings.Contains(csp, "unsafe-inline'; script") || !strings.Contains(csp, "script-src 'sha256-") {
		t.Errorf("CSP %q: want hashed scripts and connect-src 'self' only", csp)
	}
	for _, raw := range []string{"<script>window.__pwned", "<img src=x", "</script>.example"} {
		if strings.Contains(page, raw) {
			t.Errorf("page contains raw %q", raw)
		}
	}
}

func TestServeFlowsDrillDown(t *testing.T) {
	f := newFixture(t)
	ts := httptest.NewServer(f.srv.Handler())
	defer ts.Close()

	// Every flow between the miner and its pool on 443, in the logs, counted by hand.
	want := 0
	recs := readAll(t, f.opts.Paths, f.opts.Ingest)
	var firstTime int64 = 1 << 62
	for i := range recs {
		r := &recs[i]
		if (r.Src == f.miner && r.Dst == f.pool.Addr() || r.Src == f.pool.Addr() && r.Dst == f.miner) && r.DstPort == f.pool.Port() {
			want++
			firstTime = min(firstTime, r.Time)
		}
	}
	if want < 10 {
		t.Fatalf("fixture: only %d flows between %s and %s", want, f.miner, f.pool)
	}
	for _, limit := range []int{0, 5} {
		path := "/api/flows?" + url.Values{"host": {f.miner.String()}, "peer": {f.pool.String()}}.Encode()
		if limit > 0 {
			path += fmt.Sprintf("&limit=%d", limit)
		}
		code, _, body := get(t, ts, "GET", path, nil)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var got Flows
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			t.Fatal(err)
		}
		wantShown := min(want, DefaultFlows)
		if limit > 0 {
			wantShown = min(want, limit)
		}
		if got.Matched != int64(want) || len(got.Flows) != wantShown {
			t.Errorf("limit %d: matched %d, shown %d; want %d and %d", limit, got.Matched, len(got.Flows), want, wantShown)
		}
		if !slices.IsSortedFunc(got.Flows, func(a, b RawFlow) int { return parseTime(t, a.Time).Compare(parseTime(t, b.Time)) }) {
			t.Errorf("limit %d: flows not in time order", limit)
		}
		// The earliest flows are the ones kept.
		if wantFirst := time.Unix(0, firstTime).UTC().Format(time.RFC3339Nano); got.Flows[0].Time != wantFirst {
			t.Errorf("limit %d: first flow at %s, want the earliest, %s", limit, got.Flows[0].Time, wantFirst)
		}
		agents := 0
		for _, fl := range got.Flows {
			if fl.UserAgent != "" {
				agents++
			}
			for _, end := range []string{fl.Src, fl.Dst} {
				ap, err := netip.ParseAddrPort(end)
				if err != nil || (ap.Addr() != f.miner && ap.Addr() != f.pool.Addr()) {
					t.Errorf("flow %+v is not between the host and the peer", fl)
				}
			}
		}
		if limit == 0 && agents != 3 {
			t.Errorf("the three http.log records with their user agents: %d shown", agents)
		}
	}
}

func TestCollectorKeepsEarliest(t *testing.T) {
	c := &collector{limit: 3}
	for _, sec := range []int64{50, 10, 40, 30, 20, 60, 5} {
		c.add(&flow.Record{Time: sec, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")})
	}
	var got []int64
	for _, f := range c.flows {
		got = append(got, f.ns)
	}
	slices.Sort(got)
	if !slices.Equal(got, []int64{5, 10, 20}) || c.matched != 7 {
		t.Errorf("kept %v of %d, want [5 10 20] of 7", got, c.matched)
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:8080": true, "localhost": true, "LOCALHOST:80": true, "[::1]:8080": true, "127.1.2.3": true,
		"10.0.0.1:8080": false, "attacker.example": false, "localhost.attacker.example:8080": false, "": false, "[::ffff:127.0.0.1]:1": true,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

func readAll(t *testing.T, paths []string, opts ingest.Options) []flow.Record {
	t.Helper()
	var (
		recs []flow.Record
		mu   = make(chan struct{}, 1)
	)
	_, err := ingest.Run(context.Background(), paths, opts, func() ingest.Sink {
		return sinkFunc(func(r *flow.Record) {
			mu <- struct{}{}
			recs = append(recs, *r)
			<-mu
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
