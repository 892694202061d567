package detect

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
)

// ExfilConfig tunes the exfiltration detector.
type ExfilConfig struct {
	// MinZ is the robust z-score (log10 bytes) a host's external upload total and the transfer
	// itself must both reach against the network.
	MinZ float64 `yaml:"min_z"`
	// MinRatio: the host's external total must also be at least this many times the network's
	// median host total. A z-score alone over-reacts when the network is homogeneous (a tiny
	// MAD); an exfiltration is orders of magnitude, not a few times, above the norm.
	MinRatio float64 `yaml:"min_ratio"`
	// MinShare: the transfer must be at least this share of everything the host sent outside.
	MinShare float64 `yaml:"min_share"`
	// MaxPrevalence: a destination more than this share of internal hosts use is a shared service
	// (cloud storage, CDN), not a drop.
	MaxPrevalence float64 `yaml:"max_prevalence"`
	// RecurringDays: a transfer seen on at least two days and on at least this share of the days
	// observed is the host's routine (a nightly backup), not an exfiltration.
	RecurringDays float64 `yaml:"recurring_days"`
	// WorkStart and WorkEnd bound working hours (local hour of day, [start, end)); Location names
	// the zone ("" is UTC).
	WorkStart int    `yaml:"work_start"`
	WorkEnd   int    `yaml:"work_end"`
	Location  string `yaml:"location"`
}

// DefaultExfil returns the default exfiltration thresholds.
func DefaultExfil() ExfilConfig {
	return ExfilConfig{MinZ: 3.5, MinRatio: 100, MinShare: 0.5, MaxPrevalence: 0.2, RecurringDays: 0.5, WorkStart: 7, WorkEnd: 19}
}

// exfilWellKnown are destination ports many ordinary uploads use; an upload on any other port
// that no other internal host uses is marked as an unusual-port transfer.
var exfilWellKnown = map[uint16]bool{20: true, 21: true, 22: true, 25: true, 53: true, 80: true, 110: true, 143: true,
	443: true, 465: true, 587: true, 993: true, 995: true, 8080: true, 8443: true}

// Exfils flags internal hosts that send an outlying volume of data to one external destination.
//
// For each internal host h, T(h) = bytes it sent to external addresses; for each (h, d) with d
// external, B(h,d) = bytes h sent to d over every port. Both are compared with the network on a
// log scale, where transfer volumes are roughly normal, by the modified z-score
// z = 0.6745·(log10 x − median)/MAD (robust: the uploads looked for do not move the baseline).
// A transfer is flagged when
//
//	z(T(h)) ≥ MinZ, z(B(h,d)) ≥ MinZ and
//	T(h) ≥ MinRatio × median T                      (far above the network's norm: an outlier, and
//	                                                 by orders of magnitude),
//	B(h,d) ≥ MinShare·T(h)                           (far above the host's own norm: one destination
//	                                                 dominates everything the host sends out),
//	prevalence(d) ≤ MaxPrevalence                    (not a service many hosts use), and
//	not recurring                                    (seen on ≥ 2 days and on ≥ RecurringDays of the
//	                                                 days observed: a nightly backup to the same
//	                                                 provider is the host's routine).
//
// A nightly backup is recognised as routine only once two days are observed: with one day of
// data it looks exactly like an exfiltration and is flagged.
// Score = min(0.95, 0.6 + 0.05·(z(B) − MinZ)) + 0.05 if ≥ 80 % of the transfer's flows started
// outside working hours + 0.05 if its port is not a usual upload port and no other internal host
// uses it outside. Needs transfer sizes (Zeek, flow CSVs); a firewall log, one packet per
// connection, has none and the detector says so.
func Exfils(v engine.View, cfg ExfilConfig) ([]Finding, []Note) {
	loc, err := time.LoadLocation(cfg.Location)
	if err != nil {
		return nil, []Note{{Exfil, fmt.Sprintf("bad location %q: %v; detector skipped", cfg.Location, err)}}
	}
	if !v.Fields().Volumes {
		return nil, []Note{{Exfil, "skipped: flows carry no transfer sizes (a firewall log records one packet per connection)"}}
	}
	scope := v.Scope()
	internal := max(v.InternalHosts(), 1)
	first, last := v.Span()
	daysObserved := int(math.Ceil(float64(last-first) / float64(24*time.Hour)))

	// One pass over the pairs (sorted by source, then destination): the volume of every
	// (internal host, external destination) transfer, and how many internal hosts send outside on
	// each port (pairs of a source are contiguous, so a source is counted once per port).
	type portUse struct {
		last  netip.Addr
		hosts int
	}
	ports := map[uint16]*portUse{}
	var totals, volumes []float64
	var src, dst netip.Addr
	var vol uint64
	flush := func() {
		if vol > 0 {
			volumes = append(volumes, math.Log10(float64(vol)))
		}
		vol = 0
	}
	for p := range v.Pairs() {
		if !scope.Contains(p.Src) || scope.Contains(p.Dst) || p.BytesOut == 0 {
			continue
		}
		u := ports[p.DstPort]
		if u == nil {
			u = &portUse{}
			ports[p.DstPort] = u
		}
		if u.last != p.Src {
			u.last, u.hosts = p.Src, u.hosts+1
		}
		if p.Src != src || p.Dst != dst {
			flush()
			src, dst = p.Src, p.Dst
		}
		vol += p.BytesOut
	}
	flush()
	for h := range v.Hosts() {
		if h.Internal && h.ExtBytesSent > 0 {
			totals = append(totals, math.Log10(float64(h.ExtBytesSent)))
		}
	}
	if len(totals) < 3 {
		return nil, []Note{{Exfil, fmt.Sprintf("%d internal host(s) send data outside: too few for a network baseline", len(totals))}}
	}
	zTotal, medTotal := robustZ(totals)
	outlier := func(total uint64) bool {
		lt := math.Log10(float64(total))
		return zTotal(lt) >= cfg.MinZ && lt-medTotal >= math.Log10(cfg.MinRatio)
	}
	zVolume, medVolume := robustZ(volumes)

	// Second pass, only over hosts whose total is an outlier: their transfers in detail.
	type transfer struct {
		dst          netip.Addr
		bytes        uint64
		ports        []uint16
		times        []uint32
		flows        int64
		firstT, last int64
	}
	type hostAcc struct {
		total     uint64
		transfers []transfer
	}
	hosts := map[netip.Addr]*hostAcc{}
	for h := range v.Hosts() {
		if !h.Internal || h.ExtBytesSent == 0 || !outlier(h.ExtBytesSent) {
			continue
		}
		acc := &hostAcc{total: h.ExtBytesSent}
		var cur *transfer
		for p := range v.PairsFrom(h.Addr) {
			if scope.Contains(p.Dst) || p.BytesOut == 0 {
				continue
			}
			if cur == nil || cur.dst != p.Dst {
				acc.transfers = append(acc.transfers, transfer{dst: p.Dst, firstT: p.First, last: p.Last})
				cur = &acc.transfers[len(acc.transfers)-1]
			}
			cur.bytes += p.BytesOut
			cur.flows += p.Count
			cur.ports = append(cur.ports, p.DstPort)
			cur.times = append(cur.times, p.Times...)
			cur.firstT, cur.last = min(cur.firstT, p.First), max(cur.last, p.Last)
		}
		hosts[h.Addr] = acc
	}

	var out []Finding
	for a, acc := range hosts {
		zt := zTotal(math.Log10(float64(acc.total)))
		for _, t := range acc.transfers {
			zb := zVolume(math.Log10(float64(t.bytes)))
			share := float64(t.bytes) / float64(acc.total)
			prevalence := float64(v.Prevalence(t.dst)) / float64(internal)
			if zb < cfg.MinZ || share < cfg.MinShare || prevalence > cfg.MaxPrevalence {
				continue
			}
			activeDays := distinctDays(t.times, loc)
			recurring := activeDays >= 2 && float64(activeDays) >= cfg.RecurringDays*float64(daysObserved)
			offShare := offHoursShare(t.times, loc, cfg.WorkStart, cfg.WorkEnd)
			slices.Sort(t.ports)
			t.ports = slices.Compact(t.ports)
			var oddPorts []string
			for _, p := range t.ports {
				if !exfilWellKnown[p] && ports[p] != nil && ports[p].hosts == 1 {
					oddPorts = append(oddPorts, fmt.Sprint(p))
				}
			}
			score := math.Min(0.95, 0.6+0.05*(zb-cfg.MinZ))
			var extra []string
			if offShare >= 0.8 {
				score += 0.05
				extra = append(extra, fmt.Sprintf("%.0f%% outside working hours", 100*offShare))
			}
			if len(oddPorts) > 0 {
				score += 0.05
				extra = append(extra, "on port "+strings.Join(oddPorts, ",")+" no other host uses")
			}
			peers := make([]string, 0, len(t.ports))
			for _, p := range t.ports {
				peers = append(peers, peerString(t.dst, p))
			}
			reason := fmt.Sprintf("%s sent to %s (%.0f%% of all it sent outside; network median per destination %s) in %s flows over %s",
				humanBytes(t.bytes), t.dst, 100*share, humanBytes(uint64(math.Pow(10, medVolume))), commas(t.flows),
				time.Duration(t.last-t.firstT).Round(time.Minute))
			if len(extra) > 0 {
				reason += ", " + strings.Join(extra, ", ")
			}
			f := Finding{Host: a, Category: Exfil, Score: math.Min(score, 0.99), Flagged: !recurring, Peers: peers, Reason: reason,
				Evidence: map[string]any{
					"bytes_sent": t.bytes, "host_external_bytes_sent": acc.total, "share_of_host": finite(share),
					"z_transfer": finite(zb), "z_host": finite(zt), "flows": t.flows, "active_days": activeDays,
					"days_observed": daysObserved, "off_hours_share": finite(offShare), "unusual_ports": oddPorts,
					"destination_prevalence": v.Prevalence(t.dst),
				}}
			if recurring {
				f.Score = 0.2
				f.Reason = fmt.Sprintf("recurring transfer, not flagged: %s to %s on %d of %d days", humanBytes(t.bytes), t.dst, activeDays, daysObserved)
			}
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(x, y Finding) int { return x.Host.Compare(y.Host) })
	return out, nil
}

// distinctDays counts the local calendar days among Unix seconds.
func distinctDays(times []uint32, loc *time.Location) int {
	seen := map[int]bool{}
	for _, s := range times {
		y, m, d := time.Unix(int64(s), 0).In(loc).Date()
		seen[y*400+int(m)*32+d] = true
	}
	return len(seen)
}

// offHoursShare is the share of Unix seconds outside [workStart, workEnd) local time. Weekends
// are not treated apart: daytime weekend activity is common and benign, night activity is not.
func offHoursShare(times []uint32, loc *time.Location, workStart, workEnd int) float64 {
	if len(times) == 0 {
		return 0
	}
	off := 0
	for _, s := range times {
		if offHours(time.Unix(int64(s), 0).In(loc), workStart, workEnd) {
			off++
		}
	}
	return float64(off) / float64(len(times))
}

func offHours(t time.Time, workStart, workEnd int) bool {
	h := t.Hour()
	return h < workStart || h >= workEnd
}
