package detect

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/netscope"
)

// net builds a View of records in 10.0.0.0/8 the way a hunt does.
type net struct {
	recs  []flow.Record
	names map[netip.Addr][]string
	t     int64
}

func newNet() *net { return &net{names: map[netip.Addr][]string{}, t: 1_700_000_000e9} }

// conns adds n TCP connections from src to dst:port, one every 30 s, each bytes long.
func (n *net) conns(src, dst string, port uint16, count int, bytes uint64) {
	s, d := netip.MustParseAddr(src), netip.MustParseAddr(dst)
	for range count {
		n.t += 30e9
		n.recs = append(n.recs, flow.Record{Time: n.t, Src: s, Dst: d, SrcPort: 50000, DstPort: port, Proto: flow.ProtoTCP, BytesOut: bytes, PktsOut: 1})
	}
}

// payload gives the last connection added its first payload bytes.
func (n *net) payload(p string) { n.recs[len(n.recs)-1].PayloadOut = []byte(p) }

func (n *net) name(addr, name string) {
	a := netip.MustParseAddr(addr)
	n.names[a] = append(n.names[a], name)
}

func (n *net) view(t *testing.T) engine.View { return viewOf(t, n.recs, n.names, "10.0.0.0/8") }

// viewOf aggregates records into a View the way a hunt does.
func viewOf(t testing.TB, recs []flow.Record, names map[netip.Addr][]string, internal ...string) *engine.Memory {
	t.Helper()
	agg := engine.NewAggregator()
	sh := agg.NewShard()
	for i := range recs {
		sh.Add(&recs[i])
	}
	m := agg.Merge()
	for a, ns := range names {
		m.AddNames(a, ns...)
	}
	scope, err := netscope.Parse(internal)
	if err != nil {
		t.Fatal(err)
	}
	m.Apply(scope)
	return m
}

func byHost(fs []Finding, cat string) map[string]Finding {
	out := map[string]Finding{}
	for _, f := range fs {
		if f.Category == cat {
			out[f.Host.String()] = f
		}
	}
	return out
}

func TestTalkers(t *testing.T) {
	f := func(name string, build func(n *net), flagged []string) {
		t.Helper()
		n := newNet()
		build(n)
		fs, _ := Talkers(n.view(t), DefaultTalker())
		got := byHost(fs, Talker)
		for _, h := range flagged {
			if !got[h].Flagged {
				t.Errorf("%s: %s not flagged (findings %+v)", name, h, got)
			}
		}
		nflagged := 0
		for h, f := range got {
			if f.Flagged {
				nflagged++
				if f.Score < 0.25 || f.Score > 0.5 || f.Reason == "" || f.Evidence["external_connections"] == nil {
					t.Errorf("%s: %s finding %+v: want score in [0.25,0.5] with reason and evidence", name, h, f)
				}
			}
		}
		if nflagged != len(flagged) {
			t.Errorf("%s: %d hosts flagged, want %d: %+v", name, nflagged, len(flagged), got)
		}
	}
	// Planted: one host opens 40× the connections of its peers.
	f("outlier", func(n *net) {
		for i := range 30 {
			n.conns(fmt.Sprintf("10.0.0.%d", 10+i), fmt.Sprintf("93.184.216.%d", i%7), 443, 100+i*3, 500)
		}
		n.conns("10.0.0.200", "203.0.113.5", 443, 4000, 500)
	}, []string{"10.0.0.200"})
	// Planted by volume: same connection count, 100× the bytes.
	f("bytes outlier", func(n *net) {
		for i := range 20 {
			n.conns(fmt.Sprintf("10.0.1.%d", 10+i), "93.184.216.34", 443, 50, 1_000+uint64(i)*10)
		}
		n.conns("10.0.1.200", "198.51.100.9", 443, 150, 1_000_000)
	}, []string{"10.0.1.200"})
	// Benign look-alike: a busy but ordinary network, everyone within a factor of two.
	f("uniform", func(n *net) {
		for i := range 30 {
			n.conns(fmt.Sprintf("10.0.2.%d", 10+i), "93.184.216.34", 443, 200+i*7, 800)
		}
	}, nil)
	// Internal traffic does not count: a file server hammered by clients is not a talker.
	f("internal heavy", func(n *net) {
		for i := range 10 {
			n.conns(fmt.Sprintf("10.0.3.%d", 10+i), "93.184.216.34", 443, 100, 800)
		}
		n.conns("10.0.3.250", "10.0.9.9", 445, 20000, 5000)
	}, nil)
	// Too few hosts for a baseline: candidates only.
	f("tiny", func(n *net) {
		n.conns("10.0.4.1", "93.184.216.34", 443, 10, 800)
		n.conns("10.0.4.2", "93.184.216.34", 443, 5000, 800)
	}, nil)
}

func TestTalkersTinyNote(t *testing.T) {
	n := newNet()
	n.conns("10.0.4.2", "93.184.216.34", 443, 5000, 800)
	fs, notes := Talkers(n.view(t), DefaultTalker())
	if len(notes) != 1 || len(fs) != 1 || fs[0].Flagged {
		t.Fatalf("findings %+v notes %+v: want one unflagged candidate and a note", fs, notes)
	}
}

func TestMiners(t *testing.T) {
	type want struct {
		flagged bool
		minS    float64
		maxS    float64
	}
	f := func(name string, build func(n *net), wants map[string]want) {
		t.Helper()
		n := newNet()
		// A background of ordinary hosts so prevalence has a denominator.
		for i := range 20 {
			n.conns(fmt.Sprintf("10.9.0.%d", i+1), "93.184.216.34", 443, 3, 900)
		}
		n.name("93.184.216.34", "www.example.com")
		build(n)
		fs, _ := Miners(n.view(t), DefaultMiner())
		got := byHost(fs, Miner)
		if len(got) != len(wants) {
			t.Errorf("%s: findings %+v, want %d", name, got, len(wants))
		}
		for h, w := range wants {
			g, ok := got[h]
			if !ok {
				t.Errorf("%s: no finding for %s", name, h)
				continue
			}
			if g.Flagged != w.flagged || g.Score < w.minS || g.Score > w.maxS || g.Reason == "" {
				t.Errorf("%s: %s = %+v, want flagged=%v score in [%v,%v]", name, h, g, w.flagged, w.minS, w.maxS)
			}
		}
	}
	// Seed 000: miners on 443, found by the pool's name only.
	f("pool on 443", func(n *net) {
		n.conns("10.0.0.10", "51.15.65.182", 443, 2000, 80)
		n.name("51.15.65.182", "xmr-eu1.nanopool.org")
	}, map[string]want{"10.0.0.10": {true, 0.9, 0.99}})
	// Pool on a Stratum port: both signals, higher score.
	f("pool on 14444", func(n *net) {
		n.conns("10.0.0.11", "198.51.100.20", 14444, 100, 80)
		n.name("198.51.100.20", "pool.supportxmr.com")
	}, map[string]want{"10.0.0.11": {true, 0.95, 0.99}})
	// Look-alike: a developer's service on 3333 is a weak candidate, never flagged.
	f("port only", func(n *net) {
		n.conns("10.0.0.12", "203.0.113.33", 3333, 500, 80)
		n.name("203.0.113.33", "devbox.example.io")
	}, map[string]want{"10.0.0.12": {false, 0.1, 0.3}})
	// Look-alike: a shared service on 3333 used by most hosts adds nothing.
	f("prevalent port", func(n *net) {
		for i := range 20 {
			n.conns(fmt.Sprintf("10.9.0.%d", i+1), "203.0.113.44", 3333, 5, 80)
		}
	}, map[string]want{})
	// Look-alike names: a label-boundary near miss and an unrelated domain.
	f("near-miss name", func(n *net) {
		n.conns("10.0.0.13", "203.0.113.55", 443, 500, 80)
		n.name("203.0.113.55", "notnanopool.org")
		n.conns("10.0.0.14", "203.0.113.56", 443, 500, 80)
		n.name("203.0.113.56", "nanopool.org.example.com")
	}, map[string]want{})
	// An internal host named like a pool is not external traffic.
	f("internal pool name", func(n *net) {
		n.conns("10.0.0.15", "10.0.5.5", 443, 50, 80)
		n.name("10.0.5.5", "lab.nanopool.org")
	}, map[string]want{})
	// The protocol on the wire decides with no name and on any port, to an internal mining
	// proxy too.
	f("stratum payload", func(n *net) {
		n.conns("10.0.0.16", "203.0.113.77", 443, 3, 80)
		n.payload(`{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4A","agent":"XMRig/6.21.0"}}`)
		n.conns("10.0.0.17", "10.0.5.6", 3334, 2, 80)
		n.payload(`{"id":1,"method":"mining.subscribe","params":["cgminer/4.10.0"]}`)
	}, map[string]want{"10.0.0.16": {true, 0.97, 0.97}, "10.0.0.17": {true, 0.97, 0.97}})
	// Look-alike: JSON-RPC that is not mining, and an HTTP login form.
	f("json-rpc look-alike", func(n *net) {
		n.conns("10.0.0.18", "203.0.113.78", 8545, 3, 80)
		n.payload(`{"jsonrpc":"2.0","method":"eth_blockNumber","params":[],"id":1}`)
		n.conns("10.0.0.19", "203.0.113.79", 80, 3, 80)
		n.payload("POST /login HTTP/1.1\r\nHost: shop.example\r\n\r\n{\"method\":\"login\"}")
	}, map[string]want{})
}

func TestMinerStratumWithPoolName(t *testing.T) {
	n := newNet()
	n.conns("10.0.0.20", "51.15.65.182", 443, 5, 80)
	n.payload(`{"id":1,"jsonrpc":"2.0","method":"login","params":{}}`)
	n.name("51.15.65.182", "xmr-eu1.nanopool.org")
	fs, _ := Miners(n.view(t), DefaultMiner())
	if len(fs) != 1 || fs[0].Score != 0.97 || !strings.Contains(fs[0].Reason, "Stratum mining protocol (login)") ||
		!strings.Contains(fs[0].Reason, "xmr-eu1.nanopool.org") || fs[0].Evidence["stratum_pair_connections"] != int64(5) {
		t.Errorf("findings %+v: want one with the protocol and the pool name", fs)
	}
}

func TestMinersNoNamesNote(t *testing.T) {
	n := newNet()
	n.conns("10.0.0.10", "51.15.65.182", 443, 20, 80)
	fs, notes := Miners(n.view(t), DefaultMiner())
	if len(fs) != 0 || len(notes) != 1 {
		t.Fatalf("findings %+v notes %+v: want none and a note that names are missing", fs, notes)
	}
}

func TestRobustZ(t *testing.T) {
	z, med := robustZ([]float64{10, 12, 11, 13, 9, 1000})
	if med != 11.5 || z(1000) < 100 || math.Abs(z(11.5)) > 1e-9 {
		t.Errorf("median %v z(1000) %v z(11.5) %v", med, z(1000), z(11.5))
	}
	// Most values equal: MAD is 0, the mean-absolute-deviation fallback still ranks the outlier.
	z, _ = robustZ([]float64{5, 5, 5, 5, 5, 5, 50})
	if z(50) < 3.5 || z(5) != 0 {
		t.Errorf("fallback z(50) = %v, z(5) = %v", z(50), z(5))
	}
	// All equal: nothing is an outlier, anything above is.
	z, _ = robustZ([]float64{7, 7, 7})
	if z(7) != 0 || !math.IsInf(z(8), 1) {
		t.Errorf("constant z(7) %v z(8) %v", z(7), z(8))
	}
}

func TestFormatting(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f(commas(130831), "130,831")
	f(commas(-1234567), "-1,234,567")
	f(commas(999), "999")
	f(humanBytes(999), "999 B")
	f(humanBytes(4_200_000), "4.2 MB")
	f(ordinal(1), "1st")
	f(ordinal(12), "12th")
	f(ordinal(23), "23rd")
	f(peerString(netip.MustParseAddr("2001:db8::1"), 443), "[2001:db8::1]:443")
}

// TestMinersByBehaviour: seed 000 had no names; a pool session kept up around the clock is a
// candidate on 443 and flagged on a Stratum port; daytime or shared traffic is not miner-like.
func TestMinersByBehaviour(t *testing.T) {
	f := func(name string, port uint16, every time.Duration, hours int, extraHosts int, wantFinding, wantFlagged bool) {
		t.Helper()
		var recs []flow.Record
		src, dst := netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("51.15.65.182")
		t0 := time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
		for at := t0; at.Before(t0.Add(time.Duration(hours) * time.Hour)); at = at.Add(every) {
			recs = append(recs, flow.Record{Time: at.UnixNano(), Src: src, Dst: dst, DstPort: port, Proto: flow.ProtoTCP, BytesOut: 400, PktsOut: 4})
			for k := range extraHosts {
				recs = append(recs, flow.Record{Time: at.UnixNano(), Src: netip.AddrFrom4([4]byte{10, 0, 1, byte(k)}), Dst: dst, DstPort: port, Proto: flow.ProtoTCP, BytesOut: 400, PktsOut: 4})
			}
		}
		fs, _ := Miners(viewOf(t, recs, nil, "10.0.0.0/8"), DefaultMiner())
		var got *Finding
		for i := range fs {
			if fs[i].Host == src {
				got = &fs[i]
			}
		}
		if (got != nil) != wantFinding || (got != nil && got.Flagged != wantFlagged) {
			t.Errorf("%s: finding %+v, want finding %v flagged %v", name, got, wantFinding, wantFlagged)
		}
	}
	f("steady on 443", 443, 30*time.Second, 48, 0, true, false)
	f("steady on 3333", 3333, 30*time.Second, 48, 0, true, true)
	f("working day only", 443, 30*time.Second, 10, 0, false, false)
	f("slow", 443, 10*time.Minute, 48, 0, false, false)
	f("shared destination", 443, 30*time.Second, 48, 3, false, false)
}
