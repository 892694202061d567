package ingest

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// flNow anchors RFC 3164 years in these tests: lines dated March are in 2024.
var flNow = time.Date(2024, 3, 20, 12, 0, 0, 0, time.UTC)

// Real-looking lines, one per prefix style and protocol; the bodies follow pfSense 2.7 and
// OPNsense 24.x output.
const (
	flTCP4Block = `Mar 14 10:15:22 pfSense filterlog[5102]: 5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,44,185.220.101.4,203.0.113.10,50432,3389,0,S,1804289383,,1024,,mss`
	flUDP4Pass  = `Mar  4 09:01:02 pfSense filterlog[5102]: 77,,,1590014436,igb1,match,pass,out,4,0x0,,64,0,0,DF,17,udp,73,10.0.0.5,8.8.8.8,53211,53,53`
	flICMP4     = `Mar 14 10:15:23 filterlog: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,48961,0,DF,1,icmp,84,192.168.3.1,192.168.3.201,request,5113,6664`
	flTCP6      = `<134>1 2024-03-14T10:15:22.123456+00:00 pfSense.home.arpa filterlog 5102 - - 64,,,1000001570,igb0,match,pass,out,6,0x00,0x75c57,64,tcp,6,32,2001:db8::5,2606:4700::1111,54683,443,0,S,3506412436,,64660,,mss;nop;wscale;nop;nop;sackOK`
	flICMP6     = `<134>1 2024-03-14T11:15:24+01:00 OPNsense.localdomain filterlog 86605 - [meta sequenceId="17"] 93,,,02f4bab031b57d1e30553ce08e0ec131,vtnet0,match,pass,in,6,0x00,0x00000,255,ipv6-icmp,58,32,fe80::1,ff02::1,datalength=32`
	flOPNTCP4   = `<134>1 2024-03-14T10:15:25+00:00 OPNsense.localdomain filterlog 86605 - [meta sequenceId="18"] 9,,,9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f,vtnet1,match,block,in,4,0x20,,235,54321,0,none,6,tcp,44,10.1.1.50,192.168.1.100,57154,443,0,S,925820833,,65535,,mss`
	flISOUDP    = `2024-03-14T11:15:26+01:00 fw filterlog[123]: 77,,,1590014436,igb1,match,pass,out,4,0x0,,64,0,0,DF,17,udp,61,10.0.0.7,1.1.1.1,40000,53,41`
	flDHCP      = `Mar 14 10:15:29 pfSense dhcpd[4711]: DHCPACK on 10.0.0.7 to 00:11:22:33:44:55 via igb1`
	flBareTCP4  = `5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,44,185.220.101.4,203.0.113.10,50432,3389,0,S,1804289383,,1024,,mss`
	flBody      = `77,,,1590014436,igb1,match,pass,out,4,0x0,,64,0,0,DF,17,udp,73,10.0.0.5,8.8.8.8,53211,53,53`
)

func flAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func flParser() *filterlogParser { return &filterlogParser{now: flNow, loc: time.UTC} }

func TestFilterlogParse(t *testing.T) {
	p := flParser()
	var sc Scratch
	f := func(line string, want flow.Record) {
		t.Helper()
		var r flow.Record
		if err := p.Parse(&sc, []byte(line), &r); err != nil {
			t.Fatalf("%s\n  error %v", line, err)
		}
		want.Kind, want.PktsOut = flow.KindFlow, 1
		if r.Time != want.Time || r.Src != want.Src || r.Dst != want.Dst || r.SrcPort != want.SrcPort ||
			r.DstPort != want.DstPort || r.Proto != want.Proto || r.Action != want.Action || r.Dir != want.Dir ||
			r.Kind != want.Kind || r.BytesOut != want.BytesOut || r.PktsOut != want.PktsOut ||
			r.BytesIn != 0 || r.PktsIn != 0 || r.Duration != 0 {
			t.Fatalf("%s\n  got  %+v\n  want %+v", line, r, want)
		}
	}
	ts := func(s string) int64 {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixNano()
	}
	tcp, udp := flow.ProtoTCP, flow.ProtoUDP
	pass, block := flow.ActionPass, flow.ActionBlock
	in, out := flow.DirIn, flow.DirOut

	// pfSense RFC 3164, IPv4 TCP SYN blocked inbound
	f(flTCP4Block, flow.Record{Time: ts("2024-03-14T10:15:22Z"), Src: flAddr("185.220.101.4"), Dst: flAddr("203.0.113.10"),
		SrcPort: 50432, DstPort: 3389, Proto: tcp, Action: block, Dir: in, BytesOut: 44})
	// space-padded day, UDP passed outbound
	f(flUDP4Pass, flow.Record{Time: ts("2024-03-04T09:01:02Z"), Src: flAddr("10.0.0.5"), Dst: flAddr("8.8.8.8"),
		SrcPort: 53211, DstPort: 53, Proto: udp, Action: pass, Dir: out, BytesOut: 73})
	// no hostname, no pid; ICMP echo request has no ports
	f(flICMP4, flow.Record{Time: ts("2024-03-14T10:15:23Z"), Src: flAddr("192.168.3.1"), Dst: flAddr("192.168.3.201"),
		Proto: flow.ProtoICMP, Action: block, Dir: in, BytesOut: 84})
	// RFC 5424 with microseconds, IPv6 TCP: payload length 32 plus the 40-byte header
	f(flTCP6, flow.Record{Time: ts("2024-03-14T10:15:22.123456Z"), Src: flAddr("2001:db8::5"), Dst: flAddr("2606:4700::1111"),
		SrcPort: 54683, DstPort: 443, Proto: tcp, Action: pass, Dir: out, BytesOut: 72})
	// OPNsense RFC 5424 with structured data and a zone offset, ICMPv6
	f(flICMP6, flow.Record{Time: ts("2024-03-14T10:15:24Z"), Src: flAddr("fe80::1"), Dst: flAddr("ff02::1"),
		Proto: flow.ProtoICMPv6, Action: pass, Dir: in, BytesOut: 72})
	// OPNsense IPv4 TCP with a label hash as tracker
	f(flOPNTCP4, flow.Record{Time: ts("2024-03-14T10:15:25Z"), Src: flAddr("10.1.1.50"), Dst: flAddr("192.168.1.100"),
		SrcPort: 57154, DstPort: 443, Proto: tcp, Action: block, Dir: in, BytesOut: 44})
	// ISO 8601 prefix (rsyslog)
	f(flISOUDP, flow.Record{Time: ts("2024-03-14T10:15:26Z"), Src: flAddr("10.0.0.7"), Dst: flAddr("1.1.1.1"),
		SrcPort: 40000, DstPort: 53, Proto: udp, Action: pass, Dir: out, BytesOut: 61})
	udp5 := flow.Record{Src: flAddr("10.0.0.5"), Dst: flAddr("8.8.8.8"), SrcPort: 53211, DstPort: 53, Proto: udp, Action: pass, Dir: out, BytesOut: 73}
	at := func(r flow.Record, s string) flow.Record { r.Time = ts(s); return r }
	// ISO 8601 behind a PRI
	f(`<134>2024-03-14T10:15:26Z fw filterlog[123]: `+flBody, at(udp5, "2024-03-14T10:15:26Z"))
	// ISO 8601 with a space and no zone (read as UTC)
	f(`2024-03-14 10:15:30.5 fw filterlog: `+flBody, at(udp5, "2024-03-14T10:15:30.5Z"))
	// RFC 3164 behind a PRI
	f(`<134>Mar 14 10:15:27 fw filterlog[1]: `+flBody, at(udp5, "2024-03-14T10:15:27Z"))
	// RFC 5424 with nil procid, msgid and structured data
	f(`<134>1 2024-03-14T10:15:28Z fw filterlog - - - `+flBody, at(udp5, "2024-03-14T10:15:28Z"))
	// RFC 5424 with nil timestamp, two SD elements with escapes and spaces, and a BOM
	f(`<134>1 - fw filterlog 1 - [a x="q\"] y" z="\\"][b w="]"] `+"\xEF\xBB\xBF"+flBody, udp5)
	// bare body: no time
	f(flBody, udp5)
	// a relay's extra token before the tag
	f(`Mar 14 10:15:27 relay fw filterlog[1]: `+flBody, at(udp5, "2024-03-14T10:15:27Z"))
	// unknown action and direction are kept as unknown
	f(`77,,,1590014436,igb1,match,nat,unkn(3),4,0x0,,64,0,0,DF,17,udp,73,10.0.0.5,8.8.8.8,53211,53,53`,
		flow.Record{Src: flAddr("10.0.0.5"), Dst: flAddr("8.8.8.8"), SrcPort: 53211, DstPort: 53, Proto: udp, BytesOut: 73})
	// reject counts as block
	f(`5,,,1000000103,igb0,match,reject,in,4,0x0,,64,1,0,DF,17,udp,73,10.0.0.5,8.8.8.8,53211,53,53`,
		flow.Record{Src: flAddr("10.0.0.5"), Dst: flAddr("8.8.8.8"), SrcPort: 53211, DstPort: 53, Proto: udp, Action: block, Dir: in, BytesOut: 73})
	// CARP: no ports, protocol 112
	f(`9,,,1000000004,em0,match,pass,out,4,0x10,,255,2017,0,none,112,carp,56,192.168.1.2,224.0.0.18,advertise,255,1,2,0,1`,
		flow.Record{Src: flAddr("192.168.1.2"), Dst: flAddr("224.0.0.18"), Proto: 112, Action: pass, Dir: out, BytesOut: 56})
	// protocol id missing: the name is used
	f(`5,,,1000000103,igb0,match,pass,in,4,0x0,,64,1,0,DF,,UDP,73,10.0.0.5,8.8.8.8,53211,53,53`,
		flow.Record{Src: flAddr("10.0.0.5"), Dst: flAddr("8.8.8.8"), SrcPort: 53211, DstPort: 53, Proto: udp, Action: pass, Dir: in, BytesOut: 73})
	// IPv6 hop-by-hop options header (MLD report): protocol 0, no ports
	f(`5,,,1000000105,igb0,match,block,in,6,0x00,0x00000,1,Options,0,36,fe80::2,ff02::16,HBH,PADN,RTALERT,0x0000,`,
		flow.Record{Src: flAddr("fe80::2"), Dst: flAddr("ff02::16"), Action: block, Dir: in, BytesOut: 76})
	// IPv4 TCP with empty optional fields and no options, extra trailing fields
	f(`5,,,1000000103,igb0,match,pass,out,4,0x0,,64,1,0,DF,6,tcp,40,10.0.0.5,93.184.216.34,50000,80,0,A,,,,,,extra,more`,
		flow.Record{Src: flAddr("10.0.0.5"), Dst: flAddr("93.184.216.34"), SrcPort: 50000, DstPort: 80, Proto: tcp, Action: pass, Dir: out, BytesOut: 40})
	// a BOM at the start of the file
	f("\xEF\xBB\xBF"+flBody, udp5)
}

func TestFilterlogParseErrors(t *testing.T) {
	p := flParser()
	var sc Scratch
	f := func(line, wantErr string) {
		t.Helper()
		var r flow.Record
		err := p.Parse(&sc, []byte(line), &r)
		if err == nil {
			t.Fatalf("%q: no error, got %+v", line, r)
		}
		if err.Error() != wantErr {
			t.Fatalf("%q:\n  error %q\n  want  %q", line, err, wantErr)
		}
	}
	const pre = "Mar 14 10:15:22 fw filterlog[1]: "
	// truncated before the destination address
	f(pre+`5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,44,185.220.101.4`, `wrong field count (19 fields, want ≥ 20)`)
	// truncated before the destination port
	f(pre+`5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,44,185.220.101.4,203.0.113.10,50432`, `wrong field count (21 fields, want ≥ 22)`)
	// IPv6 UDP truncated before the ports
	f(pre+`61,,,x,eth0,match,pass,in,6,0x00,0xd3e97,128,udp,17,60,fd00::1,fd00::2`, `wrong field count (17 fields, want ≥ 19)`)
	// truncated in the common part
	f(pre+`5,,,1000000103,igb0`, `wrong field count (5 fields, want ≥ 17)`)
	// empty message
	f(pre, `wrong field count (1 fields, want ≥ 17)`)
	// tag at the end of the line
	f("Mar 14 10:15:22 fw filterlog:", `wrong field count (1 fields, want ≥ 17)`)
	// bad IP version
	f(pre+`5,,,1000000103,igb0,match,block,in,5,0x0,,242,54321,0,none,6,tcp,44,185.220.101.4,203.0.113.10,50432,3389`, `bad ip version "5"`)
	// addresses
	f(pre+`5,,,1,igb0,match,block,in,4,0x0,,242,1,0,none,6,tcp,44,999.1.1.1,203.0.113.10,50432,3389`, `bad src address "999.1.1.1"`)
	f(pre+`5,,,1,igb0,match,block,in,4,0x0,,242,1,0,none,6,tcp,44,185.220.101.4,host.example,50432,3389`, `bad dst address "host.example"`)
	f(pre+`5,,,1,igb0,match,block,in,6,0x00,0x00000,64,tcp,6,32,2001:db8::5%eth0,2001:db8::6,1,2`, `bad src address "2001:db8::5%eth0"`)
	// ports
	f(pre+`5,,,1,igb0,match,block,in,4,0x0,,242,1,0,none,6,tcp,44,185.220.101.4,203.0.113.10,70000,3389`, `bad src port "70000"`)
	f(pre+`5,,,1,igb0,match,block,in,4,0x0,,242,1,0,none,17,udp,44,185.220.101.4,203.0.113.10,50432,`, `bad dst port ""`)
	// protocol and length
	f(pre+`5,,,1,igb0,match,block,in,4,0x0,,242,1,0,none,x,bogus,44,185.220.101.4,203.0.113.10`, `bad protocol "x"`)
	f(pre+`5,,,1,igb0,match,block,in,4,0x0,,242,1,0,none,6,tcp,-1,185.220.101.4,203.0.113.10,1,2`, `bad length "-1"`)
	// timestamps
	f("Mar 34 10:15:22 fw filterlog[1]: "+flBody, `bad timestamp "Mar 34 10:15:22"`)
	f("Foo 14 10:15:22 fw filterlog[1]: "+flBody, `bad timestamp "Foo 14 10:15:22"`)
	f("Mar 14 10:15 fw filterlog[1]: "+flBody, `bad timestamp "Mar 14 10:15 fw"`)
	f("random line", `bad timestamp "random line"`)
	f("<134>1 2024-13-45T99:99:99+02:00 fw filterlog 1 - - "+flBody, `bad timestamp "2024-13-45T99:99:99+02:00"`)
	f("2024-03-14T25:00:00Z fw filterlog[1]: "+flBody, `bad timestamp "2024-03-14T25:00:00Z"`)
	f("<134>5,,,1,igb0,match,block", `bad timestamp "5,,,1,igb0,match,block"`)
	// syslog headers
	f("<134 Mar 14 10:15:22 fw filterlog: "+flBody, `bad syslog header "<134 Mar 14 10:15:22 fw filterlog: 77,,,15900144"…`)
	f("<1x4>1 - fw filterlog - - - "+flBody, `bad syslog header "<1x4>1 - fw filterlog - - - 77,,,1590014436,igb1"…`)
	f(`<134>1 2024-03-14T10:15:25Z fw filterlog 1 - [meta sequenceId="18 `+flBody, `bad syslog header "<134>1 2024-03-14T10:15:25Z fw filterlog 1 - [me"…`)
	f(`<134>1 2024-03-14T10:15:25Z fw filterlog 1 - meta `+flBody, `bad syslog header "<134>1 2024-03-14T10:15:25Z fw filterlog 1 - met"…`)
	f(`<134>1 2024-03-14T10:15:25Z fw`, `bad syslog header "<134>1 2024-03-14T10:15:25Z fw"`)
	f(`<134>1 2024-03-14T10:15:25Z fw filterlog 1`, `bad syslog header "<134>1 2024-03-14T10:15:25Z fw filterlog 1"`)
	// binary garbage
	f("\x00\x01\xff\xfe\x7f,\x80", `wrong field count (2 fields, want ≥ 17)`)
	f("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", `wrong field count (1 fields, want ≥ 17)`)
}

// TestFilterlogOtherPrograms: lines of other programs in the same syslog stream carry no record
// and are not errors.
func TestFilterlogOtherPrograms(t *testing.T) {
	p := flParser()
	var sc Scratch
	for _, line := range []string{
		flDHCP,
		`Mar 14 10:15:29 pfSense sshd[123]: Accepted publickey for admin from 10.0.0.2 port 50022`,
		`Mar 14 10:15:29 pfSense php-fpm[393]: /index.php: Successful login for user 'admin'`,
		`Mar 14 10:15:29 pfSense syslogd: last message repeated 3 times`,
		`Mar 14 10:15:29 pfSense last message repeated 3 times`, // no tag at all
		`<134>1 2024-03-14T10:15:25Z OPNsense.localdomain configd.py 240 - [meta sequenceId="1"] message`,
		`<134>1 2024-03-14T10:15:25Z fw dhcpd 1 - no structured data`,
		`2024-03-14T10:15:25+01:00 fw unbound[80]: [80:0] info: start of service`,
		`Mar 14 10:15:29 pfSense filterlogger[2]: 5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,44,185.220.101.4,203.0.113.10,50432,3389`,
	} {
		var r flow.Record
		if err := p.Parse(&sc, []byte(line), &r); err != errNoRecord {
			t.Errorf("%q: error %v, want errNoRecord", line, err)
		}
	}
}

func TestFilterlogSyslogYear(t *testing.T) {
	f := func(now time.Time, loc *time.Location, stamp, want string) {
		t.Helper()
		p := &filterlogParser{now: now, loc: loc}
		var (
			sc Scratch
			r  flow.Record
		)
		if err := p.Parse(&sc, []byte(stamp+" fw filterlog[1]: "+flBody), &r); err != nil {
			t.Fatal(err)
		}
		if got := time.Unix(0, r.Time).UTC().Format(time.RFC3339); got != want {
			t.Fatalf("%s read at %s: got %s, want %s", stamp, now.Format(time.RFC3339), got, want)
		}
	}
	jan2 := time.Date(2025, 1, 2, 8, 0, 0, 0, time.UTC)
	// a December line read early in January belongs to the year before
	f(jan2, time.UTC, "Dec 31 23:59:59", "2024-12-31T23:59:59Z")
	// a line from the same day stays in the current year
	f(jan2, time.UTC, "Jan  2 07:59:00", "2025-01-02T07:59:00Z")
	// a line slightly ahead of now (clock skew) stays in the current year
	f(jan2, time.UTC, "Jan  2 20:00:00", "2025-01-02T20:00:00Z")
	// the zone applies to RFC 3164 times, which name none
	f(flNow, time.FixedZone("CET", 3600), "Mar 14 10:15:22", "2024-03-14T09:15:22Z")
}

func TestFilterlogRead(t *testing.T) {
	content := strings.Join([]string{
		flTCP4Block, // 1
		flDHCP,      // 2: other program, neither record nor skip
		flUDP4Pass,  // 3
		"Mar 14 10:15:22 fw filterlog[1]: 5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,44,185.220.101.4", // 4: truncated
		flICMP4, // 5
		"Mar 34 10:15:22 fw filterlog[1]: " + flBody, // 6: bad timestamp
		flTCP6, // 7
		"Mar 14 10:15:22 fw filterlog[1]: 5,,,1,igb0,match,block,in,4,0x0,,242,1,0,none,6,tcp,44,185.220.101.4,203.0.113.10,70000,3389", // 8: bad src port
		"", // 9: empty
		"Mar 14 10:15:22 fw filterlog[1]: 5,,,1000000103,igb0", // 10: truncated
		flICMP6,   // 11
		flOPNTCP4, // 12
		flISOUDP,  // 13
	}, "\n") + "\n"
	recs, fs, err := readText(t, "filter.log", content, Options{Now: flNow})
	if err != nil {
		t.Fatal(err)
	}
	if fs.Format != "filterlog" || fs.Records != 7 || len(recs) != 7 || fs.Skipped != 4 || fs.Lines != 13 {
		t.Fatalf("format %q, %d records (%d kept), %d skipped, %d lines; want filterlog, 7, 7, 4, 13",
			fs.Format, fs.Records, len(recs), fs.Skipped, fs.Lines)
	}
	want := []Skip{
		{Reason: "wrong field count", Count: 2, FirstLine: 4, Example: "wrong field count (19 fields, want ≥ 20)"},
		{Reason: "bad timestamp", Count: 1, FirstLine: 6, Example: `bad timestamp "Mar 34 10:15:22"`},
		{Reason: "bad src port", Count: 1, FirstLine: 8, Example: `bad src port "70000"`},
	}
	if len(fs.Skips) != len(want) {
		t.Fatalf("skips %+v, want %+v", fs.Skips, want)
	}
	for i := range want {
		if fs.Skips[i] != want[i] {
			t.Errorf("skip %d: %+v, want %+v", i, fs.Skips[i], want[i])
		}
	}
	wantSrc := []string{"185.220.101.4", "10.0.0.5", "192.168.3.1", "2001:db8::5", "fe80::1", "10.1.1.50", "10.0.0.7"}
	for i, r := range recs {
		if r.Src != flAddr(wantSrc[i]) {
			t.Errorf("record %d: src %s, want %s", i, r.Src, wantSrc[i])
		}
	}
}

func TestSniffFilterlog(t *testing.T) {
	accept := func(name, content string) {
		t.Helper()
		lf, err := sniffFilterlog([]byte(content), "", &Options{Now: flNow})
		if err != nil || lf == nil || lf.Name() != "filterlog" {
			t.Fatalf("%s: not claimed (%v)", name, err)
		}
	}
	reject := func(name, content, why string) {
		t.Helper()
		lf, err := sniffFilterlog([]byte(content), "", &Options{Now: flNow})
		if lf != nil {
			t.Fatalf("%s: claimed", name)
		}
		if err == nil || err.Error() != why {
			t.Fatalf("%s: why %v, want %q", name, err, why)
		}
	}
	lines := func(l ...string) string { return strings.Join(l, "\n") + "\n" }

	accept("pfSense RFC 3164", lines(flTCP4Block, flUDP4Pass, flICMP4))
	accept("OPNsense RFC 5424", lines(flICMP6, flOPNTCP4, flTCP6))
	accept("ISO prefix, CRLF, no final newline", flISOUDP+"\r\n"+flISOUDP)
	accept("bare bodies", lines(flBareTCP4, flBody, flBody))
	accept("firewall syslog, mostly other programs", lines(flDHCP, flDHCP, flDHCP, flDHCP, flDHCP, flTCP4Block, flDHCP))
	accept("a few bad lines", lines(flTCP4Block, flTCP4Block, flTCP4Block, "Mar 14 10:15:22 fw filterlog[1]: 5,,,1"))
	accept("truncated last line", flTCP4Block+"\n"+flTCP4Block[:40])
	full := strings.Repeat(flTCP4Block+"\n", sniffSize/len(flTCP4Block)+1)
	accept("64 KiB head cut inside a line", full[:sniffSize])

	reject("other programs only", lines(flDHCP, flDHCP), "no filterlog line in the first 2 lines")
	reject("CSV flows", lines("ts,src,dst,sport,dport,proto,bytes", "1710411322,10.0.0.1,8.8.8.8,5353,53,udp,120"),
		"no filterlog line in the first 2 lines")
	reject("CSV with filterlog's field count", lines(strings.Repeat("1,", 28)+"1", strings.Repeat("1,", 28)+"1"),
		"no filterlog line in the first 2 lines")
	reject("bare CSV that parses but lacks filterlog's values", lines(
		`5,,,1,igb0,x,allow,inbound,4,0,,64,1,0,DF,17,udp,73,10.0.0.5,8.8.8.8,53211,53,53`),
		"no filterlog line in the first 1 lines")
	reject("Zeek JSON", lines(`{"ts":1710411322.1,"uid":"C1","id.orig_h":"10.0.0.1"}`), "no filterlog line in the first 1 lines")
	reject("binary", "\x00\x01\x02\xff\xfe,,,\n\x00\x00", "no filterlog line in the first 2 lines")
	reject("mostly broken", lines(flTCP4Block, "x", "y", "z"), "only 1 of the first 4 lines are filterlog or syslog")
	reject("bare bodies among junk", lines(flBody, flBody, "a,b,c", "a,b,c", "a,b,c"), "only 2 of the first 5 lines are filterlog or syslog")

	// --format filterlog takes any content; its bad lines are counted when read.
	if lf, err := sniffFilterlog([]byte("x\ny\n"), "", &Options{Format: "filterlog"}); lf == nil || err != nil {
		t.Fatalf("forced format refused: %v", err)
	}
}

func BenchmarkFilterlog(b *testing.B) {
	lines := [][]byte{
		[]byte(flTCP4Block),
		[]byte(`Mar 14 10:15:23 pfSense filterlog[5102]: 5,,,1000000103,igb0,match,block,in,4,0x0,,241,31337,0,none,6,tcp,40,45.155.205.233,203.0.113.10,49152,22,0,S,2734827342,,1024,,`),
		[]byte(`Mar 14 10:15:24 pfSense filterlog[5102]: 77,,,1590014436,igb1,match,pass,out,4,0x0,,64,0,0,DF,6,tcp,60,10.0.0.5,140.82.121.4,53422,443,0,S,3141592653,,64240,,mss;sackOK;TS;nop;wscale`),
		[]byte(`Mar  4 10:15:25 pfSense filterlog[5102]: 77,,,1590014436,igb1,match,pass,out,4,0x0,,64,0,0,DF,6,tcp,52,10.0.0.9,151.101.1.69,61001,443,0,S,1000001,,65535,,mss;nop;wscale;nop;nop;sackOK`),
	}
	benchParse(b, flParser(), lines)
}

func FuzzFilterlog(f *testing.F) {
	for _, s := range []string{flTCP4Block, flUDP4Pass, flICMP4, flTCP6, flICMP6, flOPNTCP4, flISOUDP, flDHCP, flBody} {
		f.Add([]byte(s))
	}
	p := flParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		if lf, err := sniffFilterlog(data, "", &Options{Now: flNow}); lf != nil && err != nil {
			t.Fatalf("sniff returned a format and an error %v", err)
		}
		var (
			sc Scratch
			r  flow.Record
		)
		for line := range bytes.SplitSeq(data, []byte{'\n'}) {
			r.Reset()
			err := p.Parse(&sc, line, &r)
			if err != nil {
				if _, ok := err.(*FieldError); !ok {
					t.Fatalf("%q: error of type %T: %v", line, err, err)
				}
				continue
			}
			if !r.Src.IsValid() || !r.Dst.IsValid() || r.Src.Zone() != "" || r.Dst.Zone() != "" {
				t.Fatalf("%q: invalid addresses %v %v", line, r.Src, r.Dst)
			}
			if r.Kind != flow.KindFlow || r.PktsOut != 1 {
				t.Fatalf("%q: kind %v, %d packets", line, r.Kind, r.PktsOut)
			}
			if r.Proto != flow.ProtoTCP && r.Proto != flow.ProtoUDP && (r.SrcPort != 0 || r.DstPort != 0) {
				t.Fatalf("%q: ports on protocol %d", line, r.Proto)
			}
		}
	})
}
