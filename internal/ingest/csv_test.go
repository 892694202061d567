package ingest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
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
	// Argus / Stratosphere binetflow: a total beside the src counters; Argus 3.0's hex ICMP
	// type/code word (type 3, code 3) and echo identifier (TestCSVBinetflow has the details).
	content := "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,SrcPkts,Label\n" +
		"2018/12/18 14:00:00.527012,0.699716,tcp,216.73.23.146,52798,   ->,147.32.81.58,445,S_RA,0,0,2,134,70,1,\n" +
		"2019/04/04 16:23:02.001000,0.000000,icmp,10.8.0.69,0x0303,  ->,10.8.0.1,0xfe25,URP,0,,1,590,590,1,\n"
	recs, _ := csvRead(t, "test3.binetflow", content, Options{})
	csvCheckRecords(t, recs, []flow.Record{
		{Time: csvNs(2018, 12, 18, 14, 0, 0, 527012000), Duration: 699716000, Src: csvAddr("216.73.23.146"),
			Dst: csvAddr("147.32.81.58"), SrcPort: 52798, DstPort: 445, Proto: flow.ProtoTCP,
			BytesOut: 70, BytesIn: 64, PktsOut: 1, PktsIn: 1},
		{Time: csvNs(2019, 4, 4, 16, 23, 2, 1e6), Src: csvAddr("10.8.0.69"), Dst: csvAddr("10.8.0.1"),
			SrcPort: 3, DstPort: 3, Proto: flow.ProtoICMP, BytesOut: 590, PktsOut: 1},
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

// csvSharedData returns a file of the real samples beside the repository (see their README), or
// skips the test when they are absent.
func csvSharedData(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real samples not available (%s): %v", p, err)
	}
	return p
}

// csvTally sums what a run produced, to pin against counts made independently.
type csvTally struct {
	records, reversed                  int
	bytesOut, bytesIn, pktsOut, pktsIn uint64
	durationNs                         int64
	icmp                               map[string]int // "proto type/code" → records
	udp                                int
}

func csvTallyOf(recs []flow.Record) csvTally {
	t := csvTally{icmp: map[string]int{}}
	for _, r := range recs {
		t.records++
		t.bytesOut += r.BytesOut
		t.bytesIn += r.BytesIn
		t.pktsOut += r.PktsOut
		t.pktsIn += r.PktsIn
		t.durationNs += r.Duration
		switch r.Proto {
		case flow.ProtoICMP, flow.ProtoICMPv6:
			t.icmp[fmt.Sprintf("%d %d/%d", r.Proto, r.SrcPort, r.DstPort)]++
		case flow.ProtoUDP:
			t.udp++
		}
	}
	return t
}

// Real binetflow files from the shared data set. The counts were made with a separate Python
// script (csv module) over the same files, applying the mapping in csv.go's comment: records,
// lines skipped as not IP (man, llc, arp), Σ SrcBytes, Σ (TotBytes − SrcBytes), Σ SrcPkts (or
// TotPkts without SrcPkts), Σ (TotPkts − SrcPkts), and the ICMP type/code pairs. None of these
// files has a left-pointing Dir.
func TestCSVSharedBinetflow(t *testing.T) {
	f := func(rel, format string, records int, skipped int64, bytesOut, bytesIn, pktsOut, pktsIn uint64, icmp map[string]int) {
		t.Helper()
		path := csvSharedData(t, "slips/"+rel)
		recs, fs, err := readFiles(t, []string{path}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if fs.Format != format || fs.Skipped != skipped || fs.Records != int64(records) {
			t.Errorf("%s: format %s records %d skipped %d (%s), want %s %d %d",
				rel, fs.Format, fs.Records, fs.Skipped, fs.SkipSummary(), format, records, skipped)
		}
		for _, sk := range fs.Skips {
			if sk.Reason != "not an IP flow" {
				t.Errorf("%s: skip %+v", rel, sk)
			}
		}
		got := csvTallyOf(recs)
		if got.records != records || got.bytesOut != bytesOut || got.bytesIn != bytesIn || got.pktsOut != pktsOut || got.pktsIn != pktsIn {
			t.Errorf("%s: tally %d records, bytes %d/%d, packets %d/%d; want %d, %d/%d, %d/%d",
				rel, got.records, got.bytesOut, got.bytesIn, got.pktsOut, got.pktsIn, records, bytesOut, bytesIn, pktsOut, pktsIn)
		}
		if !reflect.DeepEqual(got.icmp, icmp) {
			t.Errorf("%s: ICMP %v, want %v", rel, got.icmp, icmp)
		}
		if !slices.Contains(fs.Columns, "dir=Dir") || !slices.Contains(fs.UnusedColumns, "State") || !slices.Contains(fs.UnusedColumns, "Label") {
			t.Errorf("%s: columns %v, unused %v", rel, fs.Columns, fs.UnusedColumns)
		}
	}
	f("test2.binetflow.gz", "binetflow", 6751, 0, 26271460, 322434105, 206003, 285153,
		map[string]int{"1 3/3": 44, "1 3/4": 15, "1 8/0": 6}) // Argus 3.0 ICMP: 0x0303/0x…, 0x0403/0x0000, 0x0008/0x7208
	f("test3.binetflow", "binetflow", 89, 0, 22438, 17341, 112, 74,
		map[string]int{"1 8/0": 1, "58 50/48": 2, "58 63/60": 2, "58 97/115": 2})
	f("test4.binetflow", "binetflow", 392, 2, 59242, 374002, 1180, 0, // no SrcPkts: TotPkts in PktsOut; 2 ARP
		map[string]int{"1 3/3": 2}) // "0x03", "0x03": type and code in Sport and Dport
	f("test5.binetflow", "binetflow", 296, 4, 2670236, 154771, 28938, 701, // TSV; man, llc and 2 ARP
		map[string]int{"1 3/3": 1, "58 133/0": 1, "58 135/0": 1, "58 143/0": 1})
	f("test11.binetflow", "binetflow", 66, 0, 44364, 137540, 392, 320, map[string]int{"1 8/0": 46})
}

const (
	csvArgusHeader = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,SrcPkts,Label"
	csvCTUHeader   = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label" // CTU-13: no SrcPkts
)

// csvOneLine reads header and one data line; want is the record, or skip the reason the line is
// skipped for.
func csvOneLine(t *testing.T, name, header, line string, opts Options, want flow.Record, skip string) {
	t.Helper()
	recs, fs := csvRead(t, name, header+"\n"+line+"\n", opts)
	if skip != "" {
		if len(recs) != 0 || len(fs.Skips) != 1 || fs.Skips[0].Reason != skip {
			t.Errorf("%q: records %+v skips %+v, want one skip %q", line, recs, fs.Skips, skip)
		}
		return
	}
	if len(recs) != 1 {
		t.Fatalf("%q: %d records (%s)", line, len(recs), fs.SkipSummary())
	}
	if !reflect.DeepEqual(recs[0], want) {
		t.Errorf("%q:\n got %+v\nwant %+v", line, recs[0], want)
	}
}

func TestCSVBinetflow(t *testing.T) {
	a, b := csvAddr("10.0.0.1"), csvAddr("10.0.0.2")
	ts := csvNs(2018, 4, 3, 13, 36, 4, 384958000)
	f := func(header, line string, want flow.Record, skip string) {
		t.Helper()
		if want.Time == 0 && skip == "" {
			want.Time = ts
		}
		csvOneLine(t, "x.binetflow", header, line, Options{}, want, skip)
	}
	tcp := func(src, dst netip.Addr, sport, dport uint16, bOut, bIn, pOut, pIn uint64) flow.Record {
		return flow.Record{Duration: 1500e6, Src: src, Dst: dst, SrcPort: sport, DstPort: dport, Proto: flow.ProtoTCP,
			BytesOut: bOut, BytesIn: bIn, PktsOut: pOut, PktsIn: pIn}
	}
	const t0 = "2018/04/03 13:36:04.384958,1.500000,"
	// Dir: only a left-only arrow turns the record round.
	f(csvArgusHeader, t0+"tcp,10.0.0.1,51000,   ->,10.0.0.2,80,FSPA_FSPA,0,0,10,5000,1000,4,", tcp(a, b, 51000, 80, 1000, 4000, 4, 6), "")
	f(csvArgusHeader, t0+"tcp,10.0.0.1,80,   <-,10.0.0.2,51000,FSPA_FSPA,0,0,10,5000,4000,6,", tcp(b, a, 51000, 80, 1000, 4000, 4, 6), "")
	f(csvArgusHeader, t0+"tcp,10.0.0.1,80,   <?,10.0.0.2,51000,RA_,0,0,10,5000,4000,6,", tcp(b, a, 51000, 80, 1000, 4000, 4, 6), "")
	f(csvArgusHeader, t0+"tcp,10.0.0.1,80,  <|,10.0.0.2,51000,RA_,0,0,10,5000,4000,6,", tcp(b, a, 51000, 80, 1000, 4000, 4, 6), "") // reset
	f(csvArgusHeader, t0+"tcp,10.0.0.1,51000,  <?>,10.0.0.2,80,CON,0,0,10,5000,1000,4,", tcp(a, b, 51000, 80, 1000, 4000, 4, 6), "")
	f(csvArgusHeader, t0+"tcp,10.0.0.1,51000,  <->,10.0.0.2,80,CON,0,0,10,5000,1000,4,", tcp(a, b, 51000, 80, 1000, 4000, 4, 6), "")
	f(csvArgusHeader, t0+"tcp,10.0.0.1,51000,   ?>,10.0.0.2,80,INT,0,0,10,5000,1000,4,", tcp(a, b, 51000, 80, 1000, 4000, 4, 6), "")
	f(csvArgusHeader, t0+"tcp,10.0.0.1,51000, get_message  ->,10.0.0.2,80,S_,0,0,10,5000,1000,4,", tcp(a, b, 51000, 80, 1000, 4000, 4, 6), "") // test3's odd Dir
	f(csvArgusHeader, t0+"tcp,10.0.0.1,51000,,10.0.0.2,80,S_,0,0,10,5000,1000,4,", tcp(a, b, 51000, 80, 1000, 4000, 4, 6), "")                 // empty
	// CTU-13 layout: TotPkts alone is the total, in PktsOut, and stays there when turned round.
	f(csvCTUHeader, t0+"tcp,10.0.0.1,51000,   ->,10.0.0.2,80,S_RA,0,0,10,5000,1000,", tcp(a, b, 51000, 80, 1000, 4000, 10, 0), "")
	f(csvCTUHeader, t0+"tcp,10.0.0.1,80,   <-,10.0.0.2,51000,S_RA,0,0,10,5000,4000,", tcp(b, a, 51000, 80, 1000, 4000, 10, 0), "")
	// Totals only: both stay in the out counters, whichever way the record is turned.
	f("StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,TotPkts,TotBytes", t0+"tcp,10.0.0.1,80,   <-,10.0.0.2,51000,10,5000",
		tcp(b, a, 51000, 80, 5000, 0, 10, 0), "")
	// A source counter above the total is skipped, not clamped.
	f(csvArgusHeader, t0+"tcp,10.0.0.1,51000,   ->,10.0.0.2,80,CON,0,0,10,5000,5001,4,", flow.Record{}, "bytes out > total")
	f(csvArgusHeader, t0+"tcp,10.0.0.1,51000,   ->,10.0.0.2,80,CON,0,0,10,5000,5000,11,", flow.Record{}, "packets out > total")
	f(csvArgusHeader, t0+"tcp,10.0.0.1,51000,   ->,10.0.0.2,80,CON,0,0,10,5000,5000,10,", tcp(a, b, 51000, 80, 5000, 0, 10, 0), "") // equal is fine
	// ICMP: SrcPort = type, DstPort = code, from either Argus version.
	icmp := func(proto uint8, src, dst netip.Addr, typ, code uint16) flow.Record {
		return flow.Record{Src: src, Dst: dst, SrcPort: typ, DstPort: code, Proto: proto, BytesOut: 70, PktsOut: 1}
	}
	const t1 = "2018/04/03 13:36:04.384958,0.000000,"
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0x0303,   ->,10.0.0.2,0xfe25,URP,0,,1,70,70,1,", icmp(1, a, b, 3, 3), "")   // 3.0: word, quoted packet's id
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0x0403,   ->,10.0.0.2,0x0000,URF,0,,1,70,70,1,", icmp(1, a, b, 3, 4), "")   // 3.0: type 3 code 4
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0x0008,   ->,10.0.0.2,0x7208,ECO,0,,1,70,70,1,", icmp(1, a, b, 8, 0), "")   // 3.0: echo id
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0x0008,   ->,10.0.0.2,0x0005,ECO,0,,1,70,70,1,", icmp(1, a, b, 8, 0), "")   // 3.0: small echo id
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0x0000,   ->,10.0.0.2,0x0001,ECR,0,,1,70,70,1,", icmp(1, a, b, 0, 0), "")   // echo reply
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0x010b,   ->,10.0.0.2,0x1234,TXD,0,,1,70,70,1,", icmp(1, a, b, 11, 1), "")  // 3.0: type 11 code 1
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0x03,   ->,10.0.0.2,0x03,URP,0,,1,70,70,1,", icmp(1, a, b, 3, 3), "")       // 5.0: type, code
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0x0b,   ->,10.0.0.2,0x01,TXD,0,,1,70,70,1,", icmp(1, a, b, 11, 1), "")      // 5.0: time exceeded
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0x0303,   <-,10.0.0.2,0xfe25,URP,0,,1,70,0,0,", flow.Record{Src: b, Dst: a, // turned round, type/code kept
		SrcPort: 3, DstPort: 3, Proto: 1, BytesOut: 70, PktsOut: 1}, "")
	f(csvArgusHeader, t1+"ipv6-icmp,fe80::1,135,   ->,ff02::1:ffdd:53e7,0,NNS,0,,1,70,70,1,",
		icmp(flow.ProtoICMPv6, csvAddr("fe80::1"), csvAddr("ff02::1:ffdd:53e7"), 135, 0), "")
	f(csvArgusHeader, t1+"icmp,10.0.0.1,0xzz,   ->,10.0.0.2,0x03,URP,0,,1,70,70,1,", flow.Record{}, "bad src port")
	// Other protocols and records.
	f(csvArgusHeader, t1+"igmp,10.0.0.1,,   ->,224.0.0.22,,INT,0,,1,70,70,1,",
		flow.Record{Src: a, Dst: csvAddr("224.0.0.22"), Proto: 2, BytesOut: 70, PktsOut: 1}, "")
	f(csvArgusHeader, t1+"arp,10.0.0.1,,  who,10.0.0.2,,INT,,,1,60,60,1,", flow.Record{}, "not an IP flow")
	f(csvArgusHeader, t1+"man,0,0,,0,0,STA,,,0,0,0,0,", flow.Record{}, "not an IP flow")
	f(csvArgusHeader, t1+"udp,10.0.0.1,5353,   ->,10.0.0.2,53", flow.Record{}, "wrong field count")

	// Tab separated, and StartTime naive in --tz (CEST, +2).
	prague, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	tsv := strings.ReplaceAll(csvArgusHeader, ",", "\t")
	line := strings.ReplaceAll("2018/04/03 13:36:04.384958,63.822830,udp,10.0.2.15,68,  <->,10.0.2.2,67,CON,0,0,2,684,342,1,", ",", "\t")
	csvOneLine(t, "test5.binetflow", tsv, line, Options{Location: prague}, flow.Record{Time: csvNs(2018, 4, 3, 11, 36, 4, 384958000),
		Duration: 63822830000, Src: csvAddr("10.0.2.15"), Dst: csvAddr("10.0.2.2"), SrcPort: 68, DstPort: 67, Proto: flow.ProtoUDP,
		BytesOut: 342, BytesIn: 342, PktsOut: 1, PktsIn: 1}, "")
}

func TestCSVNfdump(t *testing.T) {
	const legacy = "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"
	const tail = ",0,0,2852,2852,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,147.32.82.62,0/58,1,1970-01-01 00:00:00.000"
	a, b := csvAddr("147.32.80.119"), csvAddr("147.32.82.62")
	ts := csvNs(2018, 1, 12, 15, 37, 30, 0)
	f := func(line string, want flow.Record, skip string) {
		t.Helper()
		if skip == "" {
			want.Time, want.Src, want.Dst = ts, a, b
		}
		csvOneLine(t, "test1.csv", legacy, line+tail, Options{}, want, skip)
	}
	const t0 = "2018-01-12 15:37:30,2018-01-12 15:37:32,1.675,147.32.80.119,147.32.82.62,"
	f(t0+"52324,902,TCP,......S.,0,0,1,60,0,0", flow.Record{Duration: 1675e6, SrcPort: 52324, DstPort: 902, Proto: flow.ProtoTCP, BytesOut: 60, PktsOut: 1}, "")
	f(t0+"52324,902,TCP,...AP.SF,0,0,12,1216,10,9000", flow.Record{Duration: 1675e6, SrcPort: 52324, DstPort: 902, Proto: flow.ProtoTCP, // biflow: opkt/obyt
		BytesOut: 1216, BytesIn: 9000, PktsOut: 12, PktsIn: 10}, "")
	f(t0+"53,53,137  ,......,0,0,1,60,0,0", flow.Record{Duration: 1675e6, SrcPort: 53, DstPort: 53, Proto: 137, BytesOut: 60, PktsOut: 1}, "") // "%-5i"
	// ICMP: dp is 256·type + code.
	f(t0+"0,2048,ICMP,........,0,0,1,84,0,0", flow.Record{Duration: 1675e6, SrcPort: 8, DstPort: 0, Proto: flow.ProtoICMP, BytesOut: 84, PktsOut: 1}, "")
	f(t0+"0,771,ICMP,........,0,0,1,84,0,0", flow.Record{Duration: 1675e6, SrcPort: 3, DstPort: 3, Proto: flow.ProtoICMP, BytesOut: 84, PktsOut: 1}, "")
	f(t0+"0,34560,ICMP6,........,0,0,1,84,0,0", flow.Record{Duration: 1675e6, SrcPort: 135, DstPort: 0, Proto: flow.ProtoICMPv6, BytesOut: 84, PktsOut: 1}, "")
	// fwd: RFC 7270 status in the top two bits.
	for _, c := range []struct {
		fwd    string
		action flow.Action
	}{{"64", flow.ActionPass}, {"66", flow.ActionPass}, {"128", flow.ActionBlock}, {"130", flow.ActionBlock}, {"192", flow.ActionUnknown}, {"0", flow.ActionUnknown}} {
		f(t0+"52324,902,TCP,......S.,"+c.fwd+",0,1,60,0,0", flow.Record{Duration: 1675e6, SrcPort: 52324, DstPort: 902, Proto: flow.ProtoTCP,
			BytesOut: 60, PktsOut: 1, Action: c.action}, "")
	}
	f(t0+"52324,902,TCP,......S.,256,0,1,60,0,0", flow.Record{}, "bad forwarding status")
	f("0000-00-00 00:00:00,2018-01-12 15:37:32,1.675,147.32.80.119,147.32.82.62,52324,902,TCP,......S.,0,0,1,60,0,0", flow.Record{}, "missing timestamp")

	// The summary block and blank lines are no records and no skips.
	content := legacy + "\n" + t0 + "52324,902,TCP,......S.,0,0,1,60,0,0" + tail + "\n\n" +
		"Summary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n1,60,1,286,0,60\n"
	recs, fs := csvRead(t, "test1.csv", content, Options{})
	if len(recs) != 1 || fs.Skipped != 0 || fs.Lines != 6 || fs.Format != "nfdump-csv" {
		t.Errorf("summary: %d records, %d skipped (%s), %d lines, format %s", len(recs), fs.Skipped, fs.SkipSummary(), fs.Lines, fs.Format)
	}
	// ... only in the nfdump dialect: elsewhere such lines are bad.
	_, fs = csvRead(t, "other.csv", "ts,src,dst,a,b,c,d\nSummary\nflows,bytes,packets,avg_bps,avg_pps,avg_bpp\n1,60,1,286,0,60\n", Options{})
	if fs.Skipped != 3 {
		t.Errorf("summary outside nfdump: %d skipped, want 3", fs.Skipped)
	}

	// nfdump 1.7.5+: camelCase names, numeric proto, ICMP as "type.code", times to the ms.
	const modern = "firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows"
	g := func(header, line string, want flow.Record, skip string) {
		t.Helper()
		csvOneLine(t, "new.csv", header, line, Options{}, want, skip)
	}
	c, d := csvAddr("10.0.0.1"), csvAddr("192.0.2.1")
	g(modern, "2024-03-14 10:00:00.250,1.500,6,10.0.0.1,51000,192.0.2.1,443,10,5000,1", flow.Record{Time: csvNs(2024, 3, 14, 10, 0, 0, 25e7),
		Duration: 15e8, Src: c, Dst: d, SrcPort: 51000, DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 5000, PktsOut: 10}, "")
	g(modern, "2024-03-14 10:00:00.250,0.000,1,10.0.0.1,0,192.0.2.1,8.0,1,84,1", flow.Record{Time: csvNs(2024, 3, 14, 10, 0, 0, 25e7),
		Src: c, Dst: d, SrcPort: 8, Proto: flow.ProtoICMP, BytesOut: 84, PktsOut: 1}, "")
	g(modern, "2024-03-14 10:00:00.250,0.000,58,2001:db8::1,0,2001:db8::2,1.4,1,84,1", flow.Record{Time: csvNs(2024, 3, 14, 10, 0, 0, 25e7),
		Src: csvAddr("2001:db8::1"), Dst: csvAddr("2001:db8::2"), SrcPort: 1, DstPort: 4, Proto: flow.ProtoICMPv6, BytesOut: 84, PktsOut: 1}, "")
	g(modern, "2024-03-14 10:00:00.250,0.000,1,10.0.0.1,0,192.0.2.1,3.256,1,84,1", flow.Record{}, "bad dst port")
	g(modern, "0000-00-00 00:00:00.000,0.000,6,10.0.0.1,1,192.0.2.1,2,1,84,1", flow.Record{}, "missing timestamp")
	g(modern, "2024-03-14 10:00:00.250,0.000,6,10.0.0.1,0,192.0.2.1,8.0,1,84,1", flow.Record{}, "bad dst port") // type.code, not ICMP
	// csv-fast: epoch milliseconds, duration from lastSeen, ICMP dst port 256·type + code.
	const fast = "cnt,af,firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,input,output,flags,srcTos,packets,bytes"
	g(fast, "1,2,1710410400250,1710410401750,6,10.0.0.1,51000,192.0.2.1,443,0,0,0,0,...AP.SF,0,10,5000", flow.Record{Time: csvNs(2024, 3, 14, 10, 0, 0, 25e7),
		Duration: 15e8, Src: c, Dst: d, SrcPort: 51000, DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 5000, PktsOut: 10}, "")
	g(fast, "2,2,1710410400250,1710410400250,1,10.0.0.1,0,192.0.2.1,771,0,0,0,0,........,0,1,84", flow.Record{Time: csvNs(2024, 3, 14, 10, 0, 0, 25e7),
		Src: c, Dst: d, SrcPort: 3, DstPort: 3, Proto: flow.ProtoICMP, BytesOut: 84, PktsOut: 1}, "")
}

func TestCSVDialects(t *testing.T) {
	f := func(header, name string) {
		t.Helper()
		lf, err := sniffCSV([]byte(header+"\n"), "x", &Options{})
		if err != nil || lf == nil {
			t.Fatalf("%q: %v", header, err)
		}
		if lf.Name() != name {
			t.Errorf("%q: %s, want %s", header, lf.Name(), name)
		}
	}
	f(csvArgusHeader, "binetflow")
	f(strings.ReplaceAll(csvArgusHeader, ",", "\t"), "binetflow")
	f(csvCTUHeader, "binetflow")
	f(`"StartTime","SrcAddr","DstAddr","TotBytes"`, "binetflow")
	f("SrcAddr,DstAddr,Sport,Dport", "binetflow")
	f("SrcAddr,DstAddr,bytes", "csv")                     // Argus's names, but none of its own columns
	f("starttime,srcaddr,dstaddr,dir,sport,dport", "csv") // not Argus's spelling
	f("ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt", "nfdump-csv")
	f("firstSeen,duration,proto,srcAddr,srcPort,dstAddr,dstPort,packets,bytes,flows", "nfdump-csv")
	f("cnt,af,firstSeen,lastSeen,proto,srcAddr,srcPort,dstAddr,dstPort,srcAS,dstAS,input,output,flags,srcTos,packets,bytes", "nfdump-csv")
	f("ts,te,td,sa,da", "csv")
	f("ts\tsrc\tdst", "tsv")
	// A Dir column is Argus's arrow only in the Argus dialect.
	lf, err := sniffCSV([]byte("ts,src,dst,dir\n"), "x", &Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m := lf.(*csvFormat).Mapped(); slices.Contains(m, "dir=dir") {
		t.Errorf("generic dir mapped: %v", m)
	}
}

// nfcapd binary files are named as such, with the command that converts them.
func TestCSVNfcapdHint(t *testing.T) {
	f := func(head []byte, want bool) {
		t.Helper()
		_, err := sniffCSV(head, "x", &Options{})
		if got := err == errNfcapd; got != want {
			t.Errorf("% x: err %v, want nfcapd %v", head[:min(len(head), 8)], err, want)
		}
	}
	f([]byte("\x0c\xa5\x01\x00\x00\x00\x00\x00\x02\x00\x00\x00none"), true) // nfdump 1.6, little-endian (test1.nfdump)
	f([]byte("\x0c\xa5\x02\x00\x00\x00\x00\x00"), true)                     // 1.7
	f([]byte("\xa5\x0c\x00\x02\x00\x00\x00\x00"), true)                     // big-endian host
	f([]byte("\x0c\xa5\x03\x00\x00\x00\x00\x00"), false)                    // unknown layout
	f([]byte("\x0c\xa5"), false)
	f([]byte("ts,src,dst\n"), false)

	_, _, err := readText(t, "flows.nfcapd", "\x0c\xa5\x02\x00\x00\x00\x00\x00binary\x00\x01\x02\n", Options{})
	want := "csv: nfcapd binary file: convert it with `nfdump -r FILE -o csv > FILE.csv`"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("run error %v, want it to contain %q", err, want)
	}
	if path := filepath.Join("..", "..", "..", "shared", "data", "slips", "test1.nfdump"); fileExists(path) {
		if _, _, err := readFiles(t, []string{path}, Options{}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("test1.nfdump: %v", err)
		}
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// The real nfcapd sample converted by nfdump at test time. The pins come from nfdump itself (its
// Summary line: 4593 flows, 241025 bytes, 4652 packets; "-o raw": the first flow starts at
// 2018-01-12 15:37:30.942 UTC) and from awk over the CSV (17 UDP flows, Σ td = 8.157 s).
func TestCSVNfdumpConvert(t *testing.T) {
	nfdump, err := exec.LookPath("nfdump")
	if err != nil {
		t.Skip("nfdump is not on PATH (Debian package nfdump): cannot convert test1.nfdump")
	}
	path := csvSharedData(t, "slips/test1.nfdump")
	convert := func(tz string) string {
		t.Helper()
		cmd := exec.Command(nfdump, "-r", path, "-o", "csv")
		cmd.Env = append(os.Environ(), "TZ="+tz) // nfdump prints local time
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("nfdump: %v", err)
		}
		p := filepath.Join(t.TempDir(), "test1.csv")
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	utc := convert("UTC")
	recs, fs, err := readFiles(t, []string{utc}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	head, _ := os.ReadFile(utc)
	legacy := bytes.HasPrefix(head, []byte("ts,te,td,")) // nfdump ≤ 1.7.4; 1.7.5 changed -o csv
	wantLines := int64(4594)                             // header and flows
	if legacy {
		wantLines += 3 // the summary block
	}
	if fs.Format != "nfdump-csv" || fs.Records != 4593 || fs.Skipped != 0 || fs.Lines != wantLines {
		t.Errorf("format %s records %d skipped %d (%s) lines %d; want nfdump-csv 4593 0 %d",
			fs.Format, fs.Records, fs.Skipped, fs.SkipSummary(), fs.Lines, wantLines)
	}
	// 241,025 bytes and 4,652 packets in all; 2,276 of the one-way records go from a service port
	// to a client port and are answers (orientReply): their 99,531 bytes and 2,311 packets are
	// received. Checked with a script over nfdump's CSV applying the same port rule.
	got := csvTallyOf(recs)
	if got.bytesOut != 141494 || got.pktsOut != 2341 || got.bytesIn != 99531 || got.pktsIn != 2311 || got.udp != 17 || got.durationNs != 8157e6 {
		t.Errorf("tally: bytes %d/%d packets %d/%d udp %d duration %d ns", got.bytesOut, got.bytesIn, got.pktsOut, got.pktsIn, got.udp, got.durationNs)
	}
	first := flow.Record{Time: csvNs(2018, 1, 12, 15, 37, 30, 942e6), Src: csvAddr("147.32.80.119"), Dst: csvAddr("147.32.82.62"),
		SrcPort: 52324, DstPort: 902, Proto: flow.ProtoTCP, BytesOut: 60, PktsOut: 1}
	if legacy {
		first.Time = csvNs(2018, 1, 12, 15, 37, 30, 0) // ts cut to the second
	}
	if len(recs) == 0 || !reflect.DeepEqual(recs[0], first) {
		t.Fatalf("first record %+v, want %+v", recs[:min(len(recs), 1)], first)
	}

	// Converted in Prague's time and read with --tz Europe/Prague: the same instants.
	prague, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		t.Fatal(err)
	}
	local, _, err := readFiles(t, []string{convert("Europe/Prague")}, Options{Location: prague})
	if err != nil {
		t.Fatal(err)
	}
	if len(local) != len(recs) {
		t.Fatalf("%d records in Prague time, %d in UTC", len(local), len(recs))
	}
	for i := range recs {
		if local[i].Time != recs[i].Time {
			t.Fatalf("record %d: %d in Prague time, %d in UTC", i, local[i].Time, recs[i].Time)
		}
	}
}

// Parsing a data line allocates nothing for IPv4 flows, in every dialect, nor does passing over
// nfdump's summary block.
func TestCSVNoAllocs(t *testing.T) {
	f := func(header string, lines [][]byte) {
		t.Helper()
		lf, err := sniffCSV([]byte(header), "x.csv", &Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := lf.Parser()
		var sc Scratch
		var r flow.Record
		for _, line := range lines {
			if n := testing.AllocsPerRun(100, func() {
				r.Reset()
				if err := p.Parse(&sc, line, &r); err != nil && err != errNoRecord {
					t.Fatal(err)
				}
			}); n != 0 {
				t.Errorf("%s: %v allocs per line", line, n)
			}
		}
	}
	f(csvBenchHeader, [][]byte{[]byte("2021-08-18 10:02:11.123456,120.18.2.84,80.155.115.153,53000,443,TCP,1024")})
	f(csvArgusHeader+"\n", csvArgusBenchLines(8))
	f(csvNfdumpBenchHeader, append(csvNfdumpBenchLines(3), []byte("Summary"), []byte("flows,bytes,packets,avg_bps,avg_pps,avg_bpp"),
		[]byte("4593,241025,4652,58357,140,51"), nil))
}

// csvArgusBenchLines makes n binetflow lines over IPv4 (flow.ParseAddr allocates for IPv6): TCP
// both ways round, UDP, and ICMP as Argus 3.0 and 5 write it.
func csvArgusBenchLines(n int) [][]byte {
	lines := make([][]byte, n)
	for i := range lines {
		ts := fmt.Sprintf("2019/04/04 16:%02d:%02d.%06d", i/60%60, i%60, i*7919%1000000)
		a, b := fmt.Sprintf("10.8.0.%d", i%250+1), fmt.Sprintf("%d.%d.%d.%d", i*13%223+1, i*17%256, i*19%256, i*23%256)
		var rest string
		switch i % 5 {
		case 0:
			rest = fmt.Sprintf("tcp,%s,%d,   ->,%s,443,SPA_SRPA,0,164,26,5723,1621,13,", a, 40000+i%20000, b)
		case 1:
			rest = fmt.Sprintf("udp,%s,%d,  <->,%s,53,CON,0,0,2,142,63,1,", a, 40000+i%20000, b)
		case 2:
			rest = fmt.Sprintf("tcp,%s,445,   <-,%s,%d,S_RA,0,0,4,268,140,2,", b, a, 40000+i%20000)
		case 3:
			rest = fmt.Sprintf("icmp,%s,0x0303,   ->,%s,0x%04x,URP,0,,1,590,590,1,", a, b, i%65536)
		default:
			rest = fmt.Sprintf("icmp,%s,0x0b,   ->,%s,0x00,TXD,0,,3,210,210,3,", a, b) // Argus 5
		}
		lines[i] = []byte(ts + ",0.027947," + rest)
	}
	return lines
}

const csvNfdumpBenchHeader = "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr\n"

// csvNfdumpBenchLines makes n lines of nfdump's legacy csv: TCP, UDP and ICMP.
func csvNfdumpBenchLines(n int) [][]byte {
	const tail = ",0,0,2852,2852,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,    0.000,    0.000,    0.000,147.32.82.62,0/58,1,1970-01-01 00:00:00.000"
	lines := make([][]byte, n)
	for i := range lines {
		ts := fmt.Sprintf("2018-01-12 15:%02d:%02d", i/60%60, i%60)
		a, b := fmt.Sprintf("147.32.80.%d", i%250+1), fmt.Sprintf("%d.%d.%d.%d", i*13%223+1, i*17%256, i*19%256, i*23%256)
		var mid string
		switch i % 3 {
		case 0:
			mid = fmt.Sprintf("%s,%s,%d,22,TCP,...AP.SF,0,0,12,1216,0,0", a, b, 40000+i%20000)
		case 1:
			mid = fmt.Sprintf("%s,%s,%d,53,UDP,........,0,0,1,73,1,140", a, b, 40000+i%20000)
		default:
			mid = fmt.Sprintf("%s,%s,0,2048,ICMP,........,64,0,1,84,0,0", a, b)
		}
		lines[i] = []byte(ts + "," + ts + ",1.675," + mid + tail)
	}
	return lines
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

func BenchmarkCSVBinetflow(b *testing.B) {
	lf, err := sniffCSV([]byte(csvArgusHeader+"\n"), "x.binetflow", &Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchParse(b, lf.Parser(), csvArgusBenchLines(1024))
}

func BenchmarkCSVNfdump(b *testing.B) {
	lf, err := sniffCSV([]byte(csvNfdumpBenchHeader), "x.csv", &Options{})
	if err != nil {
		b.Fatal(err)
	}
	benchParse(b, lf.Parser(), csvNfdumpBenchLines(1024))
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
	// Parsers with every role at a fixed position, in each dialect; the dialects' own layouts
	// come from the seed corpus headers through sniffCSV.
	fixed := []*csvParser{}
	for _, sep := range []byte{',', '\t', ';'} {
		for _, d := range []csvDialect{csvGeneric, csvArgus, csvNfdump} {
			p, _, err := newCSVParser(sep, all, time.UTC)
			if err != nil {
				f.Fatal(err)
			}
			p.dialect = d
			fixed = append(fixed, p)
		}
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
			icmp := r.Proto == flow.ProtoICMP || r.Proto == flow.ProtoICMPv6
			if cp, ok := p.(*csvParser); ok && cp.dialect != csvGeneric && icmp && (r.SrcPort > 0xff || r.DstPort > 0xff) {
				t.Fatalf("%q: ICMP type/code %d/%d", line, r.SrcPort, r.DstPort)
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
