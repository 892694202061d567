// Package flow defines Record, the one normalised flow or event that every input reader produces
// and every later stage consumes. Readers fill the fields their format has and leave the rest zero.
package flow

import (
	"net/netip"
)

// IP protocol numbers used across readers.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
	ProtoSCTP   uint8 = 132
)

// Action is what a firewall did with the packet or flow, when the format says.
type Action uint8

const (
	ActionUnknown Action = iota
	ActionPass
	ActionBlock
)

func (a Action) String() string {
	switch a {
	case ActionPass:
		return "pass"
	case ActionBlock:
		return "block"
	}
	return ""
}

// Direction is the direction a firewall logged the packet in, when the format says.
type Direction uint8

const (
	DirUnknown Direction = iota
	DirIn
	DirOut
)

// Kind separates records that count as connections from application events whose connection is
// logged elsewhere (a Zeek dns.log entry duplicates a conn.log entry: it feeds the name map and the
// DNS fields, but must not be counted twice as a connection).
type Kind uint8

const (
	KindFlow  Kind = iota // a connection, packet or flow: counted in aggregates
	KindEvent             // application metadata only (Zeek dns/ssl/http logs)
	// KindReply is the answer half of a connection that a one-way export (NetFlow v5/v9, IPFIX
	// without reverse counters) logs as a record of its own, already turned round: Src is the
	// client, and its bytes and packets are In. It adds to its connection's pair but is not
	// another connection; a pair whose requests were never logged counts its replies instead.
	KindReply
)

// Record is one normalised flow or event. Byte and packet counters are "out" from the originator
// (Src) to the responder (Dst) and "in" the other way; readers that know only one total put it in
// BytesOut and say so in their doc comment.
type Record struct {
	Time     int64 // start of the flow or time of the event, Unix nanoseconds
	Duration int64 // nanoseconds; 0 when unknown

	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto            uint8
	Action           Action
	Dir              Direction
	Kind             Kind

	BytesOut, BytesIn uint64
	PktsOut, PktsIn   uint64

	// Application fields, empty when the format or the flow has none.
	DNSQuery   string
	DNSType    uint16       // query type (1 A, 16 TXT, 28 AAAA, ...)
	DNSAnswers []netip.Addr // addresses answered for DNSQuery
	TLSSNI     string
	HTTPHost   string
	UserAgent  string

	// PayloadOut and PayloadIn are the first application payload bytes each way, at most
	// MaxPayload (packet captures only), so a detector can recognise a protocol such as Stratum.
	PayloadOut, PayloadIn []byte
	// Alert is an IDS signature raised on this flow (Suricata alert events, Kind == KindEvent),
	// with its severity (1 highest, as Suricata numbers them; 0 unknown).
	Alert         string
	AlertSeverity uint8
}

// MaxPayload caps the payload bytes kept per direction of a flow.
const MaxPayload = 128

// Reset clears r for reuse, keeping the backing arrays of its slices.
func (r *Record) Reset() {
	answers, out, in := r.DNSAnswers[:0], r.PayloadOut[:0], r.PayloadIn[:0]
	*r = Record{}
	r.DNSAnswers, r.PayloadOut, r.PayloadIn = answers, out, in
}

// Bytes is the total of both directions.
func (r *Record) Bytes() uint64 { return r.BytesOut + r.BytesIn }

// HasNames reports whether r carries any name that maps an address to a domain.
func (r *Record) HasNames() bool {
	return r.DNSQuery != "" || r.TLSSNI != "" || r.HTTPHost != ""
}

// ProtoName returns the IANA keyword for the common protocols and "" for others.
func ProtoName(p uint8) string {
	switch p {
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMP:
		return "icmp"
	case ProtoICMPv6:
		return "ipv6-icmp"
	case 2:
		return "igmp"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 132:
		return "sctp"
	}
	return ""
}

// ParseProto maps a protocol name (any case) or decimal number to its IANA number.
func ParseProto(b []byte) (uint8, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if b[0] >= '0' && b[0] <= '9' {
		n, ok := ParseUint(b, 255)
		return uint8(n), ok
	}
	var lower [16]byte
	if len(b) > len(lower) {
		return 0, false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(b)]) {
	case "tcp":
		return ProtoTCP, true
	case "udp":
		return ProtoUDP, true
	case "icmp":
		return ProtoICMP, true
	case "icmp6", "icmpv6", "ipv6-icmp", "ipv6icmp":
		return ProtoICMPv6, true
	case "igmp":
		return 2, true
	case "gre":
		return 47, true
	case "esp":
		return 50, true
	case "ah":
		return 51, true
	case "sctp":
		return 132, true
	case "carp", "vrrp":
		return 112, true
	case "pfsync":
		return 240, true
	case "ospf":
		return 89, true
	}
	return 0, false
}
