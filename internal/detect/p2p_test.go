package detect

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// pcNet builds small views in 10.0.0.0/8 for the p2p and c2 tests: flows at chosen times, with
// a background of ordinary hosts so that shares of internal hosts have a denominator.
type pcNet struct {
	recs []flow.Record
	rng  *rand.Rand
}

const pcT0 = 1_700_000_000 // Unix seconds of the first flow

// newPCNet returns a network with background ordinary hosts 10.9.0.1… browsing one site.
func newPCNet(background int) *pcNet {
	n := &pcNet{rng: rand.New(rand.NewPCG(7, 7))}
	for i := range background {
		n.flows(fmt.Sprintf("10.9.0.%d", i+1), "93.184.216.34", 443, flow.ProtoTCP, []int64{pcT0 + int64(i)})
	}
	return n
}

// flows adds one flow from src to dst:port at each Unix second in at.
func (n *pcNet) flows(src, dst string, port uint16, proto uint8, at []int64) {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	for _, t := range at {
		n.recs = append(n.recs, flow.Record{Time: t * 1e9, Src: s, Dst: d, SrcPort: 40000, DstPort: port,
			Proto: proto, BytesOut: 300, BytesIn: 200, PktsOut: 1, PktsIn: 1, Action: flow.ActionPass})
	}
}

// every returns count times from start, period seconds apart with uniform jitter ±jitter·period.
func (n *pcNet) every(start int64, period, jitter float64, count int) []int64 {
	out := make([]int64, 0, count)
	t := float64(start)
	for range count {
		out = append(out, int64(t))
		t += period * (1 + jitter*(2*n.rng.Float64()-1))
	}
	return out
}

// random returns count times spread uniformly over span seconds from start.
func (n *pcNet) random(start int64, span, count int) []int64 {
	out := make([]int64, count)
	for i := range out {
		out[i] = start + int64(n.rng.IntN(span))
	}
	slices.Sort(out)
	return out
}

// mesh makes every ordered pair of hosts exchange count flows on port.
func (n *pcNet) mesh(hosts []string, port uint16, proto uint8, count int) {
	for _, a := range hosts {
		for _, b := range hosts {
			if a != b {
				n.flows(a, b, port, proto, n.every(pcT0+int64(n.rng.IntN(600)), 420, 0.5, count))
			}
		}
	}
}

func (n *pcNet) view(t testing.TB) engine.View {
	t.Helper()
	return viewOf(t, n.recs, nil, "10.0.0.0/8")
}

func pcHosts(prefix string, from, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, from+i)
	}
	return out
}

// pcCheck asserts that exactly the hosts in flagged are flagged for cat, each with a reason
// containing every string in reason, that exactly the hosts in candidates appear unflagged, and
// that every finding is well formed, about an internal host, and in host order.
func pcCheck(t *testing.T, name string, fs []Finding, cat string, flagged, candidates []string, reason ...string) {
	t.Helper()
	internal := netip.MustParsePrefix("10.0.0.0/8")
	var got, cands []string
	for _, f := range fs {
		if f.Category != cat || !internal.Contains(f.Host) {
			t.Errorf("%s: finding for %s in %q: want internal hosts in %q", name, f.Host, f.Category, cat)
		}
		if f.Score < 0 || f.Score > 1 || f.Reason == "" || len(f.Evidence) == 0 || len(f.Peers) == 0 {
			t.Errorf("%s: %s finding %+v: want score in [0,1], reason, evidence and peers", name, f.Host, f)
		}
		if !f.Flagged {
			cands = append(cands, f.Host.String())
			if f.Score > 0.25 {
				t.Errorf("%s: unflagged %s scores %.2f", name, f.Host, f.Score)
			}
			continue
		}
		got = append(got, f.Host.String())
		if f.Score < 0.6 {
			t.Errorf("%s: flagged %s scores only %.2f", name, f.Host, f.Score)
		}
		for _, r := range reason {
			if !strings.Contains(f.Reason, r) {
				t.Errorf("%s: %s reason %q lacks %q", name, f.Host, f.Reason, r)
			}
		}
	}
	pcSame := func(what string, got, want []string) {
		t.Helper()
		got, want = slices.Clone(got), slices.Clone(want)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			var reasons []string
			for _, f := range fs[:min(len(fs), 3)] {
				reasons = append(reasons, f.Reason)
			}
			t.Errorf("%s: %s %v, want %v (first reasons %q)", name, what, got, want, reasons)
		}
	}
	pcSame("flagged", got, flagged)
	pcSame("candidates", cands, candidates)
	if !slices.IsSortedFunc(fs, func(x, y Finding) int { return x.Host.Compare(y.Host) }) {
		t.Errorf("%s: findings not sorted by host", name)
	}
}

func TestP2Ps(t *testing.T) {
	var fcfg func(name string, cfg P2PConfig, build func(n *pcNet), flagged, candidates []string, reason ...string)
	f := func(name string, build func(n *pcNet), flagged, candidates []string, reason ...string) {
		t.Helper()
		fcfg(name, DefaultP2P(), build, flagged, candidates, reason...)
	}
	fcfg = func(name string, cfg P2PConfig, build func(n *pcNet), flagged, candidates []string, reason ...string) {
		t.Helper()
		n := newPCNet(40)
		build(n)
		fs, notes := P2Ps(n.view(t), cfg)
		if len(notes) != 0 {
			t.Errorf("%s: notes %v", name, notes)
		}
		pcCheck(t, name, fs, P2P, flagged, candidates, reason...)
	}
	clique5 := pcHosts("10.0.1.", 10, 5)
	// Planted (office): five hosts, all pairs, UDP 41234 every few minutes.
	f("clique of 5", func(n *pcNet) { n.mesh(clique5, 41234, flow.ProtoUDP, 20) },
		clique5, nil, "clique of 5 internal hosts on 41234/udp: 20 of 20 possible directed links, 400 flows")
	// The smallest clique: a triangle.
	f("triangle", func(n *pcNet) { n.mesh(clique5[:3], 50000, flow.ProtoTCP, 5) },
		clique5[:3], nil, "clique of 3 internal hosts on 50000/tcp: 6 of 6")
	// One direction per pair still links them.
	f("one-way clique", func(n *pcNet) {
		for i, a := range clique5 {
			for _, b := range clique5[i+1:] {
				n.flows(a, b, 41234, flow.ProtoUDP, n.every(pcT0, 300, 0.3, 5))
			}
		}
	}, clique5, nil, "10 of 20 possible directed links")
	// A clique plus a member that also talks to one outsider: the outsider is peeled.
	f("clique with a hanger-on", func(n *pcNet) {
		n.mesh(clique5[:4], 41234, flow.ProtoUDP, 5)
		n.flows(clique5[0], "10.0.1.99", 41234, flow.ProtoUDP, n.every(pcT0, 60, 0, 5))
	}, clique5[:4], nil, "clique of 4")
	// A stricter minimum size leaves a triangle alone.
	big := DefaultP2P()
	big.MinSize = 4
	fcfg("triangle below min size", big, func(n *pcNet) { n.mesh(clique5[:3], 50000, flow.ProtoTCP, 5) }, nil, nil)
	fcfg("four at min size 4", big, func(n *pcNet) { n.mesh(clique5[:4], 50000, flow.ProtoTCP, 5) }, clique5[:4], nil)
	// Two separate cliques on one port are two findings.
	f("two cliques", func(n *pcNet) {
		n.mesh(clique5[:3], 41234, flow.ProtoUDP, 5)
		n.mesh(pcHosts("10.0.2.", 1, 3), 41234, flow.ProtoUDP, 5)
	}, append(slices.Clone(clique5[:3]), pcHosts("10.0.2.", 1, 3)...), nil, "clique of 3")
	// Look-alike (office): two desktops syncing; a pair is not a clique.
	f("pair", func(n *pcNet) { n.mesh(clique5[:2], 40000, flow.ProtoTCP, 50) }, nil, nil)
	// Look-alike (office): file server with every user as client, a star.
	f("star", func(n *pcNet) {
		for _, c := range pcHosts("10.9.0.", 1, 8) {
			n.flows(c, "10.0.0.5", 4450, flow.ProtoTCP, n.every(pcT0, 900, 0.5, 8))
		}
	}, nil, nil)
	// Look-alike: the monitoring server polled by and polling its agents both ways, a star.
	f("two-way star", func(n *pcNet) {
		for _, c := range pcHosts("10.9.0.", 1, 8) {
			n.flows(c, "10.0.0.2", 10050, flow.ProtoTCP, n.every(pcT0, 300, 0.01, 8))
			n.flows("10.0.0.2", c, 10050, flow.ProtoTCP, n.every(pcT0, 300, 0.01, 8))
		}
	}, nil, nil)
	// A server whose clients include two that talk to each other: still a server.
	f("star with a cross link", func(n *pcNet) {
		cs := pcHosts("10.9.0.", 1, 8)
		for _, c := range cs {
			n.flows(c, "10.0.0.5", 9000, flow.ProtoTCP, n.every(pcT0, 900, 0.5, 8))
		}
		n.flows(cs[0], cs[1], 9000, flow.ProtoTCP, n.every(pcT0, 900, 0.5, 8))
	}, nil, nil)
	// A hub holding two triangles together (a windmill) is dense only through the hub.
	f("windmill", func(n *pcNet) {
		n.mesh([]string{"10.0.3.1", "10.0.3.2", "10.0.3.3"}, 9001, flow.ProtoTCP, 3)
		n.mesh([]string{"10.0.3.1", "10.0.3.4", "10.0.3.5"}, 9001, flow.ProtoTCP, 3)
	}, nil, pcHosts("10.0.3.", 1, 5))
	// A ring of six: everyone has two links, density 0.4: a candidate, not a clique.
	f("ring", func(n *pcNet) {
		ring := pcHosts("10.0.4.", 1, 6)
		for i, a := range ring {
			n.flows(a, ring[(i+1)%len(ring)], 9002, flow.ProtoUDP, n.every(pcT0, 60, 0.2, 5))
		}
	}, nil, pcHosts("10.0.4.", 1, 6))
	// Well-known and registered LAN services: NetBIOS and Syncthing meshes are ordinary.
	f("netbios mesh", func(n *pcNet) { n.mesh(clique5, 137, flow.ProtoUDP, 5) }, nil, nil)
	f("syncthing mesh", func(n *pcNet) { n.mesh(clique5, 22000, flow.ProtoTCP, 5) }, nil, nil)
	// A port used by most of the network is a service, however meshed.
	f("network-wide mesh", func(n *pcNet) { n.mesh(pcHosts("10.9.0.", 1, 20), 7680, flow.ProtoTCP, 2) }, nil, nil)
	// One-off contacts and blocked attempts are not links.
	f("one-off", func(n *pcNet) {
		for i, a := range clique5 {
			for _, b := range clique5[i+1:] {
				n.flows(a, b, 41234, flow.ProtoUDP, []int64{pcT0})
			}
		}
	}, nil, nil)
	f("blocked", func(n *pcNet) {
		n.mesh(clique5, 41234, flow.ProtoUDP, 5)
		for i := range n.recs {
			if n.recs[i].DstPort == 41234 {
				n.recs[i].Action = flow.ActionBlock
			}
		}
	}, nil, nil)
	// External peers are not internal cliques.
	f("external mesh", func(n *pcNet) {
		for _, a := range clique5[:3] {
			for _, b := range []string{"203.0.113.1", "203.0.113.2"} {
				n.flows(a, b, 41234, flow.ProtoUDP, n.every(pcT0, 60, 0.2, 5))
				n.flows(b, a, 41234, flow.ProtoUDP, n.every(pcT0, 60, 0.2, 5))
			}
		}
	}, nil, nil)
}

func TestP2PsEdges(t *testing.T) {
	// Empty view: nothing, no notes.
	fs, notes := P2Ps(newPCNet(0).view(t), DefaultP2P())
	if len(fs) != 0 || len(notes) != 0 {
		t.Errorf("empty: %+v %+v", fs, notes)
	}
	// Without timestamps the graph is still there: p2p needs no optional field.
	n := newPCNet(40)
	n.mesh(pcHosts("10.0.1.", 10, 4), 41234, flow.ProtoUDP, 3)
	for i := range n.recs {
		n.recs[i].Time = 0
	}
	fs, _ = P2Ps(n.view(t), DefaultP2P())
	if len(fs) != 4 || !fs[0].Flagged {
		t.Errorf("no times: %+v, want the clique of 4", fs)
	}
	ev := fs[0].Evidence
	if ev["size"] != 4 || ev["directed_links"] != 12 || ev["density"] != 1.0 || ev["proto"] != "udp" || ev["port"] != uint16(41234) {
		t.Errorf("evidence %v", ev)
	}
	if len(fs[0].Peers) != 3 || fs[0].Peers[0] != "10.0.1.11:41234" {
		t.Errorf("peers %v", fs[0].Peers)
	}
}

// pcOffice aggregates the office scenario for a seed as a hunt would.
func pcOffice(t testing.TB, seed uint64) (*sim.Scenario, engine.View) {
	t.Helper()
	sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: 70, Days: 2, Seed: seed}})
	if err != nil {
		t.Fatal(err)
	}
	return sc, viewOf(t, sc.Records, sc.Names, sc.Truth.Internal...)
}

// pcAccuracy scores flagged findings against the truth for cat, as eval does, and checks the
// look-alikes imitating cat.
func pcAccuracy(t *testing.T, seed uint64, sc *sim.Scenario, fs []Finding, cat string) {
	t.Helper()
	want := map[string]bool{}
	for ip, cats := range sc.Truth.Hosts {
		if slices.Contains(cats, cat) {
			want[ip] = true
		}
	}
	got := map[string]bool{}
	for _, f := range fs {
		if f.Flagged {
			got[f.Host.String()] = true
		}
	}
	var tp int
	var wrong, missed []string
	for ip := range got {
		if want[ip] {
			tp++
		} else {
			wrong = append(wrong, fmt.Sprintf("%s %v", ip, sc.Truth.Hosts[ip]))
		}
	}
	for ip := range want {
		if !got[ip] {
			missed = append(missed, ip)
		}
	}
	precision, recall := ratioOr1(tp, len(got)), ratioOr1(tp, len(want))
	t.Logf("seed %d %s: precision %.2f recall %.2f (%d flagged, %d planted)", seed, cat, precision, recall, len(got), len(want))
	if precision < 0.9 || recall < 0.9 {
		t.Errorf("seed %d %s: precision %.2f recall %.2f, want ≥ 0.9 (wrong %v, missed %v)", seed, cat, precision, recall, wrong, missed)
	}
	for ip, la := range sc.Truth.LookAlikes {
		if la.Imitates == cat && got[ip] {
			t.Errorf("seed %d: look-alike %s (%s) flagged as %s", seed, ip, la.What, cat)
		}
	}
}

func ratioOr1(n, d int) float64 {
	if d == 0 {
		return 1
	}
	return float64(n) / float64(d)
}

// TestP2PsOffice measures the detector on office scenarios it was not tuned on (tuned on seeds
// 1 and 2).
func TestP2PsOffice(t *testing.T) {
	if testing.Short() {
		t.Skip("accuracy: simulated scenarios")
	}
	for _, seed := range []uint64{11, 12, 13} {
		sc, v := pcOffice(t, seed)
		fs, _ := P2Ps(v, DefaultP2P())
		pcAccuracy(t, seed, sc, fs, P2P)
		// The folder-sync pair must not even be a candidate, whatever the port list says.
		cfg := DefaultP2P()
		cfg.IgnorePorts = nil
		fs, _ = P2Ps(v, cfg)
		pcAccuracy(t, seed, sc, fs, P2P)
		for _, f := range fs {
			if la, ok := sc.Truth.LookAlikes[f.Host.String()]; ok {
				t.Errorf("seed %d: look-alike %s (%s) is a p2p candidate: %s", seed, f.Host, la.What, f.Reason)
			}
		}
	}
}

func BenchmarkP2PsOffice(b *testing.B) {
	_, v := pcOffice(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		P2Ps(v, DefaultP2P())
	}
}
