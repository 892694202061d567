package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/score"
)

// The page is one file: uPlot (MIT, assets/uPlot.LICENSE), the page's own script and styles, and
// the data are all inlined, so it opens from file:// with no network.
var (
	//go:embed assets/uPlot.iife.min.js
	uplotJS string
	//go:embed assets/uPlot.min.css
	uplotCSS string
	//go:embed assets/report.js
	reportJS string
	//go:embed assets/report.css
	reportCSS string
	//go:embed assets/live.js
	liveJS string
	//go:embed assets/html.tmpl
	pageText string

	pageTmpl = template.Must(template.New("html.tmpl").Parse(pageText))
)

// Size limits of the HTML report. A page must open fast whatever the input: at most maxHosts
// hosts in full, plots sampled to at most htmlMaxPoints points, and a bounded number of pair
// series per host, so the page is a few MB at most (about 3 MB in the worst case: every listed
// host with full series of five-digit counts).
const (
	// DefaultHTMLHosts is how many hosts the page lists in full by default.
	DefaultHTMLHosts = 200
	// htmlMaxPoints caps the points of one plot: timeline buckets, histogram bins, ports.
	htmlMaxPoints = 1500
	// htmlSeriesTop is how many suspicious pairs are plotted per host for the highest-ranked
	// htmlDetailedHosts hosts; lower-ranked hosts get htmlSeriesRest.
	htmlSeriesTop     = 4
	htmlSeriesRest    = 1
	htmlDetailedHosts = 50
	// htmlMaxFindings, htmlMaxPeers and htmlMaxFiles cap lists that grow with the input.
	htmlMaxFindings = 25
	htmlMaxPeers    = 20
	htmlMaxFiles    = 100
	// htmlMaxDays caps the heatmap's rows (the last days of the span are shown).
	htmlMaxDays = 92
	// htmlMaxMembers caps the p2p clique members drawn.
	htmlMaxMembers = 16
	// htmlGapBins caps the inter-arrival histogram's bins.
	htmlGapBins = 60
)

// Payload is everything the HTML page shows. It goes into the page as JSON, and the page's script
// builds the DOM from it; every log-derived string stays data and is inserted as text.
type Payload struct {
	Title     string     `json:"title"`
	Generated string     `json:"generated,omitempty"` // RFC 3339; empty in tests
	Summary   Summary    `json:"summary"`
	FilesMore int        `json:"files_more,omitempty"` // files not listed in summary.files
	Fields    HTMLFields `json:"fields"`
	// Axis is the time axis every timeline shares: the whole span in equal buckets. Nil when the
	// input had no timestamps.
	Axis       *HTMLAxis  `json:"axis,omitempty"`
	Categories []string   `json:"categories"` // categories with a finding on the page, contract order
	Hosts      []HTMLHost `json:"hosts"`
	// MoreHosts is how many ranked hosts were left out (lower scores), MoreTopScore the best of them.
	MoreHosts    int        `json:"more_hosts"`
	MoreTopScore float64    `json:"more_top_score,omitempty"`
	Limits       HTMLLimits `json:"limits"`
	// Live marks the page flowhunt serve sends: it may ask its server for a pair's raw flows.
	Live bool `json:"live,omitempty"`
}

// HTMLFields says which optional fields the input had, so the page can say why a plot is missing.
type HTMLFields struct {
	Times   bool `json:"times"`
	Replies bool `json:"replies"`
}

// HTMLLimits are the caps the payload was built with, so the page can say what it left out.
type HTMLLimits struct {
	Hosts          int `json:"hosts"`
	Points         int `json:"points"`
	SeriesTop      int `json:"series_top"`
	SeriesRest     int `json:"series_rest"`
	DetailedHosts  int `json:"detailed_hosts"`
	MaxPairSeconds int `json:"max_pair_seconds"`
}

// HTMLAxis is a time axis of Points buckets of StepSeconds, the first starting at Start (Unix s).
type HTMLAxis struct {
	Start       int64 `json:"start"`
	StepSeconds int64 `json:"step_s"`
	Points      int   `json:"points"`
}

// HTMLHost is one ranked host with its findings and the data of its plots.
type HTMLHost struct {
	Rank       int      `json:"rank"`
	IP         string   `json:"ip"`
	Score      float64  `json:"score"`
	Flagged    bool     `json:"flagged"`
	Categories []string `json:"categories"`
	// What the host did over the whole input (zero when the view does not know the host).
	FlowsOut      int64  `json:"flows_out"`
	FlowsIn       int64  `json:"flows_in"`
	Peers         int    `json:"peers"`
	Ports         int    `json:"ports"`
	BytesSent     uint64 `json:"bytes_sent"`
	BytesReceived uint64 `json:"bytes_received"`

	Findings     []HTMLFinding `json:"findings"`
	FindingsMore int           `json:"findings_more,omitempty"`
	// Series are the timelines of the host's suspicious pairs on the payload's Axis; findings
	// refer to them by index. SeriesMore counts suspicious pairs left unplotted by the size cap.
	Series     []HTMLSeries `json:"series"`
	SeriesMore int          `json:"series_more,omitempty"`
	Heatmap    *HTMLHeatmap `json:"heatmap,omitempty"` // with an off-hours finding
	FanOut     *HTMLFanOut  `json:"fanout,omitempty"`  // with a scan finding
}

// HTMLFinding is one finding with the plots that support it.
type HTMLFinding struct {
	Category  string         `json:"category"`
	Score     float64        `json:"score"`
	Flagged   bool           `json:"flagged"`
	Peers     []string       `json:"peers"`
	PeersMore int            `json:"peers_more,omitempty"`
	Reason    string         `json:"reason"`
	Evidence  map[string]any `json:"evidence"`
	Series    []int          `json:"series,omitempty"` // indexes into the host's Series
	Gaps      *HTMLGaps      `json:"gaps,omitempty"`   // beacon and c2: inter-arrival histogram
	Clique    *HTMLClique    `json:"clique,omitempty"` // p2p: who talks to whom
}

// HTMLSeries is one suspicious pair's activity: distinct flow-start seconds per Axis bucket, over
// every pair between the host and Peer (on Peer's port when it names one).
type HTMLSeries struct {
	Peer       string   `json:"peer"`
	Inbound    bool     `json:"inbound,omitempty"` // flows from Peer to the host (a C2 server's bots)
	Names      []string `json:"names,omitempty"`   // names seen for the peer, at most 3
	Prevalence int      `json:"prevalence"`        // internal hosts that reached the peer
	Flows      int64    `json:"flows"`
	BytesOut   uint64   `json:"bytes_out"` // bytes the originator sent
	Seconds    int      `json:"seconds"`   // distinct flow-start seconds
	Capped     bool     `json:"capped,omitempty"`
	Counts     []uint32 `json:"counts"`
}

// HTMLGaps is a histogram of the seconds between consecutive distinct flow-start seconds:
// Counts[i] gaps in [FromSeconds + i·BinSeconds, FromSeconds + (i+1)·BinSeconds); Under gaps
// shorter than FromSeconds, Over gaps at or past the last bin.
type HTMLGaps struct {
	FromSeconds   int64 `json:"from_s"`
	BinSeconds    int64 `json:"bin_s"`
	Counts        []int `json:"counts"`
	Under         int   `json:"under"`
	Over          int   `json:"over"`
	Gaps          int   `json:"gaps"`
	MedianSeconds int64 `json:"median_s"`
}

// HTMLHeatmap is flows the host originated per UTC hour of day (columns) and day (rows): Counts
// all of them (Host.Hourly), PeerCounts the distinct flow-start seconds to the peers of its
// off-hours findings.
type HTMLHeatmap struct {
	// Zone is the time zone of the rows and columns (the hunt's --tz), "UTC" by default.
	Zone string `json:"zone"`
	// FirstDay is the first row's midnight in Zone, as the Unix seconds of that wall-clock time
	// read as UTC, so the page can label days and hours with UTC date functions.
	FirstDay   int64        `json:"first_day"`
	Counts     [][24]uint32 `json:"counts"`
	PeerCounts [][24]uint32 `json:"peer_counts,omitempty"`
	Peers      []string     `json:"peers,omitempty"`
	DaysMore   int          `json:"days_more,omitempty"` // earlier days left out
}

// HTMLFanOut is how many distinct destinations the host reached on each port, ports ascending.
type HTMLFanOut struct {
	Ports      []uint16 `json:"ports"`
	Dsts       []int    `json:"dsts"`
	PortsTotal int      `json:"ports_total"`
	DstsTotal  int      `json:"dsts_total"`
}

// HTMLClique is a p2p group: Flows[i][j] flows from Members[i] to Members[j] on the group's port.
type HTMLClique struct {
	Port        string    `json:"port"`
	Members     []string  `json:"members"`
	Flows       [][]int64 `json:"flows"`
	MembersMore int       `json:"members_more,omitempty"`
}

// HTML writes the self-contained HTML report of a run: summary, ranked host table and per-host
// findings with plots. maxHosts ≤ 0 uses DefaultHTMLHosts.
func HTML(w io.Writer, r *Run, v engine.View, maxHosts int) error {
	p := HTMLPayload(r, v, maxHosts)
	p.Generated = time.Now().UTC().Format(time.RFC3339)
	return renderHTML(w, p)
}

// LiveHTML writes the page flowhunt serve sends: the report's page plus a script that fetches
// the raw flows of a finding's pairs from the same server (and only from it).
func LiveHTML(w io.Writer, r *Run, v engine.View, maxHosts int) error {
	p := HTMLPayload(r, v, maxHosts)
	p.Generated = time.Now().UTC().Format(time.RFC3339)
	p.Live = true
	return renderHTML(w, p)
}

func renderHTML(w io.Writer, p Payload) error {
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	// encoding/json escapes <, > and & (and U+2028/2029), so no log content can close the
	// <script> element that holds the data; the check keeps it so.
	if bytes.Contains(data, []byte("</")) || bytes.Contains(data, []byte("<!--")) {
		return fmt.Errorf("html report: payload JSON not escaped for HTML")
	}
	page := struct {
		Title     string
		CSP       string
		UPlotCSS  template.CSS
		ReportCSS template.CSS
		UPlotJS   template.JS
		ReportJS  template.JS
		LiveJS    template.JS
		Data      template.JS
	}{
		Title:    p.Title,
		CSP:      PageCSP(p.Live),
		UPlotCSS: template.CSS(uplotCSS), ReportCSS: template.CSS(reportCSS),
		UPlotJS: template.JS(uplotJS), ReportJS: template.JS(reportJS), Data: template.JS(data),
	}
	if p.Live {
		page.LiveJS = template.JS(liveJS)
	}
	var b bytes.Buffer
	if err := pageTmpl.Execute(&b, page); err != nil {
		return fmt.Errorf("html report: %w", err)
	}
	_, err = w.Write(b.Bytes())
	return err
}

// PageCSP is the page's Content-Security-Policy. Only the page's own scripts may run (by hash):
// an injected handler such as onerror=... would not. The offline page may fetch nothing; the
// live page may fetch from its own server only.
func PageCSP(live bool) string {
	csp := "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src " +
		scriptHash(uplotJS) + " " + scriptHash(reportJS)
	if live {
		csp += " " + scriptHash(liveJS) + "; connect-src 'self'; form-action 'none'; base-uri 'none'"
	}
	return csp
}

// scriptHash is a CSP source expression allowing one inline script.
func scriptHash(js string) string {
	sum := sha256.Sum256([]byte(js))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// HTMLPayload gathers what the HTML page shows. Hosts past maxHosts (≤ 0: DefaultHTMLHosts) are
// only counted; v supplies the plots and may be nil (no plots).
func HTMLPayload(r *Run, v engine.View, maxHosts int) Payload {
	if maxHosts <= 0 {
		maxHosts = DefaultHTMLHosts
	}
	sum := Build(&Run{Ingest: r.Ingest, Scope: r.Scope, ScopeSource: r.ScopeSource, InternalHosts: r.InternalHosts,
		First: r.First, Last: r.Last, Notes: r.Notes, Version: r.Version}).Summary
	for _, h := range r.Hosts {
		if h.Flagged {
			sum.Flagged++
		}
	}
	p := Payload{Title: "flowhunt report", Summary: sum, Categories: []string{}, Hosts: []HTMLHost{},
		Limits: HTMLLimits{Hosts: maxHosts, Points: htmlMaxPoints, SeriesTop: htmlSeriesTop, SeriesRest: htmlSeriesRest,
			DetailedHosts: htmlDetailedHosts, MaxPairSeconds: engine.MaxPairTimes}}
	if sum.From != "" {
		p.Title = "flowhunt report, " + sum.From[:10]
		if sum.To[:10] != sum.From[:10] {
			p.Title += " to " + sum.To[:10]
		}
	}
	if len(p.Summary.Files) > htmlMaxFiles {
		p.FilesMore = len(p.Summary.Files) - htmlMaxFiles
		p.Summary.Files = p.Summary.Files[:htmlMaxFiles]
	}
	if v != nil {
		fs := v.Fields()
		p.Fields = HTMLFields{Times: fs.Times, Replies: fs.Replies}
		if first, last := v.Span(); fs.Times && last >= first {
			p.Axis = newAxis(first/1e9, last/1e9)
		}
	}
	listed := r.Hosts[:min(len(r.Hosts), maxHosts)]
	if rest := r.Hosts[len(listed):]; len(rest) > 0 {
		p.MoreHosts = len(rest)
		for _, h := range rest {
			p.MoreTopScore = max(p.MoreTopScore, round3(h.Score))
		}
	}
	seen := map[string]bool{}
	for i := range listed {
		series := htmlSeriesTop
		if i >= htmlDetailedHosts {
			series = htmlSeriesRest
		}
		hh := htmlHost(&listed[i], i+1, v, p.Axis, series, r.Location)
		for _, f := range hh.Findings {
			seen[f.Category] = true
		}
		p.Hosts = append(p.Hosts, hh)
	}
	for _, c := range detect.Categories {
		if seen[c] {
			p.Categories = append(p.Categories, c)
		}
	}
	return p
}

// newAxis splits [first, last] (Unix s) into at most htmlMaxPoints buckets of a round length,
// one minute at the finest.
func newAxis(first, last int64) *HTMLAxis {
	steps := []int64{60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400}
	span := last - first
	step := steps[len(steps)-1]
	for _, s := range steps {
		if span/s+2 <= htmlMaxPoints {
			step = s
			break
		}
	}
	for span/step+2 > htmlMaxPoints {
		step += 86400
	}
	start := floorTo(first, step)
	return &HTMLAxis{Start: start, StepSeconds: step, Points: int((last-start)/step) + 1}
}

func floorTo(x, step int64) int64 {
	q := x / step
	if x%step != 0 && x < 0 {
		q--
	}
	return q * step
}

// peerTarget is a finding's peer parsed back into an address and an optional port.
type peerTarget struct {
	text string
	addr netip.Addr
	port uint16 // 0: every port
}

// parsePeer reads "ip:port", "[v6]:port" or "ip"; names and anything else give ok false.
func parsePeer(s string) (peerTarget, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return peerTarget{text: s, addr: ap.Addr().Unmap(), port: ap.Port()}, true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return peerTarget{text: s, addr: a.Unmap()}, true
	}
	return peerTarget{}, false
}

// pairsBetween returns the pairs host originated to t (on t's port when it has one); when there
// are none, the pairs t originated to host, with inbound set.
func pairsBetween(v engine.View, host netip.Addr, t peerTarget) (pairs []*engine.Pair, inbound bool) {
	match := func(src, dst netip.Addr) []*engine.Pair {
		var out []*engine.Pair
		for p := range v.PairsFrom(src) {
			if p.Dst == dst && (t.port == 0 || p.DstPort == t.port) {
				out = append(out, p)
			}
		}
		return out
	}
	if ps := match(host, t.addr); len(ps) > 0 {
		return ps, false
	}
	if ps := match(t.addr, host); len(ps) > 0 {
		return ps, true
	}
	return nil, false
}

// distinctSeconds merges the pairs' distinct flow-start seconds into one sorted set.
func distinctSeconds(pairs []*engine.Pair) (secs []uint32, capped bool) {
	if len(pairs) == 1 {
		return pairs[0].Times, pairs[0].TimesCapped
	}
	for _, p := range pairs {
		secs = append(secs, p.Times...)
		capped = capped || p.TimesCapped
	}
	slices.Sort(secs)
	return slices.Compact(secs), capped
}

// timelineCategories are the categories whose peers get a timeline: a scan's peers are single
// probes (its plot is the fan-out) and a DNS tunnel's are domains.
func timelineCategory(c string) bool { return c != detect.Scan && c != detect.DNSTunnel }

func htmlHost(h *score.Host, rank int, v engine.View, axis *HTMLAxis, maxSeries int, loc *time.Location) HTMLHost {
	hh := HTMLHost{Rank: rank, IP: h.Addr.String(), Score: round3(h.Score), Flagged: h.Flagged,
		Categories: h.Categories(), Findings: []HTMLFinding{}, Series: []HTMLSeries{}}
	if hh.Categories == nil {
		hh.Categories = []string{}
	}
	findings := h.Findings
	if len(findings) > htmlMaxFindings {
		hh.FindingsMore = len(findings) - htmlMaxFindings
		findings = findings[:htmlMaxFindings]
	}
	for _, f := range findings {
		hf := HTMLFinding{Category: f.Category, Score: round3(f.Score), Flagged: f.Flagged, Peers: f.Peers,
			Reason: f.Reason, Evidence: f.Evidence}
		if len(hf.Peers) > htmlMaxPeers {
			hf.PeersMore = len(hf.Peers) - htmlMaxPeers
			hf.Peers = hf.Peers[:htmlMaxPeers]
		}
		if hf.Peers == nil {
			hf.Peers = []string{}
		}
		if hf.Evidence == nil {
			hf.Evidence = map[string]any{}
		}
		hh.Findings = append(hh.Findings, hf)
	}
	if v == nil {
		return hh
	}
	if vh, ok := v.Host(h.Addr); ok {
		hh.FlowsOut, hh.FlowsIn, hh.Peers, hh.Ports = vh.ConnsOut, vh.ConnsIn, vh.Peers, vh.DstPorts
		hh.BytesSent, hh.BytesReceived = vh.BytesSent, vh.BytesReceived
		var peers []string
		for _, f := range hh.Findings {
			if f.Category == detect.OffHours {
				peers = append(peers, f.Peers...)
			}
		}
		if len(peers) > 0 {
			hh.Heatmap = heatmap(vh.Hourly, loc)
			hh.Heatmap.addPeers(v, h.Addr, peers, loc)
		}
	}
	for _, f := range findings {
		if f.Category == detect.Scan {
			hh.FanOut = fanOut(v, h.Addr)
			break
		}
	}

	// Timelines: the first peer of every finding, then the other peers of the findings in rank
	// order, while the budget lasts; a peer shared by findings is plotted once.
	index := map[string]int{}
	pending := 0
	plot := func(i int, peer string) {
		t, ok := parsePeer(peer)
		if !ok {
			return
		}
		key := t.addr.String() + "|" + strconv.Itoa(int(t.port))
		if k, done := index[key]; done {
			if k >= 0 {
				hh.Findings[i].Series = append(hh.Findings[i].Series, k)
			}
			return
		}
		if axis == nil || len(hh.Series) >= maxSeries {
			index[key] = -1
			pending++
			return
		}
		s, ok := seriesOf(v, h.Addr, t, axis)
		if !ok {
			index[key] = -1
			return
		}
		index[key] = len(hh.Series)
		hh.Findings[i].Series = append(hh.Findings[i].Series, len(hh.Series))
		hh.Series = append(hh.Series, s)
	}
	for i, f := range hh.Findings {
		if timelineCategory(f.Category) && len(f.Peers) > 0 {
			plot(i, f.Peers[0])
		}
	}
	for i, f := range hh.Findings {
		if timelineCategory(f.Category) && len(f.Peers) > 1 {
			for _, peer := range f.Peers[1:] {
				plot(i, peer)
			}
		}
	}
	if axis != nil {
		hh.SeriesMore = pending
	}

	for i, f := range findings {
		switch f.Category {
		case detect.Beacon, detect.C2:
			if axis != nil {
				hh.Findings[i].Gaps = gapsOf(v, h.Addr, f.Peers)
			}
		case detect.P2P:
			hh.Findings[i].Clique = cliqueOf(v, h.Addr, f)
		}
	}
	return hh
}

// seriesOf counts the distinct flow-start seconds between host and t per axis bucket.
func seriesOf(v engine.View, host netip.Addr, t peerTarget, axis *HTMLAxis) (HTMLSeries, bool) {
	pairs, inbound := pairsBetween(v, host, t)
	if len(pairs) == 0 {
		return HTMLSeries{}, false
	}
	s := HTMLSeries{Peer: t.text, Inbound: inbound, Prevalence: v.Prevalence(t.addr), Counts: make([]uint32, axis.Points)}
	if names := v.Names(t.addr); len(names) > 0 {
		s.Names = names[:min(len(names), 3)]
	}
	for _, p := range pairs {
		s.Flows += p.Count
		s.BytesOut += p.BytesOut
	}
	secs, capped := distinctSeconds(pairs)
	s.Seconds, s.Capped = len(secs), capped
	for _, sec := range secs {
		b := (int64(sec) - axis.Start) / axis.StepSeconds
		s.Counts[min(max(b, 0), int64(axis.Points-1))]++
	}
	return s, true
}

// gapsOf histograms the gaps between the distinct flow-start seconds of the host's flows to its
// finding's peers (all of them together: a beacon may rotate addresses). Bins are linear and
// round, from 0.75 × the 5th percentile gap to 1.25 × the 95th, so the period's peak and its
// jitter fill the plot; shorter and longer gaps (the pauses between bursts) are counted apart.
func gapsOf(v engine.View, host netip.Addr, peers []string) *HTMLGaps {
	var pairs []*engine.Pair
	seen := map[*engine.Pair]bool{}
	for _, s := range peers {
		t, ok := parsePeer(s)
		if !ok {
			continue
		}
		ps, inbound := pairsBetween(v, host, t)
		if inbound {
			continue // a C2 server's many bots: their merged calls have no period
		}
		for _, p := range ps {
			if !seen[p] {
				seen[p] = true
				pairs = append(pairs, p)
			}
		}
	}
	secs, _ := distinctSeconds(pairs)
	if len(secs) < 3 {
		return nil
	}
	gaps := make([]int64, len(secs)-1)
	for i := 1; i < len(secs); i++ {
		gaps[i-1] = int64(secs[i]) - int64(secs[i-1])
	}
	sorted := slices.Clone(gaps)
	slices.Sort(sorted)
	pct := func(q int) int64 { return sorted[(len(sorted)-1)*q/100] }
	g := &HTMLGaps{Gaps: len(gaps), MedianSeconds: sorted[len(sorted)/2]}
	lo := int64(0.75 * float64(pct(5)))
	hi := max(int64(math.Ceil(1.25*float64(pct(95)))), lo+10)
	g.BinSeconds = niceBin(hi-lo, htmlGapBins)
	g.FromSeconds = lo / g.BinSeconds * g.BinSeconds
	bins := int((hi - g.FromSeconds + g.BinSeconds - 1) / g.BinSeconds)
	g.Counts = make([]int, bins)
	for _, d := range gaps {
		switch b := (d - g.FromSeconds) / g.BinSeconds; {
		case d < g.FromSeconds:
			g.Under++
		case b < int64(bins):
			g.Counts[b]++
		default:
			g.Over++
		}
	}
	return g
}

// niceBin is the smallest 1-2-5 step that covers upper in at most n bins.
func niceBin(upper int64, n int) int64 {
	for m := int64(1); ; m *= 10 {
		for _, k := range []int64{1, 2, 5} {
			if upper <= k*m*int64(n) {
				return k * m
			}
		}
	}
}

// heatmap lays out Hourly as days × 24 UTC hours, the last htmlMaxDays days at most.
func heatmap(hourly []engine.HourCount, loc *time.Location) *HTMLHeatmap {
	if len(hourly) == 0 {
		return nil
	}
	if loc == nil {
		loc = time.UTC
	}
	// local is an hour's start as wall-clock seconds in loc; a half-hour zone puts an hour in
	// the local hour it starts in.
	local := func(hour int64) int64 { return wallClock(hour*3600, loc) / 3600 }
	firstDay, lastDay := floorTo(local(hourly[0].Hour), 24)/24, floorTo(local(hourly[len(hourly)-1].Hour), 24)/24
	hm := &HTMLHeatmap{Zone: loc.String()}
	if days := lastDay - firstDay + 1; days > htmlMaxDays {
		hm.DaysMore = int(days - htmlMaxDays)
		firstDay = lastDay - htmlMaxDays + 1
	}
	hm.FirstDay = firstDay * 86400
	hm.Counts = make([][24]uint32, lastDay-firstDay+1)
	for _, hc := range hourly {
		h := local(hc.Hour)
		day := floorTo(h, 24) / 24
		if day < firstDay {
			continue
		}
		hm.Counts[day-firstDay][h-day*24] += hc.Flows
	}
	return hm
}

// wallClock returns the wall-clock time in loc at Unix second unix, as seconds since the epoch
// read as UTC.
func wallClock(unix int64, loc *time.Location) int64 {
	_, off := time.Unix(unix, 0).In(loc).Zone()
	return unix + int64(off)
}

// addPeers fills PeerCounts with the distinct flow-start seconds from host to peers.
func (hm *HTMLHeatmap) addPeers(v engine.View, host netip.Addr, peers []string, loc *time.Location) {
	if hm == nil {
		return
	}
	var pairs []*engine.Pair
	for _, s := range peers {
		if t, ok := parsePeer(s); ok {
			if ps, inbound := pairsBetween(v, host, t); !inbound && len(ps) > 0 {
				pairs = append(pairs, ps...)
				hm.Peers = append(hm.Peers, s)
			}
		}
	}
	secs, _ := distinctSeconds(slices.Compact(pairs))
	if len(secs) == 0 {
		return
	}
	hm.PeerCounts = make([][24]uint32, len(hm.Counts))
	if loc == nil {
		loc = time.UTC
	}
	for _, sec := range secs {
		w := wallClock(int64(sec), loc)
		d := floorTo(w-hm.FirstDay, 86400) / 86400
		if w < hm.FirstDay || d >= int64(len(hm.PeerCounts)) {
			continue
		}
		hm.PeerCounts[d][(w-hm.FirstDay-d*86400)/3600]++
	}
}

// fanOut counts the distinct destinations host reached per port (any protocol). When there are
// more than htmlMaxPoints ports, the ports with the most destinations are kept.
func fanOut(v engine.View, host netip.Addr) *HTMLFanOut {
	perPort := map[uint16]int{}
	var prevDst netip.Addr
	var prevPort uint16
	dsts := 0
	for p := range v.PairsFrom(host) {
		// Pairs come grouped by destination; a (dst, port) repeats only across protocols.
		if p.Dst != prevDst {
			dsts++
		} else if p.DstPort == prevPort {
			continue
		}
		perPort[p.DstPort]++
		prevDst, prevPort = p.Dst, p.DstPort
	}
	if len(perPort) == 0 {
		return nil
	}
	ports := make([]uint16, 0, len(perPort))
	for port := range perPort {
		ports = append(ports, port)
	}
	if len(ports) > htmlMaxPoints {
		slices.SortFunc(ports, func(a, b uint16) int {
			if c := cmp.Compare(perPort[b], perPort[a]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		ports = ports[:htmlMaxPoints]
	}
	slices.Sort(ports)
	fo := &HTMLFanOut{Ports: ports, Dsts: make([]int, len(ports)), PortsTotal: len(perPort), DstsTotal: dsts}
	for i, port := range ports {
		fo.Dsts[i] = perPort[port]
	}
	return fo
}

// cliqueOf tabulates the flows among a p2p finding's members (evidence "members", else the host
// and its peers) on the group's port (evidence "port", else the peers' port).
func cliqueOf(v engine.View, host netip.Addr, f detect.Finding) *HTMLClique {
	var members []netip.Addr
	var port uint16
	switch ms := f.Evidence["members"].(type) {
	case []string:
		for _, m := range ms {
			if a, err := netip.ParseAddr(m); err == nil {
				members = append(members, a.Unmap())
			}
		}
	case []any:
		for _, m := range ms {
			if s, ok := m.(string); ok {
				if a, err := netip.ParseAddr(s); err == nil {
					members = append(members, a.Unmap())
				}
			}
		}
	}
	if len(members) == 0 {
		members = append(members, host)
		for _, s := range f.Peers {
			if t, ok := parsePeer(s); ok {
				members = append(members, t.addr)
				port = cmp.Or(port, t.port)
			}
		}
	}
	switch x := f.Evidence["port"].(type) {
	case uint16:
		port = x
	case int:
		port = uint16(x)
	case float64:
		port = uint16(x)
	}
	slices.SortFunc(members, netip.Addr.Compare)
	members = slices.Compact(members)
	if len(members) < 2 {
		return nil
	}
	c := &HTMLClique{Port: "any port"}
	if port != 0 {
		c.Port = strconv.Itoa(int(port))
		if proto, ok := f.Evidence["proto"].(string); ok {
			c.Port += "/" + proto
		}
	}
	if len(members) > htmlMaxMembers {
		c.MembersMore = len(members) - htmlMaxMembers
		// Keep the host itself among those drawn.
		keep := members[:htmlMaxMembers-1]
		if !slices.Contains(keep, host) {
			keep = append(keep, host)
			slices.SortFunc(keep, netip.Addr.Compare)
		} else {
			keep = members[:htmlMaxMembers]
		}
		members = keep
	}
	idx := make(map[netip.Addr]int, len(members))
	for i, m := range members {
		idx[m] = i
		c.Members = append(c.Members, m.String())
	}
	c.Flows = make([][]int64, len(members))
	for i, m := range members {
		c.Flows[i] = make([]int64, len(members))
		for p := range v.PairsFrom(m) {
			if j, ok := idx[p.Dst]; ok && (port == 0 || p.DstPort == port) {
				c.Flows[i][j] += p.Count
			}
		}
	}
	return c
}
