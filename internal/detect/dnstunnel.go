package detect

import (
	"fmt"
	"math"
	"net/netip"
	"slices"

	"github.com/flowhunt/flowhunt/internal/engine"
)

// DNSTunnelConfig tunes the DNS tunnelling detector.
type DNSTunnelConfig struct {
	// With DNS query fields:
	MinDistinct int     `yaml:"min_distinct"` // distinct subdomains under one registered domain
	MinMeanLen  float64 `yaml:"min_mean_len"` // mean subdomain length, characters
	MinEntropy  float64 `yaml:"min_entropy"`  // mean Shannon entropy of subdomains, bits/char
	MaxHosts    int     `yaml:"max_hosts"`    // a domain more internal hosts query is not a tunnel
	// With payload sizes only (flows to port 53):
	MinQueries int     `yaml:"min_queries"` // DNS flows a host must send
	MinZ       float64 `yaml:"min_z"`       // robust z of the host's mean DNS payload size
	MinRatio   float64 `yaml:"min_ratio"`   // and its ratio to the network median
}

// DefaultDNSTunnel returns the default DNS tunnelling thresholds.
func DefaultDNSTunnel() DNSTunnelConfig {
	return DNSTunnelConfig{MinDistinct: 100, MinMeanLen: 24, MinEntropy: 3.0, MaxHosts: 2, MinQueries: 100, MinZ: 3.5, MinRatio: 2}
}

// DNSTunnels flags internal hosts that carry data inside DNS queries.
//
// With DNS query fields (Zeek dns.log, a query column), per host h and registered domain D:
// a tunnel encodes data in the subdomain, so it needs many distinct, long, random-looking
// subdomains under one domain only it queries. Flagged when distinct(h,D) ≥ MinDistinct, mean
// subdomain length ≥ MinMeanLen, and mean entropy ≥ MinEntropy bits/char or at least half the
// queries ask for TXT/NULL records (which carry data back), and at most MaxHosts internal hosts
// query D (CDNs and mail servers resolve many names, but short and ordinary ones, or under
// domains everyone uses). Score = min(0.97, 0.7 + 0.1·log10(distinct/MinDistinct) + 0.1·TXT share).
//
// With only payload sizes (CSV or firewall logs of flows to port 53), per host: mean bytes per
// DNS flow m(h) over at least MinQueries flows, compared with the network by the robust z-score;
// flagged when z ≥ MinZ and m(h) ≥ MinRatio × the network median (ordinary queries are 40-80
// bytes; tunnel queries fill 200-255). Score = min(0.9, 0.6 + 0.05·(z − MinZ)).
func DNSTunnels(v engine.View, cfg DNSTunnelConfig) ([]Finding, []Note) {
	if v.Fields().DNS {
		return dnsTunnelsByName(v, cfg), nil
	}
	fs, note := dnsTunnelsBySize(v, cfg)
	notes := []Note{{DNSTunnel, "no DNS query fields: judged from DNS payload sizes only" + note}}
	return fs, notes
}

func dnsTunnelsByName(v engine.View, cfg DNSTunnelConfig) []Finding {
	scope := v.Scope()
	hostsPerDomain := map[string]int{}
	for d := range v.DNSDomains() {
		if scope.Contains(d.Host) {
			hostsPerDomain[d.Domain]++
		}
	}
	var out []Finding
	for d := range v.DNSDomains() {
		if !scope.Contains(d.Host) || d.Distinct < cfg.MinDistinct || hostsPerDomain[d.Domain] > cfg.MaxHosts {
			continue
		}
		q := float64(d.Queries)
		meanLen, meanEntropy, txtShare := float64(d.SubLenTotal)/q, d.EntropyTotal/q, float64(d.TXT)/q
		if meanLen < cfg.MinMeanLen || (meanEntropy < cfg.MinEntropy && txtShare < 0.5) {
			continue
		}
		score := math.Min(0.97, 0.7+0.1*math.Log10(float64(d.Distinct)/float64(cfg.MinDistinct))+0.1*txtShare)
		distinct := commas(int64(d.Distinct))
		if d.DistinctCapped {
			distinct = "over " + distinct
		}
		out = append(out, Finding{Host: d.Host, Category: DNSTunnel, Score: score, Flagged: true, Peers: []string{d.Domain},
			Reason: fmt.Sprintf("%s queries under %s with %s distinct subdomains, %.0f characters long on average (longest %d), %.1f bits/char, %.0f%% TXT/NULL",
				commas(d.Queries), d.Domain, distinct, meanLen, d.SubLenMax, meanEntropy, 100*txtShare),
			Evidence: map[string]any{"domain": d.Domain, "queries": d.Queries, "distinct_subdomains": d.Distinct,
				"distinct_capped": d.DistinctCapped, "mean_subdomain_len": finite(meanLen), "max_subdomain_len": d.SubLenMax,
				"mean_entropy": finite(meanEntropy), "txt_share": finite(txtShare), "hosts_querying_domain": hostsPerDomain[d.Domain]}})
	}
	slices.SortFunc(out, func(x, y Finding) int { return x.Host.Compare(y.Host) })
	return out
}

func dnsTunnelsBySize(v engine.View, cfg DNSTunnelConfig) ([]Finding, string) {
	type acc struct {
		flows int64
		bytes uint64
		peers map[string]int64
	}
	by := map[netip.Addr]*acc{}
	for p := range v.Pairs() {
		if p.DstPort != 53 || !v.Scope().Contains(p.Src) || p.Count == 0 {
			continue
		}
		a := by[p.Src]
		if a == nil {
			a = &acc{peers: map[string]int64{}}
			by[p.Src] = a
		}
		a.flows += p.Count
		a.bytes += p.BytesOut
		a.peers[peerString(p.Dst, 53)] += p.Count
	}
	var hosts []netip.Addr
	var means []float64
	for h, a := range by {
		if a.flows >= 10 {
			hosts = append(hosts, h)
			means = append(means, float64(a.bytes)/float64(a.flows))
		}
	}
	if len(hosts) < 3 {
		return nil, fmt.Sprintf("; %d hosts send DNS: too few for a baseline", len(hosts))
	}
	z, med := robustZ(means)
	var out []Finding
	for i, h := range hosts {
		a, m := by[h], means[i]
		zi := z(m)
		if a.flows < int64(cfg.MinQueries) || zi < cfg.MinZ || m < cfg.MinRatio*med {
			continue
		}
		out = append(out, Finding{Host: h, Category: DNSTunnel, Score: math.Min(0.9, 0.6+0.05*(math.Min(zi, 1e6)-cfg.MinZ)),
			Flagged: true, Peers: topPeers(a.peers, 3),
			Reason: fmt.Sprintf("%s DNS flows averaging %.0f bytes, %.1f× the network median of %.0f",
				commas(a.flows), m, m/med, med),
			Evidence: map[string]any{"dns_flows": a.flows, "mean_bytes": finite(m), "network_median_bytes": finite(med), "z": finite(zi)}})
	}
	slices.SortFunc(out, func(x, y Finding) int { return x.Host.Compare(y.Host) })
	return out, ""
}
