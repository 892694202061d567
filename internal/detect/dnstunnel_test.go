package detect

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// dtQuery appends a DNS query event (as a Zeek dns.log line gives it) and its UDP flow.
func dtQuery(recs []flow.Record, src, name string, qtype uint16, size uint64, t time.Time) []flow.Record {
	s, r := netip.MustParseAddr(src), netip.MustParseAddr("10.0.0.53")
	return append(recs,
		flow.Record{Time: t.UnixNano(), Src: s, Dst: r, DstPort: 53, Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: name, DNSType: qtype},
		flow.Record{Time: t.UnixNano(), Src: s, Dst: r, DstPort: 53, Proto: flow.ProtoUDP, BytesOut: size, PktsOut: 1})
}

func dtRandom(rng *rand.Rand, n int) string {
	const b32 = "abcdefghijklmnopqrstuvwxyz234567"
	var b strings.Builder
	for range n {
		b.WriteByte(b32[rng.IntN(32)])
	}
	return b.String()
}

// dtBackground: 20 users resolving ordinary names.
func dtBackground(rng *rand.Rand) []flow.Record {
	var recs []flow.Record
	for u := range 20 {
		for i := range 60 {
			name := fmt.Sprintf("www%d.example-site.com", rng.IntN(300))
			recs = dtQuery(recs, fmt.Sprintf("10.0.1.%d", u+1), name, 1, uint64(40+len(name)), exDay0.Add(time.Duration(u*97+i)*time.Minute))
		}
	}
	return recs
}

func TestDNSTunnels(t *testing.T) {
	f := func(name string, extra func(rng *rand.Rand, recs []flow.Record) []flow.Record, byName bool, want []string) {
		t.Helper()
		rng := rand.New(rand.NewPCG(1, 2))
		recs := extra(rng, dtBackground(rng))
		if !byName { // a flow export: no query fields, sizes only
			kept := recs[:0]
			for _, r := range recs {
				if r.Kind == flow.KindFlow {
					kept = append(kept, r)
				}
			}
			recs = kept
		}
		fs, _ := DNSTunnels(viewOf(t, recs, nil, "10.0.0.0/8"), DefaultDNSTunnel())
		var got []string
		for _, f := range fs {
			if f.Flagged {
				got = append(got, f.Host.String())
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s (by name %v): flagged %v, want %v (%+v)", name, byName, got, want, fs)
		}
	}
	tunnel := func(rng *rand.Rand, recs []flow.Record) []flow.Record {
		for i := range 400 {
			q := dtRandom(rng, 40+rng.IntN(20)) + ".t.exf1l-data.com"
			recs = dtQuery(recs, "10.0.2.7", q, 16, uint64(40+len(q)+150), exDay0.Add(time.Duration(i)*43*time.Second))
		}
		return recs
	}
	f("tunnel", tunnel, true, []string{"10.0.2.7"})
	f("tunnel", tunnel, false, []string{"10.0.2.7"})
	// Look-alike: a mail server resolving hundreds of ordinary names.
	mail := func(rng *rand.Rand, recs []flow.Record) []flow.Record {
		for i := range 600 {
			q := fmt.Sprintf("mx.www%d.example-site.com", i%400)
			recs = dtQuery(recs, "10.0.2.8", q, 15, uint64(40+len(q)), exDay0.Add(time.Duration(i)*time.Minute))
		}
		return recs
	}
	f("mail server", mail, true, nil)
	f("mail server", mail, false, nil)
	// Look-alike: CDN names with short random labels, queried by many hosts.
	f("cdn", func(rng *rand.Rand, recs []flow.Record) []flow.Record {
		for i := range 600 {
			q := "e" + dtRandom(rng, 6) + ".dscb.akamaiedge.net"
			recs = dtQuery(recs, fmt.Sprintf("10.0.1.%d", 1+i%20), q, 1, uint64(40+len(q)), exDay0.Add(time.Duration(i)*time.Minute))
		}
		return recs
	}, true, nil)
	// Too few queries for a tunnel.
	f("few long queries", func(rng *rand.Rand, recs []flow.Record) []flow.Record {
		for i := range 20 {
			q := dtRandom(rng, 50) + ".rare.example"
			recs = dtQuery(recs, "10.0.2.9", q, 16, 250, exDay0.Add(time.Duration(i)*time.Minute))
		}
		return recs
	}, true, nil)
}

func TestDNSTunnelOffice(t *testing.T) {
	officeAccuracy(t, DNSTunnel, func(v engine.View) []Finding { fs, _ := DNSTunnels(v, DefaultDNSTunnel()); return fs })
}

// TestDNSTunnelOfficeSizes: the same scenario exported without DNS fields.
func TestDNSTunnelOfficeSizes(t *testing.T) {
	for _, seed := range []uint64{11, 12, 13} {
		sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: 70, Days: 2, Seed: seed}})
		if err != nil {
			t.Fatal(err)
		}
		var flows []flow.Record
		for _, r := range sc.Records {
			if r.Kind == flow.KindFlow {
				flows = append(flows, r)
			}
		}
		fs, notes := DNSTunnels(viewOf(t, flows, nil, sc.Truth.Internal...), DefaultDNSTunnel())
		if len(notes) != 1 {
			t.Errorf("seed %d: notes %+v, want one saying sizes only", seed, notes)
		}
		var got []string
		for _, f := range fs {
			if f.Flagged {
				got = append(got, f.Host.String())
			}
		}
		var want []string
		for ip, cats := range sc.Truth.Hosts {
			for _, c := range cats {
				if c == DNSTunnel {
					want = append(want, ip)
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("seed %d: flagged %v, want %v", seed, got, want)
		}
	}
}
