package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
)

// collectStderr is a stderr the collector writes while the test reads it.
type collectStderr struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *collectStderr) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *collectStderr) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runningCollect is a collect command running in-process.
type runningCollect struct {
	addrs  []netip.AddrPort // where it listens, from its stderr
	stderr *collectStderr
	cancel context.CancelFunc
	done   chan int
}

var listeningRE = regexp.MustCompile(`listening on udp (\S+)`)

// startCollect runs "flowhunt collect args..." and waits until it listens on every --listen.
func startCollect(t *testing.T, args ...string) *runningCollect {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rc := &runningCollect{stderr: &collectStderr{}, cancel: cancel, done: make(chan int, 1)}
	go func() { rc.done <- run(ctx, append([]string{"collect"}, args...), io.Discard, rc.stderr) }()
	want := strings.Count(strings.Join(args, " "), "--listen")
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := listeningRE.FindAllStringSubmatch(rc.stderr.String(), -1)
		if len(m) == want {
			for _, s := range m {
				rc.addrs = append(rc.addrs, netip.MustParseAddrPort(s[1]))
			}
			return rc
		}
		select {
		case code := <-rc.done:
			t.Fatalf("collect exited with %d before listening: %s", code, rc.stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("collect does not listen: %s", rc.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop cancels the command (as SIGINT does) and returns its exit code and stderr.
func (rc *runningCollect) stop(t *testing.T) (int, string) {
	t.Helper()
	rc.cancel()
	select {
	case code := <-rc.done:
		return code, rc.stderr.String()
	case <-time.After(10 * time.Second):
		t.Fatalf("collect does not stop: %s", rc.stderr)
	}
	return 0, ""
}

func sendUDP(t *testing.T, to netip.AddrPort, datagrams ...[]byte) {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(to))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, d := range datagrams {
		if _, err := conn.Write(d); err != nil {
			t.Fatal(err)
		}
	}
}

// readCollected reads dir with flowhunt's own reader, one worker so records keep file order.
func readCollected(t *testing.T, dir string) ([]flow.Record, *ingest.Summary) {
	t.Helper()
	var (
		mu   sync.Mutex
		recs []flow.Record
	)
	sum, err := ingest.Run(context.Background(), []string{dir}, ingest.Options{Workers: 1},
		func() ingest.Sink {
			return sinkFunc(func(r *flow.Record) { mu.Lock(); recs = append(recs, *r); mu.Unlock() })
		})
	if err != nil {
		t.Fatal(err)
	}
	return recs, sum
}

type sinkFunc func(*flow.Record)

func (f sinkFunc) Add(r *flow.Record) { f(r) }

// checkCollectedFiles checks that dir holds only finished flow files and that each was read as
// CSV with every column mapped and nothing skipped.
func checkCollectedFiles(t *testing.T, dir string, sum *ingest.Summary, suffix string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	nameRE := regexp.MustCompile(`^flows-\d{8}T\d{6}Z(-\d+)?` + regexp.QuoteMeta(suffix) + `$`)
	for _, e := range entries {
		if !nameRE.MatchString(e.Name()) {
			t.Errorf("unexpected file %s in %s (a .partial left behind?)", e.Name(), dir)
		}
	}
	for _, fs := range sum.Files {
		if fs.Format != "csv" || len(fs.UnusedColumns) != 0 || fs.Skipped != 0 || fs.Ignored != "" {
			t.Errorf("%s: format %q, unused columns %v, %d skipped (%s), ignored %q", fs.Name, fs.Format, fs.UnusedColumns,
				fs.Skipped, fs.SkipSummary(), fs.Ignored)
		}
	}
}

// Datagram builders (the decoder's own tests have fuller ones).

func nfAppend(b []byte, values ...any) []byte {
	for _, v := range values {
		switch v := v.(type) {
		case uint8:
			b = append(b, v)
		case uint16:
			b = binary.BigEndian.AppendUint16(b, v)
		case uint32:
			b = binary.BigEndian.AppendUint32(b, v)
		case uint64:
			b = binary.BigEndian.AppendUint64(b, v)
		case string: // an address
			b = append(b, netip.MustParseAddr(v).AsSlice()...)
		default:
			panic(fmt.Sprintf("nfAppend: %T", v))
		}
	}
	return b
}

// nfSetBytes wraps a set body in its header.
func nfSetBytes(id uint16, body []byte) []byte {
	return append(nfAppend(nil, id, uint16(4+len(body))), body...)
}

func nfAppendBytes(b []byte, more ...[]byte) []byte {
	for _, m := range more {
		b = append(b, m...)
	}
	return b
}

func v9Packet(uptime, secs uint32, sets ...[]byte) []byte {
	return nfAppendBytes(nfAppend(nil, uint16(9), uint16(len(sets)), uptime, secs, uint32(0), uint32(0)), sets...)
}

func ipfixPacket(exportSecs uint32, sets ...[]byte) []byte {
	b := nfAppendBytes(nfAppend(nil, uint16(10), uint16(0), exportSecs, uint32(0), uint32(0)), sets...)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	return b
}

// templateBody is one template record: ID, field count, then type/length pairs (an enterprise
// element as type|0x8000, length, enterprise number).
func templateBody(id uint16, fields ...uint32) []byte {
	b := nfAppend(nil, id, uint16(0))
	n := 0
	for i := 0; i < len(fields); i += 2 {
		typ, length := uint16(fields[i]), uint16(fields[i+1])
		b = nfAppend(b, typ, length)
		if typ&0x8000 != 0 {
			b = nfAppend(b, uint32(29305))
			i++
		}
		n++
	}
	binary.BigEndian.PutUint16(b[2:], uint16(n))
	return b
}

// collectDatagrams is a stream as exporters send it, with each thing the collector must cope
// with: v5 (TCP and ICMP), v9 data before its template (IPv4 and IPv6, a dropped flow), IPFIX
// with millisecond times and biflow counters, and a datagram that is not NetFlow.
func collectDatagrams() [][]byte {
	const secs, up = 1_763_892_900, 500_000
	v5 := nfAppend(nil, uint16(5), uint16(2), uint32(up), uint32(secs), uint32(123_000_000), uint32(1), uint8(0), uint8(0), uint16(0),
		"192.168.1.10", "93.184.216.34", "0.0.0.0", uint16(1), uint16(2), uint32(14), uint32(5321), uint32(up-8_250), uint32(up-1_001),
		uint16(51234), uint16(443), uint8(0), uint8(0x1b), uint8(6), uint8(0), uint16(0), uint16(0), uint8(24), uint8(0), uint16(0),
		"192.168.1.10", "10.9.9.9", "0.0.0.0", uint16(1), uint16(2), uint32(1), uint32(84), uint32(up-3), uint32(up-3),
		uint16(0), uint16(8<<8), uint8(0), uint8(0), uint8(1), uint8(0), uint16(0), uint16(0), uint8(24), uint8(0), uint16(0))
	v9Tmpl4 := templateBody(256, 8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 1, 4, 2, 4, 22, 4, 21, 4, 89, 1)
	v9Tmpl6 := templateBody(257, 27, 16, 28, 16, 7, 2, 11, 2, 4, 1, 1, 8, 2, 8, 22, 4, 21, 4)
	v9Data4 := nfSetBytes(256, nfAppend(nil, "192.168.1.11", "203.0.113.7", uint16(40000), uint16(22), uint8(6), uint32(640),
		uint32(9), uint32(up-61_000), uint32(up-1_500), uint8(0x82), uint16(0))) // padded to 4 bytes
	v9Data6 := nfSetBytes(257, nfAppend(nil, "2001:db8::10", "2001:db8:1::53", uint16(5353), uint16(53), uint8(17), uint64(1<<40),
		uint64(3), uint32(up-100), uint32(up-7)))
	ipfixTmpl := templateBody(400, 8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 1, 8, 2, 8, 152, 8, 153, 8, 0x8001, 8, 0, 0x8002, 8, 0)
	ipfixData := nfSetBytes(400, nfAppend(nil, "10.20.0.5", "198.51.100.80", uint16(3333), uint16(3334), uint8(132), uint64(77),
		uint64(2), uint64(1_763_892_800_001), uint64(1_763_892_800_999), uint64(9000), uint64(12)))
	return [][]byte{
		v5,
		v9Packet(up, secs, v9Data4), // template not yet known: skipped
		v9Packet(up, secs, nfSetBytes(0, nfAppendBytes(v9Tmpl4, v9Tmpl6))), // templates
		v9Packet(up, secs, v9Data4, v9Data6),
		[]byte("\x00\x01not netflow at all"),
		ipfixPacket(secs, nfSetBytes(2, ipfixTmpl), ipfixData),
	}
}

// expectedFlows decodes datagrams as the collector does (one decoder, one exporter) and clears
// what the CSV files do not carry (the interface direction).
func expectedFlows(from netip.AddrPort, datagrams [][]byte) []flow.Record {
	d := ingest.NewExportDecoder()
	var want []flow.Record
	for _, dg := range datagrams {
		d.Decode(from, dg, func(r *flow.Record) {
			c := *r
			c.Dir = flow.DirUnknown
			want = append(want, c)
		}, func(string, string) {})
	}
	return want
}

func TestCollectRoundTrip(t *testing.T) {
	for _, c := range []struct{ compress, suffix string }{{"zstd", ".csv.zst"}, {"gzip", ".csv.gz"}, {"none", ".csv"}} {
		t.Run(c.compress, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "flows")
			rc := startCollect(t, "--listen", "127.0.0.1:0", "--out", dir, "--rotate", "1h", "--compress", c.compress)
			datagrams := collectDatagrams()
			sendUDP(t, rc.addrs[0], datagrams...)
			// While the period's file is being written, hunt over the directory sees nothing.
			partial := filepath.Join(dir, ".flows-*"+c.suffix+".partial")
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				if m, _ := filepath.Glob(partial); len(m) == 1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("no %s while collecting: %s", partial, rc.stderr)
				}
			}
			if _, sum := readCollected(t, dir); len(sum.Files) != 0 || sum.Records != 0 {
				t.Errorf("reading the directory while collecting: %d files, %d records", len(sum.Files), sum.Records)
			}
			code, stderr := rc.stop(t)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			recs, sum := readCollected(t, dir)
			checkCollectedFiles(t, dir, sum, c.suffix)
			if len(sum.Files) != 1 {
				t.Errorf("%d files, want 1", len(sum.Files))
			}
			// The sender's address as the collector saw it is not known here; the decoder's
			// output does not depend on it.
			want := expectedFlows(netip.MustParseAddrPort("127.0.0.1:9"), datagrams)
			if len(want) != 5 {
				t.Fatalf("the test's datagrams decode to %d flows, want 5", len(want))
			}
			if len(recs) != len(want) {
				t.Fatalf("read back %d flows, want %d; stderr: %s", len(recs), len(want), stderr)
			}
			for i := range want {
				if fmt.Sprintf("%+v", recs[i]) != fmt.Sprintf("%+v", want[i]) {
					t.Errorf("flow %d:\n got %+v\nwant %+v", i, recs[i], want[i])
				}
			}
			for _, s := range []string{"stopped: 6 datagrams, 5 flows written, 1 datagrams not NetFlow, 1 unknown-template flow sets, 0 damaged datagrams",
				"first unknown template: template 256 from 127.0.0.1:", "wrote flows-"} {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}

// TestCollectRotation: a file per period, each renamed when its period ends.
func TestCollectRotation(t *testing.T) {
	dir := t.TempDir()
	rc := startCollect(t, "--listen", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--out", dir, "--rotate", "1s")
	datagrams := collectDatagrams()
	finished := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, "flows-*.csv.zst"))
		return len(m)
	}
	// Send to both listeners in turn, each time until a file is finished; at least two files.
	for i := range 2 {
		before := finished()
		sendUDP(t, rc.addrs[i], datagrams...)
		deadline := time.Now().Add(5 * time.Second)
		for finished() == before {
			if time.Now().After(deadline) {
				t.Fatalf("no file finished after a period: %s", rc.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	code, stderr := rc.stop(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	recs, sum := readCollected(t, dir)
	checkCollectedFiles(t, dir, sum, ".csv.zst")
	if len(sum.Files) < 2 {
		t.Errorf("%d files, want at least 2", len(sum.Files))
	}
	one := expectedFlows(netip.MustParseAddrPort("127.0.0.1:9"), datagrams)
	want := append(slices.Clone(one), one...)
	if got, w := recordKeys(recs), recordKeys(want); !slices.Equal(got, w) {
		t.Errorf("read back %d flows, want %d:\n got %v\nwant %v", len(got), len(w), got, w)
	}
	if n := strings.Count(stderr, "wrote flows-"); n != len(sum.Files) {
		t.Errorf("%d 'wrote' lines for %d files:\n%s", n, len(sum.Files), stderr)
	}
}

// recordKeys renders records as sorted strings, for comparing them as multisets.
func recordKeys(recs []flow.Record) []string {
	keys := make([]string, len(recs))
	for i := range recs {
		keys[i] = fmt.Sprintf("%+v", recs[i])
	}
	slices.Sort(keys)
	return keys
}

func TestCollectUsage(t *testing.T) {
	dir := t.TempDir()
	f := func(name, stderrHas string, args ...string) {
		t.Helper()
		code, _, stderr := cli(t, append([]string{"collect"}, args...)...)
		if code != 2 || !strings.Contains(stderr, stderrHas) {
			t.Errorf("%s: exit %d, stderr %q; want 2 containing %q", name, code, stderr, stderrHas)
		}
	}
	f("no --out", "--out")
	f("bad --compress", "--compress", "--out", dir, "--compress", "lz4")
	f("--rotate too short", "--rotate", "--out", dir, "--rotate", "10ms")
	f("--listen without port", "--listen", "--out", dir, "--listen", "127.0.0.1")
	f("--listen bad port", "--listen", "--out", dir, "--listen", "127.0.0.1:70000")
	f("argument", "unknown command", "--out", dir, "extra")
}

// TestCollectBindError: a port in use is an error (exit 1), not a usage error.
func TestCollectBindError(t *testing.T) {
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	code, _, stderr := cli(t, "collect", "--listen", busy.LocalAddr().String(), "--out", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "address already in use") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

// TestCollectQueueFull: when the writer falls behind, flows are dropped and counted instead of
// blocking the socket.
func TestCollectQueueFull(t *testing.T) {
	c := newCollector(collectConfig{queue: 1, drain: 50 * time.Millisecond}, io.Discard)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	datagrams := collectDatagrams()
	sendUDP(t, netip.MustParseAddrPort(conn.LocalAddr().String()), datagrams...)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // read what is queued in the socket for the drain time, then stop
	if err := c.receive(ctx, conn); err != nil {
		t.Fatal(err)
	}
	// 3 datagrams carry flows (v5: 2, v9: 2, IPFIX: 1); the queue holds the first.
	if got := len(c.queue); got != 1 {
		t.Fatalf("queue holds %d batches, want 1", got)
	}
	if got, want := c.counts.flowsDrop.Load(), int64(5-len((<-c.queue).recs)); got != want {
		t.Errorf("dropped %d flows, want %d", got, want)
	}
	if !strings.Contains(c.counts.String(), "flows dropped (writer behind or failing)") {
		t.Errorf("counts do not mention the drop: %s", &c.counts)
	}
}

// TestCollectNameTaken: collect restarted within a period does not replace the earlier file.
func TestCollectNameTaken(t *testing.T) {
	dir := t.TempDir()
	start := time.Date(2026, 11, 23, 10, 15, 0, 0, time.UTC)
	rec := flow.Record{Time: 1, Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}
	var names []string
	for range 3 {
		ff, err := createFlowFile(dir, start, "none")
		if err != nil {
			t.Fatal(err)
		}
		if err := ff.write([]flow.Record{rec}); err != nil {
			t.Fatal(err)
		}
		name, err := ff.finish()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, filepath.Base(name))
	}
	want := []string{"flows-20261123T101500Z.csv", "flows-20261123T101500Z-1.csv", "flows-20261123T101500Z-2.csv"}
	if !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	for _, n := range want {
		if b, err := os.ReadFile(filepath.Join(dir, n)); err != nil || string(b) != collectHeader+"0.000000001,0,10.0.0.1,10.0.0.2,0,0,0,0,0,0,0,,0\n" {
			t.Errorf("%s: %q %v", n, b, err)
		}
	}
}

// TestAppendFlowCSV pins the line format: seconds with the fraction's zeros dropped, protocol
// names for the common protocols and numbers for the rest.
func TestAppendFlowCSV(t *testing.T) {
	f := func(r flow.Record, want string) {
		t.Helper()
		if got := string(appendFlowCSV(nil, &r)); got != want {
			t.Errorf("got  %q\nwant %q", got, want)
		}
	}
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::1")
	f(flow.Record{Time: 1_763_892_900_123_000_000, Duration: 1_500_000_000, Src: a, Dst: b, SrcPort: 1, DstPort: 2, Proto: 6,
		BytesOut: 10, BytesIn: 20, PktsOut: 1, PktsIn: 2, Action: flow.ActionBlock},
		"1763892900.123,1.5,10.0.0.1,2001:db8::1,1,2,tcp,10,20,1,2,block,0\n")
	f(flow.Record{Time: 1_763_892_900_000_000_001, Src: a, Dst: a, Proto: 115},
		"1763892900.000000001,0,10.0.0.1,10.0.0.1,0,0,115,0,0,0,0,,0\n")
	// The answer half of a one-way export, turned round by the decoder: marked, so hunt counts it
	// as received bytes of its connection and not as another connection.
	f(flow.Record{Time: 1_763_892_900_000_000_000, Src: a, Dst: b, SrcPort: 40000, DstPort: 53, Proto: 17, BytesIn: 90, PktsIn: 1,
		Kind: flow.KindReply}, "1763892900,0,10.0.0.1,2001:db8::1,40000,53,udp,0,90,0,1,,1\n")
}

func BenchmarkAppendFlowCSV(b *testing.B) {
	r := flow.Record{Time: 1_763_892_900_123_000_000, Duration: 1_500_000_000, Src: netip.MustParseAddr("192.168.1.10"),
		Dst: netip.MustParseAddr("93.184.216.34"), SrcPort: 51234, DstPort: 443, Proto: 6, BytesOut: 5321, PktsOut: 14}
	var line []byte
	b.ReportAllocs()
	for b.Loop() {
		line = appendFlowCSV(line[:0], &r)
	}
}

// softflowdStats is what softflowd prints after reading a capture: records exported and the
// per-protocol octet and packet totals.
type softflowdStats struct{ records, octets, packets uint64 }

var (
	sfRecordsRE  = regexp.MustCompile(`Flows exported: \d+ \((\d+) records\)`)
	sfProtocolRE = regexp.MustCompile(`(?m)^\s+\S+ \(\d+\):\s+(\d+)\s+(\d+)\s`)
)

func parseSoftflowdStats(out string) (softflowdStats, error) {
	var s softflowdStats
	m := sfRecordsRE.FindStringSubmatch(out)
	if m == nil {
		return s, fmt.Errorf("no 'Flows exported' line in softflowd's output:\n%s", out)
	}
	s.records, _ = strconv.ParseUint(m[1], 10, 64)
	for _, p := range sfProtocolRE.FindAllStringSubmatch(out, -1) {
		o, _ := strconv.ParseUint(p[1], 10, 64)
		n, _ := strconv.ParseUint(p[2], 10, 64)
		s.octets += o
		s.packets += n
	}
	return s, nil
}

// nfdumpFlows reads nfcapd's files in dir with nfdump and renders each flow as flowKey does.
func nfdumpFlows(t *testing.T, dir string) []string {
	t.Helper()
	cmd := exec.Command("nfdump", "-R", dir, "-o", "json")
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nfdump: %v", err)
	}
	var raw []map[string]any
	if err := json.Unmarshal(out, &raw); err != nil {
		t.Fatalf("nfdump json: %v", err)
	}
	keys := make([]string, 0, len(raw))
	for _, f := range raw {
		ts := func(k string) int64 {
			v, err := time.Parse("2006-01-02T15:04:05.000", f[k].(string))
			if err != nil {
				t.Fatalf("nfdump %s %q: %v", k, f[k], err)
			}
			return v.UnixMilli()
		}
		str := func(ks ...string) string {
			for _, k := range ks {
				if v, ok := f[k].(string); ok {
					return v
				}
			}
			return ""
		}
		num := func(k string) uint64 {
			v, _ := f[k].(float64)
			return uint64(v)
		}
		first, last := ts("first"), ts("last")
		r := flow.Record{Time: first * 1e6, Duration: max(last-first, 0) * 1e6, Proto: uint8(num("proto")),
			Src: netip.MustParseAddr(str("src4_addr", "src6_addr")), Dst: netip.MustParseAddr(str("dst4_addr", "dst6_addr")),
			SrcPort: uint16(num("src_port")), DstPort: uint16(num("dst_port")), BytesOut: num("in_bytes"), PktsOut: num("in_packets")}
		keys = append(keys, flowKey(&r))
	}
	slices.Sort(keys)
	return keys
}

// flowKey renders what collect and nfdump both report of a flow, times in ms; ICMP ports are
// left out (nfdump 1.7 shows 0/0 for ICMPv6 where the exporter sent type and code).
func flowKey(r *flow.Record) string {
	if r.Kind == flow.KindReply { // as exported, before the decoder turned the answer round
		c := *r
		c.Src, c.Dst, c.SrcPort, c.DstPort = r.Dst, r.Src, r.DstPort, r.SrcPort
		c.BytesOut, c.PktsOut, c.BytesIn, c.PktsIn = r.BytesIn, r.PktsIn, 0, 0
		r = &c
	}
	ports := fmt.Sprintf("%d>%d", r.SrcPort, r.DstPort)
	if r.Proto == flow.ProtoICMP || r.Proto == flow.ProtoICMPv6 {
		ports = "icmp"
	}
	return fmt.Sprintf("%d+%d %d %s>%s %s %dB %dp", r.Time/1e6, r.Duration/1e6, r.Proto, r.Src, r.Dst, ports, r.BytesOut, r.PktsOut)
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestCollectSoftflowd exports a real capture with softflowd (Debian package softflowd) in
// NetFlow v5, v9 and IPFIX (uptime-relative, millisecond and biflow forms) into collect, and
// checks the flows written against softflowd's own totals and, when nfdump is installed
// (package nfdump), flow by flow against nfcapd/nfdump receiving the same export.
func TestCollectSoftflowd(t *testing.T) {
	if _, err := exec.LookPath("softflowd"); err != nil {
		t.Skip("softflowd not installed (apt-get install softflowd)")
	}
	pcap, err := filepath.Abs("../../../shared/data/slips/test7.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pcap); err != nil {
		t.Skipf("sample capture not present: %v", err)
	}
	_, errCapd := exec.LookPath("nfcapd")
	_, errDump := exec.LookPath("nfdump")
	haveNfdump := errCapd == nil && errDump == nil
	if !haveNfdump {
		t.Log("nfdump not installed (apt-get install nfdump): checking totals against softflowd's statistics only")
	}
	keysByCase := map[string][]string{}
	for _, c := range []struct {
		name   string
		args   []string
		nfdump bool // nfdump 1.7.1 mis-times uptime-relative IPFIX and reads no biflow counters
	}{
		{"v5", []string{"-v", "5"}, true},
		{"v9", []string{"-v", "9"}, true},
		{"ipfix-uptime", []string{"-v", "10"}, false},
		{"ipfix-ms", []string{"-v", "10", "-A", "milli"}, true},
		{"ipfix-biflow", []string{"-v", "10", "-b"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			out := filepath.Join(tmp, "flows")
			rc := startCollect(t, "--listen", "127.0.0.1:0", "--out", out, "--compress", "none")
			dest := rc.addrs[0].String()
			var nfcapd *exec.Cmd
			capDir := filepath.Join(tmp, "nfcapd")
			if haveNfdump && c.nfdump {
				port := freeUDPPort(t)
				os.Mkdir(capDir, 0o755)
				nfcapd = exec.Command("nfcapd", "-b", "127.0.0.1", "-p", strconv.Itoa(port), "-w", capDir, "-t", "3600")
				if err := nfcapd.Start(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(300 * time.Millisecond) // nfcapd binds after starting up
				dest += fmt.Sprintf(",127.0.0.1:%d", port)
			}
			// -a: flow times from the capture's clock; -r implies foreground and no control socket.
			args := append([]string{"-a", "-r", pcap, "-n", dest, "-p", filepath.Join(tmp, "softflowd.pid")}, c.args...)
			sfOut, err := exec.Command("softflowd", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("softflowd %v: %v\n%s", args, err, sfOut)
			}
			stats, err := parseSoftflowdStats(string(sfOut))
			if err != nil {
				t.Fatal(err)
			}
			code, stderr := rc.stop(t)
			if code != 0 {
				t.Fatalf("collect exit %d: %s", code, stderr)
			}
			recs, sum := readCollected(t, out)
			checkCollectedFiles(t, out, sum, ".csv")
			var octets, packets uint64
			for i := range recs {
				octets += recs[i].BytesOut + recs[i].BytesIn
				packets += recs[i].PktsOut + recs[i].PktsIn
			}
			if uint64(len(recs)) != stats.records || octets != stats.octets || packets != stats.packets || stats.records == 0 {
				t.Errorf("collected %d flows, %d bytes, %d packets; softflowd exported %d records of %d bytes, %d packets\ncollect: %s",
					len(recs), octets, packets, stats.records, stats.octets, stats.packets, stderr)
			}
			if !strings.Contains(stderr, "0 datagrams not NetFlow, 0 unknown-template flow sets, 0 damaged datagrams") {
				t.Errorf("collect skipped something: %s", stderr)
			}
			keys := make([]string, len(recs))
			for i := range recs {
				keys[i] = flowKey(&recs[i])
			}
			slices.Sort(keys)
			keysByCase[c.name] = keys
			if nfcapd != nil {
				time.Sleep(200 * time.Millisecond)
				nfcapd.Process.Signal(os.Interrupt)
				if err := nfcapd.Wait(); err != nil {
					t.Logf("nfcapd: %v", err)
				}
				want := nfdumpFlows(t, capDir)
				if !slices.Equal(keys, want) {
					t.Errorf("collect and nfdump differ (%d and %d flows):\n%s", len(keys), len(want), keyDiff(keys, want))
				}
			}
		})
	}
	// Uptime-relative IPFIX (timed through the options record's systemInitTimeMilliseconds) must
	// give the very flows that absolute millisecond times give.
	if a, b := keysByCase["ipfix-uptime"], keysByCase["ipfix-ms"]; a != nil && b != nil && !slices.Equal(a, b) {
		t.Errorf("IPFIX uptime-relative and millisecond exports differ:\n%s", keyDiff(a, b))
	}
}

// keyDiff lists up to 10 keys found on one side only.
func keyDiff(got, want []string) string {
	count := map[string]int{}
	for _, k := range got {
		count[k]++
	}
	for _, k := range want {
		count[k]--
	}
	var lines []string
	for k, n := range count {
		switch {
		case n > 0:
			lines = append(lines, "only collect: "+k)
		case n < 0:
			lines = append(lines, "only other:   "+k)
		}
	}
	slices.Sort(lines)
	if len(lines) > 10 {
		lines = append(lines[:10], fmt.Sprintf("… %d more", len(lines)-10))
	}
	return strings.Join(lines, "\n")
}

// TestCollectWriteError: when files cannot be written, collect stops with an error (exit 1)
// rather than receiving into nowhere.
func TestCollectWriteError(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "flows")
	rc := startCollect(t, "--listen", "127.0.0.1:0", "--out", dir)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	sendUDP(t, rc.addrs[0], collectDatagrams()...)
	select {
	case code := <-rc.done:
		stderr := rc.stderr.String()
		if code != 1 || !strings.Contains(stderr, "no such file or directory") || !strings.Contains(stderr, "flows dropped (writer behind or failing)") {
			t.Errorf("exit %d, stderr:\n%s", code, stderr)
		}
	case <-time.After(10 * time.Second):
		rc.cancel()
		t.Fatalf("collect goes on after a write error: %s", rc.stderr)
	}
}

// BenchmarkFlowFileWrite times the writer's side per flow: CSV formatting, buffering and
// compression.
func BenchmarkFlowFileWrite(b *testing.B) {
	for _, compress := range []string{"zstd", "gzip", "none"} {
		b.Run(compress, func(b *testing.B) {
			ff, err := createFlowFile(b.TempDir(), time.Now(), compress)
			if err != nil {
				b.Fatal(err)
			}
			batch := make([]flow.Record, 30)
			for i := range batch {
				batch[i] = flow.Record{Time: 1_763_892_900_123_000_000 + int64(i)*7_000_000, Duration: int64(i) * 1_000_000,
					Src: netip.AddrFrom4([4]byte{192, 168, 1, byte(i)}), Dst: netip.MustParseAddr("93.184.216.34"),
					SrcPort: uint16(40000 + i), DstPort: 443, Proto: 6, BytesOut: uint64(1000 * i), PktsOut: uint64(i)}
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := ff.write(batch); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := ff.finish(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/flow")
		})
	}
}
