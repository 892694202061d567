package engine

import (
	"net/netip"
	"testing"

	"github.com/flowhunt/flowhunt/internal/flow"
)

func TestHostOnly(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := hostOnly(in); got != want {
			t.Errorf("hostOnly(%q) = %q, want %q", in, got, want)
		}
	}
	f("www.example.com", "www.example.com")
	f("www.example.com:8080", "www.example.com")
	f("10.0.0.1", "")
	f("10.0.0.1:8080", "")
	f("2001:db8::1", "")
	f("[2001:db8::1]:443", "")
	f("[2001", "") // Zeek cuts the Host header at the first colon
	f(":80", "")
	f("", "")
}

func TestMergeTwice(t *testing.T) {
	agg := NewAggregator()
	r := fl("10.0.0.1", "8.8.8.8", 53, flow.ProtoUDP, 1)
	agg.NewShard().Add(&r)
	m1 := agg.Merge()
	if m2 := agg.Merge(); m2 != m1 || m1.Flows() != 1 {
		t.Errorf("second Merge: %p vs %p, flows %d", m2, m1, m1.Flows())
	}
}

func TestSpanIgnoresUntimedFlows(t *testing.T) {
	timed := fl("10.0.0.1", "8.8.8.8", 53, flow.ProtoUDP, 100)
	untimed := fl("10.0.0.2", "8.8.8.8", 53, flow.ProtoUDP, 0)
	untimed.Time = 0 // a bare filterlog line
	m := mergeRR([]flow.Record{untimed, timed}, 2)
	if first, last := m.Span(); first != timed.Time || last != timed.Time {
		t.Errorf("span %d..%d, want %d (the untimed flow ignored)", first, last, timed.Time)
	}
	m = mergeRR([]flow.Record{untimed}, 1)
	if first, last := m.Span(); first != 0 || last != 0 || m.Fields().Times {
		t.Errorf("all untimed: span %d..%d, Times %v", first, last, m.Fields().Times)
	}
}

func TestExclude(t *testing.T) {
	recs := []flow.Record{
		fl("10.0.0.1", "203.0.113.5", 443, flow.ProtoTCP, 1),
		fl("10.0.0.1", "203.0.113.5", 443, flow.ProtoTCP, 2),
		fl("10.0.0.2", "198.51.100.9", 443, flow.ProtoTCP, 3),
		fl("10.0.0.2", "8.8.8.8", 53, flow.ProtoUDP, 4),
	}
	m := mergeRR(recs, 2)
	m.AddNames(ip("198.51.100.9"), "vault.backup.example")
	pairs, flows := m.Exclude(func(dst netip.Addr, names []string) bool {
		return dst == ip("203.0.113.5") || (len(names) > 0 && names[0] == "vault.backup.example")
	})
	if pairs != 2 || flows != 3 {
		t.Errorf("excluded %d pairs, %d flows; want 2, 3", pairs, flows)
	}
	m.Apply(mustScope(t, "10.0.0.0/8"))
	if h, _ := m.Host(ip("10.0.0.1")); h != nil && h.ConnsOut != 0 {
		t.Errorf("host totals still count allowed traffic: %+v", h)
	}
	if h, _ := m.Host(ip("10.0.0.2")); h == nil || h.ConnsOut != 1 || m.Prevalence(ip("198.51.100.9")) != 0 {
		t.Errorf("10.0.0.2 = %+v", h)
	}
}
