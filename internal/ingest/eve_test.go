package ingest

import (
	"bytes"
	"context"
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
)

// Hand-written EVE lines in the shapes Suricata writes (fields and order from its
// output-json-*.c and the eve-json-format docs); addresses and names are made up.
const (
	eveFlowTCP = `{"timestamp":"2024-03-14T10:16:00.000100+0100","flow_id":1234567890123,"in_iface":"eth0","event_type":"flow",` +
		`"src_ip":"10.1.2.3","src_port":50000,"dest_ip":"93.184.216.34","dest_port":443,"proto":"TCP","app_proto":"tls",` +
		`"flow":{"pkts_toserver":12,"pkts_toclient":10,"bytes_toserver":1500,"bytes_toclient":9000,` +
		`"start":"2024-03-14T10:15:00.250000+0100","end":"2024-03-14T10:15:30.750001+0100","age":30,"state":"closed",` +
		`"reason":"timeout","alerted":false},"tcp":{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b","syn":true,` +
		`"fin":true,"psh":true,"ack":true,"state":"closed"},"host":"sensor1"}`
	eveFlowUDP = `{"timestamp":"2024-03-14T10:16:00.000100+0100","flow_id":99,"event_type":"flow","src_ip":"10.1.2.3",` +
		`"src_port":41000,"dest_ip":"10.1.2.1","dest_port":53,"proto":"UDP","app_proto":"dns","flow":{"pkts_toserver":1,` +
		`"pkts_toclient":1,"bytes_toserver":74,"bytes_toclient":90,"start":"2024-03-14T10:15:01.000000+0100",` +
		`"end":"2024-03-14T10:15:01.010000+0100","age":0,"state":"established","reason":"timeout","alerted":false}}`
	eveFlowICMP = `{"timestamp":"2024-03-14T10:16:00.000100+0100","flow_id":7,"event_type":"flow","src_ip":"10.1.2.3",` +
		`"dest_ip":"10.1.2.1","proto":"ICMP","icmp_type":8,"icmp_code":0,"response_icmp_type":0,"response_icmp_code":0,` +
		`"flow":{"pkts_toserver":3,"pkts_toclient":3,"bytes_toserver":252,"bytes_toclient":252,` +
		`"start":"2024-03-14T10:15:02.000000+0100","end":"2024-03-14T10:15:04.000000+0100","age":2,"state":"established",` +
		`"reason":"timeout","alerted":false}}`
	eveFlowICMP6 = `{"timestamp":"2024-03-14T10:16:00.000100+0100","event_type":"flow","src_ip":"fd00::3","dest_ip":"fd00::1",` +
		`"proto":"IPv6-ICMP","icmp_type":128,"icmp_code":0,"flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":104,` +
		`"bytes_toclient":0,"start":"2024-03-14T10:15:02.000000+0100","end":"2024-03-14T10:15:02.000000+0100"}}`
	eveFlowDrop = `{"timestamp":"2024-03-14T10:16:00Z","event_type":"flow","src_ip":"203.0.113.9","src_port":4444,` +
		`"dest_ip":"10.1.2.3","dest_port":23,"proto":"TCP","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":60,` +
		`"bytes_toclient":0,"start":"2024-03-14T09:15:03.5Z","end":"2024-03-14T09:15:03.5Z","state":"new","reason":"timeout",` +
		`"alerted":true,"action":"drop"},"tcp":{"tcp_flags":"02","syn":true}}`
	eveNetflowTS = `{"timestamp":"2024-03-14T10:16:00.000100+0100","flow_id":5,"event_type":"netflow","src_ip":"10.1.2.3",` +
		`"src_port":50000,"dest_ip":"93.184.216.34","dest_port":443,"proto":"TCP","app_proto":"tls","netflow":{"pkts":12,` +
		`"bytes":1500,"start":"2024-03-14T10:15:00.250000+0100","end":"2024-03-14T10:15:30.750001+0100","age":30,` +
		`"min_ttl":64,"max_ttl":64},"tcp":{"tcp_flags":"1b","syn":true}}`
	eveNetflowTC = `{"timestamp":"2024-03-14T10:16:00.000100+0100","flow_id":5,"event_type":"netflow","src_ip":"93.184.216.34",` +
		`"src_port":443,"dest_ip":"10.1.2.3","dest_port":50000,"proto":"TCP","app_proto":"tls","netflow":{"pkts":10,` +
		`"bytes":9000,"start":"2024-03-14T10:15:00.250000+0100","end":"2024-03-14T10:15:30.750001+0100","age":30}}`
	// DNS version 2 (Suricata 5 to 7): the query, then the answer in the flow's direction.
	eveDNSQuery = `{"timestamp":"2024-03-14T10:15:01.000000+0100","flow_id":99,"pcap_cnt":10,"event_type":"dns",` +
		`"src_ip":"10.1.2.3","src_port":41000,"dest_ip":"10.1.2.1","dest_port":53,"proto":"UDP",` +
		`"dns":{"type":"query","id":4660,"rrname":"www.example.com","rrtype":"A","tx_id":0}}`
	eveDNSAnswer = `{"timestamp":"2024-03-14T10:15:01.010000+0100","flow_id":99,"pcap_cnt":11,"event_type":"dns",` +
		`"src_ip":"10.1.2.3","src_port":41000,"dest_ip":"10.1.2.1","dest_port":53,"proto":"UDP","dns":{"version":2,` +
		`"type":"answer","id":4660,"flags":"8180","qr":true,"rd":true,"ra":true,"rrname":"www.example.com","rrtype":"A",` +
		`"rcode":"NOERROR","answers":[{"rrname":"www.example.com","rrtype":"CNAME","ttl":300,"rdata":"edge.example.net"},` +
		`{"rrname":"edge.example.net","rrtype":"A","ttl":60,"rdata":"93.184.216.34"},{"rrname":"edge.example.net",` +
		`"rrtype":"A","ttl":60,"rdata":"93.184.216.35"}],"grouped":{"A":["93.184.216.34","93.184.216.35"],` +
		`"CNAME":["edge.example.net"]}}}`
	// DNS version 3 (Suricata 8): a response, written responder first.
	eveDNSResponse3 = `{"timestamp":"2024-03-14T10:15:05.000000+0100","flow_id":100,"event_type":"dns","src_ip":"10.1.2.1",` +
		`"src_port":53,"dest_ip":"10.1.2.3","dest_port":41001,"proto":"UDP","dns":{"version":3,"type":"response","tx_id":1,` +
		`"id":1,"flags":"8180","qr":true,"rd":true,"ra":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":` +
		`"v6.example.org","rrtype":"AAAA"}],"answers":[{"rrname":"v6.example.org","rrtype":"AAAA","ttl":60,"rdata":` +
		`"2001:0db8:0000:0000:0000:0000:0000:0001"}]}}`
	eveDNSRequest3 = `{"timestamp":"2024-03-14T10:15:05.000000+0100","flow_id":100,"event_type":"dns","src_ip":"10.1.2.3",` +
		`"src_port":41001,"dest_ip":"10.1.2.1","dest_port":53,"proto":"UDP","dns":{"version":3,"type":"request","tx_id":0,` +
		`"id":1,"flags":"100","rd":true,"opcode":0,"rcode":"NOERROR","queries":[{"rrname":"v6.example.org","rrtype":"AAAA"}]}}`
	// DNS version 1 (Suricata 4 and earlier): one event per answer record, in the packet's direction.
	eveDNSAnswer1 = `{"timestamp":"2017-04-07T22:24:37.251547+0100","flow_id":8,"event_type":"dns","src_ip":"8.8.8.8",` +
		`"src_port":53,"dest_ip":"192.168.2.14","dest_port":52000,"proto":"UDP","dns":{"type":"answer","id":7,"rcode":` +
		`"NOERROR","rrname":"cdn.example.net","rrtype":"A","ttl":20,"rdata":"198.51.100.7"}}`
	eveDNSAnswer1CNAME = `{"timestamp":"2017-04-07T22:24:37.251547+0100","flow_id":8,"event_type":"dns","src_ip":"8.8.8.8",` +
		`"src_port":53,"dest_ip":"192.168.2.14","dest_port":52000,"proto":"UDP","dns":{"type":"answer","id":7,"rcode":` +
		`"NOERROR","rrname":"www.example.com","rrtype":"CNAME","ttl":20,"rdata":"cdn.example.net"}}`
	eveTLS = `{"timestamp":"2024-03-14T10:15:00.300000+0100","flow_id":1234567890123,"pcap_cnt":5,"event_type":"tls",` +
		`"src_ip":"10.1.2.3","src_port":50000,"dest_ip":"93.184.216.34","dest_port":443,"proto":"TCP","tls":{"subject":` +
		`"CN=www.example.com","issuerdn":"CN=Example CA","serial":"01:02","fingerprint":"aa:bb","sni":"www.example.com",` +
		`"version":"TLS 1.3","notbefore":"2024-01-01T00:00:00","notafter":"2025-01-01T00:00:00","ja3":{"hash":"abc",` +
		`"string":"771,4865,0,,"},"ja3s":{"hash":"def","string":"771,4865,43"}}}`
	eveHTTP = `{"timestamp":"2024-03-14T10:15:10.000000+0100","flow_id":3,"event_type":"http","src_ip":"10.1.2.3",` +
		`"src_port":50010,"dest_ip":"198.51.100.80","dest_port":8080,"proto":"TCP","tx_id":0,"http":{"hostname":` +
		`"update.example.com","http_port":8080,"url":"/check?id=1","http_user_agent":"Mozilla/5.0 (X11; Linux x86_64)",` +
		`"http_content_type":"text/html","http_method":"GET","protocol":"HTTP/1.1","status":200,"length":512}}`
	// Alerts: Suricata 6 (the matching packet's tuple, nothing more) and 7 (direction, flow tuple).
	eveAlert6 = `{"timestamp":"2024-03-14T10:15:20.000000+0100","flow_id":11,"pcap_cnt":313,"event_type":"alert",` +
		`"src_ip":"203.0.113.50","src_port":51698,"dest_ip":"10.1.2.3","dest_port":445,"proto":"TCP","alert":{"action":` +
		`"allowed","gid":1,"signature_id":2403388,"rev":1,"signature":"ET CINS Poor Reputation IP group 89","category":` +
		`"Misc Attack","severity":2,"metadata":{"tag":["CINS"],"updated_at":["2024_03_01"]}},"flow":{"pkts_toserver":1,` +
		`"pkts_toclient":0,"bytes_toserver":60,"bytes_toclient":0,"start":"2024-03-14T10:15:20.000000+0100"}}`
	eveAlert7 = `{"timestamp":"2024-03-14T10:15:41.532140+0100","flow_id":12,"pcap_cnt":130,"event_type":"alert",` +
		`"src_ip":"198.51.100.191","src_port":35361,"dest_ip":"10.1.2.3","dest_port":49175,"proto":"TCP","pkt_src":` +
		`"wire/pcap","ether":{"src_mac":"52:54:00:36:3e:ff","dest_mac":"12:a9:86:6c:77:de"},"tx_id":1,"alert":{"action":` +
		`"allowed","gid":1,"signature_id":2045001,"rev":1,"signature":"ET ATTACK_RESPONSE Stealer Config Inbound",` +
		`"category":"A Network Trojan was detected","severity":1},"http":{"hostname":"198.51.100.191","http_port":35361,` +
		`"url":"/","http_method":"POST","protocol":"HTTP/1.1","status":200,"length":5362},"app_proto":"http",` +
		`"direction":"to_client","flow":{"pkts_toserver":13,"pkts_toclient":12,"bytes_toserver":1616,"bytes_toclient":8044,` +
		`"start":"2024-03-14T10:15:33.324862+0100","src_ip":"10.1.2.3","dest_ip":"198.51.100.191","src_port":49175,` +
		`"dest_port":35361}}`
	eveStats = `{"timestamp":"2024-03-14T10:16:00.000100+0100","event_type":"stats","stats":{"uptime":60,"decoder":{"pkts":1000}}}`
	eveFile  = `{"timestamp":"2024-03-14T10:15:10.000000+0100","flow_id":3,"event_type":"fileinfo","src_ip":"198.51.100.80",` +
		`"src_port":8080,"dest_ip":"10.1.2.3","dest_port":50010,"proto":"TCP","fileinfo":{"filename":"/check","size":512}}`
)

// eveUTC builds the Unix ns of a UTC wall time, for the expected records.
func eveUTC(y int, mo time.Month, d, h, mi, s, ns int) int64 {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC).UnixNano()
}

var (
	eveA   = netip.MustParseAddr
	eveT0  = eveUTC(2024, 3, 14, 9, 15, 0, 250_000_000) // flow.start of eveFlowTCP, +0100
	eveDur = int64(30*time.Second + 500_001*time.Microsecond)
)

// eveParse parses one line with a fresh record.
func eveParse(p *eveParser, line string) (flow.Record, error) {
	var (
		sc Scratch
		r  flow.Record
	)
	err := p.Parse(&sc, []byte(line), &r)
	if len(r.DNSAnswers) == 0 {
		r.DNSAnswers = nil
	}
	return r, err
}

// TestEveLines reads each event type, with the records the mapping in eve.go promises.
func TestEveLines(t *testing.T) {
	answers := &eveParser{loc: time.UTC}                  // the head had DNS responses
	requests := &eveParser{loc: time.UTC, requests: true} // it had none
	f := func(p *eveParser, line string, want flow.Record) {
		t.Helper()
		got, err := eveParse(p, line)
		if err != nil {
			t.Fatalf("%.80s…: %v", line, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%.80s…:\n got %+v\nwant %+v", line, got, want)
		}
	}
	// flow: start, end − start, counters each way; TCP, UDP, ICMP type/code in the ports, drop.
	f(answers, eveFlowTCP, flow.Record{Time: eveT0, Duration: eveDur, Src: eveA("10.1.2.3"), Dst: eveA("93.184.216.34"),
		SrcPort: 50000, DstPort: 443, Proto: flow.ProtoTCP, PktsOut: 12, PktsIn: 10, BytesOut: 1500, BytesIn: 9000})
	f(answers, eveFlowUDP, flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 1, 0), Duration: 10 * int64(time.Millisecond),
		Src: eveA("10.1.2.3"), Dst: eveA("10.1.2.1"), SrcPort: 41000, DstPort: 53, Proto: flow.ProtoUDP,
		PktsOut: 1, PktsIn: 1, BytesOut: 74, BytesIn: 90})
	f(answers, eveFlowICMP, flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 2, 0), Duration: 2 * int64(time.Second),
		Src: eveA("10.1.2.3"), Dst: eveA("10.1.2.1"), SrcPort: 8, DstPort: 0, Proto: flow.ProtoICMP,
		PktsOut: 3, PktsIn: 3, BytesOut: 252, BytesIn: 252})
	f(answers, eveFlowICMP6, flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 2, 0), Src: eveA("fd00::3"), Dst: eveA("fd00::1"),
		SrcPort: 128, Proto: flow.ProtoICMPv6, PktsOut: 1, BytesOut: 104})
	f(answers, eveFlowDrop, flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 3, 500_000_000), Src: eveA("203.0.113.9"),
		Dst: eveA("10.1.2.3"), SrcPort: 4444, DstPort: 23, Proto: flow.ProtoTCP, PktsOut: 1, BytesOut: 60,
		Action: flow.ActionBlock})
	f(answers, strings.Replace(eveFlowDrop, `"drop"`, `"pass"`, 1), flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 3, 500_000_000),
		Src: eveA("203.0.113.9"), Dst: eveA("10.1.2.3"), SrcPort: 4444, DstPort: 23, Proto: flow.ProtoTCP, PktsOut: 1,
		BytesOut: 60, Action: flow.ActionPass})
	// netflow: each half is a one-way flow.
	f(answers, eveNetflowTS, flow.Record{Time: eveT0, Duration: eveDur, Src: eveA("10.1.2.3"), Dst: eveA("93.184.216.34"),
		SrcPort: 50000, DstPort: 443, Proto: flow.ProtoTCP, PktsOut: 12, BytesOut: 1500})
	// The reply half, logged server first: turned round into the client's pair (orientReply).
	f(answers, eveNetflowTC, flow.Record{Time: eveT0, Duration: eveDur, Src: eveA("10.1.2.3"), Dst: eveA("93.184.216.34"),
		SrcPort: 50000, DstPort: 443, Proto: flow.ProtoTCP, PktsIn: 10, BytesIn: 9000, Kind: flow.KindReply})
	// dns version 2: the answer carries the lookup (name, type, A records of the answers and
	// grouped lists, once each); the query too when the file logs no answers.
	dnsAnswer := flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 1, 10_000_000), Src: eveA("10.1.2.3"), Dst: eveA("10.1.2.1"),
		SrcPort: 41000, DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: "www.example.com", DNSType: 1,
		DNSAnswers: []netip.Addr{eveA("93.184.216.34"), eveA("93.184.216.35")}}
	f(answers, eveDNSAnswer, dnsAnswer)
	f(requests, eveDNSAnswer, dnsAnswer)
	f(requests, eveDNSQuery, flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 1, 0), Src: eveA("10.1.2.3"), Dst: eveA("10.1.2.1"),
		SrcPort: 41000, DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: "www.example.com", DNSType: 1})
	// dns version 3: queries[0]; the response is written responder first and is swapped.
	dns3 := flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 5, 0), Src: eveA("10.1.2.3"), Dst: eveA("10.1.2.1"),
		SrcPort: 41001, DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: "v6.example.org", DNSType: 28,
		DNSAnswers: []netip.Addr{eveA("2001:db8::1")}}
	f(answers, eveDNSResponse3, dns3)
	dns3.DNSAnswers = nil
	f(requests, eveDNSRequest3, dns3)
	// dns version 1: one event per answer record, from the responder (port 53): swapped.
	f(answers, eveDNSAnswer1, flow.Record{Time: eveUTC(2017, 4, 7, 21, 24, 37, 251_547_000), Src: eveA("192.168.2.14"),
		Dst: eveA("8.8.8.8"), SrcPort: 52000, DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent,
		DNSQuery: "cdn.example.net", DNSType: 1, DNSAnswers: []netip.Addr{eveA("198.51.100.7")}})
	f(answers, eveDNSAnswer1CNAME, flow.Record{Time: eveUTC(2017, 4, 7, 21, 24, 37, 251_547_000), Src: eveA("192.168.2.14"),
		Dst: eveA("8.8.8.8"), SrcPort: 52000, DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent,
		DNSQuery: "www.example.com", DNSType: 5})
	// tls, http.
	f(answers, eveTLS, flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 0, 300_000_000), Src: eveA("10.1.2.3"),
		Dst: eveA("93.184.216.34"), SrcPort: 50000, DstPort: 443, Proto: flow.ProtoTCP, Kind: flow.KindEvent,
		TLSSNI: "www.example.com"})
	f(answers, eveHTTP, flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 10, 0), Src: eveA("10.1.2.3"), Dst: eveA("198.51.100.80"),
		SrcPort: 50010, DstPort: 8080, Proto: flow.ProtoTCP, Kind: flow.KindEvent, HTTPHost: "update.example.com",
		UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"})
	// alerts: Suricata 6 as logged; 7 takes the flow's tuple (the packet was to the client).
	alert7 := flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 41, 532_140_000), Src: eveA("10.1.2.3"), Dst: eveA("198.51.100.191"),
		SrcPort: 49175, DstPort: 35361, Proto: flow.ProtoTCP, Kind: flow.KindEvent,
		Alert: "ET ATTACK_RESPONSE Stealer Config Inbound", AlertSeverity: 1}
	f(answers, eveAlert6, flow.Record{Time: eveUTC(2024, 3, 14, 9, 15, 20, 0), Src: eveA("203.0.113.50"), Dst: eveA("10.1.2.3"),
		SrcPort: 51698, DstPort: 445, Proto: flow.ProtoTCP, Kind: flow.KindEvent,
		Alert: "ET CINS Poor Reputation IP group 89", AlertSeverity: 2})
	f(answers, eveAlert7, alert7)
	// Without the flow tuple, "direction":"to_client" swaps the packet's; "blocked" is a block.
	noTuple := strings.Replace(eveAlert7, `,"src_ip":"10.1.2.3","dest_ip":"198.51.100.191","src_port":49175,"dest_port":35361}`, `}`, 1)
	f(answers, noTuple, alert7)
	blocked := alert7
	blocked.Action = flow.ActionBlock
	f(answers, strings.Replace(eveAlert7, `"allowed"`, `"blocked"`, 1), blocked)
	toServer := strings.Replace(noTuple, `"to_client"`, `"to_server"`, 1)
	f(answers, toServer, flow.Record{Time: alert7.Time, Src: eveA("198.51.100.191"), Dst: eveA("10.1.2.3"), SrcPort: 35361,
		DstPort: 49175, Proto: flow.ProtoTCP, Kind: flow.KindEvent, Alert: alert7.Alert, AlertSeverity: 1})
}

// TestEveNoRecord: lines that carry nothing flowhunt uses are neither records nor skips.
func TestEveNoRecord(t *testing.T) {
	answers := &eveParser{loc: time.UTC}
	for _, line := range []string{
		eveStats, eveFile,
		eveDNSQuery, eveDNSRequest3, // the responses carry these lookups
		strings.Replace(eveDNSAnswer, `"rrname":"www.example.com","rrtype":"A","rcode"`, `"rcode"`, 1), // no name
		strings.Replace(eveTLS, `"sni":"www.example.com",`, ``, 1),
		strings.Replace(strings.Replace(eveHTTP, `"hostname":"update.example.com",`, ``, 1), `"http_user_agent":"Mozilla/5.0 (X11; Linux x86_64)",`, ``, 1),
		`{"timestamp":"2024-03-14T10:16:00Z","event_type":"ssh","src_ip":"bad"}`,
		`{"event_type":"anomaly"}`,
		"  \t ",
	} {
		if r, err := eveParse(answers, line); err != errNoRecord {
			t.Errorf("%.90s…: %v, %+v; want no record", line, err, r)
		}
	}
}

// TestEveMalformed: bad lines are skipped under a reason naming the field.
func TestEveMalformed(t *testing.T) {
	p := &eveParser{loc: time.UTC, requests: true}
	f := func(line, reason string) {
		t.Helper()
		_, err := eveParse(p, line)
		if err == nil || err == errNoRecord || reasonOf(err) != reason {
			t.Errorf("%.100s…: %v; want %q", line, err, reason)
		}
	}
	f(`not json`, "malformed JSON")
	f(`{"timestamp":"2024-03-14T10:16:00Z","event_type":"flow"`, "malformed JSON")
	f(`[1,2]`, "not a JSON object")
	f(`"flow"`, "not a JSON object")
	f(strings.Replace(eveFlowTCP, `"event_type":"flow",`, ``, 1), "missing event_type")
	f(strings.Replace(eveFlowTCP, `"event_type":"flow"`, `"event_type":""`, 1), "missing event_type")
	f(strings.Replace(eveFlowTCP, `"event_type":"flow"`, `"event_type":5`, 1), "bad event_type")
	f(strings.Replace(eveFlowTCP, `"10.1.2.3"`, `"10.1.2"`, 1), "bad src_ip")
	f(strings.Replace(eveFlowTCP, `"10.1.2.3"`, `"fe80::1%eth0"`, 1), "bad src_ip")
	f(strings.Replace(eveFlowTCP, `"10.1.2.3"`, `167838211`, 1), "bad src_ip")
	f(strings.Replace(eveFlowTCP, `"dest_ip":"93.184.216.34",`, ``, 1), "missing dest_ip")
	f(strings.Replace(eveFlowTCP, `"src_port":50000`, `"src_port":70000`, 1), "bad src_port")
	f(strings.Replace(eveFlowTCP, `"dest_port":443`, `"dest_port":"https"`, 1), "bad dest_port")
	f(strings.Replace(eveFlowTCP, `"proto":"TCP"`, `"proto":true`, 1), "bad proto")
	f(strings.Replace(eveFlowTCP, `"proto":"TCP"`, `"proto":256`, 1), "bad proto")
	f(strings.Replace(eveFlowTCP, `"start":"2024-03-14T10:15:00.250000+0100",`, ``, 1), "missing flow.start")
	f(strings.Replace(eveFlowTCP, `"start":"2024-03-14T10:15:00.250000+0100"`, `"start":"2024-13-14T10:15:00"`, 1), "bad flow.start")
	f(strings.Replace(eveFlowTCP, `"end":"2024-03-14T10:15:30.750001+0100"`, `"end":"2024-03-14T10:14:30+0100"`, 1), "bad flow.end (before start)")
	f(strings.Replace(eveFlowTCP, `"pkts_toserver":12`, `"pkts_toserver":-1`, 1), "bad flow.pkts_toserver")
	f(strings.Replace(eveFlowTCP, `"bytes_toclient":9000`, `"bytes_toclient":9e3`, 1), "bad flow.bytes_toclient")
	f(strings.Replace(eveNetflowTS, `"bytes":1500`, `"bytes":"lots"`, 1), "bad netflow.bytes")
	f(strings.Replace(eveNetflowTS, `"start":"2024-03-14T10:15:00.250000+0100",`, ``, 1), "missing netflow.start")
	f(strings.Replace(eveFlowICMP, `"icmp_type":8`, `"icmp_type":300`, 1), "bad icmp_type")
	f(strings.Replace(eveTLS, `"timestamp":"2024-03-14T10:15:00.300000+0100"`, `"timestamp":"yesterday"`, 1), "bad timestamp")
	f(strings.Replace(eveTLS, `"timestamp":"2024-03-14T10:15:00.300000+0100",`, ``, 1), "missing timestamp")
	f(strings.Replace(eveDNSQuery, `"rrtype":"A"`, `"rrtype":70000`, 1), "bad dns.rrtype")
	f(strings.Replace(eveAlert6, `"signature":"ET CINS Poor Reputation IP group 89",`, ``, 1), "missing alert.signature")
	f(strings.Replace(eveAlert6, `"severity":2`, `"severity":300`, 1), "bad alert.severity")
	f(strings.Replace(eveAlert7, `"src_ip":"10.1.2.3","dest_ip"`, `"src_ip":"x","dest_ip"`, 1), "bad flow.src_ip")
}

// TestEveLenient: values that are unusual but not wrong are read.
func TestEveLenient(t *testing.T) {
	p := &eveParser{loc: time.UTC}
	f := func(line string, check func(r flow.Record) bool) {
		t.Helper()
		r, err := eveParse(p, line)
		if err != nil || !check(r) {
			t.Errorf("%.100s…: %v, %+v", line, err, r)
		}
	}
	f(strings.Replace(eveFlowTCP, `"proto":"TCP"`, `"proto":"6"`, 1), func(r flow.Record) bool { return r.Proto == 6 })
	f(strings.Replace(eveFlowTCP, `"proto":"TCP"`, `"proto":17`, 1), func(r flow.Record) bool { return r.Proto == 17 })
	f(strings.Replace(eveFlowTCP, `"proto":"TCP"`, `"proto":"PIM"`, 1), func(r flow.Record) bool { return r.Proto == 103 })
	f(strings.Replace(eveFlowTCP, `"proto":"TCP"`, `"proto":"CRUDP"`, 1), func(r flow.Record) bool { return r.Proto == 0 })
	f(strings.Replace(eveFlowTCP, `"src_port":50000`, `"src_port":"50000"`, 1), func(r flow.Record) bool { return r.SrcPort == 50000 })
	f(strings.Replace(eveFlowTCP, `"src_port":50000`, `"src_port":null`, 1), func(r flow.Record) bool { return r.SrcPort == 0 })
	f(strings.Replace(eveFlowTCP, `"end":"2024-03-14T10:15:30.750001+0100",`, ``, 1), func(r flow.Record) bool { return r.Duration == 0 })
	f(strings.Replace(eveFlowTCP, `"start":"2024-03-14T10:15:00.250000+0100"`, `"start":1710407700.25`, 1),
		func(r flow.Record) bool { return r.Time == eveT0 })
	f(strings.Replace(eveTLS, `"timestamp":"2024-03-14T10:15:00.300000+0100"`, `"timestamp":"2024-03-14T09:15:00.3"`, 1),
		func(r flow.Record) bool { return r.Time == eveUTC(2024, 3, 14, 9, 15, 0, 300_000_000) })
	f(strings.Replace(eveDNSAnswer, `"rrtype":"A","rcode"`, `"rrtype":"65280","rcode"`, 1), func(r flow.Record) bool { return r.DNSType == 65280 })
	f(strings.Replace(eveDNSAnswer, `"rrtype":"A","rcode"`, `"rrtype":"WHATEVER","rcode"`, 1), func(r flow.Record) bool { return r.DNSType == 0 })
	f(strings.Replace(eveDNSAnswer, `"rrname":"www.example.com","rrtype":"A","rcode"`, `"rrname":"www.ex\u0061mple.com","rrtype":"TXT","rcode"`, 1),
		func(r flow.Record) bool { return r.DNSQuery == "www.example.com" && r.DNSType == 16 })
	// grouped alone (answers logging off): the addresses are still found.
	grouped := `{"timestamp":"2024-03-14T10:15:01Z","event_type":"dns","src_ip":"10.1.2.3","src_port":41000,"dest_ip":"10.1.2.1",` +
		`"dest_port":53,"proto":"UDP","dns":{"version":2,"type":"answer","rrname":"a.example","rrtype":"AAAA",` +
		`"grouped":{"AAAA":["2001:db8::5","fe80::1%eth0"],"A":["192.0.2.1",7,"not an address"],"TXT":["192.0.2.9"]}}}`
	f(grouped, func(r flow.Record) bool {
		return slices.Equal(r.DNSAnswers, []netip.Addr{eveA("2001:db8::5"), eveA("192.0.2.1")})
	})
	// A TXT answer that happens to look like an address is not one.
	f(strings.Replace(eveDNSAnswer, `"rrtype":"CNAME","ttl":300,"rdata":"edge.example.net"`, `"rrtype":"TXT","ttl":300,"rdata":"192.0.2.66"`, 1),
		func(r flow.Record) bool { return len(r.DNSAnswers) == 2 })
}

// TestEveDNSDirection: a DNS response's Src is the client whichever way Suricata wrote it.
func TestEveDNSDirection(t *testing.T) {
	p := &eveParser{loc: time.UTC}
	client, server := eveA("10.1.2.3"), eveA("10.1.2.1")
	swapped := strings.NewReplacer(`"src_ip":"10.1.2.3","src_port":41000,"dest_ip":"10.1.2.1","dest_port":53`,
		`"src_ip":"10.1.2.1","src_port":53,"dest_ip":"10.1.2.3","dest_port":41000`)
	for _, tc := range []struct{ name, line string }{
		{"v2 answer, client first (Suricata 5-7)", eveDNSAnswer},
		{"v2 answer, responder first (before 5.0.1)", swapped.Replace(eveDNSAnswer)},
		{"v3 response, responder first", strings.Replace(eveDNSResponse3, `"41001`, `"41000`, 1)},
		{"v3 response, both on port 53: by version", strings.NewReplacer(`"src_port":53`, `"src_port":53`, `"dest_port":41001`, `"dest_port":53`).Replace(eveDNSResponse3)},
		{"answer, neither on 53: as logged", strings.Replace(eveDNSAnswer, `"dest_port":53`, `"dest_port":5300`, 1)},
		{"response, neither on 53: by version", strings.Replace(strings.Replace(eveDNSResponse3, `"src_port":53`, `"src_port":5300`, 1), `"41001`, `"41000`, 1)},
	} {
		r, err := eveParse(p, tc.line)
		if err != nil || r.Src != client || r.Dst != server || r.SrcPort == 53 && r.DstPort != 53 {
			t.Errorf("%s: %v, %v:%d → %v:%d; want the client first", tc.name, err, r.Src, r.SrcPort, r.Dst, r.DstPort)
		}
	}
}

// TestEveCaps: hostile text is cut, at a UTF-8 boundary; answers are capped.
func TestEveCaps(t *testing.T) {
	p := &eveParser{loc: time.UTC}
	long := strings.Repeat("a", 300) + ".example"
	r, err := eveParse(p, strings.Replace(eveTLS, `"sni":"www.example.com"`, `"sni":"`+long+`"`, 1))
	if err != nil || r.TLSSNI != long[:eveMaxName] {
		t.Errorf("sni: %v, %d bytes; want %d", err, len(r.TLSSNI), eveMaxName)
	}
	ua := strings.Repeat("é", 600) // 1200 bytes; the cut must not split a rune
	r, err = eveParse(p, strings.Replace(eveHTTP, `"Mozilla/5.0 (X11; Linux x86_64)"`, `"`+ua+`"`, 1))
	if err != nil || len(r.UserAgent) != 1024 || r.UserAgent != ua[:1024] {
		t.Errorf("user agent: %v, %d bytes", err, len(r.UserAgent))
	}
	r, err = eveParse(p, strings.Replace(eveHTTP, `"Mozilla/5.0 (X11; Linux x86_64)"`, `"x`+ua+`"`, 1))
	if err != nil || len(r.UserAgent) != 1023 {
		t.Errorf("user agent cut inside a rune: %v, %d bytes; want 1023", err, len(r.UserAgent))
	}
	var addrs []string
	for i := range 300 {
		addrs = append(addrs, `"10.0.`+strconv.Itoa(i/256)+`.`+strconv.Itoa(i%256)+`"`)
	}
	line := strings.Replace(eveDNSAnswer, `"A":["93.184.216.34","93.184.216.35"]`, `"A":[`+strings.Join(addrs, ",")+`]`, 1)
	r, err = eveParse(p, line)
	if err != nil || len(r.DNSAnswers) != eveMaxAnswers {
		t.Errorf("answers: %v, %d; want %d", err, len(r.DNSAnswers), eveMaxAnswers)
	}
	r, err = eveParse(p, strings.Replace(eveAlert6, `"signature":"ET CINS Poor Reputation IP group 89"`, `"signature":"`+strings.Repeat("S", 5000)+`"`, 1))
	if err != nil || len(r.Alert) != eveMaxText {
		t.Errorf("signature: %v, %d bytes", err, len(r.Alert))
	}
}

// TestEveSniff: the first line decides; DNS responses in the head turn requests off.
func TestEveSniff(t *testing.T) {
	f := func(name, head string, want, requests bool) {
		t.Helper()
		lf, err := sniffEve([]byte(head), "eve.json", &Options{})
		if err != nil || (lf != nil) != want {
			t.Fatalf("%s: %v, %v; want sniffed %v", name, lf, err, want)
		}
		if lf == nil {
			return
		}
		if lf.Name() != "eve" {
			t.Errorf("%s: name %q", name, lf.Name())
		}
		if got := lf.Parser().(*eveParser).requests; got != requests {
			t.Errorf("%s: requests %v, want %v", name, got, requests)
		}
	}
	f("flows only", eveFlowTCP+"\n"+eveFlowUDP+"\n", true, true)
	f("queries, no answers", eveDNSQuery+"\n"+eveFlowTCP+"\n", true, true)
	f("queries and answers", eveDNSQuery+"\n"+eveDNSAnswer+"\n", true, false)
	f("v3 response", "\n"+eveDNSResponse3+"\r\n", true, false)
	f("stats first, bad line later", eveStats+"\n{oops\n"+eveDNSAnswer1+"\n", true, false)
	f("zeek json", `{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`+"\n", false, false)
	f("event_type without timestamp", `{"event_type":"flow","src_ip":"10.0.0.1"}`+"\n", false, false)
	f("timestamp without event_type", `{"timestamp":"2024-03-14T10:16:00Z"}`+"\n", false, false)
	f("bad first line", "{oops\n"+eveFlowTCP+"\n", false, false)
	f("csv", "ts,src,dst\n1,10.0.0.1,10.0.0.2\n", false, false)
	f("empty", "", false, false)
	// The zeek-json sniffer must keep leaving EVE alone.
	if lf, _ := sniffZeekJSON([]byte(eveFlowTCP+"\n"), "eve.json", &Options{}); lf != nil {
		t.Errorf("zeek-json claims EVE as %s", lf.Name())
	}
}

// TestEveRun reads a small file end to end: format, records, skips with line numbers.
func TestEveRun(t *testing.T) {
	content := strings.Join([]string{eveStats, eveFlowTCP, eveDNSQuery, eveDNSAnswer, `{"event_type":"flow"`, eveTLS,
		strings.Replace(eveAlert6, `"10.1.2.3"`, `"10.1.2.300"`, 1), eveHTTP, eveFile, eveAlert7, ""}, "\n")
	recs, st, err := readText(t, "eve.json", content, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Records: the flow, the DNS answer (the head has one, so the query is not a lookup of its
	// own), TLS, HTTP and the Suricata 7 alert; stats and fileinfo carry nothing.
	if st.Format != "eve" || st.Records != 5 || st.Skipped != 2 || len(recs) != 5 {
		t.Fatalf("format %q, records %d (%d), skips %+v; want eve, 5 records, 2 skipped", st.Format, st.Records, len(recs), st.Skips)
	}
	want := map[string]int64{"malformed JSON": 5, "bad dest_ip": 7}
	for _, sk := range st.Skips {
		if want[sk.Reason] != sk.FirstLine || sk.Count != 1 {
			t.Errorf("skip %+v; want %v", sk, want)
		}
	}
	if recs[0].Kind != flow.KindFlow || recs[1].DNSQuery != "www.example.com" || recs[2].TLSSNI == "" ||
		recs[3].HTTPHost == "" || recs[4].Alert == "" || recs[4].Src != eveA("10.1.2.3") {
		t.Errorf("records %+v", recs)
	}
	// Forced with --format eve, a Zeek JSON file is refused.
	_, _, err = readText(t, "conn.log", `{"ts":1.5,"id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2"}`+"\n", Options{Format: "eve"})
	if err == nil {
		t.Error("zeek json read as eve")
	}
}

// eveRealPath is the real sample: StratosphereLinuxIPS's dataset/test6-malicious.suricata.json
// (see /work/shared/data/README.md), read in place.
var eveRealPath = filepath.Join("..", "..", "..", "shared", "data", "slips", "test6.eve.json.gz")

// eveSharedData returns the real sample's path, skipping the test when it is absent.
func eveSharedData(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat(eveRealPath); err != nil {
		t.Skipf("real sample not available (%s): %v", eveRealPath, err)
	}
	return eveRealPath
}

// eveTally totals what the reader produced from the real sample.
type eveTally struct {
	mu                                 sync.Mutex
	flows, dns, answers, tls, http     int64
	bytesOut, bytesIn, pktsOut, pktsIn uint64
	durationNs                         int64
	timeSum                            uint64 // of flows' Time, wrapping: pins every start
	names, dnsSrc, sigs                map[string]int
	severity                           map[uint8]int
	alertsIn                           int // alerts whose Dst is the sample's one internal host
	other                              []flow.Record
}

func (z *eveTally) Add(r *flow.Record) {
	z.mu.Lock()
	defer z.mu.Unlock()
	switch {
	case r.Kind == flow.KindFlow:
		z.flows++
		z.bytesOut += r.BytesOut
		z.bytesIn += r.BytesIn
		z.pktsOut += r.PktsOut
		z.pktsIn += r.PktsIn
		z.durationNs += r.Duration
		z.timeSum += uint64(r.Time)
	case r.DNSQuery != "":
		z.dns++
		z.answers += int64(len(r.DNSAnswers))
		z.names[r.DNSQuery]++
		z.dnsSrc[r.Src.String()+">"+strconv.Itoa(int(r.DstPort))]++
	case r.TLSSNI != "":
		z.tls++
	case r.HTTPHost != "" || r.UserAgent != "":
		z.http++
	case r.Alert != "":
		z.sigs[r.Alert]++
		z.severity[r.AlertSeverity]++
		if r.Dst == eveA("192.168.1.129") {
			z.alertsIn++
		}
	default:
		z.other = append(z.other, *r)
	}
}

// TestEveReal reads StratosphereLinuxIPS's test6 eve.json (Suricata 6: flow, dns v2, alert,
// http, tls, fileinfo, anomaly). Counts made independently with zcat and Python's json module:
// 5000 lines = 3512 flow + 745 alert + 680 dns (340 query, 340 answer) + 56 http (47 with a
// hostname or user agent) + 1 tls + 3 fileinfo + 3 anomaly; sums of flow.bytes/pkts, of
// end − start and of start in ns (from datetime.strptime "%Y-%m-%dT%H:%M:%S.%f%z"); 340 A
// answers, names www.myedimax.com 302 times and www.google.com 38; every answer event from
// 192.168.1.129 to port 53; alert severities 741×2, 2×1, 2×3
// over 122 distinct signatures, all with dest_ip 192.168.1.129 and no "direction".
func TestEveReal(t *testing.T) {
	path := eveSharedData(t)
	tally := &eveTally{names: map[string]int{}, dnsSrc: map[string]int{}, sigs: map[string]int{}, severity: map[uint8]int{}}
	sum, err := Run(context.Background(), []string{path}, Options{Workers: 2}, func() Sink { return tally })
	if err != nil {
		t.Fatal(err)
	}
	st := sum.Files[0]
	if st.Format != "eve" || st.Lines != 5000 || st.Records != 3512+340+745+47+1 || st.Skipped != 0 {
		t.Fatalf("format %q, lines %d, records %d, skips %+v", st.Format, st.Lines, st.Records, st.Skips)
	}
	z := tally
	if z.flows != 3512 || z.bytesOut != 4381935 || z.bytesIn != 648694 || z.pktsOut != 30191 || z.pktsIn != 8980 ||
		z.durationNs != 87580546340000 || z.timeSum != 38623564980267656 {
		t.Errorf("flows %d, bytes %d/%d, pkts %d/%d, duration %d ns, time sum %d", z.flows, z.bytesOut, z.bytesIn,
			z.pktsOut, z.pktsIn, z.durationNs, z.timeSum)
	}
	if z.dns != 340 || z.answers != 340 || !reflect.DeepEqual(z.names, map[string]int{"www.google.com": 38, "www.myedimax.com": 302}) ||
		!reflect.DeepEqual(z.dnsSrc, map[string]int{"192.168.1.129>53": 340}) {
		t.Errorf("dns %d, answers %d, names %v, client>port %v", z.dns, z.answers, z.names, z.dnsSrc)
	}
	if len(z.sigs) != 122 || !reflect.DeepEqual(z.severity, map[uint8]int{1: 2, 2: 741, 3: 2}) || z.alertsIn != 745 {
		t.Errorf("%d signatures, severities %v, %d alerts to the internal host", len(z.sigs), z.severity, z.alertsIn)
	}
	if z.tls != 1 || z.http != 47 || len(z.other) != 0 {
		t.Errorf("tls %d, http %d, other %v", z.tls, z.http, z.other)
	}
}

// eveRealLines reads the sample's lines, gunzipped.
func eveRealLines(t testing.TB) [][]byte {
	t.Helper()
	b, err := os.ReadFile(eveSharedData(t))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(buf.Bytes(), []byte{'\n'}) {
		if len(l) > 0 {
			lines = append(lines, l)
		}
	}
	return lines
}

// eveSameRecord compares records, an empty answer list equal to none.
func eveSameRecord(a, b flow.Record) bool {
	if len(a.DNSAnswers) == 0 {
		a.DNSAnswers = nil
	}
	if len(b.DNSAnswers) == 0 {
		b.DNSAnswers = nil
	}
	return reflect.DeepEqual(a, b)
}

// eveSameError: both nil, or the same reason and detail.
func eveSameError(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return reasonOf(a) == reasonOf(b) && a.Error() == b.Error()
}

// eveDiff parses line with Parse (the fast path when the scanner takes the line) and with
// parseRef, and reports any difference. It returns whether the scanner took the line.
func eveDiff(t *testing.T, p *eveParser, line []byte) bool {
	t.Helper()
	var (
		sc1, sc2  Scratch
		got, want flow.Record
	)
	errGot := p.Parse(&sc1, line, &got)
	errWant := p.parseRef(&sc2, line, &want)
	if !eveSameError(errGot, errWant) {
		t.Errorf("requests %v, line %q:\n error %v\n  want %v", p.requests, line, errGot, errWant)
	}
	if !eveSameRecord(got, want) {
		t.Errorf("requests %v, line %q:\nrecord %+v\n  want %+v", p.requests, line, got, want)
	}
	var a []netip.Addr
	s := eveScan{addrs: &a}
	return s.scan(line)
}

// eveDiffParsers are the parsers the differential tests use: with and without DNS requests.
func eveDiffParsers() []*eveParser {
	return []*eveParser{{loc: time.UTC}, {loc: time.UTC, requests: true}}
}

// eveBases are the lines FuzzEveFast makes its templates from.
var eveBases = []string{eveFlowTCP, eveFlowICMP, eveFlowDrop, eveNetflowTS, eveDNSQuery, eveDNSAnswer, eveDNSResponse3,
	eveDNSAnswer1, eveTLS, eveHTTP, eveAlert6, eveAlert7, eveStats}

// eveTemplate is a base line with a hole: prefix + text + suffix; orig is the text the base has.
type eveTemplate struct{ prefix, suffix, orig string }

// eveTemplates are the bases with a hole at every value (at any depth), at every key, and at
// the first element of every array, so fuzzed text lands where the scanner reads.
var eveTemplates = func() []eveTemplate {
	var ts []eveTemplate
	for _, base := range eveBases {
		b := []byte(base)
		for i := 0; i < len(b); i++ {
			switch {
			case b[i] == '"' && i > 0 && (b[i-1] == '{' || b[i-1] == ','): // a key
				end, ok := zjSkipString(b, i)
				if !ok {
					panic("bad base line " + base)
				}
				if end < len(b) && b[end] == ':' {
					ts = append(ts, eveTemplate{base[:i], base[end:], base[i:end]})
				}
				i = end - 1
			case b[i] == ':' || b[i] == '[' && i+1 < len(b) && b[i+1] != ']': // a value, an array's first element
				if end, ok := zjSkipValue(b, i+1, 2); ok {
					ts = append(ts, eveTemplate{base[:i+1], base[end:], base[i+1 : end]})
				}
			case b[i] == '"': // skip strings, so no ':' in them is taken for a member
				end, ok := zjSkipString(b, i)
				if !ok {
					panic("bad base line " + base)
				}
				i = end - 1
			}
		}
	}
	return ts
}()

// eveFuzzValues are texts tried in every hole.
var eveFuzzValues = []string{
	"", "null", "true", "false", "nul", "nan", "-inf", "0", "-0", "01", "1.", "1e", "1e5", "-1", "+1", "1.2.3", "1.5",
	"255", "256", "65535", "65536", "18446744073709551616", "9223372036854775808", `""`, `" "`, `"10.0.0.1"`, `"::1"`,
	`"fe80::1%eth0"`, `"2001:0db8:0000:0000:0000:0000:0000:0001"`, `"a\"b"`, `"\u0031.1.1.1"`, `"\x41"`, `"\/"`,
	`"TCP"`, `"IPv6-ICMP"`, `"ICMP"`, `"17"`, `"flow"`, `"netflow"`, `"dns"`, `"tls"`, `"http"`, `"alert"`, `"query"`,
	`"answer"`, `"request"`, `"response"`, `"A"`, `"AAAA"`, `"to_client"`, `"drop"`, `"blocked"`,
	`"2024-03-14T10:15:00.250000+0100"`, `"2024-03-14T10:15:00Z"`, "1710407700.25", "[]", `["10.0.0.1"]`,
	`["10.0.0.1", 1, null, "x", {"a":1}]`, `[{"rrname":"x","rrtype":"A","rdata":"10.9.9.9"}]`, "{}",
	`{"rrtype":"A","rdata":"10.9.9.9"}`, `{"A":["10.9.9.9"]}`, `{"src_ip":"10.0.0.9"}`, `[[[[]]]]`, ` 1 `, "\t\"x\"\r",
	`"event_type":"flow","src_ip":"10.0.0.9"`, `"rrname"`, "\"\x00\xff\"", strings.Repeat("[", 70) + strings.Repeat("]", 70),
}

// eveEdgeLines are whole lines for the differential tests: shapes the scanner gives up on and
// those close to them that it reads itself.
var eveEdgeLines = []string{
	`{}`, ` { } `, `{"event_type":"flow"}x`, `{"event_type":"flow",}`, `{"a" "b"}`, `{"a":}`, `{"a":1`, `[1]`, `null`, `"x"`,
	`{"event_type":"fl\u006fw","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","flow":{"start":"2024-03-14T10:15:00Z"}}`,
	`{"event_\u0074ype":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","flow":{"start":"2024-03-14T10:15:00Z"}}`,
	`{"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","flow":{"start":"2024-03-14T10:15:00Z"},"flow":{"bytes_toserver":5}}`,
	`{"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","flow":{"start":"2024-03-14T10:15:00Z"},"src_ip":"10.0.0.9"}`,
	`{"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","flow":5}`,
	`{"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","flow":["start"]}`,
	`{"event_type":"dns","timestamp":"2024-03-14T10:15:00Z","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","dns":{"rrname":"a",` +
		`"answers":[{"rrtype":"A","rdata":"10.1.1.1"},{"rdata":"10.1.1.2","rrtype":"AAAA"},"x",{"rrtype":"A"},{"rrtype":"A","rdata":"10.1.1.1"}],` +
		`"answers":{"rrtype":"A"},"grouped":{"A":"10.2.2.2","AAAA":["10.3.3.3"],"A":["\u0031.1.1.1"]}}}`,
	`{"event_type":"dns","timestamp":"2024-03-14T10:15:00Z","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","dns":{"type":"response",` +
		`"queries":["x",{"rrname":"b","rrtype":"MX"}],"queries":[{"rrname":"c"},{"rrname":"d"}],"rrname":"a"}}`,
	`{"event_type":"dns","timestamp":"2024-03-14T10:15:00Z","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","dns":{"rrname":"a","rrtype":"A","rdata":"10.4.4.4"}}`,
	`{"event_type":"alert","timestamp":"2024-03-14T10:15:00Z","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","alert":{"signature":"s"},` +
		`"dns":{"answers":[{"rrtype":"A","rdata":"10.1.1.1"}]},"flow":{"src_ip":"10.0.0.2"}}`,
	`{"event_type":"alert","timestamp":"2024-03-14T10:15:00Z","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","alert":{"signature":"a \"quoted\" sig"}}`,
	`{"event_type":"tls","timestamp":"2024-03-14T10:15:00Z","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","tls":{"sni":"\u00e9.example"}}`,
	`{"event_type":"tls","timestamp":"2024-03-14T10:15:00Z","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","tls":{"sni":["x"]}}`,
	`{"event_type":"http","timestamp":"2024-03-14T10:15:00Z","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","http":{"hostname":7,"http_user_agent":"u"}}`,
	"{\"event_type\":\"http\",\"timestamp\":\"2024-03-14T10:15:00Z\",\"src_ip\":\"10.0.0.1\",\"dest_ip\":\"10.0.0.2\",\"http\":{\"hostname\":\"a\x00\x1f\xff\"}}",
	"{\"event_type\":\"flow\",\v\"src_ip\":\"10.0.0.1\"}",
	`{"event_type":"flow","a":` + strings.Repeat("[", 70) + strings.Repeat("]", 70) + `}`,
	`{"event_type":"flow","a":` + strings.Repeat("[", 301) + strings.Repeat("]", 301) + `}`,
	`{"event_type":"flow","a":"\`, `{"event_type":"flow","a":"x\"}`, "\x00\xff\xfe{garbage",
}

// eveFuzzSeeds are the lines of the checked-in corpora, the bases, the edge lines and the
// first lines of the real sample when present.
func eveFuzzSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, dir := range []string{"FuzzEve", "FuzzEveFast"} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", dir, "*"))
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
					if dir == "FuzzEveFast" && len(s) >= 2 {
						s = s[2:] // the template's number
					}
					for _, line := range strings.Split(s, "\n") {
						seeds = append(seeds, []byte(line))
					}
				}
			}
		}
	}
	for _, l := range slices.Concat(eveBases, eveEdgeLines) {
		seeds = append(seeds, []byte(l))
	}
	if _, err := os.Stat(eveRealPath); err == nil {
		lines := eveRealLines(tb)
		seeds = append(seeds, lines[:min(len(lines), 20)]...)
	}
	return seeds
}

// FuzzEve: no input panics, every record has valid addresses and answers and a sane duration,
// every error is a *FieldError, and a second parse gives the same result.
func FuzzEve(f *testing.F) {
	f.Add([]byte(strings.Join(eveBases, "\n")))
	f.Add([]byte(eveDNSQuery + "\n" + eveFlowUDP))
	for _, l := range slices.Concat(eveBases, eveEdgeLines) {
		f.Add([]byte(l))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lf, err := sniffEve(data[:min(len(data), sniffSize)], "eve.json", &Options{})
		if err != nil {
			t.Fatal(err)
		}
		parsers := eveDiffParsers()
		if lf != nil {
			parsers = append(parsers, lf.Parser().(*eveParser))
		}
		var (
			sc    Scratch
			r, r2 flow.Record
		)
		for _, line := range bytes.Split(data, []byte{'\n'}) {
			for _, p := range parsers {
				r.Reset()
				err := p.Parse(&sc, line, &r)
				if err != nil {
					if _, ok := err.(*FieldError); !ok {
						t.Errorf("%q: error %T %v is not a *FieldError", line, err, err)
					}
					continue
				}
				if !r.Src.IsValid() || !r.Dst.IsValid() || r.Duration < 0 || len(r.DNSAnswers) > eveMaxAnswers ||
					len(r.DNSQuery) > eveMaxName || len(r.TLSSNI) > eveMaxName || len(r.HTTPHost) > eveMaxName ||
					len(r.UserAgent) > eveMaxText || len(r.Alert) > eveMaxText {
					t.Errorf("%q: bad record %+v", line, r)
				}
				for _, a := range r.DNSAnswers {
					if !a.IsValid() {
						t.Errorf("%q: invalid answer in %+v", line, r)
					}
				}
				r2.Reset()
				if err := p.Parse(&sc, line, &r2); err != nil || !eveSameRecord(r, r2) {
					t.Errorf("%q: second parse %v, %+v; first %+v", line, err, r2, r)
				}
			}
		}
	})
}

// FuzzEveFast checks that the scanner reads every line as fastjson does: the same record and
// the same error. The first two bytes pick a template of eveTemplates (0: none) and the rest
// fills its hole.
func FuzzEveFast(f *testing.F) {
	for _, s := range eveFuzzSeeds(f) {
		f.Add(append([]byte{0, 0}, s...))
	}
	// Each template with its own text and a few of the values, in turn: all of them would make
	// tens of thousands of seeds for the fuzzer to measure before it starts (TestEveFastTemplates
	// tries them all).
	for i, tpl := range eveTemplates {
		n := []byte{byte((i + 1) >> 8), byte(i + 1)}
		f.Add(append(n, tpl.orig...))
		for k := range 3 {
			f.Add(append(n, eveFuzzValues[(3*i+k)%len(eveFuzzValues)]...))
		}
	}
	parsers := eveDiffParsers()
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 2 {
			return
		}
		line := data[2:]
		if n := (int(data[0])<<8 | int(data[1])) % (len(eveTemplates) + 1); n > 0 {
			tpl := eveTemplates[n-1]
			line = slices.Concat([]byte(tpl.prefix), line, []byte(tpl.suffix))
		}
		for _, p := range parsers {
			eveDiff(t, p, line)
		}
	})
}

// TestEveFastSeeds wants the scanner to take the bases, and every template to rebuild its base
// (FuzzEveFast's seed corpus, which go test runs, fills them with eveFuzzValues).
func TestEveFastSeeds(t *testing.T) {
	parsers := eveDiffParsers()
	bases := map[string]bool{}
	for _, b := range eveBases {
		bases[b] = true
	}
	for _, tpl := range eveTemplates {
		if !bases[tpl.prefix+tpl.orig+tpl.suffix] {
			t.Errorf("template %q|%q|%q rebuilds no base", tpl.prefix, tpl.orig, tpl.suffix)
		}
	}
	for _, line := range eveBases {
		if !eveDiff(t, parsers[0], []byte(line)) {
			t.Errorf("%.80s…: left to fastjson", line)
		}
	}
	if len(eveTemplates) < 500 || len(eveTemplates) > 65535 {
		t.Errorf("%d templates; FuzzEveFast picks one with two bytes", len(eveTemplates))
	}
}

// TestEveFastTemplates runs the differential check over every template filled with every value.
func TestEveFastTemplates(t *testing.T) {
	if testing.Short() {
		t.Skip("long: every template with every value")
	}
	parsers := eveDiffParsers()
	for _, tpl := range eveTemplates {
		for _, v := range eveFuzzValues {
			line := []byte(tpl.prefix + v + tpl.suffix)
			for _, p := range parsers {
				eveDiff(t, p, line)
			}
		}
	}
}

// TestEveFastReal: the scanner takes every line of the real sample, as fastjson reads it.
func TestEveFastReal(t *testing.T) {
	lines := eveRealLines(t)
	parsers := eveDiffParsers()
	for _, line := range lines {
		took := false
		for _, p := range parsers {
			took = eveDiff(t, p, line)
		}
		if !took {
			t.Errorf("left to fastjson: %.100s…", line)
		}
	}
}

// TestEveAllocs: a flow line, the bulk of an eve.json, allocates nothing.
func TestEveAllocs(t *testing.T) {
	p := &eveParser{loc: time.UTC}
	var (
		sc Scratch
		r  flow.Record
	)
	for _, line := range []string{eveFlowTCP, eveFlowUDP, eveFlowICMP, eveNetflowTS, eveStats} {
		b := []byte(line)
		n := testing.AllocsPerRun(100, func() {
			r.Reset()
			if err := p.Parse(&sc, b, &r); err != nil && err != errNoRecord {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%.60s…: %v allocs per line", line, n)
		}
	}
}

// eveBenchLines is a mix in the proportions of a sensor's eve.json (the real sample has 70%
// flows, 15% alerts, 14% DNS): 7 flows, 2 DNS answers, 1 alert, 1 HTTP, 1 TLS.
func eveBenchLines() [][]byte {
	var lines [][]byte
	for i := range 7 {
		l := strings.Replace(eveFlowTCP, `"src_port":50000`, `"src_port":`+strconv.Itoa(50000+i), 1)
		if i%3 == 2 {
			l = eveFlowUDP
		}
		lines = append(lines, []byte(l))
	}
	for _, l := range []string{eveDNSAnswer, eveDNSResponse3, eveAlert6, eveHTTP, eveTLS} {
		lines = append(lines, []byte(l))
	}
	return lines
}

func BenchmarkEve(b *testing.B) {
	p := &eveParser{loc: time.UTC}
	b.Run("mixed", func(b *testing.B) { benchParse(b, p, eveBenchLines()) })
	b.Run("flow", func(b *testing.B) { benchParse(b, p, [][]byte{[]byte(eveFlowTCP), []byte(eveFlowUDP)}) })
	b.Run("fastjson", func(b *testing.B) {
		benchParse(b, eveRefParser{p}, eveBenchLines())
	})
}

// BenchmarkEveReal parses the real sample's lines that give records (when it is present).
func BenchmarkEveReal(b *testing.B) {
	var kept [][]byte
	p := &eveParser{loc: time.UTC}
	for _, l := range eveRealLines(b) {
		var (
			sc Scratch
			r  flow.Record
		)
		if p.Parse(&sc, l, &r) == nil {
			kept = append(kept, l)
		}
	}
	benchParse(b, p, kept)
}

// eveRefParser parses with the reference path only.
type eveRefParser struct{ p *eveParser }

func (p eveRefParser) Parse(sc *Scratch, line []byte, r *flow.Record) error {
	return p.p.parseRef(sc, line, r)
}
