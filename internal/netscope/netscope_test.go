package netscope

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

func TestParseContains(t *testing.T) {
	s, err := Parse([]string{"120.18.0.0/16", " 10.1.2.3 ", "fd00::/8", "::ffff:192.0.2.0/120", ""})
	if err != nil {
		t.Fatal(err)
	}
	f := func(addr string, want bool) {
		t.Helper()
		if got := s.Contains(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Contains(%s) = %v, want %v", addr, got, want)
		}
	}
	f("120.18.201.129", true) // public range used internally (seed 003)
	f("120.19.0.1", false)
	f("10.1.2.3", true) // bare address is a /32
	f("10.1.2.4", false)
	f("fd12::1", true)
	f("192.0.2.77", true) // v4-mapped prefix unmapped
	f("8.8.8.8", false)
	if got := strings.Join(s.Strings(), ","); got != "120.18.0.0/16,10.1.2.3/32,fd00::/8,192.0.2.0/24" {
		t.Errorf("Strings() = %s", got)
	}
	if s.Contains(netip.Addr{}) {
		t.Error("invalid address contained")
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"10.0.0.0/33", "nonsense", "10.0.0/8", "1.2.3.4/"} {
		if _, err := Parse([]string{bad}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("Parse(%q): err %v, want an error naming it", bad, err)
		}
	}
}

func TestDefault(t *testing.T) {
	d := Default()
	for _, a := range []string{"10.0.0.1", "172.31.255.255", "192.168.1.20", "100.64.0.1", "169.254.1.1", "fd00::1", "fe80::1"} {
		if !d.Contains(netip.MustParseAddr(a)) {
			t.Errorf("default scope misses %s", a)
		}
	}
	for _, a := range []string{"172.32.0.1", "8.8.8.8", "2001:db8::1", "100.128.0.1"} {
		if d.Contains(netip.MustParseAddr(a)) {
			t.Errorf("default scope contains %s", a)
		}
	}
}

func TestInfer(t *testing.T) {
	var acts []Activity
	add := func(addr string, dsts int, flows int64) {
		acts = append(acts, Activity{Addr: netip.MustParseAddr(addr), ServiceDsts: dsts, Flows: flows})
	}
	// Seed 003: a public /16 used internally, clients spread over many /24s.
	for i := range 40 {
		add(fmt.Sprintf("120.18.%d.%d", i*6, 10+i), 5+i, 100)
	}
	// A small office /24: narrowed to /24.
	for i := range 5 {
		add(fmt.Sprintf("147.32.83.%d", 100+i), 3, 50)
	}
	// Internet: replies and scanners, one address per /16, and a scanner /16 with one-destination probes.
	for i := range 200 {
		add(fmt.Sprintf("%d.%d.1.1", 20+i%180, i), 1, 2)
	}
	for i := range 30 {
		add(fmt.Sprintf("167.94.138.%d", i), 1, 10) // censys-like: each hits one host
	}
	// Two unrelated busy clients in one foreign /16: below the group minimum.
	add("52.0.1.1", 10, 10)
	add("52.0.200.1", 10, 10)

	got := Infer(acts, 100_000)
	want := []string{"120.18.0.0/16", "147.32.83.0/24"}
	if len(got) != len(want) {
		t.Fatalf("Infer = %+v, want %v", got, want)
	}
	for i, w := range want {
		if got[i].Prefix.String() != w || got[i].Reason == "" {
			t.Errorf("inferred[%d] = %+v, want %s with a reason", i, got[i], w)
		}
	}
	if got[0].Clients != 40 {
		t.Errorf("clients = %d, want 40", got[0].Clients)
	}
}

func TestInferSingleHostCapture(t *testing.T) {
	acts := []Activity{
		{Addr: netip.MustParseAddr("147.32.81.167"), ServiceDsts: 40, Flows: 9_000},
		{Addr: netip.MustParseAddr("8.8.8.8"), Flows: 3_000},
		{Addr: netip.MustParseAddr("1.1.1.1"), Flows: 2_000},
	}
	got := Infer(acts, 10_000)
	if len(got) != 1 || got[0].Prefix.String() != "147.32.81.167/32" || !strings.Contains(got[0].Reason, "90%") {
		t.Fatalf("Infer = %+v, want the capture host as /32", got)
	}
	// A benign network with no clients and no dominant host infers nothing.
	if got := Infer(acts[1:], 10_000); len(got) != 0 {
		t.Errorf("Infer on servers only = %+v", got)
	}
}
