package ingest

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/valyala/fastjson"
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

func (p *zeekJSONParser) Parse(sc *Scratch, line []byte, r *flow.Record) error {
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
