package chstore

import (
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
)

// rowset is one INSERT's rows held column by column, so a batch goes to the driver as one
// append per column rather than one reflective append per row. A rowset is reused: reset keeps
// every backing array. Adding a record allocates nothing unless it carries DNS answers or tags.
//
// The application columns (DNS, TLS, HTTP, alert, payload, tags) exist only once a row needs
// them: a batch of plain flows — most batches — holds no pointers for the garbage collector to
// scan, sends 16 columns instead of 26, and its INSERT leaves the others to their defaults.
type rowset struct {
	n                                  int
	day                                []uint16 // days since 1970-01-01 (UTC), clamped to Date's range
	ts, dur                            []int64
	src, dst                           []byte // 16 bytes per row, IPv4-mapped
	sport, dport                       []uint16
	proto, action, dir, kind           []uint8
	bytesOut, bytesIn, pktsOut, pktsIn []uint64
	loadID                             []uint64

	app                                bool // the application columns below are in use
	dnsQuery                           []string
	dnsType                            []uint16
	answers                            []byte  // 16 bytes per answer, all rows
	answerEnd                          []int32 // answers[:16*answerEnd[i]] ends row i's
	tlsSNI, httpHost, userAgent, alert []string
	severity, payload                  []uint8
	tags                               [][]string

	// loads are the load attempts with rows here, in order of first row; retried is set once an
	// INSERT of the rowset failed and was sent again.
	loads   []uint64
	retried bool
}

// newRowset returns a rowset whose flow columns have room for rows rows.
func newRowset(rows int) *rowset {
	return &rowset{
		day: make([]uint16, 0, rows), ts: make([]int64, 0, rows), dur: make([]int64, 0, rows),
		src: make([]byte, 0, 16*rows), dst: make([]byte, 0, 16*rows),
		sport: make([]uint16, 0, rows), dport: make([]uint16, 0, rows),
		proto: make([]uint8, 0, rows), action: make([]uint8, 0, rows), dir: make([]uint8, 0, rows), kind: make([]uint8, 0, rows),
		bytesOut: make([]uint64, 0, rows), bytesIn: make([]uint64, 0, rows), pktsOut: make([]uint64, 0, rows), pktsIn: make([]uint64, 0, rows),
		loadID: make([]uint64, 0, rows),
	}
}

func (rs *rowset) reset() {
	rs.n = 0
	rs.day, rs.ts, rs.dur = rs.day[:0], rs.ts[:0], rs.dur[:0]
	rs.src, rs.dst = rs.src[:0], rs.dst[:0]
	rs.sport, rs.dport = rs.sport[:0], rs.dport[:0]
	rs.proto, rs.action, rs.dir, rs.kind = rs.proto[:0], rs.action[:0], rs.dir[:0], rs.kind[:0]
	rs.bytesOut, rs.bytesIn, rs.pktsOut, rs.pktsIn = rs.bytesOut[:0], rs.bytesIn[:0], rs.pktsOut[:0], rs.pktsIn[:0]
	rs.loadID = rs.loadID[:0]
	rs.app = false
	clear(rs.dnsQuery)
	clear(rs.tlsSNI)
	clear(rs.httpHost)
	clear(rs.userAgent)
	clear(rs.alert)
	clear(rs.tags)
	rs.dnsQuery, rs.dnsType = rs.dnsQuery[:0], rs.dnsType[:0]
	rs.answers, rs.answerEnd = rs.answers[:0], rs.answerEnd[:0]
	rs.tlsSNI, rs.httpHost, rs.userAgent, rs.alert = rs.tlsSNI[:0], rs.httpHost[:0], rs.userAgent[:0], rs.alert[:0]
	rs.severity, rs.payload, rs.tags = rs.severity[:0], rs.payload[:0], rs.tags[:0]
	rs.loads, rs.retried = rs.loads[:0], false
}

// dayOf is the UTC day of a Unix ns time, floored, clamped to what a Date holds (1970-2149).
func dayOf(ns int64) uint16 {
	d := ns / 86_400e9
	if ns%86_400e9 < 0 {
		d--
	}
	return uint16(min(max(d, 0), 65535))
}

// hasApp reports whether r needs the application columns.
func hasApp(r *flow.Record, payload bool) bool {
	return payload || r.HasNames() || r.DNSType != 0 || len(r.DNSAnswers) > 0 || r.UserAgent != "" || r.Alert != "" || r.AlertSeverity != 0
}

// useApp brings the application columns into use, with empty values for the rows so far.
func (rs *rowset) useApp() {
	rs.app = true
	n := rs.n
	rs.dnsQuery = append(rs.dnsQuery, make([]string, n)...)
	rs.dnsType = append(rs.dnsType, make([]uint16, n)...)
	rs.answerEnd = append(rs.answerEnd, make([]int32, n)...)
	rs.tlsSNI = append(rs.tlsSNI, make([]string, n)...)
	rs.httpHost = append(rs.httpHost, make([]string, n)...)
	rs.userAgent = append(rs.userAgent, make([]string, n)...)
	rs.alert = append(rs.alert, make([]string, n)...)
	rs.severity = append(rs.severity, make([]uint8, n)...)
	rs.payload = append(rs.payload, make([]uint8, n)...)
	rs.tags = append(rs.tags, make([][]string, n)...)
}

// add appends r, which payload says carried payload bytes, as written by attempt load; it
// returns the row's day.
func (rs *rowset) add(r *flow.Record, payload bool, load uint64) uint16 {
	if !rs.app && hasApp(r, payload) {
		rs.useApp()
	}
	rs.n++
	day := dayOf(r.Time)
	rs.day = append(rs.day, day)
	rs.ts = append(rs.ts, r.Time)
	rs.dur = append(rs.dur, r.Duration)
	src, dst := r.Src.As16(), r.Dst.As16()
	rs.src = append(rs.src, src[:]...)
	rs.dst = append(rs.dst, dst[:]...)
	rs.sport = append(rs.sport, r.SrcPort)
	rs.dport = append(rs.dport, r.DstPort)
	rs.proto = append(rs.proto, r.Proto)
	rs.action = append(rs.action, uint8(r.Action))
	rs.dir = append(rs.dir, uint8(r.Dir))
	rs.kind = append(rs.kind, uint8(r.Kind))
	rs.bytesOut = append(rs.bytesOut, r.BytesOut)
	rs.bytesIn = append(rs.bytesIn, r.BytesIn)
	rs.pktsOut = append(rs.pktsOut, r.PktsOut)
	rs.pktsIn = append(rs.pktsIn, r.PktsIn)
	rs.loadID = append(rs.loadID, load)
	if n := len(rs.loads); n == 0 || rs.loads[n-1] != load {
		rs.loads = append(rs.loads, load)
	}
	if !rs.app {
		return day
	}
	rs.dnsQuery = append(rs.dnsQuery, r.DNSQuery)
	rs.dnsType = append(rs.dnsType, r.DNSType)
	for _, a := range r.DNSAnswers {
		b := a.As16()
		rs.answers = append(rs.answers, b[:]...)
	}
	rs.answerEnd = append(rs.answerEnd, int32(len(rs.answers)/16))
	rs.tlsSNI = append(rs.tlsSNI, r.TLSSNI)
	rs.httpHost = append(rs.httpHost, r.HTTPHost)
	rs.userAgent = append(rs.userAgent, r.UserAgent)
	rs.alert = append(rs.alert, r.Alert)
	rs.severity = append(rs.severity, r.AlertSeverity)
	var p uint8
	if payload {
		p = 1
	}
	rs.payload = append(rs.payload, p)
	var tags []string
	if payload || r.Alert != "" {
		engine.RecordTags(r, func(tag string) { tags = engine.AddTag(tags, tag) })
	}
	rs.tags = append(rs.tags, tags)
	return day
}

// sendScratch holds the per-INSERT views the driver's column types want, reused across sends.
type sendScratch struct {
	days     []time.Time
	src, dst [][]byte
	answers  [][]byte
}

// appendTo appends the rowset to an INSERT batch whose columns are rs.columns(), in order.
func (rs *rowset) appendTo(b driver.Batch, sc *sendScratch) error {
	n := rs.n
	sc.days = sc.days[:0]
	for _, d := range rs.day {
		sc.days = append(sc.days, time.Unix(int64(d)*86400, 0).UTC())
	}
	views := func(dst [][]byte, flat []byte) [][]byte {
		dst = dst[:0]
		for i := range n {
			dst = append(dst, flat[16*i:16*i+16:16*i+16])
		}
		return dst
	}
	sc.src, sc.dst = views(sc.src, rs.src), views(sc.dst, rs.dst)
	for i, c := range rs.columns() {
		col := b.Column(i)
		var err error
		switch c.name {
		case "day":
			err = col.Append(sc.days)
		case "ts":
			err = col.Append(rs.ts)
		case "dur":
			err = col.Append(rs.dur)
		case "src":
			err = col.Append(sc.src)
		case "dst":
			err = col.Append(sc.dst)
		case "sport":
			err = col.Append(rs.sport)
		case "dport":
			err = col.Append(rs.dport)
		case "proto":
			err = col.Append(rs.proto)
		case "action":
			err = col.Append(rs.action)
		case "dir":
			err = col.Append(rs.dir)
		case "kind":
			err = col.Append(rs.kind)
		case "bytes_out":
			err = col.Append(rs.bytesOut)
		case "bytes_in":
			err = col.Append(rs.bytesIn)
		case "pkts_out":
			err = col.Append(rs.pktsOut)
		case "pkts_in":
			err = col.Append(rs.pktsIn)
		case "load_id":
			err = col.Append(rs.loadID)
		case "dns_query":
			err = col.Append(rs.dnsQuery)
		case "dns_type":
			err = col.Append(rs.dnsType)
		case "tls_sni":
			err = col.Append(rs.tlsSNI)
		case "http_host":
			err = col.Append(rs.httpHost)
		case "user_agent":
			err = col.Append(rs.userAgent)
		case "alert":
			err = col.Append(rs.alert)
		case "alert_severity":
			err = col.Append(rs.severity)
		case "payload":
			err = col.Append(rs.payload)
		case "dns_answers":
			start := int32(0)
			for _, end := range rs.answerEnd {
				if end == start {
					err = col.AppendRow([][]byte(nil))
				} else {
					sc.answers = sc.answers[:0]
					for j := start; j < end; j++ {
						sc.answers = append(sc.answers, rs.answers[16*j:16*j+16:16*j+16])
					}
					err = col.AppendRow(sc.answers)
				}
				if err != nil {
					break
				}
				start = end
			}
		case "tags":
			for _, t := range rs.tags {
				if err = col.AppendRow(t); err != nil {
					break
				}
			}
		default:
			err = fmt.Errorf("no data for column %s", c.name)
		}
		if err != nil {
			return fmt.Errorf("column %s: %w", c.name, err)
		}
	}
	return nil
}

// columns are the columns the rowset's INSERT names: the flow columns, and the application
// columns when in use.
func (rs *rowset) columns() []column {
	if rs.app {
		return flowColumns
	}
	return baseColumns
}
