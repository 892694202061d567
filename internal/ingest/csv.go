package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// CSV/TSV flow tables: one flow per line, columns separated by ',', tab, ';' or '|' (a single
// space as a last resort, for AWS VPC flow logs), found from the first lines of the file. The
// columns are named either by a header line, matched against common synonyms (see csvSynonyms),
// or by --columns, which gives a role to each position and wins over a header (the header line
// is then consumed; the dialects below are recognised only from a header that names the
// columns). Exports of pandas, nfdump, Argus binetflow, nProbe, CIC-IDS, UNSW-NB15,
// Zeek (via zeek-cut or pandas), Palo Alto, FortiGate and AWS VPC flow logs map without options.
//
// Values: addresses IPv4 or IPv6; ports decimal, "443.0" (pandas writes integer columns that
// hold a NaN as floats) or hex "0x0303" (Argus writes ICMP type/code so); protocol a name or
// number, unknown names giving 0 rather than an error (Argus says "rtp", "udt"), while ARP, LLC
// and Argus "man" status records are skipped as "not an IP flow"; counters decimal, the fraction
// of "1234.0" dropped; durations decimal seconds unless the header says ms, µs or ns; timestamps
// anything parseTime reads, naive ones in --tz, or a date and a time column joined (FortiGate).
// An empty optional value or Zeek's "-" is zero; an empty timestamp in a file that has the
// column skips the line ("missing timestamp"), since a flow at time 0 would distort timing.
// Quoted fields (RFC 4180, with "" for a quote) are read on a slow path taken only by lines that
// contain a '"'; a quoted field spanning lines is not supported. A repeat of the header line
// (files joined with cat) is passed over silently.
//
// Counters: a column of out bytes (orig_bytes, sbytes, SrcBytes, ...) and one of in bytes give
// BytesOut and BytesIn; a total (TotBytes) beside one of them gives the other as the difference;
// a generic "bytes" column alone is the flow's total and goes to BytesOut (see flow.Record), and
// beside an explicit out column it is the total. Packets alike. An out (or in) count above the
// total beside it is skipped ("bytes out > total"), not clamped. A forwarding-status column
// (fwd, RFC 7270's byte: top two bits 01 forwarded, 10 dropped) gives Action pass or block;
// 00 unknown and 11 consumed (addressed to the router itself) leave it unknown.
//
// Dialects. Two producers follow conventions that column names alone do not carry; they are
// recognised by their exact column titles, and FileStats.Format names them:
//
// "binetflow": Argus "ra -c ," output as Stratosphere publishes it (CTU-13 and later), comma or
// tab separated, recognised by Argus's titles SrcAddr and DstAddr with one of Dir, Sport, Dport,
// StartTime, TotBytes or TotPkts (StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,
// sTos,dTos,TotPkts,TotBytes,SrcBytes[,SrcPkts],Label).
//   - StartTime ("2018/04/03 13:36:04.384958") is the local time of the host that ran ra: naive,
//     read in --tz. Dur is seconds → Duration; LastTime, when present, is the end.
//   - Proto is a name; arp, rarp, llc and Argus "man" status records are skipped ("not an IP flow").
//   - ICMP ports are mapped as Zeek has them, SrcPort = type and DstPort = code. Argus 5 prints
//     the type in Sport and the code in Dport ("0x03", "0x03"). Argus 3.0 prints in Sport the
//     type and code bytes read as one little-endian word ("0x0403": type 3, code 4) and in Dport
//     the echo identifier. So a Sport above 0xff is a 3.0 word; otherwise a Dport above 0xff is a
//     3.0 identifier and the code is 0; otherwise Dport is the code. Echo request and reply
//     (types 8 and 0) have code 0 by definition (RFC 792), which keeps a small 3.0 identifier
//     from being read as a code. ICMPv6 is decimal type and code in every version.
//   - Dir says which side transmitted (ra(1)): Argus starts from "<->" and drops the '<' when
//     DstAddr sent no packet and the '>' when SrcAddr sent none; for TCP whose SYN it saw, the
//     arrow points away from the side that opened the connection ("->" SrcAddr, "<-" DstAddr).
//     The middle character is '-' normally, '?' when no SYN was seen and the direction is a
//     guess ('|' reset, 'o' timed out); "who" and "tel" mark ARP and RARP (skipped by Proto).
//     A Dir that points only left ("<-", "<?", "<|", "<o") makes DstAddr the originator (the
//     only sender, or the SYN's sender), so the record is turned round: Src = DstAddr, Dst =
//     SrcAddr, ports swapped (not for ICMP, whose "ports" are type and code), and the out/in
//     counters swapped. Any other value keeps the orientation as written; for "<?>" and "<->"
//     both sides sent, and SrcAddr, the sender of the first packet Argus saw, is the best guess.
//   - BytesOut = SrcBytes and BytesIn = TotBytes − SrcBytes; SrcBytes > TotBytes is skipped.
//     Packets alike from SrcPkts and TotPkts. Files without SrcPkts (CTU-13's) give PktsOut =
//     TotPkts, the flow's total, and PktsIn = 0, as flow.Record has readers do with a lone
//     total; such a total stays in PktsOut when Dir turns the record round.
//   - State (S_RA, CON, INT, FSPA_FSPA, ...: what each side sent), sTos, dTos and Label are
//     unused: Record has no field for them.
//
// "nfdump-csv": "nfdump -r FILE -o csv".
//   - nfdump 1.6 to 1.7.4 print ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,
//     sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1..mpls10,cl,sl,al,ra,eng,
//     exid,tr (recognised by its first eight names). ts and te are the local time of the host
//     that ran nfdump, cut to the second ("2018-01-12 15:37:30": naive, read in --tz); td is the
//     duration in seconds to the millisecond and gives Duration. pr is a name ("TCP", "ICMP6";
//     names flow.ParseProto does not know give 0) or a number. ipkt/ibyt count src→dst:
//     PktsOut/BytesOut. opkt/obyt are, per nfdump(1), the counters of the reverse flow of a
//     bidirectional flow (sent so by the exporter, as Cisco NSEL and nProbe do, or joined by
//     nfdump -b/-B) and 0 for unidirectional NetFlow: PktsIn/BytesIn. (An exporter that fills
//     NetFlow v9's OUT_BYTES with an egress count of the same direction is read as reverse
//     traffic too; the CSV cannot tell.) fwd is the forwarding status above. flg (TCP flags),
//     stos/dtos, in/out (interface indexes), dir (ingress/egress), AS numbers, masks, next hops,
//     VLANs, MACs, MPLS labels, latencies, router, engine and exporter ids are unused. The output
//     ends with a summary block: "Summary", "flows,bytes,packets,avg_bps,avg_pps,avg_bpp" and one
//     line of six numbers; those lines are consumed as no record (neither flows nor skipped).
//   - nfdump 1.7.5 and later print firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,
//     packets,bytes,flows and no summary; "-o csv-fast" prints cnt,af,firstSeen,lastSeen,proto,
//     srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,input,output,flags,srcTos,packets,bytes with
//     epoch milliseconds. Both are recognised by the names firstSeen, srcAddr and dstAddr.
//     firstSeen is local time to the millisecond; packets/bytes are src→dst (PktsOut/BytesOut).
//   - ICMP: nfdump keeps type and code in the destination port as 256·type + code, which the
//     legacy csv and csv-fast print as is ("2048", echo request) and the 1.7.5 csv as
//     "type.code" ("8.0"). Either gives SrcPort = type and DstPort = code, as Zeek has them.
//   - nfdump writes "0000-00-00 00:00:00.000" for a flow without time: "missing timestamp".

// csvRole is what a column holds.
type csvRole uint8

const (
	csvSkip csvRole = iota
	csvTS
	csvDate // date half of a timestamp split over two columns (FortiGate "date","time")
	csvTime // time half
	csvEnd
	csvDurS
	csvDurMs
	csvDurUs
	csvDurNs
	csvSrc
	csvDst
	csvSport
	csvDport
	csvProto
	csvBytes // generic: the total when alone, else resolved to out or total
	csvBytesTotal
	csvBytesOut
	csvBytesIn
	csvPkts
	csvPktsTotal
	csvPktsOut
	csvPktsIn
	csvAction
	csvQuery
	csvHost
	csvSNI
	csvUA
	csvDir   // Argus's direction arrow ("->", "<-", "<?>", ...); see the binetflow dialect
	csvFwd   // forwarding status byte (RFC 7270; nfdump's fwd)
	csvReply // 1 when the record is the answer half of a one-way export (flow.KindReply), as collect writes
	csvNumRoles
)

// csvRoleNames are the canonical role names --columns takes (header synonyms are accepted too).
var csvRoleNames = [csvNumRoles]string{
	csvSkip: "-", csvTS: "ts", csvDate: "date", csvTime: "time", csvEnd: "end",
	csvDurS: "duration", csvDurMs: "duration_ms", csvDurUs: "duration_us", csvDurNs: "duration_ns",
	csvSrc: "src", csvDst: "dst", csvSport: "sport", csvDport: "dport", csvProto: "proto",
	csvBytes: "bytes", csvBytesTotal: "total_bytes", csvBytesOut: "bytes_out", csvBytesIn: "bytes_in",
	csvPkts: "packets", csvPktsTotal: "total_packets", csvPktsOut: "packets_out", csvPktsIn: "packets_in",
	csvAction: "action", csvQuery: "query", csvHost: "host", csvSNI: "sni", csvUA: "ua",
	csvDir: "dir", csvFwd: "fwd_status", csvReply: "reply",
}

// csvSynonyms maps a normalised header name (lower case, without '_', '-', '.' and spaces; see
// csvNormalise) to its role. NetFlow's IN_BYTES/OUT_BYTES (nProbe) and nfdump's ibyt/obyt count
// src→dst and dst→src, the opposite of how bytes_in/bytes_out read, hence their odd placement.
// Argus's Dir is not here: only the binetflow dialect gives it a role (csvDir), as other tools'
// "dir" columns hold other things (nfdump's is ingress/egress).
var csvSynonyms = func() map[string]csvRole {
	m := make(map[string]csvRole)
	add := func(r csvRole, names ...string) {
		for _, n := range names {
			m[csvNormalise([]byte(n))] = r
		}
	}
	add(csvTS, "timestamp", "ts", "datetime", "start", "start_time", "stime", "first_seen",
		"date first seen", "event_time", "@timestamp", "flow_start", "flow_start_milliseconds",
		"flow_start_seconds", "start_timestamp", "timestamp_start", "time_start")
	add(csvDate, "date")
	add(csvTime, "time")
	add(csvEnd, "end", "end_time", "last_seen", "date last seen", "ltime", "te", "flow_end", "last_time",
		"flow_end_milliseconds", "flow_end_seconds", "timestamp_end", "time_end")
	add(csvDurS, "duration", "dur", "elapsed", "td", "duration_s", "duration_sec", "elapsed_time_sec",
		"elapsed time (sec)", "flow_duration_seconds")
	add(csvDurMs, "duration_ms", "dur_ms", "flow_duration_milliseconds", "elapsed_ms")
	add(csvDurUs, "duration_us", "flow_duration", "flow_duration_microseconds")
	add(csvDurNs, "duration_ns", "event.duration")
	add(csvSrc, "src", "src_ip", "source", "source_ip", "saddr", "srcaddr", "src_addr", "source_address",
		"source_addr", "ip_src", "orig_h", "id.orig_h", "client_ip", "sa", "ipv4_src_addr",
		"ipv6_src_addr", "src_address", "client_addr", "src ip addr")
	add(csvDst, "dst", "dst_ip", "destination", "destination_ip", "daddr", "dstaddr", "dst_addr",
		"destination_address", "destination_addr", "dest_ip", "dest_addr", "ip_dst", "resp_h",
		"id.resp_h", "server_ip", "da", "ipv4_dst_addr", "ipv6_dst_addr", "dst_address", "server_addr",
		"dst ip addr")
	add(csvSport, "sport", "src_port", "source_port", "spt", "l4_src_port", "orig_p", "id.orig_p",
		"sp", "client_port", "src pt")
	add(csvDport, "dport", "dst_port", "destination_port", "dest_port", "dpt", "port", "l4_dst_port",
		"resp_p", "id.resp_p", "service_port", "dp", "dsport", "server_port", "dst pt")
	add(csvProto, "proto", "protocol", "ip_proto", "ip_protocol", "protocol_name", "transport", "pr",
		"network.transport")
	add(csvBytes, "bytes", "payload", "size", "len", "length", "octets", "byte_count", "num_bytes")
	add(csvBytesTotal, "total_bytes", "totbytes", "tot_bytes", "bytes_total")
	add(csvBytesOut, "bytes_out", "orig_bytes", "src_bytes", "sbytes", "ibyt", "in_bytes", "bytes_sent",
		"sent_bytes", "sentbyte", "total_length_of_fwd_packets", "source.bytes")
	add(csvBytesIn, "bytes_in", "resp_bytes", "dst_bytes", "dbytes", "obyt", "out_bytes",
		"bytes_received", "received_bytes", "rcvdbyte", "total_length_of_bwd_packets", "destination.bytes")
	add(csvPkts, "packets", "pkts", "packet_count", "num_packets", "packet")
	add(csvPktsTotal, "total_packets", "totpkts", "tot_pkts", "totpackets", "packets_total")
	add(csvPktsOut, "packets_out", "pkts_out", "orig_pkts", "src_pkts", "spkts", "srcpkts", "ipkt",
		"in_pkts", "in_packets", "packets_sent", "sentpkt", "total_fwd_packets", "source.packets")
	add(csvPktsIn, "packets_in", "pkts_in", "resp_pkts", "dst_pkts", "dpkts", "dstpkts", "opkt",
		"out_pkts", "out_packets", "packets_received", "rcvdpkt", "total_backward_packets", "destination.packets")
	add(csvAction, "action", "disposition", "verdict")
	add(csvQuery, "query", "dns_query", "qname", "domain", "dns_qname")
	add(csvHost, "host", "http_host", "hostname")
	add(csvSNI, "sni", "server_name", "tls_sni", "tls_server_name", "ssl_server_name")
	add(csvUA, "ua", "user_agent", "useragent", "http_user_agent")
	add(csvFwd, "fwd", "fwd_status", "forwarding_status")
	add(csvReply, "reply", "is_reply")
	return m
}()

// csvNormalise reduces a header name to its synonym key: BOM, surrounding spaces and quotes
// dropped, lower case, and '_', '-', '.', ' ' removed, so "Src_IP", "src-ip" and "SrcIP" agree.
func csvNormalise(b []byte) string {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	b = bytes.Trim(b, " \t\"'")
	var s strings.Builder
	for _, c := range b {
		switch {
		case c == '_' || c == '-' || c == '.' || c == ' ':
		case c >= 'A' && c <= 'Z':
			s.WriteByte(c + 'a' - 'A')
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}

// csvRoleOf maps a --columns name: a canonical role, "skip", or any header synonym.
func csvRoleOf(name string) (csvRole, bool) {
	n := strings.TrimSpace(name)
	if n == "-" || n == "" || strings.EqualFold(n, "skip") {
		return csvSkip, true
	}
	for r, rn := range csvRoleNames {
		if r != int(csvSkip) && strings.EqualFold(n, rn) {
			return csvRole(r), true
		}
	}
	r, ok := csvSynonyms[csvNormalise([]byte(n))]
	return r, ok
}

// csvFormat is one CSV input whose separator and column roles were fixed when it was sniffed.
type csvFormat struct {
	parser    *csvParser
	hasHeader bool     // the first line names columns and is consumed
	ignored   []string // header names of the columns read by no role
	mapped    []string // "role=header name" for each mapped column of a header
}

func (f *csvFormat) Name() string {
	switch f.parser.dialect {
	case csvArgus:
		return "binetflow"
	case csvNfdump:
		return "nfdump-csv"
	}
	if f.parser.sep == '\t' {
		return "tsv"
	}
	return "csv"
}

func (f *csvFormat) ControlPrefix() byte { return 0 }

// Control consumes the first line when it is a header; sniffing decided which from the same line.
func (f *csvFormat) Control(line []byte, lineNo int64) (bool, error) {
	return lineNo == 1 && f.hasHeader, nil
}

func (f *csvFormat) Parser() lineParser { return f.parser }

// Ignored lists the header names of the columns no role reads (unknown names, repeated roles),
// for the CLI to say so.
func (f *csvFormat) Ignored() []string { return f.ignored }

// Mapped lists "role=column" for the columns a header mapped, for the CLI's verbose output.
func (f *csvFormat) Mapped() []string { return f.mapped }

// csvDialect is a producer whose conventions go beyond its column names (see the file comment).
type csvDialect uint8

const (
	csvGeneric csvDialect = iota
	csvArgus              // Argus ra output: binetflow
	csvNfdump             // nfdump -o csv
)

// csvDialectOf recognises a dialect from a header's column names (quotes and spaces trimmed).
// Argus and nfdump spell their titles exactly, so the match is case-sensitive.
func csvDialectOf(names []string) csvDialect {
	has := func(n string) bool { return slices.Contains(names, n) }
	switch {
	case has("SrcAddr") && has("DstAddr") &&
		(has("Dir") || has("Sport") || has("Dport") || has("StartTime") || has("TotBytes") || has("TotPkts")):
		return csvArgus
	case len(names) >= 8 && slices.Equal(names[:8], []string{"ts", "te", "td", "sa", "da", "sp", "dp", "pr"}):
		return csvNfdump
	case has("firstSeen") && has("srcAddr") && has("dstAddr"):
		return csvNfdump
	}
	return csvGeneric
}

// csvCol is one column the parser reads.
type csvCol struct {
	idx  int
	role csvRole
}

// csvParser parses data lines with a fixed column layout; immutable once built.
type csvParser struct {
	dialect csvDialect
	sep     byte
	loc     *time.Location
	cols    []csvCol
	need    int    // fields a line must have: highest mapped index + 1
	needStr string // need as fieldCount's want
	timeIdx int    // column of the time half when the timestamp is split, else -1
	hasDur  bool   // a duration column exists, so end is not used for it
	header  []byte // the header line, so a repeated header (concatenated files) is not an error

	bytesOut, bytesIn, bytesTotal bool
	pktsOut, pktsIn, pktsTotal    bool
}

// newCSVParser resolves roles by position into a parser. It returns the positions that no role
// reads (duplicates included) so they can be reported.
func newCSVParser(sep byte, roles []csvRole, loc *time.Location) (*csvParser, []int, error) {
	p := &csvParser{sep: sep, loc: loc, timeIdx: -1}
	first := [csvNumRoles]int{}
	for i := range first {
		first[i] = -1
	}
	var unused []int
	for i, r := range roles {
		if r == csvSkip {
			unused = append(unused, i)
			continue
		}
		if first[r] >= 0 {
			unused = append(unused, i)
			continue
		}
		first[r] = i
	}
	if first[csvSrc] < 0 || first[csvDst] < 0 {
		var miss []string
		for _, r := range []csvRole{csvSrc, csvDst} {
			if first[r] < 0 {
				miss = append(miss, csvRoleNames[r])
			}
		}
		return nil, nil, fmt.Errorf("no %s column", strings.Join(miss, "/"))
	}
	// The timestamp: a ts column, or date and time halves joined, or either half alone.
	switch {
	case first[csvTS] >= 0:
		unused = append(unused, csvDropRoles(&first, csvDate, csvTime)...)
	case first[csvDate] >= 0 && first[csvTime] >= 0:
		first[csvTS], p.timeIdx = first[csvDate], first[csvTime]
		first[csvDate], first[csvTime] = -1, -1
	case first[csvDate] >= 0:
		first[csvTS], first[csvDate] = first[csvDate], -1
	case first[csvTime] >= 0:
		first[csvTS], first[csvTime] = first[csvTime], -1
	}
	// One duration: the first unit given.
	for _, r := range []csvRole{csvDurS, csvDurMs, csvDurUs, csvDurNs} {
		if first[r] < 0 {
			continue
		}
		if p.hasDur {
			unused = append(unused, first[r])
			first[r] = -1
			continue
		}
		p.hasDur = true
	}
	// Generic counters are the out direction unless an explicit out column exists.
	resolve := func(generic, total, out csvRole) {
		if first[generic] < 0 {
			return
		}
		target := out
		if first[out] >= 0 {
			target = total
		}
		if first[target] >= 0 {
			unused = append(unused, first[generic])
		} else {
			first[target] = first[generic]
		}
		first[generic] = -1
	}
	resolve(csvBytes, csvBytesTotal, csvBytesOut)
	resolve(csvPkts, csvPktsTotal, csvPktsOut)
	p.bytesOut, p.bytesIn, p.bytesTotal = first[csvBytesOut] >= 0, first[csvBytesIn] >= 0, first[csvBytesTotal] >= 0
	p.pktsOut, p.pktsIn, p.pktsTotal = first[csvPktsOut] >= 0, first[csvPktsIn] >= 0, first[csvPktsTotal] >= 0

	for r, i := range first {
		if i < 0 {
			continue
		}
		p.cols = append(p.cols, csvCol{idx: i, role: csvRole(r)})
		p.need = max(p.need, i+1)
	}
	p.need = max(p.need, p.timeIdx+1)
	slices.SortFunc(p.cols, func(a, b csvCol) int { return a.idx - b.idx })
	slices.Sort(unused)
	p.needStr = fmt.Sprintf("≥ %d", p.need)
	return p, unused, nil
}

func csvDropRoles(first *[csvNumRoles]int, roles ...csvRole) []int {
	var out []int
	for _, r := range roles {
		if first[r] >= 0 {
			out = append(out, first[r])
			first[r] = -1
		}
	}
	return out
}

// csvSeparators in order of preference when counts tie.
var csvSeparators = []byte{',', '\t', ';', '|'}

// sniffCSV recognises a delimited flow table. It declines binary data, JSON, Zeek TSV and
// filterlog outright, and explains why for delimited text it cannot map (no separator, no
// src/dst column in the header, a first line of data without --columns), and for nfdump's
// binary files how to turn them into CSV.
func sniffCSV(head []byte, name string, opts *Options) (lineFormat, error) {
	if csvIsNfcapd(head) {
		return nil, errNfcapd
	}
	lines := headLines(head, 64)
	if len(lines) == 0 {
		return nil, nil
	}
	first := lines[0]
	if bytes.IndexByte(first, 0) >= 0 {
		return nil, nil // binary (pcap, nfcapd); a corrupt line further on is only skipped
	}
	lead := bytes.TrimLeft(first, " \t\ufeff")
	switch {
	case len(lead) == 0:
		return nil, errors.New("first line is empty")
	case lead[0] == '{' || lead[0] == '[':
		return nil, nil // JSON
	case bytes.HasPrefix(lead, []byte("#separator")) || bytes.HasPrefix(lead, []byte("#fields")):
		return nil, nil // Zeek TSV
	case bytes.Contains(first, []byte("filterlog")):
		return nil, nil
	}
	var roles []csvRole
	if len(opts.Columns) > 0 {
		for _, c := range opts.Columns {
			r, ok := csvRoleOf(c)
			if !ok {
				return nil, fmt.Errorf("unknown column role %q in --columns (known: %s, or - to skip)",
					c, strings.Join(csvRoleNames[1:], ","))
			}
			if r != csvSkip && slices.Contains(roles, r) {
				return nil, fmt.Errorf("--columns names %s twice", csvRoleNames[r])
			}
			roles = append(roles, r)
		}
	}

	seps := csvRankSeparators(lines)
	if len(seps) == 0 {
		// AWS VPC flow logs separate by single spaces; only accept that with a mapping header or
		// --columns, so ordinary text is not taken for a table.
		if bytes.Count(first, []byte{' '}) == 0 {
			return nil, errors.New("no ',', tab, ';' or '|' separated columns")
		}
		f, err := csvBuild(lines, ' ', roles, opts)
		if err != nil {
			return nil, errors.New("no ',', tab, ';' or '|' separated columns")
		}
		return f, nil
	}
	var firstErr error
	for _, sep := range seps {
		f, err := csvBuild(lines, sep, roles, opts)
		if err == nil {
			return f, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// errNfcapd explains an nfcapd file, which no reader decodes: nfdump itself converts it.
var errNfcapd = errors.New("nfcapd binary file: convert it with `nfdump -r FILE -o csv > FILE.csv`")

// csvIsNfcapd recognises nfdump's binary file header: the 16-bit magic 0xA50C and the layout
// version, 1 (nfdump 1.6) or 2 (1.7), in the byte order of the host that wrote the file
// (nffileV2.h).
func csvIsNfcapd(head []byte) bool {
	if len(head) < 4 {
		return false
	}
	little := head[0] == 0x0c && head[1] == 0xa5 && head[3] == 0 && (head[2] == 1 || head[2] == 2)
	big := head[0] == 0xa5 && head[1] == 0x0c && head[2] == 0 && (head[3] == 1 || head[3] == 2)
	return little || big
}

// csvRankSeparators returns the separators found in the first line, best first: those whose
// count is the same on (nearly) every sampled line, then the most frequent.
func csvRankSeparators(lines [][]byte) []byte {
	type cand struct {
		sep        byte
		n          int
		consistent bool
	}
	var cands []cand
	for _, sep := range csvSeparators {
		n0 := csvCountSep(lines[0], sep)
		if n0 == 0 {
			continue
		}
		agree, total := 0, 0
		for _, l := range lines[1:] {
			if len(bytes.TrimSpace(l)) == 0 {
				continue
			}
			total++
			if csvCountSep(l, sep) == n0 {
				agree++
			}
		}
		cands = append(cands, cand{sep, n0, agree*10 >= total*9})
	}
	// Insertion sort keeps the preference order among equals.
	for i := 1; i < len(cands); i++ {
		for j := i; j > 0; j-- {
			a, b := cands[j-1], cands[j]
			if a.consistent && !b.consistent || a.consistent == b.consistent && a.n >= b.n {
				break
			}
			cands[j-1], cands[j] = b, a
		}
	}
	out := make([]byte, len(cands))
	for i, c := range cands {
		out[i] = c.sep
	}
	return out
}

// csvCountSep counts sep outside double quotes.
func csvCountSep(line []byte, sep byte) int {
	n, quoted := 0, false
	for _, c := range line {
		switch c {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				n++
			}
		}
	}
	return n
}

// csvBuild decides what the first line is and builds the format for separator sep. With roles
// from --columns, it checks that the first data lines hold addresses where src and dst are said
// to be, so an off-by-one mapping fails here rather than on every line.
func csvBuild(lines [][]byte, sep byte, roles []csvRole, opts *Options) (*csvFormat, error) {
	first := lines[0]
	var sc Scratch
	fields := csvSplit(&sc, first, sep)
	names := make([]string, len(fields))
	hasAddr := false
	for i, f := range fields {
		f = csvTrim(bytes.TrimPrefix(f, []byte("\xef\xbb\xbf")))
		names[i] = string(f)
		if _, ok := flow.ParseAddr(f); ok {
			hasAddr = true
		}
	}
	if len(fields) < 2 {
		return nil, errors.New("no ',', tab, ';' or '|' separated columns")
	}
	f := &csvFormat{hasHeader: !hasAddr}
	byHeader := roles == nil
	dialect := csvGeneric
	if byHeader {
		if hasAddr {
			return nil, errors.New("first line is data (it holds an IP address), not a header; " +
				"name the columns with --columns, e.g. --columns ts,src,dst,dport,bytes")
		}
		titles := make([]string, len(names))
		for i, n := range names {
			titles[i] = strings.Trim(n, "\"' ")
		}
		dialect = csvDialectOf(titles)
		roles = make([]csvRole, len(fields))
		for i, n := range names {
			roles[i] = csvSynonyms[csvNormalise([]byte(n))]
			if dialect == csvArgus && titles[i] == "Dir" {
				roles[i] = csvDir
			}
		}
	}
	p, unused, err := newCSVParser(sep, roles, opts.location())
	if err != nil {
		if byHeader {
			return nil, fmt.Errorf("header has no src/dst column: %s; use --columns (e.g. --columns ts,src,dst,dport,bytes)",
				csvNameList(names))
		}
		return nil, fmt.Errorf("--columns names %s", err)
	}
	if !byHeader {
		data := lines
		if f.hasHeader {
			data = lines[1:]
		}
		if err := csvCheckColumns(data, p); err != nil {
			return nil, err
		}
	}
	p.dialect = dialect
	f.parser = p
	if f.hasHeader {
		p.header = bytes.Clone(bytes.TrimPrefix(first, []byte("\xef\xbb\xbf")))
		for _, i := range unused {
			if i < len(names) {
				f.ignored = append(f.ignored, csvColumnName(names, i))
			}
		}
		for i := len(roles); i < len(names); i++ {
			f.ignored = append(f.ignored, csvColumnName(names, i))
		}
		for _, c := range p.cols {
			if c.idx < len(names) {
				f.mapped = append(f.mapped, csvRoleNames[c.role]+"="+csvColumnName(names, c.idx))
			}
		}
		if p.timeIdx >= 0 && p.timeIdx < len(names) {
			f.mapped = append(f.mapped, "ts+="+csvColumnName(names, p.timeIdx))
		}
	}
	return f, nil
}

// csvCheckColumns accepts --columns when one of the first data lines has addresses in the src
// and dst columns, or when there is no data line yet; otherwise it describes the first line.
func csvCheckColumns(data [][]byte, p *csvParser) error {
	src, dst := -1, -1
	for _, c := range p.cols {
		switch c.role {
		case csvSrc:
			src = c.idx
		case csvDst:
			dst = c.idx
		}
	}
	var sc Scratch
	var firstErr error
	n := 0
	for _, line := range data {
		if len(csvTrim(line)) == 0 {
			continue
		}
		fields := csvSplit(&sc, line, p.sep)
		if len(fields) < p.need {
			if firstErr == nil {
				firstErr = fmt.Errorf("--columns names %d columns but the first data line has %d", p.need, len(fields))
			}
		} else {
			_, okSrc := flow.ParseAddr(csvTrim(fields[src]))
			_, okDst := flow.ParseAddr(csvTrim(fields[dst]))
			if okSrc && okDst {
				return nil
			}
			if firstErr == nil {
				bad := fields[src]
				if okSrc {
					bad = fields[dst]
				}
				firstErr = fmt.Errorf("--columns does not fit the first data line: %q is not an address", csvTrim(bad))
			}
		}
		if n++; n == 5 {
			break
		}
	}
	return firstErr
}

// csvColumnName names column i for messages; pandas writes its index column with no name.
func csvColumnName(names []string, i int) string {
	n := strings.Trim(names[i], "\"'")
	if n == "" {
		return fmt.Sprintf("(column %d)", i+1)
	}
	return n
}

// csvNameList renders header names for an error message, shortened.
func csvNameList(names []string) string {
	const maxNames, maxLen = 12, 32
	var parts []string
	for i := range names {
		if i == maxNames {
			parts = append(parts, fmt.Sprintf("… (%d columns)", len(names)))
			break
		}
		n := csvColumnName(names, i)
		if len(n) > maxLen {
			n = n[:maxLen] + "…"
		}
		parts = append(parts, fmt.Sprintf("%q", n))
	}
	return strings.Join(parts, ", ")
}

// csvSplit splits a line into sc.Fields: plain splitting unless the line has a quote.
func csvSplit(sc *Scratch, line []byte, sep byte) [][]byte {
	if bytes.IndexByte(line, '"') < 0 {
		return splitFields(sc, line, sep)
	}
	return csvSplitQuoted(sc, line, sep)
}

// csvSplitQuoted splits a line with RFC 4180 quoting: a field that starts with '"' (after spaces)
// runs to the next lone '"', and "" inside it stands for a quote. Fields without "" alias line;
// those with it are unescaped into a new slice (rare: user agents and the like). Text between a
// closing quote and the next separator is dropped; an unterminated quote runs to the end.
func csvSplitQuoted(sc *Scratch, line []byte, sep byte) [][]byte {
	f := sc.Fields[:0]
	for {
		start := 0
		for start < len(line) && line[start] == ' ' {
			start++
		}
		if start == len(line) || line[start] != '"' {
			i := bytes.IndexByte(line, sep)
			if i < 0 {
				f = append(f, line)
				break
			}
			f = append(f, line[:i])
			line = line[i+1:]
			continue
		}
		body := line[start+1:]
		end, escaped := -1, false
		for i := 0; i < len(body); {
			j := bytes.IndexByte(body[i:], '"')
			if j < 0 {
				break
			}
			i += j
			if i+1 < len(body) && body[i+1] == '"' {
				escaped = true
				i += 2
				continue
			}
			end = i
			break
		}
		if end < 0 {
			f = append(f, csvUnescape(body, escaped))
			break
		}
		f = append(f, csvUnescape(body[:end], escaped))
		rest := body[end+1:]
		i := bytes.IndexByte(rest, sep)
		if i < 0 {
			break
		}
		line = rest[i+1:]
	}
	sc.Fields = f
	return f
}

func csvUnescape(b []byte, escaped bool) []byte {
	if !escaped {
		return b
	}
	return bytes.ReplaceAll(b, []byte(`""`), []byte(`"`))
}

// csvTrim drops surrounding spaces and tabs.
func csvTrim(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// csvUnset reports an empty value or Zeek's "-".
func csvUnset(b []byte) bool { return len(b) == 0 || len(b) == 1 && b[0] == '-' }

// Parse reads one data line. See the file comment for the value forms.
func (p *csvParser) Parse(sc *Scratch, line []byte, r *flow.Record) error {
	if len(line) >= 3 && line[0] == 0xef && line[1] == 0xbb && line[2] == 0xbf {
		line = line[3:]
	}
	fields := csvSplit(sc, line, p.sep)
	if len(fields) < p.need {
		if len(csvTrim(line)) == 0 || p.dialect == csvNfdump && csvNfdumpSummary(line, fields) {
			return errNoRecord
		}
		return fieldCount(len(fields), p.needStr)
	}
	var (
		start, end, durationNs int64
		hasStart, hasEnd, ok   bool
		bOut, bIn, bTotal      uint64
		pOut, pIn, pTotal      uint64
		reversed               bool   // Argus Dir points only left: DstAddr originated
		reply                  bool   // the reply column says flow.KindReply
		typeCode               []byte // nfdump's ICMP dst port printed as "type.code"
		reason                 string // what was bad, for badField
		badValue               []byte
	)
	for _, c := range p.cols {
		v := csvTrim(fields[c.idx])
		switch c.role {
		case csvTS:
			if csvUnset(v) || p.dialect == csvNfdump && bytes.HasPrefix(v, []byte("0000-00-00")) {
				return missingField("timestamp")
			}
			if p.timeIdx >= 0 {
				start, ok = csvJoinTime(v, csvTrim(fields[p.timeIdx]), p.loc)
			} else {
				start, ok = parseTime(v, p.loc)
			}
			if !ok {
				reason, badValue = "timestamp", v
				goto bad
			}
			hasStart = true
		case csvEnd:
			if csvUnset(v) || p.dialect == csvNfdump && bytes.HasPrefix(v, []byte("0000-00-00")) {
				continue
			}
			if end, ok = parseTime(v, p.loc); !ok {
				reason, badValue = "end time", v
				goto bad
			}
			hasEnd = true
		case csvDurS, csvDurMs, csvDurUs, csvDurNs:
			if durationNs, ok = csvParseDuration(v, c.role); !ok {
				reason, badValue = "duration", v
				goto bad
			}
		case csvSrc:
			if csvUnset(v) {
				return missingField("src address")
			}
			if r.Src, ok = flow.ParseAddr(v); !ok {
				reason, badValue = "src address", v
				goto bad
			}
		case csvDst:
			if csvUnset(v) {
				return missingField("dst address")
			}
			if r.Dst, ok = flow.ParseAddr(v); !ok {
				reason, badValue = "dst address", v
				goto bad
			}
		case csvSport:
			if r.SrcPort, ok = csvParsePort(v); !ok {
				reason, badValue = "src port", v
				goto bad
			}
		case csvDport:
			if p.dialect == csvNfdump && bytes.IndexByte(v, '.') >= 0 {
				typeCode = v // read once the protocol is known
				continue
			}
			if r.DstPort, ok = csvParsePort(v); !ok {
				reason, badValue = "dst port", v
				goto bad
			}
		case csvProto:
			if r.Proto, ok = csvParseProto(v); !ok {
				reason, badValue = "proto", v
				goto bad
			}
			if r.Proto == 0 && csvNotIP(v) {
				return errNotIP
			}
		case csvBytesOut, csvBytesIn, csvBytesTotal:
			n, ok := csvParseCount(v)
			if !ok {
				reason, badValue = "bytes", v
				goto bad
			}
			switch c.role {
			case csvBytesOut:
				bOut = n
			case csvBytesIn:
				bIn = n
			default:
				bTotal = n
			}
		case csvPktsOut, csvPktsIn, csvPktsTotal:
			n, ok := csvParseCount(v)
			if !ok {
				reason, badValue = "packets", v
				goto bad
			}
			switch c.role {
			case csvPktsOut:
				pOut = n
			case csvPktsIn:
				pIn = n
			default:
				pTotal = n
			}
		case csvAction:
			r.Action = csvParseAction(v)
		case csvFwd:
			if r.Action, ok = csvParseFwdStatus(v); !ok {
				reason, badValue = "forwarding status", v
				goto bad
			}
		case csvDir:
			reversed = csvArgusReversed(v)
		case csvReply:
			switch string(v) {
			case "1", "true":
				reply = true
			case "", "0", "false":
			default:
				reason, badValue = "reply flag", v
				goto bad
			}
		case csvQuery:
			if !csvUnset(v) {
				r.DNSQuery = string(v)
			}
		case csvHost:
			if !csvUnset(v) {
				r.HTTPHost = string(v)
			}
		case csvSNI:
			if !csvUnset(v) {
				r.TLSSNI = string(v)
			}
		case csvUA:
			if !csvUnset(v) {
				r.UserAgent = string(v)
			}
		}
	}
	r.Kind = flow.KindFlow
	if reply {
		r.Kind = flow.KindReply
	}
	if hasStart {
		r.Time = start
	}
	switch {
	case p.hasDur:
		r.Duration = durationNs
	case hasStart && hasEnd && end >= start:
		r.Duration = end - start
	}
	if r.BytesOut, r.BytesIn, ok = csvDirections(bOut, bIn, bTotal, p.bytesOut, p.bytesIn, p.bytesTotal); !ok {
		return csvOverTotal("bytes", bOut, bIn, bTotal, p.bytesOut)
	}
	if r.PktsOut, r.PktsIn, ok = csvDirections(pOut, pIn, pTotal, p.pktsOut, p.pktsIn, p.pktsTotal); !ok {
		return csvOverTotal("packets", pOut, pIn, pTotal, p.pktsOut)
	}
	if icmp := r.Proto == flow.ProtoICMP || r.Proto == flow.ProtoICMPv6; icmp || typeCode != nil {
		switch {
		case typeCode != nil:
			t, c, ok := csvParseTypeCode(typeCode)
			if !ok || !icmp {
				return badField("dst port", typeCode)
			}
			r.SrcPort, r.DstPort = uint16(t), uint16(c)
		case p.dialect == csvArgus:
			r.SrcPort, r.DstPort = csvArgusICMP(r.SrcPort, r.DstPort)
		case p.dialect == csvNfdump:
			r.SrcPort, r.DstPort = r.DstPort>>8, r.DstPort&0xff
		}
	}
	if reversed {
		p.turnRound(r)
	}
	if p.dialect == csvNfdump {
		orientReply(r) // nfdump prints NetFlow's one-way records: see orientReply
	}
	return nil

bad:
	if p.header != nil && bytes.Equal(line, p.header) {
		return errNoRecord // the header again, from files concatenated with cat
	}
	return badField(reason, badValue)
}

// turnRound makes DstAddr the originator of an Argus record whose Dir points only left. ICMP
// keeps its ports (type and code), and a lone total stays in the out counter.
func (p *csvParser) turnRound(r *flow.Record) {
	r.Src, r.Dst = r.Dst, r.Src
	if r.Proto != flow.ProtoICMP && r.Proto != flow.ProtoICMPv6 {
		r.SrcPort, r.DstPort = r.DstPort, r.SrcPort
	}
	if p.bytesOut || p.bytesIn {
		r.BytesOut, r.BytesIn = r.BytesIn, r.BytesOut
	}
	if p.pktsOut || p.pktsIn {
		r.PktsOut, r.PktsIn = r.PktsIn, r.PktsOut
	}
}

// csvDirections splits counters into out and in: both given, or a total beside one of them, the
// other being total − given. It reports false when the given one exceeds the total.
func csvDirections(out, in, total uint64, hasOut, hasIn, hasTotal bool) (uint64, uint64, bool) {
	switch {
	case hasOut && hasIn || !hasTotal:
		return out, in, true
	case hasOut:
		return out, total - out, out <= total
	case hasIn:
		return total - in, in, in <= total
	}
	return total, 0, true
}

// csvOverTotal reports a line whose out (or in) counter exceeds its total. It allocates, but
// only on such lines.
func csvOverTotal(what string, out, in, total uint64, hasOut bool) error {
	side, n := "out", out
	if !hasOut {
		side, n = "in", in
	}
	return &FieldError{What: what + " " + side + " > total", Value: fmt.Sprintf("(%d > %d)", n, total)}
}

// csvArgusReversed reports an Argus Dir that points only left ("<-", "<?", "<|", "<o"): the
// flow's originator is DstAddr. See the file comment.
func csvArgusReversed(dir []byte) bool {
	return len(dir) >= 2 && dir[0] == '<' && dir[len(dir)-1] != '>'
}

// csvArgusICMP turns Argus's ICMP Sport and Dport (either version; see the file comment) into
// type and code.
func csvArgusICMP(sport, dport uint16) (uint16, uint16) {
	var typ, code uint16
	switch {
	case sport > 0xff: // Argus 3.0: type | code<<8
		typ, code = sport&0xff, sport>>8
	case dport > 0xff: // Argus 3.0, code 0, Dport the echo identifier
		typ = sport
	default:
		typ, code = sport, dport
	}
	if typ == 0 || typ == 8 { // echo reply, echo request
		code = 0
	}
	return typ, code
}

// csvParseTypeCode reads nfdump's ICMP "type.code" ("8.0", "3.13").
func csvParseTypeCode(b []byte) (uint8, uint8, bool) {
	i := bytes.IndexByte(b, '.')
	t, ok1 := flow.ParseUint(b[:i], 255)
	c, ok2 := flow.ParseUint(b[i+1:], 255)
	return uint8(t), uint8(c), ok1 && ok2
}

// csvParseFwdStatus reads a forwarding status byte (RFC 7270: the top two bits are the status).
func csvParseFwdStatus(b []byte) (flow.Action, bool) {
	if csvUnset(b) {
		return flow.ActionUnknown, true
	}
	n, ok := flow.ParseUint(b, 255)
	if !ok {
		return flow.ActionUnknown, false
	}
	switch n >> 6 {
	case 1:
		return flow.ActionPass, true
	case 2:
		return flow.ActionBlock, true
	}
	return flow.ActionUnknown, true
}

// csvNfdumpSummary recognises the summary block nfdump (1.6 to 1.7.4) appends to "-o csv":
// "Summary", "flows,bytes,packets,avg_bps,avg_pps,avg_bpp" and one line of six numbers. It is
// asked only about lines too short to be flows; a cut flow line still holds a dotted address or
// timestamp, so it is not taken for the numbers line.
func csvNfdumpSummary(line []byte, fields [][]byte) bool {
	switch len(fields) {
	case 1:
		return string(csvTrim(line)) == "Summary"
	case 6:
		if string(line) == "flows,bytes,packets,avg_bps,avg_pps,avg_bpp" {
			return true
		}
		for _, f := range fields {
			if _, ok := flow.ParseUint(f, math.MaxUint64); !ok {
				return false
			}
		}
		return true
	}
	return false
}

// csvJoinTime parses a timestamp split into a date and a time column ("2024-03-14", "10:15:22").
func csvJoinTime(date, clock []byte, loc *time.Location) (int64, bool) {
	var buf [64]byte
	if len(date)+1+len(clock) > len(buf) || len(date) == 0 || len(clock) == 0 {
		return 0, false
	}
	n := copy(buf[:], date)
	buf[n] = ' '
	n++
	n += copy(buf[n:], clock)
	return parseTime(buf[:n], loc)
}

// csvParsePort reads a port: decimal, decimal with a zero fraction ("443.0"), or Argus's hex ICMP
// type/code ("0x0303"); unset is 0.
func csvParsePort(b []byte) (uint16, bool) {
	if csvUnset(b) {
		return 0, true
	}
	if len(b) > 2 && b[0] == '0' && (b[1] == 'x' || b[1] == 'X') {
		if len(b) > 6 {
			return 0, false
		}
		var n uint16
		for _, c := range b[2:] {
			switch {
			case c >= '0' && c <= '9':
				c -= '0'
			case c >= 'a' && c <= 'f':
				c -= 'a' - 10
			case c >= 'A' && c <= 'F':
				c -= 'A' - 10
			default:
				return 0, false
			}
			n = n<<4 | uint16(c)
		}
		return n, true
	}
	return flow.ParsePort(csvZeroFraction(b))
}

// csvZeroFraction drops a fraction made only of zeros ("443.0" → "443").
func csvZeroFraction(b []byte) []byte {
	i := bytes.IndexByte(b, '.')
	if i < 0 {
		return b
	}
	for _, c := range b[i+1:] {
		if c != '0' {
			return b
		}
	}
	return b[:i]
}

// csvParseProto reads a protocol name or number; an unknown name is 0 (unknown), a bad number an error.
func csvParseProto(b []byte) (uint8, bool) {
	if csvUnset(b) {
		return 0, true
	}
	if b[0] >= '0' && b[0] <= '9' {
		return flow.ParseProto(csvZeroFraction(b))
	}
	p, _ := flow.ParseProto(b)
	return p, true
}

// csvParseCount reads a counter, dropping any fraction ("1234.0" from pandas); unset is 0.
func csvParseCount(b []byte) (uint64, bool) {
	if csvUnset(b) {
		return 0, true
	}
	if i := bytes.IndexByte(b, '.'); i >= 0 {
		for _, c := range b[i+1:] {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		if i == 0 {
			return 0, i+1 < len(b)
		}
		b = b[:i]
	}
	return flow.ParseUint(b, math.MaxUint64)
}

// csvParseDuration reads a non-negative decimal duration in the role's unit into nanoseconds.
func csvParseDuration(b []byte, role csvRole) (int64, bool) {
	if csvUnset(b) {
		return 0, true
	}
	unit := int64(1e9)
	switch role {
	case csvDurMs:
		unit = 1e6
	case csvDurUs:
		unit = 1e3
	case csvDurNs:
		unit = 1
	}
	var ip int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if ip > (math.MaxInt64/unit-9)/10 {
			return 0, false
		}
		ip = ip*10 + int64(b[i]-'0')
	}
	ns := ip * unit
	if i < len(b) {
		if b[i] != '.' {
			return 0, false
		}
		frac, scale := int64(0), unit
		for i++; i < len(b); i++ {
			c := b[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			scale /= 10
			frac += int64(c-'0') * scale
		}
		ns += frac
	} else if i == 0 {
		return 0, false
	}
	return ns, true
}

// csvParseAction reads a firewall verdict; unknown words give ActionUnknown.
func csvParseAction(b []byte) flow.Action {
	var lower [16]byte
	if len(b) > len(lower) {
		return flow.ActionUnknown
	}
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(b)]) {
	case "pass", "passed", "allow", "allowed", "accept", "accepted", "permit", "permitted":
		return flow.ActionPass
	case "block", "blocked", "deny", "denied", "drop", "dropped", "reject", "rejected":
		return flow.ActionBlock
	}
	return flow.ActionUnknown
}

// errNotIP skips Argus records of non-IP traffic: ARP (which names IP addresses), LLC frames
// and Argus's own "man" status records.
var errNotIP = &FieldError{What: "not an IP flow"}

func csvNotIP(b []byte) bool {
	var lower [4]byte
	if len(b) > len(lower) {
		return false
	}
	for i, c := range b {
		lower[i] = c | 0x20
	}
	switch string(lower[:len(b)]) {
	case "arp", "rarp", "llc", "man", "stp", "lldp":
		return true
	}
	return false
}
