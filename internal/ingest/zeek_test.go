package ingest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/klauspost/compress/gzip"
	"github.com/valyala/fastjson"
)

// Test fixtures write Zeek TSV with '|' for the tab, which no value in them contains.
func zeekTabs(s string) string { return strings.ReplaceAll(s, "|", "\t") }

const (
	zeekConnFields = "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|proto|service|duration|orig_bytes|resp_bytes|conn_state|local_orig|local_resp|missed_bytes|history|orig_pkts|orig_ip_bytes|resp_pkts|resp_ip_bytes|tunnel_parents"
	zeekDNSFields  = "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|proto|trans_id|rtt|query|qclass|qclass_name|qtype|qtype_name|rcode|rcode_name|AA|TC|RD|RA|Z|answers|TTLs|rejected"
	zeekSSLFields  = "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|version|cipher|curve|server_name|resumed|last_alert|next_protocol|established|ssl_history|cert_chain_fps|client_cert_chain_fps|sni_matches_cert|validation_status|ja3|ja3s"
	zeekHTTPFields = "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|trans_depth|method|host|uri|referrer|version|user_agent|origin|request_body_len|response_body_len|status_code|status_msg"

	// Real lines (rita/missing_host, sdft/003).
	zeekConnREJ = "1713484795.943239|CYl7H53iN6mY9NyXJ8|167.94.138.145|25320|64.225.56.201|6008|tcp|-|0.000064|0|0|REJ|F|T|0|Sr|1|60|1|40|-"
	zeekConnSF  = "1596790190.457917|CHAFYd3C3duCRyaoSc|10.8.0.61|39404|195.113.214.206|443|tcp|ssl|1.138356|1188|1633463|RSTR|-|-|0|ShADadttFr|661|37548|1230|1712796|-"
)

// zeekDoc writes a Zeek TSV log: the standard header (no #path line when path is ""), the data
// lines and #close. Lines 1-8 are the header when path is set, so data starts at line 9.
func zeekDoc(path, fields string, lines ...string) string {
	var b strings.Builder
	b.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n")
	if path != "" {
		b.WriteString("#path\t" + path + "\n")
	}
	b.WriteString("#open\t2024-04-19-00-00-01\n")
	b.WriteString(zeekTabs("#fields|"+fields) + "\n")
	b.WriteString("#types\ttime\tstring\n") // not checked
	for _, l := range lines {
		b.WriteString(zeekTabs(l) + "\n")
	}
	b.WriteString("#close\t2024-04-19-01-00-00\n")
	return b.String()
}

func zeekNs(sec, frac int64) int64 { return sec*1e9 + frac }

func zeekAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// zeekSameRecord compares records, treating nil and empty DNSAnswers alike.
func zeekSameRecord(t *testing.T, got, want flow.Record) {
	t.Helper()
	if len(got.DNSAnswers) == 0 {
		got.DNSAnswers = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record\n got %+v\nwant %+v", got, want)
	}
}

// zeekReadOne reads content and wants exactly one record and no skipped line.
func zeekReadOne(t *testing.T, name, content string) flow.Record {
	t.Helper()
	recs, st, err := readText(t, name, content, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || st.Skipped != 0 || st.Ignored != "" {
		t.Fatalf("got %d records, skips %v, ignored %q; want 1 record", len(recs), st.Skips, st.Ignored)
	}
	return recs[0]
}

func TestZeekTSVConn(t *testing.T) {
	f := func(line string, want flow.Record) {
		t.Helper()
		zeekSameRecord(t, zeekReadOne(t, "conn.log", zeekDoc("conn", zeekConnFields, line)), want)
	}
	// rejected scan probe (REJ): no reply payload, Action stays unknown
	f(zeekConnREJ, flow.Record{Time: zeekNs(1713484795, 943239000), Duration: 64000,
		Src: zeekAddr("167.94.138.145"), SrcPort: 25320, Dst: zeekAddr("64.225.56.201"), DstPort: 6008,
		Proto: flow.ProtoTCP, PktsOut: 1, PktsIn: 1})
	// long TLS download
	f(zeekConnSF, flow.Record{Time: zeekNs(1596790190, 457917000), Duration: 1_138_356_000,
		Src: zeekAddr("10.8.0.61"), SrcPort: 39404, Dst: zeekAddr("195.113.214.206"), DstPort: 443,
		Proto: flow.ProtoTCP, BytesOut: 1188, BytesIn: 1633463, PktsOut: 661, PktsIn: 1230})
	// payload bytes unset: IP bytes stand in; duration unset reads 0
	f("1596790164.509987|Cr01|10.8.0.61|35740|8.8.8.8|53|udp|dns|-|-|-|S0|-|-|0|D|1|76|0|0|-",
		flow.Record{Time: zeekNs(1596790164, 509987000), Src: zeekAddr("10.8.0.61"), SrcPort: 35740,
			Dst: zeekAddr("8.8.8.8"), DstPort: 53, Proto: flow.ProtoUDP, BytesOut: 76, PktsOut: 1})
	// Zeek says icmp for ICMPv6 too; ports are type and code
	f("1601998368.896819|C1|fe80::1|135|ff02::1:ff00:1|136|icmp|-|(empty)|0|0|OTH|-|-|0|-|1|72|0|0|-",
		flow.Record{Time: zeekNs(1601998368, 896819000), Src: zeekAddr("fe80::1"), SrcPort: 135,
			Dst: zeekAddr("ff02::1:ff00:1"), DstPort: 136, Proto: flow.ProtoICMPv6, PktsOut: 1})
	// unknown_transport: a flow without a known protocol
	f("12.5|C1|10.0.0.1|0|10.0.0.2|0|unknown_transport|-|-|-|-|OTH|-|-|0|-|3|180|0|0|-",
		flow.Record{Time: zeekNs(12, 500_000_000), Src: zeekAddr("10.0.0.1"), Dst: zeekAddr("10.0.0.2"),
			BytesOut: 180, PktsOut: 3})
	// ISO 8601 ts (a non-default time format) and a duration in exponent form
	f("2024-04-19T00:00:01.5Z|C1|10.0.0.1|1|10.0.0.2|2|tcp|-|1e-06|1|2|SF|-|-|0|-|3|4|5|6|-",
		flow.Record{Time: time.Date(2024, 4, 19, 0, 0, 1, 5e8, time.UTC).UnixNano(), Duration: 1000,
			Src: zeekAddr("10.0.0.1"), SrcPort: 1, Dst: zeekAddr("10.0.0.2"), DstPort: 2,
			Proto: flow.ProtoTCP, BytesOut: 1, BytesIn: 2, PktsOut: 3, PktsIn: 5})
}

func TestZeekTSVApplicationLogs(t *testing.T) {
	f := func(path, fields, line string, want flow.Record) {
		t.Helper()
		zeekSameRecord(t, zeekReadOne(t, path+".log", zeekDoc(path, fields, line)), want)
	}
	// dns: IP answers kept, CNAME dropped; the connection itself is in conn.log
	f("dns", zeekDNSFields, "1713485698.148858|CC|64.225.56.201|40517|67.207.67.2|53|udp|44868|0.001319|api.snapcraft.io|1|C_INTERNET|1|A|0|NOERROR|F|F|T|T|0|cdn.example.net,185.125.188.59,2620:2d:4000:1::1a|36.0,36.0,36.0|F",
		flow.Record{Time: zeekNs(1713485698, 148858000), Src: zeekAddr("64.225.56.201"), SrcPort: 40517,
			Dst: zeekAddr("67.207.67.2"), DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent,
			DNSQuery: "api.snapcraft.io", DNSType: 1,
			DNSAnswers: []netip.Addr{zeekAddr("185.125.188.59"), zeekAddr("2620:2d:4000:1::1a")}})
	// dns without answers (NXDOMAIN), PTR query
	f("dns", zeekDNSFields, "1713484800.441203|CK|64.225.56.201|43250|67.207.67.2|53|udp|48095|-|11.57.141.209.in-addr.arpa|1|C_INTERNET|12|PTR|3|NXDOMAIN|F|F|T|F|0|-|-|F",
		flow.Record{Time: zeekNs(1713484800, 441203000), Src: zeekAddr("64.225.56.201"), SrcPort: 43250,
			Dst: zeekAddr("67.207.67.2"), DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent,
			DNSQuery: "11.57.141.209.in-addr.arpa", DNSType: 12})
	// dns query with an escaped tab (Zeek writes the separator as \x09 inside values)
	f("dns", zeekDNSFields, `1.0|C|10.0.0.1|1|10.0.0.2|53|udp|1|-|a\x09b.example|1|C_INTERNET|16|TXT|0|NOERROR|F|F|T|T|0|TXT 5 hello|1.0|F`,
		flow.Record{Time: zeekNs(1, 0), Src: zeekAddr("10.0.0.1"), SrcPort: 1, Dst: zeekAddr("10.0.0.2"), DstPort: 53,
			Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: "a\tb.example", DNSType: 16})
	// ssl: SNI; no proto column (DTLS also lands in ssl.log), so Proto stays unknown
	f("ssl", zeekSSLFields, "1713486632.637266|CB|64.225.56.201|40902|104.19.174.68|443|-|-|-|repos-droplet.digitalocean.com|F|-|-|F|C|-|-|-|-|fb47|-",
		flow.Record{Time: zeekNs(1713486632, 637266000), Src: zeekAddr("64.225.56.201"), SrcPort: 40902,
			Dst: zeekAddr("104.19.174.68"), DstPort: 443, Kind: flow.KindEvent,
			TLSSNI: "repos-droplet.digitalocean.com"})
	// http: host and user agent (with spaces); always TCP
	f("http", zeekHTTPFields, "1713484832.774856|Cy|172.70.114.135|15696|64.225.56.201|80|1|GET|rewards.fomocoin.app|/|-|1.1|Mozilla/5.0 (X11; Linux x86_64; rv:63.0) Gecko/20100101 Firefox/63.0|-|0|612|200|OK",
		flow.Record{Time: zeekNs(1713484832, 774856000), Src: zeekAddr("172.70.114.135"), SrcPort: 15696,
			Dst: zeekAddr("64.225.56.201"), DstPort: 80, Proto: flow.ProtoTCP, Kind: flow.KindEvent,
			HTTPHost: "rewards.fomocoin.app", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:63.0) Gecko/20100101 Firefox/63.0"})
}

func TestZeekTSVMalformed(t *testing.T) {
	// The bad line sits between two good ones, at line 10 (8 header lines, then a good line).
	f := func(bad, reason string) {
		t.Helper()
		_, st, err := readText(t, "conn.log", zeekDoc("conn", zeekConnFields, zeekConnREJ, bad, zeekConnSF), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Records != 2 || st.Skipped != 1 || len(st.Skips) != 1 {
			t.Fatalf("%q: records %d, skips %+v; want 2 records, 1 skip", bad, st.Records, st.Skips)
		}
		if sk := st.Skips[0]; sk.Reason != reason || sk.FirstLine != 10 || sk.Count != 1 {
			t.Errorf("%q: skip %+v, want reason %q at line 10", bad, sk, reason)
		}
	}
	ok := strings.Split(zeekConnREJ, "|")
	with := func(col int, v string) string { // the good line with column col replaced
		c := append([]string(nil), ok...)
		c[col] = v
		return strings.Join(c, "|")
	}
	f(strings.Join(ok[:7], "|"), "wrong field count")          // truncated line
	f(zeekConnREJ+"|extra", "wrong field count")               // one field too many
	f(with(2, "167.94.138.300"), "bad src address")            // octet out of range
	f(with(2, "-"), "missing src address")                     // unset address
	f(with(4, "64.225.56"), "bad dst address")                 // three octets
	f(with(3, "65536"), "bad src port")                        // port out of range
	f(with(5, "http"), "bad dst port")                         // service name for a port
	f(with(0, "yesterday"), "bad timestamp")                   // not a time
	f(with(0, "-"), "missing timestamp")                       // unset ts
	f(with(0, "1713484795.9432.39"), "bad timestamp")          // two dots
	f(with(6, "xtp"), "bad protocol")                          // unknown transport name
	f(with(8, "1.2.3"), "bad duration")                        // not a number
	f(with(8, "-0.5"), "bad duration")                         // negative
	f(with(9, "-5"), "bad orig_bytes")                         // negative count
	f(with(10, "99999999999999999999"), "bad resp_bytes")      // overflow
	f(with(16, "x"), "bad orig_pkts")                          // not a count
	f("\x00\xff\xfe\x01garbage\x7f", "wrong field count")      // binary garbage
	f(strings.Repeat("\x00\xff|", 20)+"\x01", "bad timestamp") // garbage with the right field count
}

func TestZeekTSVHeaders(t *testing.T) {
	read := func(name, content string) ([]flow.Record, *FileStats) {
		t.Helper()
		recs, st, err := readText(t, name, content, Options{})
		if err != nil {
			t.Fatal(err)
		}
		return recs, st
	}

	t.Run("data before #fields", func(t *testing.T) {
		recs, st := read("conn.log", "#separator \\x09\n#path\tconn\n"+zeekTabs(zeekConnREJ)+"\n"+zeekTabs(zeekConnSF)+"\n")
		want := []Skip{{Reason: "missing #fields header", Count: 2, FirstLine: 3, Example: "missing #fields header"}}
		if len(recs) != 0 || !reflect.DeepEqual(st.Skips, want) {
			t.Errorf("records %d, skips %+v; want 0 records, %+v", len(recs), st.Skips, want)
		}
	})
	t.Run("header without ts or id columns", func(t *testing.T) {
		_, st := read("conn.log", zeekDoc("conn", "uid|id.orig_h|id.resp_h", "C1|10.0.0.1|10.0.0.2"))
		if len(st.Skips) != 1 || st.Skips[0].Reason != "missing ts in #fields" || st.Skips[0].FirstLine != 9 {
			t.Errorf("skips %+v", st.Skips)
		}
		_, st = read("conn.log", zeekDoc("conn", "ts|uid|id.orig_h", "1.0|C1|10.0.0.1"))
		if len(st.Skips) != 1 || st.Skips[0].Reason != "missing id.orig_h or id.resp_h in #fields" {
			t.Errorf("skips %+v", st.Skips)
		}
	})
	t.Run("cluster _node_name column", func(t *testing.T) {
		r := zeekReadOne(t, "conn.00:00:00-01:00:00.log", zeekDoc("conn", "_node_name|"+zeekConnFields, "worker-eth0-1|"+zeekConnREJ))
		if r.Src != zeekAddr("167.94.138.145") || r.DstPort != 6008 || r.Duration != 64000 {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("blank before #separator", func(t *testing.T) { // slips zeek-test10/conn.log starts with a tab
		r := zeekReadOne(t, "conn.log", "\t"+zeekDoc("conn", zeekConnFields, zeekConnSF))
		if r.BytesIn != 1633463 {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("custom markers and set separator", func(t *testing.T) {
		doc := "#separator \\x2c\n#set_separator,;\n#empty_field,EMPTY\n#unset_field,NONE\n#path,dns\n" +
			strings.ReplaceAll("#fields|ts|id.orig_h|id.orig_p|id.resp_h|id.resp_p|proto|query|qtype|answers\n"+
				"1.5|10.0.0.1|5353|10.0.0.2|53|udp|-|NONE|1.1.1.1;EMPTY;2.2.2.2\n", "|", ",")
		r := zeekReadOne(t, "x.log", doc)
		want := flow.Record{Time: zeekNs(1, 5e8), Src: zeekAddr("10.0.0.1"), SrcPort: 5353, Dst: zeekAddr("10.0.0.2"),
			DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: "-",
			DNSAnswers: []netip.Addr{zeekAddr("1.1.1.1"), zeekAddr("2.2.2.2")}}
		zeekSameRecord(t, r, want)
	})
	t.Run("concatenated conn and dns", func(t *testing.T) {
		doc := zeekDoc("conn", zeekConnFields, zeekConnREJ) + zeekDoc("dns", zeekDNSFields,
			"1.0|C|10.0.0.1|1|10.0.0.2|53|udp|1|-|example.com|1|C_INTERNET|1|A|0|NOERROR|F|F|T|T|0|93.184.216.34|1.0|F") +
			zeekDoc("weird", "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|name|addl|notice|peer",
				"1.0|C|10.0.0.1|1|10.0.0.2|2|bad_TCP_checksum|-|F|zeek")
		recs, st := read("all.log", doc)
		if len(recs) != 2 || st.Skipped != 0 || st.Format != "zeek-conn" || st.Ignored != "" {
			t.Fatalf("records %d, skips %+v, format %q, ignored %q", len(recs), st.Skips, st.Format, st.Ignored)
		}
		if recs[0].Kind != flow.KindFlow || recs[1].Kind != flow.KindEvent || recs[1].DNSQuery != "example.com" {
			t.Errorf("got %+v", recs)
		}
	})
	t.Run("no #path", func(t *testing.T) {
		f := func(name, fields, line, format string) {
			t.Helper()
			_, st := read(name, zeekDoc("", fields, line))
			if st.Format != format || st.Records != 1 || st.Skipped != 0 {
				t.Errorf("%s: format %q, records %d, skips %+v; want %s", name, st.Format, st.Records, st.Skips, format)
			}
		}
		f("x.log", zeekConnFields, zeekConnREJ, "zeek-conn") // conn_state, orig_bytes
		f("x.log", zeekDNSFields, "1.0|C|10.0.0.1|1|10.0.0.2|53|udp|1|-|a.b|1|C_INTERNET|1|A|0|NOERROR|F|F|T|T|0|-|-|F", "zeek-dns")
		f("x.log", zeekSSLFields, "1.0|C|10.0.0.1|1|10.0.0.2|443|-|-|-|a.b|F|-|-|F|C|-|-|-|-|-|-", "zeek-ssl")
		f("x.log", zeekHTTPFields, "1.0|C|10.0.0.1|1|10.0.0.2|80|1|GET|a.b|/|-|1.1|curl|-|0|0|200|OK", "zeek-http")
		f("http.log", "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|trans_depth", "1.0|C|10.0.0.1|1|10.0.0.2|80|1", "zeek-http") // name decides
	})
	t.Run("ignored logs", func(t *testing.T) {
		f := func(name, content, why string) {
			t.Helper()
			recs, st := read(name, content)
			if len(recs) != 0 || st.Skipped != 0 || st.Ignored != why {
				t.Errorf("%s: records %d, skips %+v, ignored %q; want ignored %q", name, len(recs), st.Skips, st.Ignored, why)
			}
		}
		weird := "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|name|addl|notice|peer"
		f("weird.log", zeekDoc("weird", weird, "1.0|C|10.0.0.1|1|10.0.0.2|2|bad_TCP_checksum|-|F|zeek"), "zeek weird log: no flows")
		f("weird.log", zeekDoc("", weird, "1.0|C|10.0.0.1|1|10.0.0.2|2|bad_TCP_checksum|-|F|zeek"), "zeek weird log: no flows")
		f("x.log", zeekDoc("", weird, "1.0|C|10.0.0.1|1|10.0.0.2|2|bad_TCP_checksum|-|F|zeek"),
			"zeek log of unknown type: its fields match none of conn, dns, ssl, http")
		f("conn.log", zeekDoc("open_conn", zeekConnFields, zeekConnREJ),
			"zeek open_conn log: connections still open at rotation, reported again in conn.log")
		f("open_conn.log", zeekDoc("conn", zeekConnFields, zeekConnREJ), // RITA's test data: #path conn
			"zeek open_conn log: connections still open at rotation, reported again in conn.log")
		f("open_ssl.17_37_07-18_00_00.log", zeekDoc("open_ssl", zeekSSLFields),
			"zeek open_ssl log: connections still open at rotation, reported again in ssl.log")
	})
}

func TestZeekSniff(t *testing.T) {
	f := func(name, head string, tsv, json bool) {
		t.Helper()
		opts := &Options{}
		gotTSV, err1 := sniffZeekTSV([]byte(head), name, opts)
		gotJSON, err2 := sniffZeekJSON([]byte(head), name, opts)
		if (gotTSV != nil) != tsv || (gotJSON != nil) != json || err1 != nil || err2 != nil {
			t.Errorf("%s: TSV %v (%v), JSON %v (%v); want %v, %v", name, gotTSV != nil, err1, gotJSON != nil, err2, tsv, json)
		}
	}
	f("conn.log", zeekDoc("conn", zeekConnFields, zeekConnREJ), true, false)
	f("conn-summary.00:00:00-01:00:00.log", ">== Total === 2024-04-19-00-00-07 - 2024-04-19-00-59-41\n   - Connections 1.9k - Payload 1.1m -\n", false, false)
	f("conn.log", `{"ts":1664462456.755299,"uid":"C5","id.orig_h":"172.16.1.11","id.orig_p":40042,"id.resp_h":"8.8.8.8","id.resp_p":53,"proto":"udp"}`+"\n", false, true)
	f("eve.json", `{"timestamp":"2024-04-19T00:00:01.000+0000","flow_id":1,"event_type":"flow","src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2","dest_port":2,"proto":"TCP"}`+"\n", false, false)
	f("eve.json", `{"ts":1.0,"event_type":"flow","id.orig_h":"10.0.0.1"}`+"\n", false, false) // Suricata-like keys win
	f("flows.csv", "ts,src,dst,dst_port\n1.0,10.0.0.1,10.0.0.2,53\n", false, false)
	f("arp.log", `{"ts":1665150785.996414,"operation":"request","orig_h":"192.168.1.15"}`+"\n", false, true)     // a Zeek log by name
	f("other.json", `{"ts":1665150785.996414,"operation":"request","orig_h":"192.168.1.15"}`+"\n", false, false) // not by content
	f("x.json", `{"name":"/usr/local/share/zeek/base/init-bare.zeek"}`+"\n", false, false)                       // loaded_scripts has no ts
	f("x.log", "{\"ts\":1.0,\"_path\":\"files\"}\n", false, true)
	f("x.log", "[1,2,3]\n", false, false)
	f("x.log", "\x00\x01\x02#separator", false, false)
}

func TestZeekJSON(t *testing.T) {
	f := func(name, line string, want flow.Record) {
		t.Helper()
		zeekSameRecord(t, zeekReadOne(t, name, line+"\n"), want)
	}
	// sdft/002: numeric ts keeps its microseconds exactly
	f("conn.log", `{"ts":1664462456.755299,"uid":"C5xhsO3uGtOfyrBlHh","id.orig_h":"172.16.1.11","id.orig_p":40042,"id.resp_h":"8.8.8.8","id.resp_p":53,"proto":"udp","service":"dns","duration":0.012166976928710938,"orig_bytes":0,"resp_bytes":111,"conn_state":"SHR","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"Cd","orig_pkts":0,"orig_ip_bytes":0,"resp_pkts":1,"resp_ip_bytes":139}`,
		flow.Record{Time: zeekNs(1664462456, 755299000), Duration: 12166977, // rounded to the nanosecond
			Src: zeekAddr("172.16.1.11"), SrcPort: 40042,
			Dst: zeekAddr("8.8.8.8"), DstPort: 53, Proto: flow.ProtoUDP, BytesIn: 111, PktsIn: 1})
	// ISO 8601 ts, unset orig_bytes/resp_bytes left out: IP bytes stand in; _path present
	f("conn.log", `{"_path":"conn","ts":"2024-04-19T00:00:01.250000Z","uid":"C1","id.orig_h":"2001:db8::1","id.orig_p":5353,"id.resp_h":"ff02::fb","id.resp_p":5353,"proto":"udp","conn_state":"S0","orig_pkts":2,"orig_ip_bytes":146,"resp_pkts":0,"resp_ip_bytes":0}`,
		flow.Record{Time: time.Date(2024, 4, 19, 0, 0, 1, 25e7, time.UTC).UnixNano(), Src: zeekAddr("2001:db8::1"), SrcPort: 5353,
			Dst: zeekAddr("ff02::fb"), DstPort: 5353, Proto: flow.ProtoUDP, BytesOut: 146, PktsOut: 2})
	// nested id, ports as strings, icmp over IPv6
	f("conn.log", `{"ts":1.5,"id":{"orig_h":"fe80::1","orig_p":"135","resp_h":"fe80::2","resp_p":"136"},"proto":"icmp","conn_state":"OTH","duration":null}`,
		flow.Record{Time: zeekNs(1, 5e8), Src: zeekAddr("fe80::1"), SrcPort: 135, Dst: zeekAddr("fe80::2"), DstPort: 136, Proto: flow.ProtoICMPv6})
	// dns with answers of several kinds (rita json_with_all_fields has only TXT answers)
	f("dns.log", `{"ts":1517336042.279652,"uid":"CV","id.orig_h":"192.168.88.2","id.orig_p":55638,"id.resp_h":"165.227.88.15","id.resp_p":53,"proto":"udp","trans_id":42937,"query":"www.example.com","qtype":1,"qtype_name":"A","answers":["example.cdn.net","93.184.216.34","TXT 18 302f017537c68f5169","2606:2800:220:1:248:1893:25c8:1946"],"TTLs":[60.0,60.0,60.0,60.0]}`,
		flow.Record{Time: zeekNs(1517336042, 279652000), Src: zeekAddr("192.168.88.2"), SrcPort: 55638, Dst: zeekAddr("165.227.88.15"),
			DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: "www.example.com", DNSType: 1,
			DNSAnswers: []netip.Addr{zeekAddr("93.184.216.34"), zeekAddr("2606:2800:220:1:248:1893:25c8:1946")}})
	f("ssl.log", `{"ts": 1517422336.04539, "uid": "C2", "id.orig_h": "10.55.100.111", "id.orig_p": 57488, "id.resp_h": "208.89.12.153", "id.resp_p": 443, "version": "TLSv12", "cipher": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "server_name": "lptag.liveperson.net", "_path": "ssl"}`,
		flow.Record{Time: zeekNs(1517422336, 45390000), Src: zeekAddr("10.55.100.111"), SrcPort: 57488, Dst: zeekAddr("208.89.12.153"),
			DstPort: 443, Kind: flow.KindEvent, TLSSNI: "lptag.liveperson.net"})
	f("http.log", `{"ts":29.868252,"uid":"CA","id.orig_h":"10.0.2.15","id.orig_p":49156,"id.resp_h":"147.32.80.7","id.resp_p":80,"trans_depth":1,"method":"GET","host":"112.255.161.10","uri":"/bin.sh","user_agent":"Wget/1.20 \"quoted\"","status_code":200}`,
		flow.Record{Time: zeekNs(29, 868252000), Src: zeekAddr("10.0.2.15"), SrcPort: 49156, Dst: zeekAddr("147.32.80.7"), DstPort: 80,
			Proto: flow.ProtoTCP, Kind: flow.KindEvent, HTTPHost: "112.255.161.10", UserAgent: `Wget/1.20 "quoted"`})
}

func TestZeekJSONMergedStream(t *testing.T) {
	lines := []string{
		`{"_path":"conn","ts":1.0,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","orig_bytes":10}`,
		`{"_path":"weird","ts":1.1,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"name":"dns_unmatched_reply"}`,
		`{"_path":"dns","ts":1.2,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","query":"a.example","answers":["10.1.1.1"]}`,
		`{"_path":"files","ts":1.3,"fuid":"F1"}`,
		`{"_path":"open_conn","ts":1.4,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":80,"proto":"tcp"}`,
	}
	recs, st, err := readText(t, "zeek.json", strings.Join(lines, "\n")+"\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || st.Skipped != 0 || st.Format != "zeek-json" {
		t.Fatalf("records %d, skips %+v, format %q; want 2 records as zeek-json", len(recs), st.Skips, st.Format)
	}
	if recs[0].Kind != flow.KindFlow || recs[0].BytesOut != 10 || recs[1].DNSQuery != "a.example" ||
		len(recs[1].DNSAnswers) != 1 || recs[1].DNSAnswers[0] != zeekAddr("10.1.1.1") {
		t.Errorf("got %+v", recs)
	}
}

func TestZeekJSONIgnored(t *testing.T) {
	f := func(name, content, why string) {
		t.Helper()
		recs, st, err := readText(t, name, content, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 0 || st.Skipped != 0 || st.Ignored != why {
			t.Errorf("%s: records %d, skips %+v, ignored %q; want ignored %q", name, len(recs), st.Skips, st.Ignored, why)
		}
	}
	weird := `{"ts":1.1,"uid":"C","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"name":"dns_unmatched_reply"}` + "\n"
	f("weird.log", weird, "zeek weird log: no flows")
	f("x.log", weird, "zeek log of unknown type: its fields match none of conn, dns, ssl, http")
	f("x.log", `{"_path":"weird","ts":1.1,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`+"\n", "zeek weird log: no flows")
	f("x509.log", `{"ts":95.039877,"id":"FKMTO94tQEsBTFbPgc","certificate.version":3}`+"\n", "zeek x509 log: no flows")
	// RITA's open_conn.log says "_path": "conn": the file name decides
	f("open_conn.log", `{"ts": 1517336042.090842, "uid": "Ci", "id.orig_h": "10.55.182.100", "id.orig_p": 14291, "id.resp_h": "10.233.233.5", "id.resp_p": 80, "proto": "tcp", "conn_state": "S0", "_path": "conn"}`+"\n",
		"zeek open_conn log: connections still open at rotation, reported again in conn.log")
}

func TestZeekJSONMalformed(t *testing.T) {
	const good = `{"ts":1.0,"id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2","id.resp_p":53,"proto":"udp","conn_state":"SF","orig_bytes":10}`
	// The bad line is line 2, between two good ones.
	f := func(bad, reason string) {
		t.Helper()
		_, st, err := readText(t, "conn.log", good+"\n"+bad+"\n"+good+"\n", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if st.Records != 2 || len(st.Skips) != 1 {
			t.Fatalf("%q: records %d, skips %+v; want 2 records, 1 skip", bad, st.Records, st.Skips)
		}
		if sk := st.Skips[0]; sk.Reason != reason || sk.FirstLine != 2 || sk.Count != 1 {
			t.Errorf("%q: skip %+v, want reason %q at line 2", bad, sk, reason)
		}
	}
	with := func(old, new string) string { return strings.Replace(good, old, new, 1) }
	f(good[:len(good)/2], "malformed JSON")                                    // truncated line
	f(`[1,2,3]`, "malformed JSON")                                             // not an object
	f("\x00\xff\xfe{garbage", "malformed JSON")                                // binary garbage
	f(with(`"ts":1.0`, `"ts":"yesterday"`), "bad timestamp")                   // not a time
	f(with(`"ts":1.0`, `"ts":-1.0`), "bad timestamp")                          // negative
	f(with(`"ts":1.0,`, ``), "missing timestamp")                              // no ts
	f(with(`"10.0.0.1"`, `"10.0.0.256"`), "bad src address")                   // octet out of range
	f(with(`"10.0.0.2"`, `null`), "missing dst address")                       // null address
	f(with(`"id.orig_p":1`, `"id.orig_p":70000`), "bad src port")              // out of range
	f(with(`"id.resp_p":53`, `"id.resp_p":"dns"`), "bad dst port")             // a name
	f(with(`"proto":"udp"`, `"proto":"xtp"`), "bad protocol")                  // unknown transport
	f(with(`"orig_bytes":10`, `"orig_bytes":-10`), "bad orig_bytes")           // negative count
	f(with(`"orig_bytes":10`, `"orig_bytes":1e3`), "bad orig_bytes")           // not an integer
	f(with(`"orig_bytes":10`, `"duration":"long"`), "bad duration")            // not a number
	f(with(`"conn_state":"SF"`, `"_path":"dns","qtype":"A"`), "bad dns qtype") // per-line _path switches the log
}

// TestZeekGzipTruncated reads a gzip cut in half: the lines before the cut are kept and the read
// error is reported once as "input truncated".
func TestZeekGzipTruncated(t *testing.T) {
	var lines []string
	for i := range 2000 {
		lines = append(lines, strings.Replace(zeekConnREJ, "|25320|", "|"+strconv.Itoa(10000+i)+"|", 1))
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression) // the cut then falls at a known place
	zw.Write([]byte(zeekDoc("conn", zeekConnFields, lines...)))
	zw.Close()
	half := buf.Bytes()[:buf.Len()/2]
	p := filepath.Join(t.TempDir(), "conn.log.gz")
	if err := os.WriteFile(p, half, 0o644); err != nil {
		t.Fatal(err)
	}
	recs, st, err := readFiles(t, []string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The stored-block gzip holds the text almost verbatim: count the whole lines before the cut.
	whole := int64(bytes.Count(half, []byte("\tREJ\t"))) - 1 // the last one may be cut
	if len(recs) < 900 || int64(len(recs)) < whole {
		t.Errorf("kept %d records, want at least the %d whole lines before the cut", len(recs), whole)
	}
	var truncated *Skip
	for i := range st.Skips {
		if st.Skips[i].Reason == "input truncated" {
			truncated = &st.Skips[i]
		}
	}
	if truncated == nil || truncated.Count != 1 {
		t.Errorf("skips %+v, want one \"input truncated\"", st.Skips)
	}
	for i, r := range recs {
		if r.SrcPort != uint16(10000+i) || r.Dst != zeekAddr("64.225.56.201") || r.PktsIn != 1 {
			t.Fatalf("record %d is %+v, want src port %d of the original line", i, r, 10000+i)
		}
	}
	t.Logf("kept %d records; skips %+v", len(recs), st.Skips)
}

// TestZeekGzipCutMidLine cuts a gzip inside the last field of a line, so the text left ends in
// "...|5|12" where the line said "...|5|123". The half line must not become a record.
func TestZeekGzipCutMidLine(t *testing.T) {
	var lines []string
	for i := range 100 {
		lines = append(lines, "1.0|C|10.0.0.1|"+strconv.Itoa(10000+i)+"|10.0.0.2|80|tcp|5|123")
	}
	text := []byte(zeekDoc("conn", "ts|uid|id.orig_h|id.orig_p|id.resp_h|id.resp_p|proto|orig_pkts|resp_pkts", lines...))
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.NoCompression) // stored blocks: the text is there verbatim
	zw.Write(text)
	zw.Close()
	target := []byte(zeekTabs("1.0|C|10.0.0.1|10050|10.0.0.2|80|tcp|5|12"))
	i := bytes.Index(buf.Bytes(), target)
	if i < 0 {
		t.Fatal("line not found in the stored gzip")
	}
	p := filepath.Join(t.TempDir(), "conn.log.gz")
	if err := os.WriteFile(p, buf.Bytes()[:i+len(target)], 0o644); err != nil {
		t.Fatal(err)
	}
	recs, st, err := readFiles(t, []string{p}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 50 {
		t.Errorf("kept %d records, want the 50 whole lines", len(recs))
	}
	if len(st.Skips) != 1 || st.Skips[0].Reason != "input truncated" || st.Skips[0].FirstLine != 59 {
		t.Errorf("skips %+v, want one \"input truncated\" at line 59 (8 header lines, 50 whole lines, then the cut one)", st.Skips)
	}
}

// Real samples from /work/shared/data (see its README); the tests skip when they are absent.

func zeekSharedData(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join("..", "..", "..", "shared", "data", rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real samples not available (%s): %v", p, err)
	}
	return p
}

// zeekTally totals what the readers produced, to pin against counts made with zcat, awk and
// Python over the same files.
type zeekTally struct {
	mu                                 sync.Mutex
	flows, events, icmp6, answers      int64
	bytesOut, bytesIn, pktsOut, pktsIn uint64
	durationNs, minTime, maxTime       int64
	timeSum                            uint64 // of flows' Time, wrapping: pins every timestamp
	queries                            map[string][]netip.Addr
}

func (z *zeekTally) Add(r *flow.Record) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if r.Kind == flow.KindEvent {
		z.events++
		z.answers += int64(len(r.DNSAnswers))
		if r.DNSQuery != "" && len(z.queries) < 10 {
			if z.queries == nil {
				z.queries = map[string][]netip.Addr{}
			}
			z.queries[r.DNSQuery] = slices.Clone(r.DNSAnswers)
		}
		return
	}
	z.flows++
	z.bytesOut += r.BytesOut
	z.bytesIn += r.BytesIn
	z.pktsOut += r.PktsOut
	z.pktsIn += r.PktsIn
	z.durationNs += r.Duration
	z.timeSum += uint64(r.Time)
	if r.Proto == flow.ProtoICMPv6 {
		z.icmp6++
	}
	if z.minTime == 0 || r.Time < z.minTime {
		z.minTime = r.Time
	}
	z.maxTime = max(z.maxTime, r.Time)
}

func runZeek(t *testing.T, paths ...string) (*Summary, *zeekTally) {
	t.Helper()
	tally := &zeekTally{}
	sum, err := Run(context.Background(), paths, Options{Workers: 2}, func() Sink { return tally })
	if err != nil {
		t.Fatal(err)
	}
	return sum, tally
}

// TestZeekRealDailyFolders reads RITA's missing_host: three daily folders of hourly rotated,
// gzipped TSV logs from a Zeek cluster (leading _node_name column), with every log Zeek writes.
// Counts: zcat */conn.*.gz | grep -vc '^#' per day (31367 + 39073 + 35478), likewise dns, http,
// ssl; sums with awk and Python (orig_bytes, or orig_ip_bytes when unset).
func TestZeekRealDailyFolders(t *testing.T) {
	dir := zeekSharedData(t, "rita/missing_host")
	sum, tally := runZeek(t, dir)

	formats := map[string]int{}
	records := map[string]int64{}
	ignored := map[string]int{}
	for _, f := range sum.Files {
		base := filepath.Base(f.Name)
		kind := base[:strings.IndexByte(base, '.')]
		switch {
		case f.Ignored == "":
			formats[f.Format]++
			records[f.Format] += f.Records
			if f.Skipped != 0 {
				t.Errorf("%s", f.SkipSummary())
			}
		case kind == "conn-summary":
			if strings.HasPrefix(f.Format, "zeek") { // not Zeek TSV: a text report
				t.Errorf("%s claimed as %s", f.Name, f.Format)
			}
		default:
			ignored[f.Ignored]++
		}
	}
	wantFormats := map[string]int{"zeek-conn": 72, "zeek-dns": 72, "zeek-http": 72, "zeek-ssl": 72}
	if !reflect.DeepEqual(formats, wantFormats) {
		t.Errorf("formats %v, want %v", formats, wantFormats)
	}
	wantRecords := map[string]int64{"zeek-conn": 105918, "zeek-dns": 5432, "zeek-http": 18829, "zeek-ssl": 139}
	if !reflect.DeepEqual(records, wantRecords) {
		t.Errorf("records %v, want %v", records, wantRecords)
	}
	for why, n := range map[string]int{
		"zeek weird log: no flows":        72,
		"zeek files log: no flows":        72,
		"zeek capture_loss log: no flows": 72,
		"zeek ssh log: no flows":          72,
		"zeek open_conn log: connections still open at rotation, reported again in conn.log": 72,
	} {
		if ignored[why] != n {
			t.Errorf("%d files ignored as %q, want %d (all: %v)", ignored[why], why, n, ignored)
		}
	}
	if sum.Skipped != 0 {
		t.Errorf("skipped %d lines: %v", sum.Skipped, sum.SkipsByReason())
	}

	z := tally
	if z.flows != 105918 || z.events != 5432+18829+139 {
		t.Errorf("flows %d, events %d", z.flows, z.events)
	}
	if z.bytesOut != 31395892 || z.bytesIn != 7253356994 || z.pktsOut != 409636 || z.pktsIn != 404393 {
		t.Errorf("bytes %d/%d, packets %d/%d", z.bytesOut, z.bytesIn, z.pktsOut, z.pktsIn)
	}
	if z.durationNs != 640988607762000 || z.minTime != 1713484784962686000 || z.maxTime != 1713743991045779000 || z.timeSum != 5288667685245566176 {
		t.Errorf("duration %d ns, time %d..%d, time sum %d", z.durationNs, z.minTime, z.maxTime, z.timeSum)
	}
	if z.icmp6 != 145 || z.answers != 1749 {
		t.Errorf("ICMPv6 flows %d (want 145), DNS answer addresses %d (want 1749)", z.icmp6, z.answers)
	}
}

// TestZeekRealConnDNS reads sdft/003: a plain conn.log (361 data lines) and dns.log (one query).
func TestZeekRealConnDNS(t *testing.T) {
	dir := zeekSharedData(t, "sdft/003")
	sum, z := runZeek(t, filepath.Join(dir, "conn.log"), filepath.Join(dir, "dns.log"))
	for i, want := range []struct {
		format  string
		records int64
	}{{"zeek-conn", 361}, {"zeek-dns", 1}} {
		if f := sum.Files[i]; f.Format != want.format || f.Records != want.records || f.Skipped != 0 {
			t.Errorf("%s: %s, %d records, %d skipped; want %s, %d", f.Name, f.Format, f.Records, f.Skipped, want.format, want.records)
		}
	}
	if z.bytesOut != 43415437 || z.bytesIn != 31519037 {
		t.Errorf("bytes %d/%d", z.bytesOut, z.bytesIn)
	}
	want := map[string][]netip.Addr{"infinitedata-pa.googleapis.com": {zeekAddr("172.217.23.202")}}
	if !reflect.DeepEqual(z.queries, want) {
		t.Errorf("DNS %v, want %v", z.queries, want)
	}
}

// TestZeekRealJSON reads JSON logs: RITA's json_with_all_fields (with "_path", dns without), a
// gzipped sdft/002 conn.log and slips' zeek-ps2 conn.log. Sums by Python's json module.
func TestZeekRealJSON(t *testing.T) {
	f := func(rel, format string, records int64, bytesOut, bytesIn, pktsOut, pktsIn, timeSum uint64) {
		t.Helper()
		sum, z := runZeek(t, zeekSharedData(t, rel))
		st := sum.Files[0]
		if st.Format != format || st.Records != records || st.Skipped != 0 || st.Ignored != "" {
			t.Errorf("%s: %s, %d records, skips %v, ignored %q; want %s, %d records", rel, st.Format, st.Records, st.Skips, st.Ignored, format, records)
		}
		if format == "zeek-conn-json" && (z.bytesOut != bytesOut || z.bytesIn != bytesIn || z.pktsOut != pktsOut || z.pktsIn != pktsIn || z.timeSum != timeSum) {
			t.Errorf("%s: bytes %d/%d, packets %d/%d, time sum %d", rel, z.bytesOut, z.bytesIn, z.pktsOut, z.pktsIn, z.timeSum)
		}
	}
	f("rita/json_with_all_fields/conn.log", "zeek-conn-json", 29, 35875, 265950, 406, 351, 7111757510743367768)
	f("rita/json_with_all_fields/dns.log", "zeek-dns-json", 34, 0, 0, 0, 0, 0)
	f("rita/json_with_all_fields/ssl.log", "zeek-ssl-json", 10, 0, 0, 0, 0, 0)
	f("rita/json_with_all_fields/http.log", "zeek-http-json", 10, 0, 0, 0, 0, 0)
	f("sdft/002/conn.log.gz", "zeek-conn-json", 4504, 116216, 14616, 4703, 1739, 7374667634682988904)
	f("slips/zeek-ps2/conn.log", "zeek-conn-json", 50, 909, 256662, 170, 273, 11254434585128237536)

	sum, _ := runZeek(t, zeekSharedData(t, "rita/json_with_all_fields/open_conn.log"))
	if st := sum.Files[0]; st.Records != 0 || st.Ignored != "zeek open_conn log: connections still open at rotation, reported again in conn.log" {
		t.Errorf("open_conn.log: %d records, ignored %q", st.Records, st.Ignored)
	}
}

// Realistic conn lines (rita/missing_host, sdft/003): scans, DNS, TLS, IPv6.
var zeekBenchConn = []string{
	"1713484795.943239|CYl7H53iN6mY9NyXJ8|167.94.138.145|25320|64.225.56.201|6008|tcp|-|0.000064|0|0|REJ|F|T|0|Sr|1|60|1|40|-",
	"1713484800.415117|CKIIJQfWoU8M05Fr2|64.225.56.201|43250|67.207.67.2|53|udp|dns|0.141910|99|217|SF|T|F|0|Dd|2|155|2|273|-",
	"1596790190.457917|CHAFYd3C3duCRyaoSc|10.8.0.61|39404|195.113.214.206|443|tcp|ssl|1.138356|1188|1633463|RSTR|-|-|0|ShADadttFr|661|37548|1230|1712796|-",
	"1596790183.031212|CjZbi34n4DciH8lAec|10.8.0.61|44297|157.240.23.25|443|tcp|-|0.257309|0|0|RSTO|-|-|0|ShR|2|100|1|60|-",
	"1713484802.146761|Cw7Tow26Y3DQgXcjn1|80.67.208.99|52598|64.225.56.201|445|tcp|-|-|-|-|S0|F|T|0|S|1|40|0|0|-",
	"1713485698.148858|CCvT3OOMmNhOAlHTa|64.225.56.201|40517|67.207.67.2|53|udp|dns|0.001319|34|98|SF|T|F|0|Dd|1|62|1|126|-",
	"1713486632.637266|CBdaKH1CSJLhCOz0Pg|64.225.56.201|40902|104.19.174.68|443|tcp|ssl|12.503391|1864|6021|SF|T|F|0|ShADadFf|14|2600|12|6653|-",
	"1713484828.574960|Cmb9QdpHl1kPM6ll6|162.142.125.252|24075|64.225.56.201|40367|tcp|-|2.005123|243|0|RSTO|F|T|0|ShADR|5|455|3|172|-",
}

func zeekBenchTSVParser(tb testing.TB) lineParser {
	doc := zeekDoc("conn", zeekConnFields)
	z, err := sniffZeekTSV([]byte(doc), "conn.log", &Options{})
	if z == nil || err != nil {
		tb.Fatal("not sniffed", err)
	}
	for i, l := range strings.Split(strings.TrimSuffix(doc, "\n"), "\n") {
		if _, err := z.Control([]byte(l), int64(i+1)); err != nil {
			tb.Fatal(err)
		}
	}
	return z.Parser()
}

func BenchmarkZeekConnTSV(b *testing.B) {
	p := zeekBenchTSVParser(b)
	lines := make([][]byte, len(zeekBenchConn))
	for i, l := range zeekBenchConn {
		lines[i] = []byte(zeekTabs(l))
	}
	benchParse(b, p, lines)
}

// zeekBenchConnJSON writes zeekBenchConn as Zeek's JSON writer does.
func zeekBenchConnJSON() [][]byte {
	lines := make([][]byte, len(zeekBenchConn))
	for i, l := range zeekBenchConn {
		c := strings.Split(l, "|")
		o := `{"ts":` + c[0] + `,"uid":"` + c[1] + `","id.orig_h":"` + c[2] + `","id.orig_p":` + c[3] +
			`,"id.resp_h":"` + c[4] + `","id.resp_p":` + c[5] + `,"proto":"` + c[6] + `"`
		if c[7] != "-" {
			o += `,"service":"` + c[7] + `"`
		}
		for j, k := range []string{8: "duration", 9: "orig_bytes", 10: "resp_bytes"} {
			if k != "" && c[j] != "-" {
				o += `,"` + k + `":` + c[j]
			}
		}
		o += `,"conn_state":"` + c[11] + `","local_orig":true,"local_resp":false,"missed_bytes":0,"history":"` + c[15] +
			`","orig_pkts":` + c[16] + `,"orig_ip_bytes":` + c[17] + `,"resp_pkts":` + c[18] + `,"resp_ip_bytes":` + c[19] + `}`
		lines[i] = []byte(o)
	}
	return lines
}

func BenchmarkZeekConnJSON(b *testing.B) {
	lines := zeekBenchConnJSON()
	z, _ := sniffZeekJSON(lines[0], "conn.log", &Options{})
	if z == nil || z.Name() != "zeek-conn-json" {
		b.Fatal("not sniffed as zeek-conn-json")
	}
	benchParse(b, z.Parser(), lines)
}

// BenchmarkZeekConnJSONRef times the reference parser (fastjson) on the same lines.
func BenchmarkZeekConnJSONRef(b *testing.B) {
	lines := zeekBenchConnJSON()
	benchParse(b, zeekJSONRefParser{&zeekJSONParser{log: zeekConn, loc: time.UTC}}, lines)
}

// zeekJSONRefParser parses with the reference path only.
type zeekJSONRefParser struct{ p *zeekJSONParser }

func (p zeekJSONRefParser) Parse(sc *Scratch, line []byte, r *flow.Record) error {
	return p.p.parseRef(sc, line, r)
}

// zeekFuzzFile drives a sniffed format over data as the splitter does (Control for the first
// line and for prefixed lines, Parser for the rest) and checks every record it yields.
func zeekFuzzFile(t *testing.T, sniff func([]byte, string, *Options) (lineFormat, error), data []byte, name string) {
	lf, err := sniff(data[:min(len(data), sniffSize)], name, &Options{})
	if lf == nil || err != nil {
		return
	}
	var (
		sc Scratch
		r  flow.Record
	)
	for i, line := range bytes.Split(data, []byte{'\n'}) {
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if i == 0 || lf.ControlPrefix() != 0 && len(line) > 0 && line[0] == lf.ControlPrefix() {
			consumed, err := lf.Control(line, int64(i+1))
			if _, stop := err.(*ignoreFile); stop {
				return
			}
			if consumed || err != nil {
				continue
			}
		}
		if len(line) > 0 {
			zeekFuzzParse(t, lf.Parser(), &sc, line, &r)
		}
	}
	if !strings.HasPrefix(lf.Name(), "zeek") {
		t.Errorf("format name %q", lf.Name())
	}
}

// zeekFuzzParse parses line and checks the record: valid addresses, non-negative duration, and
// the same result on a second parse (no state kept between lines).
func zeekFuzzParse(t *testing.T, p lineParser, sc *Scratch, line []byte, r *flow.Record) {
	r.Reset()
	err := p.Parse(sc, line, r)
	if err != nil {
		if _, ok := err.(*FieldError); !ok {
			t.Errorf("%q: error %T %v is not a *FieldError", line, err, err)
		}
		return
	}
	if !r.Src.IsValid() || !r.Dst.IsValid() || r.Duration < 0 {
		t.Errorf("%q: bad record %+v", line, r)
	}
	for _, a := range r.DNSAnswers {
		if !a.IsValid() {
			t.Errorf("%q: invalid DNS answer in %+v", line, r)
		}
	}
	first := *r
	first.DNSAnswers = nil
	if len(r.DNSAnswers) > 0 {
		first.DNSAnswers = slices.Clone(r.DNSAnswers)
	}
	r.Reset()
	if err := p.Parse(sc, line, r); err != nil {
		t.Fatalf("%q: second parse failed: %v", line, err)
	}
	zeekSameRecord(t, *r, first)
}

func FuzzZeekTSV(f *testing.F) {
	conn := zeekBenchTSVParser(f)
	dnsDoc := zeekDoc("dns", zeekDNSFields)
	dnsFormat, _ := sniffZeekTSV([]byte(dnsDoc), "dns.log", &Options{})
	for i, l := range strings.Split(strings.TrimSuffix(dnsDoc, "\n"), "\n") {
		dnsFormat.Control([]byte(l), int64(i+1))
	}
	dns := dnsFormat.Parser()
	f.Fuzz(func(t *testing.T, data []byte) {
		zeekFuzzFile(t, sniffZeekTSV, data, "conn.log")
		var (
			sc Scratch
			r  flow.Record
		)
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			zeekFuzzParse(t, conn, &sc, line, &r)
			zeekFuzzParse(t, dns, &sc, line, &r)
		}
	})
}

func FuzzZeekJSON(f *testing.F) {
	conn := &zeekJSONParser{log: zeekConn, loc: time.UTC}
	merged := &zeekJSONParser{loc: time.UTC} // lines choose their log by _path
	f.Fuzz(func(t *testing.T, data []byte) {
		zeekFuzzFile(t, sniffZeekJSON, data, "conn.log")
		zeekFuzzFile(t, sniffZeekJSON, data, "zeek.json")
		var (
			sc Scratch
			r  flow.Record
		)
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			zeekFuzzParse(t, conn, &sc, line, &r)
			zeekFuzzParse(t, merged, &sc, line, &r)
		}
	})
}

// zeekJSONDiffParsers are the parsers the differential tests run each line through: a merged
// stream's (lines name their log by _path) and each log type's.
func zeekJSONDiffParsers() []*zeekJSONParser {
	var ps []*zeekJSONParser
	for _, l := range []zeekLog{zeekNone, zeekConn, zeekDNS, zeekSSL, zeekHTTP} {
		ps = append(ps, &zeekJSONParser{log: l, loc: time.UTC})
	}
	return ps
}

// zeekJSONDiff parses line with Parse (the fast path, or the reference when the scanner gives
// up) and with the reference parseRef, and reports any difference in the record or the error.
// It returns whether the scanner took the line.
func zeekJSONDiff(t *testing.T, p *zeekJSONParser, line []byte) bool {
	t.Helper()
	var (
		sc1, sc2  Scratch
		got, want flow.Record
	)
	got.Reset()
	want.Reset()
	errGot := p.Parse(&sc1, line, &got)
	errWant := p.parseRef(&sc2, line, &want)
	if !zeekSameError(errGot, errWant) {
		t.Errorf("log %q, line %q:\n error %v\n  want %v", p.log, line, errGot, errWant)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("log %q, line %q:\nrecord %+v\n  want %+v", p.log, line, got, want)
	}
	var l zjLine
	return l.scan(line)
}

// zeekSameError: both nil, or the same reason and detail.
func zeekSameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	fa, okA := a.(*FieldError)
	fb, okB := b.(*FieldError)
	if okA != okB {
		return false
	}
	if okA && fa.Reason() != fb.Reason() {
		return false
	}
	return a.Error() == b.Error()
}

// zeekJSONEdgeLines are seeds for the differential fuzzing: the shapes the scanner hands to
// fastjson and those close to them that it reads itself.
var zeekJSONEdgeLines = []string{
	`{}`, ` { } `, "\t{\"ts\":1}\r", `{"ts":1}x`, `{"ts":1,}`, `{"ts":1 "a":2}`, `{"ts"}`, `{"ts":}`, `{"ts":1`,
	`{"_path":"conn","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"_path":5,"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"_path":null,"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"_path":"","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"_path":"c\u006fnn","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"\u0074s":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","uid":"C\"x\\","history":"a\\\"b"}`,
	`{"ts":1.0,"id":{"orig_h":"10.0.0.1","orig_p":1,"resp_h":"10.0.0.2","resp_p":"2","x":[{}]},"id.orig_p":3}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.9","id":{"orig_h":"10.0.0.1","resp_h":"10.0.0.2"}}`,
	`{"ts":1.0,"id":"FKMTO94tQEsBTFbPgc","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":1.0,"id":{"orig_h":["10.0.0.1"],"resp_h":"10.0.0.2"}}`,
	`{"ts":1.0,"id":{"orig_\u0068":"10.0.0.1","resp_h":"10.0.0.2"}}`,
	`{"ts":1.0,"id.orig_h":1.2,"id.resp_h":"10.0.0.2"}`,
	`{"ts":1.0,"id.orig_h":true,"id.resp_h":"10.0.0.2","proto":6}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","proto":"icmp","id.orig_p":false}`,
	`{"ts":1.0,"id.orig_h":"::1","id.resp_h":"10.0.0.2","proto":"ICMP","id.resp_p":"-","duration":"-"}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","proto":{"a":1}}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","orig_bytes":1.0,"resp_bytes":-0,"orig_pkts":01}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","orig_bytes":"12","resp_ip_bytes":7,"resp_bytes":null}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","oesp_bytes":1,"rrig_pkts":2,"orig_pkts_":3,"id.orig_x":4,"i":5,"t":6}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","resp_ip_bytes":7}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","orig_bytes":9223372036854775808,"orig_pkts":18446744073709551616}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","duration":1e-3,"orig_bytes":1E2}`,
	`{"ts":1.,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`, `{"ts":1e,"id.orig_h":"10.0.0.1"}`,
	`{"ts":1.5,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","x":2.}`, `{"ts":1.5,"x":2e+}`, `{"ts":1.5,"orig_bytes":-}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","duration":nan,"x":NaN,"y":-inf,"z":+1,"w":1.2.3}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","duration":0.012166976928710938,"x":-1.5e+300}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","duration":1e400,"x":[[[[[]]]]]}`,
	`{"ts":4294967295.999999,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":4294967296.000001,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":1000000000.000001,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":999999999.9999999,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":1664462456.7552990,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":1664462456755,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":-0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":0.000000,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":1.5e9,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":"1664462456.755299","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":"2024-04-19 00:00:01","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":[1],"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"ts":true,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`,
	`{"_path":"dns","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","query":"a.b","qtype":28,"answers":["::1", "10.1.1.1" ,"x",""]}`,
	`{"_path":"dns","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","query":"-","qtype":"1","answers":"10.1.1.1,::2,bad"}`,
	`{"_path":"dns","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","answers":["\u0031.1.1.1",1,null,["10.1.1.1"]]}`,
	`{"_path":"dns","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","answers":[],"qtype":70000}`,
	`{"_path":"dns","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","answers":{"a":"10.1.1.1"},"query":"\\x41"}`,
	`{"_path":"dns","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","answers":"","query":"a\\x41b"}`,
	`{"_path":"ssl","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","server_name":"x.example","proto":"udp"}`,
	`{"_path":"http","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","host":"h","user_agent":"a \"b\""}`,
	`{"_path":"http","ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","host":"h","user_agent":"é\u00e9"}`,
	`{"_path":"files","ts":1.0}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
	`{"ts":1.0,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","a":` + strings.Repeat("[", 301) + strings.Repeat("]", 301) + `}`,
	`[1,2,3]`, `"ts"`, `null`, "\x00\xff\xfe{garbage", `{"ts":1.0,"a":"\`, `{"ts":1.0,"a":"x\"}`,
	"{\"ts\":1.0,\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.2\",\"uid\":\"a\x00\x1f\xff\"}",
	"{\"ts\":1.0,\v\"id.orig_h\":\"10.0.0.1\",\"id.resp_h\":\"10.0.0.2\"}",
}

// zeekJSONFuzzSeeds are the lines of FuzzZeekJSON's corpus, the benchmark lines, the edge lines
// above and, when present, the first lines of the real JSON samples.
func zeekJSONFuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzZeekJSON", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if lit, ok := strings.CutPrefix(l, "[]byte("); ok {
				s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
				if err != nil {
					tb.Fatalf("%s: %v", f, err)
				}
				for _, line := range strings.Split(s, "\n") {
					seeds = append(seeds, []byte(line))
				}
			}
		}
	}
	seeds = append(seeds, zeekBenchConnJSON()...)
	for _, l := range zeekJSONEdgeLines {
		seeds = append(seeds, []byte(l))
	}
	for _, rel := range zeekJSONRealFiles {
		lines, _ := zeekJSONRealLines(filepath.Join("..", "..", "..", "shared", "data", rel))
		seeds = append(seeds, lines[:min(len(lines), 8)]...)
	}
	return seeds
}

// zeekJSONRealFiles are the real JSON samples under /work/shared/data.
var zeekJSONRealFiles = []string{
	"rita/json_with_all_fields/conn.log", "rita/json_with_all_fields/dns.log",
	"rita/json_with_all_fields/ORIGINALdns.log", "rita/json_with_all_fields/ssl.log",
	"rita/json_with_all_fields/http.log", "rita/json_with_all_fields/open_conn.log",
	"rita/json_with_all_fields/open_http.log", "rita/json_with_all_fields/open_ssl.log",
	"sdft/002/conn.log.gz", "slips/zeek-ps2/conn.log",
}

// zeekJSONRealLines reads a sample's lines (gunzipped), nil when it is absent.
func zeekJSONRealLines(path string) ([][]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(zr); err != nil {
			return nil, err
		}
		b = buf.Bytes()
	}
	var lines [][]byte
	for _, l := range bytes.Split(b, []byte{'\n'}) {
		if l = bytes.TrimSuffix(l, []byte{'\r'}); len(l) > 0 {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// zeekJSONFuzzBases are lines of each log whose members zeekJSONFuzzTemplates replaces, one at a
// time, by a hole for the fuzzed text.
var zeekJSONFuzzBases = [][][2]string{
	{{"ts", "1664462456.755299"}, {"uid", `"C5xhsO3uGtOfyrBlHh"`}, {"id.orig_h", `"172.16.1.11"`}, {"id.orig_p", "40042"},
		{"id.resp_h", `"8.8.8.8"`}, {"id.resp_p", "53"}, {"proto", `"udp"`}, {"service", `"dns"`}, {"duration", "0.012166976928710938"},
		{"orig_bytes", "0"}, {"resp_bytes", "111"}, {"conn_state", `"SHR"`}, {"local_orig", "true"}, {"local_resp", "false"},
		{"missed_bytes", "0"}, {"orig_pkts", "0"}, {"orig_ip_bytes", "0"}, {"resp_pkts", "1"}, {"resp_ip_bytes", "139"},
		{"tunnel_parents", "[]"}},
	{{"_path", `"dns"`}, {"ts", "1517336042.279652"}, {"id.orig_h", `"192.168.88.2"`}, {"id.orig_p", "55638"},
		{"id.resp_h", `"165.227.88.15"`}, {"id.resp_p", "53"}, {"proto", `"udp"`}, {"query", `"www.example.com"`},
		{"qtype", "1"}, {"answers", `["example.cdn.net","93.184.216.34","2606:2800:220:1:248:1893:25c8:1946"]`},
		{"TTLs", "[60.0,60.0,60.0]"}, {"rejected", "false"}},
	{{"_path", `"ssl"`}, {"ts", "95.036038"}, {"id.orig_h", `"10.0.2.15"`}, {"id.orig_p", "49194"}, {"id.resp_h", `"204.79.197.200"`},
		{"id.resp_p", "443"}, {"server_name", `"ieonline.microsoft.com"`}, {"cert_chain_fps", `["a","b"]`}},
	{{"_path", `"http"`}, {"ts", "29.868252"}, {"id.orig_h", `"10.0.2.15"`}, {"id.orig_p", "49156"}, {"id.resp_h", `"147.32.80.7"`},
		{"id.resp_p", "80"}, {"method", `"GET"`}, {"host", `"112.255.161.10"`}, {"user_agent", `"Wget/1.20"`}, {"status_code", "200"}},
	{{"ts", "1.5"}, {"id", `{"orig_h":"fe80::1","orig_p":"135","resp_h":"fe80::2","resp_p":"136"}`}, {"proto", `"icmp"`},
		{"conn_state", `"OTH"`}, {"duration", "null"}},
}

// zeekJSONFuzzTemplate is a base line with a hole: prefix + text + suffix; orig is the text the
// base has there.
type zeekJSONFuzzTemplate struct{ prefix, suffix, orig string }

// zeekJSONFuzzTemplates are the bases with a hole for a member's value, for a key, for a member,
// and for the values of the nested "id", so that fuzzed text lands where the scanner reads
// rather than in a line it leaves to fastjson at once.
var zeekJSONFuzzTemplates = func() []zeekJSONFuzzTemplate {
	var ts []zeekJSONFuzzTemplate
	const hole = "\x00"
	add := func(m [][2]string, orig string) {
		var b strings.Builder
		b.WriteByte('{')
		for i, kv := range m {
			if i > 0 {
				b.WriteByte(',')
			}
			if kv[0] == hole {
				b.WriteString(kv[1])
			} else {
				b.WriteString(`"` + kv[0] + `":` + kv[1])
			}
		}
		b.WriteByte('}')
		prefix, suffix, _ := strings.Cut(b.String(), hole)
		ts = append(ts, zeekJSONFuzzTemplate{prefix, suffix, orig})
	}
	for _, base := range zeekJSONFuzzBases {
		for i, kv := range base {
			m := slices.Clone(base)
			m[i][1] = hole // the value
			add(m, kv[1])
			if kv[0] == "id" {
				for _, k := range []string{"orig_h", "orig_p", "resp_h", "resp_p"} {
					before, after, _ := strings.Cut(kv[1], `"`+k+`":`)
					orig, _, _ := strings.Cut(after, ",")
					orig = strings.TrimSuffix(orig, "}")
					m[i][1] = before + `"` + k + `":` + hole + after[len(orig):]
					add(m, orig)
				}
			}
		}
		m := slices.Clone(base)
		m[1] = [2]string{hole, hole + ":" + base[1][1]} // a key
		add(m, `"`+base[1][0]+`"`)
		m[1] = [2]string{hole, hole} // a member, or several
		add(m, `"`+base[1][0]+`":`+base[1][1])
	}
	return ts
}()

// zeekJSONFuzzValues are texts tried in every hole of the templates.
var zeekJSONFuzzValues = []string{
	"", "null", "true", "false", "nul", "nan", "-inf", "0", "-0", "01", "1.", "1e", "1e5", "1E+2", "-1", "+1", "1.2.3",
	"1.5", "0.000001", "4294967295.999999", "4294967296", "1664462456.7552991", "999999.9999995", "1e400",
	"18446744073709551615", "18446744073709551616", "65535", "65536", `""`, `"-"`, `" "`, `"10.0.0.1"`, `"::1"`,
	`"fe80::1%eth0"`, `"10.0.0.1,10.0.0.2"`, `"a\"b"`, `"\u0031.1.1.1"`, `"\x41"`, `"tcp"`, `"ICMP"`, `"6"`, `"unknown_transport"`,
	`"conn"`, `"dns"`, `"2024-04-19T00:00:01.25Z"`, "[]", `["10.0.0.1"]`, `["10.0.0.1", 1, null, "x"]`, "{}",
	`{"orig_h":"10.0.0.1"}`, `[[[[]]]]`, ` 1 `, "\t\"x\"\r", `"ts":2,"id.orig_h":"10.0.0.9"`, `"ts"`,
}

// FuzzZeekJSONFast checks that the single-pass scanner reads every line as fastjson does: the
// same record and the same error, for each log type and for a merged stream. The first byte of
// the input picks a template of zeekJSONFuzzTemplates (0: none) and the rest fills its hole.
func FuzzZeekJSONFast(f *testing.F) {
	for _, s := range zeekJSONFuzzSeeds(f) {
		f.Add(append([]byte{0}, s...))
	}
	for i, tpl := range zeekJSONFuzzTemplates {
		f.Add(append([]byte{byte(i + 1)}, tpl.orig...))
		for _, v := range zeekJSONFuzzValues {
			f.Add(append([]byte{byte(i + 1)}, v...))
		}
	}
	parsers := zeekJSONDiffParsers()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		line := data[1:]
		if n := int(data[0]) % (len(zeekJSONFuzzTemplates) + 1); n > 0 {
			tpl := zeekJSONFuzzTemplates[n-1]
			line = slices.Concat([]byte(tpl.prefix), line, []byte(tpl.suffix))
		}
		for _, p := range parsers {
			zeekJSONDiff(t, p, line)
		}
	})
}

// TestZeekJSONFastSeeds runs the differential check over the seeds, and wants the scanner to
// take the lines Zeek writes: the benchmark's, and the real samples' but for a few with escapes.
func TestZeekJSONFastSeeds(t *testing.T) {
	parsers := zeekJSONDiffParsers()
	for _, line := range zeekJSONFuzzSeeds(t) {
		for _, p := range parsers {
			zeekJSONDiff(t, p, line)
		}
	}
	for _, line := range zeekBenchConnJSON() {
		if !zeekJSONDiff(t, parsers[1], line) {
			t.Errorf("%s: left to fastjson", line)
		}
	}
}

// TestZeekJSONFastReal runs the differential check over every line of the real JSON samples.
func TestZeekJSONFastReal(t *testing.T) {
	dir := zeekSharedData(t, "rita/json_with_all_fields")
	parsers := zeekJSONDiffParsers()
	for _, rel := range zeekJSONRealFiles {
		path := filepath.Join(dir, "..", "..", rel)
		lines, err := zeekJSONRealLines(path)
		if err != nil {
			t.Fatal(err)
		}
		fast := 0
		for _, line := range lines {
			took := false
			for _, p := range parsers {
				took = zeekJSONDiff(t, p, line)
			}
			if took {
				fast++
			}
		}
		t.Logf("%s: %d lines, %d read by the scanner", rel, len(lines), fast)
	}
}

// TestZeekJSONFastTime compares zjTime's direct reading of Zeek's numeric timestamps with the
// reference's float round trip, at the edges of its domain and over random values.
func TestZeekJSONFastTime(t *testing.T) {
	var p fastjson.Parser
	check := func(num string) {
		t.Helper()
		v, err := p.Parse(num)
		if err != nil {
			t.Fatalf("%s: %v", num, err)
		}
		want, errWant := zeekJSONTime(v, time.UTC)
		got, errGot := zjTime(&zjVal{t: zjNumber, raw: []byte(num)}, time.UTC)
		if got != want || !zeekSameError(errGot, errWant) {
			t.Errorf("%s: %d, %v; want %d, %v", num, got, errGot, want, errWant)
		}
	}
	for _, s := range []string{"0", "0.0", "0.000001", "0.999999", "1", "9.999999", "999999999.999999",
		"1000000000", "1000000000.000001", "1000000000.5", "1664462456.755299", "1664462456.7552990",
		"4294967295.999999", "4294967296", "4294967296.000001", "9999999999.999999", "12345678901.5"} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300000 {
		var ip uint64
		switch rng.IntN(3) {
		case 0:
			ip = 1e9 + rng.Uint64N(1<<32-1e9) // Zeek's range of epochs
		case 1:
			ip = rng.Uint64N(1 << 32)
		default:
			ip = rng.Uint64N(1000)
		}
		s := strconv.FormatUint(ip, 10)
		if n := rng.IntN(8); n > 0 {
			s += "." + fmt.Sprintf("%0*d", n, rng.Uint64N(uint64(math.Pow10(n))))
		}
		check(s)
	}
}

// TestZeekJSONFastSeconds compares zjSeconds's direct reading of short decimals with the
// reference's float conversion, at the edges of its domain and over random values.
func TestZeekJSONFastSeconds(t *testing.T) {
	var p fastjson.Parser
	check := func(num string) {
		t.Helper()
		v, err := p.Parse(num)
		if err != nil {
			t.Fatalf("%s: %v", num, err)
		}
		want, errWant := zeekJSONSeconds(v, "duration")
		got, errGot := zjSeconds(&zjVal{t: zjNumber, raw: []byte(num)}, "duration")
		if got != want || !zeekSameError(errGot, errWant) {
			t.Errorf("%s: %d, %v; want %d, %v", num, got, errGot, want, errWant)
		}
	}
	for _, s := range []string{"0", "0.0", "0.000001", "0.0000005", "0.999999", "1", "999999.999999",
		"999999.9999995", "1000000", "1000000.000001", "0.012166976928710938", "108.985496", "1e3"} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300000 {
		var ip uint64
		switch rng.IntN(3) {
		case 0:
			ip = rng.Uint64N(1e6)
		case 1:
			ip = rng.Uint64N(100)
		default:
			ip = 0
		}
		s := strconv.FormatUint(ip, 10)
		if n := rng.IntN(8); n > 0 {
			s += "." + fmt.Sprintf("%0*d", n, rng.Uint64N(uint64(math.Pow10(n))))
		}
		check(s)
	}
}
