package engine

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strings"
)

// Builder assembles a Memory from aggregates computed elsewhere, so that a backend which never
// holds rows client-side (ClickHouse: the cluster aggregates, the client receives one row per
// pair, host-hour, name and DNS query) hands the detectors the same View implementation as the
// embedded engine, and everything after the merge (Exclude, Apply, inference, --explain, the
// reports) runs unchanged.
//
// Feed it in any order: pairs, hourly counts, names, DNS query counts, event tags and the
// totals; then call Build once. The builder applies the embedded engine's rules where the input
// could disagree with them: a pair's Times are sorted, deduplicated and capped at MaxPairTimes,
// tags are capped at MaxPairTags, names at 16 per address, DNS queries are folded by the same
// function as the embedded engine's. Past their caps, names and tags are the smallest in sort
// order, as in the embedded engine. A Builder is not safe for concurrent use.
type Builder struct {
	chunks    [][]Pair
	npairs    int
	hourly    map[netip.Addr][]HourCount
	names     map[netip.Addr][]string
	dns       map[dnsKey]*dnsAcc
	eventTags map[pairKey][]string

	flows       int64
	first, last int64
	fields      FieldSet
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{
		hourly:    map[netip.Addr][]HourCount{},
		names:     map[netip.Addr][]string{},
		dns:       map[dnsKey]*dnsAcc{},
		eventTags: map[pairKey][]string{},
	}
}

// AddPair adds one pair's aggregates over its flows. The builder keeps p and its Times and Tags
// slices (it may reorder Times in place); addresses are unmapped, Times sorted, deduplicated and
// capped, Tags sorted and capped. Tags here are the tags of the pair's flows; those of events
// naming the pair go to AddEventTags.
func (b *Builder) AddPair(p Pair) {
	p.Src, p.Dst = p.Src.Unmap(), p.Dst.Unmap()
	if !slices.IsSorted(p.Times) || hasAdjacentDup(p.Times) || len(p.Times) > MaxPairTimes {
		capped := p.TimesCapped
		p.compactTimes()
		p.TimesCapped = p.TimesCapped || capped
	}
	p.compacted = 0
	if len(p.Tags) > 0 {
		tags := slices.Clone(p.Tags)
		slices.Sort(tags)
		p.Tags = nil
		for _, t := range tags {
			p.Tags = AddTag(p.Tags, t)
		}
	}
	if b.npairs == len(b.chunks)*chunkSize {
		b.chunks = append(b.chunks, make([]Pair, chunkSize))
	}
	b.chunks[b.npairs/chunkSize][b.npairs%chunkSize] = p
	b.npairs++
}

func hasAdjacentDup(s []uint32) bool {
	for i := 1; i < len(s); i++ {
		if s[i] == s[i-1] {
			return true
		}
	}
	return false
}

// AddHourly adds flows host originated during hour (Unix seconds / 3600, floored).
func (b *Builder) AddHourly(host netip.Addr, hour int64, flows uint32) {
	host = host.Unmap()
	b.hourly[host] = append(b.hourly[host], HourCount{Hour: hour, Flows: flows})
}

// AddName records a name seen for an address: a DNS query name for each of its answers, or a
// TLS SNI for the flow's destination. At most 16 are kept per address, the smallest.
func (b *Builder) AddName(a netip.Addr, name string) {
	if name == "" {
		return
	}
	a = a.Unmap()
	b.names[a] = keepSmallest(b.names[a], name, maxNames)
}

// AddHTTPHost records an HTTP Host header seen on a flow to dst: its name, without a port, names
// dst; an address literal names nothing (the embedded engine's rule).
func (b *Builder) AddHTTPHost(dst netip.Addr, host string) {
	if name := hostOnly(host); name != "" {
		b.AddName(dst, name)
	}
}

// AddDNS folds n queries of type qtype for query, asked by host, into the host's DNS domain
// aggregates, through the embedded engine's fold.
func (b *Builder) AddDNS(host netip.Addr, query string, qtype uint16, n int64) {
	foldDNS(b.dns, host, query, qtype, n)
}

// AddEventTags adds tags carried by application events (IDS alerts) naming a pair. At Build they
// join the pair's tags if the pair exists, or are counted as orphans (at most MaxPairTags per
// pair key, as the embedded engine counts them).
func (b *Builder) AddEventTags(src, dst netip.Addr, dport uint16, proto uint8, tags []string) {
	k := pairKey{src: src.As16(), dst: dst.As16(), dport: dport, proto: proto}
	cur := b.eventTags[k]
	for _, t := range tags {
		cur = AddTag(cur, t)
	}
	b.eventTags[k] = cur
}

// SetTotals sets the number of flow records, the Unix ns of the first and last flow start among
// flows that carry a time (ignored unless fields.Times), and which optional fields the input had.
func (b *Builder) SetTotals(flows, first, last int64, fields FieldSet) {
	b.flows, b.first, b.last, b.fields = flows, first, last, fields
}

// Build returns the Memory; call it once, after everything is added. It fails if the same pair was added twice, which means the
// aggregates were not grouped by pair.
func (b *Builder) Build() (*Memory, error) {
	m := &Memory{flows: b.flows, fields: b.fields, names: b.names, hourly: b.hourly}
	if b.fields.Times {
		m.first, m.last = b.first, b.last
	}
	m.pairs = make([]*Pair, b.npairs)
	for i := range b.npairs {
		m.pairs[i] = &b.chunks[i/chunkSize][i%chunkSize]
	}
	if !slices.IsSortedFunc(m.pairs, comparePairs) {
		slices.SortFunc(m.pairs, comparePairs)
	}
	for i := 1; i < len(m.pairs); i++ {
		if comparePairs(m.pairs[i-1], m.pairs[i]) == 0 {
			p := m.pairs[i]
			return nil, fmt.Errorf("pair %v → %v port %d proto %d added twice", p.Src, p.Dst, p.DstPort, p.Proto)
		}
	}
	for k, tags := range b.eventTags {
		src, dst := addrOf(k.src), addrOf(k.dst)
		i, found := slices.BinarySearchFunc(m.pairs, k, func(p *Pair, k pairKey) int {
			if c := p.Src.Compare(src); c != 0 {
				return c
			}
			if c := p.Dst.Compare(dst); c != 0 {
				return c
			}
			if c := cmp.Compare(p.DstPort, k.dport); c != 0 {
				return c
			}
			return cmp.Compare(p.Proto, k.proto)
		})
		if !found {
			m.orphanTags += int64(len(tags))
			continue
		}
		for _, t := range tags {
			m.pairs[i].Tags = AddTag(m.pairs[i].Tags, t)
		}
	}
	for a, hc := range m.hourly {
		slices.SortFunc(hc, func(x, y HourCount) int { return cmp.Compare(x.Hour, y.Hour) })
		out := hc[:0]
		for _, h := range hc {
			if n := len(out); n > 0 && out[n-1].Hour == h.Hour {
				out[n-1].Flows += h.Flows
				continue
			}
			out = append(out, h)
		}
		m.hourly[a] = slices.Clip(out)
	}
	for _, d := range b.dns {
		d.seen = nil
		m.dns = append(m.dns, &d.DNSDomain)
	}
	slices.SortFunc(m.dns, func(x, y *DNSDomain) int {
		if c := x.Host.Compare(y.Host); c != 0 {
			return c
		}
		return strings.Compare(x.Domain, y.Domain)
	})
	return m, nil
}

// Diff lists every difference between two Memories, for tests that hold two engines to the same
// answer and must say what differs: pairs field by field (in order), hosts (after Apply with the
// same scope), names, DNS domains (entropy sums within 1e-9 relative), fields, span, flow and
// orphan-tag counts. It stops after about 40 differences.
func Diff(a, b *Memory) []string {
	var out []string
	add := func(f string, args ...any) { out = append(out, fmt.Sprintf(f, args...)) }
	if a.Flows() != b.Flows() {
		add("flows %d vs %d", a.Flows(), b.Flows())
	}
	if a.OrphanTags() != b.OrphanTags() {
		add("orphan tags %d vs %d", a.OrphanTags(), b.OrphanTags())
	}
	if a.Fields() != b.Fields() {
		add("fields %+v vs %+v", a.Fields(), b.Fields())
	}
	a1, a2 := a.Span()
	if b1, b2 := b.Span(); a1 != b1 || a2 != b2 {
		add("span %d..%d vs %d..%d", a1, a2, b1, b2)
	}
	pa, pb := a.pairs, b.pairs
	if len(pa) != len(pb) {
		add("%d pairs vs %d", len(pa), len(pb))
	}
	for i := range min(len(pa), len(pb)) {
		x, y := pa[i], pb[i]
		vx, vy := reflect.ValueOf(*x), reflect.ValueOf(*y)
		for f := range vx.NumField() {
			ft := vx.Type().Field(f)
			if !ft.IsExported() {
				continue
			}
			fx, fy := vx.Field(f).Interface(), vy.Field(f).Interface()
			if sx, ok := fx.([]uint32); ok && len(sx) == 0 && len(fy.([]uint32)) == 0 {
				continue
			}
			if sx, ok := fx.([]string); ok && len(sx) == 0 && len(fy.([]string)) == 0 {
				continue
			}
			if !reflect.DeepEqual(fx, fy) {
				add("pair %v→%v:%d/%d %s: %v vs %v", x.Src, x.Dst, x.DstPort, x.Proto, ft.Name, fx, fy)
			}
		}
		if len(out) > 40 {
			return append(out, "…")
		}
	}
	hosts := map[netip.Addr]bool{}
	if len(out) > 40 {
		return append(out, "…")
	}
	for h := range a.Hosts() {
		hosts[h.Addr] = true
		g, ok := b.Host(h.Addr)
		if !ok {
			add("host %v missing", h.Addr)
			continue
		}
		if !reflect.DeepEqual(h.Hourly, g.Hourly) && (len(h.Hourly) > 0 || len(g.Hourly) > 0) {
			add("host %v hourly: %v vs %v", h.Addr, h.Hourly, g.Hourly)
		}
		x, y := *h, *g
		x.Hourly, y.Hourly = nil, nil
		if !reflect.DeepEqual(x, y) {
			add("host %v: %+v vs %+v", h.Addr, *h, *g)
		}
	}
	for h := range b.Hosts() {
		if !hosts[h.Addr] {
			add("host %v extra", h.Addr)
		}
	}
	var named []netip.Addr
	for addr := range a.names {
		named = append(named, addr)
	}
	for addr := range b.names {
		if _, ok := a.names[addr]; !ok {
			named = append(named, addr)
		}
	}
	slices.SortFunc(named, netip.Addr.Compare)
	for _, addr := range named {
		na, nb := a.names[addr], b.names[addr]
		if !slices.Equal(na, nb) {
			add("names %v: %q vs %q", addr, na, nb)
		}
	}
	if a.InternalHosts() != b.InternalHosts() {
		add("internal hosts %d vs %d", a.InternalHosts(), b.InternalHosts())
	}
	da, db := slices.Collect(a.DNSDomains()), slices.Collect(b.DNSDomains())
	if len(da) != len(db) {
		add("%d DNS domains vs %d", len(da), len(db))
	}
	for i := range min(len(da), len(db)) {
		x, y := *da[i], *db[i]
		ex, ey := x.EntropyTotal, y.EntropyTotal
		x.EntropyTotal, y.EntropyTotal = 0, 0
		if x != y || math.Abs(ex-ey) > 1e-9*max(1, math.Abs(ex)) {
			add("DNS %v %s: %+v H=%v vs %+v H=%v", x.Host, x.Domain, x, ex, y, ey)
		}
	}
	return out
}
