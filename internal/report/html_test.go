package report

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/score"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// The HTML golden files are rewritten with go test ./internal/report -run HTML -update-html.
var updateHTML = flag.Bool("update-html", false, "rewrite the HTML report's golden files")

// Log content an attacker controls, as it may reach the page: DNS names, reasons, file names.
const (
	evilScript = "c2.<script>alert(1)</script>.example"
	evilImg    = `"><img src=x onerror=alert(2)>`
	evilLink   = "javascript:alert(3)"
)

// htmlScenario is a small network with one host per plot kind: a beacon (and a miner finding on
// the same pool), an off-hours host, a scanner, a three-host p2p group, an exfiltration, a C2
// server with two bots and a DNS tunnel, over four hours of 2025-03-10. The findings are written
// by hand so the golden file pins the page's data, not the detectors' thresholds.
func htmlScenario(t testing.TB) (*Run, *engine.Memory) {
	t.Helper()
	t0 := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC).Unix()
	var recs []flow.Record
	rec := func(sec int64, src, dst string, port uint16, proto uint8, out, in uint64) {
		recs = append(recs, flow.Record{Time: sec * 1e9, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
			SrcPort: 40000, DstPort: port, Proto: proto, BytesOut: out, BytesIn: in, PktsOut: 1 + out/1000, PktsIn: 1 + in/1000})
	}
	// Beacon: every 60 s ± 2 s for four hours.
	for i := range int64(240) {
		rec(t0+i*60+i%5-2+2, "10.0.0.5", "203.0.113.9", 443, flow.ProtoTCP, 300, 200)
	}
	// Off-hours: a burst to a rare destination between 01:00 and 03:00, and ordinary web use.
	for i := range int64(20) {
		rec(t0+3600+i*337, "10.0.0.7", "198.51.100.20", 8443, flow.ProtoTCP, 5000, 800)
	}
	for i := range int64(10) {
		rec(t0+i*1400, "10.0.0.7", "203.0.113.80", 443, flow.ProtoTCP, 900, 9000)
	}
	// Scan: 445 over 30 addresses, then ports 20-40 on one server; no answers.
	for i := range int64(30) {
		rec(t0+7200+i, "10.0.0.9", fmt.Sprintf("10.0.1.%d", i+1), 445, flow.ProtoTCP, 0, 0)
	}
	for p := range int64(21) {
		rec(t0+7300+p, "10.0.0.9", "10.0.2.2", uint16(20+p), flow.ProtoTCP, 0, 0)
	}
	// P2P: three hosts exchange UDP on 41234 every 10 minutes, every pair both ways (.13 never
	// sends to .11).
	members := []string{"10.0.0.11", "10.0.0.12", "10.0.0.13"}
	for i := range int64(24) {
		for a, src := range members {
			for b, dst := range members {
				if a != b && !(a == 2 && b == 0) {
					rec(t0+i*600+int64(a*7+b), src, dst, 41234, flow.ProtoUDP, 1200, 1200)
				}
			}
		}
	}
	// Exfil: five large uploads on an odd port.
	for i := range int64(5) {
		rec(t0+5400+i*900, "10.0.0.15", "192.0.2.77", 8088, flow.ProtoTCP, 400_000_000, 20_000)
	}
	// C2: two bots call the internal server every 120 s.
	for i := range int64(120) {
		rec(t0+i*120, "10.0.0.21", "10.0.0.20", 7443, flow.ProtoTCP, 200, 200)
		rec(t0+i*120+30, "10.0.0.22", "10.0.0.20", 7443, flow.ProtoTCP, 200, 200)
	}

	agg := engine.NewAggregator()
	sh := agg.NewShard()
	for i := range recs {
		sh.Add(&recs[i])
	}
	m := agg.Merge()
	m.AddNames(netip.MustParseAddr("203.0.113.9"), evilScript, evilImg, evilLink)
	scope, err := netscope.Parse([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	m.Apply(scope)

	a := netip.MustParseAddr
	fs := []detect.Finding{
		{Host: a("10.0.0.5"), Category: detect.Beacon, Score: 0.9, Flagged: true, Peers: []string{"203.0.113.9:443"},
			Reason: "240 connections to 203.0.113.9:443 (" + evilScript + "), every 60 s ±2 s", Evidence: map[string]any{"period_s": 60, "jitter_s": 2}},
		{Host: a("10.0.0.5"), Category: detect.Miner, Score: 0.8, Flagged: true, Peers: []string{"203.0.113.9:443", "203.0.113.9"},
			Reason: "pool name " + evilImg + " " + evilLink, Evidence: map[string]any{"names": []string{evilScript, evilImg, evilLink}}},
		{Host: a("10.0.0.7"), Category: detect.OffHours, Score: 0.75, Flagged: true, Peers: []string{"198.51.100.20:8443"},
			Reason: "20 flows to 198.51.100.20 between 01:00 and 03:00", Evidence: map[string]any{"flows": 20, "work_hours": "08-18"}},
		{Host: a("10.0.0.9"), Category: detect.Scan, Score: 0.85, Flagged: true, Peers: []string{"10.0.1.1:445", "10.0.1.2:445"},
			Reason: "horizontal scan of 445: 30 hosts, none answered", Evidence: map[string]any{"hosts": 30}},
		{Host: a("10.0.0.15"), Category: detect.Exfil, Score: 0.88, Flagged: true, Peers: []string{"192.0.2.77:8088"},
			Reason: "2.0 GB sent to 192.0.2.77", Evidence: map[string]any{"bytes_sent": 2_000_000_000}},
		{Host: a("10.0.0.20"), Category: detect.C2, Score: 0.8, Flagged: true, Peers: []string{"10.0.0.21", "10.0.0.22"},
			Reason: "internal C2 at 10.0.0.20:7443", Evidence: map[string]any{"bots": 2}},
		{Host: a("10.0.0.21"), Category: detect.C2, Score: 0.8, Flagged: true, Peers: []string{"10.0.0.20:7443"},
			Reason: "calls internal C2 10.0.0.20:7443 every 120 s", Evidence: map[string]any{"role": "bot"}},
		{Host: a("10.0.0.23"), Category: detect.DNSTunnel, Score: 0.7, Flagged: true, Peers: []string{"exf1l.example"},
			Reason: "2,000 TXT queries under exf1l.example", Evidence: map[string]any{"queries": 2000}},
		{Host: a("10.0.0.9"), Category: detect.Talker, Score: 0.2, Flagged: false, Peers: []string{"10.0.2.2"},
			Reason: "candidate", Evidence: map[string]any{}},
	}
	for _, mb := range members {
		var peers []string
		for _, o := range members {
			if o != mb {
				peers = append(peers, o+":41234")
			}
		}
		fs = append(fs, detect.Finding{Host: a(mb), Category: detect.P2P, Score: 0.7, Flagged: true, Peers: peers,
			Reason: "clique of 3 internal hosts on 41234/udp", Evidence: map[string]any{"members": members, "port": uint16(41234), "proto": "udp"}})
	}
	first, last := m.Span()
	ing := &ingest.Summary{Records: int64(len(recs)), Skipped: 1, Files: []*ingest.FileStats{{
		Name: "flows-" + evilImg + ".csv", Format: "csv", Lines: int64(len(recs) + 2), Records: int64(len(recs)), Skipped: 1,
		Skips: []ingest.Skip{{Reason: "bad dst port", Count: 1, FirstLine: 7, Example: evilScript}}}}}
	return &Run{Hosts: score.Rank(fs, false), Ingest: ing, Scope: scope, ScopeSource: "given", InternalHosts: m.InternalHosts(),
		First: first, Last: last, Notes: []detect.Note{{Detector: "dns-tunnel", Text: "note " + evilScript}}, Version: "test"}, m
}

func TestHTMLPayloadGolden(t *testing.T) {
	r, v := htmlScenario(t)
	p := HTMLPayload(r, v, 0)
	got, err := json.MarshalIndent(p, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(numberRowRE.ReplaceAllFunc(got, func(m []byte) []byte { return spaceRE.ReplaceAll(m, nil) }), '\n')
	golden := filepath.Join("testdata", "html_payload.golden.json")
	if *updateHTML {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/report -run HTML -update-html)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("payload differs from %s (rerun with -update-html and review the diff)", golden)
	}

	// What the golden file must show, whatever it holds.
	host := map[string]HTMLHost{}
	for _, h := range p.Hosts {
		host[h.IP] = h
	}
	if p.Axis == nil || p.Axis.StepSeconds != 60 || p.Axis.Points > htmlMaxPoints {
		t.Fatalf("axis %+v", p.Axis)
	}
	b := host["10.0.0.5"]
	if len(b.Series) != 2 || b.Findings[0].Category != detect.Beacon || len(b.Findings[0].Series) != 1 {
		t.Errorf("beacon host series %d, findings %+v", len(b.Series), b.Findings)
	}
	if g := b.Findings[0].Gaps; g == nil || g.MedianSeconds < 58 || g.MedianSeconds > 62 || g.Gaps != 239 {
		t.Errorf("beacon gaps %+v", g)
	}
	if s := b.Series[0]; s.Flows != 240 || s.Seconds != 240 || sum32(s.Counts) != 240 || len(s.Counts) != p.Axis.Points {
		t.Errorf("beacon series flows %d seconds %d counted %d", s.Flows, s.Seconds, sum32(s.Counts))
	}
	if hm := host["10.0.0.7"].Heatmap; hm == nil || len(hm.Counts) != 1 || sum32(hm.Counts[0][:]) != 30 || hm.Counts[0][5] != 0 ||
		len(hm.PeerCounts) != 1 || sum32(hm.PeerCounts[0][:]) != 20 || hm.PeerCounts[0][0] != 0 {
		t.Errorf("off-hours heatmap %+v", hm)
	}
	if fo := host["10.0.0.9"].FanOut; fo == nil || fo.PortsTotal != 22 || fo.Dsts[slicesIndex(fo.Ports, 445)] != 30 || fo.DstsTotal != 31 {
		t.Errorf("scan fan-out %+v", fo)
	}
	if c := host["10.0.0.12"].Findings[0].Clique; c == nil || len(c.Members) != 3 || c.Flows[2][0] != 0 || c.Flows[0][2] != 24 || c.Port != "41234/udp" {
		t.Errorf("p2p clique %+v", c)
	}
	if h := host["10.0.0.20"]; len(h.Series) != 2 || !h.Series[0].Inbound || h.Findings[0].Gaps != nil {
		t.Errorf("c2 server series %+v", h.Series)
	}
	if g := host["10.0.0.21"].Findings[0].Gaps; g == nil || g.MedianSeconds != 120 {
		t.Errorf("c2 bot gaps %+v", g)
	}
	if h := host["10.0.0.23"]; len(h.Series) != 0 {
		t.Errorf("dns tunnel plotted a domain: %+v", h.Series)
	}
}

func sum32(xs []uint32) (n uint64) {
	for _, x := range xs {
		n += uint64(x)
	}
	return n
}

func slicesIndex(xs []uint16, x uint16) int {
	for i, y := range xs {
		if y == x {
			return i
		}
	}
	return 0
}

// numberRowRE matches an indented JSON array of numbers, which the golden file keeps on one line
// so that a change to a plot reads as one changed line.
var (
	numberRowRE = regexp.MustCompile(`\[\s*-?[0-9][0-9.e+-]*(,\s*-?[0-9][0-9.e+-]*)*\s*\]`)
	spaceRE     = regexp.MustCompile(`\s+`)
)

var (
	scriptRE = regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`)
	cspRE    = regexp.MustCompile(`http-equiv="Content-Security-Policy" content="([^"]*)"`)
	// A reference to anything outside the file: an attribute or CSS url pointing at a scheme or a
	// network path.
	remoteRE = regexp.MustCompile(`(?i)(src|href|action|srcset|poster|data)\s*=\s*["']?\s*(https?:|//|javascript:)|url\(\s*["']?\s*(https?:|//)|@import|<link\b|<iframe\b|<object\b|<embed\b`)
)

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	r, v := htmlScenario(t)
	var b bytes.Buffer
	if err := HTML(&b, r, v, 0); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if out := os.Getenv("FLOWHUNT_HTML_DUMP"); out != "" { // to look at the page in a browser
		if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// uPlot is inline, whole, and its licence comment is the only address on the page.
	if !strings.Contains(page, uplotJS) || !strings.Contains(page, "var uPlot=function") || !strings.Contains(page, uplotCSS) {
		t.Error("uPlot is not inlined")
	}
	if !strings.HasPrefix(uplotJS, "/*! https://github.com/leeoniya/uPlot ") {
		t.Errorf("uPlot asset does not start with its licence comment: %.60q", uplotJS)
	}
	licence := uplotJS[:strings.Index(uplotJS, "*/")+2]
	rest := strings.Replace(page, licence, "", 1)
	for _, s := range []string{"http://", "https://", "src=\"http", "href=\"http", "<link"} {
		if strings.Contains(rest, s) {
			i := strings.Index(rest, s)
			t.Errorf("page refers outside itself: %q at %q", s, rest[max(0, i-60):min(len(rest), i+60)])
		}
	}
	if m := remoteRE.FindString(page); m != "" {
		t.Errorf("page has a remote reference or a data-built link: %q", m)
	}

	// Hostile names appear only JSON-escaped.
	for _, raw := range []string{"<script>alert", "<img src=x", `href="javascript`, "</script>.example"} {
		if strings.Contains(page, raw) {
			t.Errorf("page contains raw %q", raw)
		}
	}
	for _, s := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "fetch(", "import("} {
		if strings.Contains(reportJS, s) {
			t.Errorf("report.js uses %s", s)
		}
	}

	// The scripts: data, uPlot, the page's own, in that order; the data parses back to the
	// payload with the hostile strings intact; each executable script is allowed by its hash.
	scripts := scriptRE.FindAllStringSubmatch(page, -1)
	if len(scripts) != 3 || !strings.Contains(scripts[0][1], `id="data"`) || !strings.Contains(scripts[0][1], `type="application/json"`) {
		t.Fatalf("scripts: %d %q", len(scripts), scripts[0][1])
	}
	var back Payload
	if err := json.Unmarshal([]byte(scripts[0][2]), &back); err != nil {
		t.Fatalf("data does not parse: %v", err)
	}
	intact := false
	for _, h := range back.Hosts {
		for _, f := range h.Findings {
			intact = intact || strings.Contains(f.Reason, evilScript)
		}
	}
	if len(back.Hosts) != len(r.Hosts) || !intact {
		t.Errorf("data lost content: %d hosts, hostile reason intact %v", len(back.Hosts), intact)
	}
	want := HTMLPayload(r, v, 0)
	want.Generated = back.Generated
	wj, _ := json.Marshal(want)
	bj, _ := json.Marshal(back)
	if !bytes.Equal(wj, bj) {
		t.Error("embedded data differs from the payload")
	}
	csp := cspRE.FindStringSubmatch(page)
	if csp == nil {
		t.Fatal("no Content-Security-Policy")
	}
	policy := html.UnescapeString(csp[1]) // as the browser reads the attribute
	if !strings.Contains(policy, "default-src 'none'") {
		t.Errorf("policy %q", policy)
	}
	for _, s := range scripts[1:] {
		if s[1] != "" {
			t.Errorf("script with attributes %q", s[1])
		}
		if h := scriptHash(s[2]); !strings.Contains(policy, h) {
			t.Errorf("script %.40q not allowed by the policy (%s)", s[2], h)
		}
	}
	if scripts[1][2] != uplotJS || scripts[2][2] != reportJS {
		t.Error("scripts not inlined verbatim")
	}
}

// TestHTMLNoTimes: without timestamps there is no axis and no timeline, and the page still renders.
func TestHTMLNoTimes(t *testing.T) {
	agg := engine.NewAggregator()
	sh := agg.NewShard()
	src, dst := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("203.0.113.9")
	for range 10 {
		sh.Add(&flow.Record{Src: src, Dst: dst, DstPort: 443, Proto: flow.ProtoTCP})
	}
	m := agg.Merge()
	m.Apply(netscope.Default())
	f := detect.Finding{Host: src, Category: detect.Beacon, Score: 0.6, Flagged: true, Peers: []string{"203.0.113.9:443"}, Reason: "r"}
	r := &Run{Hosts: score.Rank([]detect.Finding{f}, false), Scope: netscope.Default()}
	p := HTMLPayload(r, m, 0)
	if p.Axis != nil || len(p.Hosts[0].Series) != 0 || p.Hosts[0].Findings[0].Gaps != nil || p.Hosts[0].SeriesMore != 0 {
		t.Errorf("no-time payload %+v", p)
	}
	var b bytes.Buffer
	if err := HTML(&b, r, nil, 0); err != nil {
		t.Fatal(err)
	}
}

func TestNewAxis(t *testing.T) {
	f := func(spanSeconds int64, wantStep int64) {
		t.Helper()
		first := int64(1_741_564_800 + 17)
		a := newAxis(first, first+spanSeconds)
		if a.StepSeconds != wantStep || a.Points > htmlMaxPoints || a.Start > first || a.Start+int64(a.Points)*a.StepSeconds <= first+spanSeconds {
			t.Errorf("span %d s: axis %+v, want step %d", spanSeconds, a, wantStep)
		}
	}
	f(0, 60)                 // one flow
	f(4*3600, 60)            // hours: per minute
	f(24*3600, 60)           // a day: 1,441 minutes fit
	f(2*86400, 120)          // two days
	f(7*86400, 600)          // a week
	f(30*86400, 1800)        // a month
	f(365*86400, 21600)      // a year
	f(10*365*86400, 3*86400) // ten years: whole days
}

func TestParsePeer(t *testing.T) {
	f := func(s string, ok bool, addr string, port uint16) {
		t.Helper()
		p, got := parsePeer(s)
		if got != ok || ok && (p.addr.String() != addr || p.port != port) {
			t.Errorf("parsePeer(%q) = %+v, %v", s, p, got)
		}
	}
	f("1.2.3.4:443", true, "1.2.3.4", 443)
	f("1.2.3.4", true, "1.2.3.4", 0)
	f("[2001:db8::1]:53", true, "2001:db8::1", 53)
	f("2001:db8::1", true, "2001:db8::1", 0)
	f("[::ffff:1.2.3.4]:80", true, "1.2.3.4", 80)
	f("exf1l.example", false, "", 0)
	f("", false, "", 0)
}

// TestHTMLOffice renders the office scenario as a hunt would and checks each category brings
// its plot; it logs the page's size.
func TestHTMLOffice(t *testing.T) {
	sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: 70, Days: 2, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	agg := engine.NewAggregator()
	sh := agg.NewShard()
	for i := range sc.Records {
		sh.Add(&sc.Records[i])
	}
	m := agg.Merge()
	for a, ns := range sc.Names {
		m.AddNames(a, ns...)
	}
	scope, err := netscope.Parse(sc.Truth.Internal)
	if err != nil {
		t.Fatal(err)
	}
	m.Apply(scope)
	fs, notes := detect.Run(m, detect.Defaults())
	first, last := m.Span()
	r := &Run{Hosts: score.Rank(fs, false), Scope: scope, ScopeSource: "given", InternalHosts: m.InternalHosts(),
		First: first, Last: last, Notes: notes, Ingest: &ingest.Summary{Records: int64(len(sc.Records))}}
	var b bytes.Buffer
	if err := HTML(&b, r, m, 0); err != nil {
		t.Fatal(err)
	}
	p := HTMLPayload(r, m, 0)
	plots := map[string]int{}
	for _, h := range p.Hosts {
		for _, f := range h.Findings {
			if len(f.Series) > 0 {
				plots["timeline"]++
			}
			switch {
			case f.Gaps != nil:
				plots["gaps:"+f.Category]++
			case f.Clique != nil:
				plots["clique"]++
			case f.Category == detect.OffHours && h.Heatmap != nil:
				plots["heatmap"]++
			case f.Category == detect.Scan && h.FanOut != nil:
				plots["fanout"]++
			}
		}
	}
	for _, k := range []string{"timeline", "gaps:beacon", "clique", "heatmap", "fanout"} {
		if plots[k] == 0 {
			t.Errorf("no %s plot in the office report (plots %v)", k, plots)
		}
	}
	t.Logf("office (%d records, %d hosts listed): page %d bytes, %d per host; plots %v",
		len(sc.Records), len(p.Hosts), b.Len(), b.Len()/max(1, len(p.Hosts)), plots)
	if b.Len() > 2<<20 {
		t.Errorf("office page %d bytes", b.Len())
	}
}

// bigView aggregates flows from 5,000 internal hosts to 20,000 external addresses over 30 days,
// so that every listed host's timelines fill all their buckets. Each host has a working set of
// eight destinations on four ports.
func bigView(t testing.TB, flows int) *engine.Memory {
	t.Helper()
	const hosts, externals, days = 5000, 20000, 30
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC).Unix()
	agg := engine.NewAggregator()
	const workers = 2
	var wg sync.WaitGroup
	for w := range workers {
		sh := agg.NewShard()
		wg.Add(1)
		go func() {
			defer wg.Done()
			var r flow.Record
			x := uint64(w + 1)
			for i := w; i < flows; i += workers {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				h := i % hosts
				d := (h*7 + int(x%8)*131) % externals
				r = flow.Record{
					Time: (t0 + int64(i)*days*86400/int64(flows)) * 1e9,
					Src:  netip.AddrFrom4([4]byte{10, 1, byte(h >> 8), byte(h)}),
					Dst:  netip.AddrFrom4([4]byte{198, 18, byte(d >> 8), byte(d)}), SrcPort: 40000,
					DstPort: []uint16{443, 80, 8443, 53}[x>>8%4], Proto: flow.ProtoTCP, BytesOut: 100 + x%5000, BytesIn: x % 900,
				}
				sh.Add(&r)
			}
		}()
	}
	wg.Wait()
	m := agg.Merge()
	m.Apply(netscope.Default())
	return m
}

// worstFindings gives every host of v one finding of each plotted kind, peers its busiest
// destinations, so the report is as large as the caps allow.
func worstFindings(v engine.View) []detect.Finding {
	var fs []detect.Finding
	var hosts []netip.Addr
	for h := range v.Hosts() {
		if h.Internal {
			hosts = append(hosts, h.Addr)
		}
	}
	for i, h := range hosts {
		var peers []string
		for p := range v.PairsFrom(h) {
			peers = append(peers, netip.AddrPortFrom(p.Dst, p.DstPort).String())
		}
		members := []string{h.String(), hosts[(i+1)%len(hosts)].String(), hosts[(i+2)%len(hosts)].String()}
		s := 0.5 + 0.4*float64(i%1000)/1000
		for _, c := range []string{detect.Beacon, detect.Exfil, detect.OffHours, detect.Scan, detect.P2P, detect.Miner} {
			fs = append(fs, detect.Finding{Host: h, Category: c, Score: s, Flagged: true, Peers: peers,
				Reason: "synthetic " + c + " finding for the size test", Evidence: map[string]any{"members": members, "port": 443, "flows": 123456}})
		}
	}
	return fs
}

// TestHTMLSizeCap builds the worst case the caps allow — every host of a 5,000-host view flagged
// in every plotted category, every timeline bucket busy — and checks the page stays small. The
// view has 1M flows (200k with -short).
func TestHTMLSizeCap(t *testing.T) {
	flows := 1_000_000
	if testing.Short() {
		flows = 200_000
	}
	start := time.Now()
	v := bigView(t, flows)
	built := time.Since(start)
	fs := worstFindings(v)
	first, last := v.Span()
	r := &Run{Hosts: score.Rank(fs, false), Scope: v.Scope(), ScopeSource: "default", InternalHosts: v.InternalHosts(), First: first, Last: last}
	start = time.Now()
	var b bytes.Buffer
	if err := HTML(&b, r, v, 0); err != nil {
		t.Fatal(err)
	}
	rendered := time.Since(start)
	p := HTMLPayload(r, v, 0)
	if len(p.Hosts) != DefaultHTMLHosts || p.MoreHosts != len(r.Hosts)-DefaultHTMLHosts {
		t.Errorf("listed %d, more %d", len(p.Hosts), p.MoreHosts)
	}
	series := 0
	for _, h := range p.Hosts {
		series += len(h.Series)
		if len(h.Series) > htmlSeriesTop {
			t.Errorf("%s: %d series", h.IP, len(h.Series))
		}
	}
	t.Logf("%d flows, %d hosts ranked (view built in %v): page %d bytes (%d listed, %d series, axis %+v), rendered in %v",
		flows, len(r.Hosts), built.Round(time.Millisecond), b.Len(), len(p.Hosts), series, *p.Axis, rendered.Round(time.Millisecond))
	if b.Len() > 5<<20 {
		t.Errorf("page is %d bytes, want under 5 MB", b.Len())
	}
	if per := (b.Len() - len(uplotJS) - len(reportJS)) / len(p.Hosts); per > 24<<10 {
		t.Errorf("%d bytes per listed host", per)
	}
}

func BenchmarkHTML(b *testing.B) {
	v := bigView(b, 1_000_000)
	fs := worstFindings(v)
	first, last := v.Span()
	r := &Run{Hosts: score.Rank(fs, false), Scope: v.Scope(), InternalHosts: v.InternalHosts(), First: first, Last: last}
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := HTML(&buf, r, v, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "page-bytes")
}

// TestHeatmapZone checks that the heatmap's rows and columns are days and hours of the hunt's
// time zone: an hour in UTC lands in the local hour it starts in, across midnight, and in a
// half-hour zone.
func TestHeatmapZone(t *testing.T) {
	day := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC).Unix() / 3600
	hourly := []engine.HourCount{{Hour: day + 21, Flows: 3}, {Hour: day + 22, Flows: 5}, {Hour: day + 24 + 1, Flows: 7}}
	jer, err := time.LoadLocation("Asia/Jerusalem") // UTC+2 in early March 2025
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	kol, _ := time.LoadLocation("Asia/Kolkata") // UTC+5:30
	tests := []struct {
		loc      *time.Location
		zone     string
		firstDay int64 // wall-clock Unix s of the first row
		cells    map[[2]int]uint32
	}{
		{nil, "UTC", day * 3600, map[[2]int]uint32{{0, 21}: 3, {0, 22}: 5, {1, 1}: 7}},
		{jer, "Asia/Jerusalem", day * 3600, map[[2]int]uint32{{0, 23}: 3, {1, 0}: 5, {1, 3}: 7}},
		{kol, "Asia/Kolkata", (day + 24) * 3600, map[[2]int]uint32{{0, 2}: 3, {0, 3}: 5, {0, 6}: 7}},
	}
	for _, tt := range tests {
		hm := heatmap(hourly, tt.loc)
		if hm.Zone != tt.zone || hm.FirstDay != tt.firstDay {
			t.Errorf("%s: zone %q first day %d, want %q %d", tt.zone, hm.Zone, hm.FirstDay, tt.zone, tt.firstDay)
		}
		for d, row := range hm.Counts {
			for h, n := range row {
				if want := tt.cells[[2]int{d, h}]; n != want {
					t.Errorf("%s: day %d hour %d = %d, want %d", tt.zone, d, h, n, want)
				}
			}
		}
	}
}
