package engine

import (
	"cmp"
	"iter"
	"net/netip"
	"slices"
	"sync"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/netscope"
)

// maxNames caps the names kept per address; an address with more is a CDN or a sinkhole, and the
// first names seen are as good as any.
const maxNames = 16

type addr16 = [16]byte

// pairKey is the map key of a pair: fixed-size and pointer-free, so maps of millions of pairs
// cost the garbage collector nothing to scan.
type pairKey struct {
	src, dst addr16
	dport    uint16
	proto    uint8
}

type pairAcc struct {
	key               pairKey
	count, blocked    int64
	bytesOut, bytesIn uint64
	pktsOut, pktsIn   uint64
	first, last       int64
	durTotal, durMax  int64
	times             []uint32
	compactedLen      int
	capped            bool
}

type hostAcc struct {
	key      addr16
	curHour  int64
	curFlows uint32
	hourly   map[int64]uint32
}

func (h *hostAcc) flush() {
	if h.curFlows == 0 {
		return
	}
	if h.hourly == nil {
		h.hourly = make(map[int64]uint32, 4)
	}
	h.hourly[h.curHour] += h.curFlows
	h.curFlows = 0
}

// Aggregator accumulates records into per-worker shards. Make one with NewAggregator, hand
// NewShard to ingest.Run (one shard per worker), then call Merge once all input is read.
type Aggregator struct {
	mu     sync.Mutex
	shards []*Shard
}

// NewAggregator returns an empty Aggregator.
func NewAggregator() *Aggregator { return &Aggregator{} }

// NewShard returns the accumulator for one worker; it is an ingest.Sink.
func (a *Aggregator) NewShard() *Shard {
	s := &Shard{
		pairIdx: make(map[pairKey]int32, 1<<12),
		hostIdx: make(map[addr16]int32, 1<<8),
		names:   make(map[addr16][]string),
		first:   1<<63 - 1,
		last:    -1 << 63,
	}
	a.mu.Lock()
	a.shards = append(a.shards, s)
	a.mu.Unlock()
	return s
}

// Shard accumulates one worker's records; it is not safe for concurrent use.
type Shard struct {
	pairIdx     map[pairKey]int32
	pairs       []pairAcc
	hostIdx     map[addr16]int32
	hosts       []hostAcc
	names       map[addr16][]string
	first, last int64
	fields      FieldSet
	flows       int64
}

// Add folds one record into the shard. It allocates only when it meets a new pair, host or name,
// or grows a pair's timestamp set.
func (s *Shard) Add(r *flow.Record) {
	s.addNames(r)
	if r.Kind == flow.KindEvent {
		return
	}
	s.flows++
	k := pairKey{src: r.Src.As16(), dst: r.Dst.As16(), dport: r.DstPort, proto: r.Proto}
	i, ok := s.pairIdx[k]
	if !ok {
		i = int32(len(s.pairs))
		s.pairIdx[k] = i
		s.pairs = append(s.pairs, pairAcc{key: k, first: r.Time, last: r.Time})
	}
	p := &s.pairs[i]
	p.count++
	if r.Action == flow.ActionBlock {
		p.blocked++
	}
	p.bytesOut += r.BytesOut
	p.bytesIn += r.BytesIn
	p.pktsOut += r.PktsOut
	p.pktsIn += r.PktsIn
	p.first = min(p.first, r.Time)
	p.last = max(p.last, r.Time)
	if r.Duration > 0 {
		p.durTotal += r.Duration
		p.durMax = max(p.durMax, r.Duration)
		s.fields.Duration = true
	}
	s.first = min(s.first, r.Time)
	s.last = max(s.last, r.Time)
	if r.Time != 0 {
		s.fields.Times = true
	}
	if r.BytesIn != 0 {
		s.fields.BytesIn = true
	}
	if r.Action != flow.ActionUnknown {
		s.fields.Action = true
	}
	p.addTime(unixSecond(r.Time))

	hi, ok := s.hostIdx[k.src]
	if !ok {
		hi = int32(len(s.hosts))
		s.hostIdx[k.src] = hi
		s.hosts = append(s.hosts, hostAcc{key: k.src})
	}
	h := &s.hosts[hi]
	hour := floorDiv(r.Time, 3600e9)
	if h.curFlows != 0 && h.curHour != hour {
		h.flush()
	}
	h.curHour = hour
	h.curFlows++
}

func unixSecond(ns int64) uint32 {
	s := floorDiv(ns, 1e9)
	if s < 0 {
		return 0
	}
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// addTime appends a second unless it repeats the last one; the set is sorted and deduplicated
// whenever it has doubled since the last time, so unsorted input stays bounded by the distinct
// seconds, not the flows.
func (p *pairAcc) addTime(sec uint32) {
	n := len(p.times)
	if p.capped || (n > 0 && p.times[n-1] == sec) {
		return
	}
	p.times = append(p.times, sec)
	if len(p.times) >= 2*p.compactedLen+1024 {
		p.compact()
	}
}

func (p *pairAcc) compact() {
	slices.Sort(p.times)
	p.times = slices.Compact(p.times)
	if len(p.times) > MaxPairTimes {
		p.times = p.times[:MaxPairTimes]
		p.capped = true
	}
	p.compactedLen = len(p.times)
}

func (s *Shard) addNames(r *flow.Record) {
	if r.DNSQuery != "" {
		s.fields.DNS = true
		for _, a := range r.DNSAnswers {
			s.addName(a.As16(), r.DNSQuery)
		}
	}
	if r.TLSSNI != "" {
		s.fields.TLSSNI = true
		s.addName(r.Dst.As16(), r.TLSSNI)
	}
	if r.HTTPHost != "" {
		s.fields.HTTPHost = true
		if _, err := netip.ParseAddr(r.HTTPHost); err != nil {
			s.addName(r.Dst.As16(), r.HTTPHost)
		}
	}
}

func (s *Shard) addName(a addr16, name string) {
	names := s.names[a]
	if len(names) >= maxNames || slices.Contains(names, name) {
		return
	}
	s.names[a] = append(names, name)
}

// Merge combines the shards into one Memory view. The scope is applied later with Apply, once
// internal ranges are known (they may be inferred from the merged data).
func (a *Aggregator) Merge() *Memory {
	a.mu.Lock()
	shards := a.shards
	a.shards = nil
	a.mu.Unlock()
	m := &Memory{first: 1<<63 - 1, last: -1 << 63, names: map[netip.Addr][]string{}}
	if len(shards) == 0 {
		m.first, m.last = 0, 0
		return m
	}
	// Merge every shard into the largest one.
	slices.SortFunc(shards, func(x, y *Shard) int { return cmp.Compare(len(y.pairs), len(x.pairs)) })
	base := shards[0]
	for _, s := range shards[1:] {
		for i := range s.pairs {
			sp := &s.pairs[i]
			bi, ok := base.pairIdx[sp.key]
			if !ok {
				base.pairIdx[sp.key] = int32(len(base.pairs))
				base.pairs = append(base.pairs, *sp)
				continue
			}
			bp := &base.pairs[bi]
			bp.count += sp.count
			bp.blocked += sp.blocked
			bp.bytesOut += sp.bytesOut
			bp.bytesIn += sp.bytesIn
			bp.pktsOut += sp.pktsOut
			bp.pktsIn += sp.pktsIn
			bp.first = min(bp.first, sp.first)
			bp.last = max(bp.last, sp.last)
			bp.durTotal += sp.durTotal
			bp.durMax = max(bp.durMax, sp.durMax)
			bp.capped = bp.capped || sp.capped
			bp.times = append(bp.times, sp.times...)
		}
		for i := range s.hosts {
			sh := &s.hosts[i]
			sh.flush()
			bi, ok := base.hostIdx[sh.key]
			if !ok {
				base.hostIdx[sh.key] = int32(len(base.hosts))
				base.hosts = append(base.hosts, *sh)
				continue
			}
			bh := &base.hosts[bi]
			bh.flush()
			if bh.hourly == nil {
				bh.hourly = sh.hourly
				continue
			}
			for h, n := range sh.hourly {
				bh.hourly[h] += n
			}
		}
		for k, names := range s.names {
			for _, n := range names {
				base.addName(k, n)
			}
		}
		base.first = min(base.first, s.first)
		base.last = max(base.last, s.last)
		base.flows += s.flows
		mergeFields(&base.fields, s.fields)
	}
	if base.flows == 0 {
		base.first, base.last = 0, 0
	}
	m.first, m.last, m.fields, m.flows = base.first, base.last, base.fields, base.flows

	m.pairs = make([]Pair, len(base.pairs))
	for i := range base.pairs {
		bp := &base.pairs[i]
		bp.compact()
		m.pairs[i] = Pair{
			Src: addrOf(bp.key.src), Dst: addrOf(bp.key.dst), DstPort: bp.key.dport, Proto: bp.key.proto,
			Count: bp.count, Blocked: bp.blocked, BytesOut: bp.bytesOut, BytesIn: bp.bytesIn,
			PktsOut: bp.pktsOut, PktsIn: bp.pktsIn, First: bp.first, Last: bp.last,
			DurationTotal: bp.durTotal, DurationMax: bp.durMax, Times: bp.times, TimesCapped: bp.capped,
		}
	}
	// Sorted by (src, dst, port, proto): a host's pairs are contiguous, and per-host distinct
	// counts need one pass.
	slices.SortFunc(m.pairs, comparePairs)

	m.hourly = make(map[netip.Addr][]HourCount, len(base.hosts))
	for i := range base.hosts {
		h := &base.hosts[i]
		h.flush()
		hc := make([]HourCount, 0, len(h.hourly))
		for hour, n := range h.hourly {
			hc = append(hc, HourCount{Hour: hour, Flows: n})
		}
		slices.SortFunc(hc, func(x, y HourCount) int { return cmp.Compare(x.Hour, y.Hour) })
		m.hourly[addrOf(h.key)] = hc
	}
	for k, names := range base.names {
		slices.Sort(names)
		m.names[addrOf(k)] = names
	}
	return m
}

func mergeFields(dst *FieldSet, src FieldSet) {
	dst.Duration = dst.Duration || src.Duration
	dst.BytesIn = dst.BytesIn || src.BytesIn
	dst.Action = dst.Action || src.Action
	dst.DNS = dst.DNS || src.DNS
	dst.TLSSNI = dst.TLSSNI || src.TLSSNI
	dst.HTTPHost = dst.HTTPHost || src.HTTPHost
	dst.Times = dst.Times || src.Times
}

func addrOf(k addr16) netip.Addr { return netip.AddrFrom16(k).Unmap() }

func comparePairs(x, y Pair) int {
	if c := x.Src.Compare(y.Src); c != 0 {
		return c
	}
	if c := x.Dst.Compare(y.Dst); c != 0 {
		return c
	}
	if c := cmp.Compare(x.DstPort, y.DstPort); c != 0 {
		return c
	}
	return cmp.Compare(x.Proto, y.Proto)
}

// Memory is the embedded engine's View: merged aggregates held in memory.
type Memory struct {
	scope       *netscope.Scope
	first, last int64
	flows       int64
	fields      FieldSet
	pairs       []Pair
	hourly      map[netip.Addr][]HourCount
	names       map[netip.Addr][]string

	hosts         []Host
	hostIdx       map[netip.Addr]int
	prevalence    map[netip.Addr]int
	internalHosts int
}

// Flows is the number of flow records aggregated (events excluded).
func (m *Memory) Flows() int64 { return m.flows }

// Activities summarises each originating address for internal-range inference.
func (m *Memory) Activities() []netscope.Activity {
	flows := map[netip.Addr]int64{}
	var acts []netscope.Activity
	idx := map[netip.Addr]int{}
	var lastSrc, lastDst netip.Addr
	for i := range m.pairs {
		p := &m.pairs[i]
		flows[p.Src] += p.Count
		if p.Dst != p.Src {
			flows[p.Dst] += p.Count
		}
		j, ok := idx[p.Src]
		if !ok {
			j = len(acts)
			idx[p.Src] = j
			acts = append(acts, netscope.Activity{Addr: p.Src})
		}
		if p.DstPort < 32768 && !(p.Src == lastSrc && p.Dst == lastDst) {
			acts[j].ServiceDsts++
			lastSrc, lastDst = p.Src, p.Dst
		}
	}
	for a, n := range flows {
		j, ok := idx[a]
		if !ok {
			j = len(acts)
			idx[a] = j
			acts = append(acts, netscope.Activity{Addr: a})
		}
		acts[j].Flows = n
	}
	return acts
}

// Apply sets the internal scope and derives the per-host aggregates and destination prevalence.
func (m *Memory) Apply(scope *netscope.Scope) {
	m.scope = scope
	m.hosts = m.hosts[:0]
	m.hostIdx = make(map[netip.Addr]int)
	m.prevalence = make(map[netip.Addr]int)
	m.internalHosts = 0
	host := func(a netip.Addr) *Host {
		i, ok := m.hostIdx[a]
		if !ok {
			i = len(m.hosts)
			m.hostIdx[a] = i
			m.hosts = append(m.hosts, Host{Addr: a, Internal: scope.Contains(a), Hourly: m.hourly[a]})
		}
		return &m.hosts[i]
	}
	ports := map[uint16]struct{}{}
	for start := 0; start < len(m.pairs); {
		src := m.pairs[start].Src
		end := start
		for end < len(m.pairs) && m.pairs[end].Src == src {
			end++
		}
		h := host(src)
		srcInternal := h.Internal
		if srcInternal {
			m.internalHosts++
		}
		clear(ports)
		var peers, extPeers int
		var connsOut, extConns int64
		var sent, recv, extSent, extRecv uint64
		for i := start; i < end; i++ {
			p := &m.pairs[i]
			ports[p.DstPort] = struct{}{}
			newDst := i == start || m.pairs[i-1].Dst != p.Dst
			dstInternal := scope.Contains(p.Dst)
			if newDst {
				peers++
				if !dstInternal {
					extPeers++
				}
				if srcInternal {
					m.prevalence[p.Dst]++
				}
			}
			connsOut += p.Count
			sent += p.BytesOut
			recv += p.BytesIn
			if !dstInternal {
				extConns += p.Count
				extSent += p.BytesOut
				extRecv += p.BytesIn
			}
		}
		h.ConnsOut += connsOut
		h.BytesSent += sent
		h.BytesReceived += recv
		h.ExtConns, h.ExtBytesSent, h.ExtBytesRecv = extConns, extSent, extRecv
		h.Peers, h.ExtPeers, h.DstPorts = peers, extPeers, len(ports)
		start = end
	}
	// Responder side, after every originator exists, so pointers into m.hosts stay valid.
	for i := range m.pairs {
		p := &m.pairs[i]
		d := host(p.Dst)
		d.ConnsIn += p.Count
		d.BytesSent += p.BytesIn
		d.BytesReceived += p.BytesOut
	}
}

// Scope implements View.
func (m *Memory) Scope() *netscope.Scope { return m.scope }

// Span implements View.
func (m *Memory) Span() (int64, int64) { return m.first, m.last }

// Fields implements View.
func (m *Memory) Fields() FieldSet { return m.fields }

// Pairs implements View; pairs come sorted by source, destination, port and protocol.
func (m *Memory) Pairs() iter.Seq[*Pair] {
	return func(yield func(*Pair) bool) {
		for i := range m.pairs {
			if !yield(&m.pairs[i]) {
				return
			}
		}
	}
}

// PairsFrom yields the pairs src originated.
func (m *Memory) PairsFrom(src netip.Addr) iter.Seq[*Pair] {
	start, _ := slices.BinarySearchFunc(m.pairs, src, func(p Pair, a netip.Addr) int { return p.Src.Compare(a) })
	return func(yield func(*Pair) bool) {
		for i := start; i < len(m.pairs) && m.pairs[i].Src == src; i++ {
			if !yield(&m.pairs[i]) {
				return
			}
		}
	}
}

// Hosts implements View.
func (m *Memory) Hosts() iter.Seq[*Host] {
	return func(yield func(*Host) bool) {
		for i := range m.hosts {
			if !yield(&m.hosts[i]) {
				return
			}
		}
	}
}

// Host implements View.
func (m *Memory) Host(a netip.Addr) (*Host, bool) {
	i, ok := m.hostIdx[a]
	if !ok {
		return nil, false
	}
	return &m.hosts[i], true
}

// Prevalence implements View.
func (m *Memory) Prevalence(dst netip.Addr) int { return m.prevalence[dst] }

// InternalHosts implements View.
func (m *Memory) InternalHosts() int { return m.internalHosts }

// Names implements View.
func (m *Memory) Names(a netip.Addr) []string { return m.names[a] }

// AddNames adds user-supplied names (a --dns-map file) for an address.
func (m *Memory) AddNames(a netip.Addr, names ...string) {
	cur := m.names[a]
	for _, n := range names {
		if len(cur) < maxNames && !slices.Contains(cur, n) {
			cur = append(cur, n)
		}
	}
	slices.Sort(cur)
	m.names[a] = cur
}

var _ View = (*Memory)(nil)
