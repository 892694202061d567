package detect

import (
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/flow"
)

func TestAttachAlerts(t *testing.T) {
	n := newNet()
	n.conns("10.0.0.5", "203.0.113.9", 443, 3, 200)
	n.conns("10.0.0.5", "203.0.113.9", 8080, 3, 200)
	n.conns("10.0.0.6", "198.51.100.1", 80, 2, 200)
	alert := func(src, dst string, sport, dport uint16, sig string) {
		n.recs = append(n.recs, flow.Record{Time: n.t, Kind: flow.KindEvent, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
			SrcPort: sport, DstPort: dport, Proto: flow.ProtoTCP, Alert: sig, AlertSeverity: 1})
	}
	alert("10.0.0.5", "203.0.113.9", 50000, 443, "ET MALWARE Cobalt Strike Beacon")
	alert("10.0.0.5", "203.0.113.9", 50000, 443, "ET JA3 Hash - Suspected Cobalt Strike")
	alert("10.0.0.5", "203.0.113.9", 50000, 8080, "ET POLICY HTTP on 8080") // another port: not this finding's
	alert("10.0.0.6", "198.51.100.1", 50000, 80, "ET SCAN Nmap")            // a host with no finding
	v := n.view(t)

	fs := []Finding{
		{Host: netip.MustParseAddr("10.0.0.5"), Category: Beacon, Score: 0.9, Flagged: true, Peers: []string{"203.0.113.9:443"},
			Reason: "every 60 s", Evidence: map[string]any{}},
		{Host: netip.MustParseAddr("10.0.0.7"), Category: Talker, Score: 0.5, Flagged: true, Peers: []string{"203.0.113.9:443"}, Reason: "busy"},
	}
	notes := attachAlerts(v, fs)
	want := []string{"ET JA3 Hash - Suspected Cobalt Strike", "ET MALWARE Cobalt Strike Beacon"}
	if got, _ := fs[0].Evidence["ids_alerts"].([]string); !slices.Equal(got, want) {
		t.Errorf("ids_alerts %q, want %q", got, want)
	}
	if math.Abs(fs[0].Score-0.95) > 1e-9 || !strings.Contains(fs[0].Reason, "IDS alerts on these flows: ET JA3") || strings.Contains(fs[0].Reason, "8080") {
		t.Errorf("finding %+v: want score 0.95 and the two signatures of port 443 only", fs[0])
	}
	if fs[1].Score != 0.5 || fs[1].Evidence != nil {
		t.Errorf("another host's finding took the alerts: %+v", fs[1])
	}
	// Uncovered: 10.0.0.6's alert, and 10.0.0.5's alert on port 8080, which no finding is about.
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "10.0.0.5 (1 pairs, 0 inbound; commonest: ET POLICY HTTP on 8080)") ||
		!strings.Contains(notes[0].Text, "10.0.0.6 (1 pairs, 0 inbound; commonest: ET SCAN Nmap)") {
		t.Errorf("notes %+v: want one naming 10.0.0.5's port 8080 alert and 10.0.0.6's", notes)
	}

	// No alerts in the input: nothing changes, no note.
	m := newNet()
	m.conns("10.0.0.5", "203.0.113.9", 443, 3, 200)
	fs2 := []Finding{{Host: netip.MustParseAddr("10.0.0.5"), Category: Beacon, Score: 0.9, Peers: []string{"203.0.113.9:443"}}}
	if notes := attachAlerts(m.view(t), fs2); notes != nil || fs2[0].Score != 0.9 {
		t.Errorf("without alerts: notes %v, finding %+v", notes, fs2[0])
	}
}
