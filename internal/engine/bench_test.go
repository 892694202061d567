package engine

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"testing"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/netscope"
)

// The benchmark universe: 5000 internal hosts (10.0.0.0/8) with 200 (destination, port) slots
// each, ~1M distinct pairs, toward 100k external addresses.
const (
	benchHosts        = 5000
	benchSlotsPerHost = 200
	benchPairs        = benchHosts * benchSlotsPerHost // 1,000,000
	benchDsts         = 100_000
	benchStreamLen    = 1 << 21 // records in the pre-generated stream: ~865k distinct pairs
	benchT0           = int64(1_700_006_400) * 1e9
)

var benchPorts = [...]uint16{443, 80, 53, 22, 8443, 123}

// benchRecord is one flow of pair p (0 <= p < benchPairs) at Unix ns t.
func benchRecord(p int, t int64) flow.Record {
	h, slot := p/benchSlotsPerHost, p%benchSlotsPerHost
	d := uint32(p) * 2654435761 % benchDsts // spread slots over the destinations
	port := benchPorts[slot%len(benchPorts)]
	proto := flow.ProtoTCP
	if port == 53 || port == 123 {
		proto = flow.ProtoUDP
	}
	return flow.Record{
		Time: t, Duration: int64(p%5000) * 1e6,
		Src:     netip.AddrFrom4([4]byte{10, byte(h >> 16), byte(h >> 8), byte(h)}),
		Dst:     netip.AddrFrom4([4]byte{23, byte(d >> 16), byte(d >> 8), byte(d)}),
		SrcPort: uint16(32768 + p%28000), DstPort: port, Proto: proto, Action: flow.ActionPass,
		BytesOut: uint64(200 + p%1500), BytesIn: uint64(1000 + p%9000), PktsOut: 3, PktsIn: 4,
	}
}

var (
	benchOnce   sync.Once
	benchStream []flow.Record
)

// stream is a day of traffic in time order: each record is a uniformly drawn pair of the
// universe, so about 865k distinct pairs appear, most of them once or twice.
func stream(b *testing.B) []flow.Record {
	b.Helper()
	benchOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		benchStream = make([]flow.Record, benchStreamLen)
		step := int64(86_400e9) / benchStreamLen
		for i := range benchStream {
			benchStream[i] = benchRecord(rng.IntN(benchPairs), benchT0+int64(i)*step)
		}
	})
	return benchStream
}

func countPairs(m *Memory) int {
	n := 0
	for range m.Pairs() {
		n++
	}
	return n
}

func reportRecords(b *testing.B, records int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(records)/s, "records/s")
	}
}

// addPasses adds b.N records (one op = one record) from recs with `workers` goroutines, each
// with its own shard and its own contiguous slice of recs. Every pass over recs starts a fresh
// Aggregator; only Add is timed (Merge, which releases a pass, runs with the timer stopped), so
// ns/op and allocs/op are per record. An engine that aggregates asynchronously may still have a
// bounded queue of records to fold when the timer stops; BenchmarkAddMerge counts that work too.
//
// allocs/op is an integer and rounds fractions of an allocation per record down to 0, so the
// exact figure is reported as allocs/record (from runtime.MemStats around the timed Adds; it
// counts allocations of every goroutine, an engine's own included).
func addPasses(b *testing.B, recs []flow.Record, workers int) {
	b.ReportAllocs()
	var mallocs uint64
	var ms runtime.MemStats
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(b.N-done, len(recs))
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		before := ms.Mallocs
		b.StartTimer()
		agg := NewAggregator()
		if workers == 1 {
			s := agg.NewShard()
			for i := range n {
				s.Add(&recs[i])
			}
		} else {
			var wg sync.WaitGroup
			part := len(recs) / workers
			for w := range workers {
				lo := w * part
				cnt := n / workers
				if w < n%workers {
					cnt++
				}
				wg.Go(func() {
					s := agg.NewShard()
					for i := lo; i < lo+cnt; i++ {
						s.Add(&recs[i])
					}
				})
			}
			wg.Wait()
		}
		done += n
		b.StopTimer()
		runtime.ReadMemStats(&ms)
		mallocs += ms.Mallocs - before
		agg.Merge()
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(mallocs)/float64(b.N), "allocs/record")
	reportRecords(b, b.N)
}

// BenchmarkShardAdd: one shard, one goroutine; ns/op and allocs/op are per record.
func BenchmarkShardAdd(b *testing.B) {
	addPasses(b, stream(b), 1)
}

// BenchmarkShardAddParallel: two shards fed by two goroutines, each over its half of the day;
// ns/op is wall time per record over both, so records/s is the combined throughput.
func BenchmarkShardAddParallel(b *testing.B) {
	addPasses(b, stream(b), 2)
}

// BenchmarkAddMerge: ingest the whole stream with two workers and merge, per op; the per-record
// figures include everything an asynchronous engine defers to Merge.
func BenchmarkAddMerge(b *testing.B) {
	recs := stream(b)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		agg := NewAggregator()
		var wg sync.WaitGroup
		half := len(recs) / 2
		for w := range 2 {
			wg.Go(func() {
				s := agg.NewShard()
				for i := w * half; i < (w+1)*half; i++ {
					s.Add(&recs[i])
				}
			})
		}
		wg.Wait()
		agg.Merge()
	}
	b.StopTimer()
	perRecord := float64(b.Elapsed().Nanoseconds()) / float64(b.N*len(recs))
	b.ReportMetric(perRecord, "ns/record")
	reportRecords(b, b.N*len(recs))
}

// BenchmarkMerge merges two shards of 500k pairs each (one flow per pair), overlapping by half:
// 750k pairs result, 250k of them present in both shards with different seconds.
func BenchmarkMerge(b *testing.B) {
	const perShard, overlap = 500_000, 250_000
	b.ReportAllocs()
	var pairs int
	for range b.N {
		b.StopTimer()
		agg := NewAggregator()
		s1, s2 := agg.NewShard(), agg.NewShard()
		for p := range perShard {
			r := benchRecord(p, benchT0+int64(p)*1e6)
			s1.Add(&r)
			r = benchRecord(p+perShard-overlap, benchT0+3600e9+int64(p)*1e6)
			s2.Add(&r)
		}
		runtime.GC()
		b.StartTimer()
		m := agg.Merge()
		b.StopTimer()
		pairs = countPairs(m)
	}
	if pairs != 2*perShard-overlap {
		b.Fatalf("merged %d pairs, want %d", pairs, 2*perShard-overlap)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*2*perShard), "ns/input-pair")
}

// BenchmarkApply derives hosts and prevalence over 1M pairs (5000 internal sources, 100k
// external destinations).
func BenchmarkApply(b *testing.B) {
	agg := NewAggregator()
	s := agg.NewShard()
	for p := range benchPairs {
		r := benchRecord(p, benchT0+int64(p)*1e6)
		s.Add(&r)
	}
	m := agg.Merge()
	npairs := countPairs(m)
	if npairs < benchPairs*99/100 {
		b.Fatalf("%d pairs, want ~%d", npairs, benchPairs)
	}
	scope, err := netscope.Parse([]string{"10.0.0.0/8"})
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		m.Apply(scope)
	}
	b.StopTimer()
	if m.InternalHosts() != benchHosts {
		b.Fatalf("InternalHosts %d, want %d", m.InternalHosts(), benchHosts)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*npairs), "ns/pair")
}
