package detect

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/flow"
)

// BeaconConfig tunes the beacon detector. Beacons documents what each threshold decides.
type BeaconConfig struct {
	// MinGaps is how many in-burst gaps (connections − bursts) a series needs before its timing
	// means anything.
	MinGaps int `yaml:"min_gaps"`
	// MinPeriodSeconds: shorter periods cannot be told from continuous traffic at the
	// one-second resolution of the timestamps.
	MinPeriodSeconds float64 `yaml:"min_period_seconds"`
	// MaxJitter is the largest MAD/median of in-burst gaps a beacon may have (0.2 admits
	// uniform jitter up to ±40 %).
	MaxJitter float64 `yaml:"max_jitter"`
	// MaxSkew is the largest |Bowley skewness| of in-burst gaps a beacon may have.
	MaxSkew float64 `yaml:"max_skew"`
	// BurstGapFactor: a gap longer than this many median gaps ends a burst.
	BurstGapFactor float64 `yaml:"burst_gap_factor"`
	// MinBurstConns is how many connections a burst needs to count as one.
	MinBurstConns int `yaml:"min_burst_conns"`
	// MinHoursOfDay and MinCoverage: a beacon is active in at least MinHoursOfDay distinct
	// hours of the day, or its bursts cover at least MinCoverage of the observation window.
	MinHoursOfDay int     `yaml:"min_hours_of_day"`
	MinCoverage   float64 `yaml:"min_coverage"`
	// MaxPrevalence: a destination more than this share of internal hosts (and more than two)
	// contact is a shared service, not C2.
	MaxPrevalence float64 `yaml:"max_prevalence"`
	// MaxBytesPerConn and MaxDurationRatio recognise chunked bulk transfers: a series whose
	// connections average at least MaxBytesPerConn bytes sent, or last at least MaxDurationRatio
	// of the period on average, is back-to-back transfer, not check-ins.
	MaxBytesPerConn  uint64  `yaml:"max_bytes_per_conn"`
	MaxDurationRatio float64 `yaml:"max_duration_ratio"`
	// PeriodTolerance is how close (relative) two periods must be to be "the same pattern", for
	// grouping rotating destinations and for the pivot.
	PeriodTolerance float64 `yaml:"period_tolerance"`
	// MinPivotGaps is how many regular gaps a destination needs to join a rotation group, or a
	// host needs towards a confirmed C2 destination to be flagged by the pivot.
	MinPivotGaps int `yaml:"min_pivot_gaps"`
}

// DefaultBeacon returns the default beacon thresholds.
func DefaultBeacon() BeaconConfig {
	return BeaconConfig{
		MinGaps: 20, MinPeriodSeconds: 5, MaxJitter: 0.2, MaxSkew: 0.5,
		BurstGapFactor: 10, MinBurstConns: 3, MinHoursOfDay: 4, MinCoverage: 0.5,
		MaxPrevalence: 0.2, MaxBytesPerConn: 1_000_000, MaxDurationRatio: 0.5,
		PeriodTolerance: 0.15, MinPivotGaps: 5,
	}
}

// Beacons flags internal hosts that call an external destination on a timer: command-and-control
// check-ins, steady or in bursts.
//
// Series. For every internal source and external destination, the flow start times of all their
// pairs (every port and protocol) are merged into one sorted set of distinct seconds, and gaps
// g_i = t_{i+1} − t_i taken. Destinations are skipped when they are shared services (contacted
// by more than MaxPrevalence of internal hosts and by more than 2: chat heartbeats, NTP, update
// checks and monitoring are periodic on every host; RITA likewise lowers scores at ≥ 50 %
// prevalence), when they are internal (the c2 detector covers internal C2), or when a name seen
// for them is a mining pool (miners reconnect every 20-40 s; the miner detector owns them).
//
// Bursts. A gap longer than BurstGapFactor × the median gap ends a burst; the other gaps are
// in-burst gaps, and a burst of at least MinBurstConns connections counts. A steady beacon is one
// burst (or one a day when the machine sleeps); seed 003's beacons call every 60 s but only in
// three 20-40 minute bursts a day, so RITA, which scores all gaps together, rates them low.
//
// Regularity, on in-burst gaps only, as RITA scores timestamps: period = median gap; MAD =
// median |g − period|; Bowley skewness = (Q3 + Q1 − 2·Q2)/(Q3 − Q1), taken as 0 when
// Q3 − Q1 < 10 s or Q2 equals Q1 or Q3 (RITA's guard: one-second rounding makes tight
// distributions look skewed). Timing score T = ((1 − |skew|) + max(0, 1 − MAD/period))/2, RITA's
// formula. The reported jitter "±j" is half the 5th-95th percentile spread of the in-burst gaps'
// residuals r = g − k·period, k = max(1, round(g/period)): a beacon that misses a beat (a gap of
// two periods) is reported as missing it, not as jittering by a whole period.
// RITA's data-size score (Bowley and MAD of per-connection bytes) is not computed: pairs carry
// only byte sums, not per-connection sizes.
//
// Persistence, RITA's duration score adapted to bursts: coverage = Σ over bursts of (span + one
// period) / observation window; hours = distinct hours of the day touched by bursts (UTC; the
// count does not depend on the zone). P = max(coverage, min(1, hours/12)): RITA takes the larger
// of coverage and hour consistency, with 12 hours as the ideal.
//
// Decision. A series is flagged when all hold:
//   - ≥ MinGaps in-burst gaps (RITA analyses pairs from 4 connections; 20 gaps keep coincidences
//     out) and period ≥ MinPeriodSeconds (below, one-second timestamps cannot tell a timer from
//     continuous traffic);
//   - MAD/period ≤ MaxJitter and |skew| ≤ MaxSkew. Uniform jitter of ±x gives MAD/period = x/2:
//     the office's ±30 % beacon gives 0.15 and is caught, its DNS tunnel's queries at ±50 % give
//     0.25 and are not, Poisson traffic gives 0.69;
//   - the reported jitter ≤ 2·MaxJitter·period: uniform ±x jitter gives about 0.9·x·period, while
//     arrivals at random give residuals spread over the whole ±period/2 (about 0.45·period). Of
//     the million random series of the 10M-line benchmark, one passed the MAD test by chance
//     (22 gaps, "every 45.6 min ±22.6 min") and fails this one;
//   - not chunked bulk transfer: mean bytes sent per connection < MaxBytesPerConn (when byte
//     counts are transfer sizes) and mean duration < MaxDurationRatio × period (when durations
//     are known). An upload cut into 90 s pieces every 95 s is regular, and exfil's business;
//   - not clock synchronisation: requests to udp/123 averaging 48-68 bytes are NTP polls
//     (see ntpPolls), periodic by design, and need no network to be recognised as shared;
//   - it persists: hours ≥ MinHoursOfDay or coverage ≥ MinCoverage. This keeps scheduled jobs
//     out when sizes and durations are missing (firewall logs): a nightly backup in 40 chunks
//     every 85 s is perfectly regular, but at 02:00, one or two hours of the day however many
//     days are seen; a one-off chunked upload touches at most three. A beacon, steady or bursty
//     at varying times, spreads over the day; in a capture shorter than a day, coverage decides.
//
// Score = 0.6 + 0.39·(T + P)/2. Series nearly regular (MAD/period ≤ 2·MaxJitter) that fail a rule
// are unflagged candidates scoring 0.45·(T + P)/2, with the rule they failed.
//
// Rotation. Beacons that change destination keep their pattern: a source's destinations whose
// own in-burst gaps are regular (≥ MinPivotGaps gaps, MAD/period ≤ MaxJitter) and whose periods
// agree within PeriodTolerance are merged into one series and judged as above (seed 003: each
// burst went to one of three C2 addresses).
//
// Pivot. A destination of a flagged series is C2. Every other internal host whose series to it
// has ≥ MinPivotGaps regular in-burst gaps at the same period (within PeriodTolerance) is flagged
// too, even when its own series is too short to pass (seed 003: 26 hosts from 3 destinations);
// score 0.6 + 0.2·T.
//
// Cost: one pass over the pairs, plus O(n) per series of n ≥ MinPivotGaps + 1 connections to a
// non-shared external destination. Sorting gaps (O(n log n)) is skipped for series an exact
// histogram pre-check (mayBeRegular) proves irregular.
//
// Blind spots: C2 on destinations shared by more than MaxPrevalence of hosts (behind a popular
// CDN or cloud front), periods under MinPeriodSeconds, jitter over ±40 %, beacons of fewer than
// MinGaps in-burst gaps (unless pivoted to), a beacon that wakes at the same hour each day, and
// networks too small for prevalence to separate shared services from C2.
func Beacons(v engine.View, cfg BeaconConfig) ([]Finding, []Note) {
	if !v.Fields().Times {
		return nil, []Note{{Beacon, "skipped: the input has no flow timestamps, so connection timing cannot be measured"}}
	}
	first, last := v.Span()
	b := &beaconRun{v: v, cfg: cfg, scope: v.Scope(), internal: v.InternalHosts(),
		windowFirst: first / 1e9, windowSeconds: max(1, float64(last-first)/1e9),
		confirmed: map[netip.Addr][]beaconConfirm{}, done: map[netip.Addr]bool{}}
	if j := 2 * cfg.MaxJitter; j < 1 {
		b.histWindow = beaconBucketSpan((1 + j) / (1 - j))
	}
	if !b.scan(v.Pairs()) {
		// Pairs did not come grouped by source: sort a copy and start again.
		var all []*engine.Pair
		for p := range v.Pairs() {
			if b.scope.Contains(p.Src) {
				all = append(all, p)
			}
		}
		slices.SortStableFunc(all, func(x, y *engine.Pair) int { return x.Src.Compare(y.Src) })
		*b = beaconRun{v: b.v, cfg: b.cfg, scope: b.scope, internal: b.internal, windowFirst: b.windowFirst,
			windowSeconds: b.windowSeconds, histWindow: b.histWindow, confirmed: map[netip.Addr][]beaconConfirm{}, done: map[netip.Addr]bool{}}
		b.scan(slices.Values(all))
	}
	return b.finish(), nil
}

// beaconTiming is what the gaps of one series say.
type beaconTiming struct {
	conns        int     // distinct seconds
	gapsInBurst  int     // gaps ≤ BurstGapFactor × median gap
	period       float64 // median in-burst gap, s
	mad          float64 // median absolute deviation of in-burst gaps from the period, s
	madRatio     float64 // mad / period
	skew         float64 // Bowley skewness of in-burst gaps
	jitter       float64 // half the 5th-95th percentile spread of in-burst gaps' residuals, s
	missed       int     // beats missed inside bursts: Σ (round(gap/period) − 1)
	bursts       int     // bursts of ≥ MinBurstConns connections
	activeDays   int     // days (from the window's start) touched by those bursts
	hoursOfDay   int     // distinct hours of the day touched by those bursts
	coverage     float64 // Σ (burst span + period) / window
	burstSeconds float64 // mean span of a burst, s
}

// beaconSeries is one source's traffic to one destination, or to a group of rotating ones.
type beaconSeries struct {
	src      netip.Addr
	dsts     []netip.Addr
	peers    []string
	flows    int64
	bytesOut uint64
	durTotal int64
	pairs    []*engine.Pair // single-destination series only, valid while its source is processed
	t        beaconTiming

	flagged   bool
	candidate bool
	why       string // the rule a candidate failed
	routine   string // why the series is regular by nature (chunked bulk transfer, clock sync), or ""
	score     float64
	pivotFrom netip.Addr // the confirmed host a pivot finding came from
}

// beaconConfirm is a confirmed C2 destination's pattern, for the pivot.
type beaconConfirm struct {
	host   netip.Addr
	period float64
}

type beaconRun struct {
	v             engine.View
	cfg           BeaconConfig
	scope         interface{ Contains(netip.Addr) bool }
	internal      int
	windowFirst   int64
	windowSeconds float64

	done      map[netip.Addr]bool // sources already processed
	confirmed map[netip.Addr][]beaconConfirm
	best      []*beaconSeries // per source: its best flagged series, or best candidate
	pivots    []*beaconSeries // regular series of sources with nothing flagged
	others    map[netip.Addr][]string

	scratch    beaconSeries
	histWindow int // log buckets a ±2·MaxJitter interval can touch; 0: no pre-check
	srcPairs   []*engine.Pair
	timesBuf   []uint32
	gapsBuf    []uint32
	sortBuf    []uint32
}

// scan processes sources in the order pairs yields them; it returns false when a source's pairs
// are not contiguous (the caller then sorts).
func (b *beaconRun) scan(pairs iter.Seq[*engine.Pair]) bool {
	var cur netip.Addr
	curInternal := false
	for p := range pairs {
		if p.Src != cur {
			if curInternal {
				b.source(cur)
			}
			cur = p.Src
			if b.done[cur] {
				return false
			}
			curInternal = b.scope.Contains(cur)
			b.srcPairs = b.srcPairs[:0]
		}
		if curInternal && len(p.Times) > 0 {
			b.srcPairs = append(b.srcPairs, p)
		}
	}
	if curInternal {
		b.source(cur)
	}
	return true
}

// shared reports whether dst is out of scope by address: internal, or contacted by so many
// internal hosts that it is a shared service.
func (b *beaconRun) shared(dst netip.Addr) bool {
	if b.scope.Contains(dst) {
		return true
	}
	prev := b.v.Prevalence(dst)
	return prev > 2 && float64(prev) > b.cfg.MaxPrevalence*float64(max(b.internal, 1))
}

// pool reports whether a name seen for dst is a mining pool's. It runs only for series whose
// timing already passed, which are few.
func (b *beaconRun) pool(dst netip.Addr) bool {
	for _, n := range b.v.Names(dst) {
		if pools().Match(n) != "" {
			return true
		}
	}
	return false
}

// source judges every series of one internal source.
func (b *beaconRun) source(src netip.Addr) {
	b.done[src] = true
	ps := b.srcPairs
	if !slices.IsSortedFunc(ps, func(x, y *engine.Pair) int { return x.Dst.Compare(y.Dst) }) {
		slices.SortStableFunc(ps, func(x, y *engine.Pair) int { return x.Dst.Compare(y.Dst) })
	}
	minTimes := min(b.cfg.MinPivotGaps, b.cfg.MinGaps) + 1
	var series []*beaconSeries
	for i := 0; i < len(ps); {
		j, n := i, 0
		for ; j < len(ps) && ps[j].Dst == ps[i].Dst; j++ {
			n += len(ps[j].Times)
		}
		run := ps[i:j]
		i = j
		if n < minTimes || b.shared(run[0].Dst) {
			continue
		}
		// Measure into scratch space; keep only what can matter (most series are irregular).
		s := &b.scratch
		*s = beaconSeries{src: src}
		b.measure(s, run)
		b.judge(s)
		if (!s.flagged && !s.candidate && !b.regular(s, b.cfg.MinPivotGaps)) || b.pool(run[0].Dst) {
			continue
		}
		kept := *s
		kept.dsts = []netip.Addr{run[0].Dst}
		series = append(series, &kept)
	}
	if len(series) == 0 {
		return
	}
	series = append(series, b.rotations(src, series)...)

	var best *beaconSeries
	var flagged []*beaconSeries
	for _, s := range series {
		if s.flagged {
			flagged = append(flagged, s)
			for _, d := range s.dsts {
				b.confirmed[d] = append(b.confirmed[d], beaconConfirm{src, s.t.period})
			}
		}
		if best == nil || (s.flagged && !best.flagged) || (s.flagged == best.flagged && s.score > best.score) {
			best = s
		}
	}
	if len(flagged) > 0 {
		// Other destinations this host beacons to, beyond those of the best series.
		var more []string
		for _, s := range flagged {
			for _, p := range s.peers {
				if !slices.Contains(best.peers, p) && !slices.Contains(more, p) {
					more = append(more, p)
				}
			}
		}
		if len(more) > 0 {
			if b.others == nil {
				b.others = map[netip.Addr][]string{}
			}
			b.others[src] = more
		}
	} else {
		for _, s := range series {
			if len(s.dsts) == 1 && b.regular(s, b.cfg.MinPivotGaps) {
				s.setPeers()
				s.pairs = nil
				b.pivots = append(b.pivots, s)
			}
		}
	}
	if best.flagged || best.candidate {
		best.pairs = nil
		b.best = append(b.best, best)
	}
}

// regular reports whether a series' own in-burst gaps are a timer's: enough of them, at a period
// the timestamps can resolve, with jitter within MaxJitter, and not bulk transfer.
func (b *beaconRun) regular(s *beaconSeries, minGaps int) bool {
	return s.t.gapsInBurst >= minGaps && s.t.period >= b.cfg.MinPeriodSeconds &&
		s.t.madRatio <= b.cfg.MaxJitter && s.routine == ""
}

// rotations merges the source's regular destinations that share a period into groups and judges
// each group as one series.
func (b *beaconRun) rotations(src netip.Addr, series []*beaconSeries) []*beaconSeries {
	var reg []*beaconSeries
	for _, s := range series {
		if b.regular(s, b.cfg.MinPivotGaps) {
			reg = append(reg, s)
		}
	}
	if len(reg) < 2 {
		return nil
	}
	slices.SortFunc(reg, func(x, y *beaconSeries) int { return cmp.Compare(x.t.period, y.t.period) })
	var out []*beaconSeries
	for i := 0; i < len(reg); {
		j := i + 1
		for j < len(reg) && reg[j].t.period <= reg[i].t.period*(1+b.cfg.PeriodTolerance) {
			j++
		}
		if j-i >= 2 {
			g := &beaconSeries{src: src}
			var pairs []*engine.Pair
			for _, s := range reg[i:j] {
				g.dsts = append(g.dsts, s.dsts...)
				pairs = append(pairs, s.pairs...)
			}
			b.measure(g, pairs)
			b.judge(g)
			out = append(out, g)
		}
		i = j
	}
	return out
}

// measure fills a series' counters and timing from its pairs (grouped by destination).
func (b *beaconRun) measure(s *beaconSeries, pairs []*engine.Pair) {
	s.pairs = pairs
	for _, p := range pairs {
		s.flows += p.Count
		s.bytesOut += p.BytesOut
		s.durTotal += p.DurationTotal
	}
	times := pairs[0].Times
	if len(pairs) > 1 {
		b.timesBuf = b.timesBuf[:0]
		for _, p := range pairs {
			b.timesBuf = append(b.timesBuf, p.Times...)
		}
		slices.Sort(b.timesBuf)
		b.timesBuf = slices.Compact(b.timesBuf)
		times = b.timesBuf
	}
	s.t = b.timing(times)
	if s.t.period <= 0 || s.flows == 0 {
		return
	}
	meanDur := float64(s.durTotal) / 1e9 / float64(s.flows)
	meanOut := s.bytesOut / uint64(s.flows)
	switch {
	case b.v.Fields().Volumes && meanOut >= b.cfg.MaxBytesPerConn:
		s.routine = fmt.Sprintf("%s sent per connection on average: chunked bulk transfer", humanBytes(meanOut))
	case b.v.Fields().Duration && meanDur >= b.cfg.MaxDurationRatio*s.t.period:
		s.routine = fmt.Sprintf("connections last %.0f s of every %.0f s on average: back-to-back transfer", meanDur, s.t.period)
	case ntpPolls(pairs, meanOut):
		s.routine = fmt.Sprintf("%d-byte requests to udp/123 every %s: a clock synchronising over NTP, periodic by design", meanOut, beaconSeconds(s.t.period))
	}
}

// ntpPolls reports a series of NTP client requests: every pair UDP to port 123 and the mean
// request 48 to 68 bytes of payload (the 48-byte NTP header, plus at most a 20-byte MAC). NTP
// clients poll on a timer by design (ntpd every 64-1024 s, systemd-timesyncd up to every 2048
// s), so even one server whose clock sync prevalence cannot excuse is not a beacon. A C2
// channel on udp/123 with other sizes is judged as usual; sizes unknown (a firewall log) are
// not taken as NTP.
func ntpPolls(pairs []*engine.Pair, meanOut uint64) bool {
	for _, p := range pairs {
		if p.Proto != flow.ProtoUDP || p.DstPort != 123 {
			return false
		}
	}
	return meanOut >= 48 && meanOut <= 68
}

// setPeers names a series' destinations as "ip:port", each with the port of its busiest pair.
// It needs s.pairs, so it runs while the series' source is being processed.
func (b *beaconSeries) setPeers() {
	if b.peers != nil {
		return
	}
	for i := 0; i < len(b.pairs); {
		best := b.pairs[i]
		j := i + 1
		for ; j < len(b.pairs) && b.pairs[j].Dst == best.Dst; j++ {
			if b.pairs[j].Count > best.Count {
				best = b.pairs[j]
			}
		}
		b.peers = append(b.peers, peerString(best.Dst, best.DstPort))
		i = j
	}
}

// timing measures gaps, bursts and persistence of sorted distinct times.
func (b *beaconRun) timing(times []uint32) beaconTiming {
	t := beaconTiming{conns: len(times)}
	if len(times) < 2 {
		return t
	}
	if b.histWindow > 0 && !b.mayBeRegular(times) {
		t.madRatio = math.Inf(1)
		return t
	}
	gaps := b.gapsBuf[:0]
	for i := 1; i < len(times); i++ {
		gaps = append(gaps, times[i]-times[i-1])
	}
	b.gapsBuf = gaps
	sorted := append(b.sortBuf[:0], gaps...)
	b.sortBuf = sorted
	slices.Sort(sorted)
	split := b.cfg.BurstGapFactor * beaconQuantile(sorted, 0.5)
	in := sorted[:sort.Search(len(sorted), func(i int) bool { return float64(sorted[i]) > split })]
	t.gapsInBurst = len(in)
	if len(in) == 0 {
		return t
	}
	q1, q2, q3 := beaconQuantile(in, 0.25), beaconQuantile(in, 0.5), beaconQuantile(in, 0.75)
	t.period = q2
	t.mad = beaconMAD(in, q2)
	if q2 > 0 {
		t.madRatio = t.mad / q2
	}
	t.skew = beaconBowley(q1, q2, q3)
	t.jitter, t.missed = beaconJitter(in, q2)

	// Bursts, in time order.
	var (
		hours    uint32
		span     float64
		lastDay  = int64(-1)
		start, n = times[0], 1
	)
	closeBurst := func(end uint32) {
		if n < b.cfg.MinBurstConns {
			return
		}
		t.bursts++
		span += float64(end - start)
		for h, k := int64(start)/3600, 0; h <= int64(end)/3600 && k < 24; h, k = h+1, k+1 {
			hours |= 1 << (h % 24)
		}
		for d := max((int64(start)-b.windowFirst)/86400, lastDay+1); d <= (int64(end)-b.windowFirst)/86400; d++ {
			t.activeDays++
			lastDay = d
		}
	}
	for i, g := range gaps {
		if float64(g) > split {
			closeBurst(times[i])
			start, n = times[i+1], 1
			continue
		}
		n++
	}
	closeBurst(times[len(times)-1])
	for ; hours != 0; hours &= hours - 1 {
		t.hoursOfDay++
	}
	if t.bursts > 0 {
		t.burstSeconds = span / float64(t.bursts)
		t.coverage = math.Min(1, (span+float64(t.bursts)*t.period)/b.windowSeconds)
	}
	return t
}

// mayBeRegular is an exact, sort-free pre-check on a log histogram of the gaps (eighth-octave
// buckets). A series is at best a candidate when MAD ≤ 2·MaxJitter·median over its in-burst
// gaps, which needs at least half of them within median·(1 ± 2·MaxJitter): an interval that
// touches at most histWindow consecutive buckets. The in-burst gaps are at least those ≤
// BurstGapFactor × the lower edge of the median's bucket. When no window of buckets holds half
// that many gaps the series cannot pass, and sorting its gaps is skipped (Poisson gaps put at
// most ~35 % in any such window).
func (b *beaconRun) mayBeRegular(times []uint32) bool {
	var hist [beaconBuckets]int32
	for i := 1; i < len(times); i++ {
		hist[beaconBucket(times[i]-times[i-1])]++
	}
	n := int32(len(times) - 1)
	k, cum := (n-1)/2, int32(0) // the lower middle order statistic bounds the median from below
	medBucket := 0
	for i, c := range hist {
		cum += c
		if cum > k {
			medBucket = i
			break
		}
	}
	split := b.cfg.BurstGapFactor * beaconBucketFloor(medBucket)
	var inBurst, window, best int32
	for i := 1; i < len(times); i++ {
		if float64(times[i]-times[i-1]) <= split {
			inBurst++
		}
	}
	for i, c := range hist {
		window += c
		if i >= b.histWindow {
			window -= hist[i-b.histWindow]
		}
		best = max(best, window)
	}
	return best >= (inBurst+1)/2
}

// beaconBucketBits is how many bits after the leading one place a gap in its bucket: 3 gives eight
// buckets per octave, edges at 2^e·(1 + k/8).
const (
	beaconBucketBits = 3
	beaconBuckets    = 32 << beaconBucketBits
)

// beaconBucket is the log bucket of a gap ≥ 1 s.
func beaconBucket(g uint32) int {
	e := bits.Len32(g) - 1
	if e < 0 {
		return 0
	}
	return e<<beaconBucketBits | int(uint64(g)<<beaconBucketBits>>e&(1<<beaconBucketBits-1))
}

// beaconBucketFloor is the smallest value in bucket i.
func beaconBucketFloor(i int) float64 {
	return math.Ldexp(1+float64(i&(1<<beaconBucketBits-1))/(1<<beaconBucketBits), i>>beaconBucketBits)
}

// beaconBucketSpan is how many buckets an interval [x, r·x] can touch at most. The count grows as x
// nears the top of its bucket, so the worst case starts just below an edge; buckets repeat every
// octave (below 2^beaconBucketBits s integers touch only some of them).
func beaconBucketSpan(r float64) int {
	bucket := func(x float64) int {
		frac, exp := math.Frexp(x) // x = frac·2^exp, frac in [0.5, 1)
		return (exp-1)<<beaconBucketBits | int((2*frac-1)*(1<<beaconBucketBits))
	}
	most := 0
	for k := 1; k <= 1<<beaconBucketBits; k++ {
		x := math.Nextafter(1024*(1+float64(k)/(1<<beaconBucketBits)), 0)
		most = max(most, bucket(x*r)-bucket(x)+1)
	}
	return most
}

// judge decides a series: flagged, candidate or nothing, with its score.
func (b *beaconRun) judge(s *beaconSeries) {
	c, t := b.cfg, s.t
	if t.gapsInBurst < c.MinGaps || t.period < c.MinPeriodSeconds || t.madRatio > 2*c.MaxJitter {
		return
	}
	ts, ps := beaconTimingScore(t.skew, t.madRatio), beaconPersistenceScore(t.coverage, t.hoursOfDay)
	switch {
	case t.madRatio > c.MaxJitter:
		s.why = fmt.Sprintf("gaps vary by %.0f %% of the period (MAD), more than %.0f %%", 100*t.madRatio, 100*c.MaxJitter)
	case math.Abs(t.skew) > c.MaxSkew:
		s.why = fmt.Sprintf("gaps are lopsided (Bowley skewness %.2f, limit %.2f)", t.skew, c.MaxSkew)
	case t.jitter > 2*c.MaxJitter*t.period:
		s.why = fmt.Sprintf("beats wander by ±%s, more than ±%.0f %% of the period: random arrivals, not a timer",
			beaconSeconds(t.jitter), 200*c.MaxJitter)
	case s.routine != "":
		s.why = s.routine
	case t.hoursOfDay < c.MinHoursOfDay && t.coverage < c.MinCoverage:
		s.why = fmt.Sprintf("active in only %s of the day and %.0f %% of the window: a one-off or a job at a fixed hour, not a persistent timer",
			beaconPlural(t.hoursOfDay, "hour"), 100*t.coverage)
	default:
		s.flagged = true
		s.score = 0.6 + 0.39*(ts+ps)/2
		s.setPeers()
		return
	}
	s.candidate = true
	s.score = 0.45 * (ts + ps) / 2
	s.setPeers()
}

// beaconTimingScore is RITA's timestamp score: the mean of 1 − |Bowley skewness| and
// 1 − MAD/median, each in [0,1]; 1 is a perfect timer.
func beaconTimingScore(skew, madRatio float64) float64 {
	return (math.Max(0, 1-math.Abs(skew)) + math.Max(0, 1-madRatio)) / 2
}

// beaconPersistenceScore is RITA's duration score adapted to bursts: the larger of the share of
// the window the bursts cover and the hours of the day they touch out of an ideal 12.
func beaconPersistenceScore(coverage float64, hoursOfDay int) float64 {
	return math.Min(1, math.Max(coverage, float64(hoursOfDay)/12))
}

// beaconBowley is (Q3 + Q1 − 2·Q2)/(Q3 − Q1), taken as 0 when the quartiles are under 10 s apart
// or the median equals a quartile, as RITA does: with one-second timestamps such distributions
// are too narrow for their asymmetry to mean anything.
func beaconBowley(q1, q2, q3 float64) float64 {
	if q3-q1 < 10 || q2 == q1 || q2 == q3 {
		return 0
	}
	return (q3 + q1 - 2*q2) / (q3 - q1)
}

// beaconQuantile is the p-quantile of sorted xs by linear interpolation between order statistics.
// beaconJitter returns half the 5th-95th percentile spread of the residuals of sorted gaps
// against the nearest multiple of period, and the beats missed (gaps spanning k > 1 periods).
func beaconJitter(sorted []uint32, period float64) (jitter float64, missed int) {
	if period <= 0 || len(sorted) == 0 {
		return 0, 0
	}
	res := make([]float64, len(sorted))
	for i, g := range sorted {
		k := max(1, math.Round(float64(g)/period))
		missed += int(k) - 1
		res[i] = float64(g) - k*period
	}
	slices.Sort(res)
	q := func(p float64) float64 {
		pos := p * float64(len(res)-1)
		lo := int(pos)
		if lo >= len(res)-1 {
			return res[len(res)-1]
		}
		return res[lo] + (pos-float64(lo))*(res[lo+1]-res[lo])
	}
	return (q(0.95) - q(0.05)) / 2, missed
}

func beaconQuantile(xs []uint32, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	pos := p * float64(len(xs)-1)
	lo := int(pos)
	if lo >= len(xs)-1 {
		return float64(xs[len(xs)-1])
	}
	f := pos - float64(lo)
	return float64(xs[lo]) + f*(float64(xs[lo+1])-float64(xs[lo]))
}

// beaconMAD is the median of |x − center| over sorted xs, in O(n) without allocating: the
// deviations left and right of center are each sorted when read outward, so merging them from
// center outward yields all deviations in order.
func beaconMAD(xs []uint32, center float64) float64 {
	n := len(xs)
	if n == 0 {
		return 0
	}
	j := sort.Search(n, func(k int) bool { return float64(xs[k]) > center })
	i := j - 1
	k1, k2 := (n-1)/2, n/2
	var d1, d2 float64
	for c := 0; c <= k2; c++ {
		var d float64
		if i >= 0 && (j >= n || center-float64(xs[i]) <= float64(xs[j])-center) {
			d = center - float64(xs[i])
			i--
		} else {
			d = float64(xs[j]) - center
			j++
		}
		if c == k1 {
			d1 = d
		}
		if c == k2 {
			d2 = d
		}
	}
	return (d1 + d2) / 2
}

// finish runs the pivot and renders findings, sorted by host.
func (b *beaconRun) finish() []Finding {
	byHost := map[netip.Addr]*beaconSeries{}
	for _, s := range b.best {
		byHost[s.src] = s
	}
	// Pivot: hosts with nothing flagged that call a confirmed C2 destination at its period.
	for _, s := range b.pivots {
		confs := b.confirmed[s.dsts[0]]
		for _, c := range confs {
			if c.host == s.src || math.Abs(s.t.period/c.period-1) > b.cfg.PeriodTolerance {
				continue
			}
			if cur := byHost[s.src]; cur == nil || !cur.flagged {
				p := *s
				p.flagged, p.candidate, p.why = true, false, ""
				p.pivotFrom = c.host
				p.score = 0.6 + 0.2*beaconTimingScore(s.t.skew, s.t.madRatio)
				byHost[s.src] = &p
			}
			break
		}
	}
	out := make([]Finding, 0, len(byHost))
	for _, s := range byHost {
		out = append(out, b.finding(s))
	}
	slices.SortFunc(out, func(x, y Finding) int { return x.Host.Compare(y.Host) })
	return out
}

func (b *beaconRun) finding(s *beaconSeries) Finding {
	t := s.t
	windowDays := int(math.Ceil(b.windowSeconds / 86400))
	perDay := float64(t.bursts) / float64(max(t.activeDays, 1))
	bursty := t.coverage < b.cfg.MinCoverage && t.bursts > 1
	ev := map[string]any{
		"connections": t.conns, "flows": s.flows, "period_seconds": finite(t.period),
		"jitter_seconds": finite(t.jitter), "missed_beats": t.missed, "mad_seconds": finite(t.mad), "mad_ratio": finite(t.madRatio),
		"bowley_skew": finite(t.skew), "gaps_in_burst": t.gapsInBurst, "bursts": t.bursts,
		"bursts_per_day": finite(perDay), "burst_minutes": finite(t.burstSeconds / 60),
		"active_days": t.activeDays, "window_days": windowDays, "hours_of_day": t.hoursOfDay,
		"coverage": finite(t.coverage), "timing_score": finite(beaconTimingScore(t.skew, t.madRatio)),
		"persistence_score": finite(beaconPersistenceScore(t.coverage, t.hoursOfDay)),
		"destinations":      len(s.dsts), "bytes_sent": s.bytesOut,
	}
	var what strings.Builder
	fmt.Fprintf(&what, "%s connections to ", commas(int64(t.conns)))
	if len(s.dsts) == 1 {
		what.WriteString(s.peers[0])
	} else {
		fmt.Fprintf(&what, "%d rotating addresses (%s)", len(s.dsts), strings.Join(first(s.peers, 3), ", "))
	}
	fmt.Fprintf(&what, ", every %s ±%s", beaconSeconds(t.period), beaconSeconds(t.jitter))
	if t.missed > 0 {
		fmt.Fprintf(&what, " (%s missed)", beaconPlural(t.missed, "beat"))
	}
	if bursty {
		fmt.Fprintf(&what, " inside bursts of ~%.0f min, %s/day", t.burstSeconds/60, beaconPluralF(perDay, "burst"))
	}
	fmt.Fprintf(&what, ", on %d of %s, in %s of the day", t.activeDays, beaconPlural(windowDays, "day"), beaconPlural(t.hoursOfDay, "hour"))
	peers := slices.Clone(s.peers)
	switch {
	case s.pivotFrom.IsValid():
		ev["pivot_from"] = s.pivotFrom.String()
		fmt.Fprintf(&what, ": the same pattern as %s's confirmed beacon to %s", s.pivotFrom, s.dsts[0])
	case s.flagged:
		if more := b.others[s.src]; len(more) > 0 {
			fmt.Fprintf(&what, ", and %d more beacon destination(s)", len(more))
			peers = append(peers, more...)
			ev["other_destinations"] = len(more)
		}
	default:
		ev["not_flagged_because"] = s.why
		fmt.Fprintf(&what, "; not flagged: %s", s.why)
	}
	return Finding{Host: s.src, Category: Beacon, Score: math.Min(0.99, s.score), Flagged: s.flagged,
		Peers: first(peers, 5), Reason: what.String(), Evidence: ev}
}

// beaconSeconds renders a duration in seconds: "300 s", "4.5 s", "2.5 min", "1.5 h".
func beaconSeconds(s float64) string {
	switch {
	case s >= 5400:
		return beaconFloat(s/3600) + " h"
	case s >= 600:
		return beaconFloat(s/60) + " min"
	case s >= 10:
		return fmt.Sprintf("%.0f s", s)
	}
	return beaconFloat(s) + " s"
}

// beaconPlural renders "1 hour", "3 hours".
func beaconPlural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// beaconPluralF renders "1 burst", "2.5 bursts".
func beaconPluralF(x float64, unit string) string {
	if s := beaconFloat(x); s != "1" {
		return s + " " + unit + "s"
	}
	return "1 " + unit
}

// beaconFloat renders x with one decimal, without a trailing ".0".
func beaconFloat(x float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", x), ".0")
}
