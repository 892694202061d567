package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Synthetic captures: packets are built with gopacket layers and written with pcapgo, so the
// reader is checked against an independent encoder.

var pcapT0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// capPkt is one packet of a synthetic capture.
type capPkt struct {
	at   time.Duration // since pcapT0
	data []byte        // the whole frame, of the capture's link type
	snap int           // captured length when > 0; the wire length stays len(data)
}

// serialize encodes layers with lengths and checksums filled in.
func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	var netLayer gopacket.NetworkLayer
	for _, l := range ls {
		switch l := l.(type) {
		case *layers.IPv4:
			netLayer = l
		case *layers.IPv6:
			netLayer = l
		case *layers.TCP:
			if err := l.SetNetworkLayerForChecksum(netLayer); err != nil {
				t.Fatal(err)
			}
		case *layers.UDP:
			if err := l.SetNetworkLayerForChecksum(netLayer); err != nil {
				t.Fatal(err)
			}
		case *layers.ICMPv6:
			if err := l.SetNetworkLayerForChecksum(netLayer); err != nil {
				t.Fatal(err)
			}
		}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return slices.Clone(buf.Bytes())
}

var (
	macA = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0a}
	macB = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x0b}
)

// ipLayer returns an IPv4 or IPv6 header (by the addresses' family) for proto.
func ipLayer(src, dst string, proto layers.IPProtocol) (gopacket.SerializableLayer, layers.EthernetType) {
	s, d := net.ParseIP(src), net.ParseIP(dst)
	if s.To4() != nil {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 1, Protocol: proto, SrcIP: s.To4(), DstIP: d.To4()}, layers.EthernetTypeIPv4
	}
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: s, DstIP: d}, layers.EthernetTypeIPv6
}

// ethFrame wraps an IP packet from src to dst carrying the given transport layers in Ethernet.
func ethFrame(t testing.TB, src, dst string, proto layers.IPProtocol, rest ...gopacket.SerializableLayer) []byte {
	t.Helper()
	ip, et := ipLayer(src, dst, proto)
	return serialize(t, append([]gopacket.SerializableLayer{&layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}, ip}, rest...)...)
}

func udpFrame(t testing.TB, src string, sport uint16, dst string, dport uint16, payload []byte) []byte {
	t.Helper()
	return ethFrame(t, src, dst, layers.IPProtocolUDP,
		&layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}, gopacket.Payload(payload))
}

// tcpTalk writes one TCP conversation packet by packet, keeping both sides' sequence numbers.
type tcpTalk struct {
	t              testing.TB
	client, server string
	cport, sport   uint16
	cseq, sseq     uint32 // next sequence number of each side
	at             time.Duration
	pkts           []capPkt
}

func newTalk(t testing.TB, client string, cport uint16, server string, sport uint16) *tcpTalk {
	return &tcpTalk{t: t, client: client, server: server, cport: cport, sport: sport, cseq: 1000, sseq: 5_000_000}
}

// send adds a segment after gap with flags from "SAFRP" and payload, and returns its frame.
// The sequence number advances by the payload, SYN and FIN, as TCP's does.
func (c *tcpTalk) send(fromClient bool, gap time.Duration, flags, payload string) []byte {
	c.at += gap
	seq, ack := &c.cseq, c.sseq
	src, dst, sp, dp := c.client, c.server, c.cport, c.sport
	if !fromClient {
		seq, ack = &c.sseq, c.cseq
		src, dst, sp, dp = c.server, c.client, c.sport, c.cport
	}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), Seq: *seq, Window: 65535,
		SYN: strings.Contains(flags, "S"), ACK: strings.Contains(flags, "A"), FIN: strings.Contains(flags, "F"),
		RST: strings.Contains(flags, "R"), PSH: strings.Contains(flags, "P")}
	if tcp.ACK {
		tcp.Ack = ack
	}
	data := ethFrame(c.t, src, dst, layers.IPProtocolTCP, tcp, gopacket.Payload(payload))
	c.pkts = append(c.pkts, capPkt{at: c.at, data: data})
	adv := uint32(len(payload))
	if tcp.SYN {
		adv++
	}
	if tcp.FIN {
		adv++
	}
	if !tcp.RST {
		*seq += adv
	}
	return data
}

// handshake, close: the usual three packets each.
func (c *tcpTalk) handshake() {
	c.send(true, 0, "S", "")
	c.send(false, time.Millisecond, "SA", "")
	c.send(true, time.Millisecond, "A", "")
}

func (c *tcpTalk) close() {
	c.send(true, time.Millisecond, "FA", "")
	c.send(false, time.Millisecond, "FA", "")
	c.send(true, time.Millisecond, "A", "")
}

// writePcap writes packets as a libpcap file of link type link.
func writePcap(t testing.TB, link layers.LinkType, nano bool, pkts []capPkt) []byte {
	t.Helper()
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if nano {
		w = pcapgo.NewWriterNanos(&b)
	}
	if err := w.WriteFileHeader(262144, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		data := p.data
		if p.snap > 0 && p.snap < len(data) {
			data = data[:p.snap]
		}
		ci := gopacket.CaptureInfo{Timestamp: pcapT0.Add(p.at), CaptureLength: len(data), Length: len(p.data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// writePcapng writes packets as pcapng with one interface of link type link.
func writePcapng(t testing.TB, link layers.LinkType, pkts []capPkt) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, link)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		data := p.data
		if p.snap > 0 && p.snap < len(data) {
			data = data[:p.snap]
		}
		ci := gopacket.CaptureInfo{Timestamp: pcapT0.Add(p.at), CaptureLength: len(data), Length: len(p.data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readCapture reads a capture through Run (sniffing included) and splits flows from events.
func readCapture(t testing.TB, data []byte) (flows, events []flow.Record, st *FileStats) {
	t.Helper()
	tt, ok := t.(*testing.T)
	if !ok {
		t.Fatal("readCapture needs a *testing.T")
	}
	recs, st, err := readText(tt, "capture.bin", string(data), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Kind == flow.KindEvent {
			events = append(events, r)
		} else {
			flows = append(flows, r)
		}
	}
	slices.SortStableFunc(flows, func(a, b flow.Record) int { return int(a.Time - b.Time) })
	return flows, events, st
}

// flowSummary is the part of a flow record most cases check.
type flowSummary struct {
	Src, Dst          string // addr:port
	Proto             uint8
	PktsOut, PktsIn   uint64
	BytesOut, BytesIn uint64
	Start, Duration   time.Duration
}

func summarize(r flow.Record) flowSummary {
	return flowSummary{
		Src: netip.AddrPortFrom(r.Src, r.SrcPort).String(), Dst: netip.AddrPortFrom(r.Dst, r.DstPort).String(),
		Proto: r.Proto, PktsOut: r.PktsOut, PktsIn: r.PktsIn, BytesOut: r.BytesOut, BytesIn: r.BytesIn,
		Start: time.Duration(r.Time - pcapT0.UnixNano()), Duration: time.Duration(r.Duration),
	}
}

func summaries(recs []flow.Record) []flowSummary {
	out := make([]flowSummary, len(recs))
	for i, r := range recs {
		out[i] = summarize(r)
	}
	return out
}

func skipCounts(st *FileStats) map[string]int64 {
	m := map[string]int64{}
	for _, s := range st.Skips {
		m[s.Reason] += s.Count
	}
	return m
}

// TestPcapFlows checks flow building on synthetic captures: one case per behaviour.
func TestPcapFlows(t *testing.T) {
	const ms = time.Millisecond
	type want struct {
		flows  []flowSummary
		skips  map[string]int64
		format string
	}
	cases := []struct {
		name  string
		build func(t *testing.T) []byte
		want  want
	}{{
		name: "tcp handshake, data both ways, retransmission, FIN both ways",
		build: func(t *testing.T) []byte {
			c := newTalk(t, "10.0.0.5", 40000, "93.184.216.34", 80)
			c.handshake()                                    // 0, 1, 2 ms
			c.send(true, ms, "PA", strings.Repeat("q", 100)) // 3
			c.send(false, ms, "A", "")                       // 4
			seg := c.send(false, ms, "PA", strings.Repeat("r", 600))
			c.send(false, ms, "PA", strings.Repeat("s", 400))         // 6
			c.pkts = append(c.pkts, capPkt{at: c.at + ms, data: seg}) // retransmitted 600 bytes at 7
			c.at += ms
			c.send(true, ms, "A", "") // 8
			c.close()                 // 9, 10, 11: the last ACK does not extend the duration
			return writePcap(t, layers.LinkTypeEthernet, false, c.pkts)
		},
		want: want{flows: []flowSummary{{Src: "10.0.0.5:40000", Dst: "93.184.216.34:80", Proto: 6,
			PktsOut: 6, PktsIn: 6, BytesOut: 100, BytesIn: 1000, Duration: 10 * ms}}, format: "pcap"},
	}, {
		name: "capture starts at the SYN-ACK: its receiver is the originator",
		build: func(t *testing.T) []byte {
			c := newTalk(t, "10.0.0.5", 40001, "10.0.0.9", 22)
			c.send(true, 0, "S", "")
			c.pkts = nil
			c.send(false, ms, "SA", "")
			c.send(true, ms, "A", "")
			c.send(true, ms, "PA", "SSH-2.0-x\r\n")
			return writePcap(t, layers.LinkTypeEthernet, false, c.pkts)
		},
		want: want{flows: []flowSummary{{Src: "10.0.0.5:40001", Dst: "10.0.0.9:22", Proto: 6,
			PktsOut: 2, PktsIn: 1, BytesOut: 11, Start: ms, Duration: 2 * ms}}},
	}, {
		name: "mid-stream data first, then a SYN from the other side: the SYN marks the originator",
		build: func(t *testing.T) []byte {
			c := newTalk(t, "10.0.0.5", 40002, "10.0.0.9", 443)
			stray := newTalk(t, "10.0.0.5", 40002, "10.0.0.9", 443)
			stray.sseq = 77
			stray.send(false, 0, "A", "")
			c.at = ms
			c.handshake()
			return writePcap(t, layers.LinkTypeEthernet, false, append(stray.pkts, c.pkts...))
		},
		want: want{flows: []flowSummary{{Src: "10.0.0.5:40002", Dst: "10.0.0.9:443", Proto: 6,
			PktsOut: 2, PktsIn: 2, Duration: 3 * ms}}},
	}, {
		name: "RST ends the flow; a late packet within 5 s joins it; a new SYN reuses the ports",
		build: func(t *testing.T) []byte {
			c := newTalk(t, "10.0.0.5", 40003, "10.0.0.9", 8080)
			c.send(true, 0, "S", "")
			c.send(false, ms, "RA", "")
			c.pkts = append(c.pkts, capPkt{at: 2 * time.Second, data: c.pkts[0].data}) // SYN retransmitted
			c.cseq += 99_999
			c.at = 3 * time.Second
			c.send(true, 0, "S", "") // another ISN: a new connection
			return writePcap(t, layers.LinkTypeEthernet, false, c.pkts)
		},
		want: want{flows: []flowSummary{
			{Src: "10.0.0.5:40003", Dst: "10.0.0.9:8080", Proto: 6, PktsOut: 2, PktsIn: 1, Duration: 2 * time.Second},
			{Src: "10.0.0.5:40003", Dst: "10.0.0.9:8080", Proto: 6, PktsOut: 1, Start: 3 * time.Second},
		}},
	}, {
		name: "closed flow is kept only 5 s: a packet after that starts a new flow",
		build: func(t *testing.T) []byte {
			c := newTalk(t, "10.0.0.5", 40004, "10.0.0.9", 25)
			c.handshake()
			c.close()
			c.send(true, 6*time.Second, "A", "")
			return writePcap(t, layers.LinkTypeEthernet, false, c.pkts)
		},
		want: want{flows: []flowSummary{
			{Src: "10.0.0.5:40004", Dst: "10.0.0.9:25", Proto: 6, PktsOut: 4, PktsIn: 2, Duration: 4 * ms},
			{Src: "10.0.0.5:40004", Dst: "10.0.0.9:25", Proto: 6, PktsOut: 1, Start: 5*ms + 6*time.Second},
		}},
	}, {
		name: "idle timeouts split a 5-tuple: UDP after 1 min, TCP after 5 min",
		build: func(t *testing.T) []byte {
			u := func(at time.Duration, n int) capPkt {
				return capPkt{at: at, data: udpFrame(t, "10.0.0.5", 5000, "10.0.0.7", 6000, make([]byte, n))}
			}
			c := newTalk(t, "10.0.0.5", 40005, "10.0.0.9", 9000)
			c.send(true, 0, "PA", "a")
			c.send(true, 4*time.Minute, "PA", "b")  // 4 min idle: same flow
			c.send(true, 6*time.Minute, "PA", "cc") // 6 min idle: a new flow
			pkts := []capPkt{u(0, 10), u(59*time.Second, 20), u(2*time.Minute+time.Second, 30)}
			pkts = append(pkts, c.pkts...)
			slices.SortStableFunc(pkts, func(a, b capPkt) int { return int(a.at - b.at) })
			return writePcap(t, layers.LinkTypeEthernet, false, pkts)
		},
		want: want{flows: []flowSummary{
			{Src: "10.0.0.5:5000", Dst: "10.0.0.7:6000", Proto: 17, PktsOut: 2, BytesOut: 30, Duration: 59 * time.Second},
			{Src: "10.0.0.5:40005", Dst: "10.0.0.9:9000", Proto: 6, PktsOut: 2, BytesOut: 2, Duration: 4 * time.Minute},
			{Src: "10.0.0.5:5000", Dst: "10.0.0.7:6000", Proto: 17, PktsOut: 1, BytesOut: 30, Start: 2*time.Minute + time.Second},
			{Src: "10.0.0.5:40005", Dst: "10.0.0.9:9000", Proto: 6, PktsOut: 1, BytesOut: 2, Start: 10 * time.Minute},
		}},
	}, {
		name: "ICMP echo request and reply: one flow, ports are type and counterpart",
		build: func(t *testing.T) []byte {
			echo := func(src, dst string, typ uint8) []byte {
				return ethFrame(t, src, dst, layers.IPProtocolICMPv4,
					&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: 7, Seq: 1}, gopacket.Payload(make([]byte, 56)))
			}
			unreach := ethFrame(t, "10.0.0.1", "10.0.0.5", layers.IPProtocolICMPv4,
				&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, gopacket.Payload(make([]byte, 28)))
			return writePcap(t, layers.LinkTypeEthernet, false, []capPkt{
				{at: 0, data: echo("10.0.0.5", "8.8.8.8", 8)},
				{at: 20 * ms, data: echo("8.8.8.8", "10.0.0.5", 0)},
				{at: time.Second, data: echo("10.0.0.5", "8.8.8.8", 8)},
				{at: 2 * time.Second, data: unreach},
			})
		},
		want: want{flows: []flowSummary{
			{Src: "10.0.0.5:8", Dst: "8.8.8.8:0", Proto: 1, PktsOut: 2, PktsIn: 1, BytesOut: 112, BytesIn: 56, Duration: time.Second},
			{Src: "10.0.0.1:3", Dst: "10.0.0.5:3", Proto: 1, PktsOut: 1, BytesOut: 28, Start: 2 * time.Second},
		}},
	}, {
		name: "ICMPv6 neighbour solicitation and advertisement meet in one flow",
		build: func(t *testing.T) []byte {
			nd := func(src, dst string, typ uint8) []byte {
				return ethFrame(t, src, dst, layers.IPProtocolICMPv6,
					&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}, gopacket.Payload(make([]byte, 24)))
			}
			return writePcap(t, layers.LinkTypeEthernet, false, []capPkt{
				{at: 0, data: nd("fe80::1", "fe80::2", 135)},
				{at: ms, data: nd("fe80::2", "fe80::1", 136)},
			})
		},
		want: want{flows: []flowSummary{{Src: "[fe80::1]:135", Dst: "[fe80::2]:136", Proto: 58,
			PktsOut: 1, PktsIn: 1, BytesOut: 20, BytesIn: 20, Duration: ms}}},
	}, {
		name: "ARP and LLDP are skipped and named",
		build: func(t *testing.T) []byte {
			arp := serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
				&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
					Operation: 1, SourceHwAddress: macA, SourceProtAddress: []byte{10, 0, 0, 5},
					DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 1}})
			lldp := serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeLinkLayerDiscovery},
				gopacket.Payload(make([]byte, 46)))
			return writePcap(t, layers.LinkTypeEthernet, false, []capPkt{
				{data: arp}, {at: ms, data: arp}, {at: 2 * ms, data: lldp},
				{at: 3 * ms, data: udpFrame(t, "10.0.0.5", 1, "10.0.0.6", 2, []byte("x"))},
			})
		},
		want: want{flows: []flowSummary{{Src: "10.0.0.5:1", Dst: "10.0.0.6:2", Proto: 17, PktsOut: 1, BytesOut: 1, Start: 3 * ms}},
			skips: map[string]int64{"not IP (ARP)": 2, "not IP (LLDP)": 1}},
	}, {
		name: "802.1Q and QinQ tags",
		build: func(t *testing.T) []byte {
			ip, _ := ipLayer("10.1.0.5", "10.2.0.6", layers.IPProtocolUDP)
			one := serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeDot1Q},
				&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}, ip,
				&layers.UDP{SrcPort: 7000, DstPort: 7001}, gopacket.Payload("hello"))
			ip, _ = ipLayer("10.2.0.6", "10.1.0.5", layers.IPProtocolUDP)
			two := serialize(t, &layers.Ethernet{SrcMAC: macB, DstMAC: macA, EthernetType: layers.EthernetTypeQinQ},
				&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
				&layers.Dot1Q{VLANIdentifier: 10, Type: layers.EthernetTypeIPv4}, ip,
				&layers.UDP{SrcPort: 7001, DstPort: 7000}, gopacket.Payload("hi"))
			return writePcap(t, layers.LinkTypeEthernet, false, []capPkt{{data: one}, {at: ms, data: two}})
		},
		want: want{flows: []flowSummary{{Src: "10.1.0.5:7000", Dst: "10.2.0.6:7001", Proto: 17,
			PktsOut: 1, PktsIn: 1, BytesOut: 5, BytesIn: 2, Duration: ms}}},
	}, {
		name: "IPv6 TCP in pcapng",
		build: func(t *testing.T) []byte {
			c := newTalk(t, "2001:db8::5", 50000, "2001:db8::80", 443)
			c.handshake()
			c.send(true, ms, "PA", "abc")
			c.close()
			return writePcapng(t, layers.LinkTypeEthernet, c.pkts)
		},
		want: want{flows: []flowSummary{{Src: "[2001:db8::5]:50000", Dst: "[2001:db8::80]:443", Proto: 6,
			PktsOut: 5, PktsIn: 2, BytesOut: 3, Duration: 5 * ms}}, format: "pcapng"},
	}, {
		name: "nanosecond pcap keeps nanoseconds",
		build: func(t *testing.T) []byte {
			f := udpFrame(t, "10.0.0.5", 123, "10.0.0.1", 123, make([]byte, 48))
			return writePcap(t, layers.LinkTypeEthernet, true, []capPkt{{at: 1, data: f}, {at: 1_000_000_123, data: f}})
		},
		want: want{flows: []flowSummary{{Src: "10.0.0.5:123", Dst: "10.0.0.1:123", Proto: 17, PktsOut: 2,
			BytesOut: 96, Start: 1, Duration: 1_000_000_122}}},
	}, {
		name: "snaplen 54 counts bytes from IP lengths; headers cut off are skipped",
		build: func(t *testing.T) []byte {
			c := newTalk(t, "10.0.0.5", 40006, "10.0.0.9", 80)
			c.handshake()
			c.send(true, ms, "PA", strings.Repeat("x", 1200))
			c.send(false, ms, "PA", strings.Repeat("y", 1400))
			for i := range c.pkts {
				c.pkts[i].snap = 54 // Ethernet + IPv4 + TCP headers, no payload
			}
			u := udpFrame(t, "10.0.0.5", 9, "10.0.0.9", 9, make([]byte, 500))
			c.pkts = append(c.pkts, capPkt{at: c.at + ms, data: u, snap: 42},
				capPkt{at: c.at + 2*ms, data: u, snap: 40}) // UDP header cut
			return writePcap(t, layers.LinkTypeEthernet, false, c.pkts)
		},
		want: want{flows: []flowSummary{
			{Src: "10.0.0.5:40006", Dst: "10.0.0.9:80", Proto: 6, PktsOut: 3, PktsIn: 2, BytesOut: 1200, BytesIn: 1400, Duration: 4 * ms},
			{Src: "10.0.0.5:9", Dst: "10.0.0.9:9", Proto: 17, PktsOut: 1, BytesOut: 500, Start: 5 * ms},
		}, skips: map[string]int64{reasonTruncatedPacket: 1}},
	}, {
		name: "IPv4 fragments: the first carries the flow, the rest are skipped",
		build: func(t *testing.T) []byte {
			udp := append([]byte{0x14, 0xe9, 0x27, 0x0f, 0x0b, 0xc0, 0, 0}, make([]byte, 3000)...) // 5353 → 9999, length 3008
			frag := func(off int, more bool, part []byte) []byte {
				ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 42, Protocol: layers.IPProtocolUDP,
					SrcIP: net.IP{10, 0, 0, 5}, DstIP: net.IP{10, 0, 0, 6}, FragOffset: uint16(off / 8)}
				if more {
					ip.Flags = layers.IPv4MoreFragments
				}
				return serialize(t, &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv4}, ip, gopacket.Payload(part))
			}
			return writePcap(t, layers.LinkTypeEthernet, false, []capPkt{
				{data: frag(0, true, udp[:1480])}, {at: ms, data: frag(1480, true, udp[1480:2960])}, {at: 2 * ms, data: frag(2960, false, udp[2960:])},
			})
		},
		want: want{flows: []flowSummary{{Src: "10.0.0.5:5353", Dst: "10.0.0.6:9999", Proto: 17, PktsOut: 1, BytesOut: 3000}},
			skips: map[string]int64{reasonFragment: 2}},
	}, {
		name: "GRE is a flow without ports",
		build: func(t *testing.T) []byte {
			return writePcap(t, layers.LinkTypeEthernet, false, []capPkt{
				{data: ethFrame(t, "192.0.2.1", "192.0.2.2", layers.IPProtocolGRE, gopacket.Payload(make([]byte, 24)))}})
		},
		want: want{flows: []flowSummary{{Src: "192.0.2.1:0", Dst: "192.0.2.2:0", Proto: 47, PktsOut: 1, BytesOut: 24}}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			flows, _, st := readCapture(t, tc.build(t))
			if got := summaries(flows); !slices.Equal(got, tc.want.flows) {
				t.Errorf("flows\n got %+v\nwant %+v", got, tc.want.flows)
			}
			wantSkips := tc.want.skips
			if wantSkips == nil {
				wantSkips = map[string]int64{}
			}
			if got := skipCounts(st); fmt.Sprint(got) != fmt.Sprint(wantSkips) {
				t.Errorf("skips %v, want %v (%s)", got, wantSkips, st.SkipSummary())
			}
			if tc.want.format != "" && st.Format != tc.want.format {
				t.Errorf("format %q, want %q", st.Format, tc.want.format)
			}
			if st.Unit != "packet" {
				t.Errorf("unit %q, want packet", st.Unit)
			}
		})
	}
}

// TestPcapTCPBytesFollowSequenceSpace pins Zeek's way of counting TCP bytes: from sequence
// numbers, so retransmissions count once, a segment missing from the capture but acknowledged
// still counts, and the count goes on across the 2^32 wrap.
func TestPcapTCPBytesFollowSequenceSpace(t *testing.T) {
	const ms = time.Millisecond
	cases := []struct {
		name              string
		build             func(c *tcpTalk)
		bytesOut, pktsOut uint64
	}{
		{"acknowledged but not captured", func(c *tcpTalk) {
			c.send(true, ms, "PA", strings.Repeat("a", 300))
			n := len(c.pkts)
			c.send(true, ms, "PA", strings.Repeat("b", 200))
			c.pkts = c.pkts[:n]
			c.send(false, ms, "A", "") // acknowledges all 500 bytes
		}, 500, 3},
		{"sequence numbers wrap", func(c *tcpTalk) {
			for range 3 {
				c.send(true, ms, "PA", strings.Repeat("w", 1000))
			}
		}, 3000, 5},
		{"keep-alive one byte back is not data", func(c *tcpTalk) {
			c.send(true, ms, "PA", "x")
			c.cseq--
			c.send(true, ms, "A", "")
			c.cseq++
		}, 1, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTalk(t, "10.0.0.5", 40010, "10.0.0.9", 80)
			c.cseq = 0xffff_fe00
			c.handshake()
			tc.build(c)
			flows, _, _ := readCapture(t, writePcap(t, layers.LinkTypeEthernet, false, c.pkts))
			if len(flows) != 1 || flows[0].BytesOut != tc.bytesOut || flows[0].PktsOut != tc.pktsOut {
				t.Fatalf("got %+v, want one flow with %d bytes out in %d packets", summaries(flows), tc.bytesOut, tc.pktsOut)
			}
		})
	}
}

// tlsClientHello builds a TLS record holding a ClientHello with server_name sni (none when ""),
// preceded by an extension of pad bytes (as large post-quantum key shares are). With split > 0
// the handshake is cut across two TLS records after split bytes.
func tlsClientHello(sni string, pad, split int) []byte {
	var ext []byte
	if pad > 0 {
		ext = append(ext, 0x00, 0x33, byte(pad>>8), byte(pad)) // key_share
		ext = append(ext, make([]byte, pad)...)
	}
	if sni != "" {
		n := len(sni)
		ext = append(ext, 0, 0, byte((n+5)>>8), byte(n+5), byte((n+3)>>8), byte(n+3), 0, byte(n>>8), byte(n))
		ext = append(ext, sni...)
	}
	ext = append(ext, 0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04) // supported_versions
	body := []byte{3, 3}
	body = append(body, make([]byte, 32)...)          // random
	body = append(body, 32)                           // session id
	body = append(body, make([]byte, 32)...)          //
	body = append(body, 0, 4, 0x13, 0x01, 0x13, 0x02) // cipher suites
	body = append(body, 1, 0)                         // compression
	body = append(body, byte(len(ext)>>8), byte(len(ext)))
	body = append(body, ext...)
	hs := append([]byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	record := func(b []byte) []byte { return append([]byte{0x16, 3, 1, byte(len(b) >> 8), byte(len(b))}, b...) }
	if split > 0 && split < len(hs) {
		return append(record(hs[:split]), record(hs[split:])...)
	}
	return record(hs)
}

func TestTLSServerName(t *testing.T) {
	hello := tlsClientHello("www.example.org", 0, 0)
	big := tlsClientHello("pq.example.net", 1600, 0)
	cases := []struct {
		name string
		in   []byte
		want string
		st   parseStatus
	}{
		{"whole ClientHello", hello, "www.example.org", parseDone},
		{"SNI after a large key share", big, "pq.example.net", parseDone},
		{"handshake split over two records", tlsClientHello("split.example", 0, 50), "split.example", parseDone},
		{"first segment only of a large hello", big[:1400], "", parseNeedMore},
		{"record header only", hello[:5], "", parseNeedMore},
		{"no SNI extension", tlsClientHello("", 0, 0), "", parseDone},
		{"not a handshake record", append([]byte{0x17}, hello[1:]...), "", parseFail},
		{"server hello, not client hello", append(append([]byte{}, hello[:5]...), append([]byte{2}, hello[6:]...)...), "", parseFail},
		{"SNI length past the extension", bytes.Replace(hello, []byte{0, 15, 'w'}, []byte{0, 99, 'w'}, 1), "", parseFail},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name, st := tlsServerName(tc.in, nil)
			if string(name) != tc.want || st != tc.st {
				t.Errorf("got %q, status %d; want %q, status %d", name, st, tc.want, tc.st)
			}
		})
	}
}

func TestHTTPHeaders(t *testing.T) {
	f := func(in, host, ua string, done bool) {
		t.Helper()
		h, u, d := httpHeaders([]byte(in))
		if string(h) != host || string(u) != ua || d != done {
			t.Errorf("%q: got %q %q %v, want %q %q %v", in, h, u, d, host, ua, done)
		}
	}
	f("GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5\r\n\r\n", "example.com", "curl/8.5", true)
	f("POST /x HTTP/1.1\nuser-agent:  Go-http-client/1.1 \nHOST:a.b:8080\n\nbody", "a.b:8080", "Go-http-client/1.1", true)
	f("GET / HTTP/1.1\r\nHost: first\r\nHost: second\r\n\r\n", "first", "", true) // the first one counts
	f("GET / HTTP/1.1\r\nHost: half", "", "", false)                              // cut inside a line
	f("GET / HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n", "h", "", false)             // head not ended yet
	f("GET / HTTP/1.1\r\nX-No-Colon\r\nHost: h\r\n\r\n", "h", "", true)
}

// TestPcapApplicationFields checks DNS events, TLS SNI, HTTP headers and kept payloads.
func TestPcapApplicationFields(t *testing.T) {
	const ms = time.Millisecond
	stratum := `{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}` + "\n" +
		`{"id":2,"method":"mining.authorize","params":["wallet.worker","x"]}` + "\n"
	dnsMsg := func(t *testing.T, resp bool) []byte {
		d := &layers.DNS{ID: 0x1234, QR: resp, RD: true, RA: resp,
			Questions: []layers.DNSQuestion{{Name: []byte("pool.example.com"), Type: layers.DNSTypeA, Class: layers.DNSClassIN}}}
		if resp {
			d.Answers = []layers.DNSResourceRecord{
				{Name: []byte("pool.example.com"), Type: layers.DNSTypeCNAME, Class: layers.DNSClassIN, TTL: 60, CNAME: []byte("edge.example.net")},
				{Name: []byte("edge.example.net"), Type: layers.DNSTypeA, Class: layers.DNSClassIN, TTL: 60, IP: net.IP{198, 51, 100, 7}},
				{Name: []byte("edge.example.net"), Type: layers.DNSTypeAAAA, Class: layers.DNSClassIN, TTL: 60, IP: net.ParseIP("2001:db8::7")},
			}
		}
		return serialize(t, d)
	}
	type want struct {
		sni, host, ua string
		payOut        string
		payIn         string
		events        []string // "client > server query type answers"
	}
	cases := []struct {
		name  string
		build func(t *testing.T) []capPkt
		want  want
	}{{
		name: "DNS over UDP: a flow and an event with the answers",
		build: func(t *testing.T) []capPkt {
			return []capPkt{
				{data: udpFrame(t, "10.0.0.5", 33333, "10.0.0.53", 53, dnsMsg(t, false))},
				{at: 3 * ms, data: udpFrame(t, "10.0.0.53", 53, "10.0.0.5", 33333, dnsMsg(t, true))},
			}
		},
		want: want{events: []string{"10.0.0.5:33333 > 10.0.0.53:53 pool.example.com 1 [198.51.100.7 2001:db8::7] at 3ms"},
			payOut: string(dnsMsg(t, false)), payIn: string(dnsMsg(t, true)[:flow.MaxPayload])},
	}, {
		name: "DNS over TCP",
		build: func(t *testing.T) []capPkt {
			c := newTalk(t, "10.0.0.5", 41000, "10.0.0.53", 53)
			c.handshake()
			q, r := dnsMsg(t, false), dnsMsg(t, true)
			c.send(true, ms, "PA", string(binary.BigEndian.AppendUint16(nil, uint16(len(q))))+string(q))
			c.send(false, ms, "PA", string(binary.BigEndian.AppendUint16(nil, uint16(len(r))))+string(r))
			return c.pkts
		},
		want: want{events: []string{"10.0.0.5:41000 > 10.0.0.53:53 pool.example.com 1 [198.51.100.7 2001:db8::7] at 4ms"}},
	}, {
		name: "TLS ClientHello in one segment",
		build: func(t *testing.T) []capPkt {
			c := newTalk(t, "10.0.0.5", 41001, "203.0.113.9", 443)
			c.handshake()
			c.send(true, ms, "PA", string(tlsClientHello("api.example.com", 0, 0)))
			return c.pkts
		},
		want: want{sni: "api.example.com"},
	}, {
		name: "TLS ClientHello over three segments, one retransmitted",
		build: func(t *testing.T) []capPkt {
			c := newTalk(t, "10.0.0.5", 41002, "203.0.113.9", 443)
			c.handshake()
			h := string(tlsClientHello("pq.example.com", 2000, 0))
			c.send(true, ms, "A", h[:1000])
			again := c.pkts[len(c.pkts)-1]
			c.send(true, ms, "A", h[1000:2000])
			c.pkts = append(c.pkts, capPkt{at: c.at + ms, data: again.data})
			c.at += ms
			c.send(true, ms, "PA", h[2000:])
			return c.pkts
		},
		want: want{sni: "pq.example.com"},
	}, {
		name: "TLS ClientHello with a segment missing: no SNI",
		build: func(t *testing.T) []capPkt {
			c := newTalk(t, "10.0.0.5", 41003, "203.0.113.9", 443)
			c.handshake()
			h := string(tlsClientHello("gap.example.com", 2000, 0))
			c.send(true, ms, "A", h[:1000])
			n := len(c.pkts)
			c.send(true, ms, "A", h[1000:2000])
			c.pkts = c.pkts[:n]
			c.send(true, ms, "PA", h[2000:])
			return c.pkts
		},
	}, {
		name: "HTTP GET with Host and User-Agent",
		build: func(t *testing.T) []capPkt {
			c := newTalk(t, "10.0.0.5", 41004, "198.51.100.80", 80)
			c.handshake()
			c.send(true, ms, "PA", "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11)\r\nAccept: */*\r\n\r\n")
			c.send(false, ms, "PA", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
			return c.pkts
		},
		want: want{host: "www.example.com", ua: "Mozilla/5.0 (X11)",
			payOut: "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11)\r\nAccept: */*\r\n\r\n",
			payIn:  "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"},
	}, {
		name: "HTTP request head over two segments",
		build: func(t *testing.T) []capPkt {
			c := newTalk(t, "10.0.0.5", 41005, "198.51.100.80", 8080)
			c.handshake()
			c.send(true, ms, "A", "POST /api HTTP/1.1\r\nContent-Type: application/json\r\nHo")
			c.send(true, ms, "PA", "st: api.internal\r\nUser-Agent: python-requests/2.31\r\n\r\n{}")
			return c.pkts
		},
		want: want{host: "api.internal", ua: "python-requests/2.31",
			payOut: "POST /api HTTP/1.1\r\nContent-Type: application/json\r\nHost: api.internal\r\nUser-Agent: python-requests/2.31\r\n\r\n{}"},
	}, {
		name: "payload capture stops where the snap length cut a datagram",
		build: func(t *testing.T) []capPkt {
			return []capPkt{
				{data: udpFrame(t, "10.0.0.5", 41007, "198.51.100.3", 4444, []byte("hello world")), snap: 42 + 5},
				{at: ms, data: udpFrame(t, "10.0.0.5", 41007, "198.51.100.3", 4444, []byte("again"))},
			}
		},
		want: want{payOut: "hello"},
	}, {
		name: "Stratum subscribe kept in PayloadOut, first 128 bytes in order",
		build: func(t *testing.T) []capPkt {
			c := newTalk(t, "10.0.0.5", 41006, "198.51.100.3", 3333)
			c.handshake()
			c.send(true, ms, "PA", stratum[:40])
			c.pkts = append(c.pkts, capPkt{at: c.at + ms, data: c.pkts[len(c.pkts)-1].data}) // retransmitted
			c.at += ms
			c.send(true, ms, "PA", stratum[40:])
			c.send(false, ms, "PA", `{"id":1,"result":[[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4],"error":null}`+"\n")
			return c.pkts
		},
		want: want{payOut: stratum[:flow.MaxPayload],
			payIn: (`{"id":1,"result":[[["mining.notify","ae6812eb4cd7735a302a8a9dd95cf71f"]],"08000002",4],"error":null}` + "\n")},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			flows, events, st := readCapture(t, writePcap(t, layers.LinkTypeEthernet, false, tc.build(t)))
			if len(flows) != 1 || st.Skipped != 0 {
				t.Fatalf("got %d flows (%+v), skips %s; want 1 flow", len(flows), summaries(flows), st.SkipSummary())
			}
			f := flows[0]
			if f.TLSSNI != tc.want.sni || f.HTTPHost != tc.want.host || f.UserAgent != tc.want.ua {
				t.Errorf("sni %q host %q ua %q; want %q %q %q", f.TLSSNI, f.HTTPHost, f.UserAgent, tc.want.sni, tc.want.host, tc.want.ua)
			}
			if tc.want.payOut != "" && string(f.PayloadOut) != tc.want.payOut {
				t.Errorf("PayloadOut %q\nwant %q", f.PayloadOut, tc.want.payOut)
			}
			if tc.want.payIn != "" && string(f.PayloadIn) != tc.want.payIn {
				t.Errorf("PayloadIn %q\nwant %q", f.PayloadIn, tc.want.payIn)
			}
			var got []string
			for _, e := range events {
				got = append(got, fmt.Sprintf("%s > %s %s %d %v at %v", netip.AddrPortFrom(e.Src, e.SrcPort), netip.AddrPortFrom(e.Dst, e.DstPort),
					e.DNSQuery, e.DNSType, e.DNSAnswers, time.Duration(e.Time-pcapT0.UnixNano())))
				if e.Proto != f.Proto {
					t.Errorf("event proto %d, flow proto %d", e.Proto, f.Proto)
				}
			}
			if !slices.Equal(got, tc.want.events) {
				t.Errorf("events %q\nwant %q", got, tc.want.events)
			}
		})
	}
}

func TestParseDNSResponse(t *testing.T) {
	// Header: id, flags (response), 1 question, 2 answers; question www.example.com A; answers
	// use compression pointers to offset 12.
	msg := []byte{0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1,
		0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 2}
	loop := slices.Clone(msg)
	loop[12] = 0xc0 // the question name points at itself
	loop[13] = 12
	query := slices.Clone(msg)
	query[2] = 0x01
	cases := []struct {
		name    string
		in      []byte
		ok      bool
		qname   string
		answers string
	}{
		{"two A answers through pointers", msg, true, "www.example.com", "[192.0.2.1 192.0.2.2]"},
		{"answer cut short keeps the first", msg[:len(msg)-2], true, "www.example.com", "[192.0.2.1]"},
		{"pointer loop", loop, false, "", "[]"},
		{"a query is no response", query, false, "", "[]"},
		{"header only", msg[:12], false, "", "[]"},
	}
	for _, tc := range cases {
		name, _, answers, ok := parseDNSResponse(tc.in, nil, nil)
		if ok != tc.ok || string(name) != tc.qname || fmt.Sprint(answers) != tc.answers {
			t.Errorf("%s: got %v %q %v, want %v %q %s", tc.name, ok, name, answers, tc.ok, tc.qname, tc.answers)
		}
	}
}

func TestICMPCounterpart(t *testing.T) {
	f := func(proto, typ, code, want uint8) {
		t.Helper()
		if got := icmpCounterpart(proto, typ, code); got != want {
			t.Errorf("proto %d type %d code %d: got %d, want %d", proto, typ, code, got, want)
		}
	}
	f(1, 8, 0, 0)      // echo request → reply
	f(1, 0, 0, 8)      // echo reply → request
	f(1, 13, 0, 14)    // timestamp
	f(1, 10, 0, 9)     // router solicitation → advertisement
	f(1, 3, 3, 3)      // port unreachable: the code
	f(1, 11, 1, 1)     // time exceeded: the code
	f(58, 128, 0, 129) // ICMPv6 echo
	f(58, 135, 0, 136) // neighbour solicitation
	f(58, 131, 0, 130) // MLD report → query
	f(58, 143, 0, 0)   // MLDv2 report: one-way
	f(58, 1, 4, 4)     // destination unreachable
}

// rawFrames are link-layer headers for the link types that gopacket cannot serialize.
func TestPcapLinkTypes(t *testing.T) {
	ipOnly := func(t *testing.T, src, dst string) []byte {
		ip, _ := ipLayer(src, dst, layers.IPProtocolUDP)
		return serialize(t, ip, &layers.UDP{SrcPort: 1111, DstPort: 2222}, gopacket.Payload("abcd"))
	}
	sll := func(et uint16, ip []byte) []byte {
		h := []byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 10, 0, 0, 0, 0}
		return append(binary.BigEndian.AppendUint16(h[:14], et), ip...)
	}
	sll2 := func(et uint16, ip []byte) []byte {
		h := binary.BigEndian.AppendUint16(nil, et)
		h = append(h, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 10, 0, 0)
		return append(h, ip...)
	}
	cases := []struct {
		name   string
		link   layers.LinkType
		frame  func(t *testing.T) []byte
		flows  int
		reason string
	}{
		{"Linux SLL", layers.LinkTypeLinuxSLL, func(t *testing.T) []byte { return sll(0x0800, ipOnly(t, "10.0.0.1", "10.0.0.2")) }, 1, ""},
		{"Linux SLL2 IPv6", layers.LinkTypeLinuxSLL2, func(t *testing.T) []byte { return sll2(0x86dd, ipOnly(t, "fd00::1", "fd00::2")) }, 1, ""},
		{"raw IP", layers.LinkTypeRaw, func(t *testing.T) []byte { return ipOnly(t, "10.0.0.1", "10.0.0.2") }, 1, ""},
		{"raw IPv4 (228)", layers.LinkTypeIPv4, func(t *testing.T) []byte { return ipOnly(t, "10.0.0.1", "10.0.0.2") }, 1, ""},
		{"raw IPv6 (229)", layers.LinkTypeIPv6, func(t *testing.T) []byte { return ipOnly(t, "fd00::1", "fd00::2") }, 1, ""},
		{"BSD Null, little-endian AF_INET", layers.LinkTypeNull, func(t *testing.T) []byte {
			return append([]byte{2, 0, 0, 0}, ipOnly(t, "127.0.0.1", "127.0.0.2")...)
		}, 1, ""},
		{"BSD Null, big-endian AF_INET6 (Darwin 30)", layers.LinkTypeNull, func(t *testing.T) []byte {
			return append([]byte{0, 0, 0, 30}, ipOnly(t, "::1", "::2")...)
		}, 1, ""},
		{"OpenBSD Loop AF_INET", layers.LinkTypeLoop, func(t *testing.T) []byte {
			return append([]byte{0, 0, 0, 2}, ipOnly(t, "127.0.0.1", "127.0.0.2")...)
		}, 1, ""},
		{"Null with an unknown family", layers.LinkTypeNull, func(t *testing.T) []byte {
			return append([]byte{7, 0, 0, 0}, ipOnly(t, "127.0.0.1", "127.0.0.2")...)
		}, 0, "not IP (loopback address family 7)"},
		{"802.11 radiotap is named", 127, func(t *testing.T) []byte { return make([]byte, 40) }, 0, "link type 127 (802.11 radiotap) not supported"},
		{"SLL carrying ARP", layers.LinkTypeLinuxSLL, func(t *testing.T) []byte { return sll(0x0806, make([]byte, 28)) }, 0, "not IP (ARP)"},
		{"raw packet of IP version 5", layers.LinkTypeRaw, func(t *testing.T) []byte { return []byte{0x50, 0, 0, 0} }, 0, reasonMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			flows, _, st := readCapture(t, writePcap(t, tc.link, false, []capPkt{{data: tc.frame(t)}}))
			if len(flows) != tc.flows {
				t.Errorf("got %d flows, want %d", len(flows), tc.flows)
			}
			if tc.reason != "" && skipCounts(st)[tc.reason] != 1 {
				t.Errorf("skips %s, want one %q", st.SkipSummary(), tc.reason)
			}
			if tc.flows == 1 && (flows[0].BytesOut != 4 || flows[0].SrcPort != 1111) {
				t.Errorf("flow %+v, want 4 bytes from port 1111", summaries(flows))
			}
		})
	}
}

// ngOrder is a byte order that can also append.
type ngOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// ngBlock encodes one pcapng block in byte order bo.
func ngBlock(bo ngOrder, typ uint32, body []byte) []byte {
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b := bo.AppendUint32(nil, typ)
	b = bo.AppendUint32(b, n)
	b = append(b, body...)
	return bo.AppendUint32(b, n)
}

func ngSHB(bo ngOrder) []byte {
	body := bo.AppendUint32(nil, pcapngBOM)
	body = bo.AppendUint16(body, 1)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint64(body, ^uint64(0))
	return ngBlock(bo, pcapngSHB, body)
}

// ngIDBlock is an interface description with optional if_tsresol (tsresol ≥ 0).
func ngIDBlock(bo ngOrder, link uint16, tsresol int) []byte {
	body := bo.AppendUint16(nil, link)
	body = bo.AppendUint16(body, 0)
	body = bo.AppendUint32(body, 0)
	if tsresol >= 0 {
		body = bo.AppendUint16(body, ngOptTsResol)
		body = bo.AppendUint16(body, 1)
		body = append(body, byte(tsresol), 0, 0, 0)
	}
	body = append(body, 0, 0, 0, 0) // opt_endofopt
	return ngBlock(bo, ngIDB, body)
}

func ngEPBlock(bo ngOrder, iface uint32, ts uint64, data []byte) []byte {
	body := bo.AppendUint32(nil, iface)
	body = bo.AppendUint32(body, uint32(ts>>32))
	body = bo.AppendUint32(body, uint32(ts))
	body = bo.AppendUint32(body, uint32(len(data)))
	body = bo.AppendUint32(body, uint32(len(data)))
	return ngBlock(bo, ngEPB, append(body, data...))
}

// TestPcapngBlocks covers what pcapgo's writer cannot produce: big-endian sections, timestamp
// resolutions, several interfaces, simple packet blocks, unknown blocks and a second section.
func TestPcapngBlocks(t *testing.T) {
	frame := udpFrame(t, "10.0.0.5", 4000, "10.0.0.6", 53, []byte("q"))
	be, le := binary.BigEndian, binary.LittleEndian
	t0 := uint64(pcapT0.Unix())
	var file []byte
	file = append(file, ngSHB(be)...)
	file = append(file, ngIDBlock(be, 1, -1)...)      // interface 0: microseconds (default)
	file = append(file, ngIDBlock(be, 1, 0x80|20)...) // interface 1: 2^-20 s
	file = append(file, ngIDBlock(be, 105, 9)...)     // interface 2: 802.11, not supported
	file = append(file, ngBlock(be, 0x0bad, []byte("custom block"))...)
	file = append(file, ngEPBlock(be, 0, t0*1e6+250_000, frame)...)                                        // +0.25 s
	file = append(file, ngEPBlock(be, 1, t0<<20|1<<19, frame)...)                                          // +0.5 s
	file = append(file, ngEPBlock(be, 2, 0, frame)...)                                                     // skipped: link type
	file = append(file, ngEPBlock(be, 7, 0, frame)...)                                                     // skipped: no interface 7
	file = append(file, ngBlock(be, ngSPB, append(be.AppendUint32(nil, uint32(len(frame))), frame...))...) // no time: the previous one
	file = append(file, ngSHB(le)...)                                                                      // a second section, little-endian
	file = append(file, ngIDBlock(le, 1, 3)...)                                                            // milliseconds
	file = append(file, ngEPBlock(le, 0, t0*1e3+750, frame)...)                                            // +0.75 s
	flows, events, st := readCapture(t, file)
	if len(events) != 0 || len(flows) != 1 {
		t.Fatalf("got %d flows %d events, want 1 flow", len(flows), len(events))
	}
	want := flowSummary{Src: "10.0.0.5:4000", Dst: "10.0.0.6:53", Proto: 17, PktsOut: 4, BytesOut: 4,
		Start: 250 * time.Millisecond, Duration: 500 * time.Millisecond}
	if got := summarize(flows[0]); got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	wantSkips := map[string]int64{"link type 105 (IEEE 802.11) not supported": 1, reasonUnknownIface: 1}
	if got := skipCounts(st); fmt.Sprint(got) != fmt.Sprint(wantSkips) {
		t.Errorf("skips %v, want %v", got, wantSkips)
	}
	if st.Format != "pcapng" || st.Lines != 6 {
		t.Errorf("format %q, %d packets; want pcapng, 6", st.Format, st.Lines)
	}
}

func TestNgIfaceNanos(t *testing.T) {
	cases := []struct {
		resol byte
		ts    uint64
		want  int64
	}{
		{6, 1_500_000, 1_500_000_000},          // microseconds
		{9, 1_500_000_001, 1_500_000_001},      // nanoseconds
		{12, 1_500_000_000_001, 1_500_000_000}, // picoseconds: sub-ns dropped
		{0, 3, 3_000_000_000},                  // seconds
		{0x80 | 10, 1024 + 512, 1_500_000_000}, // 2^-10 s
		{0x80 | 32, 1<<32 | 1<<30, 1_250_000_000},
		{0x80 | 0, 2, 2_000_000_000},
	}
	for _, tc := range cases {
		r := &pcapngReader{}
		body := append(binary.LittleEndian.AppendUint16(nil, 1), 0, 0, 0, 0, 0, 0)
		body = append(body, ngOptTsResol, 0, 1, 0, tc.resol, 0, 0, 0)
		f := r.parseIDB(body)
		if got := f.nanos(tc.ts); got != tc.want || f.bad != "" {
			t.Errorf("resolution %#x ts %d: got %d (%q), want %d", tc.resol, tc.ts, got, f.bad, tc.want)
		}
	}
	r := &pcapngReader{}
	if f := r.parseIDB([]byte{1, 0, 0, 0, 0, 0, 0, 0, ngOptTsResol, 0, 1, 0, 0x80 | 64, 0, 0, 0}); f.bad == "" {
		t.Error("2^-64 s resolution accepted")
	}
	if f := r.parseIDB([]byte{1, 0, 0, 0, 0, 0, 0, 0, ngOptTsResol, 0, 1, 0, 20, 0, 0, 0}); f.bad == "" {
		t.Error("10^-20 s resolution accepted")
	}
}

// TestPcapDamage: a file cut short or corrupt keeps the flows before the damage, with one skip.
func TestPcapDamage(t *testing.T) {
	var pkts []capPkt
	for i := range 4 {
		pkts = append(pkts, capPkt{at: time.Duration(i) * time.Second,
			data: udpFrame(t, "10.0.0.5", uint16(1000+i), "10.0.0.6", 53, make([]byte, 100))})
	}
	whole := writePcap(t, layers.LinkTypeEthernet, false, pkts)
	ng := writePcapng(t, layers.LinkTypeEthernet, pkts)
	recLen := 16 + len(pkts[0].data)
	hugeLen := slices.Clone(whole)
	binary.LittleEndian.PutUint32(hugeLen[24+2*recLen+8:], 1<<30) // third record claims 1 GiB
	var blocks []int                                              // offsets of the pcapng blocks: SHB, IDB, then the packets
	for off := 0; off < len(ng); off += int(binary.LittleEndian.Uint32(ng[off+4:])) {
		blocks = append(blocks, off)
	}
	ngBadLen := slices.Clone(ng)
	binary.LittleEndian.PutUint32(ngBadLen[blocks[4]+4:], 13) // third packet block: length not a multiple of 4
	ngTrailer := slices.Clone(ng)
	ngTrailer[len(ng)-1] ^= 0xff // last block's trailing length differs
	cases := []struct {
		name   string
		data   []byte
		flows  int
		reason string
		at     int64
	}{
		{"pcap cut inside the last packet", whole[:len(whole)-50], 3, reasonCaptureCut, 4},
		{"pcap cut inside a record header", whole[:24+3*recLen+7], 3, reasonCaptureCut, 4},
		{"pcap record longer than any packet", hugeLen, 2, reasonCorrupt, 3},
		{"pcap file header only, cut", whole[:20], 0, reasonCaptureCut, 0},
		{"pcap with an unknown version", append(append(slices.Clone(whole[:4]), 9, 0), whole[6:]...), 0, reasonCorrupt, 0},
		{"pcapng cut inside the last block", ng[:len(ng)-10], 3, reasonCaptureCut, 4},
		{"pcapng block with a bad length", ngBadLen, 2, reasonCorrupt, 3},
		{"pcapng trailing length differs", ngTrailer, 3, reasonCorrupt, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			flows, _, st := readCapture(t, tc.data)
			if len(flows) != tc.flows {
				t.Errorf("got %d flows, want %d", len(flows), tc.flows)
			}
			if st.Skipped != 1 || len(st.Skips) != 1 || st.Skips[0].Reason != tc.reason || st.Skips[0].FirstLine != tc.at {
				t.Errorf("skips %+v, want one %q at packet %d", st.Skips, tc.reason, tc.at)
			}
		})
	}
}

// TestPcapTableFull: when the table is full a new flow ends a closing flow if there is one, else
// the flow idle longest whatever its protocol; ended flows are emitted, not lost.
func TestPcapTableFull(t *testing.T) {
	const ms = time.Millisecond
	u := func(at time.Duration, sport uint16) capPkt {
		return capPkt{at: at, data: udpFrame(t, "10.0.0.5", sport, "10.0.0.6", 53, []byte("x"))}
	}
	c := newTalk(t, "10.0.0.5", 7, "10.0.0.9", 443)
	c.at = ms
	c.send(true, 0, "PA", "data")
	c.send(false, 3*ms, "R", "") // at 4 ms: closing
	data := writePcap(t, layers.LinkTypeEthernet, false, []capPkt{
		u(0, 1), c.pkts[0], u(2*ms, 2), u(3*ms, 3), // port 3 ends port 1, idle longest
		c.pkts[1], u(5*ms, 4), // port 4 ends the closing TCP flow, though port 2 is idle longer
	})
	recs, st := readDirect(t, &pcapFormat{maxFlows: 3}, data)
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s/%d", flow.ProtoName(r.Proto), r.SrcPort))
	}
	if want := []string{"udp/1", "tcp/7", "udp/2", "udp/3", "udp/4"}; !slices.Equal(got, want) || st.Skipped != 0 {
		t.Errorf("emitted %v, want %v (skips %s)", got, want, st.SkipSummary())
	}
}

// readDirect runs f.Read over data with a RecordWriter and returns records in emission order.
func readDirect(t testing.TB, f *pcapFormat, data []byte) ([]flow.Record, *FileStats) {
	t.Helper()
	out := make(chan chunk, 4)
	fs := &FileStats{}
	done := make(chan []flow.Record)
	go func() {
		var recs []flow.Record
		for c := range out {
			recs = append(recs, c.recs...)
		}
		done <- recs
	}()
	if err := readRecords(context.Background(), f, bytes.NewReader(data), fs, out, nil); err != nil {
		t.Fatal(err)
	}
	close(out)
	return <-done, fs
}

func TestPcapNetFlowExport(t *testing.T) {
	// A NetFlow v5 export of one flow, captured on its way to a collector on port 2055.
	v5 := make([]byte, 24+48)
	binary.BigEndian.PutUint16(v5[0:], 5)
	binary.BigEndian.PutUint16(v5[2:], 1)
	binary.BigEndian.PutUint32(v5[4:], 60_000)                // sysUptime ms
	binary.BigEndian.PutUint32(v5[8:], uint32(pcapT0.Unix())) // export seconds
	rec := v5[24:]
	copy(rec[0:], []byte{192, 168, 1, 10})
	copy(rec[4:], []byte{198, 51, 100, 20})
	binary.BigEndian.PutUint32(rec[16:], 3)    // packets
	binary.BigEndian.PutUint32(rec[20:], 1500) // octets
	binary.BigEndian.PutUint32(rec[24:], 50_000)
	binary.BigEndian.PutUint32(rec[28:], 59_000)
	binary.BigEndian.PutUint16(rec[32:], 51000)
	binary.BigEndian.PutUint16(rec[34:], 443)
	rec[38] = 6
	notExport := []byte("this is not a NetFlow datagram")
	data := writePcap(t, layers.LinkTypeEthernet, false, []capPkt{
		{data: udpFrame(t, "10.9.9.1", 40000, "10.9.9.2", 2055, v5)},
		{at: time.Millisecond, data: udpFrame(t, "10.9.9.1", 40001, "10.9.9.2", 2055, notExport)},
	})
	flows, _, st := readCapture(t, data)
	var got []string
	for _, r := range flows {
		got = append(got, netip.AddrPortFrom(r.Src, r.SrcPort).String()+" > "+netip.AddrPortFrom(r.Dst, r.DstPort).String())
	}
	want := []string{"192.168.1.10:51000 > 198.51.100.20:443", "10.9.9.1:40001 > 10.9.9.2:2055"}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || st.Format != "netflow" {
		t.Errorf("flows %v format %q; want %v, netflow (skips %s)", got, st.Format, want, st.SkipSummary())
	}
}

// TestPcapRealSamples reads the public sample captures and pins what they hold. The figures were
// checked with tshark 4.0: packet, TCP stream and UDP conversation counts (-z conv), DNS responses
// with a question (dns.flags.response==1 && dns.count.queries>0), ClientHello server names
// (tls.handshake.extensions_server_name), and per-direction TCP bytes from tcp.nxtseq less the SYN
// and FIN octets; UDP bytes are the sum of udp.length − 8. The UDP flow count of test7 is larger
// than tshark's 167 conversations because a 1-minute idle gap starts a new flow (Zeek's timeout).
func TestPcapRealSamples(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "data", "slips")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("sample data not found at %s", dir)
	}
	type protoTotals struct{ flows, pkts, bytes int }
	cases := []struct {
		file     string
		packets  int64
		perProto map[uint8]protoTotals
		events   int
		sni      int
		skips    map[string]int64
	}{
		{"cc1.pcap", 7931, map[uint8]protoTotals{6: {299, 7931, 1416025}}, 0, 299, nil},
		{"cc2.pcap", 1084, map[uint8]protoTotals{6: {22, 589, 150826}, 17: {239, 495, 35854}}, 248, 22, nil},
		{"test7.pcap", 2000, map[uint8]protoTotals{6: {138, 1407, 114066}, 17: {214, 528, 67354}, 1: {8, 10, 372}, 58: {6, 18, 416}, 2: {3, 6, 96}},
			30, 0, map[string]int64{"not IP (ARP)": 31}},
		{"test8.pcap", 534, map[uint8]protoTotals{17: {1, 15, 445}}, 0, 0, map[string]int64{"not IP (ARP)": 519}},
		{"test12.pcap", 37, map[uint8]protoTotals{1: {18, 37, 0}}, 0, 0, nil},
		{"test19.pcap", 1178, map[uint8]protoTotals{6: {67, 1178, 168440}}, 0, 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			recs, st, err := readFiles(t, []string{filepath.Join(dir, tc.file)}, Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[uint8]protoTotals{}
			events, sni := 0, 0
			for _, r := range recs {
				if r.Kind == flow.KindEvent {
					events++
					if r.DNSQuery == "" {
						t.Errorf("DNS event without a query: %+v", r)
					}
					continue
				}
				p := got[r.Proto]
				p.flows++
				p.pkts += int(r.PktsOut + r.PktsIn)
				p.bytes += int(r.BytesOut + r.BytesIn)
				got[r.Proto] = p
				if r.TLSSNI != "" {
					sni++
				}
				if r.Duration < 0 || r.PktsOut == 0 {
					t.Errorf("flow with negative duration or no originator packet: %+v", r)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.perProto) {
				t.Errorf("per protocol (flows, packets, bytes)\n got %v\nwant %v", got, tc.perProto)
			}
			if events != tc.events || sni != tc.sni {
				t.Errorf("%d DNS events, %d flows with SNI; want %d, %d", events, sni, tc.events, tc.sni)
			}
			wantSkips := tc.skips
			if wantSkips == nil {
				wantSkips = map[string]int64{}
			}
			if fmt.Sprint(skipCounts(st)) != fmt.Sprint(wantSkips) || st.Lines != tc.packets || st.Format != "pcap" {
				t.Errorf("%d packets, format %q, skips %v; want %d, pcap, %v", st.Lines, st.Format, skipCounts(st), tc.packets, wantSkips)
			}
		})
	}
}

// benchCapture builds a realistic capture: TCP sessions with data both ways (some TLS, some
// HTTP), DNS lookups and other UDP, about n packets.
func benchCapture(b testing.TB, n int) ([]byte, int) {
	var pkts []capPkt
	at := time.Duration(0)
	for i := 0; len(pkts) < n; i++ {
		client := fmt.Sprintf("10.0.%d.%d", i/250%250, i%250+1)
		server := fmt.Sprintf("198.51.%d.%d", i%7, i%200+1)
		at += 3 * time.Millisecond
		q := udpFrame(b, client, uint16(20000+i%40000), "10.0.0.53", 53, []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01"))
		r := udpFrame(b, "10.0.0.53", 53, client, uint16(20000+i%40000), []byte("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x03www\x07example\x03com\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc6\x33\x64\x07"))
		pkts = append(pkts, capPkt{at: at, data: q}, capPkt{at: at + time.Millisecond, data: r})
		c := newTalk(b, client, uint16(30000+i%30000), server, 443)
		c.at = at
		c.handshake()
		if i%3 == 0 {
			c.send(true, time.Millisecond, "PA", "GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: bench\r\n\r\n")
		} else {
			c.send(true, time.Millisecond, "PA", string(tlsClientHello("www.example.com", 0, 0)))
		}
		for range 8 {
			c.send(false, time.Millisecond, "A", strings.Repeat("d", 1400))
			c.send(false, time.Millisecond, "PA", strings.Repeat("e", 900))
			c.send(true, time.Millisecond, "A", "")
		}
		c.close()
		pkts = append(pkts, c.pkts...)
		pkts = append(pkts, capPkt{at: at, data: udpFrame(b, client, 123, "10.0.0.1", 123, make([]byte, 48))})
	}
	slices.SortStableFunc(pkts, func(a, b capPkt) int { return int(a.at - b.at) })
	return writePcap(b, layers.LinkTypeEthernet, false, pkts), len(pkts)
}

func BenchmarkPcap(b *testing.B) {
	data, n := benchCapture(b, 100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		f, _ := sniffPcap(data, "", &Options{})
		out := make(chan chunk, 16)
		go func() {
			for range out {
			}
		}()
		fs := &FileStats{}
		if err := readRecords(context.Background(), f, bytes.NewReader(data), fs, out, nil); err != nil {
			b.Fatal(err)
		}
		close(out)
		if fs.Skipped != 0 {
			b.Fatal(fs.SkipSummary())
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// pcapFuzzSeeds are small captures of every shape the reader knows.
func pcapFuzzSeeds(t testing.TB) [][]byte {
	c := newTalk(t, "10.0.0.5", 40000, "10.0.0.9", 443)
	c.handshake()
	c.send(true, time.Millisecond, "PA", string(tlsClientHello("seed.example", 0, 40)))
	c.send(false, time.Millisecond, "PA", "HTTP/1.1 200 OK\r\n\r\n")
	c.close()
	pkts := append(c.pkts,
		capPkt{at: 9 * time.Millisecond, data: udpFrame(t, "10.0.0.53", 53, "10.0.0.5", 3333,
			[]byte("\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x01a\x00\x00\x01\x00\x01\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04"))},
		capPkt{at: 10 * time.Millisecond, data: udpFrame(t, "fd00::1", 1, "fd00::2", 2055, []byte{0, 5, 0, 0})},
		capPkt{at: 11 * time.Millisecond, data: udpFrame(t, "10.0.0.1", 9, "10.0.0.2", 9, make([]byte, 64)), snap: 40},
	)
	be := binary.BigEndian
	ng := append(ngSHB(be), ngIDBlock(be, 1, 0x80|16)...)
	ng = append(ng, ngEPBlock(be, 0, 1<<40, pkts[3].data)...)
	ng = append(ng, ngBlock(be, ngSPB, append(be.AppendUint32(nil, 60), pkts[0].data[:60]...))...)
	return [][]byte{
		writePcap(t, layers.LinkTypeEthernet, false, pkts),
		writePcap(t, layers.LinkTypeEthernet, true, pkts[:4]),
		writePcapng(t, layers.LinkTypeEthernet, pkts[4:]),
		writePcap(t, layers.LinkTypeLinuxSLL, false, []capPkt{{data: append([]byte{0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 10, 0, 0, 0x08, 0}, pkts[0].data[14:]...)}}),
		writePcap(t, layers.LinkTypeNull, false, []capPkt{{data: append([]byte{2, 0, 0, 0}, pkts[1].data[14:]...)}}),
		ng,
	}
}

// FuzzPcap feeds arbitrary bytes to both readers: no panic, no hang, and every packet ends up in
// exactly one flow or one skip (or a NetFlow export).
func FuzzPcap(f *testing.F) {
	if os.Getenv("PCAP_WRITE_SEEDS") != "" { // regenerate testdata/fuzz/FuzzPcap
		dir := filepath.Join("testdata", "fuzz", "FuzzPcap")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			f.Fatal(err)
		}
		for i, s := range pcapFuzzSeeds(f) {
			content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%d", i)), []byte(content), 0o644); err != nil {
				f.Fatal(err)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var formats []*pcapFormat
		if rf, _ := sniffPcap(data, "", &Options{}); rf != nil {
			formats = []*pcapFormat{rf.(*pcapFormat)}
		} else { // exercise both readers past their magic checks too
			formats = []*pcapFormat{{}, {ng: true}}
		}
		for _, pf := range formats {
			pf.maxFlows = 64
			recs, st := readDirect(t, pf, data)
			var pkts uint64
			for _, r := range recs {
				if r.Kind == flow.KindFlow && !pf.exported {
					pkts += r.PktsOut + r.PktsIn
					if r.Duration < 0 || r.PktsOut+r.PktsIn == 0 { // PktsOut is 0 for a lone SYN-ACK
						t.Fatalf("bad flow %+v", r)
					}
				}
				if len(r.PayloadOut) > flow.MaxPayload || len(r.PayloadIn) > flow.MaxPayload {
					t.Fatalf("payload over %d bytes", flow.MaxPayload)
				}
			}
			if n := int64(pkts) + st.Skipped; !pf.exported && (n < st.Lines || n > st.Lines+1) {
				t.Fatalf("%d packets read, %d in flows, %d skipped", st.Lines, pkts, st.Skipped)
			}
		}
	})
}
