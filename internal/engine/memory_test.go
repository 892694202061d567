package engine

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/netscope"
)

// t0 is 2023-11-15 00:00:00 UTC in Unix seconds: an exact multiple of 24 hours, so hour-of-day
// buckets in the tests are easy to read.
const (
	t0    = int64(1_700_006_400)
	hour0 = t0 / 3600
	nsSec = int64(1e9)
)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// fl is a flow record from src to dst on dport/proto, starting sec seconds after t0.
func fl(src, dst string, dport uint16, proto uint8, sec int64) flow.Record {
	return flow.Record{Time: (t0 + sec) * nsSec, Src: ip(src), Dst: ip(dst), SrcPort: 50000, DstPort: dport, Proto: proto}
}

// mergeRR feeds recs round-robin into n shards (n >= 1) and merges them.
func mergeRR(recs []flow.Record, n int) *Memory {
	agg := NewAggregator()
	shards := make([]*Shard, n)
	for i := range shards {
		shards[i] = agg.NewShard()
	}
	for i := range recs {
		shards[i%n].Add(&recs[i])
	}
	return agg.Merge()
}

func mustScope(t testing.TB, cidrs ...string) *netscope.Scope {
	t.Helper()
	s, err := netscope.Parse(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pairsOf(m *Memory) []Pair {
	var out []Pair
	for p := range m.Pairs() {
		out = append(out, *p)
	}
	return out
}

func fmtPair(p Pair) string {
	return fmt.Sprintf("%v->%v:%d/%d count=%d blocked=%d bytes=%d/%d pkts=%d/%d first=%d last=%d dur=%d/%d times=%v capped=%v",
		p.Src, p.Dst, p.DstPort, p.Proto, p.Count, p.Blocked, p.BytesOut, p.BytesIn, p.PktsOut, p.PktsIn,
		p.First, p.Last, p.DurationTotal, p.DurationMax, p.Times, p.TimesCapped)
}

// exportedEqual compares two structs of the same type on their exported fields only, so the
// tests hold whatever bookkeeping the engine keeps in unexported ones.
func exportedEqual[T any](a, b T) bool {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		if va.Type().Field(i).IsExported() && !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			return false
		}
	}
	return true
}

func diffPairs(got, want []Pair) string {
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		switch {
		case i >= len(got):
			fmt.Fprintf(&b, "\n  missing [%d] %s", i, fmtPair(want[i]))
		case i >= len(want):
			fmt.Fprintf(&b, "\n  extra   [%d] %s", i, fmtPair(got[i]))
		case !exportedEqual(got[i], want[i]):
			fmt.Fprintf(&b, "\n  got  [%d] %s\n  want [%d] %s", i, fmtPair(got[i]), i, fmtPair(want[i]))
		}
	}
	return b.String()
}

func TestPairAggregation(t *testing.T) {
	f := func(name string, recs []flow.Record, want []Pair) {
		t.Helper()
		for _, n := range []int{1, 2, 3} {
			got := pairsOf(mergeRR(slices.Clone(recs), n))
			if d := diffPairs(got, want); d != "" {
				t.Errorf("%s (%d shards):%s", name, n, d)
			}
		}
	}
	ts := func(secs ...int64) []uint32 {
		out := make([]uint32, len(secs))
		for i, s := range secs {
			out[i] = uint32(t0 + s)
		}
		return out
	}
	ns := func(sec int64) int64 { return (t0 + sec) * nsSec }
	with := func(r flow.Record, fn func(*flow.Record)) flow.Record { fn(&r); return r }
	tcp, udp := flow.ProtoTCP, flow.ProtoUDP

	f("one flow", []flow.Record{
		with(fl("10.0.0.1", "8.8.8.8", 53, udp, 7), func(r *flow.Record) {
			r.BytesOut, r.BytesIn, r.PktsOut, r.PktsIn, r.Duration = 60, 120, 1, 2, 5e6
		}),
	}, []Pair{{Src: ip("10.0.0.1"), Dst: ip("8.8.8.8"), DstPort: 53, Proto: udp, Count: 1,
		BytesOut: 60, BytesIn: 120, PktsOut: 1, PktsIn: 2, First: ns(7), Last: ns(7),
		DurationTotal: 5e6, DurationMax: 5e6, Times: ts(7)}})

	f("src port differs: same pair; sums, blocked, first/last, durations", []flow.Record{
		with(fl("10.0.0.1", "1.2.3.4", 443, tcp, 30), func(r *flow.Record) {
			r.SrcPort, r.BytesOut, r.BytesIn, r.PktsOut, r.PktsIn, r.Duration, r.Action = 1111, 10, 20, 1, 2, 3e9, flow.ActionPass
		}),
		with(fl("10.0.0.1", "1.2.3.4", 443, tcp, 10), func(r *flow.Record) {
			r.SrcPort, r.BytesOut, r.BytesIn, r.PktsOut, r.PktsIn, r.Duration, r.Action = 2222, 100, 200, 10, 20, 7e9, flow.ActionBlock
		}),
		with(fl("10.0.0.1", "1.2.3.4", 443, tcp, 20), func(r *flow.Record) {
			r.SrcPort, r.BytesOut, r.BytesIn, r.PktsOut, r.PktsIn, r.Duration, r.Action = 3333, 1000, 2000, 100, 200, 0, flow.ActionBlock
		}),
		with(fl("10.0.0.1", "1.2.3.4", 443, tcp, 25), func(r *flow.Record) { r.SrcPort, r.Duration = 4444, -5 }),
	}, []Pair{{Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: tcp, Count: 4, Blocked: 2,
		BytesOut: 1110, BytesIn: 2220, PktsOut: 111, PktsIn: 222, First: ns(10), Last: ns(30),
		DurationTotal: 10e9, DurationMax: 7e9, Times: ts(10, 20, 25, 30)}})

	// One-way exports: the answer halves (already turned round by the reader) add received bytes,
	// packets and times to their connection's pair, not connections; a pair known only from its
	// answers counts them as its connections, with their durations.
	reply := func(r flow.Record, in, pkts uint64, dur int64) flow.Record {
		r.Kind, r.BytesIn, r.PktsIn, r.Duration = flow.KindReply, in, pkts, dur
		return r
	}
	f("reply halves join their connections", []flow.Record{
		with(fl("10.0.0.1", "1.2.3.4", 443, tcp, 10), func(r *flow.Record) { r.BytesOut, r.PktsOut, r.Duration, r.Action = 500, 5, 2e9, flow.ActionBlock }),
		reply(fl("10.0.0.1", "1.2.3.4", 443, tcp, 10), 9000, 8, 3e9),
		with(fl("10.0.0.1", "1.2.3.4", 443, tcp, 40), func(r *flow.Record) { r.BytesOut, r.PktsOut, r.Duration = 700, 6, 1e9 }),
		reply(fl("10.0.0.1", "1.2.3.4", 443, tcp, 41), 100, 1, 0),
		reply(fl("10.0.0.1", "5.6.7.8", 53, udp, 50), 90, 1, 1e6),
		reply(fl("10.0.0.1", "5.6.7.8", 53, udp, 60), 95, 1, 2e6),
	}, []Pair{
		{Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: tcp, Count: 2, Blocked: 1,
			BytesOut: 1200, BytesIn: 9100, PktsOut: 11, PktsIn: 9, First: ns(10), Last: ns(41),
			DurationTotal: 3e9, DurationMax: 3e9, Times: ts(10, 40, 41)},
		{Src: ip("10.0.0.1"), Dst: ip("5.6.7.8"), DstPort: 53, Proto: udp, Count: 2,
			BytesIn: 185, PktsIn: 2, First: ns(50), Last: ns(60), DurationTotal: 3e6, DurationMax: 2e6, Times: ts(50, 60)},
	})
	if m := mergeRR([]flow.Record{reply(fl("10.0.0.1", "5.6.7.8", 53, udp, 50), 90, 1, 0), fl("10.0.0.1", "5.6.7.8", 53, udp, 51)}, 1); m.Flows() != 1 {
		t.Errorf("Flows() = %d with one request and one reply, want 1", m.Flows())
	}

	f("dst port differs: two pairs, sorted by port", []flow.Record{
		fl("10.0.0.1", "1.2.3.4", 443, tcp, 1),
		fl("10.0.0.1", "1.2.3.4", 80, tcp, 2),
	}, []Pair{
		{Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 80, Proto: tcp, Count: 1, First: ns(2), Last: ns(2), Times: ts(2)},
		{Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: tcp, Count: 1, First: ns(1), Last: ns(1), Times: ts(1)},
	})

	f("proto differs: two pairs", []flow.Record{
		fl("10.0.0.1", "8.8.8.8", 53, udp, 1),
		fl("10.0.0.1", "8.8.8.8", 53, tcp, 1),
	}, []Pair{
		{Src: ip("10.0.0.1"), Dst: ip("8.8.8.8"), DstPort: 53, Proto: tcp, Count: 1, First: ns(1), Last: ns(1), Times: ts(1)},
		{Src: ip("10.0.0.1"), Dst: ip("8.8.8.8"), DstPort: 53, Proto: udp, Count: 1, First: ns(1), Last: ns(1), Times: ts(1)},
	})

	f("reverse direction is another pair; sorted by src then dst", []flow.Record{
		fl("10.0.0.2", "10.0.0.1", 22, tcp, 1),
		fl("10.0.0.1", "10.0.0.2", 22, tcp, 2),
		fl("10.0.0.1", "10.0.0.10", 22, tcp, 3),
	}, []Pair{
		{Src: ip("10.0.0.1"), Dst: ip("10.0.0.2"), DstPort: 22, Proto: tcp, Count: 1, First: ns(2), Last: ns(2), Times: ts(2)},
		{Src: ip("10.0.0.1"), Dst: ip("10.0.0.10"), DstPort: 22, Proto: tcp, Count: 1, First: ns(3), Last: ns(3), Times: ts(3)},
		{Src: ip("10.0.0.2"), Dst: ip("10.0.0.1"), DstPort: 22, Proto: tcp, Count: 1, First: ns(1), Last: ns(1), Times: ts(1)},
	})

	f("IPv4 and IPv4-mapped IPv6 are one pair, returned unmapped", []flow.Record{
		fl("10.0.0.1", "8.8.8.8", 53, udp, 1),
		fl("::ffff:10.0.0.1", "8.8.8.8", 53, udp, 2),
		fl("10.0.0.1", "::ffff:8.8.8.8", 53, udp, 3),
		fl("::ffff:10.0.0.1", "::ffff:8.8.8.8", 53, udp, 4),
	}, []Pair{{Src: ip("10.0.0.1"), Dst: ip("8.8.8.8"), DstPort: 53, Proto: udp, Count: 4, First: ns(1), Last: ns(4), Times: ts(1, 2, 3, 4)}})

	f("IPv6 stays IPv6 and sorts after IPv4", []flow.Record{
		fl("2001:db8::1", "2001:db8::53", 53, udp, 1),
		fl("10.0.0.1", "2001:db8::53", 53, udp, 1),
	}, []Pair{
		{Src: ip("10.0.0.1"), Dst: ip("2001:db8::53"), DstPort: 53, Proto: udp, Count: 1, First: ns(1), Last: ns(1), Times: ts(1)},
		{Src: ip("2001:db8::1"), Dst: ip("2001:db8::53"), DstPort: 53, Proto: udp, Count: 1, First: ns(1), Last: ns(1), Times: ts(1)},
	})

	// The Is4 check matters as much as equality: a mapped address would print as ::ffff:a.b.c.d
	// and miss an IPv4 scope.
	m := mergeRR([]flow.Record{fl("::ffff:10.0.0.1", "::ffff:8.8.8.8", 53, udp, 1)}, 1)
	for p := range m.Pairs() {
		if !p.Src.Is4() || !p.Dst.Is4() {
			t.Errorf("mapped input: got Src %v (Is4 %v), Dst %v (Is4 %v), want unmapped IPv4", p.Src, p.Src.Is4(), p.Dst, p.Dst.Is4())
		}
	}
}

func TestPairTimes(t *testing.T) {
	f := func(name string, times []int64, want []uint32) {
		t.Helper()
		recs := make([]flow.Record, len(times))
		for i, tm := range times {
			recs[i] = flow.Record{Time: tm, Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: flow.ProtoTCP}
		}
		for _, n := range []int{1, 2, 3} {
			got := pairsOf(mergeRR(recs, n))
			if len(got) != 1 {
				t.Errorf("%s (%d shards): %d pairs, want 1", name, n, len(got))
				continue
			}
			if !slices.Equal(got[0].Times, want) || got[0].TimesCapped || got[0].Count != int64(len(times)) {
				t.Errorf("%s (%d shards): Times %v capped %v count %d, want %v false %d",
					name, n, got[0].Times, got[0].TimesCapped, got[0].Count, want, len(times))
			}
		}
	}
	s := func(sec int64) int64 { return sec * nsSec }
	f("sorted", []int64{s(1), s(2), s(3)}, []uint32{1, 2, 3})
	f("unsorted with repeats", []int64{s(5), s(3), s(5), s(1), s(3)}, []uint32{1, 3, 5})
	f("same second collapses", []int64{s(5), s(5) + 1, s(5) + 999_999_999, s(6)}, []uint32{5, 6})
	f("unsorted within and across seconds", []int64{s(9) + 5e8, s(9) + 1, s(8) + 9e8, s(9)}, []uint32{8, 9})
	f("time 0", []int64{0, 0}, []uint32{0})
	f("realistic epoch", []int64{s(t0 + 3), s(t0)}, []uint32{uint32(t0), uint32(t0 + 3)})
	f("before the epoch clamps to 0", []int64{-1, -s(10), s(2)}, []uint32{0, 2})

	// Many distinct seconds in scrambled order with heavy repetition: the set must be exactly the
	// distinct seconds, however often the accumulator compacted on the way.
	rng := rand.New(rand.NewPCG(1, 2))
	var many []int64
	distinct := map[uint32]bool{}
	for range 20_000 {
		sec := t0 + rng.Int64N(5000)
		distinct[uint32(sec)] = true
		many = append(many, s(sec)+rng.Int64N(nsSec))
	}
	want := make([]uint32, 0, len(distinct))
	for k := range distinct {
		want = append(want, k)
	}
	slices.Sort(want)
	f("20k scrambled flows over 5000 seconds", many, want)
}

func TestPairTimesCapped(t *testing.T) {
	f := func(name string, secs []int64, shards int, wantCapped bool, wantPrefix bool) {
		t.Helper()
		recs := make([]flow.Record, len(secs))
		lo, hi := secs[0], secs[0]
		distinct := map[int64]bool{}
		for i, sec := range secs {
			recs[i] = flow.Record{Time: sec * nsSec, Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 1}
			lo, hi = min(lo, sec), max(hi, sec)
			distinct[sec] = true
		}
		got := pairsOf(mergeRR(recs, shards))
		if len(got) != 1 {
			t.Fatalf("%s: %d pairs, want 1", name, len(got))
		}
		p := got[0]
		wantLen := min(len(distinct), MaxPairTimes)
		if p.TimesCapped != wantCapped || len(p.Times) != wantLen {
			t.Errorf("%s: TimesCapped %v len(Times) %d, want %v %d", name, p.TimesCapped, len(p.Times), wantCapped, wantLen)
		}
		if p.Count != int64(len(secs)) || p.BytesOut != uint64(len(secs)) || p.First != lo*nsSec || p.Last != hi*nsSec {
			t.Errorf("%s: Count %d BytesOut %d First %d Last %d, want exact %d %d %d %d",
				name, p.Count, p.BytesOut, p.First, p.Last, len(secs), len(secs), lo*nsSec, hi*nsSec)
		}
		for i := 1; i < len(p.Times); i++ {
			if p.Times[i] <= p.Times[i-1] {
				t.Errorf("%s: Times not strictly ascending at %d: %d, %d", name, i, p.Times[i-1], p.Times[i])
				break
			}
		}
		for _, s := range p.Times {
			if !distinct[int64(s)] {
				t.Errorf("%s: Times holds %d, which no flow had", name, s)
				break
			}
		}
		if wantPrefix && len(p.Times) > 0 && (int64(p.Times[0]) != lo || int64(p.Times[len(p.Times)-1]) != lo+int64(len(p.Times))-1) {
			t.Errorf("%s: Times spans %d..%d, want the earliest seconds %d..%d",
				name, p.Times[0], p.Times[len(p.Times)-1], lo, lo+int64(len(p.Times))-1)
		}
	}
	ascending := func(n int, repeat int) []int64 {
		out := make([]int64, 0, n*repeat)
		for i := range n {
			for range repeat {
				out = append(out, t0+int64(i))
			}
		}
		return out
	}
	over := MaxPairTimes + 100
	f("exactly MaxPairTimes seconds: not capped", ascending(MaxPairTimes, 1), 1, false, true)
	f("exactly MaxPairTimes seconds, 2 shards: not capped", ascending(MaxPairTimes, 1), 2, false, true)
	f("over the cap, ascending", ascending(over, 1), 1, true, true)
	f("over the cap, ascending, each second twice", ascending(over, 2), 1, true, true)
	f("over the cap, ascending, 2 shards (neither capped alone)", ascending(over, 1), 2, true, true)
	f("over the cap, ascending, 3 shards", ascending(over, 1), 3, true, true)
	desc := ascending(over, 1)
	slices.Reverse(desc)
	f("over the cap, descending", desc, 1, true, false)
	f("over the cap, descending, 2 shards", desc, 2, true, false)
	// Two shards each over the cap on their own.
	twice := ascending(2*MaxPairTimes+10, 1)
	f("2 shards each capped", twice, 2, true, true)

	// A shard that capped on its own (it saw enough seconds to compact past the cap) stays
	// capped when the other shard adds only seconds it already kept.
	agg := NewAggregator()
	big, small := agg.NewShard(), agg.NewShard()
	n := 2*MaxPairTimes + 1024
	for i := range n {
		r := flow.Record{Time: (t0 + int64(i)) * nsSec, Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: flow.ProtoTCP}
		big.Add(&r)
	}
	r := flow.Record{Time: t0 * nsSec, Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: flow.ProtoTCP}
	small.Add(&r)
	p := pairsOf(agg.Merge())[0]
	if !p.TimesCapped || len(p.Times) != MaxPairTimes || p.Count != int64(n+1) || p.Times[0] != uint32(t0) ||
		p.Times[MaxPairTimes-1] != uint32(t0+MaxPairTimes-1) {
		t.Errorf("capped in one shard: TimesCapped %v len %d Count %d Times %d..%d, want true %d %d %d..%d",
			p.TimesCapped, len(p.Times), p.Count, p.Times[0], p.Times[len(p.Times)-1], MaxPairTimes, n+1, t0, t0+MaxPairTimes-1)
	}

	// Once capped, later timestamps are dropped even when they are earlier than the kept ones
	// (view.go: "later timestamps are dropped"). Four times the cap in ascending order leaves any
	// compaction schedule time to notice the cap; then 1000 earlier seconds arrive.
	agg = NewAggregator()
	s := agg.NewShard()
	late := t0 + 1_000_000
	var rec flow.Record
	for i := range 4 * MaxPairTimes {
		rec = flow.Record{Time: (late + int64(i)) * nsSec, Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: flow.ProtoTCP}
		s.Add(&rec)
	}
	for i := range 1000 {
		rec = flow.Record{Time: (t0 + int64(i)) * nsSec, Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: flow.ProtoTCP}
		s.Add(&rec)
	}
	p = pairsOf(agg.Merge())[0]
	if !p.TimesCapped || len(p.Times) != MaxPairTimes || p.Times[0] != uint32(late) || p.Count != 4*MaxPairTimes+1000 || p.First != t0*nsSec {
		t.Errorf("earlier seconds after the cap: TimesCapped %v len %d Times[0] %d Count %d First %d, want true %d %d %d %d",
			p.TimesCapped, len(p.Times), p.Times[0], p.Count, p.First, MaxPairTimes, late, 4*MaxPairTimes+1000, t0*nsSec)
	}
}

func TestEventsAndNames(t *testing.T) {
	ev := func(fn func(r *flow.Record)) flow.Record {
		r := flow.Record{Time: t0 * nsSec, Src: ip("10.0.0.1"), Dst: ip("93.184.216.34"), SrcPort: 40000, DstPort: 443,
			Proto: flow.ProtoTCP, Kind: flow.KindEvent, BytesOut: 10, BytesIn: 20, Duration: 1e9, Action: flow.ActionBlock}
		fn(&r)
		return r
	}
	dns := func(q string, answers ...string) flow.Record {
		return ev(func(r *flow.Record) {
			r.Dst, r.DstPort, r.Proto, r.DNSQuery, r.DNSType = ip("10.0.0.53"), 53, flow.ProtoUDP, q, 1
			for _, a := range answers {
				r.DNSAnswers = append(r.DNSAnswers, ip(a))
			}
		})
	}
	f := func(name string, recs []flow.Record, addr string, want []string) {
		t.Helper()
		for _, n := range []int{1, 2, 3} {
			m := mergeRR(recs, n)
			if got := m.Names(ip(addr)); !slices.Equal(got, want) {
				t.Errorf("%s (%d shards): Names(%s) = %q, want %q", name, n, addr, got, want)
			}
		}
	}
	f("dns answer v4", []flow.Record{dns("evil.example", "1.2.3.4", "5.6.7.8")}, "1.2.3.4", []string{"evil.example"})
	f("dns second answer", []flow.Record{dns("evil.example", "1.2.3.4", "5.6.7.8")}, "5.6.7.8", []string{"evil.example"})
	f("dns answer v6", []flow.Record{dns("v6.example", "2001:db8::1")}, "2001:db8::1", []string{"v6.example"})
	f("dns mapped answer is unmapped", []flow.Record{dns("m.example", "::ffff:1.2.3.4")}, "1.2.3.4", []string{"m.example"})
	f("dns query server gets no name", []flow.Record{dns("evil.example", "1.2.3.4")}, "10.0.0.53", nil)
	f("dns query source gets no name", []flow.Record{dns("evil.example", "1.2.3.4")}, "10.0.0.1", nil)
	f("dns without answers", []flow.Record{dns("nx.example")}, "10.0.0.53", nil)
	f("answers without a query add nothing", []flow.Record{ev(func(r *flow.Record) { r.DNSAnswers = []netip.Addr{ip("1.2.3.4")} })}, "1.2.3.4", nil)
	f("sni names dst", []flow.Record{ev(func(r *flow.Record) { r.TLSSNI = "sni.example" })}, "93.184.216.34", []string{"sni.example"})
	f("sni does not name src", []flow.Record{ev(func(r *flow.Record) { r.TLSSNI = "sni.example" })}, "10.0.0.1", nil)
	f("http host names dst", []flow.Record{ev(func(r *flow.Record) { r.HTTPHost = "www.example" })}, "93.184.216.34", []string{"www.example"})
	f("http host IPv4 literal adds nothing", []flow.Record{ev(func(r *flow.Record) { r.HTTPHost = "93.184.216.34" })}, "93.184.216.34", nil)
	f("http host other IPv4 literal adds nothing", []flow.Record{ev(func(r *flow.Record) { r.HTTPHost = "1.1.1.1" })}, "93.184.216.34", nil)
	f("http host IPv6 literal adds nothing", []flow.Record{ev(func(r *flow.Record) { r.HTTPHost = "2001:db8::1" })}, "93.184.216.34", nil)
	f("sni on a flow record names dst too", []flow.Record{func() flow.Record {
		r := fl("10.0.0.1", "93.184.216.34", 443, flow.ProtoTCP, 0)
		r.TLSSNI = "flow.example"
		return r
	}()}, "93.184.216.34", []string{"flow.example"})
	f("all sources, deduplicated, sorted", []flow.Record{
		ev(func(r *flow.Record) { r.TLSSNI = "c.example" }),
		dns("b.example", "93.184.216.34"),
		ev(func(r *flow.Record) { r.HTTPHost = "a.example" }),
		ev(func(r *flow.Record) { r.TLSSNI = "b.example"; r.HTTPHost = "c.example" }),
		dns("a.example", "93.184.216.34", "93.184.216.34"),
	}, "93.184.216.34", []string{"a.example", "b.example", "c.example"})

	var twenty []flow.Record
	var smallest16 []string
	for i := range 20 {
		name := fmt.Sprintf("n%02d.example", 19-i) // seen in descending order
		twenty = append(twenty, dns(name, "1.2.3.4"), dns(name, "1.2.3.4"))
		if i < maxNames {
			smallest16 = append(smallest16, fmt.Sprintf("n%02d.example", i))
		}
	}
	if len(smallest16) != 16 {
		t.Fatalf("maxNames is %d, want 16", maxNames)
	}
	// Past the cap the 16 smallest names are kept, whatever the order and the shards.
	for _, n := range []int{1, 2, 3} {
		if got := mergeRR(twenty, n).Names(ip("1.2.3.4")); !slices.Equal(got, smallest16) {
			t.Errorf("20 names, %d shards: Names = %q, want the 16 smallest %q", n, got, smallest16)
		}
	}

	// The cap holds when the names come from records of many sources (which an engine may keep
	// apart until the merge) and through AddNames.
	var spread []flow.Record
	for i := range 40 {
		r := dns(fmt.Sprintf("s%02d.example", i), "1.2.3.4")
		r.Src = netip.AddrFrom4([4]byte{10, byte(i), byte(i * 7), byte(i*13 + 1)})
		spread = append(spread, r)
	}
	for _, n := range []int{1, 2, 3} {
		m := mergeRR(spread, n)
		got := slices.Clone(m.Names(ip("1.2.3.4")))
		if len(got) != 16 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != 16 {
			t.Errorf("40 names from 40 sources, %d shards: Names = %q, want 16 distinct sorted names", n, got)
		}
		m.AddNames(ip("1.2.3.4"), "zz.example", "aa.example")
		if got2 := m.Names(ip("1.2.3.4")); !slices.Equal(got2, append([]string{"aa.example"}, got[:15]...)) {
			t.Errorf("AddNames past the cap: %q became %q, want aa.example in and the largest out", got, got2)
		}
	}

	// Events count nowhere but in names and fields.
	evs := []flow.Record{
		dns("evil.example", "1.2.3.4"),
		ev(func(r *flow.Record) { r.TLSSNI = "sni.example" }),
		ev(func(r *flow.Record) { r.HTTPHost = "www.example" }),
		ev(func(r *flow.Record) {}),
	}
	for _, n := range []int{1, 2} {
		m := mergeRR(evs, n)
		m.Apply(mustScope(t, "10.0.0.0/8"))
		if got := pairsOf(m); len(got) != 0 {
			t.Errorf("events only (%d shards): pairs %s, want none", n, diffPairs(got, nil))
		}
		var hosts []netip.Addr
		for h := range m.Hosts() {
			hosts = append(hosts, h.Addr)
		}
		if len(hosts) != 0 || m.Flows() != 0 || m.InternalHosts() != 0 || m.Prevalence(ip("93.184.216.34")) != 0 {
			t.Errorf("events only (%d shards): hosts %v flows %d internal %d prevalence %d, want none",
				n, hosts, m.Flows(), m.InternalHosts(), m.Prevalence(ip("93.184.216.34")))
		}
		if first, last := m.Span(); first != 0 || last != 0 {
			t.Errorf("events only (%d shards): Span (%d, %d), want (0, 0)", n, first, last)
		}
		want := FieldSet{DNS: true, TLSSNI: true, HTTPHost: true}
		if got := m.Fields(); got != want {
			t.Errorf("events only (%d shards): Fields %+v, want %+v", n, got, want)
		}
	}
	// An event next to a flow for the same pair leaves the flow's counters alone.
	mixed := []flow.Record{fl("10.0.0.1", "93.184.216.34", 443, flow.ProtoTCP, 5), ev(func(r *flow.Record) { r.TLSSNI = "x.example" })}
	got := pairsOf(mergeRR(mixed, 1))
	want := []Pair{{Src: ip("10.0.0.1"), Dst: ip("93.184.216.34"), DstPort: 443, Proto: flow.ProtoTCP, Count: 1,
		First: (t0 + 5) * nsSec, Last: (t0 + 5) * nsSec, Times: []uint32{uint32(t0 + 5)}}}
	if d := diffPairs(got, want); d != "" {
		t.Errorf("flow plus event:%s", d)
	}
}

func TestAddNames(t *testing.T) {
	base := func() *Memory {
		r := fl("10.0.0.1", "1.2.3.4", 443, flow.ProtoTCP, 0)
		r.TLSSNI = "m.example"
		return mergeRR([]flow.Record{r}, 1)
	}
	many := func(n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("u%02d.example", i))
		}
		return out
	}
	f := func(name, addr string, add [][]string, want []string) {
		t.Helper()
		m := base()
		for _, names := range add {
			m.AddNames(ip(addr), names...)
		}
		if got := m.Names(ip(addr)); !slices.Equal(got, want) {
			t.Errorf("%s: Names(%s) = %q, want %q", name, addr, got, want)
		}
	}
	f("new address", "5.6.7.8", [][]string{{"z.example", "a.example"}}, []string{"a.example", "z.example"})
	f("joins seen names, sorted", "1.2.3.4", [][]string{{"z.example", "a.example"}}, []string{"a.example", "m.example", "z.example"})
	f("duplicates of seen and given names dropped", "1.2.3.4", [][]string{{"m.example", "a.example", "a.example"}, {"a.example"}},
		[]string{"a.example", "m.example"})
	f("capped at 16 including seen names", "1.2.3.4", [][]string{many(20)}, append([]string{"m.example"}, many(15)...))
	f("capped at 16 over several calls", "5.6.7.8", [][]string{many(10), many(20)}, many(16))
	f("nothing added", "5.6.7.8", [][]string{nil}, nil)
}

// scenario is a small network: three internal hosts (10/8), an external scanner and two external
// servers; hours are t0's hour (a multiple of 24) and the next two.
func scenario() []flow.Record {
	r := func(src, dst string, dport uint16, proto uint8, sec int64, out, in uint64) flow.Record {
		x := fl(src, dst, dport, proto, sec)
		x.BytesOut, x.BytesIn, x.PktsOut, x.PktsIn = out, in, 1, 1
		return x
	}
	tcp, udp := flow.ProtoTCP, flow.ProtoUDP
	return []flow.Record{
		r("10.0.0.1", "8.8.8.8", 53, udp, 10, 100, 200),
		r("10.0.0.1", "8.8.8.8", 53, udp, 3600+5, 50, 70), // next hour, same pair
		r("10.0.0.1", "8.8.8.8", 443, tcp, 20, 1000, 5000),
		r("10.0.0.1", "10.0.0.2", 445, tcp, 30, 300, 400), // internal destination
		r("10.0.0.2", "8.8.8.8", 53, udp, 40, 10, 20),
		r("1.1.1.1", "10.0.0.1", 22, tcp, 50, 7, 9), // external source
		r("1.1.1.1", "8.8.8.8", 80, tcp, 60, 1, 2),
		r("10.0.0.3", "9.9.9.9", 443, tcp, 7200+1, 11, 13),
		r("::ffff:10.0.0.3", "9.9.9.9", 443, tcp, 7200+2, 1, 1), // mapped: same host, same pair
	}
}

func TestApply(t *testing.T) {
	wantHosts := map[string]Host{
		"10.0.0.1": {Internal: true, ConnsOut: 4, ConnsIn: 1, BytesSent: 1450 + 9, BytesReceived: 5670 + 7,
			ExtConns: 3, ExtBytesSent: 1150, ExtBytesRecv: 5270, Peers: 2, ExtPeers: 1, DstPorts: 3,
			Hourly: []HourCount{{hour0, 3}, {hour0 + 1, 1}}},
		"10.0.0.2": {Internal: true, ConnsOut: 1, ConnsIn: 1, BytesSent: 10 + 400, BytesReceived: 20 + 300,
			ExtConns: 1, ExtBytesSent: 10, ExtBytesRecv: 20, Peers: 1, ExtPeers: 1, DstPorts: 1,
			Hourly: []HourCount{{hour0, 1}}},
		"10.0.0.3": {Internal: true, ConnsOut: 2, BytesSent: 12, BytesReceived: 14,
			ExtConns: 2, ExtBytesSent: 12, ExtBytesRecv: 14, Peers: 1, ExtPeers: 1, DstPorts: 1,
			Hourly: []HourCount{{hour0 + 2, 2}}},
		"1.1.1.1": {ConnsOut: 2, BytesSent: 8, BytesReceived: 11,
			ExtConns: 1, ExtBytesSent: 1, ExtBytesRecv: 2, Peers: 2, ExtPeers: 1, DstPorts: 2,
			Hourly: []HourCount{{hour0, 2}}},
		"8.8.8.8": {ConnsIn: 5, BytesSent: 200 + 70 + 5000 + 20 + 2, BytesReceived: 100 + 50 + 1000 + 10 + 1},
		"9.9.9.9": {ConnsIn: 2, BytesSent: 14, BytesReceived: 12},
	}
	wantPrev := map[string]int{
		"8.8.8.8":  2, // 10.0.0.1 (two ports, counted once) and 10.0.0.2; 1.1.1.1 is external
		"10.0.0.2": 1,
		"10.0.0.1": 0, // only the external 1.1.1.1 reached it
		"9.9.9.9":  1, // one host, two spellings
		"1.1.1.1":  0,
		"10.0.0.3": 0,
		"4.4.4.4":  0, // never seen
	}
	wantFrom := map[string][]string{
		"10.0.0.1": {"8.8.8.8:53/17", "8.8.8.8:443/6", "10.0.0.2:445/6"},
		"10.0.0.2": {"8.8.8.8:53/17"},
		"10.0.0.3": {"9.9.9.9:443/6"},
		"1.1.1.1":  {"8.8.8.8:80/6", "10.0.0.1:22/6"},
		"8.8.8.8":  nil, // responder only
		"9.9.9.9":  nil,
		"4.4.4.4":  nil,
		"10.0.0.0": nil, // sorts before every source
		"ff::1":    nil, // sorts after every source
	}
	check := func(name string, m *Memory) {
		t.Helper()
		for a, want := range wantHosts {
			want.Addr = ip(a)
			got, ok := m.Host(ip(a))
			if !ok {
				t.Errorf("%s: Host(%s) missing", name, a)
				continue
			}
			if !exportedEqual(*got, want) {
				t.Errorf("%s: Host(%s)\n got  %+v\n want %+v", name, a, *got, want)
			}
		}
		n := 0
		for h := range m.Hosts() {
			n++
			if g, ok := m.Host(h.Addr); !ok || g != h {
				t.Errorf("%s: Hosts yields %v, which Host does not return", name, h.Addr)
			}
		}
		if n != len(wantHosts) {
			t.Errorf("%s: Hosts yields %d hosts, want %d", name, n, len(wantHosts))
		}
		for _, a := range []string{"4.4.4.4", "::ffff:10.0.0.99", "10.0.0.99"} {
			if h, ok := m.Host(ip(a)); ok {
				t.Errorf("%s: Host(%s) = %+v, want none", name, a, h)
			}
		}
		for a, want := range wantPrev {
			if got := m.Prevalence(ip(a)); got != want {
				t.Errorf("%s: Prevalence(%s) = %d, want %d", name, a, got, want)
			}
		}
		if got := m.InternalHosts(); got != 3 {
			t.Errorf("%s: InternalHosts = %d, want 3", name, got)
		}
		for a, want := range wantFrom {
			var got []string
			for p := range m.PairsFrom(ip(a)) {
				if p.Src != ip(a) {
					t.Errorf("%s: PairsFrom(%s) yields a pair from %v", name, a, p.Src)
				}
				got = append(got, fmt.Sprintf("%v:%d/%d", p.Dst, p.DstPort, p.Proto))
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s: PairsFrom(%s) = %q, want %q", name, a, got, want)
			}
		}
		// Stopping early is honoured.
		k := 0
		for range m.PairsFrom(ip("10.0.0.1")) {
			k++
			break
		}
		for range m.Pairs() {
			k++
			break
		}
		for range m.Hosts() {
			k++
			break
		}
		if k != 3 {
			t.Errorf("%s: early break yielded %d, want 3", name, k)
		}
		if m.Scope() == nil || !m.Scope().Contains(ip("10.1.2.3")) {
			t.Errorf("%s: Scope() is not the applied scope", name)
		}
	}
	for _, n := range []int{1, 2, 3, 4} {
		m := mergeRR(scenario(), n)
		m.Apply(mustScope(t, "10.0.0.0/8"))
		check(fmt.Sprintf("%d shards", n), m)
		m.Apply(mustScope(t, "10.0.0.0/8"))
		check(fmt.Sprintf("%d shards, applied twice", n), m)
	}

	// Applying another scope rederives everything: with 8.8.8.8 internal too, 10.0.0.1 has no
	// external traffic left, 8.8.8.8 becomes internal but originates nothing, and its prevalence
	// still ignores the external 1.1.1.1.
	m := mergeRR(scenario(), 2)
	m.Apply(mustScope(t, "10.0.0.0/8"))
	m.Apply(mustScope(t, "10.0.0.0/8", "8.8.8.8"))
	h, _ := m.Host(ip("10.0.0.1"))
	want := Host{Addr: ip("10.0.0.1"), Internal: true, ConnsOut: 4, ConnsIn: 1, BytesSent: 1459, BytesReceived: 5677,
		ExtConns: 0, ExtBytesSent: 0, ExtBytesRecv: 0, Peers: 2, ExtPeers: 0, DstPorts: 3,
		Hourly: []HourCount{{hour0, 3}, {hour0 + 1, 1}}}
	if !exportedEqual(*h, want) {
		t.Errorf("rescoped: Host(10.0.0.1)\n got  %+v\n want %+v", *h, want)
	}
	if h, _ := m.Host(ip("8.8.8.8")); !h.Internal {
		t.Errorf("rescoped: 8.8.8.8 not internal")
	}
	if got := m.InternalHosts(); got != 3 {
		t.Errorf("rescoped: InternalHosts = %d, want 3 (8.8.8.8 originates nothing)", got)
	}
	if got := m.Prevalence(ip("8.8.8.8")); got != 2 {
		t.Errorf("rescoped: Prevalence(8.8.8.8) = %d, want 2", got)
	}
}

func TestHourly(t *testing.T) {
	// f feeds flows from 10.0.0.1 (and noise from 10.0.0.2) at the given hours after hour0, split
	// over each shard count, and checks 10.0.0.1's Hourly.
	f := func(name string, hours []int64, want []HourCount) {
		t.Helper()
		var recs []flow.Record
		for i, h := range hours {
			recs = append(recs, fl("10.0.0.1", "8.8.8.8", uint16(1+i%3), flow.ProtoTCP, h*3600+int64(i%3600)))
			recs = append(recs, fl("10.0.0.2", "8.8.8.8", 443, flow.ProtoTCP, (h+100)*3600))
		}
		for i := range want {
			want[i].Hour += hour0
		}
		for _, n := range []int{1, 2, 3, 5} {
			m := mergeRR(recs, n)
			m.Apply(mustScope(t, "10.0.0.0/8"))
			h, ok := m.Host(ip("10.0.0.1"))
			if !ok {
				t.Fatalf("%s: no host", name)
			}
			if !reflect.DeepEqual(h.Hourly, want) {
				t.Errorf("%s (%d shards): Hourly %v, want %v", name, n, h.Hourly, want)
			}
			if d, _ := m.Host(ip("8.8.8.8")); d.Hourly != nil {
				t.Errorf("%s (%d shards): responder 8.8.8.8 has Hourly %v, want nil", name, n, d.Hourly)
			}
		}
	}
	f("one hour", []int64{0, 0, 0}, []HourCount{{0, 3}})
	f("consecutive", []int64{0, 0, 1, 2, 2, 2}, []HourCount{{0, 2}, {1, 1}, {2, 3}})
	f("interleaved", []int64{1, 0, 1, 2, 0, 1, 0}, []HourCount{{0, 3}, {1, 3}, {2, 1}})
	f("gaps and descending", []int64{48, 24, 5, 24, 48, 5}, []HourCount{{5, 2}, {24, 2}, {48, 2}})
	f("alternating", []int64{0, 1, 0, 1, 0, 1, 0, 1}, []HourCount{{0, 4}, {1, 4}})

	// Hours from Time 0 and before the epoch (floor, not truncation).
	recs := []flow.Record{
		{Time: 0, Src: ip("10.0.0.1"), Dst: ip("8.8.8.8"), DstPort: 53, Proto: flow.ProtoUDP},
		{Time: -1, Src: ip("10.0.0.1"), Dst: ip("8.8.8.8"), DstPort: 53, Proto: flow.ProtoUDP},
		{Time: 3600*nsSec - 1, Src: ip("10.0.0.1"), Dst: ip("8.8.8.8"), DstPort: 53, Proto: flow.ProtoUDP},
		{Time: 3600 * nsSec, Src: ip("10.0.0.1"), Dst: ip("8.8.8.8"), DstPort: 53, Proto: flow.ProtoUDP},
	}
	m := mergeRR(recs, 1)
	m.Apply(mustScope(t))
	h, _ := m.Host(ip("10.0.0.1"))
	if want := []HourCount{{-1, 1}, {0, 2}, {1, 1}}; !reflect.DeepEqual(h.Hourly, want) {
		t.Errorf("epoch edges: Hourly %v, want %v", h.Hourly, want)
	}
}

func TestHourOfDay(t *testing.T) {
	type b = map[int]uint64
	f := func(name string, hourly []HourCount, offset func(int64) int, want b) {
		t.Helper()
		h := Host{Hourly: hourly}
		var w [24]uint64
		for k, v := range want {
			w[k] = v
		}
		if got := h.HourOfDay(offset); got != w {
			t.Errorf("%s: HourOfDay = %v, want %v", name, got, w)
		}
	}
	fixed := func(sec int) func(int64) int { return func(int64) int { return sec } }
	hc := []HourCount{{hour0, 3}, {hour0 + 1, 1}, {hour0 + 25, 2}, {hour0 + 47, 4}}
	f("utc", hc, nil, b{0: 3, 1: 1 + 2, 23: 4})
	f("zero offset", hc, fixed(0), b{0: 3, 1: 3, 23: 4})
	f("+2h", hc, fixed(7200), b{2: 3, 3: 3, 1: 4})
	f("-5h", hc, fixed(-5*3600), b{19: 3, 20: 3, 18: 4})
	f("+5:30", hc, fixed(5*3600+1800), b{5: 3, 6: 3, 4: 4})
	f("-3:30", hc, fixed(-3*3600-1800), b{20: 3, 21: 3, 19: 4})
	f("+14h", hc, fixed(14*3600), b{14: 3, 15: 3, 13: 4})
	f("-12h", hc, fixed(-12*3600), b{12: 3, 13: 3, 11: 4})
	// An offset that changes during the data (daylight saving from hour0+24 on), evaluated at the
	// start of each hour.
	dst := func(unix int64) int {
		if unix >= (hour0+24)*3600 {
			return 3600
		}
		return 0
	}
	f("offset depends on time", hc, dst, b{0: 3 + 4, 1: 1, 2: 2})
	f("empty", nil, nil, b{})
	f("before the epoch, utc", []HourCount{{-1, 1}, {-25, 2}, {-24, 3}}, nil, b{23: 3, 0: 3})

	// Through the engine: flows at 22:10 and 23:50 UTC on t0's day and 00:10 the next day.
	recs := []flow.Record{
		fl("10.0.0.1", "8.8.8.8", 53, flow.ProtoUDP, -2*3600+600),
		fl("10.0.0.1", "8.8.8.8", 53, flow.ProtoUDP, -3600+3000),
		fl("10.0.0.1", "8.8.8.8", 53, flow.ProtoUDP, 600),
		fl("10.0.0.1", "8.8.8.8", 443, flow.ProtoTCP, 610),
	}
	for _, n := range []int{1, 2} {
		m := mergeRR(recs, n)
		m.Apply(mustScope(t, "10.0.0.0/8"))
		h, _ := m.Host(ip("10.0.0.1"))
		var want [24]uint64
		want[22], want[23], want[0] = 1, 1, 2
		if got := h.HourOfDay(nil); got != want {
			t.Errorf("engine, %d shards: HourOfDay(nil) = %v, want %v", n, got, want)
		}
		want = [24]uint64{}
		want[0], want[1], want[2] = 1, 1, 2
		if got := h.HourOfDay(fixed(7200)); got != want {
			t.Errorf("engine, %d shards: HourOfDay(+2h) = %v, want %v", n, got, want)
		}
	}
}

// TestHourOfDayNegativeLocalTime is a regression test: HourOfDay divided the shifted time by 3600
// with Go's truncating division, so a local time before the epoch that was not on a whole hour
// landed one bucket late. Flows without timestamps (Time 0, e.g. bare filterlog lines) are all in
// hour 0, so a zone west of UTC with a non-whole-hour offset (-3:30 Newfoundland, -9:30
// Marquesas) put them in the wrong bucket.
func TestHourOfDayNegativeLocalTime(t *testing.T) {
	f := func(hour int64, offset int, want int) {
		t.Helper()
		h := Host{Hourly: []HourCount{{hour, 1}}}
		got := h.HourOfDay(func(int64) int { return offset })
		if got[want] != 1 {
			t.Errorf("Hour %d, offset %ds: flow in bucket %d, want %d", hour, offset, slices.Index(got[:], 1), want)
		}
	}
	f(0, -1800, 23)        // 1969-12-31 23:30 local; truncation gave bucket 0
	f(0, -3*3600-1800, 20) // 1969-12-31 20:30 local; truncation gave bucket 21
	f(-1, 1800, 23)        // 1969-12-31 23:30 local; truncation gave bucket 0
	f(0, -3600, 23)        // whole hours work
}

func TestActivities(t *testing.T) {
	tcp, udp := flow.ProtoTCP, flow.ProtoUDP
	recs := []flow.Record{
		fl("10.0.0.1", "10.0.0.9", 80, tcp, 1),
		fl("10.0.0.1", "10.0.0.9", 80, tcp, 2),
		fl("10.0.0.1", "10.0.0.9", 443, tcp, 3),   // same destination, another port
		fl("10.0.0.1", "8.8.8.8", 53, udp, 4),     //
		fl("10.0.0.1", "8.8.8.8", 53, tcp, 5),     // same destination, another protocol
		fl("10.0.0.1", "9.9.9.9", 50000, udp, 6),  // ephemeral port: not a service
		fl("10.0.0.1", "9.9.9.8", 32768, udp, 7),  // first non-service port
		fl("10.0.0.1", "9.9.9.7", 32767, udp, 8),  // last service port
		fl("10.0.0.1", "9.9.9.6", 0, 1, 9),        // ICMP, port 0
		fl("8.8.8.8", "10.0.0.1", 40000, udp, 10), // a reply logged as a flow
		fl("9.9.9.9", "10.0.0.1", 50000, tcp, 11), // ephemeral then service to one destination
		fl("9.9.9.9", "10.0.0.1", 22, tcp, 12),
		fl("10.0.0.2", "10.0.0.9", 80, tcp, 13), // the destination 10.0.0.1 counted last, from another source
		fl("10.0.0.5", "10.0.0.5", 80, tcp, 14), // to itself
		fl("10.0.0.6", "10.0.0.9", 40000, tcp, 15),
		fl("10.0.0.6", "10.0.0.10", 80, tcp, 16), // ephemeral to one destination, service to the next
	}
	want := []netscope.Activity{
		{Addr: ip("8.8.8.8"), ServiceDsts: 0, Flows: 1 + 2},
		{Addr: ip("9.9.9.6"), Flows: 1},
		{Addr: ip("9.9.9.7"), Flows: 1},
		{Addr: ip("9.9.9.8"), Flows: 1},
		{Addr: ip("9.9.9.9"), ServiceDsts: 1, Flows: 2 + 1},
		{Addr: ip("10.0.0.1"), ServiceDsts: 4, Flows: 9 + 3},
		{Addr: ip("10.0.0.2"), ServiceDsts: 1, Flows: 1},
		{Addr: ip("10.0.0.5"), ServiceDsts: 1, Flows: 1},
		{Addr: ip("10.0.0.6"), ServiceDsts: 1, Flows: 2},
		{Addr: ip("10.0.0.9"), Flows: 2 + 1 + 1 + 1},
		{Addr: ip("10.0.0.10"), Flows: 1},
	}
	for _, n := range []int{1, 2, 3} {
		m := mergeRR(recs, n)
		got := sortedActs(m.Activities())
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d shards: Activities\n got  %+v\n want %+v", n, got, want)
		}
		// Activities does not depend on Apply and can be called after it.
		m.Apply(mustScope(t, "10.0.0.0/8"))
		if got := sortedActs(m.Activities()); !reflect.DeepEqual(got, want) {
			t.Errorf("%d shards: Activities after Apply differs", n)
		}
	}
}

func sortedActs(a []netscope.Activity) []netscope.Activity {
	slices.SortFunc(a, func(x, y netscope.Activity) int { return x.Addr.Compare(y.Addr) })
	return a
}

func TestSpanAndFields(t *testing.T) {
	f := func(name string, recs []flow.Record, first, last int64, want FieldSet) {
		t.Helper()
		for _, n := range []int{1, 2, 3} {
			m := mergeRR(recs, n)
			if gf, gl := m.Span(); gf != first || gl != last {
				t.Errorf("%s (%d shards): Span (%d, %d), want (%d, %d)", name, n, gf, gl, first, last)
			}
			if got := m.Fields(); got != want {
				t.Errorf("%s (%d shards): Fields %+v, want %+v", name, n, got, want)
			}
		}
	}
	r := func(tm int64, fn func(*flow.Record)) flow.Record {
		x := flow.Record{Time: tm, Src: ip("10.0.0.1"), Dst: ip("1.2.3.4"), DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 5}
		if fn != nil {
			fn(&x)
		}
		return x
	}
	event := func(fn func(*flow.Record)) func(*flow.Record) {
		return func(x *flow.Record) { x.Kind = flow.KindEvent; fn(x) }
	}
	f("no timestamps", []flow.Record{r(0, nil), r(0, nil), r(0, nil)}, 0, 0, FieldSet{})
	f("ns precision, unsorted", []flow.Record{r(5_500_000_000, nil), r(1_250_000_001, nil), r(9e9, nil)}, 1_250_000_001, 9e9, FieldSet{Times: true})
	f("one flow", []flow.Record{r(t0*nsSec+7, nil)}, t0*nsSec+7, t0*nsSec+7, FieldSet{Times: true})
	f("duration", []flow.Record{r(0, nil), r(0, func(x *flow.Record) { x.Duration = 1 })}, 0, 0, FieldSet{Duration: true})
	f("zero duration is not a duration", []flow.Record{r(0, func(x *flow.Record) { x.Duration = 0 })}, 0, 0, FieldSet{})
	f("bytes in", []flow.Record{r(0, func(x *flow.Record) { x.BytesIn = 1 })}, 0, 0, FieldSet{BytesIn: true, Replies: true})
	f("a RST back", []flow.Record{r(0, func(x *flow.Record) { x.PktsIn = 1 })}, 0, 0, FieldSet{Replies: true})
	f("bytes out only", []flow.Record{r(0, func(x *flow.Record) { x.BytesOut, x.PktsIn = 1e9, 3 })}, 0, 0, FieldSet{Volumes: true, Replies: true})
	f("one small packet", []flow.Record{r(0, func(x *flow.Record) { x.BytesOut, x.PktsOut = 60, 1 })}, 0, 0, FieldSet{})
	f("several packets", []flow.Record{r(0, func(x *flow.Record) { x.BytesOut, x.PktsOut = 120, 2 })}, 0, 0, FieldSet{Volumes: true})
	f("action pass", []flow.Record{r(0, func(x *flow.Record) { x.Action = flow.ActionPass })}, 0, 0, FieldSet{Action: true})
	f("action block", []flow.Record{r(0, func(x *flow.Record) { x.Action = flow.ActionBlock })}, 0, 0, FieldSet{Action: true})
	f("dns", []flow.Record{r(0, func(x *flow.Record) { x.DNSQuery = "q.example" })}, 0, 0, FieldSet{DNS: true})
	f("sni", []flow.Record{r(0, func(x *flow.Record) { x.TLSSNI = "s.example" })}, 0, 0, FieldSet{TLSSNI: true})
	f("http host", []flow.Record{r(0, func(x *flow.Record) { x.HTTPHost = "h.example" })}, 0, 0, FieldSet{HTTPHost: true})
	f("http host IP literal still counts as the field", []flow.Record{r(0, func(x *flow.Record) { x.HTTPHost = "1.2.3.4" })}, 0, 0, FieldSet{HTTPHost: true})
	f("event times, durations, bytes and actions are not flows'",
		[]flow.Record{r(3e9, nil), r(1e9, event(func(x *flow.Record) { x.Duration, x.BytesIn, x.Action = 1, 1, flow.ActionPass })),
			r(9e9, event(func(x *flow.Record) { x.TLSSNI = "e.example" }))},
		3e9, 3e9, FieldSet{Times: true, TLSSNI: true})
	f("every field, spread over shards", []flow.Record{
		r(2e9, func(x *flow.Record) { x.Duration = 5 }),
		r(4e9, func(x *flow.Record) { x.BytesIn = 5 }),
		r(6e9, func(x *flow.Record) { x.Action = flow.ActionBlock }),
		r(8e9, event(func(x *flow.Record) { x.DNSQuery = "q.example" })),
		r(1e9, event(func(x *flow.Record) { x.TLSSNI = "s.example" })),
		r(9e9, event(func(x *flow.Record) { x.HTTPHost = "h.example" })),
	}, 2e9, 6e9, FieldSet{Duration: true, BytesIn: true, Action: true, DNS: true, TLSSNI: true, HTTPHost: true, Times: true, Replies: true})
}

func TestEmpty(t *testing.T) {
	f := func(name string, m *Memory) {
		t.Helper()
		if got := m.Activities(); len(got) != 0 {
			t.Errorf("%s: Activities %v, want none", name, got)
		}
		empty := mustScope(t)
		m.Apply(empty)
		if first, last := m.Span(); first != 0 || last != 0 {
			t.Errorf("%s: Span (%d, %d), want (0, 0)", name, first, last)
		}
		if m.Scope() != empty {
			t.Errorf("%s: Scope not the applied one", name)
		}
		for p := range m.Pairs() {
			t.Errorf("%s: pair %s", name, fmtPair(*p))
		}
		for p := range m.PairsFrom(ip("10.0.0.1")) {
			t.Errorf("%s: PairsFrom yields %s", name, fmtPair(*p))
		}
		for h := range m.Hosts() {
			t.Errorf("%s: host %+v", name, *h)
		}
		if h, ok := m.Host(ip("10.0.0.1")); ok {
			t.Errorf("%s: Host = %+v", name, h)
		}
		if m.Prevalence(ip("10.0.0.1")) != 0 || m.InternalHosts() != 0 || m.Flows() != 0 || m.Names(ip("10.0.0.1")) != nil {
			t.Errorf("%s: prevalence %d internal %d flows %d names %q, want zeros", name,
				m.Prevalence(ip("10.0.0.1")), m.InternalHosts(), m.Flows(), m.Names(ip("10.0.0.1")))
		}
		if m.Fields() != (FieldSet{}) {
			t.Errorf("%s: Fields %+v, want none", name, m.Fields())
		}
		m.AddNames(ip("10.0.0.1"), "x.example")
		if got := m.Names(ip("10.0.0.1")); !slices.Equal(got, []string{"x.example"}) {
			t.Errorf("%s: AddNames on empty view: %q", name, got)
		}
	}
	f("no shards", NewAggregator().Merge())
	agg := NewAggregator()
	agg.NewShard()
	agg.NewShard()
	f("empty shards", agg.Merge())
	agg = NewAggregator()
	s := agg.NewShard()
	for _, r := range []flow.Record{{Kind: flow.KindEvent, Time: 5, Src: ip("10.0.0.1"), Dst: ip("8.8.8.8"), DstPort: 53}} {
		s.Add(&r)
	}
	f("events without names", agg.Merge())
	(&Host{}).HourOfDay(nil)
}

// --- Property test: sharding does not change the result, and a naive model agrees. ---

type snapshot struct {
	Pairs         []Pair
	Hosts         map[netip.Addr]Host
	Names         map[netip.Addr][]string
	Prevalence    map[netip.Addr]int
	InternalHosts int
	Activities    []netscope.Activity
	First, Last   int64
	Fields        FieldSet
	Flows         int64
}

func snap(m *Memory, scope *netscope.Scope, universe []netip.Addr) snapshot {
	s := snapshot{Pairs: pairsOf(m), Hosts: map[netip.Addr]Host{}, Names: map[netip.Addr][]string{},
		Prevalence: map[netip.Addr]int{}, Activities: sortedActs(m.Activities()), Fields: m.Fields(), Flows: m.Flows()}
	s.First, s.Last = m.Span()
	m.Apply(scope)
	for h := range m.Hosts() {
		s.Hosts[h.Addr] = *h
	}
	for _, a := range universe {
		if n := m.Names(a); n != nil {
			s.Names[a] = n
		}
		if p := m.Prevalence(a); p != 0 {
			s.Prevalence[a] = p
		}
	}
	s.InternalHosts = m.InternalHosts()
	return s
}

// model computes the snapshot naively, one map per aggregate.
func model(t *testing.T, recs []flow.Record, scope *netscope.Scope) snapshot {
	type key struct {
		src, dst netip.Addr
		port     uint16
		proto    uint8
	}
	pairs := map[key]*Pair{}
	times := map[key]map[uint32]bool{}
	hourly := map[netip.Addr]map[int64]uint32{}
	names := map[netip.Addr]map[string]bool{}
	s := snapshot{Hosts: map[netip.Addr]Host{}, Names: map[netip.Addr][]string{}, Prevalence: map[netip.Addr]int{}}
	addName := func(a netip.Addr, n string) {
		a = a.Unmap()
		if names[a] == nil {
			names[a] = map[string]bool{}
		}
		names[a][n] = true
	}
	first, last := int64(1<<63-1), int64(-1<<63)
	for i := range recs {
		r := &recs[i]
		if r.DNSQuery != "" {
			s.Fields.DNS = true
			for _, a := range r.DNSAnswers {
				addName(a, r.DNSQuery)
			}
		}
		if r.TLSSNI != "" {
			s.Fields.TLSSNI = true
			addName(r.Dst, r.TLSSNI)
		}
		if r.HTTPHost != "" {
			s.Fields.HTTPHost = true
			if _, err := netip.ParseAddr(r.HTTPHost); err != nil {
				addName(r.Dst, r.HTTPHost)
			}
		}
		if r.Kind == flow.KindEvent {
			continue
		}
		if r.Time <= 0 {
			t.Fatal("model handles positive times only")
		}
		s.Flows++
		first, last = min(first, r.Time), max(last, r.Time)
		s.Fields.Times = true
		s.Fields.Duration = s.Fields.Duration || r.Duration > 0
		s.Fields.BytesIn = s.Fields.BytesIn || r.BytesIn != 0
		s.Fields.Volumes = s.Fields.Volumes || r.PktsOut > 1 || r.BytesOut > 1514
		s.Fields.Replies = s.Fields.Replies || r.BytesIn != 0 || r.PktsIn != 0
		s.Fields.Action = s.Fields.Action || r.Action != flow.ActionUnknown
		k := key{r.Src.Unmap(), r.Dst.Unmap(), r.DstPort, r.Proto}
		p := pairs[k]
		if p == nil {
			p = &Pair{Src: k.src, Dst: k.dst, DstPort: k.port, Proto: k.proto, First: r.Time, Last: r.Time}
			pairs[k] = p
			times[k] = map[uint32]bool{}
		}
		p.Count++
		if r.Action == flow.ActionBlock {
			p.Blocked++
		}
		p.BytesOut += r.BytesOut
		p.BytesIn += r.BytesIn
		p.PktsOut += r.PktsOut
		p.PktsIn += r.PktsIn
		p.First, p.Last = min(p.First, r.Time), max(p.Last, r.Time)
		if r.Duration > 0 {
			p.DurationTotal += r.Duration
			p.DurationMax = max(p.DurationMax, r.Duration)
		}
		times[k][uint32(r.Time/nsSec)] = true
		if hourly[k.src] == nil {
			hourly[k.src] = map[int64]uint32{}
		}
		hourly[k.src][r.Time/(3600*nsSec)]++
	}
	if s.Flows > 0 {
		s.First, s.Last = first, last
	}
	for a, set := range names {
		if len(set) > maxNames {
			t.Fatalf("model: %v has %d names; the generator must stay under the cap", a, len(set))
		}
		ns := slices.Sorted(func(yield func(string) bool) {
			for n := range set {
				if !yield(n) {
					return
				}
			}
		})
		s.Names[a] = ns
	}
	type hostSets struct{ peers, extPeers, ports, serviceDsts map[any]bool }
	sets := map[netip.Addr]*hostSets{}
	prevSrcs := map[netip.Addr]map[netip.Addr]bool{}
	flows := map[netip.Addr]int64{}
	host := func(a netip.Addr) Host {
		h, ok := s.Hosts[a]
		if !ok {
			h = Host{Addr: a, Internal: scope.Contains(a)}
		}
		return h
	}
	for k, p := range pairs {
		ts := make([]uint32, 0, len(times[k]))
		for sec := range times[k] {
			ts = append(ts, sec)
		}
		slices.Sort(ts)
		p.Times = ts
		s.Pairs = append(s.Pairs, *p)

		src := host(k.src)
		src.ConnsOut += p.Count
		src.BytesSent += p.BytesOut
		src.BytesReceived += p.BytesIn
		dstInternal := scope.Contains(k.dst)
		if !dstInternal {
			src.ExtConns += p.Count
			src.ExtBytesSent += p.BytesOut
			src.ExtBytesRecv += p.BytesIn
		}
		hs := sets[k.src]
		if hs == nil {
			hs = &hostSets{map[any]bool{}, map[any]bool{}, map[any]bool{}, map[any]bool{}}
			sets[k.src] = hs
		}
		hs.peers[k.dst] = true
		if !dstInternal {
			hs.extPeers[k.dst] = true
		}
		hs.ports[k.port] = true
		if k.port < 32768 {
			hs.serviceDsts[k.dst] = true
		}
		src.Peers, src.ExtPeers, src.DstPorts = len(hs.peers), len(hs.extPeers), len(hs.ports)
		s.Hosts[k.src] = src

		dst := host(k.dst)
		dst.ConnsIn += p.Count
		dst.BytesSent += p.BytesIn
		dst.BytesReceived += p.BytesOut
		s.Hosts[k.dst] = dst

		if scope.Contains(k.src) {
			if prevSrcs[k.dst] == nil {
				prevSrcs[k.dst] = map[netip.Addr]bool{}
			}
			prevSrcs[k.dst][k.src] = true
		}
		flows[k.src] += p.Count
		if k.dst != k.src {
			flows[k.dst] += p.Count
		}
	}
	slices.SortFunc(s.Pairs, func(x, y Pair) int {
		return cmp.Or(x.Src.Compare(y.Src), x.Dst.Compare(y.Dst), cmp.Compare(x.DstPort, y.DstPort), cmp.Compare(x.Proto, y.Proto))
	})
	for a, hs := range hourly {
		h := s.Hosts[a]
		for hr, n := range hs {
			h.Hourly = append(h.Hourly, HourCount{hr, n})
		}
		slices.SortFunc(h.Hourly, func(x, y HourCount) int { return cmp.Compare(x.Hour, y.Hour) })
		s.Hosts[a] = h
	}
	for _, h := range s.Hosts {
		if h.Internal && h.ConnsOut > 0 {
			s.InternalHosts++
		}
	}
	for d, srcs := range prevSrcs {
		s.Prevalence[d] = len(srcs)
	}
	for a, n := range flows {
		act := netscope.Activity{Addr: a, Flows: n}
		if hs := sets[a]; hs != nil {
			act.ServiceDsts = len(hs.serviceDsts)
		}
		s.Activities = append(s.Activities, act)
	}
	sortedActs(s.Activities)
	return s
}

func diffSnap(got, want snapshot) string {
	var b strings.Builder
	if d := diffPairs(got.Pairs, want.Pairs); d != "" {
		fmt.Fprintf(&b, "\n pairs:%s", d)
	}
	for a, w := range want.Hosts {
		if g, ok := got.Hosts[a]; !ok || !exportedEqual(g, w) {
			fmt.Fprintf(&b, "\n host %v\n  got  %+v\n  want %+v", a, g, w)
		}
	}
	for a := range got.Hosts {
		if _, ok := want.Hosts[a]; !ok {
			fmt.Fprintf(&b, "\n extra host %v", a)
		}
	}
	if !reflect.DeepEqual(got.Names, want.Names) {
		fmt.Fprintf(&b, "\n names\n  got  %q\n  want %q", got.Names, want.Names)
	}
	if !reflect.DeepEqual(got.Prevalence, want.Prevalence) {
		fmt.Fprintf(&b, "\n prevalence\n  got  %v\n  want %v", got.Prevalence, want.Prevalence)
	}
	if !reflect.DeepEqual(got.Activities, want.Activities) {
		fmt.Fprintf(&b, "\n activities\n  got  %+v\n  want %+v", got.Activities, want.Activities)
	}
	if got.InternalHosts != want.InternalHosts || got.First != want.First || got.Last != want.Last ||
		got.Fields != want.Fields || got.Flows != want.Flows {
		fmt.Fprintf(&b, "\n internal/span/fields/flows\n  got  %d %d %d %+v %d\n  want %d %d %d %+v %d",
			got.InternalHosts, got.First, got.Last, got.Fields, got.Flows,
			want.InternalHosts, want.First, want.Last, want.Fields, want.Flows)
	}
	return b.String()
}

// genRecords draws n records over a few hosts and ports in unsorted time order. A third of the
// flows hit one hot pair within 3000 seconds, so its timestamp set compacts many times; the rest
// spread over three days, interleaving hours. One record in 20 is an event carrying names.
func genRecords(seed uint64, n int) (recs []flow.Record, universe []netip.Addr) {
	rng := rand.New(rand.NewPCG(seed, seed*0x9e3779b97f4a7c15+1))
	internal := []string{"10.0.0.1", "10.0.0.2", "10.0.1.7", "10.200.0.9", "fd00::1"}
	external := []string{"8.8.8.8", "1.1.1.1", "203.0.113.7", "2001:db8::53", "198.51.100.1"}
	var all []netip.Addr
	for _, s := range append(slices.Clone(internal), external...) {
		all = append(all, ip(s))
	}
	spell := func(a netip.Addr) netip.Addr {
		if a.Is4() && rng.IntN(8) == 0 {
			return netip.AddrFrom16(a.As16()) // IPv4-mapped IPv6 spelling
		}
		return a
	}
	pick := func(list []string) netip.Addr { return spell(ip(list[rng.IntN(len(list))])) }
	ports := []uint16{0, 22, 53, 80, 443, 8080, 32767, 32768, 50000}
	names := []string{"a.example", "b.example", "c.example", "d.example", "e.example", "f.example", "g.example",
		"h.example", "i.example", "j.example", "k.example", "l.example"}
	base := t0 * nsSec
	for range n {
		r := flow.Record{SrcPort: uint16(rng.IntN(65536)), Proto: []uint8{flow.ProtoTCP, flow.ProtoUDP}[rng.IntN(2)]}
		switch x := rng.IntN(10); {
		case x < 3: // the hot pair
			r.Src, r.Dst, r.DstPort, r.Proto = spell(ip("10.0.0.1")), spell(ip("8.8.8.8")), 53, flow.ProtoUDP
			r.Time = base + rng.Int64N(3000*nsSec)
		case x < 8:
			r.Src, r.Dst = pick(internal), spell(all[rng.IntN(len(all))])
			r.DstPort = ports[rng.IntN(len(ports))]
			r.Time = base + rng.Int64N(72*3600*nsSec)
		default:
			r.Src, r.Dst = pick(external), spell(all[rng.IntN(len(all))])
			r.DstPort = ports[rng.IntN(len(ports))]
			r.Time = base + rng.Int64N(72*3600*nsSec)
		}
		if rng.IntN(3) > 0 {
			r.Duration = rng.Int64N(10 * nsSec)
		}
		r.Action = flow.Action(rng.IntN(3))
		r.BytesOut, r.BytesIn = rng.Uint64N(1<<20), rng.Uint64N(1<<20)
		r.PktsOut, r.PktsIn = rng.Uint64N(1000), rng.Uint64N(1000)
		if rng.IntN(20) == 0 {
			r.Kind = flow.KindEvent
			switch rng.IntN(4) {
			case 0:
				r.DNSQuery = names[rng.IntN(len(names))]
				for range rng.IntN(4) {
					r.DNSAnswers = append(r.DNSAnswers, spell(all[rng.IntN(len(all))]))
				}
			case 1:
				r.TLSSNI = names[rng.IntN(len(names))]
			case 2:
				r.HTTPHost = names[rng.IntN(len(names))]
			default:
				r.HTTPHost = all[rng.IntN(len(all))].String()
			}
		}
		recs = append(recs, r)
	}
	return recs, all
}

func TestShardingProperty(t *testing.T) {
	scope := mustScope(t, "10.0.0.0/8", "fd00::/8")
	for _, seed := range []uint64{1, 2, 3, 42} {
		recs, universe := genRecords(seed, 20_000)
		want := model(t, recs, scope)
		if len(want.Pairs) < 100 || len(want.Names) == 0 {
			t.Fatalf("seed %d: generator too narrow: %d pairs, %d named addresses", seed, len(want.Pairs), len(want.Names))
		}
		for _, n := range []int{1, 2, 3} {
			got := snap(mergeRR(recs, n), scope, universe)
			if d := diffSnap(got, want); d != "" {
				t.Errorf("seed %d, %d shards vs model:%s", seed, n, d)
			}
		}
	}
}

// TestConcurrentShards feeds shards from concurrent goroutines (run with -race) and checks the
// merge equals a single shard's.
func TestConcurrentShards(t *testing.T) {
	recs, universe := genRecords(7, 20_000)
	scope := mustScope(t, "10.0.0.0/8")
	want := snap(mergeRR(recs, 1), scope, universe)
	for _, workers := range []int{2, 3, 4} {
		agg := NewAggregator()
		var wg sync.WaitGroup
		chunk := (len(recs) + workers - 1) / workers
		for w := range workers {
			lo, hi := w*chunk, min((w+1)*chunk, len(recs))
			wg.Go(func() {
				s := agg.NewShard()
				for i := lo; i < hi; i++ {
					s.Add(&recs[i])
				}
			})
		}
		wg.Wait()
		if d := diffSnap(snap(agg.Merge(), scope, universe), want); d != "" {
			t.Errorf("%d concurrent workers vs one shard:%s", workers, d)
		}
	}
}
