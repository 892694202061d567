package engine

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// groupByLikeSQL aggregates recs the way the ClickHouse backend's SQL does (one GROUP BY per
// aggregate, over rows whose order is unknown) and feeds the results to a Builder: the reference
// the builder must turn into the same Memory as the embedded engine.
func groupByLikeSQL(t *testing.T, recs []flow.Record) *Memory {
	t.Helper()
	type pk struct {
		src, dst netip.Addr
		dport    uint16
		proto    uint8
	}
	type hk struct {
		host netip.Addr
		hour int64
	}
	type dk struct {
		src   netip.Addr
		query string
		qtype uint16
	}
	pairs := map[pk]*Pair{}
	times := map[pk]map[uint32]bool{}
	tags := map[pk]map[string]bool{}
	evTags := map[pk]map[string]bool{}
	hourly := map[hk]uint32{}
	dns := map[dk]int64{}
	b := NewBuilder()
	var flows int64
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	var fs FieldSet
	for i := range recs {
		r := &recs[i]
		payload := len(r.PayloadOut) > 0 || len(r.PayloadIn) > 0
		if r.Kind == flow.KindEvent && !r.HasNames() && !payload && r.Alert == "" {
			continue // not stored
		}
		k := pk{r.Src.Unmap(), r.Dst.Unmap(), r.DstPort, r.Proto}
		var rt []string
		RecordTags(r, func(tag string) { rt = append(rt, tag) })
		fs.DNS = fs.DNS || r.DNSQuery != ""
		fs.TLSSNI = fs.TLSSNI || r.TLSSNI != ""
		fs.HTTPHost = fs.HTTPHost || r.HTTPHost != ""
		fs.Payload = fs.Payload || payload
		fs.Alerts = fs.Alerts || r.Alert != ""
		if r.DNSQuery != "" {
			dns[dk{r.Src.Unmap(), r.DNSQuery, r.DNSType}]++
			for _, a := range r.DNSAnswers {
				b.AddName(a, r.DNSQuery)
			}
		}
		if r.TLSSNI != "" {
			b.AddName(r.Dst, r.TLSSNI)
		}
		if r.HTTPHost != "" {
			b.AddHTTPHost(r.Dst, r.HTTPHost)
		}
		if r.Kind != flow.KindFlow {
			if len(rt) > 0 {
				if evTags[k] == nil {
					evTags[k] = map[string]bool{}
				}
				for _, tg := range rt {
					evTags[k][tg] = true
				}
			}
			continue
		}
		flows++
		p := pairs[k]
		if p == nil {
			p = &Pair{Src: k.src, Dst: k.dst, DstPort: k.dport, Proto: k.proto, First: r.Time, Last: r.Time}
			pairs[k], times[k], tags[k] = p, map[uint32]bool{}, map[string]bool{}
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
		times[k][unixSecond(r.Time)] = true
		for _, tg := range rt {
			tags[k][tg] = true
		}
		hourly[hk{k.src, floorDiv(r.Time, 3600e9)}]++
		if r.Time != 0 {
			first, last = min(first, r.Time), max(last, r.Time)
			fs.Times = true
		}
		fs.Duration = fs.Duration || r.Duration > 0
		fs.BytesIn = fs.BytesIn || r.BytesIn != 0
		fs.Replies = fs.Replies || r.BytesIn != 0 || r.PktsIn != 0
		fs.Volumes = fs.Volumes || r.PktsOut > 1 || r.BytesOut > 1514
		fs.Action = fs.Action || r.Action != flow.ActionUnknown
	}
	for k, p := range pairs {
		for s := range times[k] {
			p.Times = append(p.Times, s) // unsorted, as groupUniqArray returns them
		}
		for tg := range tags[k] {
			p.Tags = append(p.Tags, tg)
		}
		b.AddPair(*p)
	}
	for k, ts := range evTags {
		var list []string
		for tg := range ts {
			list = append(list, tg)
		}
		slices.Sort(list)
		b.AddEventTags(k.src, k.dst, k.dport, k.proto, list)
	}
	for k, n := range hourly {
		b.AddHourly(k.host, k.hour, n)
	}
	for k, n := range dns {
		b.AddDNS(k.src, k.query, k.qtype, n)
	}
	b.SetTotals(flows, first, last, fs)
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// builderRecords covers what the aggregates must carry: flows with and without durations,
// replies, blocks and times; a bare filterlog line (no time); negative and huge times; IPv6;
// DNS events with answers, TXT tunnels and a distinct-subdomain cap; TLS SNI; HTTP Host headers
// with ports and address literals; Stratum payloads on flows; alerts on flows, on event records
// naming an existing pair and on pairs that have no flow (orphans); events that name nothing.
func builderRecords() []flow.Record {
	var recs []flow.Record
	add := func(r flow.Record) { recs = append(recs, r) }
	for i := range 300 {
		r := fl("10.0.0.5", "198.51.100.7", 443, flow.ProtoTCP, int64(i*61))
		r.Duration, r.BytesOut, r.BytesIn, r.PktsOut, r.PktsIn = int64(i%7)*1e8, 900, uint64(i), 3, 2
		add(r)
		r = fl("10.0.0.6", "203.0.113.9", 80, flow.ProtoTCP, int64(i*37%5000))
		r.Action = flow.Action(1 + i%2)
		r.BytesOut = 60
		add(r)
	}
	bare := fl("10.0.0.7", "192.0.2.10", 22, flow.ProtoTCP, 0)
	bare.Time = 0
	add(bare)
	neg := fl("10.0.0.7", "192.0.2.10", 22, flow.ProtoTCP, 0)
	neg.Time = -3_600_000_000_001 // just before the epoch's first hour
	add(neg)
	huge := fl("10.0.0.7", "192.0.2.11", 22, flow.ProtoTCP, 0)
	huge.Time = math.MaxInt64
	add(huge)
	v6 := flow.Record{Time: (t0 + 5) * nsSec, Src: ip("fd00::5"), Dst: ip("2001:db8::1"), DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 2000, PktsOut: 1}
	add(v6)
	mapped := flow.Record{Time: (t0 + 6) * nsSec, Src: ip("::ffff:10.0.0.5"), Dst: ip("198.51.100.7"), DstPort: 443, Proto: flow.ProtoTCP}
	add(mapped)

	dnsEv := func(src, q string, qtype uint16, answers ...string) flow.Record {
		r := flow.Record{Time: (t0 + 100) * nsSec, Src: ip(src), Dst: ip("10.0.0.53"), DstPort: 53, Proto: flow.ProtoUDP,
			Kind: flow.KindEvent, DNSQuery: q, DNSType: qtype}
		for _, a := range answers {
			r.DNSAnswers = append(r.DNSAnswers, ip(a))
		}
		return r
	}
	add(dnsEv("10.0.0.5", "www.example.com", 1, "198.51.100.7", "198.51.100.8"))
	add(dnsEv("10.0.0.5", "WWW.Example.com.", 1, "198.51.100.7"))
	add(dnsEv("10.0.0.6", "pool.minexmr.com", 1, "203.0.113.9"))
	add(dnsEv("10.0.0.6", "localhost", 1))
	for i := range MaxDistinctLabels + 50 {
		add(dnsEv("10.0.0.8", fmt.Sprintf("%x.t.exfil.co.uk", i*7919), 16))
	}
	tls := fl("10.0.0.5", "198.51.100.9", 443, flow.ProtoTCP, 200)
	tls.TLSSNI = "api.example.net"
	add(tls)
	for _, h := range []string{"cdn.example.org:8080", "10.1.2.3:80", "[2001:db8::1]:80", "plain.example.org"} {
		r := fl("10.0.0.6", "198.51.100.20", 80, flow.ProtoTCP, 300)
		r.Kind, r.HTTPHost = flow.KindEvent, h
		add(r)
	}
	stratum := fl("10.0.0.9", "198.51.100.30", 3333, flow.ProtoTCP, 400)
	stratum.PayloadOut = []byte(`{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4A"}}`)
	add(stratum)
	withAlert := fl("10.0.0.9", "198.51.100.30", 3333, flow.ProtoTCP, 401)
	withAlert.Kind, withAlert.Alert, withAlert.AlertSeverity = flow.KindEvent, "ET POLICY Stratum", 2
	add(withAlert)
	orphan := fl("10.0.0.9", "192.0.2.99", 80, flow.ProtoTCP, 402)
	orphan.Kind, orphan.Alert = flow.KindEvent, "ET SCAN probe"
	add(orphan)
	nothing := fl("10.0.0.9", "192.0.2.98", 80, flow.ProtoTCP, 403)
	nothing.Kind, nothing.UserAgent = flow.KindEvent, "curl/8"
	add(nothing)
	return recs
}

// TestBuilderMatchesEmbedded builds the same records once through the embedded engine and once
// through per-aggregate GROUP BYs fed to a Builder, and requires the same View.
func TestBuilderMatchesEmbedded(t *testing.T) {
	recs := builderRecords()
	for _, shards := range []int{1, 3} {
		want := mergeRR(slices.Clone(recs), shards)
		got := groupByLikeSQL(t, recs)
		scope := mustScope(t, "10.0.0.0/8", "fd00::/8")
		want.Apply(scope)
		got.Apply(scope)
		if d := Diff(want, got); len(d) > 0 {
			t.Errorf("%d shards: embedded vs builder:\n%s", shards, strings.Join(d, "\n"))
		}
	}
	// The test must see what it claims to cover.
	m := groupByLikeSQL(t, recs)
	if m.OrphanTags() != 1 || !m.Fields().Payload || !m.Fields().Alerts || !m.Fields().HTTPHost {
		t.Errorf("coverage: orphans %d fields %+v", m.OrphanTags(), m.Fields())
	}
	capped := false
	for d := range m.DNSDomains() {
		capped = capped || d.DistinctCapped
	}
	if !capped {
		t.Error("coverage: no DNS domain reached the distinct cap")
	}
}

func TestBuilderNormalises(t *testing.T) {
	b := NewBuilder()
	times := make([]uint32, 0, MaxPairTimes+10)
	for i := MaxPairTimes + 9; i >= 0; i-- {
		times = append(times, uint32(i), uint32(i)) // descending, every second twice
	}
	b.AddPair(Pair{Src: ip("::ffff:10.0.0.1"), Dst: ip("192.0.2.1"), DstPort: 80, Proto: 6, Count: 1, Times: times,
		Tags: []string{"j", "i", "h", "g", "f", "e", "d", "c", "b", "a"}})
	b.AddPair(Pair{Src: ip("10.0.0.0"), Dst: ip("192.0.2.1"), DstPort: 80, Proto: 6, Count: 1, Times: []uint32{5, 3}})
	for _, n := range []string{"q", "p", "o", "n", "m", "l", "k", "j", "i", "h", "g", "f", "e", "d", "c", "b", "a", "a"} {
		b.AddName(ip("192.0.2.1"), n)
	}
	b.AddHourly(ip("10.0.0.1"), 7, 2)
	b.AddHourly(ip("10.0.0.1"), 3, 1)
	b.AddHourly(ip("::ffff:10.0.0.1"), 7, 5)
	b.SetTotals(2, 10, 20, FieldSet{})
	m, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ps := pairsOf(m)
	if len(ps) != 2 || ps[0].Src != ip("10.0.0.0") || !slices.Equal(ps[0].Times, []uint32{3, 5}) {
		t.Fatalf("pairs not sorted or times not sorted: %v", ps)
	}
	p := ps[1]
	if p.Src != ip("10.0.0.1") || len(p.Times) != MaxPairTimes || !p.TimesCapped || p.Times[0] != 0 || p.Times[MaxPairTimes-1] != MaxPairTimes-1 {
		t.Errorf("times: src %v len %d capped %v", p.Src, len(p.Times), p.TimesCapped)
	}
	if want := []string{"a", "b", "c", "d", "e", "f", "g", "h"}; !slices.Equal(p.Tags, want) {
		t.Errorf("tags %q, want %q", p.Tags, want)
	}
	if names := m.Names(ip("192.0.2.1")); len(names) != maxNames || names[0] != "a" || names[maxNames-1] != "p" {
		t.Errorf("names %q, want the 16 smallest", names)
	}
	m.Apply(mustScope(t, "10.0.0.0/8"))
	h, _ := m.Host(ip("10.0.0.1"))
	if want := []HourCount{{3, 1}, {7, 7}}; h == nil || !slices.Equal(h.Hourly, want) {
		t.Errorf("hourly %v, want %v", h, want)
	}
	if f, l := m.Span(); f != 0 || l != 0 {
		t.Errorf("span %d..%d without Times, want 0..0", f, l)
	}

	dup := NewBuilder()
	dup.AddPair(Pair{Src: ip("10.0.0.1"), Dst: ip("192.0.2.1"), DstPort: 80, Proto: 6})
	dup.AddPair(Pair{Src: ip("::ffff:10.0.0.1"), Dst: ip("192.0.2.1"), DstPort: 80, Proto: 6})
	if _, err := dup.Build(); err == nil || !strings.Contains(err.Error(), "added twice") {
		t.Errorf("duplicate pair: err %v", err)
	}
}

// TestFoldDNSOrderFree checks that the DNS fold gives the same aggregate whatever the order and
// grouping of queries: per record (embedded) or per (host, query, type) count (ClickHouse).
func TestFoldDNSOrderFree(t *testing.T) {
	host := ip("10.0.0.8")
	type q struct {
		name  string
		qtype uint16
		n     int64
	}
	var qs []q
	for i := range MaxDistinctLabels + 3 {
		qs = append(qs, q{fmt.Sprintf("s%d.tun.example.com", i%(MaxDistinctLabels+1)), uint16(1 + 15*(i%2)), 1})
	}
	one := map[dnsKey]*dnsAcc{}
	for _, x := range qs {
		foldDNS(one, host, x.name, x.qtype, 1)
	}
	grouped := map[q]int64{}
	for _, x := range slices.Backward(qs) {
		grouped[q{x.name, x.qtype, 0}]++
	}
	many := map[dnsKey]*dnsAcc{}
	for k, n := range grouped {
		foldDNS(many, host, k.name, k.qtype, n)
	}
	k := dnsKey{host: host.As16(), domain: "example.com"}
	a, b := one[k].DNSDomain, many[k].DNSDomain
	if math.Abs(a.EntropyTotal-b.EntropyTotal) > 1e-9*a.EntropyTotal {
		t.Errorf("entropy %v vs %v", a.EntropyTotal, b.EntropyTotal)
	}
	a.EntropyTotal, b.EntropyTotal = 0, 0
	if a != b || a.Distinct != MaxDistinctLabels || !a.DistinctCapped || a.Queries != int64(len(qs)) {
		t.Errorf("per record %+v, grouped %+v", a, b)
	}
	// Exactly the cap is not capped: the count is exact.
	exact := map[dnsKey]*dnsAcc{}
	for i := range MaxDistinctLabels {
		foldDNS(exact, host, fmt.Sprintf("s%d.tun.example.com", i), 1, 2)
	}
	if d := exact[k]; d.Distinct != MaxDistinctLabels || d.DistinctCapped {
		t.Errorf("exactly the cap: %+v", d.DNSDomain)
	}
}
