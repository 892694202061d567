package intel

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestPoolsMatch(t *testing.T) {
	p := MiningPools()
	if p.Version == "" || p.Len() < 30 {
		t.Fatalf("pool list version %q, %d entries", p.Version, p.Len())
	}
	f := func(name, want string) {
		t.Helper()
		if got := p.Match(name); got != want {
			t.Errorf("Match(%q) = %q, want %q", name, got, want)
		}
	}
	f("xmr-eu1.nanopool.org", "nanopool.org")  // subdomain
	f("NANOPOOL.ORG.", "nanopool.org")         // case and trailing dot
	f("pool.supportxmr.com", "supportxmr.com") // monero
	f("gulf.moneroocean.stream", "moneroocean.stream")
	f("notnanopool.org", "") // label boundary
	f("nanopool.org.evil.com", "")
	f("www.google.com", "")
	f("", "")
}

func TestMiningPorts(t *testing.T) {
	ports, v := MiningPorts()
	if v == "" || !ports[3333] || !ports[14444] || ports[443] || ports[80] {
		t.Fatalf("ports %v version %q", ports, v)
	}
}

func TestReadHosts(t *testing.T) {
	m, err := ReadHosts(strings.NewReader("# reverse DNS\n1.2.3.4 pool.minexmr.com\n\n5.6.7.8 a.example b.example. # two\n::ffff:9.9.9.9 nine\n"), "map.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := m[netip.MustParseAddr("5.6.7.8")]; len(got) != 2 || got[1] != "b.example" {
		t.Errorf("5.6.7.8 → %v", got)
	}
	if got := m[netip.MustParseAddr("9.9.9.9")]; len(got) != 1 {
		t.Errorf("mapped v4 not unmapped: %v", m)
	}
	if _, err := ReadHosts(strings.NewReader("#separator \\x09\n#fields\tts\n"), "dns.log"); !errors.Is(err, ErrNotHosts) {
		t.Errorf("zeek log: err %v, want ErrNotHosts", err)
	}
	_, err = ReadHosts(strings.NewReader("1.2.3.4 a\nnot-an-ip b\n"), "map.txt")
	if err == nil || !strings.Contains(err.Error(), "map.txt:2") {
		t.Errorf("bad line: err %v, want map.txt:2", err)
	}
}

func TestAllowList(t *testing.T) {
	l, err := ReadAllowList(strings.NewReader("# known good\n203.0.113.0/24\n198.51.100.7\nbackup-provider.com.\n\n::ffff:192.0.2.1 # mapped\n"), "allow.txt")
	if err != nil {
		t.Fatal(err)
	}
	f := func(addr string, names []string, want bool) {
		t.Helper()
		if got := l.Allows(netip.MustParseAddr(addr), names); got != want {
			t.Errorf("Allows(%s, %v) = %v, want %v", addr, names, got, want)
		}
	}
	f("203.0.113.77", nil, true)
	f("198.51.100.7", nil, true)
	f("198.51.100.8", nil, false)
	f("192.0.2.1", nil, true)
	f("8.8.8.8", []string{"vault.Backup-Provider.com"}, true)
	f("8.8.8.8", []string{"notbackup-provider.com"}, false)
	f("8.8.8.8", []string{"evil.com", "backup-provider.com"}, true)
	if l.Len() != 4 {
		t.Errorf("Len = %d", l.Len())
	}
	if _, err := ReadAllowList(strings.NewReader("ok.com\nnot a name!\n"), "allow.txt"); err == nil || !strings.Contains(err.Error(), "allow.txt:2") {
		t.Errorf("bad line: %v", err)
	}
}

func TestStratumMethod(t *testing.T) {
	tests := []struct {
		payload, want string
	}{
		{`{"id":1,"method":"mining.subscribe","params":["cgminer/4.10.0"]}` + "\n", "mining.subscribe"},
		{`{"id":2,"method":"mining.authorize","params":["wallet.rig1","x"]}`, "mining.authorize"},
		{`{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4A","pass":"x","agent":"XMRig/6.21.0"}}`, "login"},
		{` {"jsonrpc":"2.0","method" : "job","params":{"blob":"0707"}}`, "job"},
		{`{"id":1,"method":"mining.subs`, ""}, // cut before the method ends
		{`{"id":1,"method":"eth_getBalance","params":[]}`, ""},
		{"POST /login HTTP/1.1\r\nHost: example.com\r\n\r\n{\"method\":\"login\"}", ""},
		{"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", ""},
		{`{"user":"login","method":1}`, ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := StratumMethod([]byte(tt.payload)); got != tt.want {
			t.Errorf("StratumMethod(%q) = %q, want %q", tt.payload, got, tt.want)
		}
	}
}
