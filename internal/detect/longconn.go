package detect

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
)

// LongConnConfig tunes the long-connection detector.
type LongConnConfig struct {
	// BaseSeconds, LowSeconds, MediumSeconds and HighSeconds are RITA v5's long-connection
	// buckets (long_connection_score_thresholds: 1, 4, 8 and 12 hours). Connections shorter than
	// BaseSeconds (RITA's long_connection_minimum_duration) are ignored.
	BaseSeconds   int64 `yaml:"base_seconds"`
	LowSeconds    int64 `yaml:"low_seconds"`
	MediumSeconds int64 `yaml:"medium_seconds"`
	HighSeconds   int64 `yaml:"high_seconds"`
	// RareShare: a destination at most this share of internal hosts use (and at least one) is
	// rare and raises the score, RITA's prevalence_increase_threshold (2 %).
	RareShare float64 `yaml:"rare_share"`
	// MaxPrevalence: a destination more than this share of internal hosts use is shared
	// infrastructure (mail, chat, updates) and is not reported.
	MaxPrevalence float64 `yaml:"max_prevalence"`
	// MinScore is the decision threshold.
	MinScore float64 `yaml:"min_score"`
	// StitchCoverage and StitchMeanSeconds join a pair's records into one session when they
	// cover at least StitchCoverage of the time from first to last and average at least
	// StitchMeanSeconds each: NetFlow and IPFIX exporters cut long flows at the active timeout
	// (30 min by default on most routers), and a session cut into pieces is still one session.
	// Reconnecting clients (miners every 30 s, beacons) average seconds and are never joined.
	StitchCoverage    float64 `yaml:"stitch_coverage"`
	StitchMeanSeconds int64   `yaml:"stitch_mean_seconds"`
}

// DefaultLongConn returns the default long-connection thresholds.
func DefaultLongConn() LongConnConfig {
	return LongConnConfig{
		BaseSeconds: 3600, LowSeconds: 4 * 3600, MediumSeconds: 8 * 3600, HighSeconds: 12 * 3600,
		RareShare: 0.02, MaxPrevalence: 0.2, MinScore: 0.6, StitchCoverage: 0.9, StitchMeanSeconds: 300,
	}
}

// longConnCandidate is one pair's longest session.
type longConnCandidate struct {
	p        *engine.Pair
	seconds  int64
	stitched bool
	score    float64
	bucket   string
	rare     bool
	internal bool
	prev     int
}

// LongConns flags internal hosts holding connections open for hours to destinations few other
// hosts use: remote shells, reverse tunnels and RATs keep one session alive where ordinary
// clients open and close.
//
// Duration per pair: the longest flow (pair.DurationMax), or, when the pair's records average at
// least StitchMeanSeconds and their summed duration covers at least StitchCoverage of the time
// from the first start to the last end (Last − First + the mean duration), that whole stretch:
// one session cut by an exporter's active timeout. Pairs shorter than BaseSeconds are ignored.
//
// Score, in RITA v5's buckets: 0.3 from 1 h, 0.5 from 4 h, 0.65 from 8 h, 0.75 from 12 h;
// +0.15 when the destination is rare (used by at most max(1, RareShare·internal hosts) internal
// hosts; RITA's prevalence modifier); −0.15 when half or more of the internal hosts use it (RITA's
// decrease); −0.25 when the destination is internal (file shares, RDP and directory sessions
// stay open all day); capped at 0.95. Flagged at MinScore: a rare external destination from 4 h,
// one a few hosts share from 8 h, a rare internal one from 12 h. Destinations more than
// MaxPrevalence of internal hosts use are dropped: the office's 1-3 h video streams to a CDN
// three hosts share score 0.3 and stay candidates, its 10 h shell to a rare address scores 0.8.
//
// The input must carry durations (Zeek conn.log, NetFlow/IPFIX, eve.json flows). Without them
// (CSV, filterlog) the detector is skipped with a Note: a run of back-to-back reconnects from
// timestamps alone is what miners and beacons look like, and those have detectors of their own.
func LongConns(v engine.View, cfg LongConnConfig) ([]Finding, []Note) {
	if !v.Fields().Duration {
		return nil, []Note{{LongConn, "skipped: the input has no connection durations (CSV and firewall logs carry none); " +
			"long connections need Zeek conn.log, NetFlow/IPFIX or eve.json flows"}}
	}
	scope := v.Scope()
	internalHosts := max(v.InternalHosts(), 1)
	rareMax := max(1, int(cfg.RareShare*float64(internalHosts)))
	byHost := map[netip.Addr][]longConnCandidate{}
	for p := range v.Pairs() {
		if p.DurationMax <= 0 || !scope.Contains(p.Src) {
			continue
		}
		secs, stitched := longConnSeconds(p, cfg)
		if secs < cfg.BaseSeconds {
			continue
		}
		prev := v.Prevalence(p.Dst)
		share := float64(prev) / float64(internalHosts)
		if share > cfg.MaxPrevalence {
			continue
		}
		c := longConnCandidate{p: p, seconds: secs, stitched: stitched, prev: prev,
			rare: prev <= rareMax, internal: scope.Contains(p.Dst)}
		c.score, c.bucket = longConnScore(c, share, cfg)
		byHost[p.Src] = append(byHost[p.Src], c)
	}
	out := make([]Finding, 0, len(byHost))
	for host, cs := range byHost {
		slices.SortFunc(cs, func(a, b longConnCandidate) int {
			return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.seconds, a.seconds),
				a.p.Dst.Compare(b.p.Dst), cmp.Compare(a.p.DstPort, b.p.DstPort))
		})
		out = append(out, longConnFinding(v, host, cs, internalHosts, cfg))
	}
	slices.SortFunc(out, func(a, b Finding) int { return a.Host.Compare(b.Host) })
	return out, nil
}

// longConnSeconds is a pair's longest session in seconds, and whether records were joined.
func longConnSeconds(p *engine.Pair, cfg LongConnConfig) (int64, bool) {
	longest := p.DurationMax
	stitched := false
	if p.Count >= 2 && p.DurationTotal > 0 {
		mean := p.DurationTotal / p.Count
		stretch := p.Last - p.First + mean
		if mean >= cfg.StitchMeanSeconds*1e9 && stretch > 0 &&
			float64(p.DurationTotal) >= cfg.StitchCoverage*float64(stretch) && stretch > longest {
			longest, stitched = stretch, true
		}
	}
	return longest / 1e9, stitched
}

// longConnScore applies RITA's duration buckets and the prevalence and internal modifiers.
func longConnScore(c longConnCandidate, share float64, cfg LongConnConfig) (float64, string) {
	var score float64
	var bucket string
	switch {
	case c.seconds >= cfg.HighSeconds:
		score, bucket = 0.75, "high"
	case c.seconds >= cfg.MediumSeconds:
		score, bucket = 0.65, "medium"
	case c.seconds >= cfg.LowSeconds:
		score, bucket = 0.5, "low"
	default:
		score, bucket = 0.3, "base"
	}
	if c.rare {
		score += 0.15
	}
	if share >= 0.5 {
		score -= 0.15
	}
	if c.internal {
		score -= 0.25
	}
	return math.Min(0.95, math.Max(0.05, score)), bucket
}

func longConnFinding(v engine.View, host netip.Addr, cs []longConnCandidate, internalHosts int, cfg LongConnConfig) Finding {
	best := cs[0]
	p := best.p
	flagged := best.score >= cfg.MinScore
	score := best.score
	if !flagged {
		score = math.Min(score, cfg.MinScore-0.01)
	}
	var peers []string
	for _, c := range cs[:min(len(cs), 3)] {
		peers = append(peers, peerString(c.p.Dst, c.p.DstPort))
	}
	dst := peerString(p.Dst, p.DstPort)
	if names := v.Names(p.Dst); len(names) > 0 {
		dst += " " + names[0]
	}
	who := "no other internal host uses it"
	if best.prev > 1 {
		who = fmt.Sprintf("%d of %d internal hosts use it", best.prev, internalHosts)
	}
	sessions := fmt.Sprintf("longest of %s sessions", commas(p.Count))
	switch {
	case best.stitched:
		sessions = fmt.Sprintf("%s back-to-back records joined", commas(p.Count))
	case p.Count == 1:
		sessions = "one session"
	}
	where := "external"
	if best.internal {
		where = "internal"
	}
	reason := fmt.Sprintf("%s connection to %s (%s, %s), %s sent, %s received; %s",
		longConnHours(best.seconds), dst, where, sessions, humanBytes(p.BytesOut), humanBytes(p.BytesIn), who)
	return Finding{
		Host: host, Category: LongConn, Score: score, Flagged: flagged, Peers: peers, Reason: reason,
		Evidence: map[string]any{
			"duration_seconds": best.seconds, "bucket": best.bucket, "sessions": p.Count,
			"stitched": best.stitched, "bytes_out": p.BytesOut, "bytes_in": p.BytesIn,
			"prevalence": best.prev, "internal_hosts": internalHosts, "rare": best.rare,
			"internal_destination": best.internal, "long_connections": len(cs),
		},
	}
}

// longConnHours renders seconds as "10.0 h" or "45 min".
func longConnHours(s int64) string {
	d := time.Duration(s) * time.Second
	if d < time.Hour {
		return fmt.Sprintf("%d min", int64(d.Minutes()))
	}
	return fmt.Sprintf("%.1f h", d.Hours())
}
