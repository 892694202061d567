package sim

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// Pcap writer. WritePcap turns simulated records into the packets of a capture (Ethernet, IPv4
// or IPv6, TCP/UDP/ICMP), so that a reader rebuilding flows from packets the way Zeek does gets
// the records back: originator = the first packet's sender (the SYN sender for TCP), bytes each
// way = transport payload bytes taken from the IP length fields, packets each way, start = first
// packet, duration = last − first, a TCP flow closed by FIN both ways or by RST, idle timeouts
// of 5 min (TCP) and 1 min (UDP).
const (
	pcapSnaplen = 262144           // the file header's snaplen, tcpdump's default
	pcapCapture = flow.MaxPayload  // payload bytes captured of a data packet
	pcapTCPGap  = 60 * time.Second // most time between two packets of a TCP flow
	pcapUDPGap  = 20 * time.Second // ... of a UDP or other flow
	pcapTCPIdle = 5 * time.Minute  // the reader's idle timeouts, for the 5-tuple reuse check
	pcapUDPIdle = time.Minute      //
	pcapMaxPkts = 1 << 24          // packets of one flow; beyond is an error, not a capture
	pcapPairWin = 64               // an event matches a flow at most this many records away
	pcapDNSTTL  = 60               // seconds, as the Zeek writer's TTLs
	pcapEDNSUDP = 1232             // EDNS UDP payload size of the padding OPT record
	pcapOPTLen  = 11               // an OPT record without options
	pcapPadLen  = pcapOPTLen + 4   // an OPT record with an empty Padding option
)

// pcapZeros are the payload bytes nothing else fills: zeros, which leave checksums unchanged, so
// a checksum over the captured bytes is the checksum of the whole packet.
var pcapZeros [1 << 16]byte

// WritePcap writes recs as a pcap capture (nanosecond timestamps, Ethernet link type) whose
// packets a Zeek-like flow rebuilder turns back into the records.
//
// Per record of Kind flow.KindFlow (records must be sorted by Time, as a Scenario's are; others
// are sorted first):
//   - TCP, answered (BytesIn > 0 or PktsIn > 0) with bytes either way: SYN (with MSS), SYN-ACK,
//     ACK; then R rounds of one segment each way, where the originator's BytesOut fill the first
//     ⌈BytesOut/M⌉ rounds and the responder's BytesIn the last ⌈BytesIn/M⌉ (request first,
//     answer last), the other side sending a pure ACK; then FIN-ACK from the originator and
//     FIN-ACK from the responder (the last ACK of the close is left out, so that no reader can
//     take it for a new flow). M = 65495 over IPv4, 65515 over IPv6: segments are 64 KiB IP
//     packets, sizes split evenly, so a gigabyte costs about 33,000 packets (half of them ACKs).
//   - TCP answered by packets only (BytesIn = 0, PktsIn > 0, BytesOut = 0): SYN, RST-ACK, a
//     rejected connection (SYN retransmissions before the RST when Duration is long).
//   - TCP unanswered (BytesIn = 0, PktsIn = 0): a lone SYN, PktsOut SYNs (retransmissions) when
//     PktsOut > 1; with BytesOut > 0, the SYN then data segments, as a capture that sees one
//     direction only.
//   - UDP, ICMP and any other IP protocol (raw payload): max(PktsOut, 1) datagrams out and PktsIn
//     in, alternating, sizes split evenly and summing to BytesOut/BytesIn (more datagrams when
//     one would exceed 64 KiB). ICMP is echo requests out and echo replies in, whatever the
//     record's ports (a Zeek-like reader reports them as ports 8 and 0; 128 and 129 for ICMPv6);
//     its 8-byte header is not payload.
//
// Bytes each way are the records' exactly, packet counts are what the above makes of them (the
// records' PktsOut/PktsIn are followed for UDP and other datagram protocols only). Packets are
// spread evenly over [Time, Time+Duration]: first at Time, last at Time+Duration. A long flow gets
// more, smaller packets (and pure ACKs or empty datagrams when its bytes run out) so that no two
// are more than 60 s (TCP) or 20 s (others) apart, well inside the reader's idle timeouts. Data
// packets are truncated as by a snaplen: the capture holds the headers and at most 128 payload
// bytes, the pcap length and the IP length fields the full size. Of a TCP stream only its first
// 128 bytes are captured (what a reader keeps, flow.MaxPayload), later segments headers only, so
// a gigabyte costs 2.4 MB of capture; of UDP and other datagrams the first 128 bytes of each. The
// bytes the writer puts in a payload (below) are always captured whole, so that a reader can
// parse a long ClientHello or a DNS response.
//
// Payloads: a direction's data starts with the record's PayloadOut/PayloadIn when it has them;
// otherwise the originator's starts with a TLS ClientHello naming TLSSNI, or a "GET /" request
// with Host HTTPHost and User-Agent UserAgent; all other payload bytes are zeros. Checksums are
// those of the full packets.
//
// DNS: a KindEvent record with a DNSQuery is matched to the flow that carried it (same time,
// addresses, destination port and protocol, within 64 records), as a Zeek dns.log line matches a
// conn.log line; that flow's first datagram each way becomes the DNS query and response (with
// DNSType, the DNSAnswers as A/AAAA records with TTL 60 s, NOERROR, or NXDOMAIN without answers;
// serialised by gopacket's layers.DNS without name compression), padded to the flow's datagram
// size with an EDNS(0) Padding option, or with trailing zeros when 1-10 or 12-14 bytes are
// missing. A datagram too small for its DNS message grows to the message's size (and the flow's
// bytes with it). Over TCP the messages start each direction's stream behind their two-byte
// lengths, unpadded. No response is written when the flow has no reply packets. Other events
// matched to a flow lend it their TLSSNI, HTTPHost and UserAgent. An event without a flow gets a
// DNS exchange of its own (query at Time, response at Time+Duration); other unmatched events
// write nothing.
//
// Flows stay distinct: the simulator picks client ports at random, and two flows with the same
// 5-tuple less than the reader's idle timeout apart would merge into one, so such a flow's client
// port is moved to the next free one (in the capture only: the records are not changed).
//
// An error names the record: addresses that are invalid or of two families, times outside
// pcap's unsigned 32-bit seconds, a flow needing more than 2^24 packets, a protocol whose
// payload a reader would parse as headers (IP in IP, IPv6 extension headers), or an empty
// datagram of a protocol without a transport header over IPv6 (its length 0 means jumbogram).
func WritePcap(w io.Writer, recs []flow.Record) error {
	p := newPcapWriter(w)
	if err := p.pw.WriteFileHeader(pcapSnaplen, layers.LinkTypeEthernet); err != nil {
		return err
	}
	order := pcapTimeOrder(recs)
	at := func(i int) int {
		if order == nil {
			return i
		}
		return int(order[i])
	}
	for i := 0; ; {
		for i < len(recs) && (len(p.heap) == 0 || recs[at(i)].Time <= p.heap[0].next) {
			j := i + 1
			for j < len(recs) && recs[at(j)].Time == recs[at(i)].Time {
				j++
			}
			if err := p.startGroup(recs, at, i, j); err != nil {
				return err
			}
			i = j
		}
		if len(p.heap) == 0 {
			break
		}
		if err := p.emit(); err != nil {
			return err
		}
	}
	return p.bw.Flush()
}

// pcapTimeOrder returns nil when recs are sorted by Time, else their indexes in time order.
func pcapTimeOrder(recs []flow.Record) []int32 {
	if slices.IsSortedFunc(recs, func(a, b flow.Record) int { return cmp.Compare(a.Time, b.Time) }) {
		return nil
	}
	order := make([]int32, len(recs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(recs[a].Time, recs[b].Time) })
	return order
}

// pcapPlan is the shape of a flow's packet sequence.
type pcapPlan uint8

const (
	planTCP      pcapPlan = iota // handshake, rounds, FIN both ways
	planRST                      // SYN, RST-ACK
	planSYN                      // unanswered SYNs
	planSYNData                  // SYN then data, no reply seen
	planDatagram                 // UDP, ICMP, other: datagrams alternating
)

// pcapDir is one direction of a flow.
type pcapDir struct {
	total   uint64 // payload bytes
	segs    uint64 // data segments or datagrams
	sent    uint64 // segments written so far
	off     uint64 // stream offset of the next segment (TCP)
	first   uint64 // datagram 0's size when a DNS message sets it, else 0
	content []byte // the first bytes of the stream (TCP) or of datagram 0
}

// size returns the payload size of segment j: total split evenly over segs, datagram 0 first
// when it is set.
func (d *pcapDir) size(j uint64) uint64 {
	total, segs := d.total, d.segs
	if d.first > 0 {
		if j == 0 {
			return d.first
		}
		total, segs, j = total-min(d.first, total), segs-1, j-1
	}
	if segs == 0 {
		return 0
	}
	n := total / segs
	if j < total%segs {
		n++
	}
	return n
}

// pcapFlow generates one flow's packets in order.
type pcapFlow struct {
	order      uint64 // start order: ties in the heap, per-flow constants
	next       int64  // time of packet k
	start, dur int64
	k, n       uint64
	plan       pcapPlan
	proto      uint8
	v6         bool
	src, dst   [16]byte
	macO, macI [6]byte
	sport      uint16
	dport      uint16
	rounds     uint64
	out, in    pcapDir
	isnO, isnI uint32
	seqO, seqI uint32
	recIdx     int
}

// at returns the time of packet k: start + dur·k/(n−1), exact in 128-bit arithmetic.
func (f *pcapFlow) at(k uint64) int64 {
	if f.n <= 1 || f.dur <= 0 {
		return f.start
	}
	hi, lo := bits.Mul64(uint64(f.dur), k)
	q, _ := bits.Div64(hi, lo, f.n-1)
	return f.start + int64(q)
}

// pcapTuple is a flow's 5-tuple, endpoints in canonical order.
type pcapTuple struct {
	a, b   [16]byte
	pa, pb uint16
	proto  uint8
}

type pcapWriter struct {
	bw   *bufio.Writer
	pw   *pcapgo.Writer
	buf  gopacket.SerializeBuffer
	opts gopacket.SerializeOptions

	eth    layers.Ethernet
	ip4    layers.IPv4
	ip6    layers.IPv6
	tcp    layers.TCP
	udp    layers.UDP
	icmp4  layers.ICMPv4
	icmp6  layers.ICMPv6
	echo6  layers.ICMPv6Echo
	pay    gopacket.Payload
	pl     []byte
	mssOpt []layers.TCPOption

	dns     layers.DNS
	dnsBuf  gopacket.SerializeBuffer
	dnsName []byte
	dnsIPs  [][16]byte
	dnsQ    [1]layers.DNSQuestion
	dnsAns  []layers.DNSResourceRecord
	dnsOPT  [1]layers.DNSResourceRecord
	dnsPad  [1]layers.DNSOPT
	scratch []byte

	heap    []*pcapFlow
	free    []*pcapFlow
	started uint64
	busy    map[pcapTuple]int64
	ipID    uint16
	pair    []int32 // per record of a time group: the matched record, or -1
	evRec   flow.Record
}

func newPcapWriter(w io.Writer) *pcapWriter {
	bw := bufio.NewWriterSize(w, 1<<20)
	p := &pcapWriter{
		bw:     bw,
		pw:     pcapgo.NewWriterNanos(bw),
		buf:    gopacket.NewSerializeBufferExpectedSize(128, 256),
		dnsBuf: gopacket.NewSerializeBufferExpectedSize(512, 0),
		busy:   map[pcapTuple]int64{},
		mssOpt: []layers.TCPOption{{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}}},
	}
	p.ip4 = layers.IPv4{Version: 4, IHL: 5, TTL: 64, Flags: layers.IPv4DontFragment}
	p.ip6 = layers.IPv6{Version: 6, HopLimit: 64}
	p.tcp.Window = 65535
	return p
}

// startGroup starts the flows of records [i, j) of the time order, which share one Time: events
// are matched to their flows first.
func (p *pcapWriter) startGroup(recs []flow.Record, at func(int) int, i, j int) error {
	g := j - i
	p.pair = slices.Grow(p.pair[:0], g)[:g]
	for k := range p.pair {
		p.pair[k] = -1
	}
	for e := range g {
		ev := &recs[at(i+e)]
		if ev.Kind != flow.KindEvent || !pcapHasApp(ev) {
			continue
		}
		for d := 1; d <= pcapPairWin; d++ {
			if f := e - d; f >= 0 && p.pair[f] < 0 && pcapMatches(ev, &recs[at(i+f)]) {
				p.pair[f], p.pair[e] = int32(e), int32(f)
				break
			}
			if f := e + d; f < g && p.pair[f] < 0 && pcapMatches(ev, &recs[at(i+f)]) {
				p.pair[f], p.pair[e] = int32(e), int32(f)
				break
			}
		}
	}
	for k := range g {
		idx := at(i + k)
		r := &recs[idx]
		switch {
		case r.Kind == flow.KindFlow:
			var ev *flow.Record
			if m := p.pair[k]; m >= 0 {
				ev = &recs[at(i+int(m))]
			}
			if err := p.start(idx, r, ev, false); err != nil {
				return err
			}
		case p.pair[k] < 0 && r.DNSQuery != "":
			// A DNS event without its flow: the exchange is a flow of its own.
			p.evRec = flow.Record{Time: r.Time, Duration: r.Duration, Src: r.Src, Dst: r.Dst, SrcPort: r.SrcPort,
				DstPort: r.DstPort, Proto: r.Proto, PktsOut: 1, PktsIn: 1}
			if p.evRec.Proto != flow.ProtoTCP {
				p.evRec.Proto = flow.ProtoUDP
			}
			if err := p.start(idx, &p.evRec, r, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// pcapHasApp says whether an event carries something the packets can show.
func pcapHasApp(r *flow.Record) bool {
	return r.DNSQuery != "" || r.TLSSNI != "" || r.HTTPHost != "" || r.UserAgent != ""
}

// pcapMatches says whether flow f is the connection event ev was logged for.
func pcapMatches(ev, f *flow.Record) bool {
	return f.Kind == flow.KindFlow && f.Time == ev.Time && f.Src == ev.Src && f.Dst == ev.Dst &&
		f.DstPort == ev.DstPort && f.Proto == ev.Proto
}

// start plans record r's packets (ev is the event matched to it, or nil; eventOnly when r stands
// for an event without a flow) and puts the flow on the heap.
func (p *pcapWriter) start(idx int, r, ev *flow.Record, eventOnly bool) error {
	src, dst := r.Src.Unmap(), r.Dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return fmt.Errorf("record %d: addresses %v → %v: want two valid addresses of one family", idx, r.Src, r.Dst)
	}
	var f *pcapFlow
	if n := len(p.free); n > 0 {
		f, p.free = p.free[n-1], p.free[:n-1]
	} else {
		f = &pcapFlow{}
	}
	*f = pcapFlow{out: pcapDir{content: f.out.content[:0]}, in: pcapDir{content: f.in.content[:0]}}
	f.order, f.recIdx = p.started, idx
	p.started++
	f.proto, f.v6 = r.Proto, src.Is6()
	f.src, f.dst = src.As16(), dst.As16()
	if !f.v6 {
		a, b := src.As4(), dst.As4()
		copy(f.src[:], a[:])
		copy(f.dst[:], b[:])
	}
	f.macO, f.macI = pcapMAC(src), pcapMAC(dst)
	f.sport, f.dport = r.SrcPort, r.DstPort
	f.start, f.dur = r.Time, max(r.Duration, 0)
	if f.start < 0 || f.start/1e9 >= 1<<32 {
		return fmt.Errorf("record %d: time %d ns is outside pcap's timestamps (1970 to 2106)", idx, r.Time)
	}
	f.dur = min(f.dur, (1<<32)*1e9-1-f.start)
	mix := zeekMix(f.order ^ 0x9ca9)
	f.isnO, f.isnI = uint32(mix), uint32(mix>>32)
	f.seqO, f.seqI = f.isnO, f.isnI

	if err := p.plan(f, r, ev, eventOnly); err != nil {
		return fmt.Errorf("record %d: %w", idx, err)
	}
	if f.proto == flow.ProtoTCP || f.proto == flow.ProtoUDP {
		p.reservePort(f)
	}
	f.next = f.at(0)
	p.push(f)
	return nil
}

// pcapMAC is a locally administered MAC address made from an IP address.
func pcapMAC(a netip.Addr) [6]byte {
	b := a.As16()
	return [6]byte{0x02, 0x00, b[12], b[13], b[14], b[15]}
}

// plan decides the flow's packets.
func (p *pcapWriter) plan(f *pcapFlow, r, ev *flow.Record, eventOnly bool) error {
	f.out.total, f.in.total = r.BytesOut, r.BytesIn
	var dnsEv *flow.Record
	if ev != nil && ev.DNSQuery != "" && (f.proto == flow.ProtoUDP || f.proto == flow.ProtoTCP) {
		dnsEv = ev
	}
	ipHdr := uint64(20)
	if f.v6 {
		ipHdr = 0 // the IPv6 payload length does not count its header
	}
	switch f.proto {
	case flow.ProtoTCP:
		maxSeg := 65535 - ipHdr - 20
		if dnsEv != nil {
			// DNS over TCP: each message behind its two-byte length.
			f.out.content = p.dnsTCP(f.out.content, dnsEv, f, false)
			f.in.content = p.dnsTCP(f.in.content, dnsEv, f, true)
			if eventOnly {
				f.out.total, f.in.total = uint64(len(f.out.content)), uint64(len(f.in.content))
			}
		}
		if len(r.PayloadOut) > 0 {
			f.out.content = append(f.out.content[:0], r.PayloadOut...)
		} else if len(f.out.content) == 0 {
			sni, host, ua := r.TLSSNI, r.HTTPHost, r.UserAgent
			if ev != nil && sni == "" && host == "" && ua == "" {
				sni, host, ua = ev.TLSSNI, ev.HTTPHost, ev.UserAgent
			}
			switch {
			case sni != "":
				f.out.content = pcapClientHello(f.out.content, sni, zeekMix(f.order^0x7151))
			case host != "" || ua != "":
				f.out.content = pcapHTTPGet(f.out.content, host, ua)
			}
		}
		if len(r.PayloadIn) > 0 {
			f.in.content = append(f.in.content[:0], r.PayloadIn...)
		}
		f.out.content = f.out.content[:min(uint64(len(f.out.content)), f.out.total)]
		f.in.content = f.in.content[:min(uint64(len(f.in.content)), f.in.total)]
		f.out.segs = ceilDiv(f.out.total, maxSeg)
		f.in.segs = ceilDiv(f.in.total, maxSeg)
		answered := f.in.total > 0 || r.PktsIn > 0
		gaps := ceilDiv(uint64(f.dur), uint64(pcapTCPGap))
		if gaps >= pcapMaxPkts {
			return fmt.Errorf("%v needs more than %d packets", time.Duration(f.dur), pcapMaxPkts)
		}
		switch {
		case answered && f.out.total == 0 && f.in.total == 0:
			f.plan, f.n = planRST, max(2, gaps+1)
		case answered:
			f.plan = planTCP
			f.rounds = max(f.out.segs, f.in.segs, 1)
			// n − 1 = 2R + 4 gaps must keep each gap ≤ pcapTCPGap.
			if gaps > 2*f.rounds+4 {
				f.rounds = ceilDiv(gaps-4, 2)
			}
			if f.rounds > pcapMaxPkts {
				return fmt.Errorf("%d B out, %d B in over %v need more than %d packets", f.out.total, f.in.total, time.Duration(f.dur), pcapMaxPkts)
			}
			f.n = 2*f.rounds + 5
		case f.out.total == 0:
			f.plan, f.n = planSYN, min(max(r.PktsOut, 1, gaps+1), pcapMaxPkts)
		default:
			f.plan = planSYNData
			if gaps > f.out.segs {
				f.out.segs = min(gaps, f.out.total)
			}
			if f.out.segs >= pcapMaxPkts {
				return fmt.Errorf("%d B out over %v need more than %d packets", f.out.total, time.Duration(f.dur), pcapMaxPkts)
			}
			f.n = 1 + f.out.segs
		}
		return nil
	case flow.ProtoUDP:
		maxDgram := 65535 - ipHdr - 8
		if err := p.planDatagrams(f, r, maxDgram); err != nil {
			return err
		}
		if dnsEv != nil {
			p.dnsUDP(f, &f.out, dnsEv, false, eventOnly)
			if f.in.segs > 0 {
				p.dnsUDP(f, &f.in, dnsEv, true, eventOnly)
			}
		} else {
			if len(r.PayloadOut) > 0 {
				f.out.content = append(f.out.content[:0], r.PayloadOut...)
			}
			if len(r.PayloadIn) > 0 {
				f.in.content = append(f.in.content[:0], r.PayloadIn...)
			}
			f.out.content = f.out.content[:min(uint64(len(f.out.content)), f.out.size(0))]
			f.in.content = f.in.content[:min(uint64(len(f.in.content)), f.in.size(0))]
		}
		return nil
	case flow.ProtoICMP, flow.ProtoICMPv6:
		return p.planDatagrams(f, r, 65535-ipHdr-8)
	case 4, 41: // IP in IP
		return fmt.Errorf("protocol %d is a tunnel: a reader would parse its payload as an IP header", f.proto)
	case 0, 43, 44, 51, 60, 135, 139, 140, 253, 254:
		if f.v6 {
			return fmt.Errorf("protocol %d is an IPv6 extension header: a reader would parse its payload as one", f.proto)
		}
	}
	if err := p.planDatagrams(f, r, 65535-ipHdr); err != nil {
		return err
	}
	if f.v6 && (f.out.total < f.out.segs || f.in.total < f.in.segs) {
		return fmt.Errorf("protocol %d over IPv6: %d/%d bytes in %d/%d datagrams leaves one empty, and an IPv6 payload length of 0 reads as a jumbogram",
			f.proto, f.out.total, f.in.total, f.out.segs, f.in.segs)
	}
	return nil
}

// planDatagrams plans max(PktsOut, 1) datagrams out and PktsIn in (at least one when BytesIn > 0,
// more when one would exceed maxDgram or the gaps the reader's idle timeout).
func (p *pcapWriter) planDatagrams(f *pcapFlow, r *flow.Record, maxDgram uint64) error {
	f.plan = planDatagram
	f.out.segs = max(r.PktsOut, 1, ceilDiv(f.out.total, maxDgram))
	f.in.segs = max(r.PktsIn, ceilDiv(f.in.total, maxDgram))
	if f.out.segs > pcapMaxPkts || f.in.segs > pcapMaxPkts {
		return fmt.Errorf("%d and %d datagrams: more than %d", f.out.segs, f.in.segs, pcapMaxPkts)
	}
	if gaps := ceilDiv(uint64(f.dur), uint64(pcapUDPGap)); gaps > f.out.segs+f.in.segs-1 {
		if gaps > 2*pcapMaxPkts {
			return fmt.Errorf("%v needs more than %d datagrams", time.Duration(f.dur), 2*pcapMaxPkts)
		}
		if f.in.segs > 0 {
			r := ceilDiv(gaps+1, 2)
			f.out.segs, f.in.segs = max(f.out.segs, r), max(f.in.segs, r)
		} else {
			f.out.segs = gaps + 1
		}
	}
	f.n = f.out.segs + f.in.segs
	return nil
}

func ceilDiv(a, b uint64) uint64 {
	if a == 0 {
		return 0
	}
	return 1 + (a-1)/b
}

// reservePort moves the flow's client port when its 5-tuple is still live in the reader (a flow
// with it ended less than an idle timeout ago), and records the tuple as live until this flow's
// end plus the timeout.
func (p *pcapWriter) reservePort(f *pcapFlow) {
	idle := int64(pcapUDPIdle)
	if f.proto == flow.ProtoTCP {
		idle = int64(pcapTCPIdle)
	}
	if p.started%4096 == 0 {
		for k, until := range p.busy {
			if until <= f.start {
				delete(p.busy, k)
			}
		}
	}
	port := f.sport
	for range 1 << 16 {
		key := f.tuple(port)
		if until, ok := p.busy[key]; !ok || until <= f.start {
			f.sport = port
			p.busy[key] = f.start + f.dur + idle + int64(time.Second)
			return
		}
		port++
		if port < 1024 {
			port = 32768
		}
	}
}

func (f *pcapFlow) tuple(sport uint16) pcapTuple {
	t := pcapTuple{a: f.src, b: f.dst, pa: sport, pb: f.dport, proto: f.proto}
	if c := slices.Compare(t.a[:], t.b[:]); c > 0 || c == 0 && t.pa > t.pb {
		t.a, t.b, t.pa, t.pb = t.b, t.a, t.pb, t.pa
	}
	return t
}

// The heap orders open flows by the time of their next packet, ties by start order.
func (p *pcapWriter) less(i, j int) bool {
	a, b := p.heap[i], p.heap[j]
	return a.next < b.next || a.next == b.next && a.order < b.order
}

func (p *pcapWriter) push(f *pcapFlow) {
	p.heap = append(p.heap, f)
	for i := len(p.heap) - 1; i > 0; {
		parent := (i - 1) / 2
		if !p.less(i, parent) {
			break
		}
		p.heap[i], p.heap[parent] = p.heap[parent], p.heap[i]
		i = parent
	}
}

func (p *pcapWriter) down(i int) {
	n := len(p.heap)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && p.less(r, l) {
			m = r
		}
		if !p.less(m, i) {
			return
		}
		p.heap[i], p.heap[m] = p.heap[m], p.heap[i]
		i = m
	}
}

// emit writes the next packet of the earliest flow.
func (p *pcapWriter) emit() error {
	f := p.heap[0]
	if err := p.packet(f); err != nil {
		return fmt.Errorf("record %d packet %d: %w", f.recIdx, f.k, err)
	}
	f.k++
	if f.k < f.n {
		f.next = f.at(f.k)
		p.down(0)
		return nil
	}
	last := len(p.heap) - 1
	p.heap[0] = p.heap[last]
	p.heap[last] = nil
	p.heap = p.heap[:last]
	p.down(0)
	p.free = append(p.free, f)
	return nil
}

// TCP flags of the packets written.
const (
	tcpFIN = 1 << iota
	tcpSYN
	tcpRST
	tcpPSH
	tcpACK
)

// packet writes packet k of f.
func (p *pcapWriter) packet(f *pcapFlow) error {
	k := f.k
	switch f.plan {
	case planTCP:
		switch {
		case k == 0:
			return p.tcpPacket(f, true, tcpSYN, nil)
		case k == 1:
			return p.tcpPacket(f, false, tcpSYN|tcpACK, nil)
		case k == 2:
			return p.tcpPacket(f, true, tcpACK, nil)
		case k < 3+2*f.rounds:
			r := (k - 3) / 2
			if (k-3)%2 == 0 {
				if r < f.out.segs {
					return p.tcpPacket(f, true, tcpACK|tcpPSH, &f.out)
				}
				return p.tcpPacket(f, true, tcpACK, nil)
			}
			if r >= f.rounds-f.in.segs {
				return p.tcpPacket(f, false, tcpACK|tcpPSH, &f.in)
			}
			return p.tcpPacket(f, false, tcpACK, nil)
		case k == 3+2*f.rounds:
			return p.tcpPacket(f, true, tcpFIN|tcpACK, nil)
		default:
			return p.tcpPacket(f, false, tcpFIN|tcpACK, nil)
		}
	case planRST:
		if k < f.n-1 {
			f.seqO = f.isnO
			return p.tcpPacket(f, true, tcpSYN, nil)
		}
		return p.tcpPacket(f, false, tcpRST|tcpACK, nil)
	case planSYN:
		f.seqO = f.isnO // a retransmission repeats the sequence number
		return p.tcpPacket(f, true, tcpSYN, nil)
	case planSYNData:
		if k == 0 {
			return p.tcpPacket(f, true, tcpSYN, nil)
		}
		f.seqI = f.isnI + 1 // acknowledging the SYN-ACK the capture did not see
		return p.tcpPacket(f, true, tcpACK|tcpPSH, &f.out)
	}
	// Datagrams alternate out and in while both have some left.
	both := 2 * min(f.out.segs, f.in.segs)
	orig := f.in.segs == 0 || (k < both && k%2 == 0) || (k >= both && f.out.segs > f.in.segs)
	if orig {
		return p.datagram(f, true, &f.out)
	}
	return p.datagram(f, false, &f.in)
}

// segment fills p.pl with the captured bytes of d's next segment: its part of the stream's first
// pcapCapture bytes (TCP) or the datagram's first pcapCapture, and all of the writer's content in
// it; the rest of the segment is zeros. It returns the segment's full size and the captured
// length, and advances d.
func (p *pcapWriter) segment(d *pcapDir, stream bool) (size, capture uint64) {
	j := d.sent
	size = d.size(j)
	capture = min(size, pcapCapture)
	var content []byte
	switch {
	case stream:
		capture = min(size, pcapCapture-min(d.off, pcapCapture))
		if d.off < uint64(len(d.content)) {
			content = d.content[d.off:min(uint64(len(d.content)), d.off+size)]
		}
	case j == 0:
		content = d.content[:min(uint64(len(d.content)), size)]
	}
	capture = max(capture, uint64(len(content)))
	p.pl = append(p.pl[:0], content...)
	p.pl = append(p.pl, pcapZeros[:capture-uint64(len(content))]...)
	d.sent++
	d.off += size
	return size, capture
}

// tcpPacket writes one TCP packet of f with flags; d is the direction whose data segment it
// carries, nil for a segment without data.
func (p *pcapWriter) tcpPacket(f *pcapFlow, orig bool, flags uint8, d *pcapDir) error {
	t := &p.tcp
	t.SrcPort, t.DstPort = layers.TCPPort(f.sport), layers.TCPPort(f.dport)
	seq, ack := &f.seqO, &f.seqI
	if !orig {
		t.SrcPort, t.DstPort = t.DstPort, t.SrcPort
		seq, ack = ack, seq
	}
	t.FIN, t.SYN, t.RST, t.PSH, t.ACK = flags&tcpFIN != 0, flags&tcpSYN != 0, flags&tcpRST != 0, flags&tcpPSH != 0, flags&tcpACK != 0
	t.Seq, t.Ack = *seq, 0
	if t.ACK {
		t.Ack = *ack
	}
	if t.RST {
		t.Seq = 0
	}
	hdr := uint64(20)
	t.Options, t.DataOffset = nil, 5
	if t.SYN {
		t.Options, t.DataOffset, hdr = p.mssOpt, 6, 24
	}
	var size, capture uint64
	p.pl = p.pl[:0]
	if d != nil {
		size, capture = p.segment(d, true)
	}
	*seq += uint32(size)
	if t.SYN || t.FIN {
		*seq++
	}
	return p.write(f, orig, &p.tcp, hdr, size, capture)
}

// datagram writes one datagram of f carrying d's next segment.
func (p *pcapWriter) datagram(f *pcapFlow, orig bool, d *pcapDir) error {
	size, capture := p.segment(d, false)
	switch f.proto {
	case flow.ProtoUDP:
		u := &p.udp
		u.SrcPort, u.DstPort = layers.UDPPort(f.sport), layers.UDPPort(f.dport)
		if !orig {
			u.SrcPort, u.DstPort = u.DstPort, u.SrcPort
		}
		u.Length = uint16(8 + size)
		return p.write(f, orig, &p.udp, 8, size, capture)
	case flow.ProtoICMP, flow.ProtoICMPv6:
		id, seq := uint16(f.order), uint16(d.sent)
		if f.proto == flow.ProtoICMPv6 {
			typ := uint8(layers.ICMPv6TypeEchoRequest)
			if !orig {
				typ = layers.ICMPv6TypeEchoReply
			}
			p.icmp6.TypeCode = layers.CreateICMPv6TypeCode(typ, 0)
			p.echo6.Identifier, p.echo6.SeqNumber = id, seq
			return p.write(f, orig, &p.icmp6, 8, size, capture)
		}
		typ := uint8(layers.ICMPv4TypeEchoRequest)
		if !orig {
			typ = layers.ICMPv4TypeEchoReply
		}
		p.icmp4.TypeCode = layers.CreateICMPv4TypeCode(typ, 0)
		p.icmp4.Id, p.icmp4.Seq = id, seq
		return p.write(f, orig, &p.icmp4, 8, size, capture)
	}
	return p.write(f, orig, nil, 0, size, capture)
}

// write serialises one packet: Ethernet, IP, the transport layer l4 (hdr bytes; nil for a raw IP
// payload) and p.pl, the first bytes of a payload of size bytes, of which capture are captured.
// Lengths are the full packet's; checksums too, since the bytes left out are zeros.
func (p *pcapWriter) write(f *pcapFlow, orig bool, l4 gopacket.SerializableLayer, hdr, size, capture uint64) error {
	src, dst, smac, dmac := f.src[:], f.dst[:], f.macO[:], f.macI[:]
	if !orig {
		src, dst, smac, dmac = dst, src, dmac, smac
	}
	p.eth.SrcMAC, p.eth.DstMAC = smac, dmac
	p.pay = p.pl
	ipHdr := uint64(20)
	var ip gopacket.SerializableLayer
	if f.v6 {
		ipHdr = 40
		p.eth.EthernetType = layers.EthernetTypeIPv6
		p.ip6.SrcIP, p.ip6.DstIP = src, dst
		p.ip6.NextHeader = layers.IPProtocol(f.proto)
		p.ip6.Length = uint16(hdr + size)
		ip = &p.ip6
	} else {
		p.eth.EthernetType = layers.EthernetTypeIPv4
		p.ip4.SrcIP, p.ip4.DstIP = src[:4], dst[:4]
		p.ip4.Protocol = layers.IPProtocol(f.proto)
		p.ip4.Length = uint16(20 + hdr + size)
		p.ip4.Id = p.ipID
		p.ip4.Checksum = 0
		p.ipID++
		ip = &p.ip4
	}
	var err error
	switch {
	case l4 == nil:
		err = gopacket.SerializeLayers(p.buf, p.opts, &p.eth, ip, &p.pay)
	case l4 == &p.icmp6:
		err = gopacket.SerializeLayers(p.buf, p.opts, &p.eth, ip, &p.icmp6, &p.echo6, &p.pay)
	default:
		err = gopacket.SerializeLayers(p.buf, p.opts, &p.eth, ip, l4, &p.pay)
	}
	if err != nil {
		return err
	}
	data := p.buf.Bytes()
	l4off := 14 + ipHdr
	seg := data[l4off : l4off+hdr+uint64(len(p.pl))]
	if !f.v6 {
		binary.BigEndian.PutUint16(data[24:], gopacket.FoldChecksum(gopacket.ComputeChecksum(data[14:34], 0)))
	}
	// Transport checksum: the pseudo-header (for all but ICMPv4) with the full length.
	var csumAt int
	var sum uint32
	switch f.proto {
	case flow.ProtoTCP:
		csumAt = 16
	case flow.ProtoUDP:
		csumAt = 6
	case flow.ProtoICMP, flow.ProtoICMPv6:
		csumAt = 2
	default:
		csumAt = -1
	}
	if csumAt >= 0 && l4 != nil {
		if f.proto != flow.ProtoICMP {
			n := 4
			if f.v6 {
				n = 16
			}
			sum = gopacket.ComputeChecksum(src[:n], 0)
			sum = gopacket.ComputeChecksum(dst[:n], sum)
			l := uint32(hdr + size)
			sum += uint32(f.proto) + l>>16 + l&0xffff
		}
		seg[csumAt], seg[csumAt+1] = 0, 0
		c := gopacket.FoldChecksum(gopacket.ComputeChecksum(seg, sum))
		if c == 0 && f.proto == flow.ProtoUDP {
			c = 0xffff
		}
		binary.BigEndian.PutUint16(seg[csumAt:], c)
	}
	wire := 14 + ipHdr + hdr + size
	captured := l4off + hdr + capture
	if wire < 60 { // Ethernet pads short frames; the padding is on the wire and captured
		wire, captured = 60, 60
	}
	ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, f.next), CaptureLength: int(captured), Length: int(wire)}
	return p.pw.WritePacket(ci, data[:captured])
}

// dnsTCP appends the DNS query (or response) of ev for a TCP flow, behind its two-byte length.
func (p *pcapWriter) dnsTCP(b []byte, ev *flow.Record, f *pcapFlow, response bool) []byte {
	msg, ok := p.dnsMessage(ev, f, response, 0)
	if !ok {
		return b[:0]
	}
	b = binary.BigEndian.AppendUint16(b[:0], uint16(len(msg)))
	return append(b, msg...)
}

// dnsUDP makes datagram 0 of d the DNS query (or response) of ev, padded to its planned size;
// an event without a flow, or a datagram too small for the message, takes the message's size.
func (p *pcapWriter) dnsUDP(f *pcapFlow, d *pcapDir, ev *flow.Record, response, eventOnly bool) {
	target := d.size(0)
	if eventOnly {
		target = 0
	}
	msg, ok := p.dnsMessage(ev, f, response, target)
	if !ok {
		return
	}
	d.content = append(d.content[:0], msg...)
	if n := uint64(len(msg)); n > target {
		d.first = n
		d.total += n - target
	}
}

// dnsMessage serialises the query (or response) of ev with layers.DNS, padded to size bytes when
// size exceeds its natural size. ok is false for a name DNS cannot carry (an empty label, a label
// over 63 bytes, a name over 255), and for an empty one.
func (p *pcapWriter) dnsMessage(ev *flow.Record, f *pcapFlow, response bool, size uint64) (msg []byte, ok bool) {
	name := strings.TrimSuffix(ev.DNSQuery, ".")
	if !pcapDNSName(name) {
		return nil, false
	}
	d := &p.dns
	*d = layers.DNS{ID: uint16(zeekMix(uint64(f.recIdx) ^ 0xd115)), RD: true, OpCode: layers.DNSOpCodeQuery}
	p.dnsName = append(p.dnsName[:0], name...)
	qtype := ev.DNSType
	if qtype == 0 {
		qtype = 1
	}
	p.dnsQ[0] = layers.DNSQuestion{Name: p.dnsName, Type: layers.DNSType(qtype), Class: layers.DNSClassIN}
	d.Questions = p.dnsQ[:]
	if response {
		d.QR, d.RA = true, true
		if len(ev.DNSAnswers) == 0 {
			d.ResponseCode = layers.DNSResponseCodeNXDomain
		}
		for len(p.dnsIPs) < len(ev.DNSAnswers) {
			p.dnsIPs = append(p.dnsIPs, [16]byte{})
		}
		p.dnsAns = p.dnsAns[:0]
		for i, a := range ev.DNSAnswers {
			a = a.Unmap()
			rr := layers.DNSResourceRecord{Name: p.dnsName, Type: layers.DNSTypeAAAA, Class: layers.DNSClassIN, TTL: pcapDNSTTL}
			p.dnsIPs[i] = a.As16()
			rr.IP = net.IP(p.dnsIPs[i][:])
			if a.Is4() {
				rr.Type = layers.DNSTypeA
				rr.IP = rr.IP[12:]
			}
			p.dnsAns = append(p.dnsAns, rr)
		}
		d.Answers = p.dnsAns
	}
	opts := gopacket.SerializeOptions{FixLengths: true}
	p.dnsBuf.Clear()
	if err := d.SerializeTo(p.dnsBuf, opts); err != nil {
		return nil, false
	}
	natural := uint64(len(p.dnsBuf.Bytes()))
	if size > natural {
		extra := size - natural
		if extra == pcapOPTLen || extra >= pcapPadLen && extra-pcapPadLen < math.MaxUint16 {
			p.dnsOPT[0] = layers.DNSResourceRecord{Type: layers.DNSTypeOPT, Class: layers.DNSClass(pcapEDNSUDP)}
			if extra >= pcapPadLen {
				p.dnsPad[0] = layers.DNSOPT{Code: layers.DNSOptionCodePadding, Data: pcapZeros[:extra-pcapPadLen]}
				p.dnsOPT[0].OPT = p.dnsPad[:]
			}
			d.Additionals = p.dnsOPT[:]
			p.dnsBuf.Clear()
			if err := d.SerializeTo(p.dnsBuf, opts); err != nil {
				return nil, false
			}
		}
	}
	p.scratch = append(p.scratch[:0], p.dnsBuf.Bytes()...)
	if n := uint64(len(p.scratch)); size > n {
		p.scratch = append(p.scratch, pcapZeros[:size-n]...) // 1-10 or 12-14 bytes no OPT fits
	}
	return p.scratch, true
}

// pcapDNSName says whether name can be encoded in a DNS message (without its root dot).
func pcapDNSName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
	}
	return true
}

// pcapClientHello appends a minimal TLS 1.3 ClientHello naming sni (server_name and
// supported_versions extensions, two cipher suites), its random bytes from seed.
func pcapClientHello(b []byte, sni string, seed uint64) []byte {
	if len(sni) > 255 {
		sni = sni[:255]
	}
	b = append(b[:0], 0x16, 0x03, 0x01, 0, 0) // handshake record, length set below
	b = append(b, 0x01, 0, 0, 0)              // ClientHello, length set below
	b = append(b, 0x03, 0x03)                 // legacy_version TLS 1.2
	for range 4 {
		seed = zeekMix(seed)
		b = binary.BigEndian.AppendUint64(b, seed)
	}
	b = append(b, 0)                            // legacy_session_id
	b = append(b, 0, 4, 0x13, 0x01, 0x13, 0x02) // TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
	b = append(b, 1, 0)                         // compression: null
	ext := len(b)
	b = append(b, 0, 0)
	n := len(sni)
	b = append(b, 0, 0, byte((n+5)>>8), byte(n+5), byte((n+3)>>8), byte(n+3), 0, byte(n>>8), byte(n))
	b = append(b, sni...)
	b = append(b, 0, 0x2b, 0, 5, 4, 0x03, 0x04, 0x03, 0x03) // supported_versions: 1.3, 1.2
	binary.BigEndian.PutUint16(b[ext:], uint16(len(b)-ext-2))
	binary.BigEndian.PutUint16(b[3:], uint16(len(b)-5))
	hs := len(b) - 9
	b[6], b[7], b[8] = byte(hs>>16), byte(hs>>8), byte(hs)
	return b
}

// pcapHTTPGet appends a minimal HTTP/1.1 request for / with the Host and User-Agent given.
func pcapHTTPGet(b []byte, host, ua string) []byte {
	b = append(b[:0], "GET / HTTP/1.1\r\n"...)
	if host != "" {
		b = append(append(append(b, "Host: "...), host...), "\r\n"...)
	}
	if ua != "" {
		b = append(append(append(b, "User-Agent: "...), ua...), "\r\n"...)
	}
	return append(b, "Accept: */*\r\n\r\n"...)
}
