package detect

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/flowhunt/flowhunt/internal/engine"
)

// C2Config tunes the internal command-and-control (bot herder) detector.
type C2Config struct {
	// MinBots is how many internal hosts must call in regularly for a herder to be flagged.
	MinBots int `yaml:"min_bots"`
	// MaxShare: a service contacted (on that port) by more than this share of internal hosts is
	// infrastructure (monitoring, management agents), not a private C2.
	MaxShare float64 `yaml:"max_share"`
	// MinRegularShare is the share of the service's clients that must call in regularly.
	MinRegularShare float64 `yaml:"min_regular_share"`
	// MinCalls is how many distinct call-in times (seconds) a client needs before its rhythm is
	// judged.
	MinCalls int `yaml:"min_calls"`
	// MaxJitter is the largest median absolute deviation of gaps, as a share of the median gap,
	// that still counts as regular.
	MaxJitter float64 `yaml:"max_jitter"`
	// MinGapSeconds: a median gap below it is a busy session, not a call-in schedule.
	MinGapSeconds float64 `yaml:"min_gap_seconds"`
}

// DefaultC2 returns the default C2 thresholds.
func DefaultC2() C2Config {
	return C2Config{MinBots: 3, MaxShare: 0.3, MinRegularShare: 0.5, MinCalls: 12, MaxJitter: 0.2, MinGapSeconds: 5}
}

// C2s flags private command-and-control inside the network: an internal host (the herder) that
// a small group of other internal hosts (its bots) call regularly on a port no other host
// serves. The herder and its bots are all flagged.
//
// Regularity per client (src → dst:port) comes from its call-in times, the distinct seconds at
// which its flows started: the gaps between them have median m and median absolute deviation
// MAD; the client is regular when it has at least MinCalls times, m ≥ MinGapSeconds and
// jitter = MAD/m ≤ MaxJitter. RITA's beacon analysis measures the same dispersion, the median
// absolute deviation of the gaps about their median (tsMadm), and in its later versions scores
// it as 1 − tsMadm/tsMid; being medians, both shrug off the few long gaps of a laptop asleep at
// night. MaxJitter 0.2 admits a period with uniform jitter up to ±40 % (the MAD of U(−a, a) is
// a/2), which covers common implant jitter settings, while people opening files or logging on
// give jitter well above 0.5. Times are whole seconds, so very short periods read noisier.
//
// A service dst:port/proto is a C2 when
//   - it is the only destination any internal host contacts on that port and protocol (a private
//     port: no other host serves it, internal or external);
//   - at least MinBots clients are regular, and they are at least MinRegularShare of its clients;
//   - its clients are at most MaxShare of the internal hosts: every host reporting to a
//     monitoring server on 10050 is regular and the port is odd, but a service the whole network
//     uses is infrastructure.
//
// A service with enough regular clients that fails the first or the last test is returned as
// one unflagged finding for its server (score 0.2, the reason says why), for --all.
//
// Score = 0.6 + 0.2·(1 − jitter/MaxJitter) + 0.1·min(1, (bots − MinBots + 1)/4), with jitter the
// median over the bots; the herder and each bot get it.
//
// Not covered: a herder on a port that other hosts also serve (443, 8080 beside ordinary web
// servers) and a group calling a rare external address in step; the latter is what the beacon
// detector reports, and calling it c2 too would double-count bursty beacon groups (office: the
// four bursty beacons are truth "beacon"). Benign look-alikes it cannot tell apart: a few build
// agents or cluster nodes polling a private controller on its own port are flagged; the reason
// names server, port and period so an analyst can recognise them.
func C2s(v engine.View, cfg C2Config) ([]Finding, []Note) {
	if !v.Fields().Times {
		for range v.Pairs() {
			return nil, []Note{{C2, "skipped: the flows carry no timestamps, so call-in regularity cannot be measured"}}
		}
		return nil, nil // nothing to measure, nothing to say
	}
	scope := v.Scope()
	type portKey struct {
		port  uint16
		proto uint8
	}
	type server struct {
		dst   netip.Addr
		multi bool
	}
	servers := map[portKey]server{} // who serves each port to internal clients
	var cands []*engine.Pair
	for p := range v.Pairs() {
		if !scope.Contains(p.Src) || p.Count <= p.Blocked {
			continue
		}
		k := portKey{p.DstPort, p.Proto}
		if s, ok := servers[k]; !ok {
			servers[k] = server{dst: p.Dst}
		} else if !s.multi && s.dst != p.Dst {
			servers[k] = server{dst: s.dst, multi: true}
		}
		if p.Src != p.Dst && scope.Contains(p.Dst) {
			cands = append(cands, p)
		}
	}
	// Group clients by service.
	slices.SortFunc(cands, func(x, y *engine.Pair) int {
		if c := x.Dst.Compare(y.Dst); c != 0 {
			return c
		}
		if c := cmp.Compare(x.DstPort, y.DstPort); c != 0 {
			return c
		}
		if c := cmp.Compare(x.Proto, y.Proto); c != 0 {
			return c
		}
		return x.Src.Compare(y.Src)
	})
	internal := max(v.InternalHosts(), 1)
	var gaps, devs []float64
	var out []Finding
	for start := 0; start < len(cands); {
		end := start
		s := cands[start]
		for end < len(cands) && cands[end].Dst == s.Dst && cands[end].DstPort == s.DstPort && cands[end].Proto == s.Proto {
			end++
		}
		clients := cands[start:end]
		start = end
		if len(clients) < cfg.MinBots {
			continue
		}
		var bots []c2Bot
		for _, p := range clients {
			var r c2Rhythm
			r, gaps, devs = c2RhythmOf(p.Times, gaps, devs)
			if r.calls >= cfg.MinCalls && r.gap >= cfg.MinGapSeconds && r.jitter() <= cfg.MaxJitter {
				bots = append(bots, c2Bot{p, r})
			}
		}
		if len(bots) < cfg.MinBots || float64(len(bots)) < cfg.MinRegularShare*float64(len(clients)) {
			continue
		}
		srv := servers[portKey{s.DstPort, s.Proto}]
		out = append(out, c2Group(s, bots, len(clients), !srv.multi, internal, cfg)...)
	}
	slices.SortStableFunc(out, func(x, y Finding) int { return x.Host.Compare(y.Host) })
	return out, nil
}

// c2Rhythm is the call-in rhythm of one client: distinct call times, median gap and its MAD.
type c2Rhythm struct {
	calls    int
	gap, mad float64 // seconds
	first    uint32
	last     uint32
}

func (r c2Rhythm) jitter() float64 {
	if r.gap <= 0 {
		return math.Inf(1)
	}
	return r.mad / r.gap
}

// c2RhythmOf measures times (sorted distinct seconds), reusing the gaps and devs buffers.
func c2RhythmOf(times []uint32, gaps, devs []float64) (c2Rhythm, []float64, []float64) {
	r := c2Rhythm{calls: len(times)}
	if len(times) < 2 {
		return r, gaps, devs
	}
	r.first, r.last = times[0], times[len(times)-1]
	gaps = gaps[:0]
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, float64(times[i]-times[i-1]))
	}
	r.gap = median(gaps)
	devs = devs[:0]
	for _, g := range gaps {
		devs = append(devs, math.Abs(g-r.gap))
	}
	r.mad = median(devs)
	return r, gaps, devs
}

type c2Bot struct {
	p *engine.Pair
	r c2Rhythm
}

// c2Group turns one service with enough regular clients into findings for the herder and bots
// (flagged), or one unflagged finding for the server when the service is shared or public.
func c2Group(s *engine.Pair, bots []c2Bot, clients int, private bool, internal int, cfg C2Config) []Finding {
	herder, port, proto := s.Dst, s.DstPort, s.Proto
	gapsMed := make([]float64, len(bots))
	madsMed := make([]float64, len(bots))
	jits := make([]float64, len(bots))
	var calls int64
	for i, b := range bots {
		gapsMed[i], madsMed[i], jits[i] = b.r.gap, b.r.mad, b.r.jitter()
		calls += b.p.Count
	}
	gap, mad, jitter := median(gapsMed), median(madsMed), median(jits)
	share := float64(clients) / float64(internal)
	label := p2pPortLabel(port, proto)
	service := peerString(herder, port)
	flagged := private && share <= cfg.MaxShare
	ev := map[string]any{
		"server": service, "proto": p2pProtoName(proto), "bots": len(bots), "clients": clients,
		"internal_hosts": internal, "client_share": finite(share), "private_port": private,
		"median_gap_seconds": finite(gap), "median_mad_seconds": finite(mad), "jitter": finite(jitter),
		"connections": calls,
	}
	if !flagged {
		why := fmt.Sprintf("contacted by %d of %d internal hosts (%.0f%%): infrastructure", clients, internal, 100*share)
		if !private {
			why = fmt.Sprintf("other hosts also serve %s", label)
			if share > cfg.MaxShare {
				why = fmt.Sprintf("contacted by %.0f%% of internal hosts and %s", 100*share, why)
			}
		}
		peers := make([]string, 0, min(len(bots), 5))
		for _, b := range bots[:min(len(bots), 5)] {
			peers = append(peers, b.p.Src.String())
		}
		return []Finding{{
			Host: herder, Category: C2, Score: 0.2, Peers: peers, Evidence: ev,
			Reason: fmt.Sprintf("%d internal hosts call %s every %s ±%s, but %s, not a private C2",
				len(bots), service, c2Seconds(gap), c2Seconds(mad), why),
		}}
	}
	score := math.Min(0.95, 0.6+0.2*math.Max(0, 1-jitter/cfg.MaxJitter)+
		0.1*math.Min(1, float64(len(bots)-cfg.MinBots+1)/4))
	botAddrs := make([]string, len(bots))
	for i, b := range bots {
		botAddrs[i] = b.p.Src.String()
	}
	ev["bot_hosts"] = botAddrs
	out := []Finding{{
		Host: herder, Category: C2, Score: score, Flagged: true, Peers: botAddrs, Evidence: ev,
		Reason: fmt.Sprintf("internal C2 at %s: %d internal hosts call in every %s ±%s; no other host uses port %s",
			service, len(bots), c2Seconds(gap), c2Seconds(mad), label),
	}}
	for _, b := range bots {
		days := float64(b.r.last-b.r.first) / 86400
		out = append(out, Finding{
			Host: b.p.Src, Category: C2, Score: score, Flagged: true, Peers: []string{service},
			Reason: fmt.Sprintf("calls internal C2 %s every %s ±%s (%s connections over %.1f days), with %d other internal hosts; no other host uses port %s",
				service, c2Seconds(b.r.gap), c2Seconds(b.r.mad), commas(b.p.Count), days, len(bots)-1, label),
			Evidence: map[string]any{
				"server": service, "proto": p2pProtoName(proto), "role": "bot", "bots": len(bots),
				"connections": b.p.Count, "calls": b.r.calls, "gap_seconds": finite(b.r.gap),
				"mad_seconds": finite(b.r.mad), "jitter": finite(b.r.jitter()),
				"clients": clients, "internal_hosts": internal, "client_share": finite(share),
			},
		})
	}
	out[0].Evidence["role"] = "herder"
	return out
}

// c2Seconds renders a duration in seconds without noise: "120 s", "2.5 s".
func c2Seconds(s float64) string {
	if s >= 10 || s == math.Trunc(s) {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.1f s", s)
}
