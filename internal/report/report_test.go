package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/score"
)

// hostile is a run whose reason and peers carry attacker-controlled log content.
func hostile() *Run {
	evil := "pool.<script>alert(1)</script>\x1b[2J\"><img src=x onerror=alert(2)>\u202e=cmd|' /C calc'!A0"
	f := detect.Finding{Host: netip.MustParseAddr("10.0.0.5"), Category: detect.Miner, Score: 0.91, Flagged: true,
		Peers: []string{"=HYPERLINK(\"http://x\")"}, Reason: "connections to " + evil,
		Evidence: map[string]any{"names": []string{evil}}}
	return &Run{Hosts: []score.Host{{Addr: f.Host, Score: 0.91, Flagged: true, Findings: []detect.Finding{f}}},
		Ingest: &ingest.Summary{}, Scope: netscope.Default(), ScopeSource: "default"}
}

func TestJSONEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, hostile()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, raw := range []string{"<script>", "<img", "\x1b"} {
		if strings.Contains(out, raw) {
			t.Errorf("JSON contains raw %q", raw)
		}
	}
	var doc Document
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc.Hosts[0].Findings[0].Reason, "<script>") {
		t.Error("escaping lost the content")
	}
	if doc.Hosts[0].Findings[0].Flagged != nil {
		t.Error(`"flagged" present without --all`)
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	var b bytes.Buffer
	if err := CSV(&b, hostile()); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || strings.Join(rows[0], ",") != "ip,category,score,peers,reason" {
		t.Fatalf("rows %q", rows)
	}
	if peers := rows[1][3]; !strings.HasPrefix(peers, "'=") {
		t.Errorf("formula not neutralised: %q", peers)
	}
	if strings.ContainsAny(rows[1][4], "\x1b\u202e") {
		t.Errorf("control characters kept: %q", rows[1][4])
	}
}

func TestTableEscapesControls(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, hostile()); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(b.String(), "\x1b\u202e") {
		t.Errorf("table has raw control characters:\n%q", b.String())
	}
	if !strings.Contains(b.String(), `\x1b[2J`) {
		t.Errorf("escape sequence not shown as text:\n%s", b.String())
	}
}

func TestPrintable(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
	f("plain text", "plain text")
	f("é ü 日本", "é ü 日本")
	f("a\x1b[31mred", `a\x1b[31mred`)
	f("tab\there", `tab\there`)
	f("rtl\u202eoverride", `rtl\u202eoverride`)
	f("nul\x00", `nul\x00`)
}

func TestBuildAll(t *testing.T) {
	r := hostile()
	r.All = true
	r.Hosts[0].Findings = append(r.Hosts[0].Findings, detect.Finding{Host: r.Hosts[0].Addr, Category: detect.Talker, Score: 0.1})
	d := Build(r)
	fs := d.Hosts[0].Findings
	if fs[0].Flagged == nil || !*fs[0].Flagged || fs[1].Flagged == nil || *fs[1].Flagged {
		t.Errorf("--all: flagged markers %+v %+v", fs[0].Flagged, fs[1].Flagged)
	}
	if fs[1].Peers == nil || fs[1].Evidence == nil {
		t.Error("nil peers/evidence would encode as null")
	}
}

func TestFilter(t *testing.T) {
	r := hostile()
	if got := Filter(r.Hosts, []string{detect.Beacon}); len(got) != 0 {
		t.Errorf("Filter(beacon) = %+v", got)
	}
	if got := Filter(r.Hosts, []string{detect.Miner, detect.Beacon}); len(got) != 1 {
		t.Errorf("Filter(miner,beacon) = %+v", got)
	}
}
