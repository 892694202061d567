package flow

import (
	"net/netip"
	"testing"
)

func TestParseAddr(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		a, ok := ParseAddr([]byte(in))
		if want == "" {
			if ok {
				t.Errorf("ParseAddr(%q) = %v, want failure", in, a)
			}
			return
		}
		if !ok || a != netip.MustParseAddr(want) {
			t.Errorf("ParseAddr(%q) = %v, %v; want %s", in, a, ok, want)
		}
	}
	f("172.16.0.10", "172.16.0.10")
	f("0.0.0.0", "0.0.0.0")
	f("255.255.255.255", "255.255.255.255")
	f("2001:db8::1", "2001:db8::1")
	f("::ffff:10.0.0.1", "10.0.0.1") // v4-mapped is unmapped, so both spellings are one host
	f("fe80::1", "fe80::1")
	f("", "")
	f("256.1.1.1", "")
	f("1.2.3", "")
	f("1.2.3.4.5", "")
	f("01.2.3.4", "") // leading zeros are ambiguous (octal in some tools): refused as netip does
	f("1..2.3", "")
	f("1.2.3.", "")
	f(" 1.2.3.4", "")
	f("fe80::1%eth0", "") // zones are not addresses in logs
	f("host.example", "")
	f("1.2.3.4a", "")
}

func TestParsePortProto(t *testing.T) {
	if p, ok := ParsePort([]byte("65535")); !ok || p != 65535 {
		t.Errorf("65535 → %d %v", p, ok)
	}
	for _, bad := range []string{"65536", "-1", "", "1e3", "80 ", "99999999999999999999999"} {
		if _, ok := ParsePort([]byte(bad)); ok {
			t.Errorf("ParsePort(%q) ok", bad)
		}
	}
	f := func(in string, want uint8, wantOK bool) {
		t.Helper()
		if got, ok := ParseProto([]byte(in)); got != want || ok != wantOK {
			t.Errorf("ParseProto(%q) = %d %v, want %d %v", in, got, ok, want, wantOK)
		}
	}
	f("tcp", ProtoTCP, true)
	f("TCP", ProtoTCP, true)
	f("Udp", ProtoUDP, true)
	f("icmp", ProtoICMP, true)
	f("ipv6-icmp", ProtoICMPv6, true)
	f("6", ProtoTCP, true)
	f("17", ProtoUDP, true)
	f("256", 0, false)
	f("quic", 0, false)
	f("", 0, false)
	f("averyveryverylongprotocolname", 0, false)
	if ProtoName(ProtoTCP) != "tcp" || ProtoName(200) != "" {
		t.Error("ProtoName")
	}
}

func TestReset(t *testing.T) {
	r := Record{Src: netip.MustParseAddr("1.2.3.4"), DNSQuery: "x", DNSAnswers: make([]netip.Addr, 2, 8)}
	r.Reset()
	if r.Src.IsValid() || r.DNSQuery != "" || len(r.DNSAnswers) != 0 || cap(r.DNSAnswers) != 8 {
		t.Errorf("Reset left %+v (cap %d)", r, cap(r.DNSAnswers))
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"10.0.0.1", "2001:db8::1", "::ffff:1.2.3.4", "1.2.3.256", "01.1.1.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, ok := ParseAddr([]byte(s))
		want, err := netip.ParseAddr(s)
		if err == nil && want.Zone() == "" {
			if !ok || a != want.Unmap() {
				t.Errorf("ParseAddr(%q) = %v %v; netip says %v", s, a, ok, want)
			}
		} else if ok {
			t.Errorf("ParseAddr(%q) = %v; netip refuses it: %v", s, a, err)
		}
	})
}

func BenchmarkParseAddr(b *testing.B) {
	in := []byte("120.18.201.129")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, ok := ParseAddr(in); !ok {
			b.Fatal("parse")
		}
	}
}
