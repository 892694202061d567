package detect

import (
	"fmt"
	"iter"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// scanInput says which fields a simulated input keeps, as the formats a hunt reads do.
type scanInput int

const (
	scanInputFull     scanInput = iota // Zeek conn.log: durations, bytes and packets back
	scanInputFirewall                  // filterlog: pass/block, no reply, no duration
	scanInputCSV                       // seed 003's CSV: bytes out only
	scanInputBare                      // bare filterlog lines: no timestamps either
)

func (i scanInput) String() string { return [...]string{"full", "firewall", "csv", "bare"}[i] }

// scanStrip removes what the input format would not carry.
func scanStrip(r *flow.Record, in scanInput) {
	if in == scanInputFull {
		return
	}
	r.BytesIn, r.PktsIn, r.Duration = 0, 0, 0
	if in == scanInputCSV {
		r.Action = flow.ActionUnknown
	}
	if in == scanInputBare {
		r.Time = 0
	}
}

// scanNet builds small views in 10.0.0.0/8 with flows at chosen seconds.
type scanNet struct {
	recs []flow.Record
	t0   int64 // Unix seconds of second 0
}

func newScanNet() *scanNet { return &scanNet{t0: 1_700_000_000} }

// flow adds one flow starting sec seconds after t0.
func (n *scanNet) flow(src, dst string, port uint16, proto uint8, sec int64, out, in uint64, dur time.Duration, act flow.Action) {
	r := flow.Record{Time: (n.t0 + sec) * 1e9, Duration: int64(dur), Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
		SrcPort: 50000, DstPort: port, Proto: proto, BytesOut: out, BytesIn: in, PktsOut: max(out/1200, 1), Action: act}
	if in > 0 {
		r.PktsIn = max(in/1200, 1) + 1
	}
	n.recs = append(n.recs, r)
}

// probe adds an unanswered TCP attempt the firewall blocked.
func (n *scanNet) probe(src, dst string, port uint16, sec int64) {
	n.flow(src, dst, port, flow.ProtoTCP, sec, 0, 0, 0, flow.ActionBlock)
}

// conn adds an answered TCP session.
func (n *scanNet) conn(src, dst string, port uint16, sec int64) {
	n.flow(src, dst, port, flow.ProtoTCP, sec, 600, 4000, time.Second, flow.ActionPass)
}

// live makes hosts originate traffic (to a monitoring server), so they are not dark space.
func (n *scanNet) live(hosts ...string) {
	for _, h := range hosts {
		n.conn(h, "10.0.9.1", 10050, 0)
	}
}

func (n *scanNet) view(t testing.TB, in scanInput) engine.View {
	t.Helper()
	agg := engine.NewAggregator()
	sh := agg.NewShard()
	for i := range n.recs {
		r := n.recs[i]
		scanStrip(&r, in)
		sh.Add(&r)
	}
	m := agg.Merge()
	scope, err := netscope.Parse([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	m.Apply(scope)
	return m
}

func scanAddr(net string, i int) string {
	return fmt.Sprintf("%s.%d.%d", net, i/250, 1+i%250)
}

func TestScans(t *testing.T) {
	type want struct {
		host   string
		kind   string // "" when the host must not be flagged
		reason string // a substring of the reason
	}
	f := func(name string, in scanInput, build func(n *scanNet), wants ...want) {
		t.Helper()
		n := newScanNet()
		build(n)
		fs, _ := Scans(n.view(t, in), DefaultScan())
		got := byHost(fs, Scan)
		flagged := 0
		for _, g := range got {
			if g.Flagged {
				flagged++
				if g.Score < 0.6 || g.Score > 0.95 || len(g.Peers) == 0 || g.Evidence["kind"] == nil {
					t.Errorf("%s/%s: %s finding %+v: want score in [0.6,0.95], peers and evidence", name, in, g.Host, g)
				}
			} else if g.Score > 0.25 {
				t.Errorf("%s/%s: %s unflagged with score %.2f > 0.25", name, in, g.Host, g.Score)
			}
		}
		wantFlagged := 0
		for _, w := range wants {
			g, ok := got[w.host]
			if w.kind == "" {
				if ok && g.Flagged {
					t.Errorf("%s/%s: %s flagged: %s", name, in, w.host, g.Reason)
				}
				continue
			}
			wantFlagged++
			if !ok || !g.Flagged || g.Evidence["kind"] != w.kind || !strings.Contains(g.Reason, w.reason) {
				t.Errorf("%s/%s: %s = %+v, want a flagged %s scan with reason containing %q", name, in, w.host, g, w.kind, w.reason)
			}
		}
		if flagged != wantFlagged {
			t.Errorf("%s/%s: %d hosts flagged, want %d: %+v", name, in, flagged, wantFlagged, got)
		}
	}
	all := []scanInput{scanInputFull, scanInputFirewall, scanInputCSV}

	// Planted: a worm sweeping 445 over 60 unused internal addresses, one every 2 s.
	horizontal := func(n *scanNet) {
		n.conn("10.0.0.5", "93.1.1.1", 443, 0) // a reply somewhere: the input carries BytesIn
		for i := range 60 {
			n.probe("10.0.0.5", scanAddr("10.1", i), 445, int64(2*i))
		}
	}
	for _, in := range all {
		f("horizontal", in, horizontal, want{"10.0.0.5", "horizontal", "horizontal scan of 445/tcp: 60 hosts in 118 s"})
	}
	f("horizontal reason", scanInputFull, horizontal, want{"10.0.0.5", "horizontal", "100 % unanswered"})
	// Too few: 20 probes are below Zeek's 25.
	f("horizontal small", scanInputFull, func(n *scanNet) {
		for i := range 20 {
			n.probe("10.0.0.5", scanAddr("10.1", i), 445, int64(2*i))
		}
	}, want{"10.0.0.5", "", ""})
	// Look-alike: an inventory collector polling 60 live hosts on 5985, answered, every night.
	inventory := func(n *scanNet) {
		for i := range 60 {
			h := scanAddr("10.2", i)
			n.live(h)
			for d := range 2 {
				n.conn("10.0.0.6", h, 5985, int64(d*86400+i))
			}
		}
	}
	for _, in := range all {
		f("inventory", in, inventory, want{"10.0.0.6", "", ""})
	}
	// Look-alike: browsing 150 external sites on 443 and 80 in 5 minutes, all answered.
	browsing := func(n *scanNet) {
		for i := range 150 {
			port := uint16(443)
			if i%5 == 0 {
				port = 80
			}
			n.conn("10.0.0.7", fmt.Sprintf("93.%d.%d.10", 1+i/200, i%200), port, int64(2*i))
		}
	}
	for _, in := range all {
		f("browsing", in, browsing, want{"10.0.0.7", "", ""})
	}
	// Planted: a worm scanning the internet on 23/tcp: 300 external addresses, unanswered.
	f("external horizontal", scanInputFull, func(n *scanNet) {
		for i := range 300 {
			n.probe("10.0.0.8", fmt.Sprintf("45.%d.%d.7", i/200, i%200), 23, int64(i))
		}
	}, want{"10.0.0.8", "horizontal", "300 hosts"})
	// Look-alike: a busy resolver forwarding to 500 name servers in 4 minutes, 30 % of them lame
	// (no answer): many failures in a window, but most answered.
	f("resolver", scanInputFull, func(n *scanNet) {
		for i := range 500 {
			ns := fmt.Sprintf("198.%d.%d.53", i/200, i%200)
			if i%10 < 3 {
				n.flow("10.0.0.9", ns, 53, flow.ProtoUDP, int64(i/2), 80, 0, 0, flow.ActionPass)
				continue
			}
			n.flow("10.0.0.9", ns, 53, flow.ProtoUDP, int64(i/2), 80, 300, time.Millisecond, flow.ActionPass)
		}
	}, want{"10.0.0.9", "", ""})

	// Planted: ports 1-200 on one live server in a minute, a few answered.
	vertical := func(n *scanNet) {
		n.live("10.0.3.3")
		for p := range 200 {
			if p%50 == 0 {
				n.conn("10.0.0.10", "10.0.3.3", uint16(p+1), int64(p)/4)
				continue
			}
			n.probe("10.0.0.10", "10.0.3.3", uint16(p+1), int64(p)/4)
		}
	}
	for _, in := range all {
		f("vertical", in, vertical, want{"10.0.0.10", "vertical", "vertical scan of 10.0.3.3"})
	}
	f("vertical no replies", scanInputCSV, vertical, want{"10.0.0.10", "vertical", "failure ratio unavailable"})
	f("vertical replies", scanInputFull, vertical, want{"10.0.0.10", "vertical", "196 ports in 49 s, 98 % unanswered"})
	// Look-alike: a client using 20 answered ports on a domain controller (RPC, LDAP, Kerberos).
	f("dc client", scanInputFull, func(n *scanNet) {
		n.live("10.0.3.4")
		for p := range 20 {
			n.conn("10.0.0.11", "10.0.3.4", uint16(49152+p), int64(p))
		}
	}, want{"10.0.0.11", "", ""})
	// A real Zeek sees the RST of a closed port: one packet back, no bytes. Still unanswered.
	f("rst", scanInputFull, func(n *scanNet) {
		n.live("10.0.3.5")
		for p := range 40 {
			n.flow("10.0.0.12", "10.0.3.5", uint16(p+1), flow.ProtoTCP, int64(p), 0, 0, 0, flow.ActionUnknown)
			n.recs[len(n.recs)-1].PktsIn = 1
		}
	}, want{"10.0.0.12", "vertical", "40 ports"})

	// Planted: a slow scan, one probe every 5 minutes for 2 days to a random unused address and
	// port, beside ordinary answered browsing.
	slow := func(n *scanNet) {
		rng := rand.New(rand.NewPCG(7, 7))
		for i := range 576 {
			n.probe("10.0.0.13", scanAddr("10.4", rng.IntN(500)), uint16(1+rng.IntN(10000)), int64(i*300))
		}
		for i := range 100 {
			n.conn("10.0.0.13", fmt.Sprintf("93.%d.%d.10", 1+i/200, i%200), 443, int64(i*1000))
		}
	}
	for _, in := range all {
		f("slow", in, slow, want{"10.0.0.13", "slow", "slow scan: 57"})
	}
	// Look-alike: a browser whose direct connections the firewall blocks (a proxy is mandatory):
	// hundreds of blocked sites over a day, but only on 80 and 443.
	f("blocked browsing", scanInputFirewall, func(n *scanNet) {
		for i := range 300 {
			n.probe("10.0.0.14", fmt.Sprintf("93.%d.%d.10", 1+i/200, i%200), []uint16{80, 443}[i%2], int64(i*290))
		}
	}, want{"10.0.0.14", "", ""})
	// Receivers are not scanners: 80 clients reaching the file server and the DNS resolver.
	f("receivers", scanInputFull, func(n *scanNet) {
		for i := range 80 {
			c := scanAddr("10.5", i)
			n.conn(c, "10.0.3.6", 445, int64(i))
			n.flow(c, "10.0.3.7", 53, flow.ProtoUDP, int64(i), 60, 120, time.Millisecond, flow.ActionPass)
		}
	}, want{"10.0.3.6", "", ""}, want{"10.0.3.7", "", ""})
	// Dark addresses three scanners share are still dark; a printer forty hosts use is not.
	f("shared dark", scanInputCSV, func(n *scanNet) {
		for _, s := range []string{"10.0.0.15", "10.0.0.16", "10.0.0.17"} {
			for i := range 30 {
				n.probe(s, scanAddr("10.1", i), 445, int64(i))
			}
		}
		for i := range 40 {
			c := scanAddr("10.6", i)
			n.live(c)
			n.conn(c, "10.0.3.8", 9100, int64(i))
		}
	}, want{"10.0.0.15", "horizontal", "30 hosts"}, want{"10.0.0.16", "horizontal", "30 hosts"}, want{"10.0.0.17", "horizontal", "30 hosts"})
	// Planted (Slips test4, a real capture): 135 external hosts, each on one of 28 ports, in
	// 3 minutes: too few per port or per host for a window, too fast to call slow.
	f("multi-port sweep", scanInputFull, func(n *scanNet) {
		n.conn("10.0.0.21", "93.1.1.1", 443, 0)
		for i := range 135 {
			n.probe("10.0.0.21", fmt.Sprintf("45.%d.%d.9", i/200, i%200), uint16(20+i%28), int64(i)*7/5)
		}
	}, want{"10.0.0.21", "slow", "multi-port sweep: 135 unanswered probes to 135 hosts on 28 ports over 3 min (one every 1.4 s)"})
	// Look-alike (Slips test6, a real capture): a TV answers a phone's SSDP M-SEARCH, sent to
	// 239.255.255.250, from port 1900 to the phone's source port, one reply flow every few
	// minutes for a day: hundreds of unanswered UDP "probes" to high ports of one host.
	ssdp := func(n *scanNet) {
		n.live("10.0.3.9") // the phone originates traffic: it is a client
		rng := rand.New(rand.NewPCG(9, 9))
		for i := range 430 {
			n.flow("10.0.0.18", "10.0.3.9", uint16(32768+rng.IntN(28000)), flow.ProtoUDP, int64(i*200), 4056, 0, time.Second, flow.ActionPass)
		}
	}
	for _, in := range all {
		f("ssdp replies", in, ssdp, want{"10.0.0.18", "", ""})
	}
	// Planted: a UDP scan of every port of one live host, its ephemeral range included: the low
	// ports are still probes.
	f("udp full range", scanInputFull, func(n *scanNet) {
		n.live("10.0.3.10")
		for p := range 2000 {
			n.flow("10.0.0.19", "10.0.3.10", uint16(1+p*32), flow.ProtoUDP, int64(p)/10, 40, 0, 0, flow.ActionPass)
		}
	}, want{"10.0.0.19", "vertical", "vertical scan of 10.0.3.10"})
	// Planted: high UDP ports of an address that never originates anything are still probes.
	f("udp high ports of dark host", scanInputFull, func(n *scanNet) {
		for p := range 60 {
			n.flow("10.0.0.20", "10.0.3.11", uint16(40000+p), flow.ProtoUDP, int64(p), 40, 0, 0, flow.ActionPass)
		}
	}, want{"10.0.0.20", "vertical", "vertical scan of 10.0.3.11"})
	// Bare filterlog lines: no timestamps, counted over the whole input.
	f("bare", scanInputBare, horizontal, want{"10.0.0.5", "horizontal", "60 hosts"})
	// Empty input.
	f("empty", scanInputFull, func(n *scanNet) {})
}

func TestScansNotes(t *testing.T) {
	f := func(in scanInput, want ...string) {
		t.Helper()
		n := newScanNet()
		n.conn("10.0.0.1", "93.1.1.1", 443, 0)
		_, notes := Scans(n.view(t, in), DefaultScan())
		if len(notes) != len(want) {
			t.Fatalf("%s: notes %+v, want %d", in, notes, len(want))
		}
		for i, w := range want {
			if notes[i].Detector != Scan || !strings.Contains(notes[i].Text, w) {
				t.Errorf("%s: note %q, want it to say %q", in, notes[i].Text, w)
			}
		}
	}
	f(scanInputFull)
	f(scanInputFirewall, "no reply data")
	f(scanInputCSV, "failure ratio is unavailable")
	f(scanInputBare, "no reply data", "no timestamps")
}

func TestScanWindowMax(t *testing.T) {
	f := func(times []int64, w int64, want int) {
		t.Helper()
		if got := scanWindowMax(times, w); got != want {
			t.Errorf("scanWindowMax(%v, %d) = %d, want %d", times, w, got, want)
		}
	}
	f(nil, 300, 0)
	f([]int64{5}, 300, 1)
	f([]int64{0, 100, 299, 300, 301, 1000}, 300, 4) // [100, 301]
	f([]int64{0, 0, 0}, 1, 3)
}

func TestScanSpanText(t *testing.T) {
	f := func(s int64, want string) {
		t.Helper()
		if got := scanSpanText(s); got != want {
			t.Errorf("scanSpanText(%d) = %q, want %q", s, got, want)
		}
	}
	f(45, "45 s")
	f(600, "10 min")
	f(3*3600+1800, "3.5 h")
	f(2*86400, "2.0 days")
}

// TestScanOfficeAccuracy runs the office scenario on seeds the detector was not tuned on, with
// the fields of each kind of input, and asserts precision and recall against the planted scans.
func TestScanOfficeAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("simulated scenarios")
	}
	for _, seed := range []uint64{11, 12, 13} {
		for _, in := range []scanInput{scanInputFull, scanInputFirewall, scanInputCSV} {
			sc, v := scanOfficeView(t, seed, in)
			fs, _ := Scans(v, DefaultScan())
			scanAssertTruth(t, fmt.Sprintf("seed %d %s", seed, in), sc, fs, Scan)
		}
	}
}

// scanAssertTruth checks flagged findings of category cat against the scenario's truth.
func scanAssertTruth(t *testing.T, name string, sc *sim.Scenario, fs []Finding, cat string) {
	t.Helper()
	want := map[string]bool{}
	for h, cats := range sc.Truth.Hosts {
		if slices.Contains(cats, cat) {
			want[h] = true
		}
	}
	var tp, fp int
	for _, f := range fs {
		if f.Category != cat || !f.Flagged {
			continue
		}
		h := f.Host.String()
		if want[h] {
			tp++
			continue
		}
		fp++
		t.Errorf("%s: %s flagged %s but planted as %v (look-alike %q): %s", name, h, cat, sc.Truth.Hosts[h], sc.Truth.LookAlikes[h].What, f.Reason)
	}
	precision, recall := 1.0, 1.0
	if tp+fp > 0 {
		precision = float64(tp) / float64(tp+fp)
	}
	if len(want) > 0 {
		recall = float64(tp) / float64(len(want))
	}
	t.Logf("%s: %s precision %.2f recall %.2f (%d planted)", name, cat, precision, recall, len(want))
	if precision < 0.9 || recall < 0.9 {
		t.Errorf("%s: %s precision %.2f recall %.2f, want ≥ 0.9", name, cat, precision, recall)
	}
	for _, f := range fs {
		if la, ok := sc.Truth.LookAlikes[f.Host.String()]; ok && la.Imitates == cat && f.Flagged {
			t.Errorf("%s: look-alike %s (%s) flagged: %s", name, f.Host, la.What, f.Reason)
		}
	}
}

// scanOfficeView builds the office scenario's view the way a hunt does, keeping the fields the
// input would have.
func scanOfficeView(t testing.TB, seed uint64, in scanInput) (*sim.Scenario, engine.View) {
	t.Helper()
	sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: 70, Days: 2, Seed: seed}})
	if err != nil {
		t.Fatal(err)
	}
	agg := engine.NewAggregator()
	sh := agg.NewShard()
	for i := range sc.Records {
		r := sc.Records[i]
		scanStrip(&r, in)
		sh.Add(&r)
	}
	m := agg.Merge()
	for a, ns := range sc.Names {
		m.AddNames(a, ns...)
	}
	scope, err := netscope.Parse(sc.Truth.Internal)
	if err != nil {
		t.Fatal(err)
	}
	m.Apply(scope)
	return sc, m
}

func BenchmarkScansOffice(b *testing.B) {
	_, v := scanOfficeView(b, 11, scanInputFull)
	b.ReportAllocs()
	for b.Loop() {
		Scans(v, DefaultScan())
	}
}

// BenchmarkScansMillion runs over a synthetic view of 1M pairs: 5,000 internal hosts with 200
// pairs each, mostly answered browsing, one scanner every 500 hosts.
func BenchmarkScansMillion(b *testing.B) {
	v := scanSyntheticView(5000, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Scans(v, DefaultScan())
	}
}

// scanFakeView is a slice-backed View for benchmarks; methods the detectors here do not call
// come from the embedded nil View.
type scanFakeView struct {
	engine.View
	scope  *netscope.Scope
	pairs  []*engine.Pair // sorted by source
	from   map[netip.Addr][2]int
	hosts  []engine.Host
	hostIx map[netip.Addr]int
	prev   map[netip.Addr]int
	fields engine.FieldSet
}

func (f *scanFakeView) Scope() *netscope.Scope        { return f.scope }
func (f *scanFakeView) Span() (int64, int64)          { return 0, 0 }
func (f *scanFakeView) Pairs() iter.Seq[*engine.Pair] { return slices.Values(f.pairs) }
func (f *scanFakeView) Prevalence(dst netip.Addr) int { return f.prev[dst] }
func (f *scanFakeView) InternalHosts() int            { return len(f.from) }
func (f *scanFakeView) Names(a netip.Addr) []string   { return nil }
func (f *scanFakeView) Fields() engine.FieldSet       { return f.fields }
func (f *scanFakeView) Hosts() iter.Seq[*engine.Host] { return scanHostSeq(f.hosts) }
func (f *scanFakeView) Host(a netip.Addr) (*engine.Host, bool) {
	i, ok := f.hostIx[a]
	if !ok {
		return nil, false
	}
	return &f.hosts[i], true
}
func (f *scanFakeView) PairsFrom(src netip.Addr) iter.Seq[*engine.Pair] {
	r := f.from[src]
	return slices.Values(f.pairs[r[0]:r[1]])
}

func scanHostSeq(hs []engine.Host) iter.Seq[*engine.Host] {
	return func(yield func(*engine.Host) bool) {
		for i := range hs {
			if !yield(&hs[i]) {
				return
			}
		}
	}
}

func scanSyntheticView(hosts, perHost int) *scanFakeView {
	scope, _ := netscope.Parse([]string{"10.0.0.0/8"})
	v := &scanFakeView{scope: scope, from: map[netip.Addr][2]int{}, hostIx: map[netip.Addr]int{}, prev: map[netip.Addr]int{},
		fields: engine.FieldSet{Duration: true, BytesIn: true, Action: true, Times: true}}
	rng := rand.New(rand.NewPCG(1, 2))
	store := make([]engine.Pair, 0, hosts*perHost)
	const t0 = 1_700_000_000e9
	for h := range hosts {
		src := netip.AddrFrom4([4]byte{10, 0, byte(h >> 8), byte(h)})
		start := len(store)
		scanner := h%500 == 0
		for i := range perHost {
			p := engine.Pair{Src: src, DstPort: 443, Proto: 6, Count: int64(1 + rng.IntN(20)), BytesOut: 1000, BytesIn: 40000, PktsIn: 30,
				First: t0 + int64(rng.IntN(86400))*1e9, DurationMax: int64(rng.IntN(600)) * 1e9}
			p.Dst = netip.AddrFrom4([4]byte{93, byte(rng.IntN(8)), byte(rng.IntN(256)), byte(i)})
			if scanner {
				p.Dst = netip.AddrFrom4([4]byte{10, 200, byte(i >> 8), byte(i)})
				p.DstPort, p.Count, p.BytesIn, p.PktsIn, p.Blocked = 445, 1, 0, 0, 1
				p.First = t0 + int64(i)*1e9
			}
			p.Last = p.First
			store = append(store, p)
		}
		slices.SortFunc(store[start:], func(a, b engine.Pair) int { return a.Dst.Compare(b.Dst) })
		for i := start; i < len(store); i++ {
			v.pairs = append(v.pairs, &store[i])
			v.prev[store[i].Dst]++
		}
		v.from[src] = [2]int{start, len(store)}
		v.hostIx[src] = len(v.hosts)
		v.hosts = append(v.hosts, engine.Host{Addr: src, Internal: true, ConnsOut: int64(perHost)})
	}
	return v
}
