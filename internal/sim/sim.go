// Package sim generates realistic network traffic with planted threats and their ground truth, so
// the demo, the tests and the benchmarks have data whose answer is known. This first version
// covers the seed-000 story (a pfSense log of a network where two hosts mine crypto); the
// scenario simulator issue extends it to every category.
package sim

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// Config sets the size and randomness of a scenario.
type Config struct {
	Hosts int       // internal hosts, at least 9
	Days  int       // days simulated, at least 1
	Seed  uint64    // same seed, same data
	Start time.Time // midnight of the first day (UTC); zero is 2025-03-10
}

// Truth is the ground truth a scenario writes to truth.json.
type Truth struct {
	Scenario string   `json:"scenario"`
	Internal []string `json:"internal"`
	// Hosts maps each planted host to the categories it must be flagged for.
	Hosts map[string][]string `json:"hosts"`
	// LookAlikes maps benign hosts planted to resemble a threat to what they imitate. Flagging
	// one in the category it imitates is a false positive the simulator planted on purpose.
	LookAlikes map[string]LookAlike `json:"look_alikes"`
}

// LookAlike is a benign host built to resemble a threat.
type LookAlike struct {
	Imitates string `json:"imitates"` // the category it resembles
	What     string `json:"what"`     // what it really is
}

// Scenario is generated traffic: records sorted by time, the names a resolver would give for
// external addresses (the --dns-map), and the truth.
type Scenario struct {
	Records []flow.Record
	Names   map[netip.Addr][]string
	Truth   Truth
}

// MinerNetwork simulates seed 000 "Mine Over Matter": an office network in 172.16.0.0/12 behind a
// pfSense router. Hosts browse during working hours (Zipf-popular sites over 443/80, DNS to the
// internal resolver, hourly NTP); one busy host (a build server pulling packages all day) is a
// benign heavy talker; one developer connects to an external port 3333 service that is not a pool
// (a look-alike for the port heuristic); two hosts run miners that hold sessions to Monero pools
// on port 443 around the clock, reconnecting every 20-40 s, as in the seed where the port list
// found nothing. Inbound scans from the Internet are blocked at the firewall.
func MinerNetwork(cfg Config) (*Scenario, error) {
	if cfg.Hosts < 9 {
		return nil, fmt.Errorf("miner scenario needs at least 9 hosts, got %d", cfg.Hosts)
	}
	if cfg.Days < 1 {
		return nil, fmt.Errorf("days must be at least 1, got %d", cfg.Days)
	}
	start := cfg.Start
	if start.IsZero() {
		start = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed000))
	g := &gen{rng: rng, names: map[netip.Addr][]string{}}

	hosts := make([]netip.Addr, cfg.Hosts)
	for i := range hosts {
		// Servers and infrastructure in 172.16.0.0/24, desktops in 172.16.96.0/24 as in the seed.
		if i < 12 {
			hosts[i] = netip.AddrFrom4([4]byte{172, 16, 0, byte(2 + i)})
		} else {
			hosts[i] = netip.AddrFrom4([4]byte{172, 16, 96, byte(10 + i)})
		}
	}
	resolver := netip.AddrFrom4([4]byte{172, 16, 0, 1})
	sites := g.externals(300, "site", "com")
	ntp := g.externals(2, "ntp", "pool.ntp.org")
	mirrors := g.externals(6, "mirror", "debian.org")
	devSvc := g.external("devbox", "example.io") // port 3333, not a pool
	pools := []netip.Addr{g.rng4(), g.rng4()}
	g.names[pools[0]] = []string{"xmr-eu1.nanopool.org"}
	g.names[pools[1]] = []string{"pool.supportxmr.com"}

	builder := hosts[2]                        // 172.16.0.4: benign heavy talker
	miners := []netip.Addr{hosts[8], hosts[3]} // 172.16.0.10, 172.16.0.5
	developer := hosts[len(hosts)-1]           // talks to devSvc:3333
	sitePop := zipf(len(sites), 1.1)

	for day := range cfg.Days {
		d0 := start.Add(time.Duration(day) * 24 * time.Hour)
		weekend := d0.Weekday() == time.Saturday || d0.Weekday() == time.Sunday
		for _, h := range hosts {
			// Browsing: sessions in working hours, fewer on weekends.
			sessions := 6 + rng.IntN(10)
			if weekend {
				sessions = rng.IntN(3)
			}
			if h == builder {
				sessions *= 12
			}
			for range sessions {
				t := d0.Add(time.Duration(8*3600+rng.IntN(10*3600)) * time.Second)
				for range 3 + rng.IntN(12) {
					site := sites[sitePop(rng)]
					g.flow(t, h, resolver, 53, flow.ProtoUDP, 80, 1)
					port := uint16(443)
					if rng.IntN(5) == 0 {
						port = 80
					}
					g.flow(t.Add(50*time.Millisecond), h, site, port, flow.ProtoTCP, 60, 3+rng.IntN(30))
					t = t.Add(time.Duration(1+rng.IntN(60)) * time.Second)
				}
			}
			// NTP once an hour, all day.
			for hour := range 24 {
				t := d0.Add(time.Duration(hour)*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
				g.flow(t, h, ntp[rng.IntN(len(ntp))], 123, flow.ProtoUDP, 76, 1)
			}
		}
		// The build server pulls from package mirrors all day long.
		for range 4000 {
			t := d0.Add(time.Duration(rng.IntN(86400)) * time.Second)
			g.flow(t, builder, mirrors[rng.IntN(len(mirrors))], 443, flow.ProtoTCP, 60, 200)
		}
		// The developer's test service on 3333 during the day.
		for range 40 {
			t := d0.Add(time.Duration(9*3600+rng.IntN(8*3600)) * time.Second)
			g.flow(t, developer, devSvc, 3333, flow.ProtoTCP, 60, 5)
		}
		// Miners: a session to the pool every 20-40 s, around the clock, opening with a Stratum
		// login (seen only in packet captures).
		for i, m := range miners {
			login := stratumLogin(i)
			for t := d0.Add(time.Duration(rng.IntN(30)) * time.Second); t.Before(d0.Add(24 * time.Hour)); {
				r := g.flow(t, m, pools[i], 443, flow.ProtoTCP, 60, 2+rng.IntN(3))
				r.PayloadOut = slices.Clone(login[:min(len(login), int(r.BytesOut))])
				t = t.Add(time.Duration(20+rng.IntN(21)) * time.Second)
			}
		}
		// Internet background: blocked inbound probes.
		for range 2000 {
			t := d0.Add(time.Duration(rng.IntN(86400)) * time.Second)
			r := g.flow(t, g.rng4(), hosts[rng.IntN(4)], []uint16{22, 23, 445, 3389, 8080}[rng.IntN(5)], flow.ProtoTCP, 40, 1)
			r.Action, r.Dir = flow.ActionBlock, flow.DirIn
		}
	}
	recs := g.byTime()
	truth := Truth{
		Scenario: "miner", Internal: []string{"172.16.0.0/12"},
		Hosts: map[string][]string{miners[0].String(): {"miner"}, miners[1].String(): {"miner"}},
		LookAlikes: map[string]LookAlike{
			builder.String():   {Imitates: "miner", What: "build server pulling packages all day: a heavy external talker"},
			developer.String(): {Imitates: "miner", What: "developer's test service on external port 3333"},
		},
	}
	return &Scenario{Records: recs, Names: g.names, Truth: truth}, nil
}

// stratumLogin returns the first flow.MaxPayload bytes of the login XMRig sends a Monero pool
// when it connects (Stratum JSON-RPC, Monero dialect), for miner i: the payload a packet capture
// keeps of a planted miner's pool session. The wallet addresses are made up.
func stratumLogin(i int) []byte {
	wallets := []string{
		"49ASi45ub7Qe4ZE36UT5G6cU4ud8Fhhe4deS4F3cw9KTAb8dLcukC7edhDQ7cn5d4gEYkbUrMWeWQLGsCmrG6dLaYyNoVKf",
		"458ZTBqNAYT3j5qcdsyuMNmPfYetW5v6JXmj54omLidkuVKnRyjP2WPBg8Y4ErK9pGSSxY6BVScJy9uUxcJnTPkyRFA6CAF",
	}
	msg := `{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"` + wallets[i%len(wallets)] +
		`","pass":"x","agent":"XMRig/6.21.0 (Linux x86_64) libuv/1.44.2 gcc/12.2.0","algo":["rx/0"]}}` + "\n"
	return []byte(msg[:min(len(msg), flow.MaxPayload)])
}

// chunkLen is how many records a generator chunk holds: records are stored in fixed chunks so
// that generating millions never copies them to grow a slice.
const chunkLen = 1 << 16

type gen struct {
	rng    *rand.Rand
	chunks [][]flow.Record
	n      int
	names  map[netip.Addr][]string
}

// add stores r and returns where it lives, for the caller to adjust.
func (g *gen) add(r flow.Record) *flow.Record {
	if g.n%chunkLen == 0 {
		g.chunks = append(g.chunks, make([]flow.Record, chunkLen))
	}
	p := &g.chunks[g.n/chunkLen][g.n%chunkLen]
	*p = r
	g.n++
	return p
}

// byTime returns the generated records ordered by time, ties in generation order. It sorts
// compact (time, index) keys and moves each record once: sorting the 200-byte records in place
// (stably) cost half of generation time.
func (g *gen) byTime() []flow.Record {
	keys := make([]timeKey, g.n)
	for i := range keys {
		keys[i] = timeKey{g.chunks[i/chunkLen][i%chunkLen].Time, int32(i)}
	}
	// Sort two halves on two cores and merge: the keys are unique, so the order is the same as
	// one sort's.
	half := len(keys) / 2
	var wg sync.WaitGroup
	wg.Go(func() { slices.SortFunc(keys[:half], compareTimeKeys) })
	slices.SortFunc(keys[half:], compareTimeKeys)
	wg.Wait()
	merged := make([]timeKey, 0, len(keys))
	a, b := keys[:half], keys[half:]
	for len(a) > 0 && len(b) > 0 {
		if compareTimeKeys(a[0], b[0]) <= 0 {
			merged, a = append(merged, a[0]), a[1:]
		} else {
			merged, b = append(merged, b[0]), b[1:]
		}
	}
	merged = append(append(merged, a...), b...)

	out := make([]flow.Record, g.n)
	gather := func(lo, hi int) {
		for i := lo; i < hi; i++ {
			k := merged[i].i
			out[i] = g.chunks[k/chunkLen][k%chunkLen]
		}
	}
	wg.Go(func() { gather(0, half) })
	gather(half, len(out))
	wg.Wait()
	g.chunks, g.n = nil, 0
	return out
}

// timeKey orders generated records: by time, ties by generation order.
type timeKey struct {
	time int64
	i    int32
}

func compareTimeKeys(a, b timeKey) int {
	if c := cmp.Compare(a.time, b.time); c != 0 {
		return c
	}
	return cmp.Compare(a.i, b.i)
}

// flow appends one outbound flow: a TCP connection of pkts packets, or one UDP datagram.
func (g *gen) flow(t time.Time, src, dst netip.Addr, dport uint16, proto uint8, size, pkts int) *flow.Record {
	return g.add(flow.Record{
		Time: t.UnixNano(), Src: src, Dst: dst, SrcPort: uint16(32768 + g.rng.IntN(28000)), DstPort: dport,
		Proto: proto, Action: flow.ActionPass, Dir: flow.DirOut,
		BytesOut: uint64(size * pkts), PktsOut: uint64(pkts),
	})
}

// rng4 returns a random public unicast IPv4 address.
func (g *gen) rng4() netip.Addr {
	for {
		var b [4]byte
		for i := range b {
			b[i] = byte(g.rng.IntN(256))
		}
		a := netip.AddrFrom4(b)
		if b[0] != 0 && b[0] != 10 && b[0] != 127 && b[0] < 224 && !a.IsPrivate() && !(b[0] == 100 && b[1]&0xc0 == 64) && !(b[0] == 169 && b[1] == 254) {
			return a
		}
	}
}

func (g *gen) external(label, domain string) netip.Addr {
	a := g.rng4()
	g.names[a] = []string{label + "." + domain}
	return a
}

func (g *gen) externals(n int, label, domain string) []netip.Addr {
	out := make([]netip.Addr, n)
	for i := range out {
		out[i] = g.external(fmt.Sprintf("%s%d", label, i), domain)
	}
	return out
}

// zipf returns a sampler of indices in [0,n) with P(i) ∝ 1/(i+1)^s: a few sites get most visits.
func zipf(n int, s float64) func(*rand.Rand) int {
	cdf := make([]float64, n)
	sum := 0.0
	for i := range cdf {
		sum += 1 / math.Pow(float64(i+1), s)
		cdf[i] = sum
	}
	return func(r *rand.Rand) int {
		x := r.Float64() * sum
		i, _ := slices.BinarySearch(cdf, x)
		return min(i, n-1)
	}
}
