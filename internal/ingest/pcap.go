package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net/netip"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// Packet captures (libpcap "pcap" and "pcapng") are turned into bidirectional flows the way
// Zeek's conn.log counts them, so that reading a capture and reading Zeek's logs of the same
// traffic give the same flows:
//
//   - Flow key: protocol and the two (address, port) ends, ordered so both directions meet.
//     ICMP has no ports; as in Zeek, the sender's ICMP type stands for its port and the
//     "counterpart" type for the peer's (echo request 8 ↔ reply 0, timestamp 13 ↔ 14,
//     information 15 ↔ 16, router solicitation 10 ↔ advertisement 9, mask 17 ↔ 18; ICMPv6 echo
//     128 ↔ 129, router 133 ↔ 134, neighbour 135 ↔ 136, MLD 130 ↔ 131, node information
//     139 ↔ 140, home agent 144 ↔ 145, mobile prefix 146 ↔ 147, multicast router 151 ↔ 152). A
//     message without a counterpart (unreachable, time exceeded, ...) uses its code instead. So
//     SrcPort is the originator's ICMP type and DstPort the counterpart type or the code, which is
//     what Zeek writes in id.orig_p and id.resp_p and zeek.go reads back. Other IP protocols
//     (GRE, ESP, IGMP, ...) are flows with ports 0 (Zeek does not log them).
//   - Originator (Src): the sender of the first packet seen, except for TCP, where a SYN without
//     ACK marks its sender as the originator, and a SYN-ACK seen first makes its receiver the
//     originator. (Zeek also turns around a flow first seen mid-stream from one of its "likely
//     server ports"; this reader does not guess from port numbers.)
//   - Time is the first packet's time, Duration last − first. As in Zeek, packets that arrive
//     after both TCP sides have closed (the last ACK) count as packets but do not extend the
//     duration.
//   - PktsOut/PktsIn count every packet each way, retransmissions included.
//   - BytesOut/BytesIn are application payload bytes, computed from the IP length fields, never
//     the captured length, so snaplen-truncated captures count right. TCP follows Zeek's
//     TCP_Endpoint::Size: the extent of sequence space each side used (the highest sequence
//     number sent, or acknowledged by the peer when that is further), less the SYN and FIN
//     octets; retransmissions are not counted twice and bytes lost from the capture but
//     acknowledged still count. UDP counts the UDP length field less its 8-byte header, ICMP the
//     IP payload less the 8-byte ICMP header, other protocols the whole IP payload. An IP length
//     of 0 (left by segmentation offload on the capturing host) means the wire length.
//   - A flow ends when both TCP sides have sent FIN, or one RST (it is kept 5 s longer, as Zeek's
//     tcp_close_delay, to take the final ACK; a new SYN with another sequence number starts a new
//     flow at once), after inactivity (Zeek's defaults: TCP 5 min, UDP, ICMP and others 1 min),
//     when the table is full (the flow idle longest ends; it is emitted, not lost), or at the end
//     of the file. Records are emitted when the flow ends.
//
// Application fields come from the packets:
//   - DNS over UDP or TCP on port 53 or 5353: each response becomes a separate flow.KindEvent
//     record (Src = client, Dst = server, Time = response time) with DNSQuery (first question),
//     DNSType (its type) and DNSAnswers (every A and AAAA address in the answer section). DNS over
//     TCP is read only when a message sits whole at the start of one segment. mDNS
//     announcements without a question carry no query and give no event.
//   - TLSSNI: the server_name of the client's first payload when it is a TLS ClientHello. The
//     client's first bytes are reassembled in sequence order up to 8 KiB, so a ClientHello split
//     over segments (large post-quantum key shares) is read too.
//   - HTTPHost, UserAgent: the Host and User-Agent headers of the client's first request (only
//     the first request of a connection).
//   - PayloadOut/PayloadIn: the first flow.MaxPayload bytes each way, concatenated across the
//     first packets with payload (TCP: in sequence order; capture stops at a gap).
//   - NetFlow v5/v9 and IPFIX exports captured on UDP ports 2055, 2056, 4739, 9995 and 9996 are
//     decoded (netflow.go): the flows they carry are emitted instead of the export datagram's own
//     flow, and the file's format is reported as "netflow".
//
// Link types: Ethernet (with 802.1Q/802.1ad/QinQ tags, MPLS and PPPoE sessions), Linux
// cooked SLL and SLL2, raw IP (101, 228, 229, and the BSD DLT_RAW values 12 and 14) and BSD
// loopback (Null, Loop). Packets that cannot be used are counted per reason: "not IP (ARP)" and
// the like, "IP fragment" (fragments after the first; the first is read, and UDP bytes come from
// the UDP length field, which covers the whole datagram, while a fragmented TCP segment or ICMP
// message counts only its first fragment's bytes), "truncated packet" (headers cut off by
// the snap length), "malformed packet", and "link type N (name) not supported". A file that ends
// inside a packet gives one "capture truncated"; a corrupt record or block gives one "corrupt
// capture" and reading stops there; the flows read before either are kept. Simple Packet Blocks
// (pcapng) carry no time and take the previous packet's.
//
// Both file formats are read here and not with gopacket's pcapgo, whose readers allocate whatever
// length a header claims (up to 4 GiB) and whose pcapng reader panics on some damaged files (an
// if_tsresol of 2^-64 s divides by zero; an epb_flags option shorter than 4 bytes indexes out of
// range). Headers are decoded by hand, in place, so a packet costs no allocation.

const (
	pcapMagicMicro = 0xa1b2c3d4
	pcapMagicNano  = 0xa1b23c4d
	pcapngSHB      = 0x0a0d0d0a
	pcapngBOM      = 0x1a2b3c4d

	// pcapMaxPacket is the largest packet record accepted when the file's snap length is not
	// larger (Wireshark's limit for ordinary link types); a longer record means a corrupt file.
	pcapMaxPacket = 256 << 10
	// pcapMaxRecord bounds any record or block whatever the header claims, so memory stays bounded.
	pcapMaxRecord = 16 << 20

	// Zeek's default timeouts (tcp_inactivity_timeout, udp_inactivity_timeout,
	// icmp_inactivity_timeout, tcp_close_delay), in nanoseconds.
	tcpIdleNs    = 300e9
	otherIdleNs  = 60e9
	closeDelayNs = 5e9

	// defaultMaxFlows caps the live flow table (about 320 bytes a flow with its index entry, plus
	// 256 for payloads when it has some).
	defaultMaxFlows = 1 << 20

	// headMax is how many of the client's first bytes are reassembled for TLS and HTTP, and
	// maxHeads how many flows may hold such a buffer at once (8 KiB each).
	headMax  = 8 << 10
	maxHeads = 4096

	// tooLargeSeqDelta is Zeek's bound on a believable jump of a SYN's or RST's sequence number.
	tooLargeSeqDelta = 1 << 20

	reasonTruncatedPacket = "truncated packet"
	reasonMalformed       = "malformed packet"
	reasonFragment        = "IP fragment"
	reasonCaptureCut      = "capture truncated"
	reasonCorrupt         = "corrupt capture"
	reasonUnknownIface    = "packet of an undeclared interface"
)

// sniffPcap recognises pcap (micro- or nanosecond, either byte order) and pcapng captures by
// their magic numbers.
func sniffPcap(head []byte, name string, opts *Options) (recordFormat, error) {
	if len(head) < 4 {
		return nil, nil
	}
	le, be := binary.LittleEndian.Uint32(head), binary.BigEndian.Uint32(head)
	switch {
	case le == pcapMagicMicro || be == pcapMagicMicro || le == pcapMagicNano || be == pcapMagicNano:
		return &pcapFormat{}, nil
	case le == pcapngSHB && len(head) >= 12:
		bom := head[8:12]
		if binary.LittleEndian.Uint32(bom) == pcapngBOM || binary.BigEndian.Uint32(bom) == pcapngBOM {
			return &pcapFormat{ng: true}, nil
		}
	}
	return nil, nil
}

// pcapFormat reads one capture file.
type pcapFormat struct {
	ng       bool
	exported bool // a NetFlow/IPFIX export datagram was decoded
	maxFlows int  // live flow cap; 0 is defaultMaxFlows
}

func (p *pcapFormat) Name() string {
	switch {
	case p.exported:
		return "netflow"
	case p.ng:
		return "pcapng"
	}
	return "pcap"
}

func (p *pcapFormat) Unit() string { return "packet" }

// Read decodes the capture packet by packet into the flow table and emits flows as they end.
func (p *pcapFormat) Read(ctx context.Context, r io.Reader, w *RecordWriter) error {
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 64<<10 {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	var cr captureReader
	if p.ng {
		cr = &pcapngReader{br: br}
	} else {
		pr, err := newPcapFileReader(br)
		if err != nil {
			skipDamage(w, err, 0)
			return nil
		}
		cr = pr
	}
	pf := newPacketFlows(p, w)
	var raw rawPacket
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		raw = rawPacket{}
		err := cr.next(&raw)
		if err == io.EOF {
			break
		}
		unit := w.Unit()
		if err != nil {
			skipDamage(w, err, unit)
			break
		}
		if raw.skip != "" {
			pf.skip(raw.skip, unit, raw.skipDetail)
			continue
		}
		pf.packet(&raw, unit)
	}
	pf.endAll()
	return ctx.Err()
}

func skipDamage(w *RecordWriter, err error, unit int64) {
	var d *captureDamage
	if errors.As(err, &d) {
		w.Skip(d.reason, unit, d.detail)
		return
	}
	w.Skip(reasonCaptureCut, unit, err.Error())
}

// captureReader yields the packets of one capture in file order.
type captureReader interface {
	// next reads the next packet into p. It returns io.EOF at a clean end of file and a
	// *captureDamage when the file is cut short or corrupt; reading stops after either.
	next(p *rawPacket) error
}

// rawPacket is one captured packet. data is valid until the next call to next.
type rawPacket struct {
	data    []byte
	wireLen int   // length on the wire, ≥ len(data)
	ts      int64 // Unix ns
	link    uint32
	// skip, when set, is why this packet record cannot be used at all.
	skip, skipDetail string
}

// captureDamage ends reading a capture: reason is reasonCaptureCut or reasonCorrupt.
type captureDamage struct {
	reason, detail string
}

func (e *captureDamage) Error() string { return e.reason + ": " + e.detail }

func cutShort(what string, off int64, err error) error {
	detail := fmt.Sprintf("file ends inside %s at byte %d", what, off)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		detail = fmt.Sprintf("%s at byte %d: %v", what, off, err)
	}
	return &captureDamage{reason: reasonCaptureCut, detail: detail}
}

func corrupt(format string, args ...any) error {
	return &captureDamage{reason: reasonCorrupt, detail: fmt.Sprintf(format, args...)}
}

// readBlock returns the next n bytes of br, from its buffer when they fit (valid until the next
// read) or else gathered into *buf, which only grows as the bytes actually arrive.
func readBlock(br *bufio.Reader, n int, buf *[]byte) ([]byte, error) {
	if n <= br.Size() {
		d, err := br.Peek(n)
		if len(d) < n {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		_, _ = br.Discard(n)
		return d, nil
	}
	b := (*buf)[:0]
	for len(b) < n {
		d, err := br.Peek(min(n-len(b), br.Size()))
		b = append(b, d...)
		_, _ = br.Discard(len(d))
		if err != nil && len(b) < n {
			*buf = b
			if err == bufio.ErrBufferFull {
				continue
			}
			return nil, err
		}
	}
	*buf = b
	return b, nil
}

// pcapFileReader reads the classic libpcap format: a 24-byte file header, then per packet a
// 16-byte record header (seconds, micro- or nanoseconds, captured length, wire length) and the
// captured bytes.
type pcapFileReader struct {
	br *bufio.Reader
	endian
	nano   bool
	link   uint32
	maxLen int
	buf    []byte
	off    int64
}

func newPcapFileReader(br *bufio.Reader) (*pcapFileReader, error) {
	h, err := br.Peek(24)
	if len(h) < 24 {
		return nil, cutShort("the 24-byte pcap file header", int64(len(h)), err)
	}
	r := &pcapFileReader{br: br, off: 24}
	switch binary.LittleEndian.Uint32(h) {
	case pcapMagicMicro:
	case pcapMagicNano:
		r.nano = true
	default:
		r.big = true
		r.nano = binary.BigEndian.Uint32(h) == pcapMagicNano
	}
	if major := r.u16(h[4:]); major != 2 {
		return nil, corrupt("unsupported pcap version %d.%d", major, r.u16(h[6:]))
	}
	snap := int(r.u32(h[16:]))
	r.maxLen = pcapMaxPacket
	if snap > r.maxLen {
		r.maxLen = min(snap, pcapMaxRecord)
	}
	// The upper bits of the link type field carry FCS information (pcap spec, LinkType field).
	r.link = r.u32(h[20:]) & 0xffff
	_, _ = br.Discard(24)
	return r, nil
}

// endian reads the integers of a capture written in either byte order (big once its magic
// number says so), for the pcap and pcapng readers alike.
type endian struct{ big bool }

func (e endian) u16(b []byte) uint16 {
	if e.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (e endian) u32(b []byte) uint32 {
	if e.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (e endian) u64(b []byte) uint64 {
	if e.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

func (r *pcapFileReader) next(p *rawPacket) error {
	h, err := r.br.Peek(16)
	if len(h) < 16 {
		if len(h) == 0 && err == io.EOF {
			return io.EOF
		}
		return cutShort("a packet record header", r.off, err)
	}
	sec, frac := int64(r.u32(h)), int64(r.u32(h[4:]))
	incl, orig := int(r.u32(h[8:])), int(r.u32(h[12:]))
	if incl > r.maxLen || incl < 0 {
		return corrupt("packet record at byte %d claims %d captured bytes (limit %d)", r.off, incl, r.maxLen)
	}
	_, _ = r.br.Discard(16)
	data, err := readBlock(r.br, incl, &r.buf)
	if err != nil {
		return cutShort(fmt.Sprintf("a %d-byte packet", incl), r.off+16, err)
	}
	r.off += 16 + int64(incl)
	if !r.nano {
		frac *= 1000
	}
	p.data, p.wireLen, p.ts, p.link = data, max(orig, incl), sec*1e9+frac, r.link
	return nil
}

// pcapngReader reads pcapng: a sequence of blocks (type, total length, body, total length again)
// in sections that each start with a Section Header Block fixing the byte order. Interface
// Description Blocks give each interface's link type and timestamp resolution; packets come in
// Enhanced, Simple and (obsolete) Packet Blocks. Other blocks are passed over.
type pcapngReader struct {
	br *bufio.Reader
	endian
	ifaces []ngIface
	buf    []byte
	off    int64
	lastTs int64 // for Simple Packet Blocks, which carry no timestamp
}

// ngIface is one interface of the current section.
type ngIface struct {
	link    uint32
	snaplen uint32
	// Timestamps count units of 10^-decExp s, or of 2^-binExp s when binExp ≥ 0.
	decExp, binExp int
	unitsPerSec    uint64
	offsetSec      int64
	bad            string // set when the description is unusable
}

const (
	ngEPB        = 6
	ngSPB        = 3
	ngOPB        = 2
	ngIDB        = 1
	ngMaxIfaces  = 1 << 16
	ngMaxDecExp  = 19 // 10^19 still fits in uint64
	ngMaxBinExp  = 63
	ngOptTsResol = 9
	ngOptTsOff   = 14
)

func (r *pcapngReader) next(p *rawPacket) error {
	for {
		h, err := r.br.Peek(12)
		if len(h) < 8 {
			if len(h) == 0 && err == io.EOF {
				return io.EOF
			}
			return cutShort("a block header", r.off, err)
		}
		typ := r.u32(h)
		if typ == pcapngSHB { // its own byte order is in the block
			if len(h) < 12 {
				return cutShort("a section header", r.off, err)
			}
			switch {
			case binary.BigEndian.Uint32(h[8:]) == pcapngBOM:
				r.big = true
			case binary.LittleEndian.Uint32(h[8:]) == pcapngBOM:
				r.big = false
			default:
				return corrupt("section header at byte %d has a bad byte-order magic %x", r.off, h[8:12])
			}
		}
		blen := int64(r.u32(h[4:]))
		if blen < 12 || blen%4 != 0 || blen > pcapMaxRecord {
			return corrupt("block of type %#x at byte %d has a bad length %d", typ, r.off, blen)
		}
		block, err := readBlock(r.br, int(blen), &r.buf)
		if err != nil {
			return cutShort(fmt.Sprintf("a %d-byte block", blen), r.off, err)
		}
		if int64(r.u32(block[blen-4:])) != blen {
			return corrupt("block of type %#x at byte %d: trailing length %d differs from %d", typ, r.off, r.u32(block[blen-4:]), blen)
		}
		at := r.off
		r.off += blen
		body := block[8 : blen-4]
		switch typ {
		case pcapngSHB:
			if len(body) < 16 {
				return corrupt("section header at byte %d is too short", at)
			}
			if major := r.u16(body[4:]); major != 1 {
				return corrupt("section header at byte %d: unsupported pcapng version %d.%d", at, major, r.u16(body[6:]))
			}
			r.ifaces = r.ifaces[:0]
		case ngIDB:
			if len(body) < 8 {
				return corrupt("interface description at byte %d is too short", at)
			}
			if len(r.ifaces) >= ngMaxIfaces {
				return corrupt("more than %d interfaces in one section", ngMaxIfaces)
			}
			r.ifaces = append(r.ifaces, r.parseIDB(body))
		case ngEPB, ngOPB:
			if len(body) < 20 {
				return corrupt("packet block at byte %d is too short", at)
			}
			var id int
			if typ == ngEPB {
				id = int(r.u32(body))
			} else {
				id = int(r.u16(body))
			}
			caplen, wire := int64(r.u32(body[12:])), int64(r.u32(body[16:]))
			if caplen > int64(len(body)-20) {
				return corrupt("packet block at byte %d: captured length %d exceeds the block", at, caplen)
			}
			p.data, p.wireLen = body[20:20+caplen], int(max(caplen, wire))
			if id >= len(r.ifaces) {
				p.skip, p.skipDetail = reasonUnknownIface, fmt.Sprintf("interface %d, %d declared", id, len(r.ifaces))
				return nil
			}
			ifc := &r.ifaces[id]
			if ifc.bad != "" {
				p.skip = ifc.bad
				return nil
			}
			p.ts = ifc.nanos(uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:])))
			p.link = ifc.link
			r.lastTs = p.ts
			return nil
		case ngSPB:
			if len(body) < 4 {
				return corrupt("simple packet block at byte %d is too short", at)
			}
			wire := int(r.u32(body))
			caplen := min(wire, len(body)-4)
			if len(r.ifaces) == 0 {
				p.skip = reasonUnknownIface
				return nil
			}
			ifc := &r.ifaces[0]
			if ifc.snaplen > 0 && caplen > int(ifc.snaplen) {
				caplen = int(ifc.snaplen)
			}
			p.data, p.wireLen = body[4:4+caplen], max(wire, caplen)
			if ifc.bad != "" {
				p.skip = ifc.bad
				return nil
			}
			p.ts, p.link = r.lastTs, ifc.link
			return nil
		}
	}
}

// parseIDB reads an Interface Description Block body: link type, snap length and the
// if_tsresol and if_tsoffset options (default resolution microseconds).
func (r *pcapngReader) parseIDB(body []byte) ngIface {
	f := ngIface{link: uint32(r.u16(body)), snaplen: r.u32(body[4:]), decExp: 6, binExp: -1}
	opts := body[8:]
	for len(opts) >= 4 {
		code, l := r.u16(opts), int(r.u16(opts[2:]))
		if code == 0 || 4+l > len(opts) {
			break
		}
		v := opts[4 : 4+l]
		switch {
		case code == ngOptTsResol && l >= 1:
			if v[0]&0x80 != 0 {
				f.binExp = int(v[0] & 0x7f)
			} else {
				f.decExp = int(v[0])
			}
		case code == ngOptTsOff && l >= 8:
			f.offsetSec = int64(r.u64(v))
		}
		opts = opts[min(4+(l+3)&^3, len(opts)):]
	}
	switch {
	case f.binExp > ngMaxBinExp || f.binExp < 0 && f.decExp > ngMaxDecExp:
		f.bad = "unsupported pcapng timestamp resolution"
	case f.binExp < 0:
		f.unitsPerSec = pow10(f.decExp)
	}
	if f.bad == "" {
		if why := linkUnsupported(f.link); why != "" {
			f.bad = why
		}
	}
	return f
}

// nanos converts an interface timestamp to Unix nanoseconds.
func (f *ngIface) nanos(ts uint64) int64 {
	var sec, ns uint64
	if f.binExp >= 0 {
		e := uint(f.binExp)
		sec = ts >> e
		rem := ts & (1<<e - 1)
		hi, lo := bits.Mul64(rem, 1e9)
		ns = hi<<(64-e) | lo>>e // (rem · 10^9) / 2^e; e = 0 leaves rem = 0
	} else {
		sec, ns = ts/f.unitsPerSec, ts%f.unitsPerSec
		if f.decExp <= 9 {
			ns *= pow10(9 - f.decExp)
		} else {
			ns /= pow10(f.decExp - 9)
		}
	}
	return (int64(sec)+f.offsetSec)*1e9 + int64(ns)
}

func pow10(n int) uint64 {
	p := uint64(1)
	for range n {
		p *= 10
	}
	return p
}

// Link types read (LINKTYPE_* values of the pcap and pcapng specifications).
const (
	linkNull     = 0
	linkEthernet = 1
	linkRawBSD12 = 12
	linkRawBSD14 = 14
	linkRaw      = 101
	linkLoop     = 108
	linkSLL      = 113
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276
)

// linkUnsupported names a link type this reader cannot decode, "" for those it can.
func linkUnsupported(link uint32) string {
	switch link {
	case linkNull, linkEthernet, linkRawBSD12, linkRawBSD14, linkRaw, linkLoop, linkSLL, linkIPv4, linkIPv6, linkSLL2:
		return ""
	}
	name := ""
	switch link {
	case 6:
		name = " (Token Ring)"
	case 9:
		name = " (PPP)"
	case 10:
		name = " (FDDI)"
	case 50:
		name = " (PPP in HDLC)"
	case 104:
		name = " (Cisco HDLC)"
	case 105:
		name = " (IEEE 802.11)"
	case 107:
		name = " (Frame Relay)"
	case 119:
		name = " (802.11 Prism)"
	case 127:
		name = " (802.11 radiotap)"
	case 163:
		name = " (802.11 AVS)"
	case 187, 201:
		name = " (Bluetooth HCI)"
	case 189, 220:
		name = " (Linux USB)"
	case 192:
		name = " (PPI)"
	case 195, 215, 230:
		name = " (IEEE 802.15.4)"
	case 239:
		name = " (Linux NFLOG)"
	case 249:
		name = " (USBPcap)"
	case 253:
		name = " (Linux netlink)"
	}
	return fmt.Sprintf("link type %d%s not supported", link, name)
}

// pktInfo is what one packet says, decoded in place.
type pktInfo struct {
	src, dst     [16]byte
	v6           bool
	proto        uint8
	sport, dport uint16
	flags        uint8 // TCP flags
	seq, ack     uint32
	payLen       int    // transport payload bytes on the wire
	payload      []byte // the captured part of the payload
	bytes        uint64 // payload bytes counted for non-TCP protocols
	fragment     bool   // first fragment of a fragmented datagram
}

const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// decodeFail says why a packet was not used; detail is built only for the first of a reason.
type decodeFail struct {
	reason    string
	what      string
	got, need int    // truncated: bytes captured and needed; malformed: the bad value
	want      string // malformed: what the value should be
}

func (d *decodeFail) detail() string {
	switch d.reason {
	case reasonTruncatedPacket:
		return fmt.Sprintf("%s needs %d bytes, %d captured", d.what, d.need, d.got)
	case reasonMalformed:
		return fmt.Sprintf("%s %d, want %s", d.what, d.got, d.want)
	}
	return d.what
}

// packetFlows decodes packets and keeps the flow table of one capture.
type packetFlows struct {
	format *pcapFormat
	w      *RecordWriter
	unit   int64 // number of the packet being decoded
	now    int64 // latest packet time seen

	pkt  pktInfo
	fail decodeFail

	// Flows live in fixed chunks (no copying as the table grows) and hold no pointers, so the
	// collector need not scan them; their names sit apart in appNames.
	index    map[flowKey]int32
	chunks   [][]flowState
	nflows   int32 // slots handed out so far
	free     []int32
	lists    [numLists]lruList
	maxFlows int
	draining bool // endAll is ending every flow
	appNames []flowNames
	freeApp  []int32

	pay   paySlab
	heads headPool
	names internTable

	rec, ev flow.Record
	answers []netip.Addr
	nameBuf []byte // DNS name being decoded
	hsBuf   []byte // TLS handshake gathered from its records

	netflow          *ExportDecoder
	emitNF           func(*flow.Record)
	skipNF           func(reason, detail string)
	seenReasons      map[string]bool
	etherReasons     map[uint16]string
	loopbackReasons  map[uint32]string
	linkReasonsCache map[uint32]string
}

func newPacketFlows(f *pcapFormat, w *RecordWriter) *packetFlows {
	pf := &packetFlows{
		format:           f,
		w:                w,
		index:            make(map[flowKey]int32),
		maxFlows:         f.maxFlows,
		names:            internTable{m: make(map[string]string)},
		nameBuf:          make([]byte, 0, 320),
		hsBuf:            make([]byte, 0, headMax),
		answers:          make([]netip.Addr, 0, 16),
		netflow:          NewExportDecoder(),
		seenReasons:      make(map[string]bool),
		etherReasons:     make(map[uint16]string),
		loopbackReasons:  make(map[uint32]string),
		linkReasonsCache: make(map[uint32]string),
	}
	if pf.maxFlows <= 0 {
		pf.maxFlows = defaultMaxFlows
	}
	for i := range pf.lists {
		pf.lists[i] = lruList{head: -1, tail: -1}
	}
	pf.emitNF = func(r *flow.Record) { w.Emit(r) }
	pf.skipNF = func(reason, detail string) { w.Skip(reason, pf.unit, detail) }
	return pf
}

// skip counts an unused packet, with detail only for the first of each reason.
func (pf *packetFlows) skip(reason string, unit int64, detail string) {
	if pf.seenReasons[reason] {
		detail = ""
	} else {
		pf.seenReasons[reason] = true
	}
	pf.w.Skip(reason, unit, detail)
}

func (pf *packetFlows) skipFail(unit int64) {
	detail := ""
	if !pf.seenReasons[pf.fail.reason] {
		detail = pf.fail.detail()
	}
	pf.skip(pf.fail.reason, unit, detail)
}

// packet handles one captured packet.
func (pf *packetFlows) packet(raw *rawPacket, unit int64) {
	pf.unit = unit
	p := &pf.pkt
	*p = pktInfo{}
	if !pf.decodeLink(raw.link, raw.data, raw.wireLen) {
		pf.skipFail(unit)
		return
	}
	if raw.ts > pf.now {
		pf.now = raw.ts
		pf.expire()
	}
	if p.proto == flow.ProtoUDP {
		switch p.dport {
		case 2055, 2056, 4739, 9995, 9996:
			if pf.netflow.Decode(netip.AddrPortFrom(p.srcAddr(), p.sport), p.payload, pf.emitNF, pf.skipNF) {
				pf.format.exported = true
				return
			}
		}
	}
	if p.proto == flow.ProtoUDP || p.proto == flow.ProtoTCP {
		if p.sport == 53 || p.sport == 5353 {
			pf.dns(p, raw.ts)
		}
	}
	pf.track(p, raw.ts)
}

func (p *pktInfo) srcAddr() netip.Addr { return addrOf(&p.src, p.v6) }
func (p *pktInfo) dstAddr() netip.Addr { return addrOf(&p.dst, p.v6) }

func addrOf(a *[16]byte, v6 bool) netip.Addr {
	if v6 {
		return netip.AddrFrom16(*a)
	}
	return netip.AddrFrom4([4]byte(a[:4]))
}

func (pf *packetFlows) truncated(what string, need, have int) bool {
	pf.fail = decodeFail{reason: reasonTruncatedPacket, what: what, need: need, got: have}
	return false
}

func (pf *packetFlows) malformed(what string, got int, want string) bool {
	pf.fail = decodeFail{reason: reasonMalformed, what: what, got: got, want: want}
	return false
}

func (pf *packetFlows) failWith(reason string) bool {
	pf.fail = decodeFail{reason: reason, what: reason}
	return false
}

// decodeLink strips the link header and decodes the IP packet inside. wire is the packet's
// length on the wire.
func (pf *packetFlows) decodeLink(link uint32, d []byte, wire int) bool {
	switch link {
	case linkEthernet:
		if len(d) < 14 {
			return pf.truncated("Ethernet header", 14, len(d))
		}
		return pf.decodeEtherType(d, binary.BigEndian.Uint16(d[12:]), 14, wire)
	case linkSLL: // packet type, ARPHRD, address length, 8 address bytes, protocol
		if len(d) < 16 {
			return pf.truncated("Linux SLL header", 16, len(d))
		}
		return pf.decodeEtherType(d, binary.BigEndian.Uint16(d[14:]), 16, wire)
	case linkSLL2: // protocol, reserved, interface index, ARPHRD, packet type, address length, address
		if len(d) < 20 {
			return pf.truncated("Linux SLL2 header", 20, len(d))
		}
		return pf.decodeEtherType(d, binary.BigEndian.Uint16(d), 20, wire)
	case linkRaw, linkRawBSD12, linkRawBSD14, linkIPv4, linkIPv6:
		return pf.decodeIP(d, wire, "raw IP packet")
	case linkNull, linkLoop:
		// A 4-byte address family: host byte order of the capturing machine for Null, network
		// order for Loop. A value above 0xffff read little-endian was written big-endian.
		if len(d) < 4 {
			return pf.truncated("loopback header", 4, len(d))
		}
		fam := binary.LittleEndian.Uint32(d)
		if link == linkLoop || fam > 0xffff {
			fam = binary.BigEndian.Uint32(d)
		}
		switch fam {
		case 2:
			return pf.decodeIPv4(d[4:], wire-4)
		case 10, 23, 24, 28, 30: // AF_INET6 on Linux, Winsock, NetBSD/OpenBSD, FreeBSD, Darwin
			return pf.decodeIPv6(d[4:], wire-4)
		}
		r, ok := pf.loopbackReasons[fam]
		if !ok {
			r = fmt.Sprintf("not IP (loopback address family %d)", fam)
			pf.loopbackReasons[fam] = r
		}
		return pf.failWith(r)
	}
	r, ok := pf.linkReasonsCache[link]
	if !ok {
		r = linkUnsupported(link)
		pf.linkReasonsCache[link] = r
	}
	return pf.failWith(r)
}

// decodeEtherType decodes what follows an EtherType et whose payload starts at d[off:],
// through VLAN tags, MPLS labels and PPPoE sessions.
func (pf *packetFlows) decodeEtherType(d []byte, et uint16, off, wire int) bool {
	for {
		switch et {
		case 0x0800:
			return pf.decodeIPv4(d[off:], wire-off)
		case 0x86dd:
			return pf.decodeIPv6(d[off:], wire-off)
		case 0x8100, 0x88a8, 0x9100, 0x9200: // 802.1Q, 802.1ad and pre-standard QinQ tags
			if len(d) < off+4 {
				return pf.truncated("VLAN tag", off+4, len(d))
			}
			et = binary.BigEndian.Uint16(d[off+2:])
			off += 4
		case 0x8847, 0x8848: // MPLS: labels up to the bottom of stack, then IP by its version
			for {
				if len(d) < off+4 {
					return pf.truncated("MPLS label", off+4, len(d))
				}
				bottom := d[off+2]&1 != 0
				off += 4
				if bottom {
					break
				}
			}
			return pf.decodeIP(d[off:], wire-off, "MPLS payload")
		case 0x8864: // PPPoE session: 6-byte header, then the PPP protocol
			if len(d) < off+8 {
				return pf.truncated("PPPoE header", off+8, len(d))
			}
			switch binary.BigEndian.Uint16(d[off+6:]) {
			case 0x0021:
				return pf.decodeIPv4(d[off+8:], wire-off-8)
			case 0x0057:
				return pf.decodeIPv6(d[off+8:], wire-off-8)
			}
			return pf.failWith("not IP (PPPoE control)")
		default:
			return pf.failWith(pf.etherReason(et))
		}
	}
}

// etherReason names a non-IP EtherType for the skip summary.
func (pf *packetFlows) etherReason(et uint16) string {
	if et < 0x0600 {
		et = 0 // an 802.3 length field, not a type: all share one reason
	}
	if r, ok := pf.etherReasons[et]; ok {
		return r
	}
	var name string
	switch et {
	case 0:
		name = "802.3 LLC"
	case 0x0806:
		name = "ARP"
	case 0x8035:
		name = "RARP"
	case 0x88cc:
		name = "LLDP"
	case 0x888e:
		name = "EAPOL"
	case 0x8863:
		name = "PPPoE discovery"
	case 0x8809:
		name = "LACP"
	case 0x8808:
		name = "Ethernet flow control"
	case 0x88f7:
		name = "PTP"
	case 0x88e5:
		name = "MACsec"
	case 0x0842:
		name = "Wake-on-LAN"
	case 0x8137:
		name = "IPX"
	case 0x9000:
		name = "Ethernet loopback"
	case 0x893a:
		name = "IEEE 1905"
	case 0x88e1:
		name = "HomePlug"
	case 0x8899:
		name = "Realtek"
	default:
		name = fmt.Sprintf("EtherType %#04x", et)
	}
	r := "not IP (" + name + ")"
	pf.etherReasons[et] = r
	return r
}

// decodeIP decodes an IPv4 or IPv6 packet told apart by its version nibble.
func (pf *packetFlows) decodeIP(d []byte, wire int, what string) bool {
	if len(d) < 1 {
		return pf.truncated(what, 1, 0)
	}
	switch d[0] >> 4 {
	case 4:
		return pf.decodeIPv4(d, wire)
	case 6:
		return pf.decodeIPv6(d, wire)
	}
	return pf.malformed("IP version in "+what, int(d[0]>>4), "4 or 6")
}

// decodeIPv4 reads the IPv4 header. The payload length comes from the total length field
// (clamped to the wire length; a 0 left by segmentation offload means the wire length).
func (pf *packetFlows) decodeIPv4(d []byte, wire int) bool {
	if len(d) < 20 {
		return pf.truncated("IPv4 header", 20, len(d))
	}
	if v := d[0] >> 4; v != 4 {
		return pf.malformed("IPv4 version", int(v), "4")
	}
	ihl := int(d[0]&0x0f) * 4
	if ihl < 20 {
		return pf.malformed("IPv4 header length", ihl, "≥ 20")
	}
	if len(d) < ihl {
		return pf.truncated("IPv4 header with options", ihl, len(d))
	}
	total := int(binary.BigEndian.Uint16(d[2:]))
	if total == 0 || total > wire && wire >= ihl {
		total = max(wire, len(d))
	}
	if total < ihl {
		return pf.malformed("IPv4 total length", total, "≥ header length")
	}
	frag := binary.BigEndian.Uint16(d[6:])
	if frag&0x1fff != 0 {
		return pf.failWith(reasonFragment)
	}
	p := &pf.pkt
	p.fragment = frag&0x2000 != 0
	p.proto = d[9]
	copy(p.src[:4], d[12:16])
	copy(p.dst[:4], d[16:20])
	return pf.decodeTransport(d[ihl:min(total, len(d))], total-ihl)
}

// decodeIPv6 reads the IPv6 header and the extension headers before the transport header.
func (pf *packetFlows) decodeIPv6(d []byte, wire int) bool {
	if len(d) < 40 {
		return pf.truncated("IPv6 header", 40, len(d))
	}
	if v := d[0] >> 4; v != 6 {
		return pf.malformed("IPv6 version", int(v), "6")
	}
	rest := int(binary.BigEndian.Uint16(d[4:]))
	if onWire := max(wire, len(d)) - 40; rest == 0 || rest > onWire {
		rest = onWire // 0: jumbogram or segmentation offload
	}
	p := &pf.pkt
	p.v6 = true
	copy(p.src[:], d[8:24])
	copy(p.dst[:], d[24:40])
	next := d[6]
	off := 40
	for range 16 {
		var hl int
		switch next {
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(d) < off+2 {
				return pf.truncated("IPv6 extension header", off+2, len(d))
			}
			hl = (int(d[off+1]) + 1) * 8
		case 51: // authentication header
			if len(d) < off+2 {
				return pf.truncated("IPv6 authentication header", off+2, len(d))
			}
			hl = (int(d[off+1]) + 2) * 4
		case 44: // fragment
			if len(d) < off+8 {
				return pf.truncated("IPv6 fragment header", off+8, len(d))
			}
			fo := binary.BigEndian.Uint16(d[off+2:])
			if fo>>3 != 0 {
				return pf.failWith(reasonFragment)
			}
			p.fragment = fo&1 != 0
			hl = 8
		default:
			p.proto = next
			end := min(off+rest, len(d))
			return pf.decodeTransport(d[off:end], rest)
		}
		if len(d) < off+hl {
			return pf.truncated("IPv6 extension header", off+hl, len(d))
		}
		if rest < hl {
			return pf.malformed("IPv6 extension header length", hl, "≤ payload length")
		}
		next = d[off]
		off += hl
		rest -= hl
	}
	return pf.malformed("IPv6 extension headers", 17, "≤ 16")
}

// decodeTransport reads the TCP, UDP or ICMP header in t (captured bytes of an IP payload of
// wire bytes).
func (pf *packetFlows) decodeTransport(t []byte, wire int) bool {
	p := &pf.pkt
	switch p.proto {
	case flow.ProtoTCP:
		if wire < 20 {
			return pf.malformed("TCP segment length", wire, "≥ 20")
		}
		if len(t) < 20 {
			return pf.truncated("TCP header", 20, len(t))
		}
		doff := int(t[12]>>4) * 4
		if doff < 20 || doff > wire {
			return pf.malformed("TCP data offset", doff, "20 to segment length")
		}
		if len(t) < doff {
			return pf.truncated("TCP options", doff, len(t))
		}
		p.sport, p.dport = binary.BigEndian.Uint16(t), binary.BigEndian.Uint16(t[2:])
		p.seq, p.ack = binary.BigEndian.Uint32(t[4:]), binary.BigEndian.Uint32(t[8:])
		p.flags = t[13]
		p.payLen = wire - doff
		p.payload = t[doff:]
	case flow.ProtoUDP:
		if wire < 8 {
			return pf.malformed("UDP datagram length", wire, "≥ 8")
		}
		if len(t) < 8 {
			return pf.truncated("UDP header", 8, len(t))
		}
		p.sport, p.dport = binary.BigEndian.Uint16(t), binary.BigEndian.Uint16(t[2:])
		ulen := int(binary.BigEndian.Uint16(t[4:]))
		n := ulen
		if !p.fragment && n > wire { // the first fragment's UDP length covers the whole datagram
			n = wire
		}
		p.payLen = max(n-8, 0)
		p.bytes = uint64(p.payLen)
		p.payload = t[8:]
		if ulen >= 8 && ulen < len(t) {
			p.payload = t[8:ulen]
		}
	case flow.ProtoICMP, flow.ProtoICMPv6:
		if wire < 4 {
			return pf.malformed("ICMP message length", wire, "≥ 4")
		}
		if len(t) < 2 {
			return pf.truncated("ICMP header", 2, len(t))
		}
		typ, code := t[0], t[1]
		p.sport, p.dport = uint16(typ), uint16(icmpCounterpart(p.proto, typ, code))
		p.payLen = max(wire-8, 0)
		p.bytes = uint64(p.payLen)
		if len(t) > 8 {
			p.payload = t[8:]
		}
	default:
		p.payLen = wire
		p.bytes = uint64(wire)
		p.payload = t
	}
	if len(p.payload) > p.payLen {
		p.payload = p.payload[:p.payLen]
	}
	return true
}

// icmpCounterpart is Zeek's ICMP "responder port": the type answering typ for the
// request/reply pairs, the code for one-way messages.
func icmpCounterpart(proto, typ, code uint8) uint8 {
	if proto == flow.ProtoICMP {
		switch typ {
		case 8:
			return 0
		case 0:
			return 8
		case 13, 15, 17:
			return typ + 1
		case 14, 16, 18:
			return typ - 1
		case 10:
			return 9
		case 9:
			return 10
		}
		return code
	}
	switch typ {
	case 128, 133, 135, 139, 144, 146, 151:
		return typ + 1
	case 129, 134, 136, 140, 145, 147, 152:
		return typ - 1
	case 130:
		return 131
	case 131:
		return 130
	}
	return code
}

// flowKey is a flow's identity with its two ends in canonical order (a ≤ b).
type flowKey struct {
	a, b   [16]byte
	pa, pb uint16
	proto  uint8
	v6     bool
}

// keyOf returns p's flow key and the side (0 = a, 1 = b) that sent p.
func keyOf(p *pktInfo) (flowKey, int) {
	k := flowKey{proto: p.proto, v6: p.v6}
	if endLess(&p.dst, p.dport, &p.src, p.sport) {
		k.a, k.pa, k.b, k.pb = p.dst, p.dport, p.src, p.sport
		return k, 1
	}
	k.a, k.pa, k.b, k.pb = p.src, p.sport, p.dst, p.dport
	return k, 0
}

func endLess(x *[16]byte, xp uint16, y *[16]byte, yp uint16) bool {
	if c := bytes.Compare(x[:], y[:]); c != 0 {
		return c < 0
	}
	return xp < yp
}

// Flow lists, each in order of last activity; each has its own timeout.
const (
	listTCP     = iota // open TCP connections: 5 min
	listOther          // UDP, ICMP and other protocols: 1 min
	listClosing        // TCP closed by FINs or RST: ended 5 s after closing
	numLists
)

var listTimeout = [numLists]int64{tcpIdleNs, otherIdleNs, closeDelayNs}

type lruList struct{ head, tail int32 }

// flowState is one live flow; side 0 is key.a, side 1 key.b.
type flowState struct {
	key         flowKey
	first, last int64 // times of the first and last packet (ns)
	touched     int64 // time that orders the flow in its list
	prev, next  int32
	list        uint8
	orig        uint8 // side that originated the flow
	closing     bool
	app         uint8 // appNew, appTLS, appHTTP, appDone: parsing the client's first bytes
	head        int32 // head buffer of the client's first bytes, -1 when none
	headNext    uint32
	side        [2]sideState
	names       int32 // index of the flow's names in appNames, -1 when none
}

// flowNames are the application names found in a flow.
type flowNames struct{ sni, host, userAgent string }

const flowChunk = 4096 // flows per storage chunk

// flow returns flow i.
func (pf *packetFlows) flow(i int32) *flowState { return &pf.chunks[i/flowChunk][i%flowChunk] }

// namesOf returns f's names, giving it an entry when it has none.
func (pf *packetFlows) namesOf(f *flowState) *flowNames {
	if f.names < 0 {
		if n := len(pf.freeApp); n > 0 {
			f.names = pf.freeApp[n-1]
			pf.freeApp = pf.freeApp[:n-1]
		} else {
			pf.appNames = append(pf.appNames, flowNames{})
			f.names = int32(len(pf.appNames) - 1)
		}
	}
	return &pf.appNames[f.names]
}

// sideState is what one end of a flow sent.
type sideState struct {
	pkts  uint64
	bytes uint64 // payload bytes (non-TCP)

	// TCP sequence space, as Zeek's TCP_Endpoint: isn is the initial sequence number (or the
	// first seen less one), lastRel the extent sent relative to it, ackRel the extent the peer
	// acknowledged.
	seqInit, syn, fin, rst bool
	isn, last, ack         uint32
	lastRel, ackRel        uint64

	pay     int32 // payload slot, -1 when none
	payLen  uint8
	payDone bool
	payNext uint32 // TCP: sequence number the captured payload continues at
}

// tcpBytes is Zeek's TCP_Endpoint::Size: the sequence space used, less the SYN and FIN octets.
func (s *sideState) tcpBytes() uint64 {
	size := max(s.lastRel, s.ackRel)
	if size > 0 {
		size--
	}
	if s.fin && size > 0 {
		size--
	}
	return size
}

const (
	appNew = iota
	appTLS
	appHTTP
	appDone
)

// track adds packet p, seen at ts, to its flow.
func (pf *packetFlows) track(p *pktInfo, ts int64) {
	key, s := keyOf(p)
	i, ok := pf.index[key]
	if ok && p.proto == flow.ProtoTCP && p.flags&(tcpSYN|tcpACK) == tcpSYN {
		// A new SYN with another sequence number reuses the ports for a new connection.
		if e := &pf.flow(i).side[s]; e.seqInit && p.seq != e.isn {
			pf.end(i)
			ok = false
		}
	}
	if !ok {
		i = pf.newFlow(key, s, p, ts)
	}
	f := pf.flow(i)
	e := &f.side[s]
	if !f.bothClosed() && ts > f.last {
		f.last = ts
	}
	e.pkts++
	if p.proto == flow.ProtoTCP {
		if p.flags&(tcpSYN|tcpACK) == tcpSYN && int(f.orig) != s && !f.side[f.orig].syn {
			f.orig = uint8(s) // a SYN marks the originator
		}
		pf.tcpSeq(f, s, p)
	} else {
		e.bytes += p.bytes
	}
	if len(p.payload) > 0 {
		pf.keepPayload(e, p)
		if p.proto == flow.ProtoTCP && int(f.orig) == s && f.app != appDone && p.flags&tcpRST == 0 {
			pf.clientHead(f, p)
		}
	}
	switch {
	case f.closing:
	case p.proto == flow.ProtoTCP && (f.bothClosed() || p.flags&tcpRST != 0):
		f.closing = true
		pf.unlink(i)
		f.touched = max(f.touched, ts)
		pf.link(i, listClosing)
	default:
		f.touched = max(f.touched, ts)
		if pf.lists[f.list].tail != i {
			pf.unlink(i)
			pf.link(i, f.list)
		}
	}
}

func (f *flowState) bothClosed() bool {
	return (f.side[0].fin || f.side[0].rst) && (f.side[1].fin || f.side[1].rst)
}

// tcpSeq follows side s's sequence space and the peer's acknowledgements (Zeek's
// init_endpoint, update_ack_seq and update_last_seq).
func (pf *packetFlows) tcpSeq(f *flowState, s int, p *pktInfo) {
	e, peer := &f.side[s], &f.side[1-s]
	syn, fin, rst := p.flags&tcpSYN != 0, p.flags&tcpFIN != 0, p.flags&tcpRST != 0
	seg := uint32(p.payLen)
	if rst {
		seg = 0 // data on a RST is not part of the stream
	}
	if syn {
		seg++
	}
	if fin {
		seg++
	}
	end := p.seq + seg
	if !e.seqInit || syn && p.seq != e.isn { // a SYN (re)starts the sequence space
		e.seqInit = true
		if syn {
			e.isn, e.last, e.lastRel = p.seq, end, uint64(seg)
		} else { // mid-stream: number as though a SYN came just before
			e.isn, e.last, e.lastRel = p.seq-1, end, uint64(seg)+1
		}
		e.ack, e.ackRel = e.isn, 0
	} else {
		d := int32(end - e.last)
		switch {
		case (syn || rst) && (d > tooLargeSeqDelta || d < -tooLargeSeqDelta):
		case fin && e.lastRel == 1: // only the SYN so far: trust the FIN (connections > 2 GiB)
			e.last, e.lastRel = end, uint64(end-e.isn)
		case e.rst: // nothing after a RST is trusted
		case d > 0:
			e.last = end
			e.lastRel += uint64(d)
		}
	}
	if p.flags&tcpACK != 0 && !rst && peer.seqInit {
		d := int32(p.ack - peer.ack)
		// Acks only advance, so ackRel never goes below the peer's start. An ack of 0 far ahead
		// is more likely broken than a connection landing on 0 (Zeek's update_ack_seq).
		if d > 0 && !(p.ack == 0 && d > tooLargeSeqDelta) {
			peer.ack = p.ack
			peer.ackRel += uint64(d)
		}
	}
	e.syn = e.syn || syn
	e.fin = e.fin || fin
	e.rst = e.rst || rst
}

// keepPayload appends p's captured payload to side e's first bytes; TCP only in sequence order.
func (pf *packetFlows) keepPayload(e *sideState, p *pktInfo) {
	if e.payDone || p.flags&tcpRST != 0 {
		return
	}
	data := p.payload
	if p.proto == flow.ProtoTCP {
		seq := p.seq
		if p.flags&tcpSYN != 0 {
			seq++
		}
		if e.pay >= 0 {
			switch d := int32(seq - e.payNext); {
			case d < 0: // retransmission
				return
			case d > 0: // a gap: what follows is not contiguous
				e.payDone = true
				return
			}
		}
		e.payNext = seq + uint32(len(data))
	}
	if e.pay < 0 {
		e.pay = pf.pay.alloc()
	}
	slot := pf.pay.slot(e.pay)
	n := copy(slot[e.payLen:], data)
	e.payLen += uint8(n)
	if int(e.payLen) == flow.MaxPayload || len(data) < p.payLen {
		e.payDone = true // full, or the capture cut this packet's payload
	}
}

// clientHead parses the client's first bytes for TLS SNI or HTTP headers, gathering them
// across segments in a head buffer while the parse needs more.
func (pf *packetFlows) clientHead(f *flowState, p *pktInfo) {
	seq := p.seq
	if p.flags&tcpSYN != 0 {
		seq++
	}
	data := p.payload
	complete := len(data) == p.payLen // the capture has the whole segment
	if f.app == appNew {
		switch {
		case len(data) >= 3 && data[0] == 0x16 && data[1] == 3:
			f.app = appTLS
		case isHTTPRequest(data):
			f.app = appHTTP
		default:
			f.app = appDone
			return
		}
		if pf.parseHead(f, data, false) || !complete {
			pf.finishHead(f, data)
			return
		}
		f.head = pf.heads.get()
		if f.head < 0 {
			pf.finishHead(f, data)
			return
		}
		buf := pf.heads.buf(f.head)
		*buf = append((*buf)[:0], data[:min(len(data), headMax)]...)
		f.headNext = seq + uint32(len(data))
		return
	}
	if f.head < 0 {
		f.app = appDone
		return
	}
	buf := pf.heads.buf(f.head)
	switch d := int32(seq - f.headNext); {
	case d < 0:
		return // retransmission
	case d > 0:
		pf.finishHead(f, *buf)
		return
	}
	room := headMax - len(*buf)
	*buf = append(*buf, data[:min(len(data), room)]...)
	f.headNext = seq + uint32(len(data))
	if pf.parseHead(f, *buf, false) || !complete || len(data) >= room {
		pf.finishHead(f, *buf)
	}
}

// parseHead parses the gathered client bytes and reports whether parsing is over. final takes
// what an incomplete HTTP head has so far.
func (pf *packetFlows) parseHead(f *flowState, b []byte, final bool) bool {
	switch f.app {
	case appTLS:
		name, st := tlsServerName(b, pf.hsBuf[:0])
		if st == parseDone && len(name) > 0 && len(name) <= 255 {
			pf.namesOf(f).sni = pf.names.get(name)
		}
		return st != parseNeedMore
	case appHTTP:
		host, ua, done := httpHeaders(b)
		if done || final {
			if len(host) > 0 {
				pf.namesOf(f).host = pf.names.get(host)
			}
			if len(ua) > 0 {
				pf.namesOf(f).userAgent = pf.names.get(ua)
			}
		}
		return done
	}
	return true
}

// finishHead ends parsing the client's bytes, keeping what an HTTP head had.
func (pf *packetFlows) finishHead(f *flowState, b []byte) {
	if f.app == appHTTP {
		pf.parseHead(f, b, true)
	}
	f.app = appDone
	if f.head >= 0 {
		pf.heads.put(f.head)
		f.head = -1
	}
}

// newFlow starts a flow with p's sender as its originator (its receiver for a SYN-ACK).
func (pf *packetFlows) newFlow(key flowKey, s int, p *pktInfo, ts int64) int32 {
	if len(pf.index) >= pf.maxFlows {
		pf.evict()
	}
	var i int32
	if n := len(pf.free); n > 0 {
		i = pf.free[n-1]
		pf.free = pf.free[:n-1]
	} else {
		i = pf.nflows
		if int(i/flowChunk) == len(pf.chunks) {
			pf.chunks = append(pf.chunks, make([]flowState, flowChunk))
		}
		pf.nflows++
	}
	f := pf.flow(i)
	*f = flowState{key: key, first: ts, last: ts, touched: ts, orig: uint8(s), head: -1, names: -1}
	f.side[0].pay, f.side[1].pay = -1, -1
	if p.proto == flow.ProtoTCP && p.flags&(tcpSYN|tcpACK) == tcpSYN|tcpACK {
		f.orig = uint8(1 - s)
	}
	list := uint8(listOther)
	if p.proto == flow.ProtoTCP {
		list = listTCP
	}
	pf.index[key] = i
	pf.link(i, list)
	return i
}

func (pf *packetFlows) link(i int32, list uint8) {
	f := pf.flow(i)
	l := &pf.lists[list]
	f.list, f.prev, f.next = list, l.tail, -1
	if l.tail >= 0 {
		pf.flow(l.tail).next = i
	} else {
		l.head = i
	}
	l.tail = i
}

func (pf *packetFlows) unlink(i int32) {
	f := pf.flow(i)
	l := &pf.lists[f.list]
	if f.prev >= 0 {
		pf.flow(f.prev).next = f.next
	} else {
		l.head = f.next
	}
	if f.next >= 0 {
		pf.flow(f.next).prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = -1, -1
}

// expire ends the flows idle past their list's timeout. Lists are in activity order, so only
// their heads are looked at.
func (pf *packetFlows) expire() {
	for l := range pf.lists {
		for h := pf.lists[l].head; h >= 0 && pf.flow(h).touched+listTimeout[l] < pf.now; h = pf.lists[l].head {
			pf.end(h)
		}
	}
}

// evict ends one flow to make room: a closing one if any, else the one idle longest.
func (pf *packetFlows) evict() {
	if h := pf.lists[listClosing].head; h >= 0 {
		pf.end(h)
		return
	}
	best := int32(-1)
	for l := range pf.lists {
		if h := pf.lists[l].head; h >= 0 && (best < 0 || pf.flow(h).touched < pf.flow(best).touched) {
			best = h
		}
	}
	if best >= 0 {
		pf.end(best)
	}
}

// endAll ends every live flow (end of file). The index is dropped whole rather than entry by
// entry.
func (pf *packetFlows) endAll() {
	pf.draining = true
	for l := range pf.lists {
		for h := pf.lists[l].head; h >= 0; h = pf.lists[l].head {
			pf.end(h)
		}
	}
	pf.index = make(map[flowKey]int32)
	pf.draining = false
}

// end emits flow i and frees its slot.
func (pf *packetFlows) end(i int32) {
	f := pf.flow(i)
	if f.app != appDone && f.head >= 0 {
		pf.finishHead(f, *pf.heads.buf(f.head))
	}
	o, r := int(f.orig), 1-int(f.orig)
	rec := &pf.rec
	rec.Reset()
	rec.Time, rec.Duration = f.first, f.last-f.first
	rec.Src, rec.SrcPort = f.key.end(o)
	rec.Dst, rec.DstPort = f.key.end(r)
	rec.Proto = f.key.proto
	rec.Kind = flow.KindFlow
	so, sr := &f.side[o], &f.side[r]
	rec.PktsOut, rec.PktsIn = so.pkts, sr.pkts
	if f.key.proto == flow.ProtoTCP {
		rec.BytesOut, rec.BytesIn = so.tcpBytes(), sr.tcpBytes()
	} else {
		rec.BytesOut, rec.BytesIn = so.bytes, sr.bytes
	}
	if f.names >= 0 {
		n := &pf.appNames[f.names]
		rec.TLSSNI, rec.HTTPHost, rec.UserAgent = n.sni, n.host, n.userAgent
		*n = flowNames{}
		pf.freeApp = append(pf.freeApp, f.names)
	}
	if so.pay >= 0 {
		rec.PayloadOut = pf.pay.slot(so.pay)[:so.payLen]
	}
	if sr.pay >= 0 {
		rec.PayloadIn = pf.pay.slot(sr.pay)[:sr.payLen]
	}
	pf.w.Emit(rec)
	rec.PayloadOut, rec.PayloadIn = nil, nil
	for _, s := range [2]*sideState{so, sr} {
		if s.pay >= 0 {
			pf.pay.put(s.pay)
		}
	}
	pf.unlink(i)
	if !pf.draining {
		delete(pf.index, f.key)
	}
	*f = flowState{prev: -1, next: -1, head: -1, names: -1}
	pf.free = append(pf.free, i)
}

// end returns the address and port of side s.
func (k *flowKey) end(s int) (netip.Addr, uint16) {
	if s == 0 {
		return addrOf(&k.a, k.v6), k.pa
	}
	return addrOf(&k.b, k.v6), k.pb
}

// dns emits a DNS event for a response carried by p (UDP, or TCP with the message whole at the
// start of the segment).
func (pf *packetFlows) dns(p *pktInfo, ts int64) {
	msg := p.payload
	if p.proto == flow.ProtoTCP {
		if len(msg) < 2 {
			return
		}
		n := int(binary.BigEndian.Uint16(msg))
		if 2+n > len(msg) {
			return
		}
		msg = msg[2 : 2+n]
	}
	name, qtype, answers, ok := parseDNSResponse(msg, pf.nameBuf[:0], pf.answers[:0])
	pf.answers = answers[:0]
	if !ok {
		return
	}
	ev := &pf.ev
	ev.Reset()
	ev.Time, ev.Kind, ev.Proto = ts, flow.KindEvent, p.proto
	ev.Src, ev.SrcPort = p.dstAddr(), p.dport
	ev.Dst, ev.DstPort = p.srcAddr(), p.sport
	ev.DNSQuery = pf.names.get(name)
	ev.DNSType = qtype
	ev.DNSAnswers = answers
	pf.w.Emit(ev)
	ev.DNSAnswers = nil
}

// parseDNSResponse reads a DNS response: the first question's name and type, and the A and AAAA
// addresses of the answer section (appended to answers). ok is false for queries, messages
// without a question, and messages too damaged to read the question.
func parseDNSResponse(msg, nameBuf []byte, answers []netip.Addr) (name []byte, qtype uint16, _ []netip.Addr, ok bool) {
	if len(msg) < 12 || msg[2]&0x80 == 0 {
		return nil, 0, answers, false
	}
	qd, an := int(binary.BigEndian.Uint16(msg[4:])), int(binary.BigEndian.Uint16(msg[6:]))
	if qd == 0 {
		return nil, 0, answers, false
	}
	name, off, ok := dnsName(msg, 12, nameBuf)
	if !ok || off+4 > len(msg) {
		return nil, 0, answers, false
	}
	qtype = binary.BigEndian.Uint16(msg[off:])
	off += 4
	for range qd - 1 {
		if off, ok = dnsSkipName(msg, off); !ok || off+4 > len(msg) {
			return name, qtype, answers, true
		}
		off += 4
	}
	for range an {
		if off, ok = dnsSkipName(msg, off); !ok || off+10 > len(msg) {
			break
		}
		typ, rdlen := binary.BigEndian.Uint16(msg[off:]), int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+rdlen > len(msg) {
			break
		}
		switch {
		case typ == 1 && rdlen == 4:
			answers = append(answers, netip.AddrFrom4([4]byte(msg[off:off+4])))
		case typ == 28 && rdlen == 16:
			answers = append(answers, netip.AddrFrom16([16]byte(msg[off:off+16])))
		}
		off += rdlen
	}
	return name, qtype, answers, true
}

// dnsName decodes the (possibly compressed) name at off into dst as dotted labels and returns
// it with the offset after the name. Compression pointers are followed at most 32 times, so a
// pointer loop ends.
func dnsName(msg []byte, off int, dst []byte) ([]byte, int, bool) {
	end := -1
	for jumps := 0; ; {
		if off >= len(msg) {
			return nil, 0, false
		}
		l := int(msg[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			return dst, end, true
		case l&0xc0 == 0xc0:
			if off+1 >= len(msg) {
				return nil, 0, false
			}
			if end < 0 {
				end = off + 2
			}
			if jumps++; jumps > 32 {
				return nil, 0, false
			}
			off = (l&0x3f)<<8 | int(msg[off+1])
		case l&0xc0 != 0:
			return nil, 0, false // extended label types are obsolete
		default:
			if off+1+l > len(msg) {
				return nil, 0, false
			}
			if len(dst) > 0 {
				dst = append(dst, '.')
			}
			dst = append(dst, msg[off+1:off+1+l]...)
			if len(dst) > 255 {
				return nil, 0, false
			}
			off += 1 + l
		}
	}
}

// dnsSkipName returns the offset after the name at off without decoding it.
func dnsSkipName(msg []byte, off int) (int, bool) {
	for off < len(msg) {
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1, true
		case l&0xc0 == 0xc0:
			return off + 2, off+2 <= len(msg)
		case l&0xc0 != 0:
			return 0, false
		}
		off += 1 + l
	}
	return 0, false
}

type parseStatus uint8

const (
	parseNeedMore parseStatus = iota
	parseDone
	parseFail
)

// tlsServerName finds the server_name of a TLS ClientHello at the start of b, gathering the
// handshake message from consecutive handshake records into hs. It needs more when b ends
// before the name or the end of the extensions; parseDone with a nil name means no SNI.
func tlsServerName(b, hs []byte) ([]byte, parseStatus) {
	for len(b) >= 5 {
		if b[0] != 0x16 || b[1] != 3 {
			if len(hs) == 0 {
				return nil, parseFail
			}
			break
		}
		rlen := int(binary.BigEndian.Uint16(b[3:]))
		if rlen == 0 || rlen > 18432 {
			return nil, parseFail
		}
		body := b[5:]
		if len(body) > rlen {
			body = body[:rlen]
		}
		hs = append(hs, body...)
		b = b[5+len(body):]
		if len(body) < rlen || len(hs) >= 4 && len(hs) >= 4+be24(hs[1:]) {
			break
		}
	}
	return clientHelloSNI(hs)
}

func be24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }

// clientHelloSNI reads the server_name extension of the ClientHello handshake message hs
// (RFC 8446 4.1.2, RFC 6066 3).
func clientHelloSNI(hs []byte) ([]byte, parseStatus) {
	if len(hs) < 4 {
		return nil, parseNeedMore
	}
	if hs[0] != 1 {
		return nil, parseFail
	}
	mlen := be24(hs[1:])
	body := hs[4:]
	whole := len(body) >= mlen
	if whole {
		body = body[:mlen]
	}
	short := parseNeedMore
	if whole {
		short = parseFail
	}
	p := 34 // legacy_version, random
	if len(body) < p+1 {
		return nil, short
	}
	p += 1 + int(body[p]) // legacy_session_id
	if len(body) < p+2 {
		return nil, short
	}
	p += 2 + int(binary.BigEndian.Uint16(body[p:])) // cipher_suites
	if len(body) < p+1 {
		return nil, short
	}
	p += 1 + int(body[p]) // legacy_compression_methods
	if len(body) < p+2 {
		if whole && len(body) == p {
			return nil, parseDone // no extensions
		}
		return nil, short
	}
	extEnd := p + 2 + int(binary.BigEndian.Uint16(body[p:]))
	p += 2
	for p < extEnd {
		if len(body) < p+4 {
			return nil, short
		}
		typ, l := binary.BigEndian.Uint16(body[p:]), int(binary.BigEndian.Uint16(body[p+2:]))
		p += 4
		if typ != 0 {
			p += l
			continue
		}
		if len(body) < p+l {
			return nil, short
		}
		ext := body[p : p+l]
		if len(ext) < 2 {
			return nil, parseFail
		}
		list := ext[2:]
		if n := int(binary.BigEndian.Uint16(ext)); n <= len(list) {
			list = list[:n]
		} else {
			return nil, parseFail
		}
		for len(list) >= 3 {
			nl := int(binary.BigEndian.Uint16(list[1:]))
			if 3+nl > len(list) {
				return nil, parseFail
			}
			if list[0] == 0 { // host_name
				return list[3 : 3+nl], parseDone
			}
			list = list[3+nl:]
		}
		return nil, parseDone
	}
	return nil, parseDone
}

var httpMethods = [...]string{"GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}

// isHTTPRequest reports whether b starts with an HTTP request method.
func isHTTPRequest(b []byte) bool {
	for _, m := range httpMethods {
		if len(b) >= len(m) && string(b[:len(m)]) == m {
			return true
		}
	}
	return false
}

// httpHeaders scans an HTTP request head for the Host and User-Agent headers (the first of
// each). done reports that the blank line ending the head was reached.
func httpHeaders(b []byte) (host, ua []byte, done bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil, false
	}
	b = b[i+1:]
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			return host, ua, false
		}
		line := bytes.TrimSuffix(b[:i], []byte{'\r'})
		b = b[i+1:]
		if len(line) == 0 {
			return host, ua, true
		}
		c := bytes.IndexByte(line, ':')
		if c <= 0 {
			continue
		}
		name, val := line[:c], bytes.TrimSpace(line[c+1:])
		switch {
		case host == nil && asciiEqualFold(name, "host"):
			host = val
		case ua == nil && asciiEqualFold(name, "user-agent"):
			ua = val
		}
	}
}

func asciiEqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// paySlab holds flows' first payload bytes in fixed slots of flow.MaxPayload bytes, allocated
// in chunks and reused, so capturing payload allocates nothing per flow.
type paySlab struct {
	chunks [][]byte
	free   []int32
	next   int32
}

const paySlabChunk = 4096 // slots per chunk

func (s *paySlab) alloc() int32 {
	if n := len(s.free); n > 0 {
		i := s.free[n-1]
		s.free = s.free[:n-1]
		return i
	}
	i := s.next
	if int(i/paySlabChunk) == len(s.chunks) {
		s.chunks = append(s.chunks, make([]byte, paySlabChunk*flow.MaxPayload))
	}
	s.next++
	return i
}

func (s *paySlab) slot(i int32) []byte {
	o := int(i%paySlabChunk) * flow.MaxPayload
	return s.chunks[i/paySlabChunk][o : o+flow.MaxPayload : o+flow.MaxPayload]
}

func (s *paySlab) put(i int32) { s.free = append(s.free, i) }

// headPool lends head buffers (headMax bytes) to flows whose client bytes are being gathered,
// at most maxHeads at once.
type headPool struct {
	bufs [][]byte
	free []int32
}

func (h *headPool) get() int32 {
	if n := len(h.free); n > 0 {
		i := h.free[n-1]
		h.free = h.free[:n-1]
		return i
	}
	if len(h.bufs) >= maxHeads {
		return -1
	}
	h.bufs = append(h.bufs, make([]byte, 0, headMax))
	return int32(len(h.bufs) - 1)
}

func (h *headPool) buf(i int32) *[]byte { return &h.bufs[i] }

func (h *headPool) put(i int32) {
	h.bufs[i] = h.bufs[i][:0]
	h.free = append(h.free, i)
}

// internTable shares the strings of repeated names (SNI, hosts, queries), so a name seen again
// costs no allocation. It is emptied when it grows past 64 Ki entries.
type internTable struct{ m map[string]string }

func (t *internTable) get(b []byte) string {
	if s, ok := t.m[string(b)]; ok {
		return s
	}
	if len(t.m) >= 1<<16 {
		clear(t.m)
	}
	s := string(b)
	t.m[s] = s
	return s
}
