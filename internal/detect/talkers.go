package detect

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/flowhunt/flowhunt/internal/engine"
)

// TalkerConfig tunes the top-talker detector.
type TalkerConfig struct {
	// MinZ is the robust z-score (external connections or bytes sent) at which a host is flagged.
	// 3.5 is Iglewicz and Hoaglin's outlier cut-off.
	MinZ float64 `yaml:"min_z"`
	// Top caps flagged hosts to the Top ranked by connections or by bytes.
	Top int `yaml:"top"`
	// MinHosts is how many internal hosts with external traffic the network must have for a
	// comparison to mean anything.
	MinHosts int `yaml:"min_hosts"`
	// MinConns keeps tiny captures quiet: a host needs this many external connections.
	MinConns int64 `yaml:"min_conns"`
}

// DefaultTalker returns the default talker thresholds.
func DefaultTalker() TalkerConfig {
	return TalkerConfig{MinZ: 3.5, Top: 10, MinHosts: 5, MinConns: 100}
}

// Talkers flags internal hosts whose external traffic is an outlier in their own network.
//
// For every internal host with external traffic, c = connections it opened to external addresses
// and b = bytes it sent to them. Each is compared with the network by the modified z-score
// z = 0.6745·(x − median)/MAD (robust: the heavy hitters being looked for do not drag the
// baseline, as a mean and standard deviation would). A host is flagged when max(z_c, z_b) ≥ MinZ,
// it ranks in the Top by c or by b, and c ≥ MinConns. Score = 0.25 + 0.25·min(1, (z − MinZ)/20):
// volume alone is weak evidence (backup servers and proxies talk a lot), so a talker finding can
// rank a host but never makes it look certain on its own. Networks with fewer than MinHosts
// external-talking hosts have no baseline: hosts are then listed as unflagged candidates.
func Talkers(v engine.View, cfg TalkerConfig) ([]Finding, []Note) {
	var hosts []*engine.Host
	for h := range v.Hosts() {
		if h.Internal && h.ExtConns > 0 {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) == 0 {
		return nil, nil
	}
	conns := make([]float64, len(hosts))
	sent := make([]float64, len(hosts))
	for i, h := range hosts {
		conns[i] = float64(h.ExtConns)
		sent[i] = float64(h.ExtBytesSent)
	}
	zc, medC := robustZ(conns)
	zb, medB := robustZ(sent)
	rankC := rankOf(hosts, func(h *engine.Host) float64 { return float64(h.ExtConns) })
	rankB := rankOf(hosts, func(h *engine.Host) float64 { return float64(h.ExtBytesSent) })

	var notes []Note
	enough := len(hosts) >= cfg.MinHosts
	if !enough {
		notes = append(notes, Note{Talker, fmt.Sprintf(
			"%d internal host(s) talk to external addresses, %d are needed for a baseline: no talker is flagged (candidates with --all)",
			len(hosts), cfg.MinHosts)})
	}
	var out []Finding
	// The Top hosts by connections and by bytes, ties broken by address: ranks are shared by
	// equals, so "rank ≤ Top" alone could admit the whole network.
	top := map[*engine.Host]bool{}
	for _, key := range []func(*engine.Host) float64{
		func(h *engine.Host) float64 { return float64(h.ExtConns) },
		func(h *engine.Host) float64 { return float64(h.ExtBytesSent) },
	} {
		sorted := slices.Clone(hosts)
		slices.SortFunc(sorted, func(a, b *engine.Host) int {
			if c := cmp.Compare(key(b), key(a)); c != 0 {
				return c
			}
			return a.Addr.Compare(b.Addr)
		})
		for _, h := range sorted[:min(cfg.Top, len(sorted))] {
			top[h] = true
		}
	}
	for i, h := range hosts {
		z := math.Max(zc(conns[i]), zb(sent[i]))
		if !top[h] {
			continue
		}
		flagged := enough && z >= cfg.MinZ && h.ExtConns >= cfg.MinConns
		zs := math.Min(z, 1e6) // +Inf when the whole network is identical but for this host
		score := 0.25 + 0.25*math.Min(1, math.Max(0, (zs-cfg.MinZ)/20))
		if !flagged {
			score = math.Min(0.2, 0.2*math.Max(0, zs)/math.Max(cfg.MinZ, 1))
		}
		peers := map[string]int64{}
		for p := range v.PairsFrom(h.Addr) {
			if !v.Scope().Contains(p.Dst) {
				peers[peerString(p.Dst, 0)] += p.Count
			}
		}
		// Lead with the dimension that stands out.
		var reason string
		if zb(sent[i]) > zc(conns[i]) {
			ratio := ""
			if medB > 0 {
				ratio = fmt.Sprintf(", %.1f× the median %s", sent[i]/medB, humanBytes(uint64(medB)))
			}
			reason = fmt.Sprintf("%s sent to %d external hosts (%s of %d hosts by bytes%s) in %s connections",
				humanBytes(h.ExtBytesSent), h.ExtPeers, ordinal(rankB[h]), len(hosts), ratio, commas(h.ExtConns))
		} else {
			ratio := ""
			if medC > 0 {
				ratio = fmt.Sprintf(", %.1f× the median %s", conns[i]/medC, commas(int64(medC)))
			}
			reason = fmt.Sprintf("%s external connections (%s of %d hosts%s), %s sent to %d external hosts",
				commas(h.ExtConns), ordinal(rankC[h]), len(hosts), ratio, humanBytes(h.ExtBytesSent), h.ExtPeers)
		}
		out = append(out, Finding{
			Host: h.Addr, Category: Talker, Score: score, Flagged: flagged,
			Peers:  topPeers(peers, 3),
			Reason: reason,
			Evidence: map[string]any{
				"external_connections": h.ExtConns, "external_bytes_sent": h.ExtBytesSent,
				"external_peers": h.ExtPeers, "rank_connections": rankC[h], "rank_bytes": rankB[h],
				"hosts_compared": len(hosts), "median_connections": medC, "median_bytes_sent": medB,
				"z_connections": finite(zc(conns[i])), "z_bytes": finite(zb(sent[i])),
			},
		})
	}
	return out, notes
}

// rankOf ranks hosts by key, largest first (1-based); ties share the better rank.
func rankOf(hosts []*engine.Host, key func(*engine.Host) float64) map[*engine.Host]int {
	sorted := slices.Clone(hosts)
	slices.SortFunc(sorted, func(a, b *engine.Host) int { return cmp.Compare(key(b), key(a)) })
	r := make(map[*engine.Host]int, len(sorted))
	for i, h := range sorted {
		if i > 0 && key(h) == key(sorted[i-1]) {
			r[h] = r[sorted[i-1]]
			continue
		}
		r[h] = i + 1
	}
	return r
}

// finite keeps JSON encodable: ±Inf becomes the largest float, NaN zero.
func finite(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return 0
	case math.IsInf(x, 1):
		return math.MaxFloat64
	case math.IsInf(x, -1):
		return -math.MaxFloat64
	}
	return math.Round(x*100) / 100
}
