package report

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/score"
)

func TestSparkline(t *testing.T) {
	f := func(in []uint64, want string) {
		t.Helper()
		if got := Sparkline(in); got != want {
			t.Errorf("Sparkline(%v) = %q, want %q", in, got, want)
		}
	}
	f([]uint64{0, 1, 2, 3, 4, 5, 6, 7}, " ▂▃▄▅▆▇█")
	f([]uint64{0, 0}, "  ")
	f([]uint64{5}, "█")
	f(nil, "")
	if got := downsample([]uint64{1, 1, 1, 1, 1, 1}, 3); len(got) != 3 || got[0] != 2 {
		t.Errorf("downsample = %v", got)
	}
}

func TestExplain(t *testing.T) {
	agg := engine.NewAggregator()
	sh := agg.NewShard()
	src, dst := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("203.0.113.9")
	for i := range 30 {
		sh.Add(&flow.Record{Time: int64(1_741_600_800+i*600) * 1e9, Src: src, Dst: dst, DstPort: 443, Proto: flow.ProtoTCP, BytesOut: 100})
	}
	m := agg.Merge()
	m.AddNames(dst, "evil\x1b[2J.example")
	scope, _ := netscope.Parse([]string{"10.0.0.0/8"})
	m.Apply(scope)
	host := &score.Host{Addr: src, Score: 0.8, Flagged: true, Findings: []detect.Finding{{Host: src, Category: detect.Beacon, Score: 0.8,
		Flagged: true, Peers: []string{"203.0.113.9:443"}, Reason: "30 connections every 600 s", Evidence: map[string]any{"period_s": 600}}}}
	var b bytes.Buffer
	if err := Explain(&b, src, host, m); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"10.0.0.5 (internal)  score 0.80  beacon", "beacon 0.80 (flagged): 30 connections every 600 s",
		"evidence: period_s=600", "203.0.113.9", "30 flows", `evil\x1b[2J.example`, "flows per hour of day"} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("raw escape in output")
	}
	b.Reset()
	Explain(&b, netip.MustParseAddr("10.9.9.9"), nil, m)
	if !strings.Contains(b.String(), "not seen") {
		t.Errorf("unknown host: %s", b.String())
	}
	b.Reset()
	Explain(&b, dst, nil, m)
	if !strings.Contains(b.String(), "(external)") || !strings.Contains(b.String(), "none") {
		t.Errorf("host without findings: %s", b.String())
	}
}
