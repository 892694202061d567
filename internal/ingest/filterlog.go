package ingest

import (
	"bytes"
	"fmt"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// pfSense and OPNsense log every packet that matches a rule with "log" as one line of
// comma-separated values from the filterlog daemon, usually behind a syslog prefix:
//
//	Mar 14 10:15:22 fw filterlog[123]: <body>                          RFC 3164 (day may be " 4")
//	<134>Mar 14 10:15:22 fw filterlog: <body>                          RFC 3164 with PRI, no pid
//	<134>1 2024-03-14T10:15:22.123456+00:00 fw filterlog 123 - - <body>   RFC 5424 (pfSense ≥ 2.5,
//	<134>1 2024-03-14T10:15:22+00:00 fw filterlog 1 - [meta sequenceId="1"] <body>      OPNsense)
//	2024-03-14T10:15:22+01:00 fw filterlog[123]: <body>                ISO 8601 (rsyslog, syslog-ng)
//	<body>                                                             bare, no time
//
// The body (https://docs.netgate.com/pfsense/en/latest/monitoring/raw-filter-log-format.html),
// by 0-based field index:
//
//	0 rule, 1 subrule, 2 anchor, 3 tracker (OPNsense: rule label hash), 4 interface, 5 reason,
//	6 action (pass, block, reject, match…), 7 direction (in, out), 8 IP version (4, 6), then
//	IPv4: 9 tos, 10 ecn, 11 ttl, 12 id, 13 offset, 14 flags, 15 proto id, 16 proto name,
//	      17 total length, 18 src, 19 dst, 20… protocol part
//	IPv6: 9 class, 10 flow label, 11 hop limit, 12 proto name, 13 proto id (name and id swapped),
//	      14 payload length, 15 src, 16 dst, 17… protocol part
//	protocol part: TCP  srcport, dstport, datalen, flags, seq, ack, window, urg, options
//	               UDP  srcport, dstport, datalen
//	               ICMP type, then type-specific fields (echo id/seq, unreachable dst/proto/port…)
//	               CARP type, ttl, vhid, version, advskew, advbase
//
// so an IPv4 TCP line has 29 fields. Versions differ in the trailing fields (empty seq, ack,
// window and options are common), so only the fields up to the ports are required and extra
// fields are ignored.

// filterlogFormat is the pfSense/OPNsense filter log. It has no header lines.
type filterlogFormat struct{ p *filterlogParser }

func (f *filterlogFormat) Name() string                        { return "filterlog" }
func (f *filterlogFormat) ControlPrefix() byte                 { return 0 }
func (f *filterlogFormat) Control([]byte, int64) (bool, error) { return false, nil }
func (f *filterlogFormat) Parser() lineParser                  { return f.p }

// filterlogParser reads filterlog lines. Each line is one logged packet, so a record has
// PktsOut 1 and BytesOut the IP packet length (IPv6 logs the payload length: the fixed 40-byte
// header is added to match IPv4's total length). ICMP records have no ports; the ICMP type is
// not kept. Lines from other programs in the same syslog file are not records and not errors.
type filterlogParser struct {
	now time.Time      // anchors RFC 3164 dates, which carry no year
	loc *time.Location // zone of timestamps that name none
}

var filterlogBOM = []byte{0xEF, 0xBB, 0xBF}

// Field indices shared by both IP versions; the rest depend on the version (see above).
const (
	flRule      = 0
	flAction    = 6
	flDir       = 7
	flIPVersion = 8
	flMinFields = 9 // up to and including the IP version
)

func (p *filterlogParser) Parse(sc *Scratch, line []byte, r *flow.Record) error {
	body, ts, _, err := p.split(line)
	if err != nil {
		return err
	}
	r.Time = ts
	return parseFilterlogBody(sc, body, r)
}

// split separates the syslog prefix from the CSV body. It returns errNoRecord for a syslog line
// from another program, and reports whether the line was a bare body with no prefix.
func (p *filterlogParser) split(line []byte) (body []byte, ts int64, bare bool, err error) {
	rest := bytes.TrimPrefix(line, filterlogBOM)
	pri := false
	if len(rest) > 0 && rest[0] == '<' {
		end := bytes.IndexByte(rest[:min(len(rest), 5)], '>')
		if end < 2 {
			return nil, 0, false, badField("syslog header", line)
		}
		if _, ok := flow.ParseUint(rest[1:end], 191); !ok {
			return nil, 0, false, badField("syslog header", line)
		}
		rest, pri = rest[end+1:], true
		if len(rest) >= 2 && rest[0] == '1' && rest[1] == ' ' {
			body, ts, err = p.split5424(rest[2:], line)
			return body, ts, false, err
		}
	}
	switch {
	case len(rest) > 0 && (rest[0]|0x20 >= 'a' && rest[0]|0x20 <= 'z'):
		// RFC 3164 "Mmm dd hh:mm:ss": the timestamp is checked before the program, so that a line
		// that is no syslog at all is counted rather than taken for another program's line.
		if len(rest) < 16 || rest[15] != ' ' {
			return nil, 0, false, badField("timestamp", rest[:min(len(rest), 15)])
		}
		t, ok := parseSyslogTime(rest[:15], p.now, p.loc)
		if !ok {
			return nil, 0, false, badField("timestamp", rest[:15])
		}
		body, err = filterlogMessage(rest[16:])
		return body, t, false, err
	case len(rest) >= 5 && rest[4] == '-' && rest[0] >= '0' && rest[0] <= '9':
		// ISO 8601, "T" or a space between date and time.
		end := bytes.IndexByte(rest, ' ')
		if end == 10 && len(rest) > 13 && rest[11] >= '0' && rest[11] <= '9' && rest[13] == ':' {
			if e := bytes.IndexByte(rest[11:], ' '); e >= 0 {
				end = 11 + e
			} else {
				end = -1
			}
		}
		if end < 0 {
			return nil, 0, false, badField("timestamp", rest)
		}
		t, ok := parseTime(rest[:end], p.loc)
		if !ok {
			return nil, 0, false, badField("timestamp", rest[:end])
		}
		body, err = filterlogMessage(rest[end+1:])
		return body, t, false, err
	case pri:
		return nil, 0, false, badField("timestamp", rest[:min(len(rest), 32)])
	}
	return rest, 0, true, nil
}

// filterlogMessage finds the "program[pid]:" tag in what follows an RFC 3164 or ISO timestamp
// (" host program[pid]: msg", or without host or pid) and returns msg when the program is
// filterlog, errNoRecord otherwise: firewall syslog files mix programs.
func filterlogMessage(b []byte) ([]byte, error) {
	for range 3 { // at most a hostname and a relay's extra token before the tag
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		end := bytes.IndexByte(b, ' ')
		tok := b
		if end >= 0 {
			tok = b[:end]
		}
		if n := len(tok); n > 0 && tok[n-1] == ':' {
			prog := tok[:n-1]
			if i := bytes.IndexByte(prog, '['); i >= 0 {
				prog = prog[:i]
			}
			if string(prog) != "filterlog" {
				return nil, errNoRecord
			}
			if end < 0 {
				return nil, nil
			}
			return b[end+1:], nil
		}
		if end < 0 {
			break
		}
		b = b[end+1:]
	}
	return nil, errNoRecord // no program tag: syslogd's own "last message repeated" and the like
}

// split5424 reads "TIMESTAMP HOST APP PROCID MSGID SD MSG" (after "<PRI>1 "). TIMESTAMP may be
// "-"; SD is "-" or bracketed elements whose quoted values may hold spaces and escaped '"', '\\'
// and ']'; MSG may start with a BOM.
func (p *filterlogParser) split5424(b, line []byte) ([]byte, int64, error) {
	var tok [5][]byte // timestamp, host, app, procid, msgid
	for i := range tok {
		end := bytes.IndexByte(b, ' ')
		if end < 0 {
			if i < 3 {
				return nil, 0, badField("syslog header", line)
			}
			tok[i], b = b, nil
			continue
		}
		tok[i], b = b[:end], b[end+1:]
	}
	var ts int64
	if !(len(tok[0]) == 1 && tok[0][0] == '-') {
		t, ok := parseTime(tok[0], p.loc)
		if !ok {
			return nil, 0, badField("timestamp", tok[0])
		}
		ts = t
	}
	if string(tok[2]) != "filterlog" {
		return nil, 0, errNoRecord
	}
	if len(tok[4]) == 0 || len(b) == 0 {
		return nil, 0, badField("syslog header", line)
	}
	switch b[0] {
	case '-':
		b = b[1:]
	case '[':
		for len(b) > 0 && b[0] == '[' {
			end := sdElementEnd(b)
			if end < 0 {
				return nil, 0, badField("syslog header", line)
			}
			b = b[end+1:]
		}
	default:
		return nil, 0, badField("syslog header", line)
	}
	if len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	return bytes.TrimPrefix(b, filterlogBOM), ts, nil
}

// sdElementEnd returns the index of the ']' closing the structured-data element that b starts
// with, or -1.
func sdElementEnd(b []byte) int {
	quoted := false
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ']':
			return i
		}
	}
	return -1
}

// filterlogMaxFields is one more than the fields a record needs (IPv4 ports end at index 21):
// the protocol tail (TCP flags, sequence numbers, options) is left unsplit in the last field.
const filterlogMaxFields = 23

// splitFilterlog splits body on commas into sc.Fields, at most filterlogMaxFields of them. A byte
// loop beats bytes.IndexByte here: most fields are a few bytes long.
func splitFilterlog(sc *Scratch, body []byte) [][]byte {
	f := sc.Fields[:0]
	start := 0
	for i, c := range body {
		if c == ',' {
			f = append(f, body[start:i])
			start = i + 1
			if len(f) == filterlogMaxFields-1 {
				break
			}
		}
	}
	f = append(f, body[start:])
	sc.Fields = f
	return f
}

// parseFilterlogBody fills r from the CSV body (layout at the top of this file).
func parseFilterlogBody(sc *Scratch, body []byte, r *flow.Record) error {
	f := splitFilterlog(sc, body)
	if len(f) < flMinFields {
		return fieldCount(len(f), "≥ 17")
	}
	r.Kind = flow.KindFlow
	r.PktsOut = 1
	switch string(f[flAction]) {
	case "pass":
		r.Action = flow.ActionPass
	case "block", "reject":
		r.Action = flow.ActionBlock
	}
	switch string(f[flDir]) {
	case "in":
		r.Dir = flow.DirIn
	case "out":
		r.Dir = flow.DirOut
	}

	// Indices of the IP part, which differ between versions.
	var protoID, protoName, length, src, want int
	var extra uint64 // bytes the logged length leaves out
	switch string(f[flIPVersion]) {
	case "4":
		protoID, protoName, length, src, want = 15, 16, 17, 18, 20
	case "6":
		protoName, protoID, length, src, want = 12, 13, 14, 15, 17
		extra = 40
	default:
		return badField("ip version", f[flIPVersion])
	}
	if len(f) < want {
		return fieldCount(len(f), fmt.Sprint("≥ ", want))
	}
	proto, ok := flow.ParseProto(f[protoID])
	if !ok {
		if proto, ok = flow.ParseProto(f[protoName]); !ok {
			return badField("protocol", f[protoID])
		}
	}
	r.Proto = proto
	n, ok := flow.ParseUint(f[length], 1<<32)
	if !ok {
		return badField("length", f[length])
	}
	r.BytesOut = n + extra
	if r.Src, ok = flow.ParseAddr(f[src]); !ok {
		return badField("src address", f[src])
	}
	if r.Dst, ok = flow.ParseAddr(f[src+1]); !ok {
		return badField("dst address", f[src+1])
	}
	if proto != flow.ProtoTCP && proto != flow.ProtoUDP {
		return nil
	}
	port := src + 2
	if len(f) < port+2 {
		return fieldCount(len(f), fmt.Sprint("≥ ", port+2))
	}
	if r.SrcPort, ok = flow.ParsePort(f[port]); !ok {
		return badField("src port", f[port])
	}
	if r.DstPort, ok = flow.ParsePort(f[port+1]); !ok {
		return badField("dst port", f[port+1])
	}
	return nil
}

// filterlogSniffLines is how many head lines sniffing looks at: more than most formats need,
// because a firewall's syslog file may interleave filterlog with other programs.
const filterlogSniffLines = 64

// sniffFilterlog claims a file when three quarters of its first lines are filterlog lines (even
// malformed) or other programs' syslog lines, and at least one filterlog line parses. A bare body (no
// syslog prefix) must also have a numeric rule, a known action, in/out and IP version 4 or 6 at
// their places, so that a CSV file with as many columns is not taken for filterlog.
func sniffFilterlog(head []byte, name string, opts *Options) (lineFormat, error) {
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	p := &filterlogParser{now: now, loc: opts.location()}
	if opts.Format == "filterlog" {
		return &filterlogFormat{p}, nil // forced: bad lines are counted, not refused here
	}
	var (
		sc      Scratch
		r       flow.Record
		total   int
		records int // lines that parse into a record
		known   int // records, plus lines tagged filterlog that do not parse and other programs' lines
	)
	for _, line := range headLines(head, filterlogSniffLines) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		total++
		body, _, bare, err := p.split(line)
		switch {
		case err == errNoRecord:
			known++
			continue
		case err != nil:
			continue
		case !bare:
			known++ // a truncated or odd filterlog line is still one
		}
		r.Reset()
		if parseFilterlogBody(&sc, body, &r) != nil {
			continue
		}
		if bare {
			if !looksLikeFilterlogBody(sc.Fields) {
				continue
			}
			known++
		}
		records++
	}
	switch {
	case records == 0:
		return nil, fmt.Errorf("no filterlog line in the first %d lines", total)
	case 4*known < 3*total:
		return nil, fmt.Errorf("only %d of the first %d lines are filterlog or syslog", known, total)
	}
	return &filterlogFormat{p}, nil
}

// looksLikeFilterlogBody checks the common fields of a body already split into f.
func looksLikeFilterlogBody(f [][]byte) bool {
	if len(f) < flMinFields {
		return false
	}
	if _, ok := flow.ParseUint(f[flRule], 1<<32); !ok {
		return false
	}
	switch string(f[flAction]) {
	case "pass", "block", "reject", "match", "scrub", "nat", "binat", "rdr":
	default:
		return false
	}
	switch string(f[flDir]) {
	case "in", "out":
	default:
		return false
	}
	v := string(f[flIPVersion])
	return v == "4" || v == "6"
}
