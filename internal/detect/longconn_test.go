package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// lcBackground adds 40 ordinary hosts with short sessions, so prevalence has a denominator.
func lcBackground(n *scanNet) {
	for i := range 40 {
		n.flow(fmt.Sprintf("10.9.0.%d", i+1), "93.184.216.34", 443, flow.ProtoTCP, int64(i), 900, 9000, 2*time.Second, flow.ActionPass)
	}
}

// lcSession adds one TCP session of dur from src to dst:port, sec seconds into the capture.
func lcSession(n *scanNet, src, dst string, port uint16, sec int64, dur time.Duration) {
	n.flow(src, dst, port, flow.ProtoTCP, sec, 2_000_000, 6_000_000, dur, flow.ActionPass)
}

func TestLongConns(t *testing.T) {
	type want struct {
		flagged    bool
		minS, maxS float64
		reason     string
	}
	f := func(name string, build func(n *scanNet), wants map[string]want) {
		t.Helper()
		n := newScanNet()
		lcBackground(n)
		build(n)
		fs, notes := LongConns(n.view(t, scanInputFull), DefaultLongConn())
		if len(notes) != 0 {
			t.Errorf("%s: notes %+v", name, notes)
		}
		got := byHost(fs, LongConn)
		if len(got) != len(wants) {
			t.Errorf("%s: findings %+v, want %d", name, got, len(wants))
		}
		for h, w := range wants {
			g, ok := got[h]
			if !ok {
				t.Errorf("%s: no finding for %s", name, h)
				continue
			}
			if g.Flagged != w.flagged || g.Score < w.minS || g.Score > w.maxS || !strings.Contains(g.Reason, w.reason) || len(g.Peers) == 0 {
				t.Errorf("%s: %s = %+v, want flagged=%v score in [%v,%v] reason containing %q", name, h, g, w.flagged, w.minS, w.maxS, w.reason)
			}
		}
	}
	// Planted: a 10-hour remote shell to a rare external address, once a day.
	f("shell", func(n *scanNet) {
		for d := range 2 {
			lcSession(n, "10.0.0.10", "203.0.113.7", 443, int64(d*86400+7*3600), 10*time.Hour)
		}
	}, map[string]want{"10.0.0.10": {true, 0.75, 0.85, "10.0 h connection to 203.0.113.7:443 (external, longest of 2 sessions)"}})
	// A rare destination from RITA's 4-hour bucket is enough.
	f("five hours", func(n *scanNet) {
		lcSession(n, "10.0.0.11", "203.0.113.8", 22, 0, 5*time.Hour)
	}, map[string]want{"10.0.0.11": {true, 0.6, 0.7, "5.0 h"}})
	// Look-alike: 1-3 hour video streams to a CDN three hosts share: candidates, never flagged.
	f("streaming", func(n *scanNet) {
		for i, d := range []time.Duration{time.Hour + 10*time.Minute, 2 * time.Hour, 3 * time.Hour} {
			lcSession(n, fmt.Sprintf("10.0.1.%d", i+1), "198.51.100.80", 443, int64(12*3600), d)
		}
	}, map[string]want{
		"10.0.1.1": {false, 0.1, 0.59, "3 of 43 internal hosts use it"},
		"10.0.1.2": {false, 0.1, 0.59, "2.0 h"},
		"10.0.1.3": {false, 0.1, 0.59, "3.0 h"},
	})
	// A shared destination needs RITA's 8-hour bucket: 5 h to a CDN three hosts use is not enough.
	f("shared five hours", func(n *scanNet) {
		for i := range 3 {
			lcSession(n, fmt.Sprintf("10.0.1.%d", i+1), "198.51.100.80", 443, 0, 5*time.Hour)
		}
	}, map[string]want{
		"10.0.1.1": {false, 0.4, 0.59, ""}, "10.0.1.2": {false, 0.4, 0.59, ""}, "10.0.1.3": {false, 0.4, 0.59, ""},
	})
	// A destination most hosts use (mail, chat) is infrastructure: not even a candidate.
	f("prevalent", func(n *scanNet) {
		for i := range 40 {
			lcSession(n, fmt.Sprintf("10.9.0.%d", i+1), "198.51.100.25", 993, 0, 9*time.Hour)
		}
	}, map[string]want{})
	// Internal to internal: a 10 h session to a rare internal host stays a candidate, 13 h is flagged.
	f("internal", func(n *scanNet) {
		lcSession(n, "10.0.0.12", "10.0.5.5", 3389, 0, 10*time.Hour)
		lcSession(n, "10.0.0.13", "10.0.5.6", 3389, 0, 13*time.Hour)
	}, map[string]want{
		"10.0.0.12": {false, 0.4, 0.59, "(internal, one session)"},
		"10.0.0.13": {true, 0.6, 0.7, "13.0 h"},
	})
	// An exporter's active timeout cut a 10 h session into 20 half-hour records: joined.
	f("stitched", func(n *scanNet) {
		for i := range 20 {
			lcSession(n, "10.0.0.14", "203.0.113.9", 443, int64(i*1800), 30*time.Minute)
		}
	}, map[string]want{"10.0.0.14": {true, 0.75, 0.85, "20 back-to-back records joined"}})
	// Look-alike: a miner reconnecting every 30 s (20 s sessions) all day is not one long session.
	f("miner", func(n *scanNet) {
		for i := range 2880 {
			n.flow("10.0.0.15", "203.0.113.10", 3333, flow.ProtoTCP, int64(i*30), 400, 300, 20*time.Second, flow.ActionPass)
		}
	}, map[string]want{})
	// Nothing long.
	f("none", func(n *scanNet) {}, map[string]want{})
}

func TestLongConnsNoDuration(t *testing.T) {
	for _, in := range []scanInput{scanInputFirewall, scanInputCSV} {
		n := newScanNet()
		lcBackground(n)
		lcSession(n, "10.0.0.10", "203.0.113.7", 443, 0, 10*time.Hour)
		fs, notes := LongConns(n.view(t, in), DefaultLongConn())
		if len(fs) != 0 || len(notes) != 1 || notes[0].Detector != LongConn || !strings.HasPrefix(notes[0].Text, "skipped") {
			t.Errorf("%s: findings %+v notes %+v: want none and a skip note", in, fs, notes)
		}
	}
}

// TestLongConnOfficeAccuracy runs the office scenario on seeds the detector was not tuned on.
// Only inputs with durations can find the planted session; the others must say they skipped.
func TestLongConnOfficeAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("simulated scenarios")
	}
	for _, seed := range []uint64{11, 12, 13} {
		sc, v := scanOfficeView(t, seed, scanInputFull)
		fs, _ := LongConns(v, DefaultLongConn())
		scanAssertTruth(t, fmt.Sprintf("seed %d", seed), sc, fs, LongConn)
		for _, in := range []scanInput{scanInputFirewall, scanInputCSV} {
			_, v := scanOfficeView(t, seed, in)
			if fs, notes := LongConns(v, DefaultLongConn()); len(fs) != 0 || len(notes) != 1 {
				t.Errorf("seed %d %s: findings %d notes %+v: want a skip note", seed, in, len(fs), notes)
			}
		}
	}
}

func BenchmarkLongConnsOffice(b *testing.B) {
	_, v := scanOfficeView(b, 11, scanInputFull)
	b.ReportAllocs()
	for b.Loop() {
		LongConns(v, DefaultLongConn())
	}
}

func BenchmarkLongConnsMillion(b *testing.B) {
	v := scanSyntheticView(5000, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		LongConns(v, DefaultLongConn())
	}
}
