package sim

import (
	"bufio"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// Zeek writers. They turn simulated records into the logs a Zeek sensor would have written for
// the same traffic, in Zeek's ASCII (TSV) form or its JSON form (LogAscii::use_json=T), so the
// Zeek readers can be tested and benchmarked on data whose answer is known.
//
// Every value Zeek would derive from the packets is derived deterministically from the record
// and its index in the slice: the uid ("C" and 17 base62 characters) is a bijective hash of the
// index, so a record gets the same uid in conn.log and dns.log when both are written from the
// same slice, and the same data always gives the same bytes.

// zeekConnHeader is conn.log's header up to #open, as Zeek writes it.
const zeekConnHeader = "#separator \\x09\n" +
	"#set_separator\t,\n" +
	"#empty_field\t(empty)\n" +
	"#unset_field\t-\n" +
	"#path\tconn\n" +
	"#open\t"

const zeekConnFields = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\t" +
	"orig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\t" +
	"orig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\t" +
	"bool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n"

// zeekDNSHeader is dns.log's header up to #open.
const zeekDNSHeader = "#separator \\x09\n" +
	"#set_separator\t,\n" +
	"#empty_field\t(empty)\n" +
	"#unset_field\t-\n" +
	"#path\tdns\n" +
	"#open\t"

const zeekDNSFields = "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\t" +
	"query\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\t" +
	"rejected\n" +
	"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\t" +
	"string\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n"

// zeekHeaderTime is the layout of #open and #close.
const zeekHeaderTime = "2006-01-02-15-04-05"

// WriteZeekConn writes the records of Kind flow.KindFlow as a Zeek conn.log (events are skipped:
// their connections are the flows). jsonLines selects Zeek's JSON form: one object per line with
// the same field names, numbers for times, intervals and counts, unset fields left out and no
// _path (Zeek writes none by default).
//
// Values: ts and duration in seconds, truncated to the microsecond; duration unset when it is 0
// and the flow got no reply. proto is tcp, udp or icmp (ICMPv6 too, as Zeek says), any other
// protocol unknown_transport. service is dns for UDP port 53, http for TCP port 80, ssl for TCP
// port 443, else unset. conn_state is SF when the responder sent anything (BytesIn or PktsIn),
// REJ for a blocked TCP flow without reply, else S0; history follows it (ShADadfF, Sr or S for
// TCP; Dd or D for the others). orig_bytes/resp_bytes are BytesOut/BytesIn, orig_pkts/resp_pkts
// PktsOut/PktsIn, and orig_ip_bytes/resp_ip_bytes add 40 bytes of headers per TCP packet and 28
// per UDP or ICMP packet over IPv4 (20 more over IPv6). local_orig, local_resp and tunnel_parents
// are unset, missed_bytes 0. #open is the first flow's start and #close the latest flow end.
func WriteZeekConn(w io.Writer, recs []flow.Record, jsonLines bool) error {
	line := zeekAppendConnTSV
	if jsonLines {
		line = zeekAppendConnJSON
	}
	return writeZeekLog(w, recs, func(r *flow.Record) bool { return r.Kind == flow.KindFlow },
		zeekConnHeader, zeekConnFields, line, !jsonLines)
}

// writeZeekLog writes the records keep selects, one line each from line. With tsv it frames them
// as Zeek's TSV does: header (which ends with "#open\t"), the first record's time, fields, and
// a #close line with the latest end; Zeek's JSON form has no framing.
func writeZeekLog(w io.Writer, recs []flow.Record, keep func(*flow.Record) bool, header, fields string,
	line func([]byte, *flow.Record, int) []byte, tsv bool) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var (
		buf         []byte
		first, last int64
	)
	if tsv {
		var ok bool
		if first, last, ok = zeekSpan(recs, keep); !ok {
			first, last = 0, 0
		}
		buf = append(buf, header...)
		buf = zeekAppendHeaderTime(buf, first)
		buf = append(buf, '\n')
		buf = append(buf, fields...)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	for i := range recs {
		r := &recs[i]
		if !keep(r) {
			continue
		}
		buf = line(buf[:0], r, i)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	if tsv {
		buf = append(buf[:0], "#close\t"...)
		buf = zeekAppendHeaderTime(buf, last)
		buf = append(buf, '\n')
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteZeekDNS writes the records that carry a DNS query (DNSQuery != "", of any Kind) as a Zeek
// dns.log, in TSV or, with jsonLines, Zeek's JSON form (see WriteZeekConn).
//
// Values: proto udp (tcp for a TCP record); trans_id a hash of the index; rtt the record's
// Duration, unset when 0; qclass 1 C_INTERNET; qtype DNSType (1 when 0) and its name (query-N
// for codes Zeek has no name for, as Zeek writes them); answers the DNSAnswers, TTLs 60 s each
// (both unset when there are none); rcode 0 NOERROR with answers, else 3 NXDOMAIN; AA and TC F,
// RD and RA T, Z 0, rejected F. The query is escaped as Zeek does: in TSV, non-printable and
// non-ASCII bytes, the tab separator and the backslash as \xNN (and a query of just "-" as \x2d,
// so it does not read as unset); in JSON with JSON's escapes, valid UTF-8 kept as is and invalid
// bytes as Zeek's "\\xNN".
func WriteZeekDNS(w io.Writer, recs []flow.Record, jsonLines bool) error {
	line := zeekAppendDNSTSV
	if jsonLines {
		line = zeekAppendDNSJSON
	}
	return writeZeekLog(w, recs, func(r *flow.Record) bool { return r.DNSQuery != "" },
		zeekDNSHeader, zeekDNSFields, line, !jsonLines)
}

// WriteCSVHeaderless writes records in seed 003's layout (see WriteCSV) without the header line:
// timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload. Nothing in the file names the
// columns, so it is read with --columns ts,src,dst,sport,dport,proto,bytes.
func WriteCSVHeaderless(w io.Writer, recs []flow.Record) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	for i := range recs {
		buf = appendCSV(buf[:0], &recs[i])
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// zeekSpan returns the start of the first record keep accepts and the latest end (Time +
// Duration) of those records; ok is false when it accepts none.
func zeekSpan(recs []flow.Record, keep func(*flow.Record) bool) (first, last int64, ok bool) {
	for i := range recs {
		r := &recs[i]
		if !keep(r) {
			continue
		}
		if !ok {
			first, ok = r.Time, true
		}
		last = max(last, r.Time+max(r.Duration, 0))
	}
	return first, last, ok
}

func zeekAppendHeaderTime(buf []byte, ns int64) []byte {
	return time.Unix(0, ns).UTC().AppendFormat(buf, zeekHeaderTime)
}

// zeekAppendConnTSV appends one conn.log line.
func zeekAppendConnTSV(buf []byte, r *flow.Record, i int) []byte {
	c := zeekConnOf(r)
	buf = zeekAppendSeconds(buf, r.Time)
	buf = append(buf, '\t')
	buf = zeekAppendUID(buf, i)
	buf = zeekAppendTuple(buf, r)
	buf = append(buf, c.proto...)
	buf = append(buf, '\t')
	buf = append(buf, c.service...)
	buf = append(buf, '\t')
	if c.duration {
		buf = zeekAppendSeconds(buf, r.Duration)
	} else {
		buf = append(buf, '-')
	}
	buf = append(buf, '\t')
	buf = strconv.AppendUint(buf, r.BytesOut, 10)
	buf = append(buf, '\t')
	buf = strconv.AppendUint(buf, r.BytesIn, 10)
	buf = append(buf, '\t')
	buf = append(buf, c.state...)
	buf = append(buf, "\t-\t-\t0\t"...) // local_orig, local_resp, missed_bytes
	buf = append(buf, c.history...)
	buf = append(buf, '\t')
	buf = strconv.AppendUint(buf, r.PktsOut, 10)
	buf = append(buf, '\t')
	buf = strconv.AppendUint(buf, r.BytesOut+c.header*r.PktsOut, 10)
	buf = append(buf, '\t')
	buf = strconv.AppendUint(buf, r.PktsIn, 10)
	buf = append(buf, '\t')
	buf = strconv.AppendUint(buf, r.BytesIn+c.header*r.PktsIn, 10)
	return append(buf, "\t-\n"...) // tunnel_parents
}

// zeekAppendConnJSON appends one conn.log JSON line.
func zeekAppendConnJSON(buf []byte, r *flow.Record, i int) []byte {
	c := zeekConnOf(r)
	buf = append(buf, `{"ts":`...)
	buf = zeekAppendSecondsJSON(buf, r.Time)
	buf = append(buf, `,"uid":"`...)
	buf = zeekAppendUID(buf, i)
	buf = zeekAppendTupleJSON(buf, r)
	buf = append(buf, `,"proto":"`...)
	buf = append(buf, c.proto...)
	buf = append(buf, '"')
	if c.service != "-" {
		buf = append(buf, `,"service":"`...)
		buf = append(buf, c.service...)
		buf = append(buf, '"')
	}
	if c.duration {
		buf = append(buf, `,"duration":`...)
		buf = zeekAppendSecondsJSON(buf, r.Duration)
	}
	buf = append(buf, `,"orig_bytes":`...)
	buf = strconv.AppendUint(buf, r.BytesOut, 10)
	buf = append(buf, `,"resp_bytes":`...)
	buf = strconv.AppendUint(buf, r.BytesIn, 10)
	buf = append(buf, `,"conn_state":"`...)
	buf = append(buf, c.state...)
	buf = append(buf, `","missed_bytes":0,"history":"`...)
	buf = append(buf, c.history...)
	buf = append(buf, `","orig_pkts":`...)
	buf = strconv.AppendUint(buf, r.PktsOut, 10)
	buf = append(buf, `,"orig_ip_bytes":`...)
	buf = strconv.AppendUint(buf, r.BytesOut+c.header*r.PktsOut, 10)
	buf = append(buf, `,"resp_pkts":`...)
	buf = strconv.AppendUint(buf, r.PktsIn, 10)
	buf = append(buf, `,"resp_ip_bytes":`...)
	buf = strconv.AppendUint(buf, r.BytesIn+c.header*r.PktsIn, 10)
	return append(buf, "}\n"...)
}

// zeekConn holds the conn.log values derived from a record.
type zeekConn struct {
	proto, service, state, history string
	duration                       bool   // duration is set
	header                         uint64 // IP and transport header bytes per packet
}

func zeekConnOf(r *flow.Record) zeekConn {
	c := zeekConn{service: "-"}
	reply := r.BytesIn > 0 || r.PktsIn > 0
	var transport uint64
	switch r.Proto {
	case flow.ProtoTCP:
		c.proto, transport = "tcp", 20
		switch r.DstPort {
		case 80:
			c.service = "http"
		case 443:
			c.service = "ssl"
		}
	case flow.ProtoUDP:
		c.proto, transport = "udp", 8
		if r.DstPort == 53 {
			c.service = "dns"
		}
	case flow.ProtoICMP, flow.ProtoICMPv6:
		c.proto, transport = "icmp", 8
	default:
		c.proto = "unknown_transport"
	}
	c.header = 20 + transport
	if r.Src.Is6() && !r.Src.Is4In6() {
		c.header += 20
	}
	switch {
	case reply:
		c.state = "SF"
	case r.Proto == flow.ProtoTCP && r.Action == flow.ActionBlock:
		c.state = "REJ"
	default:
		c.state = "S0"
	}
	switch {
	case r.Proto == flow.ProtoTCP && c.state == "SF":
		c.history = "ShADadfF"
	case c.state == "REJ":
		c.history = "Sr"
	case r.Proto == flow.ProtoTCP:
		c.history = "S"
	case reply:
		c.history = "Dd"
	default:
		c.history = "D"
	}
	c.duration = r.Duration > 0 || reply
	return c
}

// zeekAppendDNSTSV appends one dns.log line.
func zeekAppendDNSTSV(buf []byte, r *flow.Record, i int) []byte {
	buf = zeekAppendSeconds(buf, r.Time)
	buf = append(buf, '\t')
	buf = zeekAppendUID(buf, i)
	buf = zeekAppendTuple(buf, r)
	buf = append(buf, zeekDNSProto(r)...)
	buf = append(buf, '\t')
	buf = strconv.AppendUint(buf, zeekTransID(i), 10)
	buf = append(buf, '\t')
	if r.Duration > 0 {
		buf = zeekAppendSeconds(buf, r.Duration)
	} else {
		buf = append(buf, '-')
	}
	buf = append(buf, '\t')
	buf = zeekAppendEscaped(buf, r.DNSQuery)
	buf = append(buf, "\t1\tC_INTERNET\t"...)
	qtype := zeekQtype(r)
	buf = strconv.AppendUint(buf, uint64(qtype), 10)
	buf = append(buf, '\t')
	buf = zeekAppendQtypeName(buf, qtype)
	if len(r.DNSAnswers) > 0 {
		buf = append(buf, "\t0\tNOERROR\tF\tF\tT\tT\t0\t"...)
		for j, a := range r.DNSAnswers {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = a.AppendTo(buf)
		}
		buf = append(buf, '\t')
		for j := range r.DNSAnswers {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, "60.000000"...)
		}
		return append(buf, "\tF\n"...)
	}
	return append(buf, "\t3\tNXDOMAIN\tF\tF\tT\tT\t0\t-\t-\tF\n"...)
}

// zeekAppendDNSJSON appends one dns.log JSON line.
func zeekAppendDNSJSON(buf []byte, r *flow.Record, i int) []byte {
	buf = append(buf, `{"ts":`...)
	buf = zeekAppendSecondsJSON(buf, r.Time)
	buf = append(buf, `,"uid":"`...)
	buf = zeekAppendUID(buf, i)
	buf = zeekAppendTupleJSON(buf, r)
	buf = append(buf, `,"proto":"`...)
	buf = append(buf, zeekDNSProto(r)...)
	buf = append(buf, `","trans_id":`...)
	buf = strconv.AppendUint(buf, zeekTransID(i), 10)
	if r.Duration > 0 {
		buf = append(buf, `,"rtt":`...)
		buf = zeekAppendSecondsJSON(buf, r.Duration)
	}
	buf = append(buf, `,"query":`...)
	buf = zeekAppendJSONString(buf, r.DNSQuery)
	buf = append(buf, `,"qclass":1,"qclass_name":"C_INTERNET","qtype":`...)
	qtype := zeekQtype(r)
	buf = strconv.AppendUint(buf, uint64(qtype), 10)
	buf = append(buf, `,"qtype_name":"`...)
	buf = zeekAppendQtypeName(buf, qtype)
	if len(r.DNSAnswers) == 0 {
		return append(buf, `","rcode":3,"rcode_name":"NXDOMAIN","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"rejected":false}`+"\n"...)
	}
	buf = append(buf, `","rcode":0,"rcode_name":"NOERROR","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"answers":[`...)
	for j, a := range r.DNSAnswers {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = a.AppendTo(buf)
		buf = append(buf, '"')
	}
	buf = append(buf, `],"TTLs":[`...)
	for j := range r.DNSAnswers {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, "60.0"...)
	}
	return append(buf, `],"rejected":false}`+"\n"...)
}

func zeekDNSProto(r *flow.Record) string {
	if r.Proto == flow.ProtoTCP {
		return "tcp"
	}
	return "udp"
}

func zeekQtype(r *flow.Record) uint16 {
	if r.DNSType == 0 {
		return 1
	}
	return r.DNSType
}

// zeekAppendQtypeName appends Zeek's name for a query type (DNS::query_types), query-N for the
// codes it has none for.
func zeekAppendQtypeName(buf []byte, t uint16) []byte {
	var name string
	switch t {
	case 1:
		name = "A"
	case 2:
		name = "NS"
	case 5:
		name = "CNAME"
	case 6:
		name = "SOA"
	case 10:
		name = "NULL"
	case 12:
		name = "PTR"
	case 13:
		name = "HINFO"
	case 15:
		name = "MX"
	case 16:
		name = "TXT"
	case 28:
		name = "AAAA"
	case 33:
		name = "SRV"
	case 35:
		name = "NAPTR"
	case 43:
		name = "DS"
	case 46:
		name = "RRSIG"
	case 47:
		name = "NSEC"
	case 48:
		name = "DNSKEY"
	case 64:
		name = "SVCB"
	case 65:
		name = "HTTPS"
	case 252:
		name = "AXFR"
	case 255:
		name = "*"
	default:
		buf = append(buf, "query-"...)
		return strconv.AppendUint(buf, uint64(t), 10)
	}
	return append(buf, name...)
}

// zeekAppendTuple appends "\t" orig_h "\t" orig_p "\t" resp_h "\t" resp_p "\t" (the uid before it).
func zeekAppendTuple(buf []byte, r *flow.Record) []byte {
	buf = append(buf, '\t')
	buf = r.Src.AppendTo(buf)
	buf = append(buf, '\t')
	buf = strconv.AppendUint(buf, uint64(r.SrcPort), 10)
	buf = append(buf, '\t')
	buf = r.Dst.AppendTo(buf)
	buf = append(buf, '\t')
	buf = strconv.AppendUint(buf, uint64(r.DstPort), 10)
	return append(buf, '\t')
}

// zeekAppendTupleJSON appends the closing quote of the uid and the 4-tuple members.
func zeekAppendTupleJSON(buf []byte, r *flow.Record) []byte {
	buf = append(buf, `","id.orig_h":"`...)
	buf = r.Src.AppendTo(buf)
	buf = append(buf, `","id.orig_p":`...)
	buf = strconv.AppendUint(buf, uint64(r.SrcPort), 10)
	buf = append(buf, `,"id.resp_h":"`...)
	buf = r.Dst.AppendTo(buf)
	buf = append(buf, `","id.resp_p":`...)
	return strconv.AppendUint(buf, uint64(r.DstPort), 10)
}

// zeekAppendSeconds appends ns as seconds with 6 decimals (truncated to the microsecond), as
// Zeek's ASCII writer prints time and interval values. Negative values are written as 0.
func zeekAppendSeconds(buf []byte, ns int64) []byte {
	ns = max(ns, 0)
	buf = strconv.AppendInt(buf, ns/1e9, 10)
	us := ns % 1e9 / 1e3
	buf = append(buf, '.')
	for d := int64(100_000); d > 0; d /= 10 {
		buf = append(buf, byte('0'+us/d%10))
	}
	return buf
}

// zeekAppendSecondsJSON appends ns as seconds in Zeek's JSON form (a number of up to 6 decimals,
// trailing zeros dropped but one kept: 1741564800.0, 0.05).
func zeekAppendSecondsJSON(buf []byte, ns int64) []byte {
	buf = zeekAppendSeconds(buf, ns)
	n := len(buf)
	for buf[n-1] == '0' && buf[n-2] != '.' {
		n--
	}
	return buf[:n]
}

const zeekBase62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// zeekAppendUID appends a Zeek-like connection uid for record index i: "C" and 17 base62
// characters. The first 11 encode a bijective 64-bit hash of i, so distinct indexes never share a
// uid; the last 6 come from a second hash, for Zeek's look.
func zeekAppendUID(buf []byte, i int) []byte {
	x := zeekMix(uint64(i))
	y := zeekMix(x ^ 0x5eed5eed5eed5eed)
	buf = append(buf, 'C')
	for range 11 {
		buf = append(buf, zeekBase62[x%62])
		x /= 62
	}
	for range 6 {
		buf = append(buf, zeekBase62[y%62])
		y /= 62
	}
	return buf
}

// zeekTransID is a DNS transaction id for record index i.
func zeekTransID(i int) uint64 {
	return zeekMix(uint64(i)^0xd115) >> 48
}

// zeekMix is SplitMix64's finaliser, a bijection of uint64.
func zeekMix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

const zeekHex = "0123456789abcdef"

// zeekAppendEscaped appends s as Zeek's ASCII writer writes a string value: bytes outside
// printable ASCII, the backslash and the tab separator as \xNN, and a value equal to the unset
// marker "-" with its first byte escaped.
func zeekAppendEscaped(buf []byte, s string) []byte {
	if s == "-" {
		return append(buf, `\x2d`...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '\\' {
			buf = append(buf, '\\', 'x', zeekHex[c>>4], zeekHex[c&0xf])
			continue
		}
		buf = append(buf, c)
	}
	return buf
}

// zeekAppendJSONString appends s as a JSON string the way Zeek's JSON writer does: quote and
// backslash escaped, control bytes as \t, \n, \r or \u00NN, valid UTF-8 as is, and each byte of
// invalid UTF-8 as the text \xNN (written "\\xNN"), which Zeek readers decode.
func zeekAppendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x80 {
			_, size := utf8.DecodeRuneInString(s[i:])
			if size > 1 {
				buf = append(buf, s[i:i+size]...)
				i += size
				continue
			}
			buf = append(buf, '\\', '\\', 'x', zeekHex[c>>4], zeekHex[c&0xf])
			i++
			continue
		}
		switch {
		case c == '"' || c == '\\':
			buf = append(buf, '\\', c)
		case c == '\t':
			buf = append(buf, '\\', 't')
		case c == '\n':
			buf = append(buf, '\\', 'n')
		case c == '\r':
			buf = append(buf, '\\', 'r')
		case c < 0x20 || c == 0x7f:
			buf = append(buf, '\\', 'u', '0', '0', zeekHex[c>>4], zeekHex[c&0xf])
		default:
			buf = append(buf, c)
		}
		i++
	}
	return append(buf, '"')
}
