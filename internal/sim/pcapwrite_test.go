package sim

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/intel"
)

// The tests decode the writer's captures with gopacket and rebuild flows with pcapFlows, a small
// reference of the rules the pcap reader follows (originator = first sender, bytes from IP
// lengths, end at FIN both ways or RST, idle timeouts 5 min TCP and 1 min others), so that the
// writer is checked independently of internal/ingest.

// decoded is one packet of a capture.
type decoded struct {
	time          int64
	src, dst      netip.Addr
	sport, dport  uint16
	proto         uint8
	syn, fin, rst bool
	ack           bool
	payloadLen    uint64 // from the IP length fields
	captured      []byte // the payload bytes in the capture
	capLen, wire  int
	l4            []byte // transport header and captured payload, for checksums
	ipv4hdr       []byte
}

// decodePcap reads every packet of a capture, checking what holds for all of them: link type
// Ethernet, nanosecond resolution, timestamps in order, IPv4 header checksums, transport
// checksums over the captured bytes extended with zeros to the IP length, and that no packet
// has more than pcapCapture payload bytes captured unless it is captured whole.
func decodePcap(t *testing.T, data []byte) []decoded {
	t.Helper()
	return decodePackets(t, data, true)
}

// decodePackets is decodePcap; strictCapture false skips the captured-length check, which the
// writer's own content breaks on purpose (a ClientHello or DNS-over-TCP message over 128 bytes
// is captured whole even inside a longer segment), as the fuzz target makes.
func decodePackets(t *testing.T, data []byte, strictCapture bool) []decoded {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet || r.Resolution() != gopacket.TimestampResolutionNanosecond {
		t.Fatalf("link type %v resolution %v, want Ethernet and ns", r.LinkType(), r.Resolution())
	}
	var (
		eth     layers.Ethernet
		ip4     layers.IPv4
		ip6     layers.IPv6
		tcp     layers.TCP
		udp     layers.UDP
		icmp4   layers.ICMPv4
		icmp6   layers.ICMPv6
		payload gopacket.Payload
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &udp, &icmp4, &icmp6, &payload)
	parser.IgnoreUnsupported = true
	var types []gopacket.LayerType
	var out []decoded
	var last int64
	for n := 1; ; n++ {
		raw, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("packet %d: %v", n, err)
		}
		d := decoded{time: ci.Timestamp.UnixNano(), capLen: ci.CaptureLength, wire: ci.Length}
		if d.time < last {
			t.Fatalf("packet %d at %v, before the previous one at %v", n, ci.Timestamp, time.Unix(0, last))
		}
		last = d.time
		if err := parser.DecodeLayers(raw, &types); err != nil && len(types) < 2 {
			t.Fatalf("packet %d: %v (layers %v)", n, err, types)
		}
		var ipPayload uint64
		var ipPay []byte
		for _, lt := range types {
			switch lt {
			case layers.LayerTypeIPv4:
				d.src, _ = netip.AddrFromSlice(ip4.SrcIP)
				d.dst, _ = netip.AddrFromSlice(ip4.DstIP)
				d.proto, ipPayload, ipPay = uint8(ip4.Protocol), uint64(ip4.Length)-uint64(ip4.IHL)*4, ip4.Payload
				d.ipv4hdr = raw[14 : 14+int(ip4.IHL)*4]
				if ci.Length != max(60, 14+int(ip4.Length)) {
					t.Fatalf("packet %d: wire length %d, IP length %d", n, ci.Length, ip4.Length)
				}
			case layers.LayerTypeIPv6:
				d.src, _ = netip.AddrFromSlice(ip6.SrcIP)
				d.dst, _ = netip.AddrFromSlice(ip6.DstIP)
				d.proto, ipPayload, ipPay = uint8(ip6.NextHeader), uint64(ip6.Length), ip6.Payload
				if ci.Length != max(60, 54+int(ip6.Length)) {
					t.Fatalf("packet %d: wire length %d, IPv6 payload length %d", n, ci.Length, ip6.Length)
				}
			case layers.LayerTypeTCP:
				d.sport, d.dport = uint16(tcp.SrcPort), uint16(tcp.DstPort)
				d.syn, d.fin, d.rst, d.ack = tcp.SYN, tcp.FIN, tcp.RST, tcp.ACK
				d.payloadLen = ipPayload - uint64(tcp.DataOffset)*4
			case layers.LayerTypeUDP:
				d.sport, d.dport = uint16(udp.SrcPort), uint16(udp.DstPort)
				d.payloadLen = ipPayload - 8
				if uint64(udp.Length) != ipPayload {
					t.Fatalf("packet %d: UDP length %d, IP payload %d", n, udp.Length, ipPayload)
				}
			case layers.LayerTypeICMPv4, layers.LayerTypeICMPv6:
				d.payloadLen = ipPayload - 8
			}
		}
		hdr := ipPayload - d.payloadLen
		if d.proto != flow.ProtoTCP && d.proto != flow.ProtoUDP && d.proto != flow.ProtoICMP && d.proto != flow.ProtoICMPv6 {
			hdr, d.payloadLen = 0, ipPayload
		}
		if ipPay != nil {
			d.l4 = ipPay
			d.captured = ipPay[min(hdr, uint64(len(ipPay))):]
		}
		if strictCapture && uint64(len(d.captured)) > pcapCapture && uint64(len(d.captured)) != d.payloadLen {
			t.Fatalf("packet %d: %d payload bytes captured of %d, want at most %d or all", n, len(d.captured), d.payloadLen, pcapCapture)
		}
		checkChecksums(t, n, &d, ipPayload)
		out = append(out, d)
	}
	return out
}

// checkChecksums verifies the IPv4 header checksum and the transport checksum of the whole
// packet, taking the bytes the capture left out as zeros (the writer's promise).
func checkChecksums(t *testing.T, n int, d *decoded, ipPayload uint64) {
	t.Helper()
	if d.ipv4hdr != nil && gopacket.FoldChecksum(gopacket.ComputeChecksum(d.ipv4hdr, 0)) != 0 {
		t.Fatalf("packet %d: bad IPv4 header checksum", n)
	}
	if d.proto != flow.ProtoTCP && d.proto != flow.ProtoUDP && d.proto != flow.ProtoICMP && d.proto != flow.ProtoICMPv6 {
		return
	}
	// Zeros add nothing to a ones' complement sum, so the captured bytes stand for the packet.
	var sum uint32
	if d.proto != flow.ProtoICMP {
		s, dd := d.src.AsSlice(), d.dst.AsSlice()
		sum = gopacket.ComputeChecksum(s, 0)
		sum = gopacket.ComputeChecksum(dd, sum)
		sum += uint32(d.proto) + uint32(ipPayload>>16) + uint32(ipPayload&0xffff)
	}
	if c := gopacket.FoldChecksum(gopacket.ComputeChecksum(d.l4, sum)); c != 0 {
		t.Fatalf("packet %d (%v→%v proto %d): transport checksum off by %#x", n, d.src, d.dst, d.proto, c)
	}
}

// rebuilt is a flow rebuilt from packets.
type rebuilt struct {
	flow.Record
	finOut, finIn, closed bool
	last                  int64
	dnsQuery              string
	dnsType               uint16
	dnsAnswers            []netip.Addr
	dnsRcode              layers.DNSResponseCode
	dnsEvents             int
}

type pcapKey struct {
	a, b   netip.Addr
	pa, pb uint16
	proto  uint8
}

func keyOf(d *decoded) pcapKey {
	k := pcapKey{d.src, d.dst, d.sport, d.dport, d.proto}
	if c := k.a.Compare(k.b); c > 0 || c == 0 && k.pa > k.pb {
		k.a, k.b, k.pa, k.pb = k.b, k.a, k.pb, k.pa
	}
	return k
}

// pcapFlows rebuilds flows from packets, in order of their first packet.
func pcapFlows(t *testing.T, pkts []decoded) []*rebuilt {
	t.Helper()
	open := map[pcapKey]*rebuilt{}
	var all []*rebuilt
	for i := range pkts {
		d := &pkts[i]
		k := keyOf(d)
		f := open[k]
		idle := int64(time.Minute)
		if d.proto == flow.ProtoTCP {
			idle = int64(5 * time.Minute)
		}
		if f != nil && (f.closed || d.time-f.last > idle) {
			f = nil
		}
		if f == nil {
			f = &rebuilt{Record: flow.Record{Time: d.time, Src: d.src, Dst: d.dst, SrcPort: d.sport, DstPort: d.dport, Proto: d.proto}}
			open[k] = f
			all = append(all, f)
		}
		f.last = d.time
		f.Duration = d.time - f.Time
		out := d.src == f.Src && d.sport == f.SrcPort
		if out {
			f.PktsOut++
			f.BytesOut += d.payloadLen
			f.PayloadOut = appendPayload(f.PayloadOut, d.captured)
			f.finOut = f.finOut || d.fin
		} else {
			f.PktsIn++
			f.BytesIn += d.payloadLen
			f.PayloadIn = appendPayload(f.PayloadIn, d.captured)
			f.finIn = f.finIn || d.fin
		}
		f.closed = d.rst || f.finOut && f.finIn
		if d.proto == flow.ProtoUDP && d.sport == 53 && len(d.captured) > 0 {
			// What does not decode as a response is no DNS event (the callers count them).
			var m layers.DNS
			if err := m.DecodeFromBytes(d.captured, gopacket.NilDecodeFeedback); err != nil || !m.QR || len(m.Questions) != 1 {
				continue
			}
			f.dnsEvents++
			f.dnsQuery, f.dnsType, f.dnsRcode = string(m.Questions[0].Name), uint16(m.Questions[0].Type), m.ResponseCode
			for _, a := range m.Answers {
				if ip, ok := netip.AddrFromSlice(a.IP); ok && (a.Type == layers.DNSTypeA || a.Type == layers.DNSTypeAAAA) {
					f.dnsAnswers = append(f.dnsAnswers, ip.Unmap())
				}
			}
		}
	}
	return all
}

func appendPayload(have, more []byte) []byte {
	if n := flow.MaxPayload - len(have); n > 0 {
		return append(have, more[:min(n, len(more))]...)
	}
	return have
}

func writePcap(t testing.TB, recs []flow.Record) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WritePcap(&b, recs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var (
	client4 = netip.MustParseAddr("10.20.0.7")
	server4 = netip.MustParseAddr("203.0.113.9")
	dns4    = netip.MustParseAddr("10.20.0.1")
	client6 = netip.MustParseAddr("2001:db8::7")
	server6 = netip.MustParseAddr("2001:db8:ffff::9")
	t0      = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC).UnixNano()
)

// TestWritePcapFlows writes one record at a time and checks the flow rebuilt from its packets:
// bytes each way exactly, start and duration exactly, the packets the doc comment promises, and
// the payload the reader will see.
func TestWritePcapFlows(t *testing.T) {
	const gb = 1 << 30
	tcp := func(out, in, pktsOut, pktsIn uint64, dur time.Duration) flow.Record {
		return flow.Record{Time: t0, Duration: int64(dur), Src: client4, Dst: server4, SrcPort: 40000, DstPort: 443,
			Proto: flow.ProtoTCP, BytesOut: out, BytesIn: in, PktsOut: pktsOut, PktsIn: pktsIn}
	}
	with := func(r flow.Record, fn func(*flow.Record)) flow.Record { fn(&r); return r }
	for _, tc := range []struct {
		name            string
		rec             flow.Record
		pktsOut, pktsIn uint64 // 0: not checked
		payOut, payIn   string // prefix the captured payload must have
	}{
		{"small answered TCP", tcp(350, 90, 1, 1, 200*time.Millisecond), 4, 3, "", ""},
		{"gigabyte download", tcp(600, gb, 1, 900_000, 30*time.Second), 3 + ceilDiv(gb, 65495), 2 + ceilDiv(gb, 65495), "", ""},
		{"upload, reply last", tcp(3*gb/2, 40_000, 1, 1, 2*time.Minute), 0, 0, "", ""},
		{"ten hours, little data", tcp(2_000_000, 6_000_000, 1, 1, 10*time.Hour), 0, 0, "", ""},
		{"zero duration", tcp(60, 60, 1, 1, 0), 4, 3, "", ""},
		{"unanswered probe", with(tcp(0, 0, 1, 0, 0), func(r *flow.Record) { r.Action = flow.ActionBlock }), 1, 0, "", ""},
		{"SYN retransmissions", tcp(0, 0, 3, 0, 3*time.Second), 3, 0, "", ""},
		{"rejected: SYN, RST", tcp(0, 0, 1, 1, time.Millisecond), 1, 1, "", ""},
		{"one direction seen", tcp(180, 0, 3, 0, time.Second), 2, 0, "", ""},
		{"stratum payload", with(tcp(400, 300, 1, 1, 20*time.Second), func(r *flow.Record) {
			r.PayloadOut = stratumLogin(0)
			r.PayloadIn = []byte(`{"id":1,"jsonrpc":"2.0","error":null,"result":{"id":"1"}}`)
		}), 4, 3, `{"id":1,"jsonrpc":"2.0","method":"login"`, `{"id":1,"jsonrpc"`},
		{"TLS SNI", with(tcp(900, 4000, 1, 1, time.Second), func(r *flow.Record) { r.TLSSNI = "www.example.com" }), 4, 3, "\x16\x03\x01", ""},
		{"HTTP request", with(tcp(500, 4000, 1, 1, time.Second), func(r *flow.Record) {
			r.DstPort, r.HTTPHost, r.UserAgent = 80, "example.org", "curl/8.5.0"
		}), 4, 3, "GET / HTTP/1.1\r\nHost: example.org\r\nUser-Agent: curl/8.5.0\r\n", ""},
		{"IPv6 TCP", with(tcp(5000, 70_000, 4, 60, time.Second), func(r *flow.Record) { r.Src, r.Dst = client6, server6 }), 5, 4, "", ""},
		{"UDP datagrams", flow.Record{Time: t0, Duration: int64(50 * time.Millisecond), Src: client4, Dst: server4, SrcPort: 5000,
			DstPort: 41234, Proto: flow.ProtoUDP, BytesOut: 1000, BytesIn: 3001, PktsOut: 2, PktsIn: 3}, 2, 3, "", ""},
		{"UDP with no reply", flow.Record{Time: t0, Src: client4, Dst: server4, SrcPort: 5000, DstPort: 123,
			Proto: flow.ProtoUDP, BytesOut: 76, PktsOut: 1}, 1, 0, "", ""},
		{"UDP over minutes", flow.Record{Time: t0, Duration: int64(10 * time.Minute), Src: client4, Dst: server4, SrcPort: 5000,
			DstPort: 4500, Proto: flow.ProtoUDP, BytesOut: 100, BytesIn: 100, PktsOut: 1, PktsIn: 1}, 16, 16, "", ""},
		{"UDP jumbo", flow.Record{Time: t0, Src: client6, Dst: server6, SrcPort: 5000, DstPort: 9,
			Proto: flow.ProtoUDP, BytesOut: 200_000, PktsOut: 1}, 4, 0, "", ""},
		{"ICMP echo", flow.Record{Time: t0, Duration: int64(time.Second), Src: client4, Dst: server4, SrcPort: 8,
			Proto: flow.ProtoICMP, BytesOut: 112, BytesIn: 112, PktsOut: 2, PktsIn: 2}, 2, 2, "", ""},
		{"ICMPv6 echo", flow.Record{Time: t0, Src: client6, Dst: server6, Proto: flow.ProtoICMPv6, BytesOut: 56, PktsOut: 1}, 1, 0, "", ""},
		{"GRE", flow.Record{Time: t0, Src: client4, Dst: server4, Proto: 47, BytesOut: 1500, BytesIn: 10, PktsOut: 1, PktsIn: 1}, 1, 1, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flows := pcapFlows(t, decodePcap(t, writePcap(t, []flow.Record{tc.rec})))
			if len(flows) != 1 {
				t.Fatalf("%d flows rebuilt, want 1", len(flows))
			}
			r, f := &tc.rec, flows[0]
			if f.Src != r.Src || f.Dst != r.Dst || f.DstPort != r.DstPort && r.Proto != flow.ProtoICMP && r.Proto != flow.ProtoICMPv6 {
				t.Errorf("flow %v:%d → %v:%d, want %v → %v:%d", f.Src, f.SrcPort, f.Dst, f.DstPort, r.Src, r.Dst, r.DstPort)
			}
			if f.Time != r.Time || f.Duration != r.Duration {
				t.Errorf("start %d duration %v, want %d and %v", f.Time, time.Duration(f.Duration), r.Time, time.Duration(r.Duration))
			}
			if f.BytesOut != r.BytesOut || f.BytesIn != r.BytesIn {
				t.Errorf("bytes %d/%d, want %d/%d", f.BytesOut, f.BytesIn, r.BytesOut, r.BytesIn)
			}
			if tc.pktsOut > 0 && (f.PktsOut != tc.pktsOut || f.PktsIn != tc.pktsIn) {
				t.Errorf("packets %d/%d, want %d/%d", f.PktsOut, f.PktsIn, tc.pktsOut, tc.pktsIn)
			}
			if !bytes.HasPrefix(f.PayloadOut, []byte(tc.payOut)) || !bytes.HasPrefix(f.PayloadIn, []byte(tc.payIn)) {
				t.Errorf("payloads %q / %q, want prefixes %q / %q", f.PayloadOut, f.PayloadIn, tc.payOut, tc.payIn)
			}
			if len(r.PayloadOut) > 0 && !bytes.Equal(f.PayloadOut, r.PayloadOut) {
				t.Errorf("payload out %q, want the record's %q", f.PayloadOut, r.PayloadOut)
			}
		})
	}
}

// TestWritePcapKeepsReaderTimeouts checks that no two packets of a flow are further apart than
// the writer's gaps, so the reader's idle timeouts never split a long flow.
func TestWritePcapKeepsReaderTimeouts(t *testing.T) {
	recs := []flow.Record{
		{Time: t0, Duration: int64(10 * time.Hour), Src: client4, Dst: server4, SrcPort: 40001, DstPort: 22, Proto: flow.ProtoTCP, BytesOut: 10, BytesIn: 10},
		{Time: t0, Duration: int64(3 * time.Hour), Src: client4, Dst: server4, SrcPort: 40002, DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 500, PktsOut: 2},
		{Time: t0, Duration: int64(time.Hour), Src: client4, Dst: server4, SrcPort: 40003, DstPort: 4500, Proto: flow.ProtoUDP, BytesOut: 3, PktsOut: 1},
	}
	pkts := decodePcap(t, writePcap(t, recs))
	last := map[uint16]int64{}
	for _, d := range pkts {
		port := d.sport
		if d.src != client4 {
			port = d.dport
		}
		gap := pcapTCPGap
		if d.proto != flow.ProtoTCP {
			gap = pcapUDPGap
		}
		if l, ok := last[port]; ok && time.Duration(d.time-l) > gap {
			t.Errorf("flow from port %d: %v between packets, more than %v", port, time.Duration(d.time-l), gap)
		}
		last[port] = d.time
	}
	flows := pcapFlows(t, pkts)
	if len(flows) != len(recs) {
		t.Fatalf("%d flows rebuilt, want %d", len(flows), len(recs))
	}
	for i, f := range flows {
		if f.Duration != recs[i].Duration || f.BytesOut != recs[i].BytesOut || f.BytesIn != recs[i].BytesIn {
			t.Errorf("flow %d: %v, %d/%d bytes; want %v, %d/%d", i, time.Duration(f.Duration), f.BytesOut, f.BytesIn,
				time.Duration(recs[i].Duration), recs[i].BytesOut, recs[i].BytesIn)
		}
	}
}

// TestWritePcapDNS checks that a DNS flow and its event become one flow whose datagrams are the
// query and the response (of the flow's sizes exactly, for every padding case), that an event
// without a flow gets an exchange of its own, and that a name DNS cannot carry leaves zeros.
func TestWritePcapDNS(t *testing.T) {
	site := netip.MustParseAddr("198.51.100.20")
	v6 := netip.MustParseAddr("2001:db8::20")
	f := func(name string, qtype uint16, answers []netip.Addr, out, in, wantOut, wantIn uint64, wantRcode layers.DNSResponseCode) {
		t.Helper()
		conn := flow.Record{Time: t0, Duration: int64(2 * time.Millisecond), Src: client4, Dst: dns4, SrcPort: 50000, DstPort: 53,
			Proto: flow.ProtoUDP, BytesOut: out, BytesIn: in, PktsOut: 1, PktsIn: 1}
		ev := flow.Record{Time: t0, Src: client4, Dst: dns4, SrcPort: 50001, DstPort: 53, Proto: flow.ProtoUDP,
			Kind: flow.KindEvent, DNSQuery: name, DNSType: qtype, DNSAnswers: answers}
		flows := pcapFlows(t, decodePcap(t, writePcap(t, []flow.Record{conn, ev})))
		if len(flows) != 1 {
			t.Fatalf("%s: %d flows, want 1 (the event must not be a second flow)", name, len(flows))
		}
		g := flows[0]
		if g.BytesOut != wantOut || g.BytesIn != wantIn || g.PktsOut != 1 || g.PktsIn != 1 {
			t.Errorf("%s: %d/%d bytes in %d/%d packets, want %d/%d in 1/1", name, g.BytesOut, g.BytesIn, g.PktsOut, g.PktsIn, wantOut, wantIn)
		}
		if g.dnsEvents != 1 || g.dnsQuery != name || g.dnsType != max(qtype, 1) || !slices.Equal(g.dnsAnswers, answers) || g.dnsRcode != wantRcode {
			t.Errorf("%s: response %q type %d answers %v rcode %v (%d), want %q %d %v %v", name, g.dnsQuery, g.dnsType, g.dnsAnswers,
				g.dnsRcode, g.dnsEvents, name, qtype, answers, wantRcode)
		}
	}
	// The office's lookups: 40+len out, 56+len+16·answers in (OPT padding both ways).
	f("www12.example-site.com", 1, []netip.Addr{site}, 40+22, 56+22+16, 40+22, 56+22+16, layers.DNSResponseCodeNoErr)
	// A longer name leaves 12 bytes: trailing zeros, no OPT fits.
	f("mx.www123.example-site.com", 15, []netip.Addr{site}, 40+26, 56+26+16, 40+26, 56+26+16, layers.DNSResponseCodeNoErr)
	// Exactly an empty OPT record's 11 bytes.
	f("abc.example", 1, []netip.Addr{site}, 18+11+11, 56+11, 18+11+11, 56+11, layers.DNSResponseCodeNoErr)
	// A TXT tunnel query without answers: NXDOMAIN, big padding.
	f(strings.Repeat("a", 50)+".t.exf1l-data.com", 16, nil, 230, 200, 230, 200, layers.DNSResponseCodeNXDomain)
	// Two answers, one IPv6.
	f("dual.example.net", 28, []netip.Addr{site, v6}, 80, 160, 80, 160, layers.DNSResponseCodeNoErr)
	// Datagrams too small for the messages grow to them (uncompressed answer names).
	f("small.example.org", 1, []netip.Addr{site}, 10, 10, 18+17, 18+17+17+16, layers.DNSResponseCodeNoErr)

	t.Run("event without flow", func(t *testing.T) {
		ev := flow.Record{Time: t0, Duration: int64(time.Millisecond), Src: client4, Dst: dns4, SrcPort: 50001, DstPort: 53,
			Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: "lonely.example", DNSType: 1, DNSAnswers: []netip.Addr{site}}
		flows := pcapFlows(t, decodePcap(t, writePcap(t, []flow.Record{ev})))
		if len(flows) != 1 || flows[0].dnsQuery != "lonely.example" || flows[0].Duration != ev.Duration || flows[0].SrcPort != 50001 {
			t.Fatalf("flows %+v, want one exchange for the event", flows)
		}
	})
	t.Run("name DNS cannot carry", func(t *testing.T) {
		conn := flow.Record{Time: t0, Src: client4, Dst: dns4, SrcPort: 50000, DstPort: 53, Proto: flow.ProtoUDP,
			BytesOut: 100, BytesIn: 100, PktsOut: 1, PktsIn: 1}
		ev := conn
		ev.Kind, ev.DNSQuery = flow.KindEvent, "bad..name"
		flows := pcapFlows(t, decodePcap(t, writePcap(t, []flow.Record{conn, ev})))
		if len(flows) != 1 || flows[0].BytesOut != 100 || flows[0].BytesIn != 100 || flows[0].dnsEvents != 0 {
			t.Fatalf("flows %+v, want the flow alone with its bytes and no DNS", flows)
		}
	})
	t.Run("DNS over TCP", func(t *testing.T) {
		conn := flow.Record{Time: t0, Duration: int64(time.Millisecond), Src: client4, Dst: dns4, SrcPort: 50000, DstPort: 53,
			Proto: flow.ProtoTCP, BytesOut: 300, BytesIn: 500, PktsOut: 1, PktsIn: 1}
		ev := conn
		ev.Kind, ev.DNSQuery, ev.DNSType, ev.DNSAnswers = flow.KindEvent, "tcp.example.com", 1, []netip.Addr{site}
		flows := pcapFlows(t, decodePcap(t, writePcap(t, []flow.Record{conn, ev})))
		if len(flows) != 1 || flows[0].BytesOut != 300 || flows[0].BytesIn != 500 {
			t.Fatalf("flows %+v, want one with the record's bytes", flows)
		}
		var m layers.DNS
		p := flows[0].PayloadIn
		if len(p) < 2 || int(binary.BigEndian.Uint16(p)) > len(p)-2 || m.DecodeFromBytes(p[2:2+binary.BigEndian.Uint16(p)], gopacket.NilDecodeFeedback) != nil ||
			len(m.Answers) != 1 || string(m.Questions[0].Name) != "tcp.example.com" {
			t.Fatalf("response payload %q, want a length-prefixed DNS response with one answer", p)
		}
	})
}

// TestWritePcapPortReuse checks that flows the simulator gave the same 5-tuple stay apart: a
// second flow inside the reader's idle timeout gets the next client port, a later one keeps its
// own.
func TestWritePcapPortReuse(t *testing.T) {
	mk := func(at time.Duration, proto uint8) flow.Record {
		return flow.Record{Time: t0 + int64(at), Duration: int64(time.Second), Src: client4, Dst: server4, SrcPort: 40000,
			DstPort: 443, Proto: proto, BytesOut: 100, BytesIn: 100, PktsOut: 1, PktsIn: 1}
	}
	for _, tc := range []struct {
		name  string
		recs  []flow.Record
		ports []uint16
	}{
		{"TCP overlapping", []flow.Record{mk(0, flow.ProtoTCP), mk(500*time.Millisecond, flow.ProtoTCP)}, []uint16{40000, 40001}},
		{"TCP 4 min apart", []flow.Record{mk(0, flow.ProtoTCP), mk(4*time.Minute, flow.ProtoTCP)}, []uint16{40000, 40001}},
		{"TCP 6 min apart", []flow.Record{mk(0, flow.ProtoTCP), mk(6*time.Minute, flow.ProtoTCP)}, []uint16{40000, 40000}},
		{"UDP 30 s apart", []flow.Record{mk(0, flow.ProtoUDP), mk(30*time.Second, flow.ProtoUDP)}, []uint16{40000, 40001}},
		{"UDP 2 min apart", []flow.Record{mk(0, flow.ProtoUDP), mk(2*time.Minute, flow.ProtoUDP)}, []uint16{40000, 40000}},
		{"three at once", []flow.Record{mk(0, flow.ProtoUDP), mk(0, flow.ProtoUDP), mk(0, flow.ProtoUDP)}, []uint16{40000, 40001, 40002}},
		{"TCP and UDP share ports", []flow.Record{mk(0, flow.ProtoTCP), mk(0, flow.ProtoUDP)}, []uint16{40000, 40000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flows := pcapFlows(t, decodePcap(t, writePcap(t, tc.recs)))
			var ports []uint16
			for _, f := range flows {
				ports = append(ports, f.SrcPort)
			}
			if !slices.Equal(ports, tc.ports) {
				t.Errorf("client ports %v, want %v", ports, tc.ports)
			}
		})
	}
}

// TestWritePcapErrors checks that records a capture cannot hold are errors naming the record.
func TestWritePcapErrors(t *testing.T) {
	f := func(r flow.Record, want string) {
		t.Helper()
		err := WritePcap(io.Discard, []flow.Record{{Time: t0, Src: client4, Dst: server4, Proto: flow.ProtoUDP, BytesOut: 1}, r})
		if err == nil || !strings.Contains(err.Error(), "record 1") || !strings.Contains(err.Error(), want) {
			t.Errorf("err %v, want one naming record 1 and %q", err, want)
		}
	}
	f(flow.Record{Time: t0, Src: client4, Dst: server6, Proto: flow.ProtoTCP}, "one family")                               // mixed families
	f(flow.Record{Time: t0, Dst: server4, Proto: flow.ProtoTCP}, "valid")                                                  // no source
	f(flow.Record{Time: t0 + 1<<62, Src: client4, Dst: server4, Proto: flow.ProtoTCP}, "outside pcap")                     // after 2106
	f(flow.Record{Time: t0, Src: client4, Dst: server4, Proto: flow.ProtoUDP, PktsOut: 1 << 40}, "more than")              // too many packets
	f(flow.Record{Time: t0, Src: client4, Dst: server4, Proto: flow.ProtoTCP, BytesOut: 1 << 60, BytesIn: 1}, "more than") // too many bytes
	f(flow.Record{Time: t0, Duration: 1 << 62, Src: client4, Dst: server4, Proto: flow.ProtoTCP}, "more than")             // too long
	f(flow.Record{Time: t0, Src: client4, Dst: server4, Proto: 41, BytesOut: 100}, "tunnel")                               // IPv6 in IPv4
	f(flow.Record{Time: t0, Src: client6, Dst: server6, Proto: 44, BytesOut: 100}, "extension header")                     // IPv6 fragment header
}

// TestWritePcapOrderAndUnsorted checks that packets of overlapping flows interleave in time
// order, and that records out of time order give the capture of the sorted records.
func TestWritePcapOrderAndUnsorted(t *testing.T) {
	long := flow.Record{Time: t0, Duration: int64(time.Minute), Src: client4, Dst: server4, SrcPort: 40000, DstPort: 443,
		Proto: flow.ProtoTCP, BytesOut: 500_000, BytesIn: 500_000}
	short := flow.Record{Time: t0 + int64(10*time.Second), Duration: int64(time.Second), Src: client4, Dst: server4, SrcPort: 40001,
		DstPort: 80, Proto: flow.ProtoTCP, BytesOut: 100, BytesIn: 100}
	sorted := writePcap(t, []flow.Record{long, short})
	if !bytes.Equal(writePcap(t, []flow.Record{short, long}), sorted) {
		t.Error("unsorted records give another capture than sorted ones")
	}
	pkts := decodePcap(t, sorted) // checks time order
	first := slices.IndexFunc(pkts, func(d decoded) bool { return d.dport == 80 })
	last := first
	for i, d := range pkts {
		if d.sport == 80 || d.dport == 80 {
			last = i
		}
	}
	if first < 1 || last >= len(pkts)-1 || pkts[first-1].dport != 443 || pkts[last+1].sport != 443 && pkts[last+1].dport != 443 {
		t.Error("the short flow's packets are not between the long flow's")
	}
}

// TestWritePcapScenario writes a whole office scenario and rebuilds it: every flow record comes
// back as one flow with its bytes, start and duration (matched on start, addresses, destination
// port and protocol, since the writer may move a client port), no flow is merged or split, and
// every DNS event comes back as one response with its client, time, query, type and answers.
func TestWritePcapScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("a whole scenario")
	}
	sc, err := Office(OfficeConfig{Config: Config{Hosts: MinOfficeHosts, Days: 1, Seed: 5}})
	if err != nil {
		t.Fatal(err)
	}
	data := writePcap(t, sc.Records)
	flows := pcapFlows(t, decodePcap(t, data))
	checkDNSEvents(t, sc.Records, flows)
	type key struct {
		time     int64
		src, dst netip.Addr
		dport    uint16
		proto    uint8
	}
	got := map[key][]*rebuilt{}
	for _, f := range flows {
		k := key{f.Time, f.Src, f.Dst, f.DstPort, f.Proto}
		got[k] = append(got[k], f)
	}
	var nflows, nevents, moved int
	for i := range sc.Records {
		r := &sc.Records[i]
		if r.Kind != flow.KindFlow {
			nevents++
			continue
		}
		nflows++
		k := key{r.Time, r.Src, r.Dst, r.DstPort, r.Proto}
		cands := got[k]
		j := slices.IndexFunc(cands, func(f *rebuilt) bool {
			return f.BytesOut == r.BytesOut && f.BytesIn == r.BytesIn && f.Duration == r.Duration
		})
		if j < 0 {
			t.Fatalf("record %d %+v: no flow with its bytes and duration among %d rebuilt with its key", i, *r, len(cands))
		}
		if cands[j].SrcPort != r.SrcPort {
			moved++
		}
		if len(r.PayloadOut) > 0 && intel.StratumMethod(cands[j].PayloadOut) != "login" {
			t.Errorf("record %d: miner flow's payload %q is not a Stratum login", i, cands[j].PayloadOut)
		}
		got[k] = slices.Delete(cands, j, j+1)
	}
	if len(flows) != nflows {
		t.Errorf("%d flows rebuilt from %d flow records", len(flows), nflows)
	}
	t.Logf("office 60 hosts × 1 day: %d records (%d flows, %d DNS events), capture %.1f MB, %d client ports moved",
		len(sc.Records), nflows, nevents, float64(len(data))/1e6, moved)
}

// checkDNSEvents compares the DNS events of recs with the responses in flows.
func checkDNSEvents(t *testing.T, recs []flow.Record, flows []*rebuilt) {
	t.Helper()
	type ev struct {
		time    int64
		src     netip.Addr
		query   string
		qtype   uint16
		answers string
	}
	join := func(as []netip.Addr) string {
		var b strings.Builder
		for _, a := range as {
			b.WriteString(a.String() + ",")
		}
		return b.String()
	}
	var want, got []ev
	for _, r := range recs {
		if r.DNSQuery != "" {
			want = append(want, ev{r.Time, r.Src, r.DNSQuery, max(r.DNSType, 1), join(r.DNSAnswers)})
		}
	}
	for _, f := range flows {
		if f.dnsEvents > 1 {
			t.Errorf("flow %v → %v:%d at %d: %d DNS responses, want 1", f.Src, f.Dst, f.DstPort, f.Time, f.dnsEvents)
		}
		if f.dnsEvents > 0 {
			got = append(got, ev{f.Time, f.Src, f.dnsQuery, f.dnsType, join(f.dnsAnswers)})
		}
	}
	byAll := func(a, b ev) int {
		return cmp.Or(cmp.Compare(a.time, b.time), a.src.Compare(b.src), cmp.Compare(a.query, b.query))
	}
	slices.SortFunc(want, byAll)
	slices.SortFunc(got, byAll)
	if len(want) != len(got) {
		t.Fatalf("%d DNS events, %d responses", len(want), len(got))
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("DNS event %+v, response %+v", want[i], got[i])
		}
	}
}

// TestStratumOnPlantedMinersOnly checks that the simulator gives a Stratum login to the pool
// sessions of planted miners and to nothing else.
func TestStratumOnPlantedMinersOnly(t *testing.T) {
	office, err := Office(OfficeConfig{Config: Config{Hosts: MinOfficeHosts, Days: 1, Seed: 3}})
	if err != nil {
		t.Fatal(err)
	}
	miner, err := MinerNetwork(Config{Hosts: 12, Days: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []*Scenario{office, miner} {
		withLogin := map[string]int{}
		for _, r := range sc.Records {
			if m := intel.StratumMethod(r.PayloadOut); m != "" {
				withLogin[r.Src.String()]++
				if m != "login" || len(r.PayloadOut) > flow.MaxPayload || uint64(len(r.PayloadOut)) > r.BytesOut {
					t.Errorf("%s: payload %q of %d bytes on a flow of %d", sc.Truth.Scenario, r.PayloadOut, len(r.PayloadOut), r.BytesOut)
				}
			} else if len(r.PayloadOut) > 0 {
				t.Errorf("%s: payload %q is not a Stratum login", sc.Truth.Scenario, r.PayloadOut)
			}
		}
		for ip, cats := range sc.Truth.Hosts {
			if slices.Contains(cats, "miner") && withLogin[ip] < 100 {
				t.Errorf("%s: planted miner %s has %d flows with a login", sc.Truth.Scenario, ip, withLogin[ip])
			}
		}
		for ip := range withLogin {
			if !slices.Contains(sc.Truth.Hosts[ip], "miner") {
				t.Errorf("%s: %s is no planted miner but has a Stratum login", sc.Truth.Scenario, ip)
			}
		}
	}
}

// TestWriteScenarioPcap checks the pcap format of WriteScenario: capture.pcap beside rdns.txt and
// truth.json, and a capture on stdout.
func TestWriteScenarioPcap(t *testing.T) {
	sc, err := MinerNetwork(Config{Hosts: 12, Days: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/"
	if err := WriteScenario(sc, "pcap", dir, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"capture.pcap", "rdns.txt", "truth.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	var stdout bytes.Buffer
	if err := WriteScenario(sc, "pcap", "-", &stdout); err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(filepath.Join(dir, "capture.pcap"))
	if !bytes.Equal(stdout.Bytes(), file) || binary.LittleEndian.Uint32(file) != 0xa1b23c4d {
		t.Errorf("stdout capture (%d bytes) differs from the file (%d) or is not a nanosecond pcap", stdout.Len(), len(file))
	}
	if !slices.Contains(Formats, "pcap") {
		t.Error("Formats does not list pcap")
	}
}

// BenchmarkWritePcap writes an office scenario (60 hosts, 1 day, gigabyte transfers included)
// as a capture and reports records and packets per second and the capture's size.
func BenchmarkWritePcap(b *testing.B) {
	sc, err := Office(OfficeConfig{Config: Config{Hosts: MinOfficeHosts, Days: 1, Seed: 5}})
	if err != nil {
		b.Fatal(err)
	}
	var capture bytes.Buffer
	if err := WritePcap(&capture, sc.Records); err != nil {
		b.Fatal(err)
	}
	size := capture.Len()
	r, err := pcapgo.NewReader(&capture)
	if err != nil {
		b.Fatal(err)
	}
	packets := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			break
		}
		packets++
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := WritePcap(io.Discard, sc.Records); err != nil {
			b.Fatal(err)
		}
	}
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(len(sc.Records))*float64(b.N)/s, "records/s")
	b.ReportMetric(float64(packets)*float64(b.N)/s, "packets/s")
	b.ReportMetric(float64(size)/1e6, "MB/capture")
	b.ReportMetric(float64(packets), "packets/capture")
}

// FuzzWritePcap writes one flow (and, with a query, its DNS event) from fuzzed sizes, durations,
// payloads and names, and checks that the writer does not fail or panic, that the capture
// decodes (time order, lengths, checksums: decodePcap) and that it rebuilds to one flow with the
// record's start, duration and bytes (more bytes only where a DNS message needed them).
func FuzzWritePcap(f *testing.F) {
	f.Add(uint8(0), false, uint64(350), uint64(90), uint64(1), uint64(1), int64(200e6), []byte("hello"), "www.example.com", "", uint8(0))
	f.Add(uint8(1), false, uint64(40), uint64(72), uint64(1), uint64(1), int64(2e6), []byte{}, "", "www.example.com", uint8(1))
	f.Add(uint8(0), true, uint64(0), uint64(0), uint64(1), uint64(0), int64(0), []byte{}, "", "", uint8(0))
	f.Add(uint8(2), false, uint64(112), uint64(112), uint64(2), uint64(2), int64(3e9), []byte{}, "", "", uint8(0))
	f.Fuzz(func(t *testing.T, protoSel uint8, v6 bool, out, in, pktsOut, pktsIn uint64, dur int64, payload []byte, sni, query string, answers uint8) {
		protos := []uint8{flow.ProtoTCP, flow.ProtoUDP, flow.ProtoICMP, flow.ProtoICMPv6, 47, 50, 132}
		r := flow.Record{Time: t0, Duration: dur % int64(2*time.Hour), Src: client4, Dst: server4, SrcPort: 40000, DstPort: 443,
			Proto: protos[int(protoSel)%len(protos)], BytesOut: out % (1 << 22), BytesIn: in % (1 << 22), PktsOut: pktsOut % 64,
			PktsIn: pktsIn % 64, PayloadOut: payload[:min(len(payload), flow.MaxPayload)], TLSSNI: sni}
		if v6 {
			r.Src, r.Dst = client6, server6
		}
		if v6 && (r.Proto == 47 || r.Proto == 50 || r.Proto == 132) {
			// An empty datagram is an error (see TestWritePcapErrors); give every one a byte.
			gaps := uint64(r.Duration/int64(pcapUDPGap)) + 2
			r.BytesOut = max(r.BytesOut, r.PktsOut, gaps)
			if r.BytesIn > 0 || r.PktsIn > 0 {
				r.BytesIn = max(r.BytesIn, r.PktsIn, gaps)
			}
		}
		recs := []flow.Record{r}
		dns := query != "" && (r.Proto == flow.ProtoTCP || r.Proto == flow.ProtoUDP)
		if dns {
			recs[0].DstPort = 53
			ev := recs[0]
			ev.Kind, ev.DNSQuery, ev.DNSType, ev.PayloadOut = flow.KindEvent, query, uint16(answers), nil
			for i := range answers % 8 {
				ev.DNSAnswers = append(ev.DNSAnswers, netip.AddrFrom4([4]byte{192, 0, 2, i}))
			}
			recs = append(recs, ev)
		}
		flows := pcapFlows(t, decodePackets(t, writePcap(t, recs), false))
		if len(flows) != 1 {
			t.Fatalf("%d flows rebuilt, want 1", len(flows))
		}
		g := flows[0]
		r = recs[0]
		if g.Time != r.Time || g.Duration != max(r.Duration, 0) {
			t.Errorf("start %d duration %d, want %d and %d", g.Time, g.Duration, r.Time, r.Duration)
		}
		if g.BytesOut < r.BytesOut || g.BytesIn < r.BytesIn || !dns && (g.BytesOut != r.BytesOut || g.BytesIn != r.BytesIn) {
			t.Errorf("bytes %d/%d, want %d/%d", g.BytesOut, g.BytesIn, r.BytesOut, r.BytesIn)
		}
		if want := r.PayloadOut[:min(uint64(len(r.PayloadOut)), r.BytesOut)]; r.Proto == flow.ProtoTCP && !bytes.HasPrefix(g.PayloadOut, want) {
			t.Errorf("payload %q, want it to start with %q", g.PayloadOut, want)
		}
	})
}

// TestWritePcapThroughReader reads the writer's captures with the real pcap reader
// (internal/ingest) and checks that each record comes back: one flow with its start, duration,
// addresses, responder port, protocol and bytes, its payload and names, and a DNS event with the
// query and answers.
func TestWritePcapThroughReader(t *testing.T) {
	site := netip.MustParseAddr("198.51.100.20")
	base := flow.Record{Time: t0, Duration: int64(300 * time.Millisecond), Src: client4, Dst: server4, SrcPort: 40000, DstPort: 443,
		Proto: flow.ProtoTCP, BytesOut: 900, BytesIn: 40_000, PktsOut: 1, PktsIn: 34}
	with := func(fn func(*flow.Record)) flow.Record { r := base; fn(&r); return r }
	for _, tc := range []struct {
		name string
		recs []flow.Record
	}{
		{"TCP", []flow.Record{base}},
		{"TCP over IPv6, 10 hours", []flow.Record{with(func(r *flow.Record) { r.Src, r.Dst, r.Duration = client6, server6, int64(10*time.Hour) })}},
		{"gigabyte upload", []flow.Record{with(func(r *flow.Record) { r.BytesOut, r.Duration = 1<<30, int64(90*time.Second) })}},
		{"unanswered probe", []flow.Record{with(func(r *flow.Record) { r.BytesOut, r.BytesIn, r.PktsIn, r.Duration = 0, 0, 0, 0 })}},
		{"rejected", []flow.Record{with(func(r *flow.Record) { r.BytesOut, r.BytesIn, r.PktsIn = 0, 0, 1 })}},
		{"one direction seen", []flow.Record{with(func(r *flow.Record) { r.BytesIn, r.PktsIn = 0, 0 })}},
		{"stratum", []flow.Record{with(func(r *flow.Record) { r.PayloadOut = stratumLogin(1) })}},
		{"TLS", []flow.Record{with(func(r *flow.Record) { r.TLSSNI = "www.example.com" })}},
		{"HTTP", []flow.Record{with(func(r *flow.Record) { r.DstPort, r.HTTPHost, r.UserAgent = 80, "example.org", "curl/8.5.0" })}},
		{"UDP", []flow.Record{with(func(r *flow.Record) { r.Proto, r.DstPort, r.PktsOut, r.PktsIn = flow.ProtoUDP, 41234, 2, 3 })}},
		{"ICMP echo", []flow.Record{with(func(r *flow.Record) {
			r.Proto, r.SrcPort, r.DstPort, r.BytesOut, r.BytesIn, r.PktsOut, r.PktsIn = flow.ProtoICMP, 8, 0, 112, 112, 2, 2
		})}},
		{"GRE", []flow.Record{with(func(r *flow.Record) { r.Proto, r.SrcPort, r.DstPort, r.PktsOut, r.PktsIn = 47, 0, 0, 1, 1 })}},
		{"DNS lookup", []flow.Record{
			{Time: t0, Duration: int64(2 * time.Millisecond), Src: client4, Dst: dns4, SrcPort: 50000, DstPort: 53, Proto: flow.ProtoUDP,
				BytesOut: 40 + 15, BytesIn: 56 + 15 + 16, PktsOut: 1, PktsIn: 1},
			{Time: t0, Src: client4, Dst: dns4, SrcPort: 50001, DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent,
				DNSQuery: "www.example.com", DNSType: 1, DNSAnswers: []netip.Addr{site}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, sum := readBack(t, "capture.pcap", writePcap(t, tc.recs), ingest.Options{})
			if sum.Skipped != 0 || sum.Formats()["pcap"] != 1 {
				t.Fatalf("formats %v, %d skipped", sum.Formats(), sum.Skipped)
			}
			var flows, events []flow.Record
			for _, r := range got {
				if r.Kind == flow.KindFlow {
					flows = append(flows, r)
				} else {
					events = append(events, r)
				}
			}
			w := tc.recs[0]
			if len(flows) != 1 {
				t.Fatalf("%d flows read, want 1: %+v", len(flows), flows)
			}
			g := flows[0]
			if g.Time != w.Time || g.Duration != w.Duration || g.Src != w.Src || g.Dst != w.Dst || g.DstPort != w.DstPort ||
				g.Proto != w.Proto || g.BytesOut != w.BytesOut || g.BytesIn != w.BytesIn {
				t.Errorf("read  %v:%d → %v:%d/%d at %d for %v, %d/%d B\nwant %v:%d → %v:%d/%d at %d for %v, %d/%d B",
					g.Src, g.SrcPort, g.Dst, g.DstPort, g.Proto, g.Time, time.Duration(g.Duration), g.BytesOut, g.BytesIn,
					w.Src, w.SrcPort, w.Dst, w.DstPort, w.Proto, w.Time, time.Duration(w.Duration), w.BytesOut, w.BytesIn)
			}
			if len(w.PayloadOut) > 0 && !bytes.Equal(g.PayloadOut, w.PayloadOut) {
				t.Errorf("payload %q, want %q", g.PayloadOut, w.PayloadOut)
			}
			if g.TLSSNI != w.TLSSNI || g.HTTPHost != w.HTTPHost || g.UserAgent != w.UserAgent {
				t.Errorf("SNI %q host %q UA %q, want %q %q %q", g.TLSSNI, g.HTTPHost, g.UserAgent, w.TLSSNI, w.HTTPHost, w.UserAgent)
			}
			wantEvents := tc.recs[1:]
			if len(events) != len(wantEvents) {
				t.Fatalf("%d events read, want %d: %+v", len(events), len(wantEvents), events)
			}
			for i, e := range events {
				we := wantEvents[i]
				if e.DNSQuery != we.DNSQuery || e.DNSType != we.DNSType || !slices.Equal(e.DNSAnswers, we.DNSAnswers) || e.Src != we.Src {
					t.Errorf("event %q type %d answers %v from %v, want %q %d %v from %v", e.DNSQuery, e.DNSType, e.DNSAnswers, e.Src,
						we.DNSQuery, we.DNSType, we.DNSAnswers, we.Src)
				}
			}
		})
	}
}
