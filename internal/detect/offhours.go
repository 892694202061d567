package detect

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
)

// OffHoursConfig tunes the off-hours detector.
type OffHoursConfig struct {
	// WorkStart and WorkEnd bound working hours (local hour of day, [start, end)); Location names
	// the zone ("" is UTC). With LearnHours they are only the fallback.
	WorkStart int    `yaml:"work_start"`
	WorkEnd   int    `yaml:"work_end"`
	Location  string `yaml:"location"`
	// LearnHours learns working hours from the network's own diurnal curve (see learnWorkHours);
	// --work-hours turns it off.
	LearnHours bool `yaml:"learn_hours"`
	// ShoulderHours widens the working day on both sides before a flow counts as off hours:
	// starting at 07:30 when the office opens at 08:00 is early, not night work.
	ShoulderHours int `yaml:"shoulder_hours"`
	// MinShare is the share of a destination's flows that must start off hours.
	MinShare float64 `yaml:"min_share"`
	// MaxHostShare: a host whose own traffic is mostly off hours (a night-shift server) has a
	// nocturnal baseline and is not flagged.
	MaxHostShare float64 `yaml:"max_host_share"`
	// MinFlows is how many distinct flow starts to the destination are needed.
	MinFlows int `yaml:"min_flows"`
	// MaxPrevalence: only destinations at most this many internal hosts use are rare.
	MaxPrevalence int `yaml:"max_prevalence"`
	// MaxChance bounds how many hosts of the network would be flagged by chance alone: a
	// destination's chance (see OffHoursActivity) times the hosts tested must not exceed it.
	MaxChance float64 `yaml:"max_chance"`
	// MinHosts is how many internal hosts with external traffic the network needs before a
	// destination few of them use means anything, and before its diurnal curve is an office's
	// day rather than one machine's habits. Below it, findings are candidates only.
	MinHosts int `yaml:"min_hosts"`
}

// DefaultOffHours returns the default off-hours thresholds.
func DefaultOffHours() OffHoursConfig {
	return OffHoursConfig{WorkStart: 7, WorkEnd: 19, LearnHours: true, ShoulderHours: 1, MinShare: 0.9, MaxHostShare: 0.5, MinFlows: 3, MaxPrevalence: 2, MaxChance: 0.01, MinHosts: 5}
}

// OffHoursActivity flags internal hosts whose traffic to a rare external destination happens almost
// only outside working hours, when their own traffic does not.
//
// For host h and external destination d used by at most MaxPrevalence internal hosts, with
// s(h,d) = share of the distinct flow starts from h to d outside [WorkStart − ShoulderHours,
// WorkEnd + ShoulderHours) local time (an early start is not night work),
// and s(h) = share of all flows h originated outside those hours (from its hourly counts, h's own
// baseline), the pair is flagged when s(h,d) ≥ MinShare, s(h) ≤ MaxHostShare and there are at
// least MinFlows flow starts. A night-shift server (s(h) high) is thereby not flagged, nor is
// traffic to destinations many hosts use (updates, NTP). Strictly periodic traffic (median gap
// ≤ 10 min, MAD of gaps ≤ 20 % of it, over ≥ 15 flows) is the beacon detector's: it is left out here, so a
// beacon whose bursts happen to fall at night is not reported twice.
//
// Chance. A host that works 40 % of the time off hours sends all of 5 flows to some destination
// off hours with probability 0.4⁵ = 1 %; over the dozens of rare destinations a host has, and
// the thousands of hosts of a network, some will. With n flow starts to d, k of them off hours,
// m destinations of h tested and H hosts tested, the pair's chance is m · P[X ≥ k] for
// X ~ Binomial(n, s(h)), and H times that bounds the hosts the network would show by chance alone
// (Bonferroni); a pair is flagged only when H · chance ≤ MaxChance. Planted C2 at night from a
// daytime host (11 of 11 flows off hours, s(h) = 0.2: 2·10⁻⁸ per destination) passes by orders
// of magnitude; uniform random traffic does not (the 10M-line benchmark flagged 42 of its 5,000
// hosts before this test, none after).
// Score = min(0.9, 0.6 + 0.3·(s(h,d) − s(h))); candidates that fail the chance test score ≤ 0.25.
//
// Rarity needs a network: with fewer than MinHosts internal hosts talking outside (a capture of
// one workstation), every destination is one "no other host uses" and the curve is one user's
// day, so working hours are not learned and findings are returned unflagged with score ≤ 0.25,
// and a Note says so.
func OffHoursActivity(v engine.View, cfg OffHoursConfig) ([]Finding, []Note) {
	loc, err := time.LoadLocation(cfg.Location)
	if err != nil {
		return nil, []Note{{OffHours, fmt.Sprintf("bad location %q: %v; detector skipped", cfg.Location, err)}}
	}
	if !v.Fields().Times {
		return nil, []Note{{OffHours, "flows carry no timestamps: detector skipped"}}
	}
	scope := v.Scope()
	offset := func(unix int64) int { _, off := time.Unix(unix, 0).In(loc).Zone(); return off }
	var notes []Note
	talkers := 0
	for h := range v.Hosts() {
		if h.Internal && h.ExtConns > 0 {
			talkers++
		}
	}
	enough := talkers >= cfg.MinHosts
	if !enough {
		notes = append(notes, Note{OffHours, fmt.Sprintf("%d internal host(s) talk to external addresses, %d are needed to tell rare destinations "+
			"and an office day: using %02d:00-%02d:00 and flagging nothing (candidates with --all)", talkers, cfg.MinHosts, cfg.WorkStart, cfg.WorkEnd)})
	}
	if cfg.LearnHours && enough {
		var curve [24]uint64
		for h := range v.Hosts() {
			if h.Internal {
				for hr, n := range h.HourOfDay(offset) {
					curve[hr] += n
				}
			}
		}
		if start, end, ok := learnWorkHours(curve); ok {
			cfg.WorkStart, cfg.WorkEnd = start, end
			notes = append(notes, Note{OffHours, fmt.Sprintf("working hours learned from the network's activity: %02d:00-%02d:00 (set them with --work-hours)", start, end)})
		} else {
			notes = append(notes, Note{OffHours, fmt.Sprintf("the network's activity shows no clear working day: using %02d:00-%02d:00 (set them with --work-hours)", cfg.WorkStart, cfg.WorkEnd)})
		}
	}
	// Off hours proper: the working day widened by the shoulder on both sides.
	offStart, offEnd := max(cfg.WorkStart-cfg.ShoulderHours, 0), min(cfg.WorkEnd+cfg.ShoulderHours, 24)
	var out []Finding
	hostsTested := 0
	for h := range v.Hosts() {
		if !h.Internal || h.ExtConns == 0 {
			continue
		}
		hours := h.HourOfDay(offset)
		var total, off uint64
		for hr, n := range hours {
			total += n
			if hr < offStart || hr >= offEnd {
				off += n
			}
		}
		hostShare := float64(off) / float64(max(total, 1))
		if hostShare > cfg.MaxHostShare {
			continue
		}
		var (
			times  []uint32
			dst    netip.Addr
			ports  []uint16
			tested int        // destinations whose share was measured: the family of the chance test
			from   = len(out) // this host's findings start here
			chance []float64
		)
		flush := func() {
			if !dst.IsValid() || len(times) < cfg.MinFlows {
				return
			}
			slices.Sort(times)
			times = slices.Compact(times)
			if len(times) < cfg.MinFlows || periodic(times) {
				return
			}
			share := offHoursShare(times, loc, offStart, offEnd)
			tested++
			if share < cfg.MinShare {
				return
			}
			chance = append(chance, binomialTail(len(times), int(math.Round(share*float64(len(times)))), hostShare))
			peers := make([]string, 0, len(ports))
			for _, p := range ports {
				peers = append(peers, peerString(dst, p))
			}
			score := math.Min(0.9, 0.6+0.3*(share-hostShare))
			if !enough {
				score = math.Min(score, 0.25)
			}
			out = append(out, Finding{Host: h.Addr, Category: OffHours, Score: score,
				Flagged: enough, Peers: peers,
				Reason: fmt.Sprintf("%d flows to %s, a destination %s, %.0f%% of them outside %02d:00-%02d:00, when %.0f%% of the host's own traffic is",
					len(times), dst, usedBy(v.Prevalence(dst)), 100*share, offStart, offEnd, 100*hostShare),
				Evidence: map[string]any{"flows": len(times), "off_hours_share": finite(share), "host_off_hours_share": finite(hostShare),
					"destination_prevalence": v.Prevalence(dst), "work_hours": fmt.Sprintf("%02d-%02d", cfg.WorkStart, cfg.WorkEnd)}})
		}
		for p := range v.PairsFrom(h.Addr) {
			if scope.Contains(p.Dst) || v.Prevalence(p.Dst) > cfg.MaxPrevalence {
				continue
			}
			if p.Dst != dst {
				flush()
				dst, times, ports = p.Dst, times[:0], ports[:0]
			}
			times = append(times, p.Times...)
			if !slices.Contains(ports, p.DstPort) {
				ports = append(ports, p.DstPort)
			}
		}
		flush()
		hostsTested++
		for i := range out[from:] {
			out[from+i].Evidence["chance"] = math.Min(1, chance[i]*float64(tested))
			out[from+i].Evidence["destinations_tested"] = tested
		}
	}
	for i := range out {
		f := &out[i]
		c := f.Evidence["chance"].(float64)
		f.Evidence["hosts_tested"] = hostsTested
		if expected := c * float64(hostsTested); expected > cfg.MaxChance {
			f.Flagged, f.Score = false, math.Min(f.Score, 0.25)
			f.Reason += fmt.Sprintf("; chance alone would show %.2g such hosts among the %d tested", expected, hostsTested)
		}
	}
	slices.SortFunc(out, func(x, y Finding) int { return x.Host.Compare(y.Host) })
	return out, notes
}

// binomialTail is P[X ≥ k] for X ~ Binomial(n, q), summed in log space.
func binomialTail(n, k int, q float64) float64 {
	switch {
	case k <= 0 || q >= 1:
		return 1
	case k > n || q <= 0:
		return 0
	}
	lgN, _ := math.Lgamma(float64(n + 1))
	sum := 0.0
	for i := k; i <= n; i++ {
		lgI, _ := math.Lgamma(float64(i + 1))
		lgNI, _ := math.Lgamma(float64(n - i + 1))
		sum += math.Exp(lgN - lgI - lgNI + float64(i)*math.Log(q) + float64(n-i)*math.Log1p(-q))
	}
	return math.Min(1, sum)
}

// learnWorkHours finds the working day in a network's flows per hour of day: traffic that runs
// around the clock (monitoring, updates, NTP) sets a floor, people add a daytime bump on top.
// Working hours are the longest run of hours (circular) whose flows exceed floor + half of
// (peak − floor). The curve must show a real bump (peak ≥ 1.5 × floor + 1) and a run of 4 to 18
// hours, else ok is false.
func learnWorkHours(curve [24]uint64) (start, end int, ok bool) {
	floor, peak := curve[0], curve[0]
	for _, n := range curve {
		floor, peak = min(floor, n), max(peak, n)
	}
	if float64(peak) < 1.5*float64(floor)+1 {
		return 0, 0, false
	}
	cut := float64(floor) + float64(peak-floor)/2
	bestLen, bestStart := 0, 0
	for s := range 24 {
		if float64(curve[s]) <= cut || float64(curve[(s+23)%24]) > cut {
			continue // not the start of a run
		}
		n := 0
		for n < 24 && float64(curve[(s+n)%24]) > cut {
			n++
		}
		if n > bestLen {
			bestLen, bestStart = n, s
		}
	}
	if bestLen < 4 || bestLen > 18 || bestStart+bestLen > 24 {
		return 0, 0, false // too short, too long, or across midnight: not an office day
	}
	return bestStart, bestStart + bestLen, true
}

// periodic reports whether sorted flow starts repeat at a steady short interval: at least 15 of
// them (a beacon burst is 20-40; a back-to-back upload of a few parts is not a beacon), median
// gap at most 10 minutes and a median absolute deviation of gaps at most 20 % of it.
func periodic(times []uint32) bool {
	if len(times) < 15 {
		return false
	}
	r, _, _ := c2RhythmOf(times, nil, nil) // the same rhythm measure the c2 detector uses
	return r.gap <= 600 && r.mad <= 0.2*r.gap
}

func usedBy(n int) string {
	if n <= 1 {
		return "no other internal host uses"
	}
	return fmt.Sprintf("only %d internal hosts use", n)
}
