package ingest

import (
	"bytes"
	"math"
	"net/netip"
	"time"
	"unicode/utf8"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/valyala/fastjson"
)

// Suricata's EVE log (eve.json) holds one JSON object per line; "event_type" says what it
// reports and "timestamp" when it was logged. Six event types are read, every other one (stats,
// fileinfo, anomaly, ssh, smtp, ...) is not a record and not an error:
//
//   - flow (KindFlow): one line per flow when Suricata ends it. Time = flow.start, Duration =
//     flow.end − flow.start (0 without end; an end before the start is a bad line),
//     src_ip/src_port → Src/SrcPort and dest_ip/dest_port → Dst/DstPort (Suricata writes the
//     flow's client first), proto → Proto (names such as "TCP", "IPv6-ICMP", or a number),
//     flow.pkts_toserver/bytes_toserver → PktsOut/BytesOut and pkts_toclient/bytes_toclient →
//     PktsIn/BytesIn (bytes are IP-level, as Suricata counts them). flow.action (IPS and
//     firewall modes only) "drop" → ActionBlock, "pass"/"accept" → ActionPass; without it
//     Action stays unknown (flow.alerted says an alert fired, not that traffic was stopped, and
//     flow.state/tcp flags give nothing Record holds).
//   - netflow (KindFlow): Suricata's NetFlow-style output logs each direction of a flow as its
//     own line, the reply with src and dest swapped. Each line is one unidirectional flow:
//     netflow.bytes/pkts → BytesOut/PktsOut (BytesIn/PktsIn stay 0), netflow.start/end as for
//     flow. The reply half is turned round into the client's pair as flow.KindReply, as for
//     any one-way NetFlow source (see orientReply).
//   - dns (KindEvent): DNSQuery = the query name, DNSType = its type (rrtype names → numbers,
//     see eveRRTypes; an unknown name is 0), DNSAnswers = the A and AAAA addresses answered.
//     The name and type are queries[0].rrname/rrtype (version 3, Suricata 8) or dns.rrname/
//     rrtype (versions 1 and 2); addresses come from the answers array and the grouped A/AAAA
//     lists (version 2 and 3, duplicates dropped) or, in version 1 (one event per answer record),
//     from rdata when rrtype is A or AAAA — there dns.rrname and rrtype are the record's own,
//     which for a CNAME chain is the alias's name. Names are stored as logged (not lowercased),
//     as the Zeek readers do. An event without a name carries nothing.
//   - tls (KindEvent): TLSSNI = tls.sni; an event without SNI carries nothing.
//   - http (KindEvent): HTTPHost = http.hostname, UserAgent = http.http_user_agent; an event
//     with neither carries nothing.
//   - alert (KindEvent): Alert = alert.signature (required), AlertSeverity = alert.severity
//     (1 highest), Action = ActionBlock when alert.action is "blocked" (IPS drop or reject).
//
// Every record but flow's and netflow's takes its Time from "timestamp". Attacker-controlled
// text is stored as it was sent, cut to eveMaxName bytes for names (DNS name, SNI, HTTP host)
// and eveMaxText for user agents and signatures (at a UTF-8 boundary), so a hostile line cannot
// make a record big; at most eveMaxAnswers addresses are kept per DNS event.
//
// ICMP flows have no ports in EVE; like Zeek (id.orig_p, id.resp_p) the reader puts icmp_type in
// SrcPort and icmp_code in DstPort, so the same traffic reads the same from both tools.
//
// Direction. Records are normalised so Src is the flow's originator (the DNS client), as Zeek's
// orig_h is:
//   - alert: Suricata writes the 5-tuple of the packet that matched, so an alert on a reply
//     has the server first. Since 7.0 the alert carries flow.src_ip/dest_ip/src_port/dest_port
//     (the flow's own tuple) and "direction"; the reader takes the flow's tuple when present,
//     else swaps the packet's when direction is "to_client", else keeps it as logged (older
//     versions say nothing more). icmp_type/icmp_code are the packet's and are not swapped.
//   - dns responses: Suricata 8 (version 3, type "response") writes the responder first, 5.0.1
//     to 7 (type "answer") the client first, versions before 5.0.1 the responder first. When
//     exactly one side uses port 53 it is the server; otherwise "response" events are swapped
//     and "answer" events kept. Requests are written client first by every version.
//   - flow, netflow, tls and http are written in the flow's direction and kept as logged.
//
// Suricata logs a DNS lookup twice, as a request and as a response that repeats the query name
// and type; Zeek logs it once, and the engine counts every record with a DNS name as a lookup.
// So that a lookup counts once, request events are read only when the file's first 64 KiB hold
// no response event (responses disabled in suricata.yaml); otherwise the responses are the
// lookups, and a request that got no reply at all is not counted.

// Caps on attacker-controlled text and on the answers kept per DNS event (see above).
const (
	eveMaxName    = 255  // DNS names, SNI, HTTP host: a DNS name is at most 253 bytes
	eveMaxText    = 1024 // user agents and alert signatures
	eveMaxAnswers = 64
)

// sniffEve claims JSON lines whose first object has "event_type" and "timestamp", leaving other
// JSON (Zeek's) to the next sniffer. It also decides, from the head lines, whether DNS request
// events are read (see above).
func sniffEve(head []byte, name string, opts *Options) (lineFormat, error) {
	var (
		p         fastjson.Parser
		n         int
		responses bool
	)
	for _, line := range headLines(head, sniffSize) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		v, err := p.ParseBytes(line)
		var o *fastjson.Object
		if err == nil {
			o, err = v.Object()
		}
		if n == 0 && (err != nil || o.Get("event_type") == nil || o.Get("timestamp") == nil) {
			return nil, nil
		}
		if err != nil {
			continue // a bad line is counted when read
		}
		n++
		if string(o.Get("event_type").GetStringBytes()) == "dns" {
			switch string(v.GetStringBytes("dns", "type")) {
			case "answer", "response":
				responses = true
			}
		}
	}
	if n == 0 {
		return nil, nil
	}
	return &eveFormat{p: &eveParser{loc: opts.location(), requests: !responses}}, nil
}

// eveFormat is a Suricata eve.json file.
type eveFormat struct{ p *eveParser }

func (f *eveFormat) Name() string                        { return "eve" }
func (f *eveFormat) ControlPrefix() byte                 { return 0 }
func (f *eveFormat) Control([]byte, int64) (bool, error) { return false, nil }
func (f *eveFormat) Parser() lineParser                  { return f.p }

// eveParser reads one line; it keeps no state between lines.
type eveParser struct {
	loc      *time.Location // for timestamps without a zone
	requests bool           // read DNS request events as lookups (the head had no responses)
}

// Slots of eveScan.v: the values the reader uses. The comment is the key's path.
const (
	evType         = iota // event_type
	evTS                  // timestamp
	evSrc                 // src_ip
	evSrcPort             // src_port
	evDst                 // dest_ip
	evDstPort             // dest_port
	evProto               // proto
	evICMPType            // icmp_type
	evICMPCode            // icmp_code
	evDirection           // direction
	evFlowStart           // flow.start
	evFlowEnd             // flow.end
	evFlowPktsOut         // flow.pkts_toserver
	evFlowPktsIn          // flow.pkts_toclient
	evFlowBytesOut        // flow.bytes_toserver
	evFlowBytesIn         // flow.bytes_toclient
	evFlowAction          // flow.action
	evFlowSrc             // flow.src_ip (alerts, Suricata 7+)
	evFlowSrcPort         // flow.src_port
	evFlowDst             // flow.dest_ip
	evFlowDstPort         // flow.dest_port
	evNFStart             // netflow.start
	evNFEnd               // netflow.end
	evNFPkts              // netflow.pkts
	evNFBytes             // netflow.bytes
	evDNSType             // dns.type
	evDNSRRName           // dns.rrname
	evDNSRRType           // dns.rrtype
	evDNSRData            // dns.rdata (version 1 answers)
	evDNSQName            // dns.queries[0].rrname (version 3)
	evDNSQType            // dns.queries[0].rrtype
	evSNI                 // tls.sni
	evHTTPHost            // http.hostname
	evUserAgent           // http.http_user_agent
	evSignature           // alert.signature
	evSeverity            // alert.severity
	evAlertAction         // alert.action
	evSlots
)

// What to do with a member whose key is not a slot: skip it, descend into the object or array it
// holds, or keep it for the answer being read. The object actions double as the contexts eveKey
// maps keys in, with ecTop, ecAnswer and ecQuery.
const (
	eaSkip    = -1 - iota
	eaFlow    // the flow object
	eaNetflow // netflow
	eaDNS     // dns
	eaTLS     // tls
	eaHTTP    // http
	eaAlert   // alert
	eaGrouped // dns.grouped: {"A":[...],"AAAA":[...],"CNAME":[...]}
	eaAnswers // dns.answers: an array of answer objects (ecAnswer)
	eaQueries // dns.queries: an array whose first object is read (ecQuery)
	eaAddrs   // dns.grouped.A and .AAAA: arrays of addresses
	eaRRType  // an answer's rrtype
	eaRData   // an answer's rdata
	ecTop     // the line's object
	ecAnswer  // an element of dns.answers
	ecQuery   // the first element of dns.queries
)

func eaObject(a int) bool { return a <= eaFlow && a >= eaGrouped }

// eveKey maps a key of an object in context ctx to a slot or an action.
func eveKey(ctx int, k []byte) int {
	switch ctx {
	case ecTop:
		switch string(k) {
		case "timestamp":
			return evTS
		case "event_type":
			return evType
		case "src_ip":
			return evSrc
		case "src_port":
			return evSrcPort
		case "dest_ip":
			return evDst
		case "dest_port":
			return evDstPort
		case "proto":
			return evProto
		case "icmp_type":
			return evICMPType
		case "icmp_code":
			return evICMPCode
		case "direction":
			return evDirection
		case "flow":
			return eaFlow
		case "netflow":
			return eaNetflow
		case "dns":
			return eaDNS
		case "tls":
			return eaTLS
		case "http":
			return eaHTTP
		case "alert":
			return eaAlert
		}
	case eaFlow:
		switch string(k) {
		case "pkts_toserver":
			return evFlowPktsOut
		case "pkts_toclient":
			return evFlowPktsIn
		case "bytes_toserver":
			return evFlowBytesOut
		case "bytes_toclient":
			return evFlowBytesIn
		case "start":
			return evFlowStart
		case "end":
			return evFlowEnd
		case "action":
			return evFlowAction
		case "src_ip":
			return evFlowSrc
		case "dest_ip":
			return evFlowDst
		case "src_port":
			return evFlowSrcPort
		case "dest_port":
			return evFlowDstPort
		}
	case eaNetflow:
		switch string(k) {
		case "pkts":
			return evNFPkts
		case "bytes":
			return evNFBytes
		case "start":
			return evNFStart
		case "end":
			return evNFEnd
		}
	case eaDNS:
		switch string(k) {
		case "type":
			return evDNSType
		case "rrname":
			return evDNSRRName
		case "rrtype":
			return evDNSRRType
		case "rdata":
			return evDNSRData
		case "answers":
			return eaAnswers
		case "grouped":
			return eaGrouped
		case "queries":
			return eaQueries
		}
	case eaGrouped:
		switch string(k) {
		case "A", "AAAA":
			return eaAddrs
		}
	case ecAnswer:
		switch string(k) {
		case "rrtype":
			return eaRRType
		case "rdata":
			return eaRData
		}
	case ecQuery:
		switch string(k) {
		case "rrname":
			return evDNSQName
		case "rrtype":
			return evDNSQType
		}
	case eaTLS:
		if string(k) == "sni" {
			return evSNI
		}
	case eaHTTP:
		switch string(k) {
		case "hostname":
			return evHTTPHost
		case "http_user_agent":
			return evUserAgent
		}
	case eaAlert:
		switch string(k) {
		case "signature":
			return evSignature
		case "severity":
			return evSeverity
		case "action":
			return evAlertAction
		}
	}
	return eaSkip
}

// eveScan holds what one line gave: the slots' values (zjVal as in zeekjson.go: a string's
// content, or the JSON text of a number, true, false or null; for parseRef also an object's or
// array's text) and the DNS answer addresses, appended straight to the record.
type eveScan struct {
	v     [evSlots]zjVal
	ans   struct{ rrtype, rdata zjVal } // the answer object being read
	addrs *[]netip.Addr
}

// Parse reads one line with the single-pass scanner (eveScan.scan), or with parseRef when the
// scanner meets something it leaves to fastjson. Both fill the same eveScan, which fill maps to
// the record, so they agree by construction as long as they extract the same values
// (FuzzEveFast checks it).
func (p *eveParser) Parse(sc *Scratch, line []byte, r *flow.Record) error {
	s := eveScan{addrs: &r.DNSAnswers}
	if s.scan(line) {
		return p.fill(&s, r)
	}
	return p.parseRef(sc, line, r)
}

var errEveNotObject = &FieldError{What: "not a JSON object"}

// parseRef is the reference: fastjson parses the line, then the members are visited in order as
// the scanner meets them.
func (p *eveParser) parseRef(sc *Scratch, line []byte, r *flow.Record) error {
	r.DNSAnswers = r.DNSAnswers[:0] // the scanner may have added some before giving up
	if len(bytes.TrimSpace(line)) == 0 {
		return errNoRecord
	}
	v, err := sc.JSON.ParseBytes(line)
	if err != nil {
		return &FieldError{What: "malformed JSON", Value: zeekTruncate(err.Error())}
	}
	o, err := v.Object()
	if err != nil {
		return errEveNotObject
	}
	s := eveScan{addrs: &r.DNSAnswers}
	s.visit(ecTop, o)
	return p.fill(&s, r)
}

// visit reads the members of o in context ctx; the reference twin of eveScan.object.
func (s *eveScan) visit(ctx int, o *fastjson.Object) {
	o.Visit(func(k []byte, v *fastjson.Value) {
		switch a := eveKey(ctx, k); {
		case a >= 0:
			s.v[a] = eveRefVal(v)
		case a == eaRRType:
			s.ans.rrtype = eveRefVal(v)
		case a == eaRData:
			s.ans.rdata = eveRefVal(v)
		case eaObject(a):
			if o, err := v.Object(); err == nil {
				s.visit(a, o)
			}
		case a == eaAnswers || a == eaQueries || a == eaAddrs:
			arr, err := v.Array()
			if err != nil {
				return
			}
			for i, e := range arr {
				switch t := e.Type(); {
				case a == eaAnswers && t == fastjson.TypeObject:
					s.ans.rrtype, s.ans.rdata = zjVal{}, zjVal{}
					o, _ := e.Object()
					s.visit(ecAnswer, o)
					s.answer()
				case a == eaQueries && i == 0 && t == fastjson.TypeObject:
					o, _ := e.Object()
					s.visit(ecQuery, o)
				case a == eaAddrs && t == fastjson.TypeString:
					b, _ := e.StringBytes()
					s.addAddr(b)
				}
			}
		}
	})
}

// eveRefVal is the zjVal the scanner keeps for v; objects and arrays, which the scanner leaves to
// parseRef, are kept as their text with type zjArray.
func eveRefVal(v *fastjson.Value) zjVal {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return zjVal{t: zjString, raw: b}
	case fastjson.TypeNumber:
		return zjVal{t: zjNumber, raw: v.MarshalTo(nil)}
	case fastjson.TypeTrue:
		return zjVal{t: zjTrue, raw: []byte("true")}
	case fastjson.TypeFalse:
		return zjVal{t: zjFalse, raw: []byte("false")}
	case fastjson.TypeNull:
		return zjVal{t: zjNull, raw: []byte("null")}
	}
	return zjVal{t: zjArray, raw: v.MarshalTo(nil)}
}

// The fast path. eveScan.scan walks the line once without allocating, checking the JSON as
// fastjson would (with zeekjson.go's zj* helpers) and keeping the raw text of the values read.
// It gives up, and parseRef reads the line, on anything it cannot vouch reads the same: JSON
// fastjson might read differently or reject (its error messages then stay the reference's), a
// backslash in a key or in a value read (fastjson unescapes them), an object or array where a
// single value is read, numbers outside strict JSON syntax, nesting deeper than zjMaxDepth.

// scan reads line into s. It returns false when parseRef must read the line instead.
func (s *eveScan) scan(b []byte) bool {
	i := zjSkipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i, ok := s.object(b, i+1, ecTop, 1)
	return ok && zjSkipWS(b, i) == len(b)
}

// object reads the members of the object (context ctx, nesting depth depth; the line's object is
// 1) whose '{' is just before i, and returns the index past its '}'.
func (s *eveScan) object(b []byte, i, ctx, depth int) (int, bool) {
	i = zjSkipWS(b, i)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		k := zjQuoteOrEscape(b, i+1)
		if k >= len(b) || b[k] != '"' {
			return 0, false // unterminated, or an escape (keys are unescaped by fastjson)
		}
		a := eveKey(ctx, b[i+1:k])
		i = zjSkipWS(b, k+1)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = zjSkipWS(b, i+1)
		if i >= len(b) {
			return 0, false
		}
		var ok bool
		switch {
		case a >= 0:
			i, ok = zjValue(&s.v[a], b, i, false)
		case a == eaRRType:
			i, ok = zjValue(&s.ans.rrtype, b, i, false)
		case a == eaRData:
			i, ok = zjValue(&s.ans.rdata, b, i, false)
		case eaObject(a) && b[i] == '{':
			i, ok = s.object(b, i+1, a, depth+1)
		case (a == eaAnswers || a == eaQueries || a == eaAddrs) && b[i] == '[':
			i, ok = s.array(b, i+1, a, depth+1)
		default: // not read, or not the object or array read there (parseRef ignores it too)
			i, ok = zjSkipValue(b, i, depth+1)
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

// array reads the elements of the array (action a, depth depth) whose '[' is just before i.
func (s *eveScan) array(b []byte, i, a, depth int) (int, bool) {
	i = zjSkipWS(b, i)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for n := 0; ; n++ {
		if i >= len(b) {
			return 0, false
		}
		var ok bool
		switch {
		case a == eaAnswers && b[i] == '{':
			s.ans.rrtype, s.ans.rdata = zjVal{}, zjVal{}
			if i, ok = s.object(b, i+1, ecAnswer, depth+1); ok {
				s.answer()
			}
		case a == eaQueries && n == 0 && b[i] == '{':
			i, ok = s.object(b, i+1, ecQuery, depth+1)
		case a == eaAddrs && b[i] == '"':
			j := zjQuoteOrEscape(b, i+1)
			if j >= len(b) || b[j] != '"' {
				return 0, false // an escape in an address read
			}
			s.addAddr(b[i+1 : j])
			i, ok = j+1, true
		default:
			i, ok = zjSkipValue(b, i, depth+1)
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
		case ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// answer keeps the address of the answer object just read when it is an A or AAAA record.
func (s *eveScan) answer() {
	if eveAddrType(&s.ans.rrtype) && s.ans.rdata.t == zjString {
		s.addAddr(s.ans.rdata.raw)
	}
}

// eveAddrType reports an rrtype of A or AAAA, the records whose rdata is an address.
func eveAddrType(v *zjVal) bool {
	return v.t == zjString && (string(v.raw) == "A" || string(v.raw) == "AAAA")
}

// addAddr appends an answered address, skipping text that is not one, duplicates (the answers
// array and the grouped lists name the same addresses) and any beyond eveMaxAnswers.
func (s *eveScan) addAddr(b []byte) {
	if len(*s.addrs) >= eveMaxAnswers {
		return
	}
	a, ok := flow.ParseAddr(b)
	if !ok {
		return
	}
	for _, x := range *s.addrs {
		if x == a {
			return
		}
	}
	*s.addrs = append(*s.addrs, a)
}

// Mapping the values to the record.

// eveKind is the event type of a line that is read.
type eveKind uint8

const (
	ekNone eveKind = iota
	ekFlow
	ekNetflow
	ekDNS
	ekTLS
	ekHTTP
	ekAlert
)

func eveKindOf(b []byte) eveKind {
	switch string(b) {
	case "flow":
		return ekFlow
	case "netflow":
		return ekNetflow
	case "dns":
		return ekDNS
	case "tls":
		return ekTLS
	case "http":
		return ekHTTP
	case "alert":
		return ekAlert
	}
	return ekNone
}

// eveIsRequest reports a DNS event type that is a request: "query" (versions 1, 2) or "request"
// (version 3). Everything else is read as a response.
func eveIsRequest(b []byte) bool { return string(b) == "query" || string(b) == "request" }

// fill maps a line's values to r (see the mapping at the top of the file). Content is checked
// first, so an event that carries nothing is not a skip even when its other fields are bad.
func (p *eveParser) fill(s *eveScan, r *flow.Record) error {
	v := &s.v
	et := &v[evType]
	switch {
	case et.t == zjAbsent || et.t == zjNull || et.t == zjString && len(et.raw) == 0:
		return missingField("event_type")
	case et.t != zjString:
		return badField("event_type", et.raw)
	}
	kind := eveKindOf(et.raw)
	if kind == ekNone {
		return errNoRecord
	}
	var err error
	swap := false      // the line's tuple is the responder's first (see the doc comment)
	flowTuple := false // take the alert's flow.src_ip/dest_ip/src_port/dest_port
	switch kind {
	case ekFlow:
		if r.Time, r.Duration, err = eveSpan(&v[evFlowStart], &v[evFlowEnd], p.loc, "flow.start", "flow.end"); err != nil {
			return err
		}
		if r.PktsOut, err = eveUint(&v[evFlowPktsOut], math.MaxInt64, "flow.pkts_toserver"); err != nil {
			return err
		}
		if r.PktsIn, err = eveUint(&v[evFlowPktsIn], math.MaxInt64, "flow.pkts_toclient"); err != nil {
			return err
		}
		if r.BytesOut, err = eveUint(&v[evFlowBytesOut], math.MaxInt64, "flow.bytes_toserver"); err != nil {
			return err
		}
		if r.BytesIn, err = eveUint(&v[evFlowBytesIn], math.MaxInt64, "flow.bytes_toclient"); err != nil {
			return err
		}
		switch string(eveText(&v[evFlowAction])) {
		case "drop":
			r.Action = flow.ActionBlock
		case "pass", "accept":
			r.Action = flow.ActionPass
		}
		r.DNSAnswers = r.DNSAnswers[:0]
		return p.endpoints(s, r, false, false)
	case ekNetflow:
		if r.Time, r.Duration, err = eveSpan(&v[evNFStart], &v[evNFEnd], p.loc, "netflow.start", "netflow.end"); err != nil {
			return err
		}
		if r.PktsOut, err = eveUint(&v[evNFPkts], math.MaxInt64, "netflow.pkts"); err != nil {
			return err
		}
		if r.BytesOut, err = eveUint(&v[evNFBytes], math.MaxInt64, "netflow.bytes"); err != nil {
			return err
		}
		r.DNSAnswers = r.DNSAnswers[:0]
		if err := p.endpoints(s, r, false, false); err != nil {
			return err
		}
		orientReply(r) // one direction per line: the answer half joins its connection
		return nil
	case ekDNS:
		request := eveIsRequest(eveText(&v[evDNSType]))
		if request && !p.requests {
			return errNoRecord // the response carries the lookup (see the doc comment)
		}
		name, qtype := &v[evDNSRRName], &v[evDNSRRType]
		if len(eveText(&v[evDNSQName])) > 0 {
			name, qtype = &v[evDNSQName], &v[evDNSQType]
		}
		if len(eveText(name)) == 0 {
			return errNoRecord
		}
		if request {
			r.DNSAnswers = r.DNSAnswers[:0]
		} else if eveAddrType(&v[evDNSRRType]) && v[evDNSRData].t == zjString {
			s.addAddr(v[evDNSRData].raw) // version 1: one answer record per event
		}
		if r.DNSType, err = eveRRType(qtype); err != nil {
			return err
		}
		r.DNSQuery = eveString(eveText(name), eveMaxName)
		swap = !request && eveResponderFirst(s)
	case ekTLS:
		sni := eveText(&v[evSNI])
		if len(sni) == 0 {
			return errNoRecord
		}
		r.TLSSNI = eveString(sni, eveMaxName)
	case ekHTTP:
		host, ua := eveText(&v[evHTTPHost]), eveText(&v[evUserAgent])
		if len(host) == 0 && len(ua) == 0 {
			return errNoRecord
		}
		r.HTTPHost = eveString(host, eveMaxName)
		r.UserAgent = eveString(ua, eveMaxText)
	case ekAlert:
		sig := eveText(&v[evSignature])
		if len(sig) == 0 {
			return missingField("alert.signature")
		}
		sev, err := eveUint(&v[evSeverity], math.MaxUint8, "alert.severity")
		if err != nil {
			return err
		}
		r.Alert = eveString(sig, eveMaxText)
		r.AlertSeverity = uint8(sev)
		if string(eveText(&v[evAlertAction])) == "blocked" {
			r.Action = flow.ActionBlock
		}
		flowTuple = eveSet(&v[evFlowSrc]) && eveSet(&v[evFlowDst])
		swap = !flowTuple && string(eveText(&v[evDirection])) == "to_client"
	}
	if kind != ekDNS {
		r.DNSAnswers = r.DNSAnswers[:0] // an alert's dns object, say, answers nothing here
	}
	r.Kind = flow.KindEvent
	if r.Time, err = eveTime(&v[evTS], p.loc, "timestamp"); err != nil {
		return err
	}
	return p.endpoints(s, r, swap, flowTuple)
}

// eveResponderFirst reports a DNS response written responder first: the side on port 53 when
// exactly one is, else by version (a version 3 "response" is, a version 1 or 2 "answer" is not,
// unless from Suricata before 5.0.1, which the ports then tell).
func eveResponderFirst(s *eveScan) bool {
	sp, err1 := eveUint(&s.v[evSrcPort], math.MaxUint16, "")
	dp, err2 := eveUint(&s.v[evDstPort], math.MaxUint16, "")
	if err1 == nil && err2 == nil && (sp == 53) != (dp == 53) {
		return sp == 53
	}
	return string(eveText(&s.v[evDNSType])) == "response"
}

// endpoints sets the addresses, ports and protocol: the line's tuple, swapped when swap is set,
// or with flowTuple an alert's flow.src_ip/dest_ip/src_port/dest_port.
func (p *eveParser) endpoints(s *eveScan, r *flow.Record, swap, flowTuple bool) error {
	v := &s.v
	src, dst, sp, dp := evSrc, evDst, evSrcPort, evDstPort
	srcName, dstName, spName, dpName := "src_ip", "dest_ip", "src_port", "dest_port"
	if flowTuple {
		src, dst, sp, dp = evFlowSrc, evFlowDst, evFlowSrcPort, evFlowDstPort
		srcName, dstName, spName, dpName = "flow.src_ip", "flow.dest_ip", "flow.src_port", "flow.dest_port"
	}
	var err error
	if r.Src, err = eveAddr(&v[src], srcName); err != nil {
		return err
	}
	if r.Dst, err = eveAddr(&v[dst], dstName); err != nil {
		return err
	}
	port, err := eveUint(&v[sp], math.MaxUint16, spName)
	if err != nil {
		return err
	}
	r.SrcPort = uint16(port)
	if port, err = eveUint(&v[dp], math.MaxUint16, dpName); err != nil {
		return err
	}
	r.DstPort = uint16(port)
	if swap {
		r.Src, r.Dst = r.Dst, r.Src
		r.SrcPort, r.DstPort = r.DstPort, r.SrcPort
	}
	if r.Proto, err = eveProto(&v[evProto]); err != nil {
		return err
	}
	if (r.Proto == flow.ProtoICMP || r.Proto == flow.ProtoICMPv6) && eveSet(&v[evICMPType]) {
		typ, err := eveUint(&v[evICMPType], math.MaxUint8, "icmp_type")
		if err != nil {
			return err
		}
		code, err := eveUint(&v[evICMPCode], math.MaxUint8, "icmp_code")
		if err != nil {
			return err
		}
		r.SrcPort, r.DstPort = uint16(typ), uint16(code)
	}
	return nil
}

// eveSet reports a value that is present and not null.
func eveSet(v *zjVal) bool { return v.t != zjAbsent && v.t != zjNull }

// eveText returns a string value's content, nil for any other type or when absent.
func eveText(v *zjVal) []byte {
	if v.t != zjString {
		return nil
	}
	return v.raw
}

// eveAddr reads a required address.
func eveAddr(v *zjVal, name string) (netip.Addr, error) {
	if v.t == zjAbsent || v.t == zjNull {
		return netip.Addr{}, missingField(name)
	}
	if v.t != zjString {
		return netip.Addr{}, badField(name, v.raw)
	}
	a, ok := flow.ParseAddr(v.raw)
	if !ok {
		return netip.Addr{}, badField(name, v.raw)
	}
	return a, nil
}

// eveUint reads an optional count no larger than max: a JSON integer, or one in a string (as
// some shippers write ports). Absent or null reads as 0.
func eveUint(v *zjVal, max uint64, name string) (uint64, error) {
	switch v.t {
	case zjAbsent, zjNull:
		return 0, nil
	case zjNumber, zjString:
		if n, ok := flow.ParseUint(v.raw, max); ok {
			return n, nil
		}
	}
	return 0, badField(name, v.raw)
}

// eveTime reads a required timestamp: Suricata's "2019-12-05T12:40:31.474186+0100", or any form
// parseTime knows (a number is epoch seconds, milliseconds, ...).
func eveTime(v *zjVal, loc *time.Location, name string) (int64, error) {
	switch v.t {
	case zjAbsent, zjNull:
		return 0, missingField(name)
	case zjString, zjNumber:
		if ns, ok := parseTime(v.raw, loc); ok {
			return ns, nil
		}
	}
	return 0, badField(name, v.raw)
}

// eveSpan reads a flow's start (required) and end (optional) as start and duration.
func eveSpan(start, end *zjVal, loc *time.Location, startName, endName string) (int64, int64, error) {
	t0, err := eveTime(start, loc, startName)
	if err != nil {
		return 0, 0, err
	}
	if end.t == zjAbsent || end.t == zjNull {
		return t0, 0, nil
	}
	t1, err := eveTime(end, loc, endName)
	if err != nil {
		return 0, 0, err
	}
	if t1 < t0 {
		return 0, 0, badField(endName+" (before start)", end.raw)
	}
	return t0, t1 - t0, nil
}

// eveProto reads proto: one of Suricata's protocol names (ParseProto's, or eveProtoNames), or a
// number, as a string or a JSON number. A name neither knows reads as 0, unknown.
func eveProto(v *zjVal) (uint8, error) {
	switch v.t {
	case zjAbsent, zjNull:
		return 0, nil
	case zjNumber:
		if n, ok := flow.ParseUint(v.raw, math.MaxUint8); ok {
			return uint8(n), nil
		}
	case zjString:
		if p, ok := flow.ParseProto(v.raw); ok {
			return p, nil
		}
		if len(v.raw) > 0 && (v.raw[0] < '0' || v.raw[0] > '9') {
			return eveProtoNames[string(v.raw)], nil
		}
	}
	return 0, badField("proto", v.raw)
}

// eveProtoNames are names Suricata writes (its known_proto table, from IANA) that
// flow.ParseProto does not know, for protocols seen on real networks.
var eveProtoNames = map[string]uint8{
	"IP-in-IP": 4, "IPv6": 41, "IPv6-Route": 43, "IPv6-Frag": 44, "RSVP": 46, "IPv6-NoNxt": 59,
	"IPv6-Opts": 60, "PIM": 103, "L2TP": 115, "UDPLite": 136, "MPLS-in-IP": 137,
}

// eveRRType reads a DNS rrtype: a name (eveRRTypes; one it does not know reads as 0), or the
// number Suricata writes for types it has no name for.
func eveRRType(v *zjVal) (uint16, error) {
	switch v.t {
	case zjAbsent, zjNull:
		return 0, nil
	case zjString, zjNumber:
		if len(v.raw) > 0 && v.raw[0] >= '0' && v.raw[0] <= '9' {
			if n, ok := flow.ParseUint(v.raw, math.MaxUint16); ok {
				return uint16(n), nil
			}
			break
		}
		if v.t == zjString {
			return eveRRTypes[string(v.raw)], nil
		}
	}
	return 0, badField("dns.rrtype", v.raw)
}

// eveRRTypes are the DNS record type names Suricata writes (its DNSRecordType, upper case).
var eveRRTypes = map[string]uint16{
	"A": 1, "NS": 2, "MD": 3, "MF": 4, "CNAME": 5, "SOA": 6, "MB": 7, "MG": 8, "MR": 9, "NULL": 10,
	"WKS": 11, "PTR": 12, "HINFO": 13, "MINFO": 14, "MX": 15, "TXT": 16, "RP": 17, "AFSDB": 18,
	"X25": 19, "ISDN": 20, "RT": 21, "NSAP": 22, "NSAPPTR": 23, "SIG": 24, "KEY": 25, "PX": 26,
	"GPOS": 27, "AAAA": 28, "LOC": 29, "NXT": 30, "SRV": 33, "ATMA": 34, "NAPTR": 35, "KX": 36,
	"CERT": 37, "A6": 38, "DNAME": 39, "OPT": 41, "APL": 42, "DS": 43, "SSHFP": 44,
	"IPSECKEY": 45, "RRSIG": 46, "NSEC": 47, "DNSKEY": 48, "DHCID": 49, "NSEC3": 50,
	"NSEC3PARAM": 51, "TLSA": 52, "HIP": 55, "CDS": 59, "CDNSKEY": 60, "SVCB": 64, "HTTPS": 65,
	"SPF": 99, "TKEY": 249, "TSIG": 250, "MAILA": 254, "ANY": 255, "URI": 256, "CAA": 257,
}

// eveString copies attacker-controlled text out of the line, cut to at most max bytes at a
// UTF-8 boundary; "" when b is empty.
func eveString(b []byte, max int) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > max {
		n := max
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
		b = b[:n]
	}
	return string(b)
}
