package detect

import (
	"fmt"
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
// flowhunt's. Alerts on hosts with no finding are counted in one note, so none go unmentioned.
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
	hostsAlerted := map[netip.Addr]int{}
	for p := range v.Pairs() {
		sigs := engine.TagValues(p.Tags, engine.TagAlert)
		if len(sigs) == 0 {
			continue
		}
		a, b := order(p.Src, p.Dst)
		k := key{a, b, p.DstPort}
		for _, s := range sigs {
			if !slices.Contains(alerts[k], s) {
				alerts[k] = append(alerts[k], s)
			}
		}
		hostsAlerted[p.Src]++
		hostsAlerted[p.Dst]++
	}
	if len(alerts) == 0 {
		return nil
	}
	explained := map[netip.Addr]bool{}
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
		explained[f.Host] = true
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
	var unexplained []string
	for h := range hostsAlerted {
		if v.Scope().Contains(h) && !explained[h] {
			unexplained = append(unexplained, h.String())
		}
	}
	if len(unexplained) == 0 {
		return nil
	}
	slices.Sort(unexplained)
	return []Note{{Detector: "alerts", Text: fmt.Sprintf(
		"IDS alerts on flows of %d internal hosts with no finding here (%s): the IDS's verdict, not corroborated by behaviour",
		len(unexplained), strings.Join(first(unexplained, 5), ", "))}}
}
