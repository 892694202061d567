package detect

import (
	"fmt"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/intel"
)

// MinerConfig tunes the miner detector.
type MinerConfig struct {
	// MinConns is how many connections to pool-named destinations flag a host.
	MinConns int64 `yaml:"min_conns"`
	// MaxPortPrevalence: a mining-port destination contacted by more than this share of internal
	// hosts is a shared service, not a pool, and adds nothing.
	MaxPortPrevalence float64 `yaml:"max_port_prevalence"`
}

// DefaultMiner returns the default miner thresholds.
func DefaultMiner() MinerConfig {
	return MinerConfig{MinConns: 1, MaxPortPrevalence: 0.2}
}

var (
	pools      = sync.OnceValue(intel.MiningPools)
	poolPorts  = sync.OnceValue(func() map[uint16]bool { p, _ := intel.MiningPorts(); return p })
	portsVer   = sync.OnceValue(func() string { _, v := intel.MiningPorts(); return v })
	minerNames = "DNS answers, TLS SNI, HTTP Host or --dns-map"
)

// Miners flags internal hosts that talk to cryptocurrency mining pools.
//
// Names decide: a destination is a pool when any name seen for it (DNS answers, TLS SNI, HTTP
// Host, the user's --dns-map) ends in a domain of the embedded pool list (whole-label suffix
// match). A host with at least MinConns connections to pool destinations is flagged with
// score = min(0.99, 0.8 + 0.05·log10(connections) + 0.05·[also on a mining port]).
//
// The protocol decides too: a pair whose first payload bytes are a Stratum JSON-RPC call
// (mining.subscribe, login, ...; packet captures only, see intel.StratumMethod) makes its source a
// miner with score 0.97, whatever the port and whether or not a name is known.
//
// Ports only raise: connections to the embedded Stratum ports (3333, 14444, ...) on destinations
// few internal hosts share (prevalence ≤ MaxPortPrevalence) make an unflagged candidate with
// score ≤ 0.3, or add to a name-based finding. They never decide: the ports are shared with other
// services, and real miners hide on 443 (seed 000: the port list found nothing).
//
// Without a name, behaviour is the second signal: sessions to a destination at most two internal
// hosts use, kept up around the clock at a high rate with few bytes each (minerLike). Behaviour
// alone makes a candidate (score 0.4: a fast beacon looks the same, and the beacon detector will
// report it as such); behaviour on a Stratum port is two independent signals and is flagged
// (score 0.75).
func Miners(v engine.View, cfg MinerConfig) ([]Finding, []Note) {
	type acc struct {
		poolConns, portConns int64
		bytesOut             uint64
		pools, names         map[string]bool
		peers                map[string]int64
		portPeers            map[string]int64
		steadyConns          int64 // flows of miner-like sessions (see minerLike)
		steadyOnPort         bool  // one of them is on a Stratum port
		steadyPeers          map[string]int64
		steadyRate           float64 // flows per hour of the busiest
		stratumConns         int64   // flows of pairs whose payload spoke Stratum
		stratumMethods       map[string]bool
		stratumPeers         map[string]int64
	}
	hosts := map[netip.Addr]*acc{}
	get := func(a netip.Addr) *acc {
		h := hosts[a]
		if h == nil {
			h = &acc{pools: map[string]bool{}, names: map[string]bool{}, peers: map[string]int64{}, portPeers: map[string]int64{},
				steadyPeers: map[string]int64{}, stratumMethods: map[string]bool{}, stratumPeers: map[string]int64{}}
			hosts[a] = h
		}
		return h
	}
	scope := v.Scope()
	internal := max(v.InternalHosts(), 1)
	anyNames := false
	// Per destination, once: the pool names it answers to and whether its port use can count.
	type verdict struct {
		names, pools []string
		prevalence   int  // internal hosts that contact it
		rare         bool // few internal hosts share it
	}
	verdicts := map[netip.Addr]*verdict{}
	for p := range v.Pairs() {
		if !scope.Contains(p.Src) {
			continue
		}
		// The protocol itself, wherever the pool is (an internal mining proxy too).
		if methods := engine.TagValues(p.Tags, engine.TagStratum); len(methods) > 0 {
			h := get(p.Src)
			h.stratumConns += p.Count
			h.stratumPeers[peerString(p.Dst, p.DstPort)] += p.Count
			for _, m := range methods {
				h.stratumMethods[m] = true
			}
		}
		if scope.Contains(p.Dst) {
			continue
		}
		vd := verdicts[p.Dst]
		if vd == nil {
			prev := v.Prevalence(p.Dst)
			vd = &verdict{prevalence: prev, rare: float64(prev)/float64(internal) <= cfg.MaxPortPrevalence}
			for _, n := range v.Names(p.Dst) {
				anyNames = true
				if pool := pools().Match(n); pool != "" {
					vd.names = append(vd.names, n)
					vd.pools = append(vd.pools, pool)
				}
			}
			verdicts[p.Dst] = vd
		}
		if len(vd.names) > 0 {
			h := get(p.Src)
			for i, n := range vd.names {
				h.names[n] = true
				h.pools[vd.pools[i]] = true
			}
			h.poolConns += p.Count
			h.bytesOut += p.BytesOut
			h.peers[peerString(p.Dst, p.DstPort)] += p.Count
		}
		if p.Proto == 6 && poolPorts()[p.DstPort] && vd.rare {
			h := get(p.Src)
			h.portConns += p.Count
			h.portPeers[peerString(p.Dst, p.DstPort)] += p.Count
		}
		if len(vd.names) == 0 && vd.prevalence <= 2 {
			if rate, ok := minerLike(p, v.Fields().Volumes); ok {
				h := get(p.Src)
				h.steadyConns += p.Count
				h.steadyPeers[peerString(p.Dst, p.DstPort)] += p.Count
				h.steadyOnPort = h.steadyOnPort || poolPorts()[p.DstPort]
				h.steadyRate = max(h.steadyRate, rate)
			}
		}
	}
	var notes []Note
	if !anyNames {
		notes = append(notes, Note{Miner, "no names for external destinations (" + minerNames +
			"): pool names cannot be matched, only mining ports were checked"})
	}
	var out []Finding
	for a, h := range hosts {
		ev := map[string]any{
			"pool_connections": h.poolConns, "mining_port_connections": h.portConns,
			"pool_list_version": pools().Version, "port_list_version": portsVer(),
		}
		if h.stratumConns > 0 {
			// The mining protocol on the wire decides alone; pool names, when known, are added.
			ev["stratum_pair_connections"] = h.stratumConns
			ev["stratum_methods"] = sortedKeys(h.stratumMethods)
			peers := topPeers(h.stratumPeers, 5)
			reason := fmt.Sprintf("Stratum mining protocol (%s) seen in payloads to %s (%s connections in all)",
				strings.Join(sortedKeys(h.stratumMethods), ", "), strings.Join(peers, ", "), commas(h.stratumConns))
			if h.poolConns > 0 {
				ev["pools"] = sortedKeys(h.pools)
				ev["names"] = sortedKeys(h.names)
				reason += fmt.Sprintf("; %s connections to mining pool %s", commas(h.poolConns), strings.Join(first(sortedKeys(h.names), 3), ", "))
			}
			out = append(out, Finding{Host: a, Category: Miner, Score: 0.97, Flagged: true, Peers: peers, Reason: reason, Evidence: ev})
			continue
		}
		if h.poolConns >= cfg.MinConns && h.poolConns > 0 {
			score := 0.8 + 0.05*math.Log10(float64(h.poolConns))
			if h.portConns > 0 {
				score += 0.05
			}
			ev["pools"] = sortedKeys(h.pools)
			ev["names"] = sortedKeys(h.names)
			ev["bytes_sent"] = h.bytesOut
			peers := topPeers(h.peers, 5)
			reason := fmt.Sprintf("%s connections to mining pool %s (%s), %s sent",
				commas(h.poolConns), strings.Join(first(sortedKeys(h.names), 3), ", "),
				strings.Join(sortedKeys(h.pools), ", "), humanBytes(h.bytesOut))
			if h.portConns > 0 {
				reason += fmt.Sprintf("; %s on mining ports", commas(h.portConns))
			}
			out = append(out, Finding{Host: a, Category: Miner, Score: math.Min(0.99, score), Flagged: true,
				Peers: peers, Reason: reason, Evidence: ev})
			continue
		}
		if h.steadyConns > 0 {
			ev["steady_connections"] = h.steadyConns
			ev["steady_flows_per_hour"] = finite(h.steadyRate)
			peers := topPeers(h.steadyPeers, 3)
			reason := fmt.Sprintf("miner-like sessions: %s connections to %s around the clock, %.0f an hour, few bytes each; no pool name known (give --dns-map or DNS logs)",
				commas(h.steadyConns), strings.Join(peers, ", "), h.steadyRate)
			f := Finding{Host: a, Category: Miner, Score: 0.4, Flagged: false, Peers: peers, Reason: reason, Evidence: ev}
			if h.steadyOnPort { // two independent signals agree: behaviour and a Stratum port
				f.Score, f.Flagged = 0.75, true
				f.Reason += ", on a Stratum port"
			}
			out = append(out, f)
			continue
		}
		if h.portConns > 0 {
			peers := topPeers(h.portPeers, 5)
			score := math.Min(0.3, 0.1+0.05*math.Log10(float64(h.portConns)))
			out = append(out, Finding{Host: a, Category: Miner, Score: score, Flagged: false, Peers: peers,
				Reason: fmt.Sprintf("%s connections to mining ports (%s); ports alone do not decide",
					commas(h.portConns), strings.Join(portsOf(peers), ", ")),
				Evidence: ev})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Host.Less(out[j].Host) })
	return out, notes
}

// minerLike reports whether a pair looks like a mining session kept up without pause: TCP, at
// least 100 flows over at least 12 hours, touching at least 20 of the 24 hours of the day, at
// least 20 flows an hour, and (when byte counts are transfer sizes) under 2 kB sent per flow. It
// returns the flows per hour. A fast beacon looks the same, which is why behaviour alone makes
// only a candidate.
func minerLike(p *engine.Pair, volumes bool) (float64, bool) {
	if p.Proto != 6 || p.Count < 100 || len(p.Times) < 100 {
		return 0, false
	}
	hours := float64(p.Last-p.First) / 3600e9
	if hours < 12 {
		return 0, false
	}
	var seen uint32
	for _, t := range p.Times {
		seen |= 1 << ((t / 3600) % 24)
	}
	rate := float64(p.Count) / hours
	if bits.OnesCount32(seen) < 20 || rate < 20 || (volumes && p.BytesOut/uint64(p.Count) > 2000) {
		return 0, false
	}
	return rate, true
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func first[T any](s []T, n int) []T {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func portsOf(peers []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range peers {
		if ap, err := netip.ParseAddrPort(p); err == nil {
			port := fmt.Sprint(ap.Port())
			if !seen[port] {
				seen[port] = true
				out = append(out, port)
			}
		}
	}
	return out
}
