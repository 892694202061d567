package detect

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
)

// P2PConfig tunes the internal peer-to-peer (clique) detector.
type P2PConfig struct {
	// MinSize is the smallest group that counts: a pair syncing a folder is not a mesh.
	MinSize int `yaml:"min_size"`
	// MinDensity is the share of possible undirected links a group must have, both whole and
	// without its busiest member (so a server with a few clients that also talk is not a clique).
	MinDensity float64 `yaml:"min_density"`
	// MinLinkFlows is how many flows (both directions together) make a link: one-off contacts
	// are noise.
	MinLinkFlows int64 `yaml:"min_link_flows"`
	// MaxPortShare: a port used internally by more than this share of internal hosts is a
	// network-wide service (discovery, management), not a private mesh.
	MaxPortShare float64 `yaml:"max_port_share"`
	// MinPort: ports below it are well-known services (SMB, NetBIOS, Kerberos, LDAP, DNS …) whose
	// host-to-host chatter is ordinary.
	MinPort uint16 `yaml:"min_port"`
	// IgnorePorts are registered LAN services at or above MinPort whose peers legitimately talk
	// to each other.
	IgnorePorts []uint16 `yaml:"ignore_ports"`
}

// DefaultP2P returns the default clique thresholds.
func DefaultP2P() P2PConfig {
	return P2PConfig{
		MinSize: 3, MinDensity: 0.5, MinLinkFlows: 2, MaxPortShare: 0.3, MinPort: 1024,
		// SSDP, RDP, WS-Discovery, mDNS, LLMNR, WinRM, Dropbox LAN sync, Syncthing (data and
		// discovery).
		IgnorePorts: []uint16{1900, 3389, 3702, 5353, 5355, 5985, 5986, 17500, 21027, 22000},
	}
}

// P2Ps flags internal hosts that form a clique: a group of internal hosts all talking to each
// other on the same unusual port, the shape of a peer-to-peer botnet (ZeroAccess peers, for one,
// talked UDP to each other on fixed high ports such as 16464) or of a worm's mesh. The test is
// graph density, not fan-out: one host talking to many is a server or a scanner.
//
// Per (destination port, protocol) it builds the undirected graph of internal↔internal links:
// hosts a and b are linked when they exchanged at least MinLinkFlows flows on that port, in
// either direction, not all of them blocked. Ports below MinPort, ports in IgnorePorts and ports
// whose graph spans more than MaxPortShare of the internal hosts (v.InternalHosts) are skipped:
// those are services.
//
// Benign internal traffic is many-to-one (file servers, domain controllers, printers, the
// monitoring server): a star. A star is removed by peeling: a host is dropped while it has fewer
// than 2 links inside the group, or while fewer than half of its links on this port stay inside
// the group (a server with many clients, two of which happen to talk to each other, is still a
// server). A pair never survives the peel, so every component left has 3 hosts or more. Each
// component with n ≥ MinSize hosts and e links is a clique when
//
//	density = e / (n(n−1)/2) ≥ MinDensity, and the same density without its busiest member ≥ MinDensity,
//
// the second test rejecting a hub that holds several small triangles together. A full clique has
// density 1 both ways; a star 2/n and 0. Flagged members score
// 0.55 + 0.25·density + 0.1·min(1, log10(flows)/4) (≤ 0.9). Peeled components of MinSize or more
// that are too sparse are returned unflagged with score 0.2·density.
//
// Not covered: meshes on well-known or ignored ports, meshes spanning more than MaxPortShare of
// the network, and peers that each listen on a different port (the graph is per port).
func P2Ps(v engine.View, cfg P2PConfig) ([]Finding, []Note) {
	scope := v.Scope()
	ignore := map[uint16]bool{}
	for _, p := range cfg.IgnorePorts {
		ignore[p] = true
	}
	var cands []*engine.Pair // pointers first: links are 9× larger, and are then allocated once
	for p := range v.Pairs() {
		if p.DstPort < cfg.MinPort || ignore[p.DstPort] || p.Src == p.Dst || p.Count <= p.Blocked ||
			!scope.Contains(p.Src) || !scope.Contains(p.Dst) {
			continue
		}
		cands = append(cands, p)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	links := make([]p2pLink, len(cands))
	for i, p := range cands {
		l := p2pLink{port: p.DstPort, proto: p.Proto, a: p.Src, b: p.Dst, flows: p.Count, bytes: p.BytesOut + p.BytesIn, dirs: 1}
		if l.b.Less(l.a) {
			l.a, l.b, l.dirs = l.b, l.a, 2
		}
		links[i] = l
	}
	slices.SortFunc(links, p2pCompareLinks)
	// Merge a→b and b→a into one undirected link.
	w := 0
	for _, l := range links {
		if w > 0 && p2pCompareLinks(links[w-1], l) == 0 {
			links[w-1].flows += l.flows
			links[w-1].bytes += l.bytes
			links[w-1].dirs |= l.dirs
			continue
		}
		links[w] = l
		w++
	}
	links = links[:w]

	internal := max(v.InternalHosts(), 1)
	var out []Finding
	g := &p2pGraph{idx: map[netip.Addr]int32{}} // reused across ports
	for start := 0; start < len(links); {
		end := start
		for end < len(links) && links[end].port == links[start].port && links[end].proto == links[start].proto {
			end++
		}
		out = append(out, g.port(links[start:end], internal, cfg)...)
		start = end
	}
	slices.SortStableFunc(out, func(x, y Finding) int { return x.Host.Compare(y.Host) })
	return out, nil
}

// p2pLink is one undirected internal link on a port; a < b, dirs has bit 1 for a→b and 2 for b→a.
type p2pLink struct {
	port  uint16
	proto uint8
	dirs  uint8
	a, b  netip.Addr
	flows int64
	bytes uint64
}

func p2pCompareLinks(x, y p2pLink) int {
	if c := cmp.Compare(x.port, y.port); c != 0 {
		return c
	}
	if c := cmp.Compare(x.proto, y.proto); c != 0 {
		return c
	}
	if c := x.a.Compare(y.a); c != 0 {
		return c
	}
	return x.b.Compare(y.b)
}

// p2pGraph is one port's internal graph: hosts are indexes into nodes; the edges each host is
// an endpoint of are inc[off[n]:off[n+1]]. One p2pGraph is reused for every port.
type p2pGraph struct {
	idx   map[netip.Addr]int32
	nodes []netip.Addr
	edges []p2pEdge
	off   []int32
	inc   []int32
	in    []bool
	deg   []int32 // links to hosts still in the group
	comp  []int32 // component id (its first member), −1 if none
	queue []int32
}

type p2pEdge struct {
	a, b int32
	l    *p2pLink
}

func (g *p2pGraph) adj(n int32) []int32 { return g.inc[g.off[n]:g.off[n+1]] }

func (g *p2pGraph) other(ei, n int32) int32 {
	if e := g.edges[ei]; e.a != n {
		return e.a
	}
	return g.edges[ei].b
}

// port finds the cliques among the links of one port (sorted, merged).
func (g *p2pGraph) port(all []p2pLink, internal int, cfg P2PConfig) []Finding {
	// Nodes are counted over every link (the port's reach); edges only over links heavy enough.
	clear(g.idx)
	g.nodes, g.edges = g.nodes[:0], g.edges[:0]
	node := func(a netip.Addr) int32 {
		i, ok := g.idx[a]
		if !ok {
			i = int32(len(g.nodes))
			g.idx[a] = i
			g.nodes = append(g.nodes, a)
		}
		return i
	}
	for i := range all {
		l := &all[i]
		a, b := node(l.a), node(l.b)
		if l.flows >= cfg.MinLinkFlows {
			g.edges = append(g.edges, p2pEdge{a, b, l})
		}
	}
	nn := len(g.nodes)
	if nn < cfg.MinSize || len(g.edges) < cfg.MinSize || float64(nn) > cfg.MaxPortShare*float64(internal) {
		return nil
	}
	// Compressed adjacency: count, prefix-sum, fill.
	g.off = slices.Grow(g.off[:0], nn+1)[:nn+1]
	clear(g.off)
	for _, e := range g.edges {
		g.off[e.a+1]++
		g.off[e.b+1]++
	}
	for n := 1; n <= nn; n++ {
		g.off[n] += g.off[n-1]
	}
	g.inc = slices.Grow(g.inc[:0], 2*len(g.edges))[:2*len(g.edges)]
	g.deg = slices.Grow(g.deg[:0], nn)[:nn]
	clear(g.deg)
	for i, e := range g.edges {
		g.inc[g.off[e.a]+g.deg[e.a]] = int32(i)
		g.deg[e.a]++
		g.inc[g.off[e.b]+g.deg[e.b]] = int32(i)
		g.deg[e.b]++
	}

	// Peel hosts that hang on by fewer than 2 links or keep most of their links outside.
	g.in = slices.Grow(g.in[:0], nn)[:nn]
	weak := func(n int32) bool { return g.deg[n] < 2 || 2*int(g.deg[n]) < len(g.adj(n)) }
	g.queue = g.queue[:0]
	for n := range int32(nn) {
		g.in[n] = !weak(n)
		if !g.in[n] {
			g.queue = append(g.queue, n)
		}
	}
	for len(g.queue) > 0 {
		n := g.queue[len(g.queue)-1]
		g.queue = g.queue[:len(g.queue)-1]
		for _, ei := range g.adj(n) {
			m := g.other(ei, n)
			g.deg[m]--
			if g.in[m] && weak(m) {
				g.in[m] = false
				g.queue = append(g.queue, m)
			}
		}
	}

	// Connected components of what is left.
	g.comp = slices.Grow(g.comp[:0], nn)[:nn]
	for n := range g.comp {
		g.comp[n] = -1
	}
	var out []Finding
	for s := range int32(nn) {
		if !g.in[s] || g.comp[s] >= 0 {
			continue
		}
		members := []int32{s}
		g.comp[s] = s
		for i := 0; i < len(members); i++ {
			for _, ei := range g.adj(members[i]) {
				if m := g.other(ei, members[i]); g.in[m] && g.comp[m] < 0 {
					g.comp[m] = s
					members = append(members, m)
				}
			}
		}
		if len(members) >= cfg.MinSize {
			out = append(out, g.clique(members, internal, cfg)...)
		}
	}
	return out
}

// clique measures one peeled component and returns a finding per member.
func (g *p2pGraph) clique(members []int32, internal int, cfg P2PConfig) []Finding {
	id := g.comp[members[0]]
	n := len(members)
	var e, directed int
	var flows int64
	var bytes uint64
	degC := make(map[int32]int, n)
	var port uint16
	var proto uint8
	for _, m := range members {
		for _, ei := range g.adj(m) {
			o := g.other(ei, m)
			if g.comp[o] != id {
				continue
			}
			degC[m]++
			if m < o { // count each link once
				l := g.edges[ei].l
				e++
				directed += p2pBits(l.dirs)
				flows += l.flows
				bytes += l.bytes
				port, proto = l.port, l.proto
			}
		}
	}
	top := members[0]
	for _, m := range members {
		if degC[m] > degC[top] || (degC[m] == degC[top] && g.nodes[m].Less(g.nodes[top])) {
			top = m
		}
	}
	pairs := func(k int) float64 { return float64(k*(k-1)) / 2 }
	density := float64(e) / pairs(n)
	densityRest := float64(e-degC[top]) / pairs(n-1)
	flagged := density >= cfg.MinDensity && densityRest >= cfg.MinDensity
	score := 0.2 * density
	if flagged {
		score = math.Min(0.9, 0.55+0.25*density+0.1*math.Min(1, math.Log10(float64(max(flows, 1)))/4))
	}
	label := p2pPortLabel(port, proto)
	addrs := make([]netip.Addr, n)
	for i, m := range members {
		addrs[i] = g.nodes[m]
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	reason := fmt.Sprintf("clique of %d internal hosts on %s: %d of %d possible directed links, %s flows",
		n, label, directed, n*(n-1), commas(flows))
	if !flagged {
		reason = fmt.Sprintf("group of %d internal hosts on %s: %d of %d possible directed links (density %.2f, %.2f without its busiest member), too sparse for a clique",
			n, label, directed, n*(n-1), density, densityRest)
	}
	memberStrs := make([]string, n)
	for i, a := range addrs {
		memberStrs[i] = a.String()
	}
	out := make([]Finding, 0, n)
	for _, m := range members {
		peers := make([]string, 0, n-1)
		for _, a := range addrs {
			if a != g.nodes[m] {
				peers = append(peers, peerString(a, port))
			}
		}
		out = append(out, Finding{
			Host: g.nodes[m], Category: P2P, Score: score, Flagged: flagged, Peers: peers, Reason: reason,
			Evidence: map[string]any{
				"port": port, "proto": p2pProtoName(proto), "members": memberStrs, "size": n,
				"links": e, "possible_links": n * (n - 1) / 2, "directed_links": directed,
				"possible_directed_links": n * (n - 1), "density": finite(density),
				"density_without_busiest": finite(densityRest), "host_links": degC[m],
				"flows": flows, "bytes": bytes, "internal_hosts": internal,
			},
		})
	}
	return out
}

func p2pBits(d uint8) int { return int(d&1) + int(d>>1&1) }

// p2pPortLabel renders "41234/udp".
func p2pPortLabel(port uint16, proto uint8) string {
	return strconv.Itoa(int(port)) + "/" + p2pProtoName(proto)
}

// p2pProtoName is the IANA keyword of proto, or "proto-132" for protocols without one.
func p2pProtoName(proto uint8) string {
	if name := flow.ProtoName(proto); name != "" {
		return name
	}
	return "proto-" + strconv.Itoa(int(proto))
}
