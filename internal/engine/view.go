// Package engine turns a stream of flow records into the aggregates detectors read: per pair
// (src, dst, dst port, protocol), per host and per destination. The View interface is what
// detectors see; the embedded in-memory engine implements it, and a ClickHouse backend can too.
package engine

import (
	"iter"
	"net/netip"
	"strings"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/intel"
	"github.com/flowhunt/flowhunt/internal/netscope"
)

// MaxPairTimes caps the distinct 1-second timestamps kept per pair: 131,072 seconds is a
// callback every minute for three months, or 36 hours of continuous traffic. Past the cap the
// pair's counters stay exact but later timestamps are dropped and TimesCapped is set.
const MaxPairTimes = 1 << 17

// Pair aggregates every flow from Src to Dst on one destination port and protocol.
type Pair struct {
	// The fields every flow updates come first and fill one 64-byte cache line (the chunks pairs
	// are stored in are page-aligned and a Pair is three lines), so folding a flow into a pair
	// the CPU does not have cached costs one memory fetch for the pair, not three.
	Count             int64 // flows
	BytesOut, BytesIn uint64
	First, Last       int64 // Unix ns of the first and last flow start
	// Times holds the distinct Unix seconds at which flows started, sorted ascending.
	Times []uint32

	PktsOut, PktsIn uint64
	Blocked         int64 // flows a firewall blocked
	DurationTotal   int64 // ns, summed over flows that have a duration
	DurationMax     int64
	TimesCapped     bool
	DstPort         uint16
	Proto           uint8
	compacted       int32 // len(Times) at the last sort, while aggregating
	replies         int64 // flow.KindReply records folded in, while aggregating
	replyDur        int64 // their summed durations, ns
	Src, Dst        netip.Addr
	// Tags are the distinct markers seen on the pair's flows, sorted, at most MaxPairTags:
	// protocols recognised in payloads ("stratum:login") and IDS alerts ("alert:ET POLICY ...").
	Tags []string
}

// Host aggregates one address over all its flows. Counters ending in Out are for flows the host
// originated; In for flows it answered.
type Host struct {
	Addr     netip.Addr
	Internal bool

	ConnsOut, ConnsIn int64
	BytesSent         uint64 // bytes the host sent, over both roles
	BytesReceived     uint64
	// External traffic: flows the host originated to addresses outside the internal scope.
	ExtConns     int64
	ExtBytesSent uint64
	ExtBytesRecv uint64
	Peers        int // distinct destinations contacted
	ExtPeers     int // distinct external destinations contacted
	DstPorts     int // distinct destination ports contacted
	// Hourly counts flows originated per hour (Unix time / 3600), sorted by hour.
	Hourly []HourCount
}

// HourCount is the number of flows a host originated during one hour.
type HourCount struct {
	Hour  int64 // Unix seconds / 3600
	Flows uint32
}

// HourOfDay folds Hourly into 24 local hour-of-day buckets. offsetSeconds gives the zone's offset
// from UTC at a Unix time (nil is UTC); half-hour zones put an hour in the bucket it starts in.
func (h *Host) HourOfDay(offsetSeconds func(unix int64) int) [24]uint64 {
	var out [24]uint64
	for _, hc := range h.Hourly {
		t := hc.Hour * 3600
		if offsetSeconds != nil {
			t += int64(offsetSeconds(t))
		}
		out[(floorDiv(t, 3600)%24+24)%24] += uint64(hc.Flows)
	}
	return out
}

// View is the read side of an engine: what every detector may look at.
type View interface {
	// Scope says which addresses are internal.
	Scope() *netscope.Scope
	// Span is the Unix ns of the first and last flow start seen.
	Span() (first, last int64)
	// Pairs yields every pair. Pointers stay valid for the View's lifetime; callers must not
	// modify them.
	Pairs() iter.Seq[*Pair]
	// PairsFrom yields the pairs src originated.
	PairsFrom(src netip.Addr) iter.Seq[*Pair]
	// Hosts yields every host that took part in a flow, internal or not.
	Hosts() iter.Seq[*Host]
	// Host returns one host.
	Host(a netip.Addr) (*Host, bool)
	// Prevalence is how many distinct internal hosts originated flows to dst.
	Prevalence(dst netip.Addr) int
	// InternalHosts is how many internal hosts originated at least one flow.
	InternalHosts() int
	// Names returns the names seen for an address (DNS answers, TLS SNI, HTTP Host), sorted.
	Names(a netip.Addr) []string
	// Fields reports which optional record fields the input had, so detectors can say when they
	// cannot run.
	Fields() FieldSet
	// DNSDomains yields, per internal-or-not querying host and registered domain, what its DNS
	// queries under that domain looked like (inputs with DNS query fields only).
	DNSDomains() iter.Seq[*DNSDomain]
}

// MaxDistinctLabels caps the distinct subdomains counted per host and domain: past it the count
// is a lower bound (DistinctCapped), which is all a tunnel test needs.
const MaxDistinctLabels = 4096

// DNSDomain aggregates one host's DNS queries under one registered domain (eTLD+1).
type DNSDomain struct {
	Host   netip.Addr
	Domain string // registered domain, e.g. "exf1l-data.com"

	Queries        int64
	Distinct       int   // distinct subdomain parts (the query without the registered domain)
	DistinctCapped bool  // Distinct reached MaxDistinctLabels
	TXT            int64 // TXT, NULL and other record types that carry free data (16, 10, 99)
	SubLenTotal    int64 // bytes of subdomain parts, summed over queries
	SubLenMax      int
	EntropyTotal   float64 // Shannon entropy (bits per character) of subdomain parts, summed
}

// FieldSet records which optional fields appeared in the input at least once.
type FieldSet struct {
	Duration bool
	BytesIn  bool
	Action   bool
	DNS      bool
	TLSSNI   bool
	HTTPHost bool
	Times    bool // flows carried timestamps (bare filterlog lines do not)
	// Replies: some flow counted packets or bytes coming back, so the input records replies and
	// a flow with none was unanswered (a rejected probe gets a RST: packets, no bytes).
	Replies bool
	// Volumes: some flow carried more than one packet or more than a packet's bytes, so byte
	// counts are transfer sizes. A firewall log records one packet per connection and has none.
	Volumes bool
	Payload bool // flows carried their first payload bytes (packet captures)
	Alerts  bool // the input had IDS alerts (Suricata)
}

// MaxPairTags caps the tags kept per pair.
const MaxPairTags = 8

// Tag prefixes: a tag is a prefix and a value.
const (
	TagStratum = "stratum:" // a Stratum mining JSON-RPC method seen in the payload
	TagAlert   = "alert:"   // an IDS alert signature raised on the flow
)

// RecordTags calls fn with each tag r carries. Both engines tag with it, so they agree.
func RecordTags(r *flow.Record, fn func(tag string)) {
	if m := intel.StratumMethod(r.PayloadOut); m != "" {
		fn(TagStratum + m)
	}
	if m := intel.StratumMethod(r.PayloadIn); m != "" {
		fn(TagStratum + m)
	}
	if r.Alert != "" {
		fn(TagAlert + r.Alert)
	}
}

// AddTag adds tag to a sorted tag list, keeping the MaxPairTags smallest.
func AddTag(tags []string, tag string) []string { return keepSmallest(tags, tag, MaxPairTags) }

// TagValues returns the values of the tags with prefix, in order.
func TagValues(tags []string, prefix string) []string {
	var out []string
	for _, t := range tags {
		if v, ok := strings.CutPrefix(t, prefix); ok {
			out = append(out, v)
		}
	}
	return out
}
