package ingest

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/valyala/fastjson"
	"github.com/valyala/fastjson/fastfloat"
)

// Zeek's JSON writer (LogAscii::use_json=T) puts one object per line with the same field names
// as the TSV #fields and no header:
//
//	{"ts":1664462456.755299,"uid":"C5xh...","id.orig_h":"172.16.1.11","id.orig_p":40042,
//	 "id.resp_h":"8.8.8.8","id.resp_p":53,"proto":"udp","duration":0.0121,"orig_bytes":0,...}
//
// Unset fields are left out rather than written as "-". ts is epoch seconds, or an ISO 8601
// string with LogAscii::json_timestamps=JSON::TS_ISO8601. Shippers that merge all logs into one
// stream add "_path" naming each line's log; some nest the 4-tuple as "id":{"orig_h":...}.

// sniffZeekJSON claims JSON lines whose first object has "ts" and, on some head line,
// "id.orig_h" (or a nested "id") or "_path" — or whose file name is a Zeek log's. Suricata's
// eve.json ("timestamp", "event_type") is left alone. The log type is decided here, once per file,
// from the head lines (see zeekJSON.decide).
func sniffZeekJSON(head []byte, name string, opts *Options) (lineFormat, error) {
	var (
		p     fastjson.Parser
		set   zeekFieldSet
		paths []string // distinct _path values in order of appearance
		n     int
	)
	for _, line := range headLines(head, 64) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		v, err := p.ParseBytes(line)
		var o *fastjson.Object
		if err == nil {
			o, err = v.Object()
		}
		if n == 0 && (err != nil || o.Get("ts") == nil || o.Get("event_type") != nil) {
			return nil, nil
		}
		if err != nil {
			continue // a bad line is counted when read
		}
		n++
		o.Visit(func(k []byte, v *fastjson.Value) {
			set |= zeekFieldBit(k)
			switch string(k) {
			case "id":
				if v.GetStringBytes("orig_h") != nil {
					set |= zfOrigH
				}
			case "_path":
				if b := v.GetStringBytes(); b != nil && !slices.Contains(paths, string(b)) {
					paths = append(paths, string(b))
				}
			}
		})
	}
	hint := zeekNameHint(name)
	if n == 0 || set&(zfOrigH|zfPath) == 0 && !slices.Contains(zeekLogNames, hint) {
		return nil, nil
	}
	z := &zeekJSON{loc: opts.location()}
	z.decide(set, paths, hint)
	return z, nil
}

// zeekJSON is a Zeek JSON log file, or a merged stream of several logs told apart by _path.
type zeekJSON struct {
	loc    *time.Location
	log    zeekLog // type of lines without _path; zeekNone in a stream with no flow log in its head
	mixed  bool    // lines carry _path values of several logs
	ignore string  // why the file is not read; "" when it is
}

// decide sets the file's log type: an "open_*" file name is ignored (see zeek.go); else the
// _path values of the head lines decide (one non-flow path: ignored; several: a merged stream
// read line by line); without _path, the field names, then the file name.
func (z *zeekJSON) decide(set zeekFieldSet, paths []string, hint string) {
	if strings.HasPrefix(hint, "open_") {
		z.ignore = zeekIgnoreWhy(hint)
		return
	}
	if len(paths) == 0 {
		if z.log = set.infer(); z.log == zeekNone {
			z.log = zeekLogOf([]byte(hint))
		}
		if z.log == zeekNone {
			z.ignore = zeekIgnoreUnknown(hint)
		}
		return
	}
	for _, p := range paths {
		if l := zeekLogOf([]byte(p)); l != zeekNone {
			z.log = l
			break
		}
	}
	z.mixed = len(paths) > 1
	if z.log == zeekNone && !z.mixed {
		z.ignore = zeekIgnoreWhy(paths[0])
	}
}

func (z *zeekJSON) Name() string {
	if z.ignore != "" || z.mixed || z.log == zeekNone {
		return "zeek-json"
	}
	return "zeek-" + z.log.String() + "-json"
}

func (z *zeekJSON) ControlPrefix() byte { return 0 }

// Control only stops a file that holds no flows; the first line is data.
func (z *zeekJSON) Control(line []byte, lineNo int64) (bool, error) {
	if z.ignore != "" {
		return false, &ignoreFile{why: z.ignore}
	}
	return false, nil
}

func (z *zeekJSON) Parser() lineParser {
	return &zeekJSONParser{log: z.log, loc: z.loc}
}

// zeekJSONParser reads one line; it keeps no state between lines.
type zeekJSONParser struct {
	log zeekLog // for lines without _path
	loc *time.Location
}

// zeekJSONLine holds the values of the fields read, nil when the line lacks them.
type zeekJSONLine struct {
	path, ts, src, srcPort, dst, dstPort, proto, duration *fastjson.Value
	origBytes, respBytes, origIPBytes, respIPBytes        *fastjson.Value
	origPkts, respPkts                                    *fastjson.Value
	query, qtype, answers, serverName, host, userAgent    *fastjson.Value
}

func (l *zeekJSONLine) set(k []byte, v *fastjson.Value) {
	switch string(k) {
	case "_path":
		l.path = v
	case "ts":
		l.ts = v
	case "id.orig_h":
		l.src = v
	case "id.orig_p":
		l.srcPort = v
	case "id.resp_h":
		l.dst = v
	case "id.resp_p":
		l.dstPort = v
	case "id":
		if o, err := v.Object(); err == nil {
			o.Visit(l.setID)
		}
	case "proto":
		l.proto = v
	case "duration":
		l.duration = v
	case "orig_bytes":
		l.origBytes = v
	case "resp_bytes":
		l.respBytes = v
	case "orig_ip_bytes":
		l.origIPBytes = v
	case "resp_ip_bytes":
		l.respIPBytes = v
	case "orig_pkts":
		l.origPkts = v
	case "resp_pkts":
		l.respPkts = v
	case "query":
		l.query = v
	case "qtype":
		l.qtype = v
	case "answers":
		l.answers = v
	case "server_name":
		l.serverName = v
	case "host":
		l.host = v
	case "user_agent":
		l.userAgent = v
	}
}

// setID reads the nested form "id":{"orig_h":...,"orig_p":...,"resp_h":...,"resp_p":...}.
func (l *zeekJSONLine) setID(k []byte, v *fastjson.Value) {
	switch string(k) {
	case "orig_h":
		l.src = v
	case "orig_p":
		l.srcPort = v
	case "resp_h":
		l.dst = v
	case "resp_p":
		l.dstPort = v
	}
}

var (
	errZeekJSONNotObject = &FieldError{What: "malformed JSON", Value: "(not an object)"}
	errZeekJSONNoPath    = &FieldError{What: "unknown zeek log type", Value: "(no _path in a merged stream)"}
)

// zeekJSONText returns a string value's bytes, nil when it is absent, null, empty or "-". Any
// other type is returned in its JSON form (allocating, but only for a bad line) so the field's
// parser rejects it with the value quoted.
func zeekJSONText(v *fastjson.Value) []byte {
	if v == nil {
		return nil
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return nil
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		if len(b) == 0 || len(b) == 1 && b[0] == '-' {
			return nil
		}
		return b
	}
	return v.MarshalTo(nil)
}

// zeekJSONAbsent reports a value that is missing, null or an empty/"-" string.
func zeekJSONAbsent(v *fastjson.Value) bool {
	if v == nil {
		return true
	}
	switch v.Type() {
	case fastjson.TypeNull:
		return true
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return len(b) == 0 || len(b) == 1 && b[0] == '-'
	}
	return false
}

// zeekJSONUint reads a count or port no larger than max: a JSON integer, or one in a string (as
// some shippers write ports). Absent reads as 0.
func zeekJSONUint(v *fastjson.Value, max uint64, name string) (uint64, error) {
	if zeekJSONAbsent(v) {
		return 0, nil
	}
	if v.Type() == fastjson.TypeNumber {
		n, err := v.Uint64()
		if err != nil || n > max {
			return 0, badField(name, v.MarshalTo(nil))
		}
		return n, nil
	}
	b := zeekJSONText(v)
	n, ok := flow.ParseUint(b, max)
	if !ok {
		return 0, badField(name, b)
	}
	return n, nil
}

// zeekJSONTime reads ts: epoch seconds as a number, or a string in any form parseTime knows
// (Zeek's ISO 8601 option). fastjson only hands out numbers as float64, so the number is
// printed back in its shortest form, which for Zeek's "1517422326.539915" is those same digits:
// the microseconds stay exact where float arithmetic would be off by up to 120 ns.
func zeekJSONTime(v *fastjson.Value, loc *time.Location) (int64, error) {
	if zeekJSONAbsent(v) {
		return 0, missingField("timestamp")
	}
	if v.Type() == fastjson.TypeNumber {
		f, err := v.Float64()
		if err == nil && f >= 0 {
			var buf [32]byte
			if ns, ok := parseTime(strconv.AppendFloat(buf[:0], f, 'f', -1, 64), loc); ok {
				return ns, nil
			}
		}
		return 0, badField("timestamp", v.MarshalTo(nil))
	}
	b := zeekJSONText(v)
	ns, ok := parseTime(b, loc)
	if !ok {
		return 0, badField("timestamp", b)
	}
	return ns, nil
}

// zeekJSONSeconds reads an interval (duration) in seconds as nanoseconds; absent reads as 0.
func zeekJSONSeconds(v *fastjson.Value, name string) (int64, error) {
	if zeekJSONAbsent(v) {
		return 0, nil
	}
	if v.Type() == fastjson.TypeNumber {
		f, err := v.Float64()
		ns, ok := zeekFloatNs(f)
		if err != nil || !ok {
			return 0, badField(name, v.MarshalTo(nil))
		}
		return ns, nil
	}
	b := zeekJSONText(v)
	ns, ok := zeekSecondsNs(b)
	if !ok {
		return 0, badField(name, b)
	}
	return ns, nil
}

// zeekJSONCounter reads a count, falling back to alt when v is absent; 0 when both are.
func zeekJSONCounter(v, alt *fastjson.Value, name string) (uint64, error) {
	if zeekJSONAbsent(v) {
		v = alt
	}
	return zeekJSONUint(v, math.MaxInt64, name)
}

// Parse reads one line with a single-pass scanner (see zjLine.scan), or with parseRef when the
// scanner meets something it leaves to fastjson.
func (p *zeekJSONParser) Parse(sc *Scratch, line []byte, r *flow.Record) error {
	var l zjLine
	if l.scan(line) {
		return p.parseFast(&l, r)
	}
	return p.parseRef(sc, line, r)
}

// parseRef is the reference parser: fastjson parses the whole object, then the fields read are
// looked up. parseFast must give the same record and error for every line it accepts
// (FuzzZeekJSONFast checks it).
func (p *zeekJSONParser) parseRef(sc *Scratch, line []byte, r *flow.Record) error {
	v, err := sc.JSON.ParseBytes(line)
	if err != nil {
		return &FieldError{What: "malformed JSON", Value: zeekTruncate(err.Error())}
	}
	o, err := v.Object()
	if err != nil {
		return errZeekJSONNotObject
	}
	var l zeekJSONLine
	o.Visit(l.set)

	log := p.log
	if l.path != nil {
		log = zeekLogOf(l.path.GetStringBytes())
		if log == zeekNone {
			return errNoRecord // another log of a merged stream
		}
	} else if log == zeekNone {
		return errZeekJSONNoPath
	}

	if r.Time, err = zeekJSONTime(l.ts, p.loc); err != nil {
		return err
	}
	if err := zeekEndpoints(r, zeekJSONText(l.src), nil, zeekJSONText(l.dst), nil); err != nil {
		return err
	}
	port, err := zeekJSONUint(l.srcPort, math.MaxUint16, "src port")
	if err != nil {
		return err
	}
	r.SrcPort = uint16(port)
	if port, err = zeekJSONUint(l.dstPort, math.MaxUint16, "dst port"); err != nil {
		return err
	}
	r.DstPort = uint16(port)
	if err := zeekSetProto(r, log, log == zeekConn || log == zeekDNS, zeekJSONText(l.proto)); err != nil {
		return err
	}

	switch log {
	case zeekConn:
		if r.Duration, err = zeekJSONSeconds(l.duration, "duration"); err != nil {
			return err
		}
		if r.BytesOut, err = zeekJSONCounter(l.origBytes, l.origIPBytes, "orig_bytes"); err != nil {
			return err
		}
		if r.BytesIn, err = zeekJSONCounter(l.respBytes, l.respIPBytes, "resp_bytes"); err != nil {
			return err
		}
		if r.PktsOut, err = zeekJSONCounter(l.origPkts, nil, "orig_pkts"); err != nil {
			return err
		}
		if r.PktsIn, err = zeekJSONCounter(l.respPkts, nil, "resp_pkts"); err != nil {
			return err
		}
	case zeekDNS:
		r.Kind = flow.KindEvent
		if b := zeekJSONText(l.query); b != nil {
			r.DNSQuery = zeekString(b)
		}
		qtype, err := zeekJSONUint(l.qtype, math.MaxUint16, "dns qtype")
		if err != nil {
			return err
		}
		r.DNSType = uint16(qtype)
		r.DNSAnswers = r.DNSAnswers[:0] // reuse the worker's backing array
		if l.answers != nil {
			if arr, err := l.answers.Array(); err == nil {
				for _, a := range arr {
					if ip, ok := flow.ParseAddr(a.GetStringBytes()); ok {
						r.DNSAnswers = append(r.DNSAnswers, ip)
					}
				}
			} else if b := l.answers.GetStringBytes(); b != nil { // "a,b" from some shippers
				for _, a := range bytes.Split(b, []byte{','}) {
					if ip, ok := flow.ParseAddr(a); ok {
						r.DNSAnswers = append(r.DNSAnswers, ip)
					}
				}
			}
		}
	case zeekSSL:
		r.Kind = flow.KindEvent
		if b := zeekJSONText(l.serverName); b != nil {
			r.TLSSNI = zeekString(b)
		}
	case zeekHTTP:
		r.Kind = flow.KindEvent
		if b := zeekJSONText(l.host); b != nil {
			r.HTTPHost = zeekString(b)
		}
		if b := zeekJSONText(l.userAgent); b != nil {
			r.UserAgent = zeekString(b)
		}
	}
	return nil
}

// zeekTruncate shortens an error detail for the skip report.
func zeekTruncate(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// The fast path. zjLine.scan walks the line's top-level object once, without allocating: it
// checks the JSON as fastjson would, keeps the raw text of the values parseRef reads and skips
// the others. It gives up (and parseRef reads the line) on anything it cannot vouch reads the
// same: malformed or unusual JSON (fastjson's own error messages then stay the reference's), a
// backslash in a key of the line's object or of "id" (fastjson unescapes them) or in a value
// read, an object or array where a value is read (except the answers array of plain strings and
// the nested "id" object), numbers outside strict JSON syntax, nesting deeper than zjMaxDepth. Accepted lines are then read by parseFast, which
// mirrors parseRef step by step with the zeekJSON* helpers' zj* twins.

// zjVal is a value kept by the scanner.
type zjVal struct {
	t   uint8  // zjAbsent, ...
	raw []byte // a string's content (no escapes in it); the JSON text of the other types
}

const (
	zjAbsent uint8 = iota // key not in the line
	zjNull
	zjTrue
	zjFalse
	zjNumber // strict JSON syntax
	zjString
	zjArray // only for answers: an array of strings without escapes
)

// Slots of zjLine.v, one per field parseRef reads (zeekJSONLine).
const (
	zjPath = iota
	zjTS
	zjSrc
	zjSrcPort
	zjDst
	zjDstPort
	zjProto
	zjDuration
	zjOrigBytes
	zjRespBytes
	zjOrigIPBytes
	zjRespIPBytes
	zjOrigPkts
	zjRespPkts
	zjQuery
	zjQtype
	zjAnswers
	zjServerName
	zjHost
	zjUserAgent
	zjSlots

	zjSkip = -1 // a key not read
	zjID   = -2 // the nested "id" object
)

// zjMaxDepth bounds the nesting the scanner skips; fastjson allows 300, deeper lines go to it.
const zjMaxDepth = 64

// zjLine holds the values of one line, as zeekJSONLine does for parseRef.
type zjLine struct {
	v [zjSlots]zjVal
}

// zjKey maps a top-level key to its slot (zeekJSONLine.set).
func zjKey(k []byte) int {
	switch len(k) {
	case 2:
		if k[0] == 't' && k[1] == 's' {
			return zjTS
		}
		if k[0] == 'i' && k[1] == 'd' {
			return zjID
		}
	case 4:
		if string(k) == "host" {
			return zjHost
		}
	case 5:
		switch string(k) {
		case "proto":
			return zjProto
		case "_path":
			return zjPath
		case "query":
			return zjQuery
		case "qtype":
			return zjQtype
		}
	case 7:
		if string(k) == "answers" {
			return zjAnswers
		}
	case 8:
		if string(k) == "duration" {
			return zjDuration
		}
	case 9:
		// id.orig_h id.orig_p id.resp_h id.resp_p orig_pkts resp_pkts
		if string(k[:3]) == "id." {
			switch string(k[3:]) {
			case "orig_h":
				return zjSrc
			case "orig_p":
				return zjSrcPort
			case "resp_h":
				return zjDst
			case "resp_p":
				return zjDstPort
			}
			return zjSkip
		}
		switch string(k) {
		case "orig_pkts":
			return zjOrigPkts
		case "resp_pkts":
			return zjRespPkts
		}
	case 10:
		switch string(k) {
		case "orig_bytes":
			return zjOrigBytes
		case "resp_bytes":
			return zjRespBytes
		case "user_agent":
			return zjUserAgent
		}
	case 11:
		if string(k) == "server_name" {
			return zjServerName
		}
	case 13:
		switch string(k) {
		case "orig_ip_bytes":
			return zjOrigIPBytes
		case "resp_ip_bytes":
			return zjRespIPBytes
		}
	}
	return zjSkip
}

// zjKnownKey matches, at the start of r (just past a key's opening quote), one of the keys
// zjKey knows followed by the closing quote, and returns its slot and the quote's index in r;
// -1 when it finds none (zjKey then reads the key).
func zjKnownKey(r []byte) (int, int) {
	if len(r) < 16 {
		return zjSkip, -1
	}
	switch r[0] {
	case 't':
		if r[1] == 's' && r[2] == '"' {
			return zjTS, 2
		}
	case 'i':
		if string(r[:3]) == `id"` {
			return zjID, 2
		}
		if string(r[:3]) == "id." && r[9] == '"' {
			switch string(r[3:9]) {
			case "orig_h":
				return zjSrc, 9
			case "orig_p":
				return zjSrcPort, 9
			case "resp_h":
				return zjDst, 9
			case "resp_p":
				return zjDstPort, 9
			}
		}
	case 'p':
		if string(r[:6]) == `proto"` {
			return zjProto, 5
		}
	case 'd':
		if string(r[:9]) == `duration"` {
			return zjDuration, 8
		}
	case 'o', 'r':
		// orig_ or resp_ followed by bytes", ip_bytes" or pkts"
		orig := r[0] == 'o'
		if orig && string(r[1:5]) != "rig_" || !orig && string(r[1:5]) != "esp_" {
			break
		}
		switch {
		case string(r[5:11]) == `bytes"`:
			if orig {
				return zjOrigBytes, 10
			}
			return zjRespBytes, 10
		case string(r[5:14]) == `ip_bytes"`:
			if orig {
				return zjOrigIPBytes, 13
			}
			return zjRespIPBytes, 13
		case string(r[5:10]) == `pkts"`:
			if orig {
				return zjOrigPkts, 9
			}
			return zjRespPkts, 9
		}
	case '_':
		if string(r[:6]) == `_path"` {
			return zjPath, 5
		}
	}
	return zjSkip, -1
}

// zjIDKey maps a key of the nested "id" object to its slot (zeekJSONLine.setID).
func zjIDKey(k []byte) int {
	switch string(k) {
	case "orig_h":
		return zjSrc
	case "orig_p":
		return zjSrcPort
	case "resp_h":
		return zjDst
	case "resp_p":
		return zjDstPort
	}
	return zjSkip
}

// zjSpace is fastjson's whitespace (skipWS).
func zjSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// The scanners in this file and eve.go spell out "skip white space, expect ':' or ',' or the
// closer" at each member instead of calling a helper: such a helper is over the compiler's
// inlining budget, and the call per member measured 7% slower on BenchmarkZeekConnJSON.
func zjSkipWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && zjSpace(b[i]) {
		i++
	}
	return i
}

// scan reads line into l. It returns false when parseRef must read the line instead.
func (l *zjLine) scan(b []byte) bool {
	i := zjSkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i, ok := l.object(b, i+1, false)
	return ok && zjSkipWS(b, i) == len(b)
}

// object reads the members of the object whose '{' is just before i and returns the index past
// its '}'. nested is the "id" object, at depth 2. Keys, plain strings, integers and literals are
// read inline; the rest by zjValue (values read) or zjSkipValue.
func (l *zjLine) object(b []byte, i int, nested bool) (int, bool) {
	i = zjSkipWS(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		ks := i + 1
		slot, k := zjSkip, -1
		if !nested {
			slot, k = zjKnownKey(b[ks:])
		}
		if k >= 0 {
			k += ks
		} else {
			if ks+8 <= len(b) {
				if m := zjQuoteMask(binary.LittleEndian.Uint64(b[ks:])); m != 0 {
					k = ks + bits.TrailingZeros64(m)>>3
				} else {
					k = zjQuoteOrEscapeFrom(b, ks+8)
				}
			} else {
				k = zjQuoteOrEscapeFrom(b, ks)
			}
			if k >= len(b) || b[k] != '"' {
				return 0, false // unterminated, or an escape (keys are unescaped by fastjson)
			}
			if nested {
				slot = zjIDKey(b[ks:k])
			} else {
				slot = zjKey(b[ks:k])
			}
		}
		i = zjSkipWS(b, k+1)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = zjSkipWS(b, i+1)
		if i >= len(b) {
			return 0, false
		}

		var ok bool
		switch c := b[i]; {
		case c == '"':
			j := i + 1
			if j+8 <= len(b) {
				if m := zjQuoteMask(binary.LittleEndian.Uint64(b[j:])); m != 0 {
					j += bits.TrailingZeros64(m) >> 3
				} else {
					j = zjQuoteOrEscapeFrom(b, j+8)
				}
			} else {
				j = zjQuoteOrEscapeFrom(b, j)
			}
			switch {
			case j < len(b) && b[j] == '"':
				if slot >= 0 {
					l.v[slot] = zjVal{t: zjString, raw: b[i+1 : j]}
				}
				i, ok = j+1, true
			case slot >= 0: // an escape in a value read, or no closing quote
			default:
				i, ok = zjSkipString(b, i)
			}
		case c >= '1' && c <= '9':
			j := zjDigits(b, i+1)
			if j < len(b) && (b[j] == '.' || b[j]|0x20 == 'e') {
				if j = zjNumberEnd(b, i); j == 0 {
					return 0, false
				}
			}
			if slot >= 0 {
				l.v[slot] = zjVal{t: zjNumber, raw: b[i:j]}
			}
			i, ok = j, true
		case slot >= 0:
			i, ok = zjValue(&l.v[slot], b, i, slot == zjAnswers)
		case slot == zjID && c == '{':
			i, ok = l.object(b, i+1, true)
		case c == 't':
			i = zjLiteral(b, i, "true")
			ok = i > 0
		case c == 'f':
			i = zjLiteral(b, i, "false")
			ok = i > 0
		default:
			depth := 2
			if nested {
				depth = 3
			}
			i, ok = zjSkipValue(b, i, depth)
		}
		if !ok {
			return 0, false
		}
		i = zjSkipWS(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = zjSkipWS(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// zjValue reads into v a value that is kept: a scalar, a string without escapes or, for
// answers, an array of such strings. It returns the index past it.
func zjValue(v *zjVal, b []byte, i int, answers bool) (int, bool) {
	var end int
	switch c := b[i]; c {
	case '"':
		end = zjQuoteOrEscape(b, i+1)
		if end >= len(b) || b[end] != '"' {
			return 0, false
		}
		v.t, v.raw = zjString, b[i+1:end]
		return end + 1, true
	case '[':
		if !answers {
			return 0, false
		}
		j := zjSkipWS(b, i+1)
		if j < len(b) && b[j] == ']' {
			v.t, v.raw = zjArray, b[i:j+1]
			return j + 1, true
		}
		for {
			if j >= len(b) || b[j] != '"' {
				return 0, false
			}
			j = zjQuoteOrEscape(b, j+1)
			if j >= len(b) || b[j] != '"' {
				return 0, false
			}
			j = zjSkipWS(b, j+1)
			if j >= len(b) {
				return 0, false
			}
			switch b[j] {
			case ',':
				j = zjSkipWS(b, j+1)
			case ']':
				v.t, v.raw = zjArray, b[i:j+1]
				return j + 1, true
			default:
				return 0, false
			}
		}
	case 't':
		v.t = zjTrue
		end = zjLiteral(b, i, "true")
	case 'f':
		v.t = zjFalse
		end = zjLiteral(b, i, "false")
	case 'n':
		v.t = zjNull
		end = zjLiteral(b, i, "null")
	default:
		v.t = zjNumber
		end = zjNumberEnd(b, i)
	}
	if end <= i {
		return 0, false
	}
	v.raw = b[i:end]
	return end, true
}

// zjQuoteOrEscape returns the index of the first '"' or '\\' in b from i on, len(b) if none. It
// tests 8 bytes at a time: in (x^q)-ones &^ (x^q) & highs the lowest set bit marks the first
// byte equal to q (borrows only spoil the bits above it). The first 8 bytes, where most keys and
// values end, are tested inline.
func zjQuoteOrEscape(b []byte, i int) int {
	if i+8 <= len(b) {
		if m := zjQuoteMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		return zjQuoteOrEscapeFrom(b, i+8)
	}
	return zjQuoteOrEscapeFrom(b, i)
}

func zjQuoteOrEscapeFrom(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := zjQuoteMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if b[i] == '"' || b[i] == '\\' {
			return i
		}
	}
	return len(b)
}

// zjQuoteMask marks the bytes of x that are '"' or '\\' (exactly for the lowest one).
func zjQuoteMask(x uint64) uint64 {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	q, e := x^('"'*ones), x^('\\'*ones)
	return ((q-ones)&^q | (e-ones)&^e) & highs
}

// zjLiteral matches true, false or null at i and returns the index past it, 0 if it is not there.
func zjLiteral(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return 0
}

// zjNumberEnd matches a number in strict JSON syntax, -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?,
// at i and returns the index past it, 0 if there is none. fastjson reads any run of [0-9.eE+-]
// (and inf, nan) as a number; such a run ends where the strict one does only when the next byte
// is not one of those, which the caller's check for whitespace, ',', '}' or ']' ensures.
func zjNumberEnd(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return 0
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i = zjDigits(b, i+1)
	default:
		return 0
	}
	if i < len(b) && b[i] == '.' {
		j := zjDigits(b, i+1)
		if j == i+1 {
			return 0
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := zjDigits(b, i)
		if j == i {
			return 0
		}
		i = j
	}
	return i
}

func zjDigits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// zjSkipValue checks and skips the value at i, at nesting depth depth (the top-level object is 1).
func zjSkipValue(b []byte, i, depth int) (int, bool) {
	if depth > zjMaxDepth || i >= len(b) {
		return 0, false
	}
	switch c := b[i]; c {
	case '"':
		return zjSkipString(b, i)
	case '{':
		i = zjSkipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return 0, false
			}
			var ok bool
			if i, ok = zjSkipString(b, i); !ok {
				return 0, false
			}
			i = zjSkipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return 0, false
			}
			if i, ok = zjSkipValue(b, zjSkipWS(b, i+1), depth+1); !ok {
				return 0, false
			}
			i = zjSkipWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case ',':
				i = zjSkipWS(b, i+1)
			case '}':
				return i + 1, true
			default:
				return 0, false
			}
		}
	case '[':
		i = zjSkipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = zjSkipValue(b, i, depth+1); !ok {
				return 0, false
			}
			i = zjSkipWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case ',':
				i = zjSkipWS(b, i+1)
			case ']':
				return i + 1, true
			default:
				return 0, false
			}
		}
	case 't':
		i = zjLiteral(b, i, "true")
	case 'f':
		i = zjLiteral(b, i, "false")
	case 'n':
		i = zjLiteral(b, i, "null")
	default:
		i = zjNumberEnd(b, i)
	}
	return i, i > 0
}

// zjSkipString skips the string whose '"' is at i, escapes included: a backslash takes the byte
// after it, which ends the string where fastjson's parseRawString does (a quote ends it after an
// even run of backslashes).
func zjSkipString(b []byte, i int) (int, bool) {
	for j := i + 1; ; {
		j = zjQuoteOrEscape(b, j)
		if j >= len(b) {
			return 0, false
		}
		if b[j] == '"' {
			return j + 1, true
		}
		j += 2
	}
}

// The zeekJSON* helpers over zjVal.

var zjNone zjVal // an absent value

// absent is zeekJSONAbsent.
func (v *zjVal) absent() bool {
	switch v.t {
	case zjAbsent, zjNull:
		return true
	case zjString:
		return len(v.raw) == 0 || len(v.raw) == 1 && v.raw[0] == '-'
	}
	return false
}

// text is zeekJSONText: the string, or the JSON text of a number, true or false (which is what
// fastjson's MarshalTo gives for them).
func (v *zjVal) text() []byte {
	if v.absent() {
		return nil
	}
	return v.raw
}

// zjStr views b as a string for fastfloat, which keeps no reference to it (fastjson does the same).
func zjStr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// zjUint is zeekJSONUint.
func zjUint(v *zjVal, max uint64, name string) (uint64, error) {
	if v.absent() {
		return 0, nil
	}
	if v.t == zjNumber {
		n, ok := zjUint64(v.raw)
		if !ok || n > max {
			return 0, badField(name, v.raw)
		}
		return n, nil
	}
	b := v.text()
	n, ok := flow.ParseUint(b, max)
	if !ok {
		return 0, badField(name, b)
	}
	return n, nil
}

// zjUint64 is fastjson's Value.Uint64, fastfloat.ParseUint64: up to 18 bytes it is exactly a
// run of digits, read here without the call.
func zjUint64(b []byte) (uint64, bool) {
	if len(b) > 18 {
		n, err := fastfloat.ParseUint64(zjStr(b))
		return n, err == nil
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, len(b) > 0
}

// zjTime is zeekJSONTime. A number in Zeek's form — integer part below 2^32, up to 6 decimals,
// no sign or exponent — is read straight from its digits: its float64 prints back (shortest
// form) as those same digits less trailing zeros, since up to 15 significant digits round-trip
// and from 1e9 to 2^32 two 6-decimal numbers are further apart than a float64 step (2^-21).
// Other numbers take parseRef's way through the float.
func zjTime(v *zjVal, loc *time.Location) (int64, error) {
	if v.absent() {
		return 0, missingField("timestamp")
	}
	if v.t == zjNumber {
		if ns, ok := zjZeekEpoch(v.raw); ok {
			return ns, nil
		}
		f, err := fastfloat.Parse(zjStr(v.raw)) // fastjson's Value.Float64
		if err == nil && f >= 0 {
			var buf [32]byte
			if ns, ok := parseTime(strconv.AppendFloat(buf[:0], f, 'f', -1, 64), loc); ok {
				return ns, nil
			}
		}
		return 0, badField("timestamp", v.raw)
	}
	b := v.text()
	ns, ok := parseTime(b, loc)
	if !ok {
		return 0, badField("timestamp", b)
	}
	return ns, nil
}

// zjZeekEpoch reads a number (already in strict JSON syntax) of the form
// (0|[1-9][0-9]{0,9})(\.[0-9]{1,6})? below 2^32 as parseTime would: seconds, as nanoseconds.
func zjZeekEpoch(b []byte) (int64, bool) {
	return zjDecimalNs(b, 10, 1<<32)
}

// zjDecimalNs reads a number of the form (0|[1-9][0-9]{0,digits-1})(\.[0-9]{1,6})? below limit
// (seconds) as nanoseconds.
func zjDecimalNs(b []byte, digits int, limit uint64) (int64, bool) {
	var sec uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if i == digits {
			return 0, false
		}
		sec = sec*10 + uint64(b[i]-'0')
	}
	if i == 0 || sec >= limit {
		return 0, false
	}
	if i == len(b) {
		return int64(sec * 1e9), true
	}
	n := len(b) - i - 1 // decimals
	if b[i] != '.' || n < 1 || n > 6 {
		return 0, false
	}
	var frac uint64
	for _, c := range b[i+1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
		frac = frac*10 + uint64(c-'0')
	}
	return int64(sec*1e9 + frac*zjPow10[9-n]), true
}

var zjPow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// zjSeconds is zeekJSONSeconds. A number of up to 6 decimals below 1e6 s is read straight from
// its digits: d·1e9 is then an integer N below 1e15 and the reference's round(float64(d)·1e9)
// is off from N by at most N·2^-52 < 0.25 before rounding, so it is N.
func zjSeconds(v *zjVal, name string) (int64, error) {
	if v.absent() {
		return 0, nil
	}
	if v.t == zjNumber {
		if ns, ok := zjDecimalNs(v.raw, 6, 1e6); ok {
			return ns, nil
		}
		f, err := fastfloat.Parse(zjStr(v.raw)) // fastjson's Value.Float64
		ns, ok := zeekFloatNs(f)
		if err != nil || !ok {
			return 0, badField(name, v.raw)
		}
		return ns, nil
	}
	b := v.text()
	ns, ok := zeekSecondsNs(b)
	if !ok {
		return 0, badField(name, b)
	}
	return ns, nil
}

// zjCounter is zeekJSONCounter.
func zjCounter(v, alt *zjVal, name string) (uint64, error) {
	if v.absent() {
		v = alt
	}
	return zjUint(v, math.MaxInt64, name)
}

// parseFast is parseRef's reading of the fields, over the scanned values.
func (p *zeekJSONParser) parseFast(l *zjLine, r *flow.Record) error {
	var err error
	log := p.log
	if path := &l.v[zjPath]; path.t != zjAbsent {
		var name []byte // GetStringBytes: nil unless a string
		if path.t == zjString {
			name = path.raw
		}
		log = zeekLogOf(name)
		if log == zeekNone {
			return errNoRecord // another log of a merged stream
		}
	} else if log == zeekNone {
		return errZeekJSONNoPath
	}

	if r.Time, err = zjTime(&l.v[zjTS], p.loc); err != nil {
		return err
	}
	if err := zeekEndpoints(r, l.v[zjSrc].text(), nil, l.v[zjDst].text(), nil); err != nil {
		return err
	}
	port, err := zjUint(&l.v[zjSrcPort], math.MaxUint16, "src port")
	if err != nil {
		return err
	}
	r.SrcPort = uint16(port)
	if port, err = zjUint(&l.v[zjDstPort], math.MaxUint16, "dst port"); err != nil {
		return err
	}
	r.DstPort = uint16(port)
	if err := zeekSetProto(r, log, log == zeekConn || log == zeekDNS, l.v[zjProto].text()); err != nil {
		return err
	}

	switch log {
	case zeekConn:
		if r.Duration, err = zjSeconds(&l.v[zjDuration], "duration"); err != nil {
			return err
		}
		if r.BytesOut, err = zjCounter(&l.v[zjOrigBytes], &l.v[zjOrigIPBytes], "orig_bytes"); err != nil {
			return err
		}
		if r.BytesIn, err = zjCounter(&l.v[zjRespBytes], &l.v[zjRespIPBytes], "resp_bytes"); err != nil {
			return err
		}
		if r.PktsOut, err = zjCounter(&l.v[zjOrigPkts], &zjNone, "orig_pkts"); err != nil {
			return err
		}
		if r.PktsIn, err = zjCounter(&l.v[zjRespPkts], &zjNone, "resp_pkts"); err != nil {
			return err
		}
	case zeekDNS:
		r.Kind = flow.KindEvent
		if b := l.v[zjQuery].text(); b != nil {
			r.DNSQuery = zeekString(b)
		}
		qtype, err := zjUint(&l.v[zjQtype], math.MaxUint16, "dns qtype")
		if err != nil {
			return err
		}
		r.DNSType = uint16(qtype)
		r.DNSAnswers = r.DNSAnswers[:0] // reuse the worker's backing array
		switch a := &l.v[zjAnswers]; a.t {
		case zjArray: // strings without escapes: the text between each pair of quotes
			for b := a.raw; ; {
				i := bytes.IndexByte(b, '"')
				if i < 0 {
					break
				}
				b = b[i+1:]
				j := bytes.IndexByte(b, '"')
				if ip, ok := flow.ParseAddr(b[:j]); ok {
					r.DNSAnswers = append(r.DNSAnswers, ip)
				}
				b = b[j+1:]
			}
		case zjString: // "a,b" from some shippers
			for _, s := range bytes.Split(a.raw, []byte{','}) {
				if ip, ok := flow.ParseAddr(s); ok {
					r.DNSAnswers = append(r.DNSAnswers, ip)
				}
			}
		}
	case zeekSSL:
		r.Kind = flow.KindEvent
		if b := l.v[zjServerName].text(); b != nil {
			r.TLSSNI = zeekString(b)
		}
	case zeekHTTP:
		r.Kind = flow.KindEvent
		if b := l.v[zjHost].text(); b != nil {
			r.HTTPHost = zeekString(b)
		}
		if b := l.v[zjUserAgent].text(); b != nil {
			r.UserAgent = zeekString(b)
		}
	}
	return nil
}
