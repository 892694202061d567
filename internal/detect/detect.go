// Package detect holds the detectors: pure functions from engine aggregates to findings, one file
// per detector, each documenting its formula and thresholds in its doc comment.
package detect

import (
	"cmp"
	"fmt"
	"math"
	"net/netip"
	"runtime"
	"slices"
	"strconv"

	"github.com/flowhunt/flowhunt/internal/engine"
	"golang.org/x/sync/errgroup"
)

// Categories of the output contract.
const (
	Miner     = "miner"
	Beacon    = "beacon"
	C2        = "c2"
	OffHours  = "off-hours"
	DNSTunnel = "dns-tunnel"
	Exfil     = "exfil"
	P2P       = "p2p"
	Scan      = "scan"
	LongConn  = "long-conn"
	Talker    = "talker"
)

// Categories lists every category in the contract's order.
var Categories = []string{Miner, Beacon, C2, OffHours, DNSTunnel, Exfil, P2P, Scan, LongConn, Talker}

// Finding is one detector's verdict on one internal host, with the numbers behind it.
type Finding struct {
	Host     netip.Addr
	Category string
	Score    float64 // in [0,1]
	Flagged  bool    // at or above the detector's decision threshold
	Peers    []string
	Reason   string         // one sentence a human can check against the data
	Evidence map[string]any // the numbers behind Reason, under stable keys
}

// Note is something a detector wants the user to know about the run (a skip, a missing field).
type Note struct {
	Detector string `json:"detector"`
	Text     string `json:"text"`
}

// Config holds every detector's thresholds; Defaults works without tuning.
type Config struct {
	Talker    TalkerConfig    `yaml:"talker"`
	Miner     MinerConfig     `yaml:"miner"`
	Exfil     ExfilConfig     `yaml:"exfil"`
	OffHours  OffHoursConfig  `yaml:"off_hours"`
	DNSTunnel DNSTunnelConfig `yaml:"dns_tunnel"`
	P2P       P2PConfig       `yaml:"p2p"`
	C2        C2Config        `yaml:"c2"`
	Scan      ScanConfig      `yaml:"scan"`
	LongConn  LongConnConfig  `yaml:"long_conn"`
	Beacon    BeaconConfig    `yaml:"beacon"`
}

// Defaults returns the default configuration.
func Defaults() Config {
	return Config{Talker: DefaultTalker(), Miner: DefaultMiner(), Exfil: DefaultExfil(), OffHours: DefaultOffHours(), DNSTunnel: DefaultDNSTunnel(),
		P2P: DefaultP2P(), C2: DefaultC2(), Scan: DefaultScan(), LongConn: DefaultLongConn(),
		Beacon: DefaultBeacon()}
}

// Detector is one registered detector: the category it reports and how it runs.
type Detector struct {
	Category string
	Run      func(engine.View, Config) ([]Finding, []Note)
}

// Detectors lists every detector Run runs, in order. The accuracy suite (internal/hunt) asserts
// precision and recall on simulated scenarios for every category listed here, so a detector
// cannot be added without being measured.
var Detectors = []Detector{
	{Talker, func(v engine.View, c Config) ([]Finding, []Note) { return Talkers(v, c.Talker) }},
	{Miner, func(v engine.View, c Config) ([]Finding, []Note) { return Miners(v, c.Miner) }},
	{Beacon, func(v engine.View, c Config) ([]Finding, []Note) { return Beacons(v, c.Beacon) }},
	{Exfil, func(v engine.View, c Config) ([]Finding, []Note) { return Exfils(v, c.Exfil) }},
	{OffHours, func(v engine.View, c Config) ([]Finding, []Note) { return OffHoursActivity(v, c.OffHours) }},
	{DNSTunnel, func(v engine.View, c Config) ([]Finding, []Note) { return DNSTunnels(v, c.DNSTunnel) }},
	{P2P, func(v engine.View, c Config) ([]Finding, []Note) { return P2Ps(v, c.P2P) }},
	{C2, func(v engine.View, c Config) ([]Finding, []Note) { return C2s(v, c.C2) }},
	{Scan, func(v engine.View, c Config) ([]Finding, []Note) { return Scans(v, c.Scan) }},
	{LongConn, func(v engine.View, c Config) ([]Finding, []Note) { return LongConns(v, c.LongConn) }},
}

// Run runs every detector over v, concurrently (detectors only read the View), and returns
// their findings and notes in registry order, so output does not depend on scheduling.
func Run(v engine.View, cfg Config) ([]Finding, []Note) {
	found := make([][]Finding, len(Detectors))
	noted := make([][]Note, len(Detectors))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, d := range Detectors {
		g.Go(func() error {
			found[i], noted[i] = d.Run(v, cfg)
			return nil
		})
	}
	g.Wait()
	var fs []Finding
	var notes []Note
	for i := range Detectors {
		fs = append(fs, found[i]...)
		notes = append(notes, noted[i]...)
	}
	notes = append(notes, attachAlerts(v, fs)...)
	return fs, notes
}

// peerString renders a peer as "ip:port" ("[v6]:port" for IPv6) or "ip" when port is 0.
func peerString(a netip.Addr, port uint16) string {
	if port == 0 {
		return a.String()
	}
	return netip.AddrPortFrom(a, port).String()
}

// topPeers returns the n keys with the largest counts, largest first, ties by key.
func topPeers(counts map[string]int64, n int) []string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if len(keys) > n {
		keys = keys[:n]
	}
	return keys
}

// median of xs; xs is sorted in place.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// robustZ returns a function giving the modified z-score of Iglewicz and Hoaglin,
// z = 0.6745·(x − median)/MAD. When more than half the values are equal (MAD = 0) it falls back
// to the mean absolute deviation, z = (x − median)/(1.2533·meanAD); when that is 0 too, every
// value equals the median and z is 0 for all values at or below it and +Inf above.
func robustZ(values []float64) (z func(float64) float64, med float64) {
	xs := slices.Clone(values)
	med = median(xs)
	dev := make([]float64, len(xs))
	var sumAbs float64
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
		sumAbs += dev[i]
	}
	mad := median(dev)
	switch {
	case mad > 0:
		return func(x float64) float64 { return 0.6745 * (x - med) / mad }, med
	case sumAbs > 0:
		meanAD := sumAbs / float64(len(xs))
		return func(x float64) float64 { return (x - med) / (1.2533 * meanAD) }, med
	}
	return func(x float64) float64 {
		if x > med {
			return math.Inf(1)
		}
		return 0
	}, med
}

// HumanBytes renders a byte count with an SI unit ("4.2 MB"), as every report writes sizes.
func HumanBytes(b uint64) string { return humanBytes(b) }

// humanBytes renders a byte count with an SI unit: "4.2 MB".
func humanBytes(b uint64) string {
	const unit = 1000
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(b)/float64(div), "kMGTPE"[exp])
}

// commas renders an integer with thousands separators: 130831 → "130,831".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}
