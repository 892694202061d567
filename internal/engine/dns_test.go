package engine

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/flow"
)

func TestDNSDomains(t *testing.T) {
	q := func(src, name string, qtype uint16) flow.Record {
		return flow.Record{Time: 1e18, Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr("10.0.0.53"), DstPort: 53,
			Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: name, DNSType: qtype}
	}
	recs := []flow.Record{
		q("10.0.0.5", "aaaa.t.exfil.co.uk", 16),
		q("10.0.0.5", "bbbbbbbb.t.exfil.co.uk.", 16),
		q("10.0.0.5", "AAAA.t.exfil.co.uk", 1), // same subdomain, other case
		q("10.0.0.5", "www.example.com", 1),
		q("10.0.0.6", "www.example.com", 28),
		q("10.0.0.6", "localhost", 1),
	}
	m := mergeRR(recs, 2)
	got := map[string]*DNSDomain{}
	for d := range m.DNSDomains() {
		got[d.Host.String()+" "+d.Domain] = d
	}
	if len(got) != 4 {
		t.Fatalf("domains %v", got)
	}
	d := got["10.0.0.5 exfil.co.uk"] // registered domain under a multi-label public suffix
	if d == nil || d.Queries != 3 || d.Distinct != 2 || d.TXT != 2 || d.SubLenMax != 10 || d.SubLenTotal != 6+10+6 {
		t.Errorf("exfil.co.uk: %+v", d)
	}
	if d := got["10.0.0.6 localhost"]; d == nil || d.Queries != 1 {
		t.Errorf("bare name kept whole: %+v", got)
	}
	if m.Flows() != 0 {
		t.Errorf("DNS events counted as flows: %d", m.Flows())
	}
}

func TestEntropy(t *testing.T) {
	f := func(s string, want float64) {
		t.Helper()
		if got := entropy(s); math.Abs(got-want) > 1e-9 {
			t.Errorf("entropy(%q) = %v, want %v", s, got, want)
		}
	}
	f("", 0)
	f("aaaa", 0)
	f("ab", 1)
	f("abcd", 2)
	f(strings.Repeat("abcdefgh", 4), 3)
}

func TestDNSDistinctCap(t *testing.T) {
	var recs []flow.Record
	for i := range MaxDistinctLabels + 10 {
		recs = append(recs, flow.Record{Time: 1e18, Src: netip.MustParseAddr("10.0.0.5"), Dst: netip.MustParseAddr("10.0.0.53"),
			Kind: flow.KindEvent, DNSQuery: strings.Repeat("x", 1+i%50) + "-" + string(rune('a'+i%26)) + strconv.Itoa(i) + ".example.com"})
	}
	m := mergeRR(recs, 1)
	for d := range m.DNSDomains() {
		if d.Distinct != MaxDistinctLabels || !d.DistinctCapped || d.Queries != int64(len(recs)) {
			t.Errorf("%+v", d)
		}
	}
}
