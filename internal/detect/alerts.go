package detect

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strings"

	"github.com/flowhunt/flowhunt/internal/engine"
)

// maxAlertSignatures caps the IDS signatures quoted per finding.
const maxAlertSignatures = 5

// attachAlerts adds the IDS alerts (Suricata, via pair tags) raised on a finding's own flows to
// its evidence: the signatures on pairs between the host and the finding's peers, either way.
// An alert corroborates what the finding says, so it raises the score by 0.05 (at most 0.99),
// and it never makes a finding on its own: an IDS signature alone is the IDS's verdict, not
// flowhunt's. Alerts on flows no flagged finding covers are summarised in one note, so none go
// unmentioned.
func attachAlerts(v engine.View, fs []Finding) []Note {
	if !v.Fields().Alerts {
		return nil
	}
	// Alert signatures per unordered pair of addresses and destination port.
	type key struct {
		a, b netip.Addr
		port uint16
	}
	order := func(x, y netip.Addr) (netip.Addr, netip.Addr) {
		if y.Less(x) {
			return y, x
		}
		return x, y
	}
	alerts := map[key][]string{}
	var alerted []*engine.Pair
	for p := range v.Pairs() {
		sigs := engine.TagValues(p.Tags, engine.TagAlert)
		if len(sigs) == 0 {
			continue
		}
		alerted = append(alerted, p)
		a, b := order(p.Src, p.Dst)
		k := key{a, b, p.DstPort}
		for _, s := range sigs {
			if !slices.Contains(alerts[k], s) {
				alerts[k] = append(alerts[k], s)
			}
		}
	}
	if len(alerts) == 0 {
		return nil
	}
	covered := map[key]bool{}
	for i := range fs {
		f := &fs[i]
		var sigs []string
		for _, peer := range f.Peers {
			var (
				addr netip.Addr
				port uint16
			)
			if ap, err := netip.ParseAddrPort(peer); err == nil {
				addr, port = ap.Addr().Unmap(), ap.Port()
			} else if a, err := netip.ParseAddr(peer); err == nil {
				addr = a.Unmap()
			} else {
				continue // a domain (dns-tunnel): no pair to look at
			}
			a, b := order(f.Host, addr)
			for k, ss := range alerts {
				if k.a == a && k.b == b && (port == 0 || k.port == port) {
					covered[k] = covered[k] || f.Flagged // a candidate is not reported without --all
					for _, s := range ss {
						if !slices.Contains(sigs, s) {
							sigs = append(sigs, s)
						}
					}
				}
			}
		}
		if len(sigs) == 0 {
			continue
		}
		slices.Sort(sigs)
		if f.Evidence == nil {
			f.Evidence = map[string]any{}
		}
		f.Evidence["ids_alerts"] = first(sigs, maxAlertSignatures)
		quoted := strings.Join(first(sigs, 2), "; ")
		if len(sigs) > 2 {
			quoted += fmt.Sprintf(" and %d more", len(sigs)-2)
		}
		f.Reason += "; IDS alerts on these flows: " + quoted
		f.Score = math.Min(0.99, f.Score+0.05)
	}
	return uncoveredNote(v, alerted, func(p *engine.Pair) bool {
		a, b := order(p.Src, p.Dst)
		return covered[key{a, b, p.DstPort}]
	})
}

// uncoveredNote says which internal hosts have IDS alerts on flows no finding covers: how many
// pairs, how many of them inbound (the host was the target), and the commonest signature.
func uncoveredNote(v engine.View, alerted []*engine.Pair, covered func(*engine.Pair) bool) []Note {
	type tally struct {
		pairs, inbound int
		sigs           map[string]int
	}
	hosts := map[netip.Addr]*tally{}
	for _, p := range alerted {
		if covered(p) {
			continue
		}
		for _, end := range []netip.Addr{p.Src, p.Dst} {
			if !v.Scope().Contains(end) {
				continue
			}
			t := hosts[end]
			if t == nil {
				t = &tally{sigs: map[string]int{}}
				hosts[end] = t
			}
			t.pairs++
			if end == p.Dst {
				t.inbound++
			}
			for _, s := range engine.TagValues(p.Tags, engine.TagAlert) {
				t.sigs[s]++
			}
		}
	}
	if len(hosts) == 0 {
		return nil
	}
	addrs := slices.SortedFunc(maps.Keys(hosts), func(a, b netip.Addr) int { return cmp.Compare(hosts[b].pairs, hosts[a].pairs) })
	var parts []string
	for _, a := range first(addrs, 5) {
		t := hosts[a]
		sigs := make(map[string]int64, len(t.sigs))
		for s, n := range t.sigs {
			sigs[s] = int64(n)
		}
		parts = append(parts, fmt.Sprintf("%s (%d pairs, %d inbound; commonest: %s)", a, t.pairs, t.inbound, topPeers(sigs, 1)[0]))
	}
	more := ""
	if len(addrs) > 5 {
		more = fmt.Sprintf(" and %d more hosts", len(addrs)-5)
	}
	return []Note{{Detector: "alerts", Text: "IDS alerts on flows no flagged finding covers: " + strings.Join(parts, "; ") + more +
		": the IDS's verdict, not corroborated by behaviour"}}
}
