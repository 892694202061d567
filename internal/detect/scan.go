package detect

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
)

// ScanConfig tunes the scan detector.
type ScanConfig struct {
	// WindowSeconds is the sliding window fast scans are counted in: Zeek's policy/misc/scan.zeek
	// tracks failed attempts over Scan::addr_scan_interval = Scan::port_scan_interval = 5 min.
	WindowSeconds int64 `yaml:"window_seconds"`
	// MinHosts is how many unanswered internal hosts on one port inside a window make a horizontal
	// scan (Zeek's Scan::addr_scan_threshold, 25).
	MinHosts int `yaml:"min_hosts"`
	// MinHostsExternal is the same for external destinations, four times higher: a browser
	// behind an IP blocklist can fail on a few dozen ad servers in minutes.
	MinHostsExternal int `yaml:"min_hosts_external"`
	// MinPorts is how many unanswered ports on one host inside a window make a vertical scan
	// (Zeek's Scan::port_scan_threshold, 15).
	MinPorts int `yaml:"min_ports"`
	// MinPortsNoReplies: when the input cannot tell answered from unanswered connections (CSV,
	// firewall passes), this many ports on one host inside a window make a vertical scan on
	// fan-out alone.
	MinPortsNoReplies int `yaml:"min_ports_no_replies"`
	// MinSlowTargets is how many unanswered probe targets (distinct destination and port) over
	// the whole capture make a slow scan, however spread out.
	MinSlowTargets int `yaml:"min_slow_targets"`
	// MinSlowPorts: a slow scan of external destinations must also spread over this many ports
	// (blocked browsing fails on many sites but only on 80 and 443). Internal targets need not.
	MinSlowPorts int `yaml:"min_slow_ports"`
	// MaxProbeFlows: a pair with at most this many flows can be a probe; more is a service in use.
	MaxProbeFlows int64 `yaml:"max_probe_flows"`
	// MinUnanswered is the share of targets that must go unanswered, the midpoint of Threshold
	// Random Walk's success probabilities (Jung et al. 2004: 0.8 for benign hosts, 0.2 for
	// scanners).
	MinUnanswered float64 `yaml:"min_unanswered"`
	// DarkMaxPrevalence: an internal address that never originated a flow and that at most this
	// many internal hosts contacted is unused address space ("dark"); only scanners go there.
	DarkMaxPrevalence int `yaml:"dark_max_prevalence"`
}

// DefaultScan returns the default scan thresholds.
func DefaultScan() ScanConfig {
	return ScanConfig{
		WindowSeconds: 300, MinHosts: 25, MinHostsExternal: 100, MinPorts: 15, MinPortsNoReplies: 100,
		MinSlowTargets: 50, MinSlowPorts: 10, MaxProbeFlows: 3, MinUnanswered: 0.5, DarkMaxPrevalence: 3,
	}
}

// scanReplies is what the input says about answers.
type scanReplies int

const (
	scanRepliesBytes    scanReplies = iota // bytes or packets back: unanswered = nothing came back
	scanRepliesFirewall                    // a firewall's pass/block only: unanswered = blocked
	scanRepliesNone                        // neither (plain CSV): only dark addresses tell
)

func (r scanReplies) String() string {
	return [...]string{"bytes", "firewall", "none"}[r]
}

// scanTarget is one pair of the source being examined.
type scanTarget struct {
	dst        netip.Addr
	first      int64 // Unix seconds of the first flow
	dport      uint16
	proto      uint8
	external   bool
	unanswered bool
	probe      bool // at most MaxProbeFlows flows
	blocked    bool
	dark       bool
	reply      bool // UDP to a client's ephemeral port: an answer to its request (see Scans)
}

// scanHit is the strongest pattern of one kind for one source.
type scanHit struct {
	kind        string // horizontal, vertical, slow
	flagged     bool
	noReplies   bool // decided on fan-out alone (vertical without reply data)
	targets     int  // distinct targets in the group
	unanswered  int
	blocked     int
	dark        int
	windowMax   int // most targets (unanswered, or probes on fan-out alone) inside one window
	first, last int64
	dst         netip.Addr // vertical victim
	dport       uint16     // horizontal port
	proto       uint8
	hosts       int // slow: distinct hosts and ports probed
	ports       int
	peers       []string
	min         int // the threshold windowMax was held to
}

// Scans flags internal hosts that probe many hosts on one port (horizontal), many ports on one
// host (vertical), or many host-port targets spread over hours or days (slow).
//
// Unanswered: with reply data (Zeek, NetFlow/IPFIX biflows, eve.json) a pair is unanswered when
// a firewall blocked it (at least half its flows: one blocked probe to a port the host also uses
// every day does not make the pair a probe) or nothing came back: PktsIn ≤ Count (at most one
// packet per attempt, the RST a closed port sends; a connect-and-close health check gets two or
// more back) and, except for TCP, BytesIn = 0 (see scanNoAnswer: NetFlow counts a RST's 40 header
// bytes, Zeek none). With a firewall's verdict only (filterlog) a pass says nothing about an
// answer, so unanswered = blocked, or sent to a dark address: internal, never the originator of
// a flow, contacted by at most DarkMaxPrevalence internal hosts. With neither (plain CSV) only
// dark addresses count, and a Note says the failure ratio is unavailable.
//
// Per source, over its pairs (each pair is one distinct target):
//   - horizontal: for each (port, protocol, internal or external), U = unanswered destinations,
//     N = all destinations; flagged when some WindowSeconds window holds ≥ MinHosts unanswered
//     first contacts (MinHostsExternal for external destinations) and U/N ≥ MinUnanswered. This
//     is Zeek's address scan with Threshold Random Walk's ratio added: an inventory collector
//     polling every host on 5985 and a browser visiting hundreds of sites on 443 fan out as
//     widely, but get answers.
//   - vertical: for each destination, the same over its (port, protocol) pairs with MinPorts.
//     Without reply data, ≥ MinPortsNoReplies probe pairs (≤ MaxProbeFlows flows each) on one
//     host inside a window are flagged on fan-out alone: no client opens 100 ports on one server
//     in five minutes.
//   - slow: pairs with ≤ MaxProbeFlows flows that went unanswered, over the whole capture: S of
//     them, out of P probe pairs whose answer is known (internal ones only without reply data).
//     Flagged when S ≥ MinSlowTargets, S/P ≥ MinUnanswered, and the targets are internal (at
//     least half) or spread over ≥ MinSlowPorts ports. Window-free, so one probe every few
//     minutes for days counts as much as a burst.
//
// Receivers are never scanners: only the pairs a host originated are read. Multicast, broadcast
// and the host itself are skipped. UDP to a port ≥ 32768 (the ephemeral ranges of Linux, 32768–
// 60999, and IANA/Windows, 49152–65535) of a host that itself originates flows, on two ports
// or more, is left out of the vertical and slow counts: that is a service answering a client's
// requests the log shows as other flows (SSDP devices answer an M-SEARCH sent to
// 239.255.255.250 from port 1900 to the searcher's source port: one "flow" per reply, hundreds
// of ports of one host a day), not probes. A scan of one host that includes its low ports is
// still counted, and so is a sweep's single random high port on a client. Horizontal counts
// keep them all (one high port across many hosts is a sweep). A host gets one finding, the flagged kind with the most
// unanswered targets (horizontal and vertical before slow); Evidence has every kind's count.
//
// Score = 0.6 + 0.2·min(1, log10(W/threshold)) + 0.15·U/N (the last term only when replies or a
// firewall tell), at most 0.95: a scan is strong evidence of a worm or of an intruder mapping the
// network. Fan-outs that reach the window threshold but mostly get answers are returned
// unflagged with score ≤ 0.25.
func Scans(v engine.View, cfg ScanConfig) ([]Finding, []Note) {
	fields := v.Fields()
	r := &scanRun{cfg: cfg, replies: scanRepliesNone, window: max(cfg.WindowSeconds, 1), timed: fields.Times,
		ports: map[uint32]struct{}{}, keys: map[uint32]int{}}
	switch {
	case fields.Replies:
		r.replies = scanRepliesBytes
	case fields.Action:
		r.replies = scanRepliesFirewall
	}
	var notes []Note
	switch r.replies {
	case scanRepliesFirewall:
		notes = append(notes, Note{Scan, "no reply data (bytes back) in the input: unanswered probes are recognised by firewall blocks " +
			"and by addresses never seen active; the failure ratio of passed connections is unavailable"})
	case scanRepliesNone:
		notes = append(notes, Note{Scan, "no reply data and no firewall verdicts in the input: the failure ratio is unavailable; " +
			"horizontal and slow scans are recognised only by probes to addresses never seen active, vertical scans by fan-out alone"})
	}
	if !r.timed {
		r.window = math.MaxInt64 / 2
		notes = append(notes, Note{Scan, "flows carry no timestamps: scan fan-out is counted over the whole input, not per window"})
	}

	scope := v.Scope()
	darkCache := map[netip.Addr]bool{}
	isDark := func(a netip.Addr) bool {
		d, ok := darkCache[a]
		if !ok {
			h, found := v.Host(a)
			d = (!found || h.ConnsOut == 0) && v.Prevalence(a) <= cfg.DarkMaxPrevalence
			darkCache[a] = d
		}
		return d
	}
	clientCache := map[netip.Addr]bool{}
	isClient := func(a netip.Addr) bool {
		c, ok := clientCache[a]
		if !ok {
			h, found := v.Host(a)
			c = found && h.ConnsOut > 0
			clientCache[a] = c
		}
		return c
	}
	var (
		out     []Finding
		targets []scanTarget
		probes  []scanTarget // targets without replies to clients, for vertical and slow
		replies = map[netip.Addr]int{}
	)
	for h := range v.Hosts() {
		if !h.Internal || h.ConnsOut == 0 {
			continue
		}
		targets = targets[:0]
		for p := range v.PairsFrom(h.Addr) {
			if p.Dst == h.Addr || p.Dst.IsMulticast() || p.Dst.IsUnspecified() || scanBroadcast(p.Dst) {
				continue
			}
			t := scanTarget{dst: p.Dst, first: scanFloorDiv(p.First, 1e9), dport: p.DstPort, proto: p.Proto,
				external: !scope.Contains(p.Dst), probe: p.Count <= cfg.MaxProbeFlows,
				blocked: p.Blocked > 0 && 2*p.Blocked >= p.Count}
			if p.Proto == flow.ProtoUDP && p.DstPort >= scanEphemeralMin {
				t.reply = isClient(p.Dst)
			}
			if !t.external && r.replies != scanRepliesBytes {
				t.dark = isDark(p.Dst)
			}
			if r.replies == scanRepliesBytes {
				t.unanswered = t.blocked || scanNoAnswer(p)
			} else {
				t.unanswered = t.blocked || t.dark
			}
			targets = append(targets, t)
		}
		if len(targets) < min(cfg.MinHosts, cfg.MinHostsExternal, cfg.MinPorts, cfg.MinSlowTargets) {
			continue
		}
		clear(replies)
		for _, t := range targets {
			if t.reply {
				replies[t.dst]++
			}
		}
		probes = probes[:0]
		for _, t := range targets {
			if !t.reply || replies[t.dst] < 2 { // one high port of a client is as likely a probe
				probes = append(probes, t)
			}
		}
		vt := r.vertical(probes) // groups targets by destination, as slow needs
		sl := r.slow(probes)
		hz := r.horizontal(targets)
		var best scanHit
		for _, c := range [...]scanHit{hz, vt, sl} {
			if c.kind != "" && (best.kind == "" || scanBetter(c, best)) {
				best = c
			}
		}
		if best.kind != "" {
			out = append(out, r.finding(h.Addr, best, hz, vt, sl))
		}
	}
	slices.SortFunc(out, func(a, b Finding) int { return a.Host.Compare(b.Host) })
	return out, notes
}

// scanRun holds one run's settings and scratch space, reused across hosts.
type scanRun struct {
	cfg     ScanConfig
	replies scanReplies
	window  int64 // seconds; effectively infinite when flows carry no timestamps
	timed   bool
	times   []int64
	ports   map[uint32]struct{}
	keys    map[uint32]int
	slowBuf []scanTarget
}

// scanBetter orders hits: flagged first, then fast kinds before slow, then more unanswered.
func scanBetter(a, b scanHit) bool {
	if a.flagged != b.flagged {
		return a.flagged
	}
	if (a.kind == "slow") != (b.kind == "slow") {
		return b.kind == "slow"
	}
	return max(a.unanswered, a.windowMax) > max(b.unanswered, b.windowMax)
}

// scanNoAnswer reports a pair whose attempts got nothing back but, at most, one packet each: for
// TCP the RST of a closed port or the SYN-ACK of a half-open probe, whatever its byte count (Zeek
// counts payload bytes, 0 for a RST; NetFlow and Suricata count IP bytes, 40 and up); for other
// protocols no byte at all. Two packets or more per attempt is a conversation.
func scanNoAnswer(p *engine.Pair) bool {
	if p.PktsIn > uint64(p.Count) {
		return false
	}
	if p.Proto == flow.ProtoTCP && p.PktsIn > 0 {
		return true
	}
	return p.BytesIn == 0
}

// scanEphemeralMin is the lowest port of the operating systems' ephemeral (client) port ranges.
const scanEphemeralMin = 32768

// scanBroadcast reports the IPv4 limited broadcast address.
func scanBroadcast(a netip.Addr) bool {
	return a.Is4() && a.As4() == [4]byte{255, 255, 255, 255}
}

// scanWindowMax returns the most times inside any window of w seconds; times are sorted.
func scanWindowMax(times []int64, w int64) int {
	best, lo := 0, 0
	for hi, t := range times {
		for t-times[lo] >= w {
			lo++
		}
		best = max(best, hi-lo+1)
	}
	return best
}

// scanGroupStats is one group of targets (one port, or one victim) measured.
type scanGroupStats struct {
	hit         scanHit // counts, unanswered window maximum and span
	allWindow   int     // most first contacts of any kind inside one window
	probes      int     // pairs of at most MaxProbeFlows flows
	probeWindow int
	probeFirst  int64
	probeLast   int64
}

// group measures targets sorted by first contact.
func (r *scanRun) group(g []scanTarget) scanGroupStats {
	var s scanGroupStats
	h := &s.hit
	h.targets = len(g)
	h.first, h.last = math.MaxInt64, math.MinInt64
	s.probeFirst, s.probeLast = math.MaxInt64, math.MinInt64
	window := func(keep func(*scanTarget) bool) int {
		r.times = r.times[:0]
		for i := range g {
			if keep(&g[i]) {
				r.times = append(r.times, g[i].first)
			}
		}
		return scanWindowMax(r.times, r.window)
	}
	for i := range g {
		t := &g[i]
		if t.unanswered {
			h.unanswered++
			h.first, h.last = min(h.first, t.first), max(h.last, t.first)
		}
		if t.blocked {
			h.blocked++
		}
		if t.dark {
			h.dark++
		}
		if t.probe {
			s.probes++
			s.probeFirst, s.probeLast = min(s.probeFirst, t.first), max(s.probeLast, t.first)
		}
	}
	if h.unanswered == 0 {
		h.first, h.last = g[0].first, g[len(g)-1].first
	}
	h.windowMax = window(func(t *scanTarget) bool { return t.unanswered })
	s.probeWindow = window(func(t *scanTarget) bool { return t.probe })
	s.allWindow = window(func(*scanTarget) bool { return true })
	return s
}

// horizontal finds the strongest (port, protocol, internal/external) group. It reorders ts.
func (r *scanRun) horizontal(ts []scanTarget) scanHit {
	// Most hosts reach no port's threshold: count first, sort only when one might.
	clear(r.keys)
	widest := 0
	for i := range ts {
		k := uint32(ts[i].proto)<<17 | uint32(ts[i].dport)
		if ts[i].external {
			k |= 1 << 16
		}
		r.keys[k]++
		widest = max(widest, r.keys[k])
	}
	if widest < min(r.cfg.MinHosts, r.cfg.MinHostsExternal) {
		return scanHit{}
	}
	slices.SortFunc(ts, func(a, b scanTarget) int {
		switch {
		case a.proto != b.proto:
			return cmp.Compare(a.proto, b.proto)
		case a.dport != b.dport:
			return cmp.Compare(a.dport, b.dport)
		case a.external != b.external:
			return scanBool(a.external, b.external)
		case a.first != b.first:
			return cmp.Compare(a.first, b.first)
		}
		return a.dst.Compare(b.dst)
	})
	var best scanHit
	for start := 0; start < len(ts); {
		end := start + 1
		for end < len(ts) && ts[end].proto == ts[start].proto && ts[end].dport == ts[start].dport && ts[end].external == ts[start].external {
			end++
		}
		g := ts[start:end]
		start = end
		minHosts := r.cfg.MinHosts
		if g[0].external {
			minHosts = r.cfg.MinHostsExternal
		}
		if len(g) < minHosts {
			continue
		}
		s := r.group(g)
		h := s.hit
		h.kind, h.dport, h.proto, h.min = "horizontal", g[0].dport, g[0].proto, minHosts
		h.flagged = h.windowMax >= minHosts && scanShare(h.unanswered, h.targets) >= r.cfg.MinUnanswered
		if !h.flagged {
			if s.allWindow < minHosts {
				continue
			}
			h.windowMax = s.allWindow
		}
		h.peers = scanPeers(g, h.flagged, true)
		if best.kind == "" || scanBetter(h, best) {
			best = h
		}
	}
	return best
}

// vertical finds the strongest victim. It leaves ts grouped by destination (the engine yields
// pairs in that order, so usually nothing moves), as slow needs.
func (r *scanRun) vertical(ts []scanTarget) scanHit {
	byDst := func(a, b scanTarget) int { return a.dst.Compare(b.dst) }
	if !slices.IsSortedFunc(ts, byDst) {
		slices.SortFunc(ts, byDst)
	}
	var best scanHit
	for start := 0; start < len(ts); {
		end := start + 1
		for end < len(ts) && ts[end].dst == ts[start].dst {
			end++
		}
		g := ts[start:end]
		start = end
		if len(g) < r.cfg.MinPorts {
			continue
		}
		slices.SortFunc(g, func(a, b scanTarget) int {
			return cmp.Or(cmp.Compare(a.first, b.first), cmp.Compare(a.dport, b.dport), cmp.Compare(a.proto, b.proto))
		})
		s := r.group(g)
		h := s.hit
		h.kind, h.dst, h.min = "vertical", g[0].dst, r.cfg.MinPorts
		h.flagged = h.windowMax >= r.cfg.MinPorts && scanShare(h.unanswered, h.targets) >= r.cfg.MinUnanswered
		if !h.flagged && r.replies != scanRepliesBytes && s.probeWindow >= r.cfg.MinPortsNoReplies {
			h.flagged, h.noReplies, h.min = true, true, r.cfg.MinPortsNoReplies
			h.windowMax, h.targets, h.first, h.last = s.probeWindow, s.probes, s.probeFirst, s.probeLast
		}
		if !h.flagged {
			if s.allWindow < r.cfg.MinPorts {
				continue
			}
			h.windowMax = s.allWindow
		}
		h.peers = []string{peerString(h.dst, 0)}
		if best.kind == "" || scanBetter(h, best) {
			best = h
		}
	}
	return best
}

// slow counts unanswered probe targets over the whole capture; ts is grouped by destination.
func (r *scanRun) slow(ts []scanTarget) scanHit {
	// Without reply data nothing says whether an external target answered: leave those out.
	known := func(t *scanTarget) bool { return t.probe && (r.replies != scanRepliesNone || !t.external) }
	n := 0
	for i := range ts {
		if known(&ts[i]) && ts[i].unanswered {
			n++
		}
	}
	if n < r.cfg.MinSlowTargets {
		return scanHit{}
	}
	h := scanHit{kind: "slow", min: r.cfg.MinSlowTargets, first: math.MaxInt64, last: math.MinInt64}
	clear(r.ports)
	r.slowBuf = r.slowBuf[:0]
	var internal int
	var prev netip.Addr
	for i := range ts {
		t := &ts[i]
		if !known(t) {
			continue
		}
		h.targets++
		if !t.unanswered {
			continue
		}
		h.unanswered++
		if t.blocked {
			h.blocked++
		}
		if t.dark {
			h.dark++
		}
		if !t.external {
			internal++
		}
		if t.dst != prev {
			h.hosts++
			prev = t.dst
		}
		r.ports[uint32(t.proto)<<16|uint32(t.dport)] = struct{}{}
		h.first, h.last = min(h.first, t.first), max(h.last, t.first)
		r.slowBuf = append(r.slowBuf, *t)
	}
	h.ports, h.windowMax = len(r.ports), h.unanswered
	h.flagged = scanShare(h.unanswered, h.targets) >= r.cfg.MinUnanswered &&
		(scanShare(internal, h.unanswered) >= 0.5 || h.ports >= r.cfg.MinSlowPorts)
	slices.SortFunc(r.slowBuf, func(a, b scanTarget) int { return cmp.Or(cmp.Compare(a.first, b.first), a.dst.Compare(b.dst)) })
	h.peers = scanPeers(r.slowBuf, true, true)
	return h
}

// scanPeers lists up to five targets in order ("ip:port", or "ip" without withPort), the
// unanswered ones when onlyUnanswered.
func scanPeers(g []scanTarget, onlyUnanswered, withPort bool) []string {
	var out []string
	for _, t := range g {
		if onlyUnanswered && !t.unanswered {
			continue
		}
		port := t.dport
		if !withPort {
			port = 0
		}
		out = append(out, peerString(t.dst, port))
		if len(out) == 5 {
			break
		}
	}
	return out
}

func scanShare(n, d int) float64 {
	if d == 0 {
		return 0
	}
	return float64(n) / float64(d)
}

func scanBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// finding turns the best hit into a finding, with every kind's numbers in Evidence.
func (r *scanRun) finding(host netip.Addr, best, hz, vt, sl scanHit) Finding {
	share := scanShare(best.unanswered, best.targets)
	shareKnown := r.replies != scanRepliesNone && !best.noReplies
	var score float64
	if best.flagged {
		score = 0.6 + 0.2*math.Min(1, math.Max(0, math.Log10(float64(best.windowMax)/float64(max(best.min, 1)))))
		if shareKnown {
			score += 0.15 * share
		}
		score = math.Min(0.95, score)
	} else {
		score = math.Min(0.25, 0.1+0.3*share)
	}
	window := r.window
	if !r.timed {
		window = 0
	}
	ev := map[string]any{
		"kind": best.kind, "replies": r.replies.String(), "targets": best.targets, "unanswered": best.unanswered,
		"blocked": best.blocked, "never_active": best.dark, "span_seconds": max(best.last-best.first, 0),
		"window_seconds": window, "window_max": best.windowMax,
		"horizontal_max": hz.windowMax, "vertical_max": vt.windowMax, "slow_probes": sl.unanswered,
	}
	if shareKnown {
		ev["unanswered_share"] = math.Round(share*1000) / 1000
	}
	answer := scanAnswerText(best, r.replies)
	// in renders a span ("in 10 min") and inWindow the window ("in 5 min"); both are empty
	// without timestamps.
	in, inWindow := "", ""
	if r.timed {
		in, inWindow = " in "+scanSpanText(best.last-best.first), " in "+scanSpanText(r.window)
	}
	var reason string
	switch best.kind {
	case "horizontal":
		ev["port"], ev["proto"] = best.dport, flow.ProtoName(best.proto)
		port := scanPortText(best.dport, best.proto)
		if best.flagged {
			reason = fmt.Sprintf("horizontal scan of %s: %s hosts%s, %s", port, commas(int64(best.unanswered)), in, answer)
		} else {
			reason = fmt.Sprintf("fan-out to %s hosts on %s, at most %s%s, %s: answered fan-out is not a scan",
				commas(int64(best.targets)), port, commas(int64(best.windowMax)), inWindow, answer)
		}
	case "vertical":
		ev["victim"] = best.dst.String()
		switch {
		case best.noReplies:
			reason = fmt.Sprintf("vertical scan of %s: %s ports%s, at most %s flows each; no reply data, failure ratio unavailable",
				best.dst, commas(int64(best.targets)), in, commas(r.cfg.MaxProbeFlows))
		case best.flagged:
			reason = fmt.Sprintf("vertical scan of %s: %s ports%s, %s", best.dst, commas(int64(best.unanswered)), in, answer)
		default:
			reason = fmt.Sprintf("%s ports on %s, at most %s%s, %s: answered fan-out is not a scan",
				commas(int64(best.targets)), best.dst, commas(int64(best.windowMax)), inWindow, answer)
		}
	default:
		ev["hosts"], ev["ports"] = best.hosts, best.ports
		over, every, kind := "", "", "slow scan"
		if r.timed {
			over = " over " + scanSpanText(best.last-best.first)
			if best.unanswered > 1 && best.last > best.first {
				gap := float64(best.last-best.first) / float64(best.unanswered-1)
				if gap < 10 {
					// Fast, but spread over more hosts and ports than one port's or one
					// host's window holds: a scan, not a slow one.
					kind = "multi-port sweep"
					every = fmt.Sprintf(" (one every %.1f s)", gap)
				} else {
					every = fmt.Sprintf(" (one every %s)", scanSpanText(int64(gap)))
				}
			}
		}
		reason = fmt.Sprintf(kind+": %s unanswered probes to %s hosts on %s ports%s%s, %s",
			commas(int64(best.unanswered)), commas(int64(best.hosts)), commas(int64(best.ports)), over, every, answer)
		if !best.flagged {
			reason = fmt.Sprintf("%s unanswered probes to %s hosts on %s ports%s, %s: too few of the host's probes fail, "+
				"or they go to few ports outside", commas(int64(best.unanswered)), commas(int64(best.hosts)), commas(int64(best.ports)), over, answer)
		}
	}
	return Finding{Host: host, Category: Scan, Score: score, Flagged: best.flagged, Peers: best.peers,
		Reason: reason, Evidence: ev}
}

// scanAnswerText says how many targets went unanswered, in the terms the input allows.
func scanAnswerText(h scanHit, replies scanReplies) string {
	pct := func(n, d int) string { return fmt.Sprintf("%.0f %%", 100*scanShare(n, d)) }
	switch {
	case h.noReplies:
		return "no reply data"
	case replies == scanRepliesBytes:
		return pct(h.unanswered, h.targets) + " unanswered"
	case replies == scanRepliesFirewall:
		return pct(h.unanswered, h.targets) + " blocked or to addresses never seen active"
	}
	return pct(h.dark, h.targets) + " to addresses never seen active (no reply data)"
}

func scanPortText(port uint16, proto uint8) string {
	if proto == flow.ProtoICMP || proto == flow.ProtoICMPv6 {
		return flow.ProtoName(proto)
	}
	return fmt.Sprintf("%d/%s", port, flow.ProtoName(proto))
}

// scanSpanText renders seconds as "45 s", "10 min", "3.5 h" or "2.0 days".
func scanSpanText(s int64) string {
	switch {
	case s < 120:
		return fmt.Sprintf("%d s", max(s, 0))
	case s < 2*3600:
		return fmt.Sprintf("%d min", (s+30)/60)
	case s < 2*86400:
		return fmt.Sprintf("%.1f h", float64(s)/3600)
	}
	return fmt.Sprintf("%.1f days", float64(s)/86400)
}

// scanFloorDiv is a/b rounded toward negative infinity.
func scanFloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
