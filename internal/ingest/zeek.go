package ingest

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// Zeek writes one log per analyser. Four of them carry what flowhunt uses:
//   - conn.log: one line per connection (the flows: addresses, ports, bytes, packets, duration);
//   - dns.log, ssl.log, http.log: application metadata (query and answers, TLS SNI, HTTP host and
//     user agent) for connections that conn.log also has, read as flow.KindEvent so they feed the
//     name map without being counted twice.
//
// Every other log (weird, files, x509, notice, capture_loss, ...) holds no flows and the file is
// listed as ignored. The open_conn/open_http/open_ssl logs of the zeek-open-connections package
// (RITA) hold connections still open at log rotation; they are reported again in conn.log when
// they close, so reading both would count long connections twice: they are ignored too. RITA's
// own test data writes "#path conn" inside open_conn.log, so a file name starting with "open_" is
// enough to ignore it.

// zeekLog is the Zeek log type a line belongs to.
type zeekLog uint8

const (
	zeekNone zeekLog = iota // a log without flows or names, or not known yet
	zeekConn
	zeekDNS
	zeekSSL
	zeekHTTP
)

func (l zeekLog) String() string {
	switch l {
	case zeekConn:
		return "conn"
	case zeekDNS:
		return "dns"
	case zeekSSL:
		return "ssl"
	case zeekHTTP:
		return "http"
	}
	return ""
}

// zeekLogOf maps a #path or _path value (or a file name's first word) to the log type.
func zeekLogOf(path []byte) zeekLog {
	switch string(path) {
	case "conn":
		return zeekConn
	case "dns":
		return zeekDNS
	case "ssl":
		return zeekSSL
	case "http":
		return zeekHTTP
	}
	return zeekNone
}

// zeekNameHint is the log name a file name suggests: the part before the first dot of
// "conn.00:00:00-01:00:00.log" or "dns.log" ("" when the name has no dot).
func zeekNameHint(name string) string {
	i := strings.IndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	return name[:i]
}

// zeekLogNames are Zeek's standard logs that hold no flows. A file name names its log only when
// it is one of these; JSON logs whose lines lack id.orig_h (files, x509, ...) are recognised as
// Zeek's by these names alone.
var zeekLogNames = []string{
	"analyzer", "arp", "broker", "capture_loss", "cluster", "config", "conn_long", "dce_rpc",
	"dhcp", "dnp3", "dpd", "files", "ftp", "intel", "irc", "kerberos", "known_certs",
	"known_hosts", "known_modbus", "known_services", "loaded_scripts", "modbus", "mqtt_connect",
	"mqtt_publish", "mqtt_subscribe", "mysql", "netcontrol", "netcontrol_drop", "netcontrol_shunt",
	"notice", "notice_alarm", "ntlm", "ntp", "ocsp", "packet_filter", "pe", "print", "quic",
	"radius", "rdp", "reporter", "rfb", "signatures", "sip", "smb_files", "smb_mapping", "smtp",
	"snmp", "socks", "software", "ssh", "stats", "syslog", "telemetry", "traceroute", "tunnel",
	"websocket", "weird", "weird_stats", "x509",
}

// zeekIgnoreWhy says why a log named path (from #path, _path or the file name) is not read.
func zeekIgnoreWhy(path string) string {
	if rest, ok := strings.CutPrefix(path, "open_"); ok {
		return "zeek " + path + " log: connections still open at rotation, reported again in " + rest + ".log"
	}
	if path == "conn_long" { // Corelight's interim records of long connections
		return "zeek conn_long log: connections still open, reported again in conn.log"
	}
	return "zeek " + path + " log: no flows"
}

// zeekIgnoreUnknown says why a log with no #path or _path and no telling fields is not read: the
// file name is quoted only when it is a Zeek log's.
func zeekIgnoreUnknown(hint string) string {
	if slices.Contains(zeekLogNames, hint) {
		return zeekIgnoreWhy(hint)
	}
	return "zeek log of unknown type: its fields match none of conn, dns, ssl, http"
}

// zeekFieldSet is the set of column names that tell the log types apart when a file has no #path
// (TSV) or its lines no _path (JSON).
type zeekFieldSet uint16

const (
	zfConnState zeekFieldSet = 1 << iota
	zfOrigBytes
	zfQuery
	zfQtype
	zfServerName
	zfQUICDCID // quic.log also has server_name
	zfCipher
	zfCurve
	zfMethod
	zfHost
	zfURI
	zfCallID // sip.log also has method and uri
	zfOrigH
	zfPath
)

func zeekFieldBit(name []byte) zeekFieldSet {
	switch string(name) {
	case "conn_state":
		return zfConnState
	case "orig_bytes":
		return zfOrigBytes
	case "query":
		return zfQuery
	case "qtype":
		return zfQtype
	case "server_name":
		return zfServerName
	case "client_initial_dcid":
		return zfQUICDCID
	case "cipher":
		return zfCipher
	case "curve":
		return zfCurve
	case "method":
		return zfMethod
	case "host":
		return zfHost
	case "uri":
		return zfURI
	case "call_id":
		return zfCallID
	case "id.orig_h":
		return zfOrigH
	case "_path":
		return zfPath
	}
	return 0
}

// infer names the log type from its columns: conn has conn_state/orig_bytes, dns query/qtype, ssl
// server_name or cipher+curve (not quic's client_initial_dcid), http method with host or uri (not
// sip's call_id).
func (s zeekFieldSet) infer() zeekLog {
	has := func(b zeekFieldSet) bool { return s&b != 0 }
	switch {
	case has(zfConnState) || has(zfOrigBytes):
		return zeekConn
	case has(zfQuery) || has(zfQtype):
		return zeekDNS
	case (has(zfServerName) || has(zfCipher) && has(zfCurve)) && !has(zfQUICDCID):
		return zeekSSL
	case has(zfMethod) && (has(zfHost) || has(zfURI)) && !has(zfCallID):
		return zeekHTTP
	}
	return zeekNone
}

// sniffZeekTSV claims files that begin with Zeek's ASCII header ("#separator \x09"; a few
// hand-edited files start with whitespace or a BOM before it).
func sniffZeekTSV(head []byte, name string, opts *Options) (lineFormat, error) {
	if !bytes.HasPrefix(zeekTrimStart(head), []byte("#separator")) {
		return nil, nil
	}
	return &zeekTSV{
		loc:  opts.location(),
		hint: zeekNameHint(name),
		sep:  '\t', setSep: ',', empty: "(empty)", unset: "-",
	}, nil
}

// zeekTrimStart drops a UTF-8 BOM and leading blanks.
func zeekTrimStart(b []byte) []byte {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	return bytes.TrimLeft(b, " \t\r\n")
}

// zeekTSV is Zeek's ASCII log: a header of directives, then one tab-separated line per entry:
//
//	#separator \x09
//	#set_separator	,
//	#empty_field	(empty)
//	#unset_field	-
//	#path	conn
//	#open	2024-04-19-00-00-01
//	#fields	ts	uid	id.orig_h	id.orig_p	id.resp_h	id.resp_p	proto	...
//	#types	time	string	addr	port	addr	port	enum	...
//	1713484795.943239	CYl7H53iN6mY9NyXJ8	167.94.138.145	25320	64.225.56.201	6008	tcp	...
//	#close	2024-04-19-01-00-00
//
// Columns are found by name in #fields, so extra columns (a cluster's leading _node_name, local
// additions) and reordering are fine. Concatenated logs repeat the header: each #separator starts
// a new section and each #fields a new parser snapshot for the lines after it. The unset ("-")
// and empty ("(empty)") markers read as absent values.
type zeekTSV struct {
	loc  *time.Location
	hint string // log name suggested by the file name

	// Header state of the current section.
	sep, setSep  byte
	empty, unset string
	path         string   // #path, "" until seen
	fields       []string // #fields, nil until seen
	log          zeekLog  // type of the current section
	skipSection  bool     // a non-flow section after flows in a concatenated file

	first  zeekLog    // first flow type in the file: names the format
	parser lineParser // snapshot for the current header; nil when the header changed
}

func (z *zeekTSV) Name() string {
	if z.first == zeekNone {
		return "zeek"
	}
	return "zeek-" + z.first.String()
}

func (z *zeekTSV) ControlPrefix() byte { return '#' }

var errZeekNoFields = &FieldError{What: "missing #fields header"}

func (z *zeekTSV) Control(line []byte, lineNo int64) (bool, error) {
	if lineNo == 1 && strings.HasPrefix(z.hint, "open_") {
		return false, &ignoreFile{why: zeekIgnoreWhy(z.hint)}
	}
	line = zeekTrimStart(line)
	if len(line) == 0 || line[0] != '#' {
		return false, nil // a data line: Parser says what is missing
	}
	z.parser = nil
	key, val := zeekDirective(line[1:], z.sep)
	switch key {
	case "separator":
		sep := zeekUnescape(val)
		if len(sep) != 1 {
			return true, badField("#separator", val)
		}
		// A new log section (concatenated files): forget the previous header.
		*z = zeekTSV{loc: z.loc, hint: z.hint, first: z.first,
			sep: sep[0], setSep: ',', empty: "(empty)", unset: "-"}
	case "set_separator":
		sep := zeekUnescape(val)
		if len(sep) != 1 {
			return true, badField("#set_separator", val)
		}
		z.setSep = sep[0]
	case "empty_field":
		z.empty = string(zeekUnescape(val))
	case "unset_field":
		z.unset = string(zeekUnescape(val))
	case "path":
		z.path = string(zeekUnescape(val))
		return true, z.decide()
	case "fields":
		z.fields = z.fields[:0]
		for _, f := range bytes.Split(val, []byte{z.sep}) {
			z.fields = append(z.fields, string(f))
		}
		return true, z.decide()
	}
	return true, nil // #open, #close, #types and comments carry nothing we use
}

// zeekDirective splits "separator \x09" or "fields\tts\tuid" into key and value.
func zeekDirective(b []byte, sep byte) (string, []byte) {
	for i, c := range b {
		if c == sep || c == ' ' || c == '\t' {
			return string(b[:i]), b[i+1:]
		}
	}
	return string(b), nil
}

// decide sets the current section's log type from #path, else from #fields and the file name.
func (z *zeekTSV) decide() error {
	var log zeekLog
	switch {
	case z.path != "":
		log = zeekLogOf([]byte(z.path))
		if log == zeekNone || strings.HasPrefix(z.path, "open_") {
			return z.ignore(zeekIgnoreWhy(z.path))
		}
	case z.fields != nil:
		var set zeekFieldSet
		for _, f := range z.fields {
			set |= zeekFieldBit([]byte(f))
		}
		if log = set.infer(); log == zeekNone {
			log = zeekLogOf([]byte(z.hint))
		}
		if log == zeekNone {
			return z.ignore(zeekIgnoreUnknown(z.hint))
		}
	default:
		return nil
	}
	z.log, z.skipSection = log, false
	if z.first == zeekNone {
		z.first = log
	}
	return nil
}

// ignore stops a file whose first section holds no flows; a later such section in a
// concatenated file is passed over line by line instead, keeping the flows already read.
func (z *zeekTSV) ignore(why string) error {
	if z.first == zeekNone {
		return &ignoreFile{why: why}
	}
	z.skipSection = true
	return nil
}

func (z *zeekTSV) Parser() lineParser {
	if z.parser == nil {
		z.parser = z.newParser()
	}
	return z.parser
}

func (z *zeekTSV) newParser() lineParser {
	switch {
	case z.skipSection:
		return zeekErrParser{errNoRecord}
	case z.fields == nil || z.log == zeekNone:
		return zeekErrParser{errZeekNoFields}
	}
	p := &zeekTSVParser{
		log: z.log, loc: z.loc,
		sep: z.sep, setSep: z.setSep, empty: z.empty, unset: z.unset,
		nfields: len(z.fields), want: strconv.Itoa(len(z.fields)),
	}
	c := &p.col
	for _, name := range zeekColumnNames {
		*zeekColumn(c, name) = -1
	}
	for i, f := range z.fields {
		if pi := zeekColumn(c, f); pi != nil && *pi < 0 {
			*pi = i
		}
	}
	switch {
	case c.ts < 0:
		return zeekErrParser{&FieldError{What: "missing ts in #fields"}}
	case c.src < 0 || c.dst < 0:
		return zeekErrParser{&FieldError{What: "missing id.orig_h or id.resp_h in #fields"}}
	}
	return p
}

// zeekErrParser answers every line with one error: the header is unusable, or the lines are not read.
type zeekErrParser struct{ err error }

func (p zeekErrParser) Parse(*Scratch, []byte, *flow.Record) error { return p.err }

// zeekCols holds the column of each field read, -1 when the log lacks it.
type zeekCols struct {
	ts, src, srcPort, dst, dstPort, proto, duration    int
	origBytes, respBytes, origIPBytes, respIPBytes     int
	origPkts, respPkts                                 int
	query, qtype, answers, serverName, host, userAgent int
}

var zeekColumnNames = []string{"ts", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto",
	"duration", "orig_bytes", "resp_bytes", "orig_ip_bytes", "resp_ip_bytes", "orig_pkts",
	"resp_pkts", "query", "qtype", "answers", "server_name", "host", "user_agent"}

// zeekColumn points at the column index kept for the field name, nil for fields not read.
func zeekColumn(c *zeekCols, name string) *int {
	switch name {
	case "ts":
		return &c.ts
	case "id.orig_h":
		return &c.src
	case "id.orig_p":
		return &c.srcPort
	case "id.resp_h":
		return &c.dst
	case "id.resp_p":
		return &c.dstPort
	case "proto":
		return &c.proto
	case "duration":
		return &c.duration
	case "orig_bytes":
		return &c.origBytes
	case "resp_bytes":
		return &c.respBytes
	case "orig_ip_bytes":
		return &c.origIPBytes
	case "resp_ip_bytes":
		return &c.respIPBytes
	case "orig_pkts":
		return &c.origPkts
	case "resp_pkts":
		return &c.respPkts
	case "query":
		return &c.query
	case "qtype":
		return &c.qtype
	case "answers":
		return &c.answers
	case "server_name":
		return &c.serverName
	case "host":
		return &c.host
	case "user_agent":
		return &c.userAgent
	}
	return nil
}

// zeekTSVParser reads the data lines of one header section. It is immutable once built.
type zeekTSVParser struct {
	log          zeekLog
	loc          *time.Location
	sep, setSep  byte
	empty, unset string
	nfields      int
	want         string // nfields as text, for the error
	col          zeekCols
}

// val returns column i, or nil when the log has no such column or the value is unset or empty.
func (p *zeekTSVParser) val(f [][]byte, i int) []byte {
	if i < 0 {
		return nil
	}
	v := f[i]
	if len(v) == 0 || string(v) == p.unset || string(v) == p.empty {
		return nil
	}
	return v
}

func (p *zeekTSVParser) Parse(sc *Scratch, line []byte, r *flow.Record) error {
	f := splitFields(sc, line, p.sep)
	if len(f) != p.nfields {
		return fieldCount(len(f), p.want)
	}
	c := &p.col
	v := p.val(f, c.ts)
	if v == nil {
		return missingField("timestamp")
	}
	var ok bool
	if r.Time, ok = parseTime(v, p.loc); !ok {
		return badField("timestamp", v)
	}
	if err := zeekEndpoints(r, p.val(f, c.src), p.val(f, c.srcPort), p.val(f, c.dst), p.val(f, c.dstPort)); err != nil {
		return err
	}
	if err := zeekSetProto(r, p.log, c.proto >= 0, p.val(f, c.proto)); err != nil {
		return err
	}
	switch p.log {
	case zeekConn:
		return p.parseConn(f, r)
	case zeekDNS:
		r.Kind = flow.KindEvent
		if v := p.val(f, c.query); v != nil {
			r.DNSQuery = zeekString(v)
		}
		if v := p.val(f, c.qtype); v != nil {
			t, ok := flow.ParseUint(v, math.MaxUint16)
			if !ok {
				return badField("dns qtype", v)
			}
			r.DNSType = uint16(t)
		}
		if v := p.val(f, c.answers); v != nil {
			r.DNSAnswers = r.DNSAnswers[:0] // reuse the worker's backing array
			for len(v) > 0 {
				a := v
				if i := bytes.IndexByte(v, p.setSep); i >= 0 {
					a, v = v[:i], v[i+1:]
				} else {
					v = nil
				}
				if ip, ok := flow.ParseAddr(a); ok {
					r.DNSAnswers = append(r.DNSAnswers, ip)
				}
			}
		}
	case zeekSSL:
		r.Kind = flow.KindEvent
		if v := p.val(f, c.serverName); v != nil {
			r.TLSSNI = zeekString(v)
		}
	case zeekHTTP:
		r.Kind = flow.KindEvent
		if v := p.val(f, c.host); v != nil {
			r.HTTPHost = zeekString(v)
		}
		if v := p.val(f, c.userAgent); v != nil {
			r.UserAgent = zeekString(v)
		}
	}
	return nil
}

// parseConn reads conn.log's counters. orig_bytes/resp_bytes are payload bytes; when Zeek leaves
// them unset (no analyser saw the stream) the IP-level orig_ip_bytes/resp_ip_bytes stand in.
func (p *zeekTSVParser) parseConn(f [][]byte, r *flow.Record) error {
	c := &p.col
	if v := p.val(f, c.duration); v != nil {
		d, ok := zeekSecondsNs(v)
		if !ok {
			return badField("duration", v)
		}
		r.Duration = d
	}
	var err error
	if r.BytesOut, err = p.counter(f, c.origBytes, c.origIPBytes, "orig_bytes"); err != nil {
		return err
	}
	if r.BytesIn, err = p.counter(f, c.respBytes, c.respIPBytes, "resp_bytes"); err != nil {
		return err
	}
	if r.PktsOut, err = p.counter(f, c.origPkts, -1, "orig_pkts"); err != nil {
		return err
	}
	if r.PktsIn, err = p.counter(f, c.respPkts, -1, "resp_pkts"); err != nil {
		return err
	}
	return nil
}

// counter reads a count column, falling back to column alt when it is unset; 0 when both are.
func (p *zeekTSVParser) counter(f [][]byte, i, alt int, name string) (uint64, error) {
	v := p.val(f, i)
	if v == nil {
		if v = p.val(f, alt); v == nil {
			return 0, nil
		}
	}
	n, ok := flow.ParseUint(v, math.MaxInt64)
	if !ok {
		return 0, badField(name, v)
	}
	return n, nil
}

// zeekEndpoints sets the connection 4-tuple. Addresses are required; an unset port reads as 0.
func zeekEndpoints(r *flow.Record, src, srcPort, dst, dstPort []byte) error {
	var ok bool
	if src == nil {
		return missingField("src address")
	}
	if r.Src, ok = flow.ParseAddr(src); !ok {
		return badField("src address", src)
	}
	if dst == nil {
		return missingField("dst address")
	}
	if r.Dst, ok = flow.ParseAddr(dst); !ok {
		return badField("dst address", dst)
	}
	if srcPort != nil {
		if r.SrcPort, ok = flow.ParsePort(srcPort); !ok {
			return badField("src port", srcPort)
		}
	}
	if dstPort != nil {
		if r.DstPort, ok = flow.ParsePort(dstPort); !ok {
			return badField("dst port", dstPort)
		}
	}
	return nil
}

// zeekSetProto reads Zeek's transport_proto enum (tcp, udp, icmp, unknown_transport). Zeek says
// "icmp" for ICMPv6 too; the address family tells them apart. http.log has no proto column and
// is always TCP; ssl.log has none either but also carries DTLS over UDP, so its Proto stays 0.
func zeekSetProto(r *flow.Record, log zeekLog, hasColumn bool, v []byte) error {
	if !hasColumn {
		if log == zeekHTTP {
			r.Proto = flow.ProtoTCP
		}
		return nil
	}
	if v == nil || string(v) == "unknown_transport" {
		return nil
	}
	p, ok := flow.ParseProto(v)
	if !ok {
		return badField("protocol", v)
	}
	if p == flow.ProtoICMP && r.Src.Is6() {
		p = flow.ProtoICMPv6
	}
	r.Proto = p
	return nil
}

// zeekSecondsNs reads a non-negative decimal number of seconds ("0.000064", "12") as
// nanoseconds; exponent forms go through strconv.
func zeekSecondsNs(b []byte) (int64, bool) {
	var sec, frac int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		sec = sec*10 + int64(b[i]-'0')
		if sec >= math.MaxInt64/1_000_000_000 {
			return 0, false
		}
	}
	if i == 0 {
		return zeekFloatSecondsNs(b)
	}
	if i < len(b) {
		if b[i] != '.' || i+1 == len(b) {
			return zeekFloatSecondsNs(b)
		}
		scale := int64(100_000_000)
		for i++; i < len(b); i++ {
			c := b[i]
			if c < '0' || c > '9' {
				return zeekFloatSecondsNs(b)
			}
			frac += int64(c-'0') * scale
			scale /= 10
		}
	}
	return sec*1e9 + frac, true
}

func zeekFloatSecondsNs(b []byte) (int64, bool) {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return 0, false
	}
	return zeekFloatNs(f)
}

// zeekFloatNs converts float seconds, refusing negative, NaN and out-of-range values.
func zeekFloatNs(f float64) (int64, bool) {
	if !(f >= 0 && f < math.MaxInt64/1e9) {
		return 0, false
	}
	return int64(math.Round(f * 1e9)), true
}

// zeekString copies a value out of the reused line buffer, decoding Zeek's \xNN escapes (used
// for the separator and non-printable bytes inside values).
func zeekString(b []byte) string {
	return string(zeekUnescape(b))
}

// zeekUnescape decodes \xNN escapes; b is returned as is when it has none.
func zeekUnescape(b []byte) []byte {
	i := bytes.Index(b, []byte(`\x`))
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for i >= 0 {
		out = append(out, b[:i]...)
		b = b[i:]
		if len(b) >= 4 {
			if h, ok := zeekUnhex(b[2]); ok {
				if l, ok := zeekUnhex(b[3]); ok {
					out = append(out, h<<4|l)
					b = b[4:]
					i = bytes.Index(b, []byte(`\x`))
					continue
				}
			}
		}
		out = append(out, b[:2]...) // not an escape: keep it
		b = b[2:]
		i = bytes.Index(b, []byte(`\x`))
	}
	return append(out, b...)
}

func zeekUnhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
