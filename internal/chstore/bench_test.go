package chstore

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// benchRecords is FLOWHUNT_BENCH_RECORDS (default 1,000,000): the size of the generated CSV the
// load and hunt benchmarks use. The 10M figures in the README come from FLOWHUNT_BENCH_RECORDS=10000000.
func benchRecords(b *testing.B) int {
	n := 1_000_000
	if v := os.Getenv("FLOWHUNT_BENCH_RECORDS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("FLOWHUNT_BENCH_RECORDS=%q", v)
		}
	}
	return n
}

// benchCSV writes (once per process, in the temp dir) sim.WriteBenchCSV's n flows.
func benchCSV(b *testing.B, n int) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("flowhunt-bench-%d.csv", n))
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		return path
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		b.Fatal(err)
	}
	if err := sim.WriteBenchCSV(f, n, 3); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkLoad loads the bench CSV into a fresh MergeTree database per iteration and reports
// rows/s (wall clock, client and server on the same machine).
func BenchmarkLoad(b *testing.B) {
	n := benchRecords(b)
	path := benchCSV(b, n)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		s := testStore(b, "")
		b.StartTimer()
		start := time.Now()
		sum, err := s.Load(ctx, []string{path}, LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(sum.Rows)/time.Since(start).Seconds(), "rows/s")
	}
}

// BenchmarkHunt compares building the View from ClickHouse (SQL aggregates streamed into the
// Builder) with the embedded engine reading the same file, side by side.
func BenchmarkHunt(b *testing.B) {
	n := benchRecords(b)
	path := benchCSV(b, n)
	ctx := context.Background()
	scope, _ := netscope.Parse([]string{"120.18.0.0/16"})
	b.Run("embedded", func(b *testing.B) {
		for b.Loop() {
			m, _ := embedded(b, []string{path}, ingest.Options{})
			m.Apply(scope)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
	})
	s := testStore(b, "")
	if _, err := s.Load(ctx, []string{path}, LoadOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Run("clickhouse", func(b *testing.B) {
		for b.Loop() {
			m, _, err := s.Aggregate(ctx, Range{})
			if err != nil {
				b.Fatal(err)
			}
			m.Apply(scope)
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
	})
}

// BenchmarkSinkAdd measures the loader's per-record cost: appending a flow to the columnar
// rowset (no INSERT). It must not allocate.
func BenchmarkSinkAdd(b *testing.B) {
	l := &loader{opts: LoadOptions{BatchRows: 1 << 30}, free: make(chan *rowset, 1)}
	s := &sink{l: l, load: 1}
	r := flow.Record{Time: 1_700_000_000e9, Duration: 3e9, Src: netip.MustParseAddr("120.18.3.4"), Dst: netip.MustParseAddr("198.51.100.7"),
		SrcPort: 50123, DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 900, BytesIn: 4000, PktsOut: 5, PktsIn: 6}
	s.Add(&r)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if s.rs.n == 1<<16 {
			s.rs.reset()
		}
		r.Time += 1e9
		s.Add(&r)
	}
}

// BenchmarkClientMemory checks that the client's memory follows the aggregates, not the rows:
// it stores the same 100,000 pairs with the same distinct seconds once (1M flows) and four times
// over (4M flows: the same flows again with other source ports, so the files differ) and
// reports the heap held by the View and the peak heap while aggregating.
func BenchmarkClientMemory(b *testing.B) {
	serverURL(b)
	dir := b.TempDir()
	const pairs, perPair = 100_000, 10
	write := func(name string, sportBase uint16) string {
		recs := make([]flow.Record, 0, pairs*perPair)
		for p := range pairs {
			src := netip.AddrFrom4([4]byte{10, 1, byte(p >> 8), byte(p)})
			dst := netip.AddrFrom4([4]byte{198, 51, byte(p >> 10), byte(p % 7)})
			for k := range perPair {
				recs = append(recs, flow.Record{Time: int64(1_700_000_000+k*60) * 1e9, Src: src, Dst: dst, SrcPort: sportBase + uint16(k),
					DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 100})
			}
		}
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := sim.WriteCSV(f, recs); err != nil {
			b.Fatal(err)
		}
		f.Close()
		return path
	}
	ctx := context.Background()
	small := testStore(b, "")
	big := testStore(b, "")
	var files []string
	for i := range 4 {
		files = append(files, write(fmt.Sprintf("copy%d.csv", i), uint16(1000+100*i)))
	}
	if _, err := small.Load(ctx, files[:1], LoadOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := big.Load(ctx, files, LoadOptions{}); err != nil {
		b.Fatal(err)
	}
	measure := func(s *Store) (held, peak uint64, flows int64) {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		stop := make(chan struct{})
		done := make(chan uint64)
		go func() { // sample the live heap while aggregating
			var top uint64
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-stop:
					done <- top
					return
				case <-t.C:
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					top = max(top, ms.HeapAlloc)
				}
			}
		}()
		m, _, err := s.Aggregate(ctx, Range{})
		close(stop)
		peak = <-done
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(m)
		return after.HeapAlloc - base.HeapAlloc, peak - base.HeapAlloc, m.Flows()
	}
	for b.Loop() {
		h1, p1, f1 := measure(small)
		h4, p4, f4 := measure(big)
		b.ReportMetric(float64(h1)/(1<<20), "MiB-held-1x")
		b.ReportMetric(float64(h4)/(1<<20), "MiB-held-4x")
		b.ReportMetric(float64(p1)/(1<<20), "MiB-peak-1x")
		b.ReportMetric(float64(p4)/(1<<20), "MiB-peak-4x")
		if f4 != 4*f1 {
			b.Fatalf("flows %d and %d, want 1:4", f1, f4)
		}
	}
}
