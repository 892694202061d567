package score

import (
	"math"
	"net/netip"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/netscope"
)

func fd(host, cat string, s float64, flagged bool) detect.Finding {
	return detect.Finding{Host: netip.MustParseAddr(host), Category: cat, Score: s, Flagged: flagged}
}

func TestRank(t *testing.T) {
	fs := []detect.Finding{
		fd("10.0.0.5", detect.Talker, 0.4, true),
		fd("10.0.0.5", detect.Miner, 0.9, true),
		fd("10.0.0.7", detect.Miner, 0.9, true),
		fd("10.0.0.9", detect.Miner, 0.2, false), // candidate only
		fd("10.0.0.7", detect.Talker, 0.1, false),
	}
	hosts := Rank(fs, false)
	if len(hosts) != 2 {
		t.Fatalf("Rank = %+v, want 2 flagged hosts", hosts)
	}
	// noisy-OR: 1 - (1-0.9)(1-0.4) = 0.94
	if hosts[0].Addr.String() != "10.0.0.5" || math.Abs(hosts[0].Score-0.94) > 1e-9 {
		t.Errorf("first = %v %.3f, want 10.0.0.5 0.94", hosts[0].Addr, hosts[0].Score)
	}
	if hosts[0].Findings[0].Category != detect.Miner {
		t.Errorf("findings not ordered by score: %+v", hosts[0].Findings)
	}
	// Unflagged findings are dropped without --all, and do not add to the score.
	if len(hosts[1].Findings) != 1 || math.Abs(hosts[1].Score-0.9) > 1e-9 {
		t.Errorf("second = %+v", hosts[1])
	}

	all := Rank(fs, true)
	if len(all) != 3 || all[2].Addr.String() != "10.0.0.9" || all[2].Flagged || math.Abs(all[2].Score-0.2) > 1e-9 {
		t.Fatalf("Rank(all) = %+v, want the candidate last, unflagged", all)
	}
	if len(all[1].Findings) != 2 || all[1].Findings[1].Flagged || math.Abs(all[1].Score-0.9) > 1e-9 {
		t.Errorf("with --all, a flagged host keeps its candidates but they do not score: %+v", all[1])
	}
	if got := all[0].Categories(); len(got) != 2 {
		t.Errorf("Categories = %v", got)
	}
}

func TestPivot(t *testing.T) {
	agg := engine.NewAggregator()
	sh := agg.NewShard()
	c2 := netip.MustParseAddr("80.155.115.153")
	add := func(src string, port uint16, n int, t0 int64) {
		for i := range n {
			sh.Add(&flow.Record{Time: t0 + int64(i)*60e9, Src: netip.MustParseAddr(src), Dst: c2, DstPort: port, Proto: flow.ProtoTCP, BytesOut: 100})
		}
	}
	add("120.18.201.129", 443, 5, 1e18)
	add("120.18.2.84", 443, 3, 1e18)
	add("120.18.2.84", 8443, 4, 2e18)
	add("8.8.4.4", 443, 9, 1e18) // external source: not an internal host
	sh.Add(&flow.Record{Time: 1e18, Src: netip.MustParseAddr("120.18.9.9"), Dst: netip.MustParseAddr("1.1.1.1"), DstPort: 53, Proto: flow.ProtoUDP})
	m := agg.Merge()
	scope, _ := netscope.Parse([]string{"120.18.0.0/16"})
	m.Apply(scope)
	got := Pivot(m, c2)
	if len(got) != 2 {
		t.Fatalf("Pivot = %+v, want 2 internal hosts", got)
	}
	if got[0].Host.String() != "120.18.2.84" || got[0].Flows != 7 || len(got[0].Ports) != 2 || got[0].BytesSent != 700 {
		t.Errorf("first contact = %+v", got[0])
	}
	if got[0].First != 1e18 || got[0].Last != 2e18+3*60e9 {
		t.Errorf("first/last = %d/%d", got[0].First, got[0].Last)
	}
	if got[1].Host.String() != "120.18.201.129" || got[1].Flows != 5 {
		t.Errorf("second contact = %+v", got[1])
	}
}
