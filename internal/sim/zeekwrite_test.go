package sim

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
)

var zwT0 = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC).UnixNano()

func zwAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// zwHandRecords is a small network morning written by hand: each kind of line the Zeek writers
// produce, with sub-microsecond times to check the truncation.
func zwHandRecords() []flow.Record {
	ms := int64(time.Millisecond)
	return []flow.Record{
		// A TLS session with traffic both ways.
		{Time: zwT0 + 123_456_789, Duration: 2_500_000_789, Src: zwAddr("172.16.96.20"), SrcPort: 51514,
			Dst: zwAddr("93.184.216.34"), DstPort: 443, Proto: flow.ProtoTCP, Action: flow.ActionPass, Dir: flow.DirOut,
			BytesOut: 1432, BytesIn: 58211, PktsOut: 18, PktsIn: 44},
		// A blocked inbound RDP probe: one SYN, no reply.
		{Time: zwT0 + 1*int64(time.Second) + 5, Src: zwAddr("45.155.205.10"), SrcPort: 41234,
			Dst: zwAddr("172.16.0.2"), DstPort: 3389, Proto: flow.ProtoTCP, Action: flow.ActionBlock, Dir: flow.DirIn,
			PktsOut: 1},
		// A DNS flow answered; the flow carries the query too (a reader of a merged log would).
		{Time: zwT0 + 2*int64(time.Second), Duration: 12*ms + 345, Src: zwAddr("172.16.96.20"), SrcPort: 53211,
			Dst: zwAddr("172.16.0.1"), DstPort: 53, Proto: flow.ProtoUDP, Action: flow.ActionPass, Dir: flow.DirOut,
			BytesOut: 33, BytesIn: 49, PktsOut: 1, PktsIn: 1,
			DNSQuery: "www.example.com", DNSType: 1, DNSAnswers: []netip.Addr{zwAddr("93.184.216.34")}},
		// The DNS event of a miner resolving its pool.
		{Time: zwT0 + 3*int64(time.Second) + 999, Duration: 25 * ms, Src: zwAddr("172.16.0.10"), SrcPort: 40001,
			Dst: zwAddr("172.16.0.1"), DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent,
			DNSQuery: "xmr-eu1.nanopool.org", DNSType: 1,
			DNSAnswers: []netip.Addr{zwAddr("51.15.58.224"), zwAddr("51.255.34.118")}},
		// A DNS query that got no reply.
		{Time: zwT0 + 4*int64(time.Second), Src: zwAddr("172.16.96.21"), SrcPort: 60000,
			Dst: zwAddr("8.8.8.8"), DstPort: 53, Proto: flow.ProtoUDP, Action: flow.ActionPass, Dir: flow.DirOut,
			BytesOut: 40, PktsOut: 1},
		// Ping and its echo.
		{Time: zwT0 + 5*int64(time.Second), Duration: 20*ms + 1, Src: zwAddr("172.16.0.3"), SrcPort: 8,
			Dst: zwAddr("8.8.8.8"), DstPort: 0, Proto: flow.ProtoICMP, BytesOut: 56, BytesIn: 56, PktsOut: 1, PktsIn: 1},
		// IPv6: an AAAA event, a TLS session and a neighbour solicitation.
		{Time: zwT0 + 6*int64(time.Second), Duration: 4 * ms, Src: zwAddr("2001:db8:10::5"), SrcPort: 33000,
			Dst: zwAddr("2001:db8:10::1"), DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent,
			DNSQuery: "ipv6.google.com", DNSType: 28, DNSAnswers: []netip.Addr{zwAddr("2607:f8b0:4004:c1b::8a")}},
		{Time: zwT0 + 6*int64(time.Second) + 40*ms, Duration: 61*int64(time.Second) + 250_001, Src: zwAddr("2001:db8:10::5"),
			SrcPort: 50000, Dst: zwAddr("2607:f8b0:4004:c1b::8a"), DstPort: 443, Proto: flow.ProtoTCP,
			BytesOut: 2048, BytesIn: 1 << 20, PktsOut: 40, PktsIn: 760},
		{Time: zwT0 + 7*int64(time.Second), Src: zwAddr("fe80::1c2:3ff:fe44:5566"), SrcPort: 135,
			Dst: zwAddr("ff02::1:ff00:1"), DstPort: 136, Proto: flow.ProtoICMPv6, BytesOut: 24, PktsOut: 1},
		// A tunnelling-style TXT query with a tab, a backslash, an invalid byte and valid UTF-8.
		{Time: zwT0 + 8*int64(time.Second), Duration: 30 * ms, Src: zwAddr("172.16.96.22"), SrcPort: 40002,
			Dst: zwAddr("172.16.0.1"), DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent,
			DNSQuery: "tab\there\\back\xffslash.b\u00fccher.example", DNSType: 16},
		// A query type Zeek has no name for, over TCP, answered.
		{Time: zwT0 + 9*int64(time.Second), Duration: 2 * ms, Src: zwAddr("172.16.96.22"), SrcPort: 40003,
			Dst: zwAddr("172.16.0.1"), DstPort: 53, Proto: flow.ProtoTCP, Kind: flow.KindEvent,
			DNSQuery: "odd.example.net", DNSType: 99, DNSAnswers: []netip.Addr{zwAddr("192.0.2.7")}},
		// GRE to a branch office: Zeek's unknown_transport.
		{Time: zwT0 + 10*int64(time.Second), Duration: 3 * int64(time.Second), Src: zwAddr("172.16.0.6"),
			Dst: zwAddr("198.51.100.9"), Proto: 47, BytesOut: 9000, BytesIn: 8000, PktsOut: 10, PktsIn: 9},
	}
}

// zwMinerRecords is MinerNetwork(10 hosts, 1 day, seed 7) with the DNS events its resolver would
// have logged: one A lookup per name of its Names map (answered with the address), an AAAA for
// the pools' names, and NXDOMAIN typos, merged in time order.
func zwMinerRecords(t testing.TB) []flow.Record {
	sc, err := MinerNetwork(Config{Hosts: 10, Days: 1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	addrs := make([]netip.Addr, 0, len(sc.Names))
	for a := range sc.Names {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	recs := slices.Clone(sc.Records)
	start := sc.Records[0].Time
	resolver := zwAddr("172.16.0.1")
	for i, a := range addrs {
		for _, name := range sc.Names[a] {
			ev := flow.Record{
				Time:     start + int64(i)*int64(251*time.Second) + int64(i)*1_001,
				Duration: int64(1+i%40)*int64(time.Millisecond) + int64(i),
				Src:      netip.AddrFrom4([4]byte{172, 16, 0, byte(2 + i%10)}), SrcPort: uint16(30000 + i),
				Dst: resolver, DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent,
				DNSQuery: name, DNSType: 1, DNSAnswers: []netip.Addr{a},
			}
			recs = append(recs, ev)
			if strings.Contains(name, "xmr") || strings.Contains(name, "supportxmr") {
				ev.Time += 7
				ev.DNSType, ev.DNSAnswers = 28, nil // no AAAA: NXDOMAIN in this simulation
				recs = append(recs, ev)
			}
			if i%25 == 0 {
				ev.Time += 11
				ev.DNSQuery, ev.DNSType, ev.DNSAnswers = "www."+name+"x", 1, nil
				recs = append(recs, ev)
			}
		}
	}
	slices.SortStableFunc(recs, func(a, b flow.Record) int { return cmp.Compare(a.Time, b.Time) })
	return recs
}

// zwProtoRead is the protocol the Zeek readers give back for r: Zeek says "icmp" for ICMPv6 too
// (the reader tells them apart by address family) and unknown_transport for the rest.
func zwProtoRead(r *flow.Record) uint8 {
	switch r.Proto {
	case flow.ProtoTCP, flow.ProtoUDP:
		return r.Proto
	case flow.ProtoICMP, flow.ProtoICMPv6:
		if r.Src.Is6() {
			return flow.ProtoICMPv6
		}
		return flow.ProtoICMP
	}
	return 0 // unknown_transport
}

func zwUs(ns int64) int64 { return ns / 1e3 * 1e3 }

func zwCheckFormat(t *testing.T, what string, sum *ingest.Summary, format string, got, want int) {
	t.Helper()
	if len(sum.Files) != 1 || sum.Files[0].Format != format || sum.Skipped != 0 || got != want {
		f := ""
		if len(sum.Files) > 0 {
			f = sum.Files[0].Format
		}
		t.Fatalf("%s: format %q (want %q), %d of %d records, %d skipped %v", what, f, format, got, want,
			sum.Skipped, sum.SkipsByReason())
	}
}

func zwCheckConn(t *testing.T, what string, recs []flow.Record, jsonLines bool) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteZeekConn(&b, recs, jsonLines); err != nil {
		t.Fatal(err)
	}
	var want []flow.Record
	for _, r := range recs {
		if r.Kind == flow.KindFlow {
			want = append(want, r)
		}
	}
	format := "zeek-conn"
	if jsonLines {
		format = "zeek-conn-json"
	}
	got, sum := readBack(t, "conn.log", b.Bytes(), ingest.Options{})
	zwCheckFormat(t, what+" "+format, sum, format, len(got), len(want))
	for i := range want {
		w, g := &want[i], &got[i]
		if g.Time != zwUs(w.Time) || g.Duration != zwUs(w.Duration) || g.Src != w.Src || g.Dst != w.Dst ||
			g.SrcPort != w.SrcPort || g.DstPort != w.DstPort || g.Proto != zwProtoRead(w) || g.Kind != flow.KindFlow ||
			g.BytesOut != w.BytesOut || g.BytesIn != w.BytesIn || g.PktsOut != w.PktsOut || g.PktsIn != w.PktsIn {
			t.Fatalf("%s %s record %d:\n got %+v\nwant %+v", what, format, i, *g, *w)
		}
	}
}

func zwCheckDNS(t *testing.T, what string, recs []flow.Record, jsonLines bool) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteZeekDNS(&b, recs, jsonLines); err != nil {
		t.Fatal(err)
	}
	var want []flow.Record
	for _, r := range recs {
		if r.DNSQuery != "" {
			want = append(want, r)
		}
	}
	format := "zeek-dns"
	if jsonLines {
		format = "zeek-dns-json"
	}
	got, sum := readBack(t, "dns.log", b.Bytes(), ingest.Options{})
	zwCheckFormat(t, what+" "+format, sum, format, len(got), len(want))
	for i := range want {
		w, g := &want[i], &got[i]
		proto, qtype := uint8(flow.ProtoUDP), cmp.Or(w.DNSType, 1)
		if w.Proto == flow.ProtoTCP {
			proto = flow.ProtoTCP
		}
		if g.Time != zwUs(w.Time) || g.Src != w.Src || g.Dst != w.Dst || g.SrcPort != w.SrcPort ||
			g.DstPort != w.DstPort || g.Proto != proto || g.Kind != flow.KindEvent ||
			g.DNSQuery != w.DNSQuery || g.DNSType != qtype || !slices.Equal(g.DNSAnswers, w.DNSAnswers) {
			t.Fatalf("%s %s record %d:\n got %+v (query %q)\nwant %+v (query %q)", what, format, i, *g, g.DNSQuery, *w, w.DNSQuery)
		}
	}
}

func zwCheckCSVHeaderless(t *testing.T, what string, recs []flow.Record) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteCSVHeaderless(&b, recs); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(b.String(), "\n"); strings.Contains(first, "src_ip") {
		t.Fatalf("%s: header line %q", what, first)
	}
	got, sum := readBack(t, "flows.csv", b.Bytes(),
		ingest.Options{Columns: []string{"ts", "src", "dst", "sport", "dport", "proto", "bytes"}})
	zwCheckFormat(t, what+" csv", sum, "csv", len(got), len(recs))
	for i := range recs {
		w, g := &recs[i], &got[i]
		if g.Time != w.Time/1e9*1e9 || g.Src != w.Src || g.Dst != w.Dst || g.SrcPort != w.SrcPort ||
			g.DstPort != w.DstPort || g.Proto != w.Proto || g.BytesOut != w.BytesOut {
			t.Fatalf("%s csv record %d:\n got %+v\nwant %+v", what, i, *g, *w)
		}
	}
}

// TestZeekWritersRoundTrip: what the Zeek and headerless CSV writers write, the real readers
// read back: the format is detected, no line is skipped, every record comes back with its fields.
func TestZeekWritersRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		recs []flow.Record
	}{{"hand", zwHandRecords()}, {"miner", zwMinerRecords(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			for _, jsonLines := range []bool{false, true} {
				zwCheckConn(t, tc.name, tc.recs, jsonLines)
				zwCheckDNS(t, tc.name, tc.recs, jsonLines)
			}
			zwCheckCSVHeaderless(t, tc.name, tc.recs)
		})
	}
}

// TestZeekWritersText pins the exact text of a few lines against what Zeek writes.
func TestZeekWritersText(t *testing.T) {
	recs := zwHandRecords()
	var conn, connJSON, dns, dnsJSON, csv bytes.Buffer
	for _, err := range []error{
		WriteZeekConn(&conn, recs, false), WriteZeekConn(&connJSON, recs, true),
		WriteZeekDNS(&dns, recs, false), WriteZeekDNS(&dnsJSON, recs, true),
		WriteCSVHeaderless(&csv, recs),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantConnHead := "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#open\t2025-03-10-09-00-00\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\t" +
		"conn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\t" +
		"count\tcount\tcount\tcount\tset[string]\n" +
		"1741597200.123456\tClwnQgf8efPJARtobk\t172.16.96.20\t51514\t93.184.216.34\t443\ttcp\tssl\t2.500000\t1432\t58211\tSF\t-\t-\t0\tShADadfF\t18\t2152\t44\t59971\t-\n" +
		"1741597201.000000\tCplbPwCHg2SCmi9Qei\t45.155.205.10\t41234\t172.16.0.2\t3389\ttcp\t-\t-\t0\t0\tREJ\t-\t-\t0\tSr\t1\t40\t0\t0\t-\n" +
		"1741597202.000000\tCQGRbR1GQbzCLyKIRE\t172.16.96.20\t53211\t172.16.0.1\t53\tudp\tdns\t0.012000\t33\t49\tSF\t-\t-\t0\tDd\t1\t61\t1\t77\t-\n" +
		"1741597204.000000\tCw2TELs66wT9usQ0wK\t172.16.96.21\t60000\t8.8.8.8\t53\tudp\tdns\t-\t40\t0\tS0\t-\t-\t0\tD\t1\t68\t0\t0\t-\n"
	if !strings.HasPrefix(conn.String(), wantConnHead) {
		t.Errorf("conn.log starts\n%s\nwant\n%s", conn.String()[:min(conn.Len(), len(wantConnHead))], wantConnHead)
	}
	if !strings.HasSuffix(conn.String(), "\n#close\t2025-03-10-09-01-07\n") {
		t.Errorf("conn.log ends %q", conn.String()[conn.Len()-40:])
	}
	if n := strings.Count(conn.String(), "\n"); n != 8+9 { // header, 9 flows, #close
		t.Errorf("conn.log has %d lines, want 17", n)
	}
	wantConnJSON := `{"ts":1741597200.123456,"uid":"ClwnQgf8efPJARtobk","id.orig_h":"172.16.96.20","id.orig_p":51514,` +
		`"id.resp_h":"93.184.216.34","id.resp_p":443,"proto":"tcp","service":"ssl","duration":2.5,"orig_bytes":1432,` +
		`"resp_bytes":58211,"conn_state":"SF","missed_bytes":0,"history":"ShADadfF","orig_pkts":18,"orig_ip_bytes":2152,` +
		`"resp_pkts":44,"resp_ip_bytes":59971}` + "\n" +
		`{"ts":1741597201.0,"uid":"CplbPwCHg2SCmi9Qei","id.orig_h":"45.155.205.10","id.orig_p":41234,"id.resp_h":"172.16.0.2",` +
		`"id.resp_p":3389,"proto":"tcp","orig_bytes":0,"resp_bytes":0,"conn_state":"REJ","missed_bytes":0,"history":"Sr",` +
		`"orig_pkts":1,"orig_ip_bytes":40,"resp_pkts":0,"resp_ip_bytes":0}` + "\n"
	if !strings.HasPrefix(connJSON.String(), wantConnJSON) {
		t.Errorf("conn JSON starts\n%s\nwant\n%s", connJSON.String()[:min(connJSON.Len(), len(wantConnJSON))], wantConnJSON)
	}
	for _, want := range []string{
		"#path\tdns\n#open\t2025-03-10-09-00-02\n",
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\t" +
			"qtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected\n" +
			"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\t" +
			"string\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool\n",
		// The flow with a query has the uid it has in conn.log.
		"1741597202.000000\tCQGRbR1GQbzCLyKIRE\t172.16.96.20\t53211\t172.16.0.1\t53\tudp\t20424\t0.012000\twww.example.com\t" +
			"1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t93.184.216.34\t60.000000\tF\n",
		"\t51.15.58.224,51.255.34.118\t60.000000,60.000000\tF\n",
		"\t0.030000\ttab\\x09here\\x5cback\\xffslash.b\\xc3\\xbccher.example\t1\tC_INTERNET\t16\tTXT\t3\tNXDOMAIN\tF\tF\tT\tT\t0\t-\t-\tF\n",
		"\ttcp\t6421\t0.002000\todd.example.net\t1\tC_INTERNET\t99\tquery-99\t0\tNOERROR\t",
		"\n#close\t2025-03-10-09-00-09\n",
	} {
		if !strings.Contains(dns.String(), want) {
			t.Errorf("dns.log lacks %q", want)
		}
	}
	for _, want := range []string{
		`"rtt":0.03,"query":"tab\there\\back\\xffslash.b` + "\u00fc" + `cher.example","qclass":1,"qclass_name":"C_INTERNET",` +
			`"qtype":16,"qtype_name":"TXT","rcode":3,"rcode_name":"NXDOMAIN","AA":false,"TC":false,"RD":true,"RA":true,"Z":0,"rejected":false}` + "\n",
		`"answers":["51.15.58.224","51.255.34.118"],"TTLs":[60.0,60.0],"rejected":false}` + "\n",
	} {
		if !strings.Contains(dnsJSON.String(), want) {
			t.Errorf("dns JSON lacks %q", want)
		}
	}
	if strings.Contains(dnsJSON.String(), "_path") || strings.Contains(connJSON.String(), "_path") {
		t.Error("JSON has _path")
	}
	if first, _, _ := strings.Cut(csv.String(), "\n"); first != "2025-03-10 09:00:00,172.16.96.20,93.184.216.34,51514,443,tcp,1432" {
		t.Errorf("headerless CSV starts %q", first)
	}

	// Same records, same bytes; and a distinct uid per record.
	var again bytes.Buffer
	if WriteZeekConn(&again, recs, false); !bytes.Equal(again.Bytes(), conn.Bytes()) {
		t.Error("conn.log differs between two writes")
	}
	uids := map[string]int{}
	for i := range 200_000 {
		u := string(zeekAppendUID(nil, i))
		if len(u) != 18 || u[0] != 'C' {
			t.Fatalf("uid %q", u)
		}
		if j, dup := uids[u]; dup {
			t.Fatalf("records %d and %d share uid %s", j, i, u)
		}
		uids[u] = i
	}
}

// zwFailWriter accepts n bytes, then fails every call with a new error.
type zwFailWriter struct {
	n     int
	calls int
	first error
}

func (w *zwFailWriter) Write(p []byte) (int, error) {
	if len(p) <= w.n {
		w.n -= len(p)
		return len(p), nil
	}
	k := w.n
	w.n = 0
	w.calls++
	err := errors.New("disk full #" + strconv.Itoa(w.calls))
	if w.first == nil {
		w.first = err
	}
	return k, err
}

// TestZeekWritersError: each writer returns the first write error, at any point of the stream.
func TestZeekWritersError(t *testing.T) {
	recs := zwMinerRecords(t)
	writers := map[string]func(io.Writer) error{
		"conn":      func(w io.Writer) error { return WriteZeekConn(w, recs, false) },
		"conn-json": func(w io.Writer) error { return WriteZeekConn(w, recs, true) },
		"dns":       func(w io.Writer) error { return WriteZeekDNS(w, recs, false) },
		"dns-json":  func(w io.Writer) error { return WriteZeekDNS(w, recs, true) },
		"csv":       func(w io.Writer) error { return WriteCSVHeaderless(w, recs) },
	}
	for name, write := range writers {
		var full bytes.Buffer
		if err := write(&full); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 10, 1 << 16, full.Len() / 2, full.Len() - 1} {
			if n >= full.Len() {
				continue
			}
			fw := &zwFailWriter{n: n}
			err := write(fw)
			if err == nil || err != fw.first {
				t.Errorf("%s failing after %d of %d bytes: got %v, want %v", name, n, full.Len(), err, fw.first)
			}
		}
		if err := write(&zwFailWriter{n: full.Len()}); err != nil {
			t.Errorf("%s: %v with room for all %d bytes", name, err, full.Len())
		}
	}
}

// TestZeekWritersAllocs: the writers allocate a fixed few buffers, nothing per record.
func TestZeekWritersAllocs(t *testing.T) {
	recs := zwMinerRecords(t)
	writers := map[string]func([]flow.Record) error{
		"conn":      func(r []flow.Record) error { return WriteZeekConn(io.Discard, r, false) },
		"conn-json": func(r []flow.Record) error { return WriteZeekConn(io.Discard, r, true) },
		"dns":       func(r []flow.Record) error { return WriteZeekDNS(io.Discard, r, false) },
		"dns-json":  func(r []flow.Record) error { return WriteZeekDNS(io.Discard, r, true) },
		"csv":       func(r []flow.Record) error { return WriteCSVHeaderless(io.Discard, r) },
	}
	for name, write := range writers {
		few := testing.AllocsPerRun(5, func() { write(recs[:50]) })
		all := testing.AllocsPerRun(5, func() { write(recs) })
		t.Logf("%s: %.0f allocs for 50 records, %.0f for %d", name, few, all, len(recs))
		if all > 12 || all > few+4 {
			t.Errorf("%s: %.0f allocs for 50 records, %.0f for %d", name, few, all, len(recs))
		}
	}
}

// BenchmarkWriteZeekConn writes the miner network's day (16,359 flows, and 326 DNS events the
// writer skips) as conn.log; records/s counts the flows written.
func BenchmarkWriteZeekConn(b *testing.B) {
	recs := zwMinerRecords(b)
	flows := 0
	for i := range recs {
		if recs[i].Kind == flow.KindFlow {
			flows++
		}
	}
	for _, jsonLines := range []bool{false, true} {
		name := "tsv"
		if jsonLines {
			name = "json"
		}
		b.Run(name, func(b *testing.B) {
			var size zwCountWriter
			if err := WriteZeekConn(&size, recs, jsonLines); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := WriteZeekConn(io.Discard, recs, jsonLines); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n*flows)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

type zwCountWriter int

func (c *zwCountWriter) Write(p []byte) (int, error) { *c += zwCountWriter(len(p)); return len(p), nil }
