package netscope

import (
	"fmt"
	"net/netip"
	"sort"
)

// Activity is what inference needs to know about one address.
type Activity struct {
	Addr netip.Addr
	// ServiceDsts counts the distinct destinations the address opened connections to on a service
	// port (below 32768): the mark of a client. Replies logged as flows go to ephemeral ports and
	// do not count, so servers answering many clients do not look like clients.
	ServiceDsts int
	Flows       int64 // flows the address took part in, either side
}

// Inferred is one prefix inference added, with the evidence a user can check.
type Inferred struct {
	Prefix  netip.Prefix `json:"prefix"`
	Clients int          `json:"clients"`
	Reason  string       `json:"reason"`
}

// Inference thresholds.
const (
	// minClientFanout is how many distinct destinations an address must contact to count as a
	// client.
	minClientFanout = 2
	// minGroupClients is how many clients a /16 (IPv4) or /48 (IPv6) must hold to be inferred
	// internal. Outside addresses that initiate connections (scanners, inbound users) are spread
	// across the address space, so even thousands of them rarely put three in one /16.
	minGroupClients = 3
	// soleHostShare: an address taking part in at least this share of all flows is the monitored
	// host of a single-host capture, internal whatever its range.
	soleHostShare = 0.5
)

// Infer finds internal prefixes from behaviour: a block of addresses acting as clients of many
// destinations is a network (whatever its range: public ranges used internally are common), and an
// address that takes part in most flows is the host a capture was taken on. Groups are reported at
// /24 when all their clients share one /24, else /16 (IPv6: /64 or /48). Results are sorted by
// client count, largest first.
func Infer(acts []Activity, totalFlows int64) []Inferred {
	type group struct {
		clients []netip.Addr
		dsts    int
	}
	groups := map[netip.Prefix]*group{}
	var out []Inferred
	seen := map[netip.Prefix]bool{}
	for _, a := range acts {
		if totalFlows > 0 && float64(a.Flows) >= soleHostShare*float64(totalFlows) {
			p := netip.PrefixFrom(a.Addr, a.Addr.BitLen())
			out = append(out, Inferred{Prefix: p, Clients: 1, Reason: fmt.Sprintf(
				"takes part in %d of %d flows (%.0f%%): the capture's own host", a.Flows, totalFlows,
				100*float64(a.Flows)/float64(totalFlows))})
			seen[p] = true
			continue
		}
		if a.ServiceDsts < minClientFanout {
			continue
		}
		bits := 16
		if !a.Addr.Is4() {
			bits = 48
		}
		p, _ := a.Addr.Prefix(bits)
		g := groups[p]
		if g == nil {
			g = &group{}
			groups[p] = g
		}
		g.clients = append(g.clients, a.Addr)
		g.dsts += a.ServiceDsts
	}
	for p, g := range groups {
		if len(g.clients) < minGroupClients {
			continue
		}
		narrow := 24
		if !p.Addr().Is4() {
			narrow = 64
		}
		first, _ := g.clients[0].Prefix(narrow)
		all := true
		for _, c := range g.clients[1:] {
			if !first.Contains(c) {
				all = false
				break
			}
		}
		if all {
			p = first
		}
		if seen[p] {
			continue
		}
		out = append(out, Inferred{Prefix: p, Clients: len(g.clients), Reason: fmt.Sprintf(
			"%d addresses act as clients, each contacting %.0f destinations on service ports on average",
			len(g.clients), float64(g.dsts)/float64(len(g.clients)))})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Clients != out[j].Clients {
			return out[i].Clients > out[j].Clients
		}
		return out[i].Prefix.String() < out[j].Prefix.String()
	})
	return out
}
