package ingest

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

var updateNetFlowCorpus = flag.Bool("update-netflow-corpus", false, "rewrite testdata/fuzz/FuzzNetFlow from the test builders")

// nfBytes appends values big-endian: uint8/16/32/64, netip.Addr (4 or 16 bytes), []byte.
func nfBytes(values ...any) []byte {
	var b []byte
	for _, v := range values {
		switch v := v.(type) {
		case uint8:
			b = append(b, v)
		case uint16:
			b = binary.BigEndian.AppendUint16(b, v)
		case uint32:
			b = binary.BigEndian.AppendUint32(b, v)
		case uint64:
			b = binary.BigEndian.AppendUint64(b, v)
		case netip.Addr:
			b = append(b, v.AsSlice()...)
		case []byte:
			b = append(b, v...)
		default:
			panic(fmt.Sprintf("nfBytes: %T", v))
		}
	}
	return b
}

// nfField is one template field; pen != 0 marks an enterprise element (IPFIX only).
type nfField struct {
	typ, length uint16
	pen         uint32
}

func field(typ, length uint16) nfField { return nfField{typ: typ, length: length} }

// nfSet is one flow set: its ID and body (without the 4-byte set header).
type nfSet struct {
	id   uint16
	body []byte
}

// templateSet is a v9 (set 0) or IPFIX (set 2) template set with one template.
func templateSet(version, id uint16, fields ...nfField) nfSet {
	body := nfBytes(id, uint16(len(fields)))
	for _, f := range fields {
		if f.pen != 0 {
			body = nfBytes(body, f.typ|0x8000, f.length, f.pen)
		} else {
			body = nfBytes(body, f.typ, f.length)
		}
	}
	setID := uint16(0)
	if version == 10 {
		setID = 2
	}
	return nfSet{setID, body}
}

// ipfixOptionsTemplateSet is an IPFIX options template set (set 3).
func ipfixOptionsTemplateSet(id uint16, scopes, options []nfField) nfSet {
	body := nfBytes(id, uint16(len(scopes)+len(options)), uint16(len(scopes)))
	for _, f := range append(scopes, options...) {
		body = nfBytes(body, f.typ, f.length)
	}
	return nfSet{3, body}
}

// v9OptionsTemplateSet is a v9 options template set (set 1).
func v9OptionsTemplateSet(id uint16, scopes, options []nfField) nfSet {
	body := nfBytes(id, uint16(4*len(scopes)), uint16(4*len(options)))
	for _, f := range append(scopes, options...) {
		body = nfBytes(body, f.typ, f.length)
	}
	return nfSet{1, body}
}

// dataSet is a data set of records for template id, padded to 4 bytes.
func dataSet(id uint16, records ...[]byte) nfSet {
	var body []byte
	for _, r := range records {
		body = append(body, r...)
	}
	for (len(body)+4)%4 != 0 {
		body = append(body, 0)
	}
	return nfSet{id, body}
}

func appendSets(b []byte, sets []nfSet) []byte {
	for _, s := range sets {
		b = nfBytes(b, s.id, uint16(4+len(s.body)), s.body)
	}
	return b
}

// v9Datagram builds a NetFlow v9 export packet; count is the number of sets (the decoder does
// not rely on it).
func v9Datagram(uptimeMs, unixSecs, sourceID uint32, sets ...nfSet) []byte {
	return appendSets(nfBytes(uint16(9), uint16(len(sets)), uptimeMs, unixSecs, uint32(1), sourceID), sets)
}

// ipfixDatagram builds an IPFIX message with a correct length.
func ipfixDatagram(exportTime, domain uint32, sets ...nfSet) []byte {
	b := appendSets(nfBytes(uint16(10), uint16(0), exportTime, uint32(1), domain), sets)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// v5Rec is one NetFlow v5 record.
type v5Rec struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
	pkts, octets uint32
	first, last  uint32
}

func v5Datagram(uptimeMs, secs, nsecs uint32, recs ...v5Rec) []byte {
	b := nfBytes(uint16(5), uint16(len(recs)), uptimeMs, secs, nsecs, uint32(7), uint8(0), uint8(0), uint16(0))
	for _, r := range recs {
		b = nfBytes(b, r.src, r.dst, netip.MustParseAddr("0.0.0.0"), uint16(1), uint16(2), r.pkts, r.octets,
			r.first, r.last, r.sport, r.dport, uint8(0), uint8(0x1b), r.proto, uint8(0), uint16(0), uint16(0),
			uint8(24), uint8(24), uint16(0))
	}
	return b
}

// nfResult is what one Decode call produced.
type nfResult struct {
	ok    bool
	recs  []flow.Record
	skips []string // "reason: detail"
}

func decodeOne(d *ExportDecoder, exporter string, payload []byte) nfResult {
	var res nfResult
	res.ok = d.Decode(netip.MustParseAddrPort(exporter), payload,
		func(r *flow.Record) { res.recs = append(res.recs, *r) },
		func(reason, detail string) { res.skips = append(res.skips, reason+": "+detail) })
	return res
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// unixNs is a Unix time in seconds plus ms as ns.
func unixNs(sec, ms int64) int64 { return sec*1e9 + ms*1e6 }

func checkRecords(t *testing.T, what string, got, want []flow.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d:\n got %+v\nwant %+v", what, len(got), len(want), got, want)
	}
	for i := range want {
		if fmt.Sprintf("%+v", got[i]) != fmt.Sprintf("%+v", want[i]) {
			t.Errorf("%s: record %d\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
	}
}

const nfExporter = "10.0.0.1:2055"

func TestNetFlowV5(t *testing.T) {
	const secs, nsecs, uptime = 1_700_000_000, 250_000_000, 100_000
	export := int64(secs)*1e9 + nsecs
	f := func(name string, rec v5Rec, want flow.Record) {
		t.Helper()
		res := decodeOne(NewExportDecoder(), nfExporter, v5Datagram(uptime, secs, nsecs, rec))
		if !res.ok || len(res.skips) != 0 {
			t.Fatalf("%s: ok=%v skips=%v", name, res.ok, res.skips)
		}
		checkRecords(t, name, res.recs, []flow.Record{want}) // Kind: flow.KindFlow unless set
	}
	// TCP: start 10 s and end 0.5 s before the export (uptime − switched)
	f("tcp", v5Rec{addr("192.168.1.5"), addr("93.184.216.34"), 51000, 443, 6, 12, 3400, uptime - 10_000, uptime - 500},
		flow.Record{Time: export - 10e9, Duration: 9.5e9, Src: addr("192.168.1.5"), Dst: addr("93.184.216.34"),
			SrcPort: 51000, DstPort: 443, Proto: 6, BytesOut: 3400, PktsOut: 12})
	// The server's answer to that connection, a one-way record of its own: turned round into the
	// client's pair, its bytes received (orientReply).
	f("tcp reply", v5Rec{addr("93.184.216.34"), addr("192.168.1.5"), 443, 51000, 6, 30, 41000, uptime - 10_000, uptime - 500},
		flow.Record{Time: export - 10e9, Duration: 9.5e9, Src: addr("192.168.1.5"), Dst: addr("93.184.216.34"),
			SrcPort: 51000, DstPort: 443, Proto: 6, BytesIn: 41000, PktsIn: 30, Kind: flow.KindReply})
	// ICMP: type×256+code in the dst port becomes type/code in the ports (3/1 host unreachable)
	f("icmp", v5Rec{addr("10.1.1.1"), addr("10.2.2.2"), 0, 3<<8 | 1, 1, 1, 56, uptime, uptime},
		flow.Record{Time: export, Src: addr("10.1.1.1"), Dst: addr("10.2.2.2"), SrcPort: 3, DstPort: 1, Proto: 1,
			BytesOut: 56, PktsOut: 1})
	// uptime wrapped: first switched 4.096 s before the wrap, export 100 s after it
	f("uptime wrap", v5Rec{addr("10.1.1.1"), addr("10.2.2.2"), 53000, 53, 17, 1, 80, 0xFFFFF000, 0xFFFFF000},
		flow.Record{Time: export - (uptime+4096)*1e6, Src: addr("10.1.1.1"), Dst: addr("10.2.2.2"),
			SrcPort: 53000, DstPort: 53, Proto: 17, BytesOut: 80, PktsOut: 1})
	// switched a little after the header's uptime (exporter clock granularity): not 49 days early
	f("ahead of uptime", v5Rec{addr("10.1.1.1"), addr("10.2.2.2"), 1, 2, 17, 1, 80, uptime + 2, uptime + 2},
		flow.Record{Time: export + 2e6, Src: addr("10.1.1.1"), Dst: addr("10.2.2.2"), SrcPort: 1, DstPort: 2,
			Proto: 17, BytesOut: 80, PktsOut: 1})
	// last before first (a broken exporter): duration 0, not negative
	f("last before first", v5Rec{addr("10.1.1.1"), addr("10.2.2.2"), 1, 2, 6, 1, 40, uptime - 100, uptime - 200},
		flow.Record{Time: export - 100e6, Src: addr("10.1.1.1"), Dst: addr("10.2.2.2"), SrcPort: 1, DstPort: 2,
			Proto: 6, BytesOut: 40, PktsOut: 1})
}

// v9 template 256 (IPv4) and 257 (IPv6) as Cisco and softflowd send them.
var (
	v9Fields4 = []nfField{field(8, 4), field(12, 4), field(7, 2), field(11, 2), field(4, 1), field(1, 4), field(2, 4),
		field(22, 4), field(21, 4), field(89, 1)}
	v9Fields6 = []nfField{field(27, 16), field(28, 16), field(7, 2), field(11, 2), field(4, 1), field(1, 8), field(2, 8),
		field(22, 4), field(21, 4), field(32, 2)}
)

func TestNetFlowV9(t *testing.T) {
	const secs, uptime = 1_700_000_000, 3_600_000
	export := int64(secs) * 1e9
	d := NewExportDecoder()
	res := decodeOne(d, nfExporter, v9Datagram(uptime, secs, 0,
		templateSet(9, 256, v9Fields4...),
		templateSet(9, 257, v9Fields6...),
		dataSet(256,
			nfBytes(addr("192.168.1.5"), addr("8.8.8.8"), uint16(40000), uint16(53), uint8(17), uint32(75), uint32(1),
				uint32(uptime-2000), uint32(uptime-1000), uint8(0x40)),
			nfBytes(addr("192.168.1.5"), addr("203.0.113.9"), uint16(40001), uint16(22), uint8(6), uint32(120), uint32(2),
				uint32(uptime-5000), uint32(uptime-5000), uint8(0x82)),
			nfBytes(addr("8.8.8.8"), addr("192.168.1.5"), uint16(53), uint16(40000), uint8(17), uint32(91), uint32(1),
				uint32(uptime-2000), uint32(uptime-1000), uint8(0x40))),
		dataSet(257,
			nfBytes(addr("2001:db8::1"), addr("2001:db8::2"), uint16(0), uint16(0), uint8(58), uint64(1<<33), uint64(3),
				uint32(uptime-3000), uint32(uptime), uint16(128<<8)))))
	if !res.ok || len(res.skips) != 0 {
		t.Fatalf("ok=%v skips=%v", res.ok, res.skips)
	}
	checkRecords(t, "v9", res.recs, []flow.Record{
		// forwardingStatus 0x40: forwarded
		{Time: export - 2e9, Duration: 1e9, Src: addr("192.168.1.5"), Dst: addr("8.8.8.8"), SrcPort: 40000, DstPort: 53,
			Proto: 17, Action: flow.ActionPass, BytesOut: 75, PktsOut: 1},
		// forwardingStatus 0x82: dropped (reason 2)
		{Time: export - 5e9, Src: addr("192.168.1.5"), Dst: addr("203.0.113.9"), SrcPort: 40001, DstPort: 22,
			Proto: 6, Action: flow.ActionBlock, BytesOut: 120, PktsOut: 2},
		// the resolver's answer to the first, a one-way record: turned round (orientReply)
		{Time: export - 2e9, Duration: 1e9, Src: addr("192.168.1.5"), Dst: addr("8.8.8.8"), SrcPort: 40000, DstPort: 53,
			Proto: 17, Action: flow.ActionPass, BytesIn: 91, PktsIn: 1, Kind: flow.KindReply},
		// ICMPv6 echo request: type 128 code 0 from ICMP_TYPE 32; 8-byte counters
		{Time: export - 3e9, Duration: 3e9, Src: addr("2001:db8::1"), Dst: addr("2001:db8::2"), SrcPort: 128, DstPort: 0,
			Proto: 58, BytesOut: 1 << 33, PktsOut: 3},
	})

	// The templates persist: a later datagram with data only decodes.
	res = decodeOne(d, nfExporter, v9Datagram(uptime+1000, secs+1, 0, dataSet(256,
		nfBytes(addr("10.0.0.7"), addr("10.0.0.8"), uint16(1), uint16(2), uint8(6), uint32(40), uint32(1),
			uint32(uptime), uint32(uptime), uint8(0)))))
	checkRecords(t, "v9 later", res.recs, []flow.Record{{Time: export, Src: addr("10.0.0.7"), Dst: addr("10.0.0.8"),
		SrcPort: 1, DstPort: 2, Proto: 6, BytesOut: 40, PktsOut: 1}})
}

// TestNetFlowV9Counters: which of the v9 counters lands in BytesOut.
func TestNetFlowV9Counters(t *testing.T) {
	f := func(name string, fields []nfField, values []byte, wantBytes, wantPkts uint64) {
		t.Helper()
		all := append([]nfField{field(8, 4), field(12, 4)}, fields...)
		rec := nfBytes(addr("10.0.0.1"), addr("10.0.0.2"), values)
		res := decodeOne(NewExportDecoder(), nfExporter, v9Datagram(0, 1_700_000_000, 0, templateSet(9, 300, all...), dataSet(300, rec)))
		if len(res.recs) != 1 || len(res.skips) != 0 {
			t.Fatalf("%s: %d records, skips %v", name, len(res.recs), res.skips)
		}
		r := res.recs[0]
		if r.BytesOut != wantBytes || r.PktsOut != wantPkts || r.BytesIn != 0 || r.PktsIn != 0 {
			t.Errorf("%s: bytes %d/%d packets %d/%d, want %d/0 %d/0", name, r.BytesOut, r.BytesIn, r.PktsOut, r.PktsIn, wantBytes, wantPkts)
		}
	}
	f("IN_BYTES only", []nfField{field(1, 4), field(2, 4)}, nfBytes(uint32(500), uint32(5)), 500, 5)
	f("OUT_BYTES only", []nfField{field(23, 4), field(24, 4)}, nfBytes(uint32(600), uint32(6)), 600, 6)
	f("IN before OUT", []nfField{field(23, 4), field(1, 4), field(24, 4), field(2, 4)},
		nfBytes(uint32(600), uint32(500), uint32(6), uint32(5)), 500, 5)
	f("reduced-size 2-byte counters", []nfField{field(1, 2), field(2, 1)}, nfBytes(uint16(700), uint8(7)), 700, 7)
}

func TestNetFlowIPFIX(t *testing.T) {
	const exportSec, startMs = 1_700_000_100, 1_700_000_000_123
	d := NewExportDecoder()
	fields := []nfField{field(8, 4), field(12, 4), field(7, 2), field(11, 2), field(4, 1), field(1, 8), field(2, 8),
		field(152, 8), field(153, 8),
		{typ: 1, length: 8, pen: enterpriseBiflow}, {typ: 2, length: 8, pen: enterpriseBiflow},
		{typ: 1, length: 4, pen: 9}, // another enterprise's element 1: not a counter of ours
		field(61, 1)}
	res := decodeOne(d, nfExporter, ipfixDatagram(exportSec, 7, templateSet(10, 400, fields...),
		dataSet(400, nfBytes(addr("172.16.0.9"), addr("198.51.100.20"), uint16(51515), uint16(443), uint8(6),
			uint64(4000), uint64(20), uint64(startMs), uint64(startMs+2500), uint64(90000), uint64(70), uint32(99), uint8(1)))))
	if !res.ok || len(res.skips) != 0 {
		t.Fatalf("ok=%v skips=%v", res.ok, res.skips)
	}
	checkRecords(t, "ipfix", res.recs, []flow.Record{{Time: startMs * 1e6, Duration: 2500e6,
		Src: addr("172.16.0.9"), Dst: addr("198.51.100.20"), SrcPort: 51515, DstPort: 443, Proto: 6, Dir: flow.DirOut,
		Kind: flow.KindFlow, BytesOut: 4000, PktsOut: 20, BytesIn: 90000, PktsIn: 70}})
}

// TestNetFlowIPFIXTimes: each way IPFIX can time a flow.
func TestNetFlowIPFIXTimes(t *testing.T) {
	const exportSec = 1_700_000_100
	const base = int64(1_700_000_000)
	// ntp is an NTP timestamp of Unix second sec plus ns.
	ntp := func(sec, ns int64) uint64 {
		return uint64(sec+ntpUnixOffset)<<32 | uint64((ns<<32+1e9-1)/1e9)
	}
	f := func(name string, timeFields []nfField, values []byte, wantTime, wantDur int64) {
		t.Helper()
		all := append([]nfField{field(8, 4), field(12, 4)}, timeFields...)
		res := decodeOne(NewExportDecoder(), nfExporter, ipfixDatagram(exportSec, 0, templateSet(10, 256, all...),
			dataSet(256, nfBytes(addr("10.0.0.1"), addr("10.0.0.2"), values))))
		if len(res.recs) != 1 || len(res.skips) != 0 {
			t.Fatalf("%s: %d records, skips %v", name, len(res.recs), res.skips)
		}
		if got := res.recs[0]; got.Time != wantTime || got.Duration != wantDur {
			t.Errorf("%s: time %d duration %d, want %d %d", name, got.Time, got.Duration, wantTime, wantDur)
		}
	}
	f("seconds", []nfField{field(150, 4), field(151, 4)}, nfBytes(uint32(base), uint32(base+3)), base*1e9, 3e9)
	f("microseconds", []nfField{field(154, 8), field(155, 8)},
		nfBytes(ntp(base, 250_000_000), ntp(base, 750_000_000)), base*1e9+250_000_000, 500_000_000)
	f("nanoseconds", []nfField{field(156, 8), field(157, 8)},
		nfBytes(ntp(base, 123_456_789), ntp(base+1, 0)), base*1e9+123_456_789, 876_543_211)
	f("delta microseconds", []nfField{field(158, 4), field(159, 4)}, nfBytes(uint32(5_000_000), uint32(1_000_000)),
		(exportSec-5)*1e9, 4e9)
	f("start and duration ms", []nfField{field(152, 8), field(161, 4)}, nfBytes(uint64(base*1000+5), uint32(1500)),
		base*1e9+5e6, 1500e6)
	f("end and duration µs", []nfField{field(153, 8), field(162, 4)}, nfBytes(uint64(base*1000), uint32(2_000_000)),
		base*1e9-2e9, 2e9)
	f("sysUpTime with init time in the record", []nfField{field(160, 8), field(22, 4), field(21, 4)},
		nfBytes(uint64(base*1000), uint32(10_000), uint32(12_500)), base*1e9+10e9, 2500e6)
	f("seconds and milliseconds: the finer wins", []nfField{field(150, 4), field(152, 8), field(151, 4)},
		nfBytes(uint32(base), uint64(base*1000+999), uint32(base+1)), base*1e9+999e6, 1e6)
	f("no time element: export time", []nfField{field(1, 4)}, nfBytes(uint32(10)), exportSec*1e9, 0)
	f("end before start", []nfField{field(150, 4), field(151, 4)}, nfBytes(uint32(base), uint32(base-3)), base*1e9, 0)
	f("NTP era 1 (after 2036-02-07)", []nfField{field(156, 8)}, nfBytes(uint64(100)<<32), (1<<32+100-ntpUnixOffset)*1e9, 0)
}

// TestNetFlowIPFIXSysUpTime: softflowd times IPFIX records by flowStart/EndSysUpTime and sends
// systemInitTimeMilliseconds in options data; records before it are skipped, not mistimed.
func TestNetFlowIPFIXSysUpTime(t *testing.T) {
	const initMs = 1_700_000_000_000
	d := NewExportDecoder()
	tmpl := templateSet(10, 1024, field(8, 4), field(12, 4), field(22, 4), field(21, 4), field(1, 4), field(2, 4))
	optTmpl := ipfixOptionsTemplateSet(1025, []nfField{field(143, 4)}, []nfField{field(160, 8), field(34, 4)})
	rec := nfBytes(addr("10.0.0.1"), addr("10.0.0.2"), uint32(60_000), uint32(61_000), uint32(100), uint32(1))

	res := decodeOne(d, nfExporter, ipfixDatagram(1_700_000_100, 0, tmpl, optTmpl, dataSet(1024, rec)))
	if len(res.recs) != 0 || len(res.skips) != 1 || !strings.HasPrefix(res.skips[0], skipNoInitTime+": 1 records of template 1024 from 10.0.0.1:2055 domain 0") {
		t.Fatalf("before the init time: records %v skips %q", res.recs, res.skips)
	}
	// Options data after the data set in the same datagram still times it; options emit nothing.
	res = decodeOne(d, nfExporter, ipfixDatagram(1_700_000_100, 0, dataSet(1024, rec, rec),
		dataSet(1025, nfBytes(uint32(1), uint64(initMs), uint32(1)))))
	if len(res.skips) != 0 || len(res.recs) != 2 {
		t.Fatalf("records %v skips %q", res.recs, res.skips)
	}
	if r := res.recs[0]; r.Time != (initMs+60_000)*1e6 || r.Duration != 1e9 || r.BytesOut != 100 {
		t.Errorf("got %+v", r)
	}
	// The init time is per observation domain.
	res = decodeOne(d, nfExporter, ipfixDatagram(1_700_000_100, 5, tmpl, dataSet(1024, rec)))
	if len(res.recs) != 0 || len(res.skips) != 1 {
		t.Errorf("other domain: records %v skips %q", res.recs, res.skips)
	}
}

// TestNetFlowUnknownTemplate: data before its template is skipped per set, then decoded once the
// template has come; templates are per exporter and domain.
func TestNetFlowUnknownTemplate(t *testing.T) {
	const secs, uptime = 1_700_000_000, 10_000
	data := dataSet(256, nfBytes(addr("192.168.1.5"), addr("8.8.8.8"), uint16(40000), uint16(53), uint8(17), uint32(75),
		uint32(1), uint32(uptime), uint32(uptime), uint8(0)))
	d := NewExportDecoder()

	res := decodeOne(d, nfExporter, v9Datagram(uptime, secs, 0, data, data))
	want := []string{"unknown template: template 256 from 10.0.0.1:2055 domain 0", "unknown template: template 256 from 10.0.0.1:2055 domain 0"}
	if !res.ok || len(res.recs) != 0 || fmt.Sprint(res.skips) != fmt.Sprint(want) {
		t.Fatalf("before the template: ok=%v records=%d skips=%q", res.ok, len(res.recs), res.skips)
	}
	if res := decodeOne(d, nfExporter, v9Datagram(uptime, secs, 0, templateSet(9, 256, v9Fields4...))); len(res.recs) != 0 || len(res.skips) != 0 {
		t.Fatalf("template only: %+v", res)
	}
	if res := decodeOne(d, nfExporter, v9Datagram(uptime, secs, 0, data)); len(res.recs) != 1 || len(res.skips) != 0 {
		t.Fatalf("after the template: %+v", res)
	}
	// Another exporter, another source ID, or IPFIX from the same exporter: not the same template.
	for _, c := range []struct {
		exporter string
		dgram    []byte
		detail   string
	}{
		{"10.0.0.2:2055", v9Datagram(uptime, secs, 0, data), "template 256 from 10.0.0.2:2055 domain 0"},
		{"10.0.0.1:40000", v9Datagram(uptime, secs, 0, data), "template 256 from 10.0.0.1:40000 domain 0"},
		{nfExporter, v9Datagram(uptime, secs, 3, data), "template 256 from 10.0.0.1:2055 domain 3"},
		{nfExporter, ipfixDatagram(secs, 0, data), "template 256 from 10.0.0.1:2055 domain 0"},
	} {
		res := decodeOne(d, c.exporter, c.dgram)
		if len(res.recs) != 0 || len(res.skips) != 1 || res.skips[0] != "unknown template: "+c.detail {
			t.Errorf("%s: records %d skips %q, want %q", c.detail, len(res.recs), res.skips, c.detail)
		}
	}
	// A set with a known template beside one without: the known one still decodes.
	res = decodeOne(d, nfExporter, v9Datagram(uptime, secs, 0, dataSet(999, []byte{1, 2, 3, 4}), data))
	if len(res.recs) != 1 || len(res.skips) != 1 || !strings.Contains(res.skips[0], "template 999") {
		t.Errorf("mixed: records %d skips %q", len(res.recs), res.skips)
	}
}

// TestNetFlowIPFIXWithdrawal: a template record without fields withdraws the template.
func TestNetFlowIPFIXWithdrawal(t *testing.T) {
	d := NewExportDecoder()
	data := dataSet(300, nfBytes(addr("10.0.0.1"), addr("10.0.0.2")))
	res := decodeOne(d, nfExporter, ipfixDatagram(1_700_000_000, 0, templateSet(10, 300, field(8, 4), field(12, 4)), data))
	if len(res.recs) != 1 {
		t.Fatalf("before withdrawal: %+v", res)
	}
	res = decodeOne(d, nfExporter, ipfixDatagram(1_700_000_000, 0, templateSet(10, 300), data))
	if len(res.recs) != 0 || len(res.skips) != 1 || !strings.HasPrefix(res.skips[0], skipUnknownTemplate) {
		t.Fatalf("after withdrawal: %+v", res)
	}
	if n := len(d.templates.m); n != 0 || d.templates.fields != 0 {
		t.Errorf("store keeps %d templates, %d fields", n, d.templates.fields)
	}
}

// TestNetFlowOptions: options templates and data are consumed without records or skips.
func TestNetFlowOptions(t *testing.T) {
	d := NewExportDecoder()
	res := decodeOne(d, nfExporter, v9Datagram(1000, 1_700_000_000, 0,
		v9OptionsTemplateSet(260, []nfField{field(1, 4)}, []nfField{field(34, 4), field(35, 1)}),
		dataSet(260, nfBytes(uint32(0), uint32(100), uint8(2)))))
	if !res.ok || len(res.recs) != 0 || len(res.skips) != 0 {
		t.Errorf("v9 options: %+v", res)
	}
	res = decodeOne(d, nfExporter, ipfixDatagram(1_700_000_000, 0,
		ipfixOptionsTemplateSet(261, []nfField{field(149, 4)}, []nfField{field(41, 8), field(42, 8)}),
		dataSet(261, nfBytes(uint32(0), uint64(10), uint64(20)))))
	if !res.ok || len(res.recs) != 0 || len(res.skips) != 0 {
		t.Errorf("IPFIX options: %+v", res)
	}
}

// TestNetFlowAddresses: which address pair a record gives, and records without one.
func TestNetFlowAddresses(t *testing.T) {
	fields := []nfField{field(8, 4), field(12, 4), field(27, 16), field(28, 16)}
	f := func(name string, values []byte, wantSrc, wantDst string) {
		t.Helper()
		res := decodeOne(NewExportDecoder(), nfExporter, ipfixDatagram(1_700_000_000, 0, templateSet(10, 256, fields...),
			dataSet(256, values)))
		if wantSrc == "" {
			if len(res.recs) != 0 || len(res.skips) != 1 || !strings.HasPrefix(res.skips[0], skipNoAddress+": 1 records of template 256") {
				t.Errorf("%s: records %v skips %q", name, res.recs, res.skips)
			}
			return
		}
		if len(res.recs) != 1 || res.recs[0].Src != addr(wantSrc) || res.recs[0].Dst != addr(wantDst) {
			t.Errorf("%s: got %+v, want %s → %s", name, res.recs, wantSrc, wantDst)
		}
	}
	zero4, zero6 := addr("0.0.0.0"), addr("::")
	f("IPv4 with IPv6 zeros", nfBytes(addr("10.0.0.1"), addr("10.0.0.2"), zero6, zero6), "10.0.0.1", "10.0.0.2")
	f("IPv6 with IPv4 zeros", nfBytes(zero4, zero4, addr("2001:db8::1"), addr("2001:db8::2")), "2001:db8::1", "2001:db8::2")
	f("v4-mapped IPv6 is unmapped", nfBytes(zero4, zero4, addr("::ffff:10.0.0.1"), addr("::ffff:10.0.0.2")), "10.0.0.1", "10.0.0.2")

	res := decodeOne(NewExportDecoder(), nfExporter, ipfixDatagram(1_700_000_000, 0, templateSet(10, 256, field(1, 4), field(2, 4)),
		dataSet(256, nfBytes(uint32(1), uint32(1)), nfBytes(uint32(2), uint32(2)))))
	if len(res.recs) != 0 || len(res.skips) != 1 || !strings.HasPrefix(res.skips[0], skipNoAddress+": 2 records of template 256 from 10.0.0.1:2055 domain 0") {
		t.Errorf("no addresses: %+v", res)
	}
}

// TestNetFlowICMP: ICMP type and code from each place an exporter may put them.
func TestNetFlowICMP(t *testing.T) {
	f := func(name string, fields []nfField, values []byte, wantType, wantCode uint16) {
		t.Helper()
		all := append([]nfField{field(8, 4), field(12, 4), field(4, 1), field(7, 2), field(11, 2)}, fields...)
		res := decodeOne(NewExportDecoder(), nfExporter, ipfixDatagram(1_700_000_000, 0, templateSet(10, 256, all...),
			dataSet(256, nfBytes(addr("10.0.0.1"), addr("10.0.0.2"), uint8(1), uint16(0), uint16(8<<8), values))))
		if len(res.recs) != 1 || res.recs[0].SrcPort != wantType || res.recs[0].DstPort != wantCode {
			t.Errorf("%s: got %+v, want type %d code %d", name, res.recs, wantType, wantCode)
		}
	}
	f("dst port", nil, nil, 8, 0)
	f("icmpTypeCodeIPv4", []nfField{field(32, 2)}, nfBytes(uint16(3<<8|3)), 3, 3)
	f("icmpTypeIPv4/CodeIPv4", []nfField{field(176, 1), field(177, 1)}, nfBytes(uint8(11), uint8(1)), 11, 1)
}

// TestNetFlowNotNetFlow: datagrams that are not NetFlow at all are refused without a skip.
func TestNetFlowNotNetFlow(t *testing.T) {
	for _, c := range []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0}},
		{"version 7", append(nfBytes(uint16(7)), make([]byte, 60)...)},
		{"version 0", make([]byte, 100)},
		{"DNS query", []byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01")},
		{"text", []byte("<134>Mar 14 10:15:22 host app: hello")},
		{"v5 shorter than its header", v5Datagram(1, 2, 3)[:23]},
		{"v9 shorter than its header", v9Datagram(1, 2, 3)[:19]},
		{"IPFIX shorter than its header", ipfixDatagram(1, 2)[:15]},
	} {
		res := decodeOne(NewExportDecoder(), nfExporter, c.payload)
		if res.ok || len(res.recs) != 0 || len(res.skips) != 0 {
			t.Errorf("%s: %+v", c.name, res)
		}
	}
}

// TestNetFlowDamaged: NetFlow datagrams that are damaged are skipped as such, keeping what
// decoded before the damage.
func TestNetFlowDamaged(t *testing.T) {
	rec := v5Rec{addr("10.0.0.1"), addr("10.0.0.2"), 1, 2, 6, 1, 40, 0, 0}
	tmpl := templateSet(9, 256, v9Fields4...)
	good := dataSet(256, nfBytes(addr("10.0.0.1"), addr("10.0.0.2"), uint16(1), uint16(2), uint8(6), uint32(40), uint32(1),
		uint32(0), uint32(0), uint8(0)))
	ipfixLong := ipfixDatagram(1, 0, templateSet(10, 256, field(8, 4), field(12, 4)))
	binary.BigEndian.PutUint16(ipfixLong[2:], uint16(len(ipfixLong)+8))
	ipfixShort := ipfixDatagram(1, 0, templateSet(10, 256, field(8, 4), field(12, 4)))
	binary.BigEndian.PutUint16(ipfixShort[2:], 12)
	truncSet := v9Datagram(0, 1, 0, tmpl, good)
	truncSet = truncSet[:len(truncSet)-5]
	for _, c := range []struct {
		name    string
		payload []byte
		recs    int
		detail  string // part of the skip's detail
	}{
		{"v5 count above its records", v5Datagram(0, 1, 0, rec, rec)[:nfV5HeaderLen+nfV5RecordLen+10], 1,
			"v5 header counts 2 records, datagram of 82 bytes holds 1"},
		{"v9 set longer than the datagram", truncSet, 0, "flow set 256 at byte"},
		{"v9 set length below 4", append(v9Datagram(0, 1, 0), 1, 0, 0, 2), 0, "length 2"},
		{"IPFIX length beyond the datagram", ipfixLong, 0, "IPFIX message length"},
		{"IPFIX length below its header", ipfixShort, 0, "IPFIX message length 12"},
		{"template of empty fields (would never end)", v9Datagram(0, 1, 0, tmpl, good, templateSet(9, 257, field(8, 0), field(1, 0))), 1,
			"all 2 fields have length 0"},
		{"truncated template after a good set", v9Datagram(0, 1, 0, good, nfSet{0, nfBytes(uint16(256), uint16(3), uint16(8), uint16(4))}), 1,
			"TemplateSet"},
		{"IPFIX set ID 1 (v9's options template)", ipfixDatagram(1, 0, nfSet{1, make([]byte, 8)}), 0, "ID error"},
	} {
		d := NewExportDecoder()
		decodeOne(d, nfExporter, v9Datagram(0, 1, 0, tmpl)) // learn 256 for the sets after damage
		res := decodeOne(d, nfExporter, c.payload)
		if !res.ok || len(res.recs) != c.recs || len(res.skips) != 1 ||
			!strings.HasPrefix(res.skips[0], skipBadNetFlow+": ") || !strings.Contains(res.skips[0], c.detail) ||
			!strings.Contains(res.skips[0], "(from 10.0.0.1:2055)") {
			t.Errorf("%s: ok=%v records=%d skips=%q, want %d records and a %q skip with %q", c.name, res.ok, len(res.recs), res.skips, c.recs, skipBadNetFlow, c.detail)
		}
	}
}

// TestNetFlowEmptyTemplate: a template whose fields all have length 0 is refused, so its data
// set is an unknown template rather than a loop that never ends (the library would decode
// empty records from it forever).
func TestNetFlowEmptyTemplate(t *testing.T) {
	d := NewExportDecoder()
	done := make(chan [2]nfResult, 1)
	go func() {
		var res [2]nfResult
		res[0] = decodeOne(d, nfExporter, ipfixDatagram(1, 0, templateSet(10, 258, field(8, 0), field(12, 0))))
		res[1] = decodeOne(d, nfExporter, ipfixDatagram(1, 0, dataSet(258, nfBytes(uint32(1), uint32(2)))))
		done <- res
	}()
	select {
	case res := <-done:
		if len(res[0].skips) != 1 || !strings.Contains(res[0].skips[0], "all 2 fields have length 0") {
			t.Errorf("template: %+v", res[0])
		}
		if len(res[1].recs) != 0 || len(res[1].skips) != 1 || !strings.HasPrefix(res[1].skips[0], skipUnknownTemplate) {
			t.Errorf("data: %+v", res[1])
		}
	case <-time.After(5 * time.Second):
		t.Fatal("decoding a data set of an all-empty template does not end")
	}
}

// TestNetFlowTemplateLimit: the store refuses templates beyond maxTemplateFields and counts
// replacements once.
func TestNetFlowTemplateLimit(t *testing.T) {
	d := NewExportDecoder()
	tmpl := templateSet(9, 256, v9Fields4...)
	decodeOne(d, nfExporter, v9Datagram(0, 1, 0, tmpl))
	decodeOne(d, nfExporter, v9Datagram(0, 1, 0, tmpl)) // replaced, not added
	if d.templates.fields != len(v9Fields4) {
		t.Fatalf("fields %d, want %d", d.templates.fields, len(v9Fields4))
	}
	d.templates.fields = maxTemplateFields - 1
	res := decodeOne(d, nfExporter, v9Datagram(0, 1, 0, templateSet(9, 257, field(8, 4), field(12, 4))))
	if len(res.skips) != 1 || !strings.Contains(res.skips[0], "more than") {
		t.Errorf("over the limit: %+v", res)
	}
}

// nfFuzzSeeds are datagram sequences for FuzzNetFlow: length-prefixed datagrams (see nfSplit).
func nfFuzzSeeds() map[string][]byte {
	const up = 10_000
	v4 := nfBytes(addr("192.168.1.5"), addr("8.8.8.8"), uint16(40000), uint16(53), uint8(17), uint32(75), uint32(1),
		uint32(up-2000), uint32(up-1000), uint8(0x40))
	v6 := nfBytes(addr("2001:db8::1"), addr("2001:db8::2"), uint16(0), uint16(0), uint8(58), uint64(100), uint64(3),
		uint32(up-3000), uint32(up), uint16(128<<8))
	ipfixFields := []nfField{field(8, 4), field(12, 4), field(7, 2), field(11, 2), field(4, 1), field(1, 8), field(2, 8),
		field(152, 8), field(153, 8), {typ: 1, length: 8, pen: enterpriseBiflow}, {typ: 2, length: 8, pen: enterpriseBiflow},
		field(82, 0xffff)}
	ipfixRec := nfBytes(addr("172.16.0.9"), addr("198.51.100.20"), uint16(51515), uint16(443), uint8(6),
		uint64(4000), uint64(20), uint64(1_700_000_000_123), uint64(1_700_000_002_623), uint64(90000), uint64(70),
		uint8(4), []byte("eth0"))
	join := func(dgrams ...[]byte) []byte {
		var b []byte
		for _, d := range dgrams {
			b = nfBytes(b, uint16(len(d)), d)
		}
		return b
	}
	return map[string][]byte{
		"v5": join(v5Datagram(up, 1_700_000_000, 5, v5Rec{addr("10.0.0.1"), addr("10.0.0.2"), 1, 2, 6, 3, 120, up - 5, up})),
		"v9": join(v9Datagram(up, 1_700_000_000, 0, templateSet(9, 256, v9Fields4...), templateSet(9, 257, v9Fields6...),
			dataSet(256, v4, v4), dataSet(257, v6))),
		"v9-data-before-template": join(v9Datagram(up, 1_700_000_000, 0, dataSet(256, v4)),
			v9Datagram(up, 1_700_000_000, 0, templateSet(9, 256, v9Fields4...)), v9Datagram(up, 1_700_000_000, 0, dataSet(256, v4))),
		"v9-options": join(v9Datagram(1000, 1_700_000_000, 0,
			v9OptionsTemplateSet(260, []nfField{field(1, 4)}, []nfField{field(34, 4), field(35, 1)}),
			dataSet(260, nfBytes(uint32(0), uint32(100), uint8(2))))),
		"ipfix": join(ipfixDatagram(1_700_000_100, 7, templateSet(10, 400, ipfixFields...), dataSet(400, ipfixRec, ipfixRec))),
		"ipfix-sysuptime": join(ipfixDatagram(1_700_000_100, 0,
			templateSet(10, 1024, field(8, 4), field(12, 4), field(22, 4), field(21, 4), field(1, 4), field(2, 4)),
			ipfixOptionsTemplateSet(1025, []nfField{field(143, 4)}, []nfField{field(160, 8)}),
			dataSet(1025, nfBytes(uint32(1), uint64(1_700_000_000_000))),
			dataSet(1024, nfBytes(addr("10.0.0.1"), addr("10.0.0.2"), uint32(60_000), uint32(61_000), uint32(100), uint32(1))))),
		"ipfix-withdrawal": join(ipfixDatagram(1, 0, templateSet(10, 300, field(8, 4), field(12, 4))),
			ipfixDatagram(1, 0, templateSet(10, 300)), ipfixDatagram(1, 0, dataSet(300, nfBytes(addr("10.0.0.1"), addr("10.0.0.2"))))),
		"empty-template": join(ipfixDatagram(1, 0, templateSet(10, 258, field(8, 0), field(12, 0))),
			ipfixDatagram(1, 0, dataSet(258, nfBytes(uint32(1), uint32(2))))),
		"mixed-garbage": join([]byte("hello"), v5Datagram(0, 1, 0)[:20], ipfixDatagram(1, 0, nfSet{1, make([]byte, 8)})),
	}
}

// nfSplit cuts fuzz input into datagrams: each is a 2-byte big-endian length and that many bytes
// (fewer at the end); datagrams alternate between two exporters.
func nfSplit(data []byte, each func(exporter netip.AddrPort, dgram []byte)) {
	exporters := [2]netip.AddrPort{netip.MustParseAddrPort("10.0.0.1:2055"), netip.MustParseAddrPort("[2001:db8::9]:4739")}
	for i := 0; len(data) >= 2; i++ {
		n := min(int(binary.BigEndian.Uint16(data)), len(data)-2)
		each(exporters[i%2], data[2:2+n])
		data = data[2+n:]
	}
}

// FuzzNetFlow feeds datagram sequences to one decoder: no panic, no hang (a watchdog panics
// after 5 s), and every record emitted is a plausible flow.
func FuzzNetFlow(f *testing.F) {
	for _, seed := range nfFuzzSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewExportDecoder()
		watchdog := time.AfterFunc(5*time.Second, func() { panic("FuzzNetFlow: Decode hangs") })
		defer watchdog.Stop()
		nfSplit(data, func(exporter netip.AddrPort, dgram []byte) {
			ok := d.Decode(exporter, dgram, func(r *flow.Record) {
				if !r.Src.IsValid() || !r.Dst.IsValid() || r.Duration < 0 || r.Kind != flow.KindFlow || r.Src.Is4In6() {
					t.Fatalf("implausible record %+v", r)
				}
			}, func(reason, detail string) {
				if reason == "" || detail == "" {
					t.Fatalf("skip without reason or detail: %q %q", reason, detail)
				}
			})
			if len(dgram) >= 2 {
				v := binary.BigEndian.Uint16(dgram)
				if want := v == 5 && len(dgram) >= nfV5HeaderLen || v == 9 && len(dgram) >= nfV9HeaderLen ||
					v == 10 && len(dgram) >= ipfixHeaderLen; ok != want {
					t.Fatalf("Decode(version %d, %d bytes) = %v", v, len(dgram), ok)
				}
			}
		})
	})
}

// TestNetFlowFuzzCorpus keeps testdata/fuzz/FuzzNetFlow in step with nfFuzzSeeds; run with
// -update-netflow-corpus to rewrite it.
func TestNetFlowFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzNetFlow")
	for name, seed := range nfFuzzSeeds() {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", seed)
		p := filepath.Join(dir, name)
		if *updateNetFlowCorpus {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Errorf("%s is missing or stale (err %v); run go test -run TestNetFlowFuzzCorpus -update-netflow-corpus", p, err)
		}
	}
}

// BenchmarkNetFlowDecode times decoding full datagrams as exporters send them; ns/op and
// allocs/op are per datagram, flows/s per flow.
func BenchmarkNetFlowDecode(b *testing.B) {
	const up = 10_000
	v4 := nfBytes(addr("192.168.1.5"), addr("8.8.8.8"), uint16(40000), uint16(53), uint8(17), uint32(75), uint32(1),
		uint32(up-2000), uint32(up-1000), uint8(0x40))
	ipfixFields := []nfField{field(8, 4), field(12, 4), field(7, 2), field(11, 2), field(4, 1), field(1, 8), field(2, 8),
		field(152, 8), field(153, 8)}
	ipfixRec := nfBytes(addr("172.16.0.9"), addr("198.51.100.20"), uint16(51515), uint16(443), uint8(6),
		uint64(4000), uint64(20), uint64(1_700_000_000_123), uint64(1_700_000_002_623))
	repeat := func(rec []byte, n int) [][]byte {
		out := make([][]byte, n)
		for i := range out {
			out[i] = rec
		}
		return out
	}
	var v5recs []v5Rec
	for range 30 {
		v5recs = append(v5recs, v5Rec{addr("10.0.0.1"), addr("10.0.0.2"), 1, 2, 6, 3, 120, up - 5, up})
	}
	cases := []struct {
		name     string
		template []byte // sent once before timing
		dgram    []byte
		flows    int
	}{
		{"v5/30", nil, v5Datagram(up, 1_700_000_000, 0, v5recs...), 30},
		{"v9/30", v9Datagram(up, 1_700_000_000, 0, templateSet(9, 256, v9Fields4...)),
			v9Datagram(up, 1_700_000_000, 0, dataSet(256, repeat(v4, 30)...)), 30},
		{"ipfix/30", ipfixDatagram(1, 0, templateSet(10, 400, ipfixFields...)),
			ipfixDatagram(1_700_000_100, 0, dataSet(400, repeat(ipfixRec, 30)...)), 30},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			d := NewExportDecoder()
			exporter := netip.MustParseAddrPort(nfExporter)
			var n int
			emit := func(*flow.Record) { n++ }
			skip := func(reason, detail string) { b.Fatalf("%s: %s", reason, detail) }
			if c.template != nil {
				d.Decode(exporter, c.template, emit, skip)
			}
			n = 0
			b.SetBytes(int64(len(c.dgram)))
			b.ReportAllocs()
			iters := 0
			for b.Loop() {
				d.Decode(exporter, c.dgram, emit, skip)
				iters++
			}
			if n != iters*c.flows {
				b.Fatalf("%d flows, want %d", n, iters*c.flows)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/flow")
		})
	}
}
