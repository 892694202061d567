package ingest

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/flow"
)

func TestOrientReply(t *testing.T) {
	a, b := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("93.184.216.34")
	rec := func(proto uint8, sport, dport uint16, in uint64) flow.Record {
		return flow.Record{Src: a, Dst: b, SrcPort: sport, DstPort: dport, Proto: proto, BytesOut: 900, PktsOut: 3, BytesIn: in}
	}
	for _, tc := range []struct {
		name    string
		in      flow.Record
		flipped bool
	}{
		{"https answer", rec(flow.ProtoTCP, 443, 51000, 0), true},
		{"dns answer", rec(flow.ProtoUDP, 53, 40123, 0), true},
		{"registered service above 1024 (PostgreSQL)", rec(flow.ProtoTCP, 5432, 60001, 0), true},
		{"SSDP answer", rec(flow.ProtoUDP, 1900, 37146, 0), true},
		{"client request", rec(flow.ProtoTCP, 51000, 443, 0), false},
		{"both services (NTP peers, SMTP relay)", rec(flow.ProtoUDP, 123, 123, 0), false},
		{"service to service port above 1024", rec(flow.ProtoTCP, 80, 8080, 0), false},
		{"both ephemeral (P2P)", rec(flow.ProtoTCP, 40000, 50000, 0), false},
		{"to a low client port", rec(flow.ProtoTCP, 443, 1000, 0), false},
		{"biflow with reverse counters", rec(flow.ProtoTCP, 443, 51000, 40), false},
		{"ICMP", rec(flow.ProtoICMP, 0, 3<<8, 0), false},
	} {
		r := tc.in
		got := orientReply(&r)
		if got != tc.flipped {
			t.Errorf("%s: turned round %v, want %v", tc.name, got, tc.flipped)
			continue
		}
		want := tc.in
		if tc.flipped {
			want = flow.Record{Src: b, Dst: a, SrcPort: tc.in.DstPort, DstPort: tc.in.SrcPort, Proto: tc.in.Proto, BytesIn: 900, PktsIn: 3,
				Kind: flow.KindReply}
		}
		if r.Src != want.Src || r.Dst != want.Dst || r.SrcPort != want.SrcPort || r.DstPort != want.DstPort ||
			r.BytesOut != want.BytesOut || r.BytesIn != want.BytesIn || r.PktsOut != want.PktsOut || r.PktsIn != want.PktsIn ||
			r.Kind != want.Kind {
			t.Errorf("%s: %+v, want %+v", tc.name, r, want)
		}
	}
}

// TestCSVReplyColumn: the reply column flowhunt collect writes marks answer halves; a value that
// is not a flag is a bad field, counted with its line.
func TestCSVReplyColumn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.csv")
	data := "ts,src,dst,sport,dport,proto,bytes_out,bytes_in,reply\n" +
		"1700000000,10.0.0.1,8.8.8.8,40000,53,udp,70,0,0\n" +
		"1700000000,10.0.0.1,8.8.8.8,40000,53,udp,0,90,1\n" +
		"1700000001,10.0.0.1,8.8.8.8,40001,53,udp,0,90,true\n" +
		"1700000002,10.0.0.1,8.8.8.8,40002,53,udp,0,90,maybe\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, fs, err := readFiles(t, []string{path}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []flow.Kind
	for _, r := range recs {
		kinds = append(kinds, r.Kind)
	}
	if !slices.Equal(kinds, []flow.Kind{flow.KindFlow, flow.KindReply, flow.KindReply}) {
		t.Errorf("kinds %v, want flow, reply, reply", kinds)
	}
	if fs.Skipped != 1 || !strings.Contains(fs.SkipSummary(), `bad reply flag (first at line 5`) {
		t.Errorf("skipped %d: %s; want line 5's bad reply flag", fs.Skipped, fs.SkipSummary())
	}
}
