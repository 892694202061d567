package detect

import (
	"fmt"
	"iter"
	"maps"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/netscope"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// bcStart is midnight UTC of a Monday; bcNet traffic is laid out from it.
var bcStart = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)

// bcNet builds a View of timed records in 10.0.0.0/8, with a background of ordinary hosts so
// that prevalence has a denominator.
type bcNet struct {
	recs  []flow.Record
	names map[netip.Addr][]string
	rng   *rand.Rand
}

func newBcNet(background int) *bcNet {
	n := &bcNet{names: map[netip.Addr][]string{}, rng: rand.New(rand.NewPCG(7, 7))}
	for i := range background {
		// A few visits a day to one popular site, at random times.
		for d := range 2 {
			for range 5 {
				n.conn(bcStart.Add(time.Duration(d)*24*time.Hour+time.Duration(n.rng.IntN(86400))*time.Second),
					fmt.Sprintf("10.9.%d.%d", i/250, 1+i%250), "93.184.216.34", 443, 800, 0)
			}
		}
	}
	return n
}

func (n *bcNet) conn(t time.Time, src, dst string, port uint16, bytes uint64, dur time.Duration) {
	n.recs = append(n.recs, flow.Record{Time: t.UnixNano(), Duration: int64(dur), Src: netip.MustParseAddr(src),
		Dst: netip.MustParseAddr(dst), SrcPort: 50000, DstPort: port, Proto: flow.ProtoTCP,
		BytesOut: bytes, BytesIn: 400, PktsOut: 1, PktsIn: 1})
}

// every adds connections from t0 at period·(1 ± jitter) until end.
func (n *bcNet) every(src, dst string, t0, end time.Time, period time.Duration, jitter float64) {
	for t := t0; t.Before(end); t = t.Add(time.Duration(float64(period) * (1 + jitter*(2*n.rng.Float64()-1)))) {
		n.conn(t, src, dst, 443, 300, 300*time.Millisecond)
	}
}

// bursts adds perDay bursts a day of 20-40 minutes, every period inside, each burst to one of
// dsts, like seed 003.
func (n *bcNet) bursts(src string, dsts []string, days, perDay int, period time.Duration) {
	slot := 24 * time.Hour / time.Duration(perDay)
	for d := range days {
		for k := range perDay {
			t0 := bcStart.Add(time.Duration(d)*24*time.Hour + time.Duration(k)*slot +
				time.Duration(n.rng.Int64N(int64(slot-time.Hour))))
			length := time.Duration(20+n.rng.IntN(21)) * time.Minute
			n.every(src, dsts[n.rng.IntN(len(dsts))], t0, t0.Add(length), period, 0.03)
		}
	}
}

func (n *bcNet) view(t testing.TB) engine.View {
	t.Helper()
	return viewOf(t, n.recs, n.names, "10.0.0.0/8")
}

func TestBeacons(t *testing.T) {
	day := 24 * time.Hour
	f := func(name string, build func(n *bcNet), flagged []string, check func(t *testing.T, fs map[string]Finding)) {
		t.Helper()
		n := newBcNet(30)
		build(n)
		fs, notes := Beacons(n.view(t), DefaultBeacon())
		if len(notes) != 0 {
			t.Errorf("%s: notes %+v", name, notes)
		}
		got := byHost(fs, Beacon)
		for _, h := range flagged {
			g := got[h]
			if !g.Flagged || g.Score < 0.6 || g.Score > 0.99 || g.Reason == "" || len(g.Peers) == 0 || g.Evidence["period_seconds"] == nil {
				t.Errorf("%s: %s = %+v, want a flagged finding with score in [0.6,0.99], peers, reason and evidence", name, h, g)
			}
		}
		for h, g := range got {
			if g.Flagged && !slices.Contains(flagged, h) {
				t.Errorf("%s: %s flagged wrongly: %s", name, h, g.Reason)
			}
			if !g.Flagged && g.Score >= 0.5 {
				t.Errorf("%s: unflagged %s scores %.2f", name, h, g.Score)
			}
		}
		if check != nil {
			check(t, got)
		}
	}
	period := func(want float64) func(t *testing.T, fs map[string]Finding) {
		return func(t *testing.T, fs map[string]Finding) {
			for h, g := range fs {
				if p := g.Evidence["period_seconds"].(float64); g.Flagged && math.Abs(p-want) > want*0.05 {
					t.Errorf("%s: period %v, want ≈ %v (%s)", h, p, want, g.Reason)
				}
			}
		}
	}
	end2 := bcStart.Add(2 * day)

	// Planted, office: every 300 s ±10 % to a rare external, all days.
	f("periodic 300s", func(n *bcNet) {
		n.every("10.0.0.5", "198.51.100.7", bcStart, end2, 300*time.Second, 0.1)
	}, []string{"10.0.0.5"}, period(300))
	// Planted, office: sub-minute period with ±30 % jitter.
	f("45s ±30%", func(n *bcNet) {
		n.every("10.0.0.6", "198.51.100.8", bcStart, end2, 45*time.Second, 0.3)
	}, []string{"10.0.0.6"}, period(45))
	// Three hours of a two-day window, in three hours of the day: a one-off as far as timing can
	// tell (a capture of those three hours alone is flagged: TestBeaconsEdges).
	f("10s for three hours", func(n *bcNet) {
		n.every("10.0.0.7", "198.51.100.9", bcStart.Add(9*time.Hour), bcStart.Add(12*time.Hour), 10*time.Second, 0.3)
	}, nil, nil)
	f("10s whole window", func(n *bcNet) {
		n.every("10.0.0.7", "198.51.100.9", bcStart, end2, 10*time.Second, 0.3)
	}, []string{"10.0.0.7"}, period(10))
	// Multi-day window, slow beacon: every 15 min for a week.
	f("15min week", func(n *bcNet) {
		n.every("10.0.0.8", "198.51.100.10", bcStart, bcStart.Add(7*day), 15*time.Minute, 0.2)
	}, []string{"10.0.0.8"}, period(900))
	// Seed 003: every 60 s, only inside three 20-40 minute bursts a day.
	f("bursty one C2", func(n *bcNet) {
		n.bursts("10.0.1.1", []string{"203.0.113.1"}, 2, 3, time.Minute)
	}, []string{"10.0.1.1"}, func(t *testing.T, fs map[string]Finding) {
		g := fs["10.0.1.1"]
		if bpd := g.Evidence["bursts_per_day"].(float64); bpd != 3 {
			t.Errorf("bursts/day %v, want 3: %s", bpd, g.Reason)
		}
	})
	// Seed 003: bursts rotate over three C2 addresses; four hosts share them.
	f("bursty rotating", func(n *bcNet) {
		for i := range 4 {
			n.bursts(fmt.Sprintf("10.0.2.%d", i+1), []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}, 2, 3, time.Minute)
		}
	}, []string{"10.0.2.1", "10.0.2.2", "10.0.2.3", "10.0.2.4"}, period(60))
	// Rotation found by grouping: one host, six bursts over two days, each to the next of three
	// addresses; no single address is active in enough hours of the day to go on.
	f("rotation group", func(n *bcNet) {
		dsts := []string{"203.0.113.7", "203.0.113.8", "203.0.113.9"}
		for d := range 2 {
			for k := range 3 {
				t0 := bcStart.Add(time.Duration(d)*day + time.Duration(2+8*k+3*d)*time.Hour + 10*time.Minute)
				n.every("10.0.2.9", dsts[(k+d)%3], t0, t0.Add(25*time.Minute), time.Minute, 0.03)
			}
		}
	}, []string{"10.0.2.9"}, func(t *testing.T, fs map[string]Finding) {
		if g := fs["10.0.2.9"]; g.Evidence["destinations"] != 3 || len(g.Peers) != 3 {
			t.Errorf("rotation: %+v, want 3 destinations", g)
		}
	})
	// Too much jitter: ±50 % (the office DNS tunnel's queries) is a candidate, not a beacon.
	f("jitter 50%", func(n *bcNet) {
		n.every("10.0.0.9", "198.51.100.11", bcStart, end2, 43*time.Second, 0.5)
	}, nil, func(t *testing.T, fs map[string]Finding) {
		if g, ok := fs["10.0.0.9"]; !ok || g.Flagged || g.Evidence["not_flagged_because"] == nil {
			t.Errorf("jitter 50%%: %+v, want an unflagged candidate saying why", g)
		}
	})
	// Random (Poisson) connections to a rare site: irregular.
	f("poisson", func(n *bcNet) {
		for t := bcStart; t.Before(end2); t = t.Add(time.Duration(n.rng.ExpFloat64() * float64(5*time.Minute))) {
			n.conn(t, "10.0.0.10", "198.51.100.12", 443, 500, time.Second)
		}
	}, nil, func(t *testing.T, fs map[string]Finding) {
		if _, ok := fs["10.0.0.10"]; ok {
			t.Errorf("poisson: %+v, want nothing", fs["10.0.0.10"])
		}
	})
	// Look-alike, office: chat heartbeat every 2 min in working hours to a SaaS 70 % of hosts use.
	f("chat heartbeat", func(n *bcNet) {
		for i := range 21 {
			for d := range 2 {
				n.every(fmt.Sprintf("10.9.0.%d", 1+i), "192.0.2.50", bcStart.Add(time.Duration(d)*day+8*time.Hour),
					bcStart.Add(time.Duration(d)*day+18*time.Hour), 2*time.Minute, 0.05)
			}
		}
	}, nil, nil)
	// Look-alike: nightly backup, 40 chunks every 85 s at 02:00, for a week (no durations: CSV).
	f("nightly job", func(n *bcNet) {
		for d := range 7 {
			t := bcStart.Add(time.Duration(d)*day + 2*time.Hour + time.Duration(n.rng.IntN(600))*time.Second)
			for range 40 {
				n.conn(t, "10.0.0.11", "192.0.2.60", 443, 900, 0)
				t = t.Add(85 * time.Second)
			}
		}
	}, nil, func(t *testing.T, fs map[string]Finding) {
		if g := fs["10.0.0.11"]; g.Flagged || g.Evidence["hours_of_day"] == nil || g.Evidence["hours_of_day"].(int) > 3 {
			t.Errorf("nightly job: %+v", g)
		}
	})
	// Look-alike: a long upload in 90 s chunks every 95 s for 6 hours (with durations: Zeek).
	f("chunked upload", func(n *bcNet) {
		t := bcStart.Add(10 * time.Hour)
		for range 230 {
			n.conn(t, "10.0.0.12", "192.0.2.61", 443, 20_000, 90*time.Second)
			t = t.Add(95 * time.Second)
		}
	}, nil, nil)
	// Same, known only by size (CSV): 60 MB per connection.
	f("chunked upload by size", func(n *bcNet) {
		t := bcStart.Add(10 * time.Hour)
		for range 230 {
			n.conn(t, "10.0.0.12", "192.0.2.61", 443, 60_000_000, 0)
			t = t.Add(95 * time.Second)
		}
	}, nil, nil)
	// A miner reconnects every 30 s to a pool: the miner detector's, not a beacon.
	f("miner", func(n *bcNet) {
		n.every("10.0.0.13", "51.15.65.182", bcStart, end2, 30*time.Second, 0.33)
		n.names[netip.MustParseAddr("51.15.65.182")] = []string{"xmr-eu1.nanopool.org"}
	}, nil, nil)
	// Internal C2 is the c2 detector's.
	f("internal destination", func(n *bcNet) {
		n.every("10.0.0.14", "10.0.5.5", bcStart, end2, 2*time.Minute, 0.05)
	}, nil, nil)
	// Continuous traffic, a connection every second or two: no period to resolve.
	f("continuous", func(n *bcNet) {
		n.every("10.0.0.15", "198.51.100.13", bcStart, bcStart.Add(2*time.Hour), 1500*time.Millisecond, 0.3)
	}, nil, nil)
	// Too few connections: 15 at 60 s.
	f("too short", func(n *bcNet) {
		n.every("10.0.0.16", "198.51.100.14", bcStart, bcStart.Add(15*time.Minute), time.Minute, 0.02)
	}, nil, nil)
	// Two implants on one host: the finding names both destinations.
	f("two beacons", func(n *bcNet) {
		n.every("10.0.0.18", "198.51.100.16", bcStart, end2, 300*time.Second, 0.1)
		n.every("10.0.0.18", "198.51.100.17", bcStart, end2, 45*time.Second, 0.3)
	}, []string{"10.0.0.18"}, func(t *testing.T, fs map[string]Finding) {
		if g := fs["10.0.0.18"]; len(g.Peers) != 2 || g.Evidence["other_destinations"] != 1 {
			t.Errorf("two beacons: %+v, want both destinations", g)
		}
	})
	// The same beacon over two ports merges into one series.
	f("two ports", func(n *bcNet) {
		for i, t := 0, bcStart; t.Before(end2); i, t = i+1, t.Add(10*time.Minute) {
			n.conn(t, "10.0.0.17", "198.51.100.15", []uint16{443, 8443}[i%2], 300, 0)
		}
	}, []string{"10.0.0.17"}, period(600))
	// Look-alike (RITA's missing_host data, a real capture): systemd-timesyncd on a lone server
	// polls ntp.ubuntu.com every 2,048 s with 48-byte requests; no other host shares the server,
	// so prevalence cannot excuse it. Regular by design: a candidate naming NTP, not a beacon.
	ntp := func(src, dst string, bytes uint64) func(n *bcNet) {
		return func(n *bcNet) {
			for t := bcStart; t.Before(bcStart.Add(4 * day)); t = t.Add(2048 * time.Second) {
				n.recs = append(n.recs, flow.Record{Time: t.UnixNano(), Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
					SrcPort: 40000, DstPort: 123, Proto: flow.ProtoUDP, BytesOut: bytes, BytesIn: 48, PktsOut: 1, PktsIn: 1})
			}
		}
	}
	f("ntp polls", ntp("10.0.0.19", "91.189.91.157", 48), nil, func(t *testing.T, fs map[string]Finding) {
		if g := fs["10.0.0.19"]; g.Flagged || !strings.Contains(g.Reason, "clock synchronising over NTP") {
			t.Errorf("ntp polls: %+v, want an unflagged candidate naming NTP", g)
		}
	})
	// Planted: C2 hiding on udp/123, with 400-byte check-ins no NTP request has.
	f("c2 on udp/123", ntp("10.0.0.20", "198.51.100.18", 400), []string{"10.0.0.20"}, period(2048))
}

// TestBeaconPivot: a destination that beacons is C2, and other hosts calling it the same way are
// flagged even when their own series is too short.
func TestBeaconPivot(t *testing.T) {
	n := newBcNet(30)
	end := bcStart.Add(48 * time.Hour)
	n.every("10.0.3.1", "203.0.113.50", bcStart, end, time.Minute, 0.05)                                                        // confirmed
	n.every("10.0.3.2", "203.0.113.50", bcStart.Add(5*time.Hour), bcStart.Add(5*time.Hour+8*time.Minute), time.Minute, 0.05)    // 8 at 60 s
	n.every("10.0.3.3", "203.0.113.51", bcStart.Add(5*time.Hour), bcStart.Add(5*time.Hour+8*time.Minute), time.Minute, 0.05)    // same, unconfirmed dst
	n.every("10.0.3.4", "203.0.113.50", bcStart.Add(5*time.Hour), bcStart.Add(5*time.Hour+40*time.Minute), 5*time.Minute, 0.05) // other period
	for range 3 {                                                                                                               // a few random visits
		n.conn(bcStart.Add(time.Duration(n.rng.IntN(86400))*time.Second), "10.0.3.5", "203.0.113.50", 443, 300, 0)
	}
	fs, _ := Beacons(n.view(t), DefaultBeacon())
	got := byHost(fs, Beacon)
	if g := got["10.0.3.1"]; !g.Flagged {
		t.Errorf("confirmed beacon not flagged: %+v", g)
	}
	g := got["10.0.3.2"]
	if !g.Flagged || g.Evidence["pivot_from"] != "10.0.3.1" || g.Score < 0.6 {
		t.Errorf("pivot: %+v, want flagged from 10.0.3.1", g)
	}
	for _, h := range []string{"10.0.3.3", "10.0.3.4", "10.0.3.5"} {
		if got[h].Flagged {
			t.Errorf("%s flagged: %s", h, got[h].Reason)
		}
	}
	t.Log(g.Reason)
}

func TestBeaconsEdges(t *testing.T) {
	// Empty view.
	fs, notes := Beacons(newBcNet(0).view(t), DefaultBeacon())
	if len(fs) != 0 {
		t.Errorf("empty: %+v", fs)
	}
	// No timestamps (bare filterlog lines): skipped with a note.
	n := newBcNet(0)
	n.every("10.0.0.5", "198.51.100.7", bcStart, bcStart.Add(48*time.Hour), 300*time.Second, 0.1)
	for i := range n.recs {
		n.recs[i].Time = 0
	}
	fs, notes = Beacons(n.view(t), DefaultBeacon())
	if len(fs) != 0 || len(notes) != 1 || notes[0].Detector != Beacon {
		t.Errorf("no times: findings %+v notes %+v, want one note", fs, notes)
	}
	// A capture of three hours: the beacon covers the window.
	n = &bcNet{names: map[netip.Addr][]string{}, rng: rand.New(rand.NewPCG(1, 1))}
	for i := range 20 {
		n.every(fmt.Sprintf("10.9.0.%d", i+1), "93.184.216.34", bcStart.Add(9*time.Hour), bcStart.Add(12*time.Hour), 20*time.Minute, 0.5)
	}
	n.every("10.0.0.7", "198.51.100.9", bcStart.Add(9*time.Hour), bcStart.Add(12*time.Hour), 10*time.Second, 0.3)
	fs, _ = Beacons(n.view(t), DefaultBeacon())
	if g := byHost(fs, Beacon)["10.0.0.7"]; !g.Flagged {
		t.Errorf("short capture: %+v", g)
	}
	// Pairs in any order give the same findings (engines other than memory need not sort).
	n = newBcNet(30)
	n.every("10.0.0.5", "198.51.100.7", bcStart, bcStart.Add(48*time.Hour), 300*time.Second, 0.1)
	n.bursts("10.0.2.1", []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"}, 2, 3, time.Minute)
	v := n.view(t)
	want, _ := Beacons(v, DefaultBeacon())
	got, _ := Beacons(bcReversed{v}, DefaultBeacon())
	if len(want) != 2 || fmt.Sprint(want) != fmt.Sprint(got) {
		t.Errorf("order matters:\n sorted   %v\n reversed %v", want, got)
	}
}

// bcReversed yields a view's pairs out of order, with each source's pairs split in two runs.
type bcReversed struct{ engine.View }

func (r bcReversed) Pairs() iter.Seq[*engine.Pair] {
	var ps []*engine.Pair
	for p := range r.View.Pairs() {
		ps = append(ps, p)
	}
	return func(yield func(*engine.Pair) bool) {
		// Every other pair backwards, then the rest: a source's pairs are split.
		for _, start := range []int{1, 0} {
			for i := len(ps) - 1 - start; i >= 0; i -= 2 {
				if !yield(ps[i]) {
					return
				}
			}
		}
	}
}

func TestBeaconStats(t *testing.T) {
	f := func(xs []uint32, wantMed, wantMAD float64) {
		t.Helper()
		s := slices.Clone(xs)
		slices.Sort(s)
		med := beaconQuantile(s, 0.5)
		// Brute force MAD.
		dev := make([]float64, len(s))
		for i, x := range s {
			dev[i] = math.Abs(float64(x) - med)
		}
		brute := median(dev)
		if got := beaconMAD(s, med); med != wantMed || got != wantMAD || got != brute {
			t.Errorf("%v: median %v MAD %v (brute %v), want %v %v", xs, med, got, brute, wantMed, wantMAD)
		}
	}
	f([]uint32{60}, 60, 0)
	f([]uint32{60, 61}, 60.5, 0.5)
	f([]uint32{58, 60, 60, 61, 62, 300}, 60.5, 1)
	f([]uint32{1, 2, 3, 4, 100}, 3, 1)
	f([]uint32{10, 10, 10, 10}, 10, 0)
	f([]uint32{5, 9, 9, 30, 31, 32}, 19.5, 11)
	// Random cases against brute force.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		xs := make([]uint32, 1+rng.IntN(40))
		for i := range xs {
			xs[i] = uint32(rng.IntN(100))
		}
		slices.Sort(xs)
		med := beaconQuantile(xs, 0.5)
		dev := make([]float64, len(xs))
		for i, x := range xs {
			dev[i] = math.Abs(float64(x) - med)
		}
		if got, want := beaconMAD(xs, med), median(dev); got != want {
			t.Fatalf("%v: MAD %v, brute %v", xs, got, want)
		}
	}

	g := func(q1, q2, q3, want float64) {
		t.Helper()
		if got := beaconBowley(q1, q2, q3); math.Abs(got-want) > 1e-9 {
			t.Errorf("bowley(%v,%v,%v) = %v, want %v", q1, q2, q3, got, want)
		}
	}
	g(270, 300, 330, 0)       // symmetric jitter
	g(20, 40, 80, 1.0/3)      // right-skewed
	g(59, 60, 61, 0)          // under 10 s apart: RITA's guard
	g(100, 100, 200, 0)       // median on a quartile
	g(10, 60, 70, -40.0/60.0) // left-skewed

	if s := beaconTimingScore(0, 0); s != 1 {
		t.Errorf("perfect timer scores %v", s)
	}
	if s := beaconTimingScore(0.26, 0.69); s > 0.55 {
		t.Errorf("exponential gaps score %v", s)
	}
	if s := beaconPersistenceScore(0.05, 24); s != 1 {
		t.Errorf("all hours of the day scores %v", s)
	}
	h := func(s float64, want string) {
		t.Helper()
		if got := beaconSeconds(s); got != want {
			t.Errorf("beaconSeconds(%v) = %q, want %q", s, got, want)
		}
	}
	h(300, "300 s")
	h(4.5, "4.5 s")
	h(900, "15 min")
	h(7200, "2 h")
}

// TestBeaconsOffice runs the detector on the office scenario with seeds it was not tuned on and
// asserts precision and recall for the beacon category and no look-alike flagged; once on full
// flows, once as a firewall log sees them (no durations, one packet's bytes), where chunked
// uploads and the nightly backup can only be told from beacons by their timing.
func TestBeaconsOffice(t *testing.T) {
	if testing.Short() {
		t.Skip("simulated scenarios")
	}
	for _, seed := range []uint64{11, 12, 13} {
		sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: 70, Days: 2, Seed: seed}})
		if err != nil {
			t.Fatal(err)
		}
		for _, firewall := range []bool{false, true} {
			recs := sc.Records
			if firewall {
				recs = slices.Clone(recs)
				for i := range recs {
					r := &recs[i]
					r.Duration, r.BytesIn, r.PktsIn = 0, 0, 0
					r.BytesOut, r.PktsOut = min(20+r.BytesOut/max(r.PktsOut, 1), 1514), 1
				}
			}
			bcOfficeCheck(t, fmt.Sprintf("seed %d firewall=%v", seed, firewall), sc, recs)
		}
	}
}

func bcOfficeCheck(t *testing.T, name string, sc *sim.Scenario, recs []flow.Record) {
	t.Helper()
	fs, notes := Beacons(viewOf(t, recs, sc.Names, sc.Truth.Internal...), DefaultBeacon())
	if len(notes) != 0 {
		t.Errorf("%s: notes %+v", name, notes)
	}
	want := map[string]bool{}
	for ip, cats := range sc.Truth.Hosts {
		if slices.Contains(cats, Beacon) {
			want[ip] = true
		}
	}
	tp, fp := 0, 0
	for _, f := range fs {
		ip := f.Host.String()
		if !f.Flagged {
			t.Logf("%s: candidate %s %v (%.2f): %s", name, ip, sc.Truth.Hosts[ip], f.Score, f.Reason)
			continue
		}
		if want[ip] {
			tp++
			delete(want, ip)
		} else {
			fp++ // any flagged host outside the beacon truth, whatever else it is planted as
			t.Errorf("%s: %s flagged wrongly (truth %v, look-alike %q): %s", name, ip, sc.Truth.Hosts[ip], sc.Truth.LookAlikes[ip].What, f.Reason)
		}
		if la, ok := sc.Truth.LookAlikes[ip]; ok && la.Imitates == Beacon {
			t.Errorf("%s: look-alike %s (%s) flagged", name, ip, la.What)
		}
	}
	fn := len(want)
	precision, recall := 1.0, float64(tp)/float64(max(tp+fn, 1))
	if tp+fp > 0 {
		precision = float64(tp) / float64(tp+fp)
	}
	t.Logf("%s: beacon precision %.2f recall %.2f (tp %d fp %d fn %d)", name, precision, recall, tp, fp, fn)
	if precision < 0.9 || recall < 0.9 {
		t.Errorf("%s: precision %.2f recall %.2f, want ≥ 0.9; missed %v", name, precision, recall, slices.Sorted(maps.Keys(want)))
	}
}

// bcFakeView is a View over prepared pairs, for benchmarks at sizes the aggregator would take
// long to build.
type bcFakeView struct {
	engine.View // nil: methods the detector does not call
	pairs       []*engine.Pair
	scope       *netscope.Scope
	prev        map[netip.Addr]int
	hosts       int
	first       int64
	last        int64
}

func (f *bcFakeView) Scope() *netscope.Scope        { return f.scope }
func (f *bcFakeView) Span() (int64, int64)          { return f.first, f.last }
func (f *bcFakeView) Pairs() iter.Seq[*engine.Pair] { return slices.Values(f.pairs) }
func (f *bcFakeView) PairsFrom(src netip.Addr) iter.Seq[*engine.Pair] {
	i := sort.Search(len(f.pairs), func(i int) bool { return f.pairs[i].Src.Compare(src) >= 0 })
	j := i
	for j < len(f.pairs) && f.pairs[j].Src == src {
		j++
	}
	return slices.Values(f.pairs[i:j])
}
func (f *bcFakeView) Hosts() iter.Seq[*engine.Host]        { return func(func(*engine.Host) bool) {} }
func (f *bcFakeView) Host(netip.Addr) (*engine.Host, bool) { return nil, false }
func (f *bcFakeView) Prevalence(dst netip.Addr) int        { return f.prev[dst] }
func (f *bcFakeView) InternalHosts() int                   { return f.hosts }
func (f *bcFakeView) Names(netip.Addr) []string            { return nil }
func (f *bcFakeView) Fields() engine.FieldSet {
	return engine.FieldSet{Times: true, Duration: true, Volumes: true}
}

// bcSynthetic builds npairs pairs from 1,000 internal hosts to external addresses over two days:
// one pair in ten goes to one of a few popular destinations, most have 1-4 random connections,
// one in ten has 20-200 at random times to a rare destination (the costly kind), and each host
// has one beacon.
func bcSynthetic(npairs int) *bcFakeView {
	rng := rand.New(rand.NewPCG(3, 4))
	scope, _ := netscope.Parse([]string{"10.0.0.0/8"})
	t0 := uint32(bcStart.Unix())
	const hosts, span = 1000, 2 * 86400
	v := &bcFakeView{scope: scope, prev: map[netip.Addr]int{}, hosts: hosts,
		first: int64(t0) * 1e9, last: int64(t0+span) * 1e9}
	perHost := npairs / hosts
	for h := range hosts {
		src := netip.AddrFrom4([4]byte{10, 1, byte(h >> 8), byte(h)})
		for k := range perHost {
			d := uint32(rng.IntN(1 << 20))
			dst := netip.AddrFrom4([4]byte{100, byte(d >> 16), byte(d >> 8), byte(d)})
			if k%10 == 0 { // popular destinations
				dst = netip.AddrFrom4([4]byte{100, 200, 0, byte(k / 10)})
			}
			var times []uint32
			switch {
			case k%1000 == 7:
				for t := t0; t < t0+span; t += uint32(270 + rng.IntN(60)) {
					times = append(times, t)
				}
			case k%10 == 3:
				for range 20 + rng.IntN(180) {
					times = append(times, t0+uint32(rng.IntN(span)))
				}
			default:
				for range 1 + rng.IntN(4) {
					times = append(times, t0+uint32(rng.IntN(span)))
				}
			}
			slices.Sort(times)
			times = slices.Compact(times)
			v.pairs = append(v.pairs, &engine.Pair{Src: src, Dst: dst, DstPort: 443, Proto: 6, Count: int64(len(times)),
				BytesOut: uint64(500 * len(times)), DurationTotal: int64(len(times)) * 1e8, Times: times,
				First: int64(times[0]) * 1e9, Last: int64(times[len(times)-1]) * 1e9})
		}
	}
	slices.SortFunc(v.pairs, func(x, y *engine.Pair) int {
		if c := x.Src.Compare(y.Src); c != 0 {
			return c
		}
		return x.Dst.Compare(y.Dst)
	})
	seen := map[[2]netip.Addr]bool{}
	for _, p := range v.pairs {
		if k := [2]netip.Addr{p.Src, p.Dst}; !seen[k] {
			seen[k] = true
			v.prev[p.Dst]++
		}
	}
	return v
}

func BenchmarkBeacons(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("pairs=%d", n), func(b *testing.B) {
			v := bcSynthetic(n)
			b.ReportAllocs()
			b.ResetTimer()
			var found int
			for b.Loop() {
				fs, _ := Beacons(v, DefaultBeacon())
				found = len(fs)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(v.pairs)), "ns/pair")
			b.ReportMetric(float64(found), "findings")
		})
	}
}

func BenchmarkBeaconsOffice(b *testing.B) {
	sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: 70, Days: 2, Seed: 5}})
	if err != nil {
		b.Fatal(err)
	}
	v := viewOf(b, sc.Records, sc.Names, sc.Truth.Internal...)
	pairs := 0
	for range v.Pairs() {
		pairs++
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Beacons(v, DefaultBeacon())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(pairs), "ns/pair")
}

// TestBeaconJudge checks each rule of the decision on hand-set measurements.
func TestBeaconJudge(t *testing.T) {
	b := &beaconRun{cfg: DefaultBeacon()}
	steady := beaconTiming{conns: 500, gapsInBurst: 499, period: 300, mad: 15, madRatio: 0.05, bursts: 1,
		activeDays: 2, hoursOfDay: 24, coverage: 1}
	f := func(name string, edit func(s *beaconSeries), flagged, candidate bool) {
		t.Helper()
		s := &beaconSeries{t: steady}
		edit(s)
		b.judge(s)
		if s.flagged != flagged || s.candidate != candidate {
			t.Errorf("%s: flagged %v candidate %v (%s), want %v %v", name, s.flagged, s.candidate, s.why, flagged, candidate)
		}
		if flagged && (s.score < 0.6 || s.score > 0.99) || candidate && (s.score <= 0 || s.score >= 0.45) || candidate && s.why == "" {
			t.Errorf("%s: score %v why %q", name, s.score, s.why)
		}
	}
	f("steady", func(s *beaconSeries) {}, true, false)
	f("bursty", func(s *beaconSeries) { s.t.coverage, s.t.hoursOfDay, s.t.bursts = 0.06, 8, 6 }, true, false)
	f("short capture", func(s *beaconSeries) { s.t.coverage, s.t.hoursOfDay = 0.9, 2 }, true, false)
	f("few gaps", func(s *beaconSeries) { s.t.gapsInBurst = 19 }, false, false)
	f("fast", func(s *beaconSeries) { s.t.period = 4 }, false, false)
	f("jittery", func(s *beaconSeries) { s.t.madRatio = 0.25 }, false, true)
	f("random", func(s *beaconSeries) { s.t.madRatio = 0.69 }, false, false)
	f("lopsided", func(s *beaconSeries) { s.t.skew = -0.6 }, false, true)
	f("wandering beats", func(s *beaconSeries) { s.t.jitter = 0.45 * s.t.period }, false, true)
	f("±40 % jitter", func(s *beaconSeries) { s.t.jitter = 0.36 * s.t.period }, true, false)
	f("bulk", func(s *beaconSeries) { s.routine = "60 MB per connection" }, false, true)
	f("fixed hour", func(s *beaconSeries) { s.t.coverage, s.t.hoursOfDay = 0.04, 3 }, false, true)
	f("four hours", func(s *beaconSeries) { s.t.coverage, s.t.hoursOfDay = 0.04, 4 }, true, false)
}

// TestBeaconPrecheck: the sort-free pre-check only rejects series whose exact MAD/median is over
// 2·MaxJitter, over gap sets from perfect timers to Poisson, with and without bursts.
func TestBeaconPrecheck(t *testing.T) {
	cfg := DefaultBeacon()
	// Bucket edges and spans, by brute force over integers.
	for g := uint32(1); g < 1<<16; g++ {
		if i := beaconBucket(g); beaconBucketFloor(i) > float64(g) || beaconBucketFloor(i+1) <= float64(g) {
			t.Fatalf("gap %d in bucket %d [%v, %v)", g, i, beaconBucketFloor(i), beaconBucketFloor(i+1))
		}
	}
	j := 2 * cfg.MaxJitter
	w := beaconBucketSpan((1 + j) / (1 - j))
	for m := 1.0; m < 50_000; m += 0.25 {
		lo, hi := uint32(math.Ceil(m*(1-j))), uint32(math.Floor(m*(1+j)))
		if lo >= 1 && hi >= lo && beaconBucket(hi)-beaconBucket(lo)+1 > w {
			t.Fatalf("median %v: [%d, %d] touches %d buckets, window %d", m, lo, hi, beaconBucket(hi)-beaconBucket(lo)+1, w)
		}
	}
	exact := &beaconRun{cfg: cfg, windowSeconds: 86400 * 2}
	fast := &beaconRun{cfg: cfg, windowSeconds: 86400 * 2, histWindow: w}
	rng := rand.New(rand.NewPCG(9, 9))
	rejected, kept := 0, 0
	for i := range 20_000 {
		n := 6 + rng.IntN(300)
		period := 2 + rng.Float64()*600
		jitter := []float64{0, 0.1, 0.3, 0.39, 0.41, 0.5, 0.8, 1}[i%8]
		times := []uint32{1_741_564_800}
		for range n {
			g := period * (1 + jitter*(2*rng.Float64()-1))
			switch {
			case i%5 == 0: // Poisson
				g = rng.ExpFloat64() * period
			case i%7 == 0 && rng.IntN(20) == 0: // a pause between bursts
				g *= 50
			}
			times = append(times, times[len(times)-1]+uint32(max(1, math.Round(g))))
		}
		te, tf := exact.timing(times), fast.timing(times)
		if math.IsInf(tf.madRatio, 1) {
			rejected++
			if te.madRatio <= j {
				t.Fatalf("case %d (n %d period %.1f jitter %v): pre-check rejected a series with MAD/median %.3f", i, n, period, jitter, te.madRatio)
			}
			continue
		}
		kept++
		if te != tf {
			t.Fatalf("case %d: timing differs: %+v vs %+v", i, te, tf)
		}
	}
	t.Logf("pre-check rejected %d, kept %d", rejected, kept)
	if rejected == 0 {
		t.Error("pre-check rejected nothing")
	}
}
