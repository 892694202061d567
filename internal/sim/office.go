package sim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// OfficeConfig sizes the office scenario.
type OfficeConfig struct {
	Config
	// Internal is the organisation's range; zero is 10.20.0.0/16. Public ranges used internally
	// (seed 003: 120.18.0.0/16) are fine.
	Internal netip.Prefix
}

// MinOfficeHosts is the smallest office: infrastructure, every planted threat and every
// look-alike need a host of their own, plus ordinary users around them.
const MinOfficeHosts = 60

// Office simulates an organisation network with one planted group per threat category and a
// benign look-alike built on purpose for each, so that a detector is tested both on what it must
// find and on what it must leave alone. Times are in UTC, which is the office's local time;
// working hours are 08-18 on weekdays.
//
// Benign traffic, for every ordinary user: web browsing in working hours (Zipf-popular sites,
// each visit a DNS lookup through the internal resolver then a TCP session), fewer sessions at
// weekends; OS update checks every 4 hours (± 20 min) to three update servers; NTP hourly; a
// monitoring agent reporting every 5 minutes to the internal monitoring server on 10050; a chat
// client's heartbeat every 2 minutes in working hours to a SaaS most hosts use; SMB to the file
// server and Kerberos/LDAP to the domain controllers (many-to-one); printing on 9100.
//
// Planted threats (truth categories in brackets):
//   - [miner] two hosts: Monero pool sessions around the clock, reconnecting every 20-40 s, one on
//     443 (seed 000) and one on the classic Stratum port 3333; pool names resolved through DNS.
//   - [beacon] two periodic beacons (every 300 s ± 10 %, and every 45 s ± 30 %, all days) and a
//     group of four bursty beacons (seed 003: every 60 s, but only inside three 20-40 minute
//     bursts a day, each burst to one of three C2 addresses).
//   - [off-hours] one host whose only traffic to a rare destination is irregular sessions at
//     01:00-04:00 every night.
//   - [dns-tunnel] one host sending ~2,000 TXT queries a day with 40-60 character random
//     subdomains of one domain straight to an outside name server, in large datagrams.
//   - [exfil] a 3 GB upload in working hours, a 500 MB upload at 03:00 (also [off-hours]) and an
//     800 MB upload on port 8088 that no other host uses, each to a rare destination.
//   - [p2p] a clique of five hosts exchanging UDP on port 41234 every few minutes, all pairs.
//   - [c2] a bot herder: an internal host that six other internal hosts (also [c2]) contact every
//     2 minutes on port 7443, which nobody else uses.
//   - [scan] a horizontal sweep of 445 over 250 internal addresses, a vertical sweep of ports
//     1-1024 on one server, and a slow scan probing a random internal host and port every 3-7
//     minutes for the whole span; most probes get no answer.
//   - [long-conn] a 10-hour session to a rare external address on 443 once a day, moving a few MB
//     (a remote shell, not a transfer).
//
// Look-alikes (benign, each imitating a category): a build server pulling packages all day
// (miner: heavy talker), a developer's test service on external port 3333 (miner), the chat
// heartbeat (beacon: periodic but contacted by most hosts), the monitoring server (c2: many hosts
// report to it regularly on an odd port, but all of them do), a night-shift operations box active
// 22:00-06:00 every night (off-hours: its own baseline), a mail server resolving hundreds of
// domains (dns-tunnel: many queries, short ordinary names), the backup server uploading 2-5 GB
// to its provider every night (exfil: same every night), two hosts syncing a folder (p2p: a pair,
// not a clique), an inventory collector polling every host on 5985 once a night (scan: answered
// connections on a schedule), and video streaming of 1-3 hours to a CDN many hosts use
// (long-conn).
func Office(cfg OfficeConfig) (*Scenario, error) {
	if cfg.Hosts < MinOfficeHosts {
		return nil, fmt.Errorf("office scenario needs at least %d hosts (infrastructure, 29 planted threat hosts and 12 look-alikes), got %d", MinOfficeHosts, cfg.Hosts)
	}
	if cfg.Days < 1 {
		return nil, fmt.Errorf("days must be at least 1, got %d", cfg.Days)
	}
	pfx := cfg.Internal
	if !pfx.IsValid() {
		pfx = netip.MustParsePrefix("10.20.0.0/16")
	}
	if !pfx.Addr().Is4() || pfx.Bits() > 22 {
		return nil, fmt.Errorf("internal range %s: want an IPv4 prefix of /22 or wider (room for %d hosts and scan targets)", pfx, cfg.Hosts)
	}
	start := cfg.Start
	if start.IsZero() {
		start = time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC) // a Monday
	}
	o := &office{
		gen:   gen{rng: rand.New(rand.NewPCG(cfg.Seed, 0x0ff1ce)), names: map[netip.Addr][]string{}},
		pfx:   pfx.Masked(),
		start: start,
		days:  cfg.Days,
		truth: Truth{Scenario: "office", Internal: []string{pfx.Masked().String()}, Hosts: map[string][]string{}, LookAlikes: map[string]LookAlike{}},
	}
	o.build(cfg.Hosts)
	o.benign()
	o.threats()
	o.lookAlikes()
	return &Scenario{Records: o.byTime(), Names: o.names, Truth: o.truth}, nil
}

type office struct {
	gen
	pfx   netip.Prefix
	start time.Time
	days  int
	truth Truth
	next  uint32 // next host number in pfx

	resolver, monitor, fileSrv, printer netip.Addr
	dcs                                 []netip.Addr
	users                               []netip.Addr // ordinary users, including threat hosts
	sites, updates, ntp                 []netip.Addr
	chat, cdn, backupProvider           netip.Addr
	sitePop                             func(*rand.Rand) int
	threatUsers                         int // users[:threatUsers] carry planted threats
}

// chatty says whether user i runs the chat client (seven in ten do).
func chatty(i int) bool { return i%10 < 7 }

// host allocates the next internal address.
func (o *office) host() netip.Addr {
	o.next++
	b := o.pfx.Addr().As4()
	n := (uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])) + o.next
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

func (o *office) plant(a netip.Addr, cats ...string) {
	o.truth.Hosts[a.String()] = append(o.truth.Hosts[a.String()], cats...)
}

func (o *office) lookAlike(a netip.Addr, imitates, what string) {
	o.truth.LookAlikes[a.String()] = LookAlike{Imitates: imitates, What: what}
}

func (o *office) build(hosts int) {
	o.resolver, o.monitor, o.fileSrv, o.printer = o.host(), o.host(), o.host(), o.host()
	o.dcs = []netip.Addr{o.host(), o.host()}
	for range hosts - 6 {
		o.users = append(o.users, o.host())
	}
	// Which user plays which role changes with the seed, so no detector can learn addresses.
	o.rng.Shuffle(len(o.users), func(i, j int) { o.users[i], o.users[j] = o.users[j], o.users[i] })
	o.sites = o.externals(400, "www", "example-site.com")
	o.updates = o.externals(3, "update", "os-vendor.com")
	o.ntp = o.externals(2, "ntp", "pool.ntp.org")
	o.chat = o.external("chat", "saas-messenger.com")
	o.cdn = o.external("video", "streaming-cdn.net")
	o.backupProvider = o.external("vault", "backup-provider.com")
	o.sitePop = zipf(len(o.sites), 1.1)
}

// day returns midnight of day d.
func (o *office) day(d int) time.Time { return o.start.Add(time.Duration(d) * 24 * time.Hour) }

func (o *office) weekend(d int) bool {
	wd := o.day(d).Weekday()
	return wd == time.Saturday || wd == time.Sunday
}

func (o *office) end() time.Time { return o.day(o.days) }

// at is a time within day d: hour h plus up to spread seconds.
func (o *office) at(d, h int, spread int) time.Time {
	return o.day(d).Add(time.Duration(h)*time.Hour + time.Duration(o.rng.IntN(max(spread, 1)))*time.Second)
}

// conn appends a TCP or UDP session with traffic both ways.
func (o *office) conn(t time.Time, src, dst netip.Addr, dport uint16, proto uint8, out, in uint64, dur time.Duration) *flow.Record {
	pktsOut := max(out/1200, 1)
	var pktsIn uint64
	if in > 0 {
		pktsIn = max(in/1200, 1)
	}
	return o.add(flow.Record{
		Time: t.UnixNano(), Duration: int64(dur), Src: src, Dst: dst, SrcPort: uint16(32768 + o.rng.IntN(28000)),
		DstPort: dport, Proto: proto, Action: flow.ActionPass, Dir: flow.DirOut,
		BytesOut: out, BytesIn: in, PktsOut: pktsOut, PktsIn: pktsIn,
	})
}

// probe appends an unanswered connection attempt; blocked when a firewall would see it.
func (o *office) probe(t time.Time, src, dst netip.Addr, dport uint16) {
	r := o.conn(t, src, dst, dport, flow.ProtoTCP, 0, 0, 0)
	r.PktsOut = 1
	r.Action = flow.ActionBlock
}

// lookup appends a DNS query through resolver: the UDP flow and the application event that
// names the answers (read by Zeek dns.log writers and the name map).
func (o *office) lookup(t time.Time, src, resolver netip.Addr, name string, qtype uint16, answers ...netip.Addr) {
	o.conn(t, src, resolver, 53, flow.ProtoUDP, uint64(40+len(name)), uint64(56+len(name)+16*len(answers)), 2*time.Millisecond)
	o.add(flow.Record{
		Time: t.UnixNano(), Src: src, Dst: resolver, SrcPort: uint16(32768 + o.rng.IntN(28000)), DstPort: 53,
		Proto: flow.ProtoUDP, Kind: flow.KindEvent, DNSQuery: name, DNSType: qtype, DNSAnswers: slices.Clone(answers),
	})
}

// visit looks a destination up and opens one session to it.
func (o *office) visit(t time.Time, src, dst netip.Addr, port uint16, out, in uint64, dur time.Duration) {
	if names := o.names[dst]; len(names) > 0 {
		o.lookup(t, src, o.resolver, names[0], 1, dst)
	}
	o.conn(t.Add(30*time.Millisecond), src, dst, port, flow.ProtoTCP, out, in, dur)
}

// every calls fn at t0, t0+period·(1±jitter), ... until end.
func (o *office) every(t0, end time.Time, period time.Duration, jitter float64, fn func(time.Time)) {
	for t := t0; t.Before(end); {
		fn(t)
		f := 1 + jitter*(2*o.rng.Float64()-1)
		t = t.Add(time.Duration(float64(period) * f))
	}
}

func (o *office) benign() {
	for i, u := range o.users {
		for d := range o.days {
			sessions := 5 + o.rng.IntN(10)
			if o.weekend(d) {
				sessions = o.rng.IntN(3)
			}
			for range sessions {
				t := o.at(d, 8, 10*3600)
				for range 3 + o.rng.IntN(12) {
					site := o.sites[o.sitePop(o.rng)]
					port := uint16(443)
					if o.rng.IntN(6) == 0 {
						port = 80
					}
					o.visit(t, u, site, port, uint64(400+o.rng.IntN(2500)), uint64(5000+o.rng.IntN(400_000)), time.Duration(100+o.rng.IntN(20_000))*time.Millisecond)
					t = t.Add(time.Duration(2+o.rng.IntN(90)) * time.Second)
				}
			}
			if !o.weekend(d) {
				// Morning logon, file shares and printing.
				logon := o.at(d, 8, 3600)
				o.conn(logon, u, o.dcs[i%2], 88, flow.ProtoTCP, 1500, 1800, 50*time.Millisecond)
				o.conn(logon.Add(time.Second), u, o.dcs[i%2], 389, flow.ProtoTCP, 800, 3000, 80*time.Millisecond)
				for range 2 + o.rng.IntN(8) {
					o.conn(o.at(d, 8, 10*3600), u, o.fileSrv, 445, flow.ProtoTCP, uint64(2000+o.rng.IntN(200_000)), uint64(5000+o.rng.IntN(2_000_000)), time.Duration(1+o.rng.IntN(60))*time.Second)
				}
				if o.rng.IntN(3) == 0 {
					o.conn(o.at(d, 9, 8*3600), u, o.printer, 9100, flow.ProtoTCP, uint64(50_000+o.rng.IntN(2_000_000)), 200, 5*time.Second)
				}
				if chatty(i) {
					o.every(o.at(d, 8, 1800), o.day(d).Add(18*time.Hour), 2*time.Minute, 0.05, func(t time.Time) {
						o.conn(t, u, o.chat, 443, flow.ProtoTCP, 180, 120, 200*time.Millisecond)
					})
				}
			}
		}
		// Around the clock: updates, NTP, monitoring.
		o.every(o.start.Add(time.Duration(o.rng.IntN(4*3600))*time.Second), o.end(), 4*time.Hour, 0.08, func(t time.Time) {
			o.visit(t, u, o.updates[o.rng.IntN(len(o.updates))], 443, 900, 4000, 300*time.Millisecond)
		})
		o.every(o.start.Add(time.Duration(o.rng.IntN(3600))*time.Second), o.end(), time.Hour, 0.02, func(t time.Time) {
			o.conn(t, u, o.ntp[o.rng.IntN(len(o.ntp))], 123, flow.ProtoUDP, 76, 76, 20*time.Millisecond)
		})
		o.every(o.start.Add(time.Duration(o.rng.IntN(300))*time.Second), o.end(), 5*time.Minute, 0.01, func(t time.Time) {
			o.conn(t, u, o.monitor, 10050, flow.ProtoTCP, 350, 90, 30*time.Millisecond)
		})
	}
}

// rare returns a fresh external address with a plausible name: a destination only the planted
// host talks to.
func (o *office) rare(label string) netip.Addr {
	return o.external(label, []string{"cdn-sync.net", "api-metrics.io", "static-assets.org", "cloud-storage.biz"}[o.rng.IntN(4)])
}

// threats plants one group per category on the first users; the rest stay benign.
func (o *office) threats() {
	u := o.users
	next := 0
	take := func(n int) []netip.Addr { s := u[next : next+n]; next += n; return s }

	// Miners: pool sessions around the clock, each opening with XMRig's Stratum login (the first
	// bytes a packet capture keeps; the other formats have no payloads).
	poolNames := []string{"xmr-eu1.nanopool.org", "pool.supportxmr.com"}
	for i, m := range take(2) {
		pool := o.rng4()
		o.names[pool] = []string{poolNames[i]}
		port := []uint16{443, 3333}[i]
		login := stratumLogin(i)
		o.lookup(o.start.Add(time.Minute), m, o.resolver, poolNames[i], 1, pool)
		o.every(o.start.Add(time.Duration(o.rng.IntN(30))*time.Second), o.end(), 30*time.Second, 0.33, func(t time.Time) {
			r := o.conn(t, m, pool, port, flow.ProtoTCP, uint64(300+o.rng.IntN(200)), uint64(200+o.rng.IntN(150)), time.Duration(15+o.rng.IntN(10))*time.Second)
			r.PayloadOut = slices.Clone(login[:min(len(login), int(r.BytesOut))])
		})
		o.plant(m, "miner")
	}

	// Periodic beacons.
	for i, b := range take(2) {
		c2 := o.rare("beacon")
		period, jitter := []time.Duration{300 * time.Second, 45 * time.Second}[i], []float64{0.1, 0.3}[i]
		o.every(o.start.Add(time.Duration(o.rng.IntN(300))*time.Second), o.end(), period, jitter, func(t time.Time) {
			o.visit(t, b, c2, 443, uint64(250+o.rng.IntN(100)), uint64(400+o.rng.IntN(200)), 300*time.Millisecond)
		})
		o.plant(b, "beacon")
	}
	// Bursty beacons (seed 003): three bursts a day, every 60 s inside a burst, one of three C2s.
	c2s := []netip.Addr{o.rare("burst"), o.rare("burst"), o.rare("burst")}
	for _, b := range take(4) {
		for d := range o.days {
			for k := range 3 {
				burst := o.at(d, 8*k, 6*3600)
				length := time.Duration(20+o.rng.IntN(21)) * time.Minute
				dst := c2s[o.rng.IntN(3)]
				o.every(burst, burst.Add(length), time.Minute, 0.03, func(t time.Time) {
					o.conn(t, b, dst, 443, flow.ProtoTCP, uint64(300+o.rng.IntN(50)), uint64(500+o.rng.IntN(100)), 400*time.Millisecond)
				})
			}
		}
		o.plant(b, "beacon")
	}

	// Off-hours C2: irregular night sessions to a rare destination.
	oh := take(1)[0]
	ohDst := o.rare("night")
	for d := range o.days {
		for range 3 + o.rng.IntN(5) {
			o.visit(o.at(d, 1, 3*3600), oh, ohDst, 443, uint64(2000+o.rng.IntN(30_000)), uint64(5000+o.rng.IntN(200_000)), time.Duration(5+o.rng.IntN(300))*time.Second)
		}
	}
	o.plant(oh, "off-hours")

	// DNS tunnel: long random subdomains, TXT, straight to an outside name server.
	tun := take(1)[0]
	ns := o.rare("ns1")
	const b32 = "abcdefghijklmnopqrstuvwxyz234567"
	for d := range o.days {
		o.every(o.day(d).Add(time.Duration(o.rng.IntN(600))*time.Second), o.day(d+1), 43*time.Second, 0.5, func(t time.Time) {
			var sb strings.Builder
			for range 40 + o.rng.IntN(21) {
				sb.WriteByte(b32[o.rng.IntN(32)])
			}
			q := sb.String() + ".t.exf1l-data.com"
			o.conn(t, tun, ns, 53, flow.ProtoUDP, uint64(200+o.rng.IntN(56)), uint64(180+o.rng.IntN(60)), 40*time.Millisecond)
			o.add(flow.Record{Time: t.UnixNano(), Src: tun, Dst: ns, SrcPort: 53001, DstPort: 53, Proto: flow.ProtoUDP,
				Kind: flow.KindEvent, DNSQuery: q, DNSType: 16})
		})
	}
	o.plant(tun, "dns-tunnel")

	// Exfiltration: volume in working hours, at night, and on a port nobody else uses.
	ex := take(3)
	lastDay := o.days - 1
	upload := func(h netip.Addr, t time.Time, dst netip.Addr, port uint16, total uint64, parts int) {
		for range parts {
			d := time.Duration(60+o.rng.IntN(60)) * time.Second
			o.conn(t, h, dst, port, flow.ProtoTCP, total/uint64(parts), 40_000, d)
			t = t.Add(d + time.Duration(1+o.rng.IntN(20))*time.Second)
		}
	}
	upload(ex[0], o.at(lastDay, 11, 3600), o.rare("drop"), 443, 3_000_000_000, 50)
	upload(ex[1], o.at(lastDay, 3, 600), o.rare("drop"), 443, 500_000_000, 10)
	upload(ex[2], o.at(lastDay, 14, 3600), o.rare("drop"), 8088, 800_000_000, 16)
	o.plant(ex[0], "exfil")
	o.plant(ex[1], "exfil", "off-hours")
	o.plant(ex[2], "exfil")

	// P2P clique: every pair exchanges UDP on 41234 every few minutes.
	clique := take(5)
	for i, a := range clique {
		for j, b := range clique {
			if i == j {
				continue
			}
			o.every(o.start.Add(time.Duration(o.rng.IntN(600))*time.Second), o.end(), 7*time.Minute, 0.5, func(t time.Time) {
				o.conn(t, a, b, 41234, flow.ProtoUDP, uint64(100+o.rng.IntN(1400)), uint64(100+o.rng.IntN(1400)), 50*time.Millisecond)
			})
		}
		o.plant(a, "p2p")
	}

	// Bot herder: an internal host six bots report to every 2 minutes on 7443.
	herder := take(1)[0]
	for _, bot := range take(6) {
		o.every(o.start.Add(time.Duration(o.rng.IntN(120))*time.Second), o.end(), 2*time.Minute, 0.05, func(t time.Time) {
			o.conn(t, bot, herder, 7443, flow.ProtoTCP, uint64(150+o.rng.IntN(100)), uint64(100+o.rng.IntN(400)), 150*time.Millisecond)
		})
		o.plant(bot, "c2")
	}
	o.plant(herder, "c2")

	// Scans: horizontal, vertical, slow.
	sc := take(3)
	first := o.pfx.Addr().As4()
	target := func(n int) netip.Addr {
		return netip.AddrFrom4([4]byte{first[0], first[1], first[2] + byte(1+n/250), byte(1 + n%250)})
	}
	t := o.at(lastDay, 10, 3600)
	for n := range 250 {
		o.probe(t.Add(time.Duration(n)*2400*time.Millisecond), sc[0], target(n), 445)
	}
	t = o.at(lastDay, 15, 3600)
	for i := range 1024 {
		port := uint16(i + 1)
		at := t.Add(time.Duration(i) * 300 * time.Millisecond)
		if port == 445 || port == 88 || port == 389 { // the file server's open ports answer
			o.conn(at, sc[1], o.fileSrv, port, flow.ProtoTCP, 60, 60, 0)
			continue
		}
		o.probe(at, sc[1], o.fileSrv, port)
	}
	o.every(o.start.Add(time.Duration(o.rng.IntN(300))*time.Second), o.end(), 5*time.Minute, 0.4, func(t time.Time) {
		o.probe(t, sc[2], target(o.rng.IntN(500)), uint16(1+o.rng.IntN(10000)))
	})
	for _, s := range sc {
		o.plant(s, "scan")
	}

	// Long connection: 10 hours to a rare destination each day.
	lc := take(1)[0]
	lcDst := o.rare("relay")
	for d := range o.days {
		o.visit(o.at(d, 7, 3600), lc, lcDst, 443, 2_000_000, 6_000_000, 10*time.Hour) // a remote shell: hours, little data
	}
	o.plant(lc, "long-conn")
	o.threatUsers = next
}

func (o *office) lookAlikes() {
	u := o.users[o.threatUsers:]
	next := 0
	take := func() netip.Addr { a := u[next]; next++; return a }

	builder := take()
	mirrors := o.externals(6, "mirror", "debian.org")
	for d := range o.days {
		for range 4000 {
			o.visit(o.at(d, 0, 86400), builder, mirrors[o.rng.IntN(len(mirrors))], 443, 600, uint64(50_000+o.rng.IntN(5_000_000)), 2*time.Second)
		}
	}
	o.lookAlike(builder, "miner", "build server pulling packages all day: a heavy external talker")

	dev := take()
	devSvc := o.external("devbox", "example.io")
	for d := range o.days {
		if o.weekend(d) {
			continue
		}
		for range 40 {
			o.visit(o.at(d, 9, 8*3600), dev, devSvc, 3333, 2000, 8000, 3*time.Second)
		}
	}
	o.lookAlike(dev, "miner", "developer's test service on external port 3333")

	for i := len(o.users) - 1; ; i-- {
		if chatty(i) {
			o.lookAlike(o.users[i], "beacon", "chat client heartbeat every 2 minutes in working hours, to a SaaS most hosts use")
			break
		}
	}
	o.lookAlike(o.monitor, "c2", "monitoring server every host reports to every 5 minutes on 10050")

	night := take()
	for d := range o.days {
		for range 30 {
			h := (22 + o.rng.IntN(8)) % 24
			o.visit(o.at(d, h, 3600), night, o.sites[o.sitePop(o.rng)], 443, 1500, 80_000, 2*time.Second)
		}
	}
	o.lookAlike(night, "off-hours", "night-shift operations box, active 22:00-06:00 every night")

	mail := take()
	for d := range o.days {
		for range 600 {
			site := o.sites[o.rng.IntN(len(o.sites))]
			o.lookup(o.at(d, 0, 86400), mail, o.resolver, "mx."+o.names[site][0], 15, site)
		}
	}
	o.lookAlike(mail, "dns-tunnel", "mail server resolving hundreds of domains")

	backup := take()
	for d := range o.days {
		t := o.at(d, 2, 600)
		for range 40 {
			o.conn(t, backup, o.backupProvider, 443, flow.ProtoTCP, uint64(50_000_000+o.rng.IntN(75_000_000)), 100_000, 80*time.Second)
			t = t.Add(85 * time.Second)
		}
	}
	o.lookAlike(backup, "exfil", "backup server uploading 2-5 GB to its provider every night")

	syncA, syncB := take(), take()
	o.every(o.start, o.end(), 10*time.Minute, 0.3, func(t time.Time) {
		o.conn(t, syncA, syncB, 22000, flow.ProtoTCP, uint64(1000+o.rng.IntN(100_000)), uint64(1000+o.rng.IntN(100_000)), time.Second)
	})
	o.lookAlike(syncA, "p2p", "folder sync between two desktops: a pair, not a clique")

	inventory := take()
	for d := range o.days {
		t := o.at(d, 3, 60)
		for _, h := range o.users {
			o.conn(t, inventory, h, 5985, flow.ProtoTCP, 2000, 15_000, 400*time.Millisecond)
			t = t.Add(1500 * time.Millisecond)
		}
	}
	o.lookAlike(inventory, "scan", "inventory collector polling every host on 5985 once a night")

	streamer := take()
	for d := range o.days {
		if o.weekend(d) {
			continue
		}
		for _, s := range []netip.Addr{streamer, u[next], u[next+1]} {
			o.visit(o.at(d, 12, 3600), s, o.cdn, 443, 3_000_000, 900_000_000, time.Duration(60+o.rng.IntN(120))*time.Minute)
		}
	}
	o.lookAlike(streamer, "long-conn", "video streaming of 1-3 hours to a CDN several hosts use")
}
