package detect

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/netscope"
)

// benchView aggregates a network of 5,000 internal hosts in 120.18.0.0/16, each with a working
// set of 200 external destinations reached 3 times a day on one port: 1M pairs, 3M flows, plus
// DNS events for a tenth of the destinations.
func benchView(b *testing.B) engine.View {
	b.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	ext := make([]netip.Addr, 100_000)
	for i := range ext {
		ext[i] = netip.AddrFrom4([4]byte{byte(1 + rng.IntN(200)), byte(rng.IntN(256)), byte(rng.IntN(256)), byte(1 + rng.IntN(254))})
	}
	agg := engine.NewAggregator()
	sh := agg.NewShard()
	t0 := time.Date(2021, 8, 18, 0, 0, 0, 0, time.UTC).UnixNano()
	var r flow.Record
	for h := range 5000 {
		src := netip.AddrFrom4([4]byte{120, 18, byte(h >> 8), byte(h)})
		for k := range 200 {
			d := rng.IntN(len(ext))
			for c := range 3 {
				r = flow.Record{Time: t0 + int64(rng.IntN(86400))*1e9 + int64(c), Src: src, Dst: ext[d], DstPort: []uint16{443, 80, 53, 123}[d%4],
					Proto: flow.ProtoTCP, BytesOut: uint64(200 + rng.IntN(5000)), BytesIn: uint64(rng.IntN(50000)), PktsOut: 3, PktsIn: 3}
				sh.Add(&r)
			}
			if k%10 == 0 {
				r = flow.Record{Time: t0, Src: src, Dst: netip.AddrFrom4([4]byte{120, 18, 0, 1}), DstPort: 53, Proto: flow.ProtoUDP,
					Kind: flow.KindEvent, DNSQuery: "www.example.com", DNSAnswers: []netip.Addr{ext[d]}}
				sh.Add(&r)
			}
		}
	}
	m := agg.Merge()
	scope, _ := netscope.Parse([]string{"120.18.0.0/16"})
	m.Apply(scope)
	n := 0
	for range m.Pairs() {
		n++
	}
	b.ReportMetric(float64(n), "pairs")
	return m
}

// BenchmarkDetectPass is every registered detector over 1M pairs; the budget is 20 % of
// the 10M-line hunt (about 1 s on this machine).
func BenchmarkDetectPass(b *testing.B) {
	v := benchView(b)
	cfg := Defaults()
	b.ResetTimer()
	for b.Loop() {
		Run(v, cfg)
	}
}

// BenchmarkEachDetector splits the pass per detector.
func BenchmarkEachDetector(b *testing.B) {
	v := benchView(b)
	cfg := Defaults()
	for _, d := range Detectors {
		b.Run(d.Category, func(b *testing.B) {
			for b.Loop() {
				d.Run(v, cfg)
			}
		})
	}
}
