package ingest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Jerusalem on machines without zoneinfo

	"github.com/flowhunt/flowhunt/internal/flow"
)

func csvAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func csvNs(year int, month time.Month, day, h, m, s, ns int) int64 {
	return time.Date(year, month, day, h, m, s, ns, time.UTC).UnixNano()
}

// csvRead runs the whole pipeline over content and fails on a run error.
func csvRead(t *testing.T, name, content string, opts Options) ([]flow.Record, *FileStats) {
	t.Helper()
	recs, fs, err := readText(t, name, content, opts)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return recs, fs
}

func csvCheckRecords(t *testing.T, got, want []flow.Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d:\n%+v", len(got), len(want), got)
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("record %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

// The layout of seed 003 (a pandas DataFrame written with to_csv(index=False)).
func TestCSVPandasLayout(t *testing.T) {
	content := "timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload\n" +
		"2021-08-18 10:02:11,120.18.201.129,80.155.115.153,51234,443,TCP,1024\n" +
		"2021-08-18 10:02:11.123456,120.18.2.84,8.8.8.8,53000,53,UDP,64\r\n" +
		"2021-08-18 10:03:00,120.18.2.84,2001:db8::1,53000.0,443.0,6,1234.0\n"
	recs, fs := csvRead(t, "flows.csv", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2021, 8, 18, 10, 2, 11, 0), Src: csvAddr("120.18.201.129"), Dst: csvAddr("80.155.115.153"),
			SrcPort: 51234, DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 1024},
		{Time: csvNs(2021, 8, 18, 10, 2, 11, 123456000), Src: csvAddr("120.18.2.84"), Dst: csvAddr("8.8.8.8"),
			SrcPort: 53000, DstPort: 53, Proto: flow.ProtoUDP, BytesOut: 64},
		{Time: csvNs(2021, 8, 18, 10, 3, 0, 0), Src: csvAddr("120.18.2.84"), Dst: csvAddr("2001:db8::1"),
			SrcPort: 53000, DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 1234},
	})
	if fs.Format != "csv" || fs.Records != 3 || fs.Skipped != 0 || fs.Lines != 4 {
		t.Errorf("stats: format %q records %d skipped %d lines %d", fs.Format, fs.Records, fs.Skipped, fs.Lines)
	}
}

func TestCSVSkips(t *testing.T) {
	content := "timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload\n" + // 1
		"2021-08-18 10:02:11,10.0.0.1,8.8.8.8,5000,53,udp,60\n" + // 2 ok
		"2021-08-18 10:02:11,10.0.0.1,8.8.8.8\n" + // 3 truncated
		"2021-08-18 10:02:11,10.0.0.999,8.8.8.8,5000,53,udp,60\n" + // 4
		"2021-08-18 10:02:11,10.0.0.1,8.8.8.8,5000,99999,udp,60\n" + // 5
		"2021-08-18 25:02:11,10.0.0.1,8.8.8.8,5000,53,udp,60\n" + // 6
		"yesterday,10.0.0.1,8.8.8.8,5000,53,udp,60\n" + // 7
		"2021-08-18 10:02:11,10.0.0.1,8.8.8.8,5000,53,udp,-5\n" + // 8
		"\x00\x01\xfe\xff garbage\n" + // 9 binary
		",10.0.0.1,8.8.8.8,5000,53,udp,60\n" + // 10
		"timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload\n" + // 11 repeated header: not counted
		"2021-08-18 10:02:11,10.0.0.1,,5000,53,udp,60\n" + // 12
		"2021-08-18 10:02:11,10.0.0.1,8.8.8.8,x,53,udp,60\n" + // 13
		"2021-08-18 10:02:11,10.0.0.1,8.8.8.8,5000,53,999,60\n" + // 14
		"   \n" + // 15 blank
		"2021-08-18 10:02:11,10.0.0.1,8.8.8.8,5000,53,udp,60,extra\n" + // 16 ok: extra fields ignored
		"2021-08-18 10:02:11,fe80::1%eth0,8.8.8.8,5000,53,udp,60\n" + // 17 zoned address
		"2021-08-18 10:02:11,10.0.0.1,8.8.8.8,5000,53,udp,1e6\n" + // 18
		"2021-08-18 10:02:11,10.0.0.1,8.8.8.8,5000,53,tcp\n" // 19 one field short
	recs, fs := csvRead(t, "flows.csv", content, Options{})
	if len(recs) != 2 || fs.Records != 2 {
		t.Fatalf("records %d/%d, want 2: %+v", len(recs), fs.Records, recs)
	}
	type skip struct {
		reason string
		count  int64
		first  int64
	}
	var got []skip
	for _, s := range fs.Skips {
		got = append(got, skip{s.Reason, s.Count, s.FirstLine})
	}
	want := []skip{
		{"wrong field count", 3, 3},
		{"bad src address", 2, 4},
		{"bad timestamp", 2, 6},
		{"bad bytes", 2, 8},
		{"bad dst port", 1, 5},
		{"missing timestamp", 1, 10},
		{"missing dst address", 1, 12},
		{"bad src port", 1, 13},
		{"bad proto", 1, 14},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("skips:\n got %v\nwant %v", got, want)
	}
	if fs.Skipped != 14 {
		t.Errorf("skipped %d, want 14", fs.Skipped)
	}
	if ex := fs.Skips[0].Example; ex != "wrong field count (3 fields, want ≥ 7)" {
		t.Errorf("example %q", ex)
	}
}

func TestCSVTimestamps(t *testing.T) {
	jerusalem, err := time.LoadLocation("Asia/Jerusalem")
	if err != nil {
		t.Fatal(err)
	}
	f := func(ts string, loc *time.Location, want int64) {
		t.Helper()
		content := "ts,src,dst\n" + ts + ",10.0.0.1,10.0.0.2\n"
		recs, fs := csvRead(t, "t.csv", content, Options{Location: loc})
		if len(recs) != 1 {
			t.Fatalf("%q: no record (%s)", ts, fs.SkipSummary())
		}
		if recs[0].Time != want {
			t.Errorf("%q: time %s, want %s", ts, time.Unix(0, recs[0].Time).UTC(), time.Unix(0, want).UTC())
		}
	}
	f("1710410400", nil, csvNs(2024, 3, 14, 10, 0, 0, 0))                      // epoch s
	f("1710410400123", nil, csvNs(2024, 3, 14, 10, 0, 0, 123e6))               // epoch ms
	f("1710410400.5", nil, csvNs(2024, 3, 14, 10, 0, 0, 5e8))                  // epoch s with fraction
	f("1710410400123456", nil, csvNs(2024, 3, 14, 10, 0, 0, 123456e3))         // epoch µs
	f("2024-03-14T10:00:00Z", nil, csvNs(2024, 3, 14, 10, 0, 0, 0))            // ISO with Z
	f("2024-03-14T10:00:00.25+02:00", nil, csvNs(2024, 3, 14, 8, 0, 0, 25e7))  // ISO with offset
	f("2024-03-14 10:00:00", jerusalem, csvNs(2024, 3, 14, 8, 0, 0, 0))        // naive in --tz (IST, +2)
	f("2024-07-14 10:00:00", jerusalem, csvNs(2024, 7, 14, 7, 0, 0, 0))        // naive in --tz (IDT, +3)
	f("2024-03-14T10:00:00Z", jerusalem, csvNs(2024, 3, 14, 10, 0, 0, 0))      // zone in the value wins
	f(`"2024/03/14 10:00:00.000001"`, nil, csvNs(2024, 3, 14, 10, 0, 0, 1000)) // quoted, Argus form
}

func TestCSVColumnsHeaderless(t *testing.T) {
	content := "1710410400,10.0.0.5,1.2.3.4,443,1200\n" +
		"1710410460,10.0.0.5,1.2.3.4,443,1300\n"
	cols := []string{"ts", "src", "dst", "dport", "bytes"}
	recs, fs := csvRead(t, "noheader.csv", content, Options{Columns: cols})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2024, 3, 14, 10, 0, 0, 0), Src: csvAddr("10.0.0.5"), Dst: csvAddr("1.2.3.4"), DstPort: 443, BytesOut: 1200},
		{Time: csvNs(2024, 3, 14, 10, 1, 0, 0), Src: csvAddr("10.0.0.5"), Dst: csvAddr("1.2.3.4"), DstPort: 443, BytesOut: 1300},
	})
	if fs.Lines != 2 || fs.Skipped != 0 {
		t.Errorf("lines %d skipped %d", fs.Lines, fs.Skipped)
	}

	// A header is consumed but --columns decides by position; "skip" and synonyms are accepted.
	content = "a,b,c,d,e\n1710410400,x,10.0.0.5,1.2.3.4,53\n"
	recs, _ = csvRead(t, "renamed.csv", content, Options{Columns: []string{"time", "skip", "source_ip", "dst", "dport"}})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2024, 3, 14, 10, 0, 0, 0), Src: csvAddr("10.0.0.5"), Dst: csvAddr("1.2.3.4"), DstPort: 53},
	})
}

func TestCSVSeparators(t *testing.T) {
	// TSV with both directions.
	content := "ts\tsrc\tdst\tsport\tdport\tproto\tbytes_out\tbytes_in\tpkts_out\tpkts_in\n" +
		"1710410400.25\t10.0.0.5\t1.2.3.4\t50000\t443\ttcp\t500\t9000\t5\t8\n"
	recs, fs := csvRead(t, "flows.tsv", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2024, 3, 14, 10, 0, 0, 25e7), Src: csvAddr("10.0.0.5"), Dst: csvAddr("1.2.3.4"),
			SrcPort: 50000, DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 500, BytesIn: 9000, PktsOut: 5, PktsIn: 8},
	})
	if fs.Format != "tsv" {
		t.Errorf("format %q, want tsv", fs.Format)
	}

	// Semicolons, quoted names and values, a separator and an escaped quote inside a quoted field.
	content = `"Start Time";"Source Address";"Destination Address";"Dst Port";"Proto";"Bytes";"User Agent";"Action"` + "\n" +
		`"2024-03-14 10:00:00";"10.1.1.5";"93.184.216.34";"443";"tcp";"1500";"Mozilla/5.0 (X11; Linux) ""quoted""";"allow"` + "\n" +
		`2024-03-14 10:00:01;10.1.1.5;93.184.216.34;80;tcp;700;curl/8.5.0;DENY` + "\n"
	recs, fs = csvRead(t, "export.csv", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2024, 3, 14, 10, 0, 0, 0), Src: csvAddr("10.1.1.5"), Dst: csvAddr("93.184.216.34"),
			DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 1500, UserAgent: `Mozilla/5.0 (X11; Linux) "quoted"`, Action: flow.ActionPass},
		{Time: csvNs(2024, 3, 14, 10, 0, 1, 0), Src: csvAddr("10.1.1.5"), Dst: csvAddr("93.184.216.34"),
			DstPort: 80, Proto: flow.ProtoTCP, BytesOut: 700, UserAgent: "curl/8.5.0", Action: flow.ActionBlock},
	})
	if fs.Format != "csv" || fs.Skipped != 0 {
		t.Errorf("format %q skipped %d", fs.Format, fs.Skipped)
	}

	// Pipes, with a BOM before the header.
	content = "\ufeffsrc|dst|dport\n10.0.0.1|10.0.0.2|22\n"
	recs, _ = csvRead(t, "p.txt", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{{Src: csvAddr("10.0.0.1"), Dst: csvAddr("10.0.0.2"), DstPort: 22}})
}

// Exports of common tools map without --columns.
func TestCSVKnownExports(t *testing.T) {
	// Argus / Stratosphere binetflow: a total beside the src counters; hex ICMP "ports".
	content := "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,SrcPkts,Label\n" +
		"2018/12/18 14:00:00.527012,0.699716,tcp,216.73.23.146,52798,   ->,147.32.81.58,445,S_RA,0,0,2,134,70,1,\n" +
		"2019/04/04 16:23:02.001000,0.000000,icmp,10.8.0.69,0x0303,  ->,10.8.0.1,0xfe25,URP,0,,1,590,590,1,\n"
	recs, _ := csvRead(t, "test3.binetflow", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2018, 12, 18, 14, 0, 0, 527012000), Duration: 699716000, Src: csvAddr("216.73.23.146"),
			Dst: csvAddr("147.32.81.58"), SrcPort: 52798, DstPort: 445, Proto: flow.ProtoTCP,
			BytesOut: 70, BytesIn: 64, PktsOut: 1, PktsIn: 1},
		{Time: csvNs(2019, 4, 4, 16, 23, 2, 1e6), Src: csvAddr("10.8.0.69"), Dst: csvAddr("10.8.0.1"),
			SrcPort: 0x0303, DstPort: 0xfe25, Proto: flow.ProtoICMP, BytesOut: 590, PktsOut: 1},
	})

	// Zeek conn.log through pandas/zeek-cut: "-" is unset.
	content = "ts,uid,id.orig_h,id.orig_p,id.resp_h,id.resp_p,proto,service,duration,orig_bytes,resp_bytes,conn_state,orig_pkts,resp_pkts\n" +
		"1547188415.857497,CzZCxz1b6dU4Hxwq6k,10.55.100.100,49778,65.52.108.225,443,tcp,ssl,86.407,1266,5490,S1,17,16\n" +
		"1547188416.000000,Cabc,10.55.100.100,49779,8.8.8.8,53,udp,dns,-,-,-,S0,1,0\n"
	recs, _ = csvRead(t, "conn.csv", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: 1547188415857497000, Duration: 86407e6, Src: csvAddr("10.55.100.100"), Dst: csvAddr("65.52.108.225"),
			SrcPort: 49778, DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 1266, BytesIn: 5490, PktsOut: 17, PktsIn: 16},
		{Time: 1547188416e9, Src: csvAddr("10.55.100.100"), Dst: csvAddr("8.8.8.8"),
			SrcPort: 49779, DstPort: 53, Proto: flow.ProtoUDP, PktsOut: 1},
	})

	// FortiGate: the timestamp split over date and time columns.
	content = "date,time,srcip,srcport,dstip,dstport,proto,action,sentbyte,rcvdbyte,policyid\n" +
		"2024-03-14,10:15:22,192.168.1.10,51000,203.0.113.9,3333,6,accept,1800,42000,7\n"
	recs, _ = csvRead(t, "forti.csv", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2024, 3, 14, 10, 15, 22, 0), Src: csvAddr("192.168.1.10"), Dst: csvAddr("203.0.113.9"),
			SrcPort: 51000, DstPort: 3333, Proto: flow.ProtoTCP, Action: flow.ActionPass, BytesOut: 1800, BytesIn: 42000},
	})

	// AWS VPC flow logs: single spaces; duration from start and end; NODATA has no addresses.
	content = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n" +
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK\n" +
		"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA\n"
	recs, fs := csvRead(t, "vpc.log", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: 1418530010e9, Duration: 60e9, Src: csvAddr("172.31.16.139"), Dst: csvAddr("172.31.16.21"),
			SrcPort: 20641, DstPort: 22, Proto: flow.ProtoTCP, Action: flow.ActionPass, BytesOut: 4249, PktsOut: 20},
	})
	if fs.Skipped != 1 || fs.Skips[0].Reason != "missing src address" {
		t.Errorf("vpc skips: %+v", fs.Skips)
	}

	// nProbe / NF-* datasets: IN_BYTES is src→dst; duration in milliseconds.
	content = "FLOW_START_MILLISECONDS,IPV4_SRC_ADDR,L4_SRC_PORT,IPV4_DST_ADDR,L4_DST_PORT,PROTOCOL,IN_BYTES,OUT_BYTES,IN_PKTS,OUT_PKTS,FLOW_DURATION_MILLISECONDS\n" +
		"1710410400500,10.0.0.7,40000,198.51.100.7,80,6,300,5000,4,6,1500\n"
	recs, _ = csvRead(t, "nf.csv", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2024, 3, 14, 10, 0, 0, 5e8), Duration: 1500e6, Src: csvAddr("10.0.0.7"), Dst: csvAddr("198.51.100.7"),
			SrcPort: 40000, DstPort: 80, Proto: flow.ProtoTCP, BytesOut: 300, BytesIn: 5000, PktsOut: 4, PktsIn: 6},
	})

	// App fields, end without duration.
	content = "first_seen,last_seen,client_ip,server_ip,server_port,dns_query,http_host,tls_sni\n" +
		"2024-03-14 10:00:00,2024-03-14 10:00:02.5,10.0.0.9,192.0.2.1,443,,,example.org\n"
	recs, _ = csvRead(t, "app.csv", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2024, 3, 14, 10, 0, 0, 0), Duration: 25e8, Src: csvAddr("10.0.0.9"), Dst: csvAddr("192.0.2.1"),
			DstPort: 443, TLSSNI: "example.org"},
	})
}

func TestCSVSniff(t *testing.T) {
	// f sniffs head; want is the format name, "" for declined without a reason, or "error: substring".
	f := func(head string, cols []string, want string) {
		t.Helper()
		lf, err := sniffCSV([]byte(head), "x", &Options{Columns: cols})
		switch {
		case strings.HasPrefix(want, "error: "):
			if err == nil || !strings.Contains(err.Error(), want[7:]) {
				t.Errorf("%q: err %v, want %q", head, err, want[7:])
			}
			if lf != nil {
				t.Errorf("%q: claimed with an error", head)
			}
		case want == "":
			if lf != nil || err != nil {
				t.Errorf("%q: got %v, %v; want declined", head, lf, err)
			}
		default:
			if err != nil || lf == nil || lf.Name() != want {
				t.Errorf("%q: got %v, %v; want %s", head, lf, err, want)
			}
		}
	}
	f("ts,src,dst\n1,10.0.0.1,10.0.0.2\n", nil, "csv")
	f("ts\tsrc\tdst\n1\t10.0.0.1\t10.0.0.2\n", nil, "tsv")
	f("ts;src;dst;dur\n1;10.0.0.1;10.0.0.2;0,5\n", nil, "csv")                                           // decimal commas
	f("note,ts|src|dst\n1|10.0.0.1|10.0.0.2\n2|10.0.0.1|10.0.0.2\n", nil, "csv")                         // consistent separator wins
	f("#separator \\x09\n#set_separator\t,\n#fields\tts\tuid\n", nil, "")                                // Zeek TSV
	f(`{"ts":1,"id.orig_h":"10.0.0.1"}`+"\n", nil, "")                                                   // JSON lines
	f("Mar 14 10:15:22 fw filterlog[1]: 5,,,1000,igb0,match,block,in,4\n", nil, "")                      // filterlog
	f("\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\n", nil, "")                                     // pcap
	f("ip,count\n1.2.3.4,5\n", nil, `error: header has no src/dst column: "ip", "count"; use --columns`) // seed 003's flag file
	f("src,bytes\n", nil, "error: header has no src/dst column")                                         //
	f("1710410400,10.0.0.1,10.0.0.2\n", nil, "error: first line is data")                                // headerless
	f("1710410400,10.0.0.1,10.0.0.2\n", []string{"ts", "src", "dst"}, "csv")                             //
	f("1710410400,10.0.0.1,10.0.0.2\n", []string{"ts", "src", "bogus"}, `error: unknown column role "bogus"`)
	f("1710410400,10.0.0.1,10.0.0.2\n", []string{"ts", "src", "-"}, "error: --columns names no dst column")
	f("1710410400,10.0.0.1\n", []string{"ts", "src", "dst"}, "error: --columns names 3 columns but the first data line has 2")
	f("1710410400,10.0.0.1,10.0.0.2\n", []string{"src", "dst", "ts"}, `error: --columns does not fit the first data line: "1710410400" is not an address`)
	f("a b c\nhello world again\n", []string{"ts", "src", "dst"}, "error: no ',', tab, ';' or '|' separated columns")
	f("a b c\n1 10.0.0.1 10.0.0.2\n", []string{"ts", "src", "dst"}, "csv")
	f("ts,src,dst\n", []string{"ts", "src", "dst"}, "csv") // header only
	f("1710410400,10.0.0.1,10.0.0.2\n", []string{"ts", "src_ip", "src"}, "error: --columns names src twice")
	f("hello world\nthis is text\n", nil, "error: no ',', tab, ';' or '|' separated columns")
	f("\nts,src,dst\n", nil, "error: first line is empty")
}

func TestCSVHeaderMapping(t *testing.T) {
	// f sniffs a header and checks the role=column list and the ignored columns.
	f := func(header, mapped, ignored string) {
		t.Helper()
		lf, err := sniffCSV([]byte(header+"\n"), "x.csv", &Options{})
		if err != nil {
			t.Fatalf("%q: %v", header, err)
		}
		cf := lf.(*csvFormat)
		if got := strings.Join(cf.Mapped(), " "); got != mapped {
			t.Errorf("%q: mapped\n got %s\nwant %s", header, got, mapped)
		}
		if got := strings.Join(cf.Ignored(), ","); got != ignored {
			t.Errorf("%q: ignored %q, want %q", header, got, ignored)
		}
	}
	f("timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload",
		"ts=timestamp src=src_ip dst=dst_ip sport=src_port dport=dst_port proto=protocol bytes_out=payload", "")
	f(",Date first seen,Src IP Addr,Dst IP Addr,Proto,Bytes,Label",
		"ts=Date first seen src=Src IP Addr dst=Dst IP Addr proto=Proto bytes_out=Bytes", "(column 1),Label")
	f("@timestamp,source.ip,destination.ip,destination.port,network.transport,source.bytes,destination.bytes,event.duration",
		"ts=@timestamp src=source.ip dst=destination.ip dport=destination.port proto=network.transport bytes_out=source.bytes bytes_in=destination.bytes duration_ns=event.duration", "") // Elastic ECS
	f("SrcAddr,DstAddr,TotBytes,SrcBytes,TotPkts", "src=SrcAddr dst=DstAddr total_bytes=TotBytes bytes_out=SrcBytes total_packets=TotPkts", "")
	f("src,dst,ts,time,date", "src=src dst=dst ts=ts", "time,date")
	f("src,dst,bytes,bytes_out,bytes_in", "src=src dst=dst total_bytes=bytes bytes_out=bytes_out bytes_in=bytes_in", "")
	f("src,dst,duration,duration_ms,dport,port", "src=src dst=dst duration=duration dport=dport", "duration_ms,port")
	f("date,time,SRC,DST", "ts=date src=SRC dst=DST ts+=time", "")
}

// Real binetflow files from the shared data set, when present.
func TestCSVSharedBinetflow(t *testing.T) {
	f := func(path string, records, skipped int64, format string) {
		t.Helper()
		if _, err := os.Stat(path); err != nil {
			t.Skipf("no %s", path)
		}
		_, fs, err := readFiles(t, []string{path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if fs.Records != records || fs.Skipped != skipped || fs.Format != format {
			t.Errorf("%s: format %s records %d skipped %d (%s), want %s %d %d",
				path, fs.Format, fs.Records, fs.Skipped, fs.SkipSummary(), format, records, skipped)
		}
	}
	const dir = "/work/shared/data/slips/"
	f(dir+"test3.binetflow", 89, 0, "csv")
	f(dir+"test4.binetflow", 392, 2, "csv") // 2 ARP records: "not an IP flow"
	f(dir+"test11.binetflow", 66, 0, "csv")
	f(dir+"test5.binetflow", 296, 4, "tsv") // Argus "man" status, LLC and ARP records
	f(dir+"test2.binetflow.gz", 6751, 0, "csv")
}

// Parsing a data line allocates nothing for IPv4 flows.
func TestCSVNoAllocs(t *testing.T) {
	lf, err := sniffCSV([]byte(csvBenchHeader), "x.csv", &Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := lf.Parser()
	var sc Scratch
	var r flow.Record
	line := []byte("2021-08-18 10:02:11.123456,120.18.2.84,80.155.115.153,53000,443,TCP,1024")
	if n := testing.AllocsPerRun(100, func() {
		r.Reset()
		if err := p.Parse(&sc, line, &r); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocs per line", n)
	}
}

const csvBenchHeader = "timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload\n"

// csvBenchLines makes n lines in seed 003's layout.
func csvBenchLines(n int) [][]byte {
	lines := make([][]byte, n)
	protos := []string{"TCP", "UDP", "6"}
	for i := range lines {
		ts := fmt.Sprintf("2021-08-18 %02d:%02d:%02d", i/3600%24, i/60%60, i%60)
		if i%2 == 1 {
			ts += fmt.Sprintf(".%06d", i*7919%1000000)
		}
		lines[i] = fmt.Appendf(nil, "%s,120.18.%d.%d,%d.%d.%d.%d,%d,%d,%s,%d", ts, i%256, i*7%256,
			i*13%223+1, i*17%256, i*19%256, i*23%256, 1024+i*31%60000, []int{443, 80, 53, 3333}[i%4],
			protos[i%3], i*97%100000)
	}
	return lines
}

func BenchmarkCSV(b *testing.B) {
	lf, err := sniffCSV([]byte(csvBenchHeader), "x.csv", &Options{})
	if err != nil {
		b.Fatal(err)
	}
	p := lf.Parser()
	benchParse(b, p, csvBenchLines(1024))
}

// BenchmarkCSVRun measures the whole pipeline (split, workers, stats) over a 100k-line file.
func BenchmarkCSVRun(b *testing.B) { benchCSVRun(b, Options{}) }

// benchCSVRun runs the whole pipeline over a 100k-line seed-003 CSV with opts.
func benchCSVRun(b *testing.B, opts Options) {
	b.Helper()
	var buf bytes.Buffer
	buf.WriteString(csvBenchHeader)
	for _, l := range csvBenchLines(100_000) {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	path := b.TempDir() + "/flows.csv"
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(b.Context(), []string{path}, opts, func() Sink { return &DiscardSink{} }); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte(csvBenchHeader + "2021-08-18 10:02:11,120.18.201.129,80.155.115.153,51234,443,TCP,1024\n"))
	f.Add([]byte("\"a\";\"src\";\"dst\"\n\"x\"\"y\";\"10.0.0.1\";\"::1\"\n"))
	columns := []string{"ts", "src", "dst", "sport", "dport", "proto", "bytes", "bytes_in", "duration", "end", "action", "ua"}
	all := make([]csvRole, 0, csvNumRoles)
	for r := csvTS; r < csvNumRoles; r++ {
		all = append(all, r)
	}
	fixed := []*csvParser{}
	for _, sep := range []byte{',', '\t', ';'} {
		p, _, err := newCSVParser(sep, all, time.UTC)
		if err != nil {
			f.Fatal(err)
		}
		fixed = append(fixed, p)
	}
	check := func(t *testing.T, p lineParser, line []byte) {
		var sc Scratch
		var r flow.Record
		if err := p.Parse(&sc, line, &r); err == nil {
			if !r.Src.IsValid() || !r.Dst.IsValid() || r.Src.Zone() != "" || r.Dst.Zone() != "" {
				t.Fatalf("%q: invalid addresses %v %v", line, r.Src, r.Dst)
			}
			if r.Duration < 0 {
				t.Fatalf("%q: negative duration %d", line, r.Duration)
			}
		} else if _, ok := err.(*FieldError); !ok {
			t.Fatalf("%q: error %T %v", line, err, err)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []*Options{{}, {Columns: columns}} {
			lf, err := sniffCSV(data, "fuzz.csv", opts)
			if lf == nil {
				continue
			}
			if err != nil {
				t.Fatalf("format and error: %v", err)
			}
			p := lf.Parser()
			for i, line := range bytes.Split(data, []byte{'\n'}) {
				line = bytes.TrimSuffix(line, []byte{'\r'})
				if i == 0 {
					if consumed, _ := lf.Control(line, 1); consumed {
						continue
					}
				}
				check(t, p, line)
			}
		}
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			for _, p := range fixed {
				check(t, p, line)
			}
			csvCompareSplit(t, line)
		}
	})
}

// csvCompareSplit checks the quoted splitter against encoding/csv on every line that the latter
// reads as one strict RFC 4180 record.
func csvCompareSplit(t *testing.T, line []byte) {
	if bytes.IndexByte(line, '\r') >= 0 || len(line) == 0 {
		return
	}
	r := csv.NewReader(bytes.NewReader(line))
	r.FieldsPerRecord = -1
	want, err := r.Read()
	if err != nil {
		return
	}
	if _, err := r.Read(); err == nil {
		return // more than one record (a quoted field held a newline)
	}
	var sc Scratch
	got := csvSplitQuoted(&sc, line, ',')
	if len(got) != len(want) {
		t.Fatalf("%q: split %q, encoding/csv %q", line, got, want)
	}
	for i := range want {
		if string(got[i]) != want[i] {
			t.Fatalf("%q: split %q, encoding/csv %q", line, got, want)
		}
	}
}
