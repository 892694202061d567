package engine

import (
	"hash/maphash"
	"iter"
	"math"
	"strings"

	"github.com/flowhunt/flowhunt/internal/flow"
	"golang.org/x/net/publicsuffix"
)

type dnsKey struct {
	host   addr16
	domain string
}

// dnsAcc is a DNSDomain while aggregating, with the set of subdomain hashes seen.
type dnsAcc struct {
	DNSDomain
	seen map[uint64]struct{}
}

var dnsSeed = maphash.MakeSeed()

// addDNS folds one query into its host and registered domain. Queries that are not names under a
// public suffix (bare hostnames, reverse lookups stay in in-addr.arpa) are kept whole.
func (p *partition) addDNS(r *flow.Record) {
	q := strings.TrimSuffix(strings.ToLower(r.DNSQuery), ".")
	if q == "" {
		return
	}
	domain, err := publicsuffix.EffectiveTLDPlusOne(q)
	if err != nil {
		domain = q
	}
	sub := strings.TrimSuffix(strings.TrimSuffix(q, domain), ".")
	if p.dns == nil {
		p.dns = map[dnsKey]*dnsAcc{}
	}
	k := dnsKey{host: r.Src.As16(), domain: domain}
	d := p.dns[k]
	if d == nil {
		d = &dnsAcc{DNSDomain: DNSDomain{Host: r.Src.Unmap(), Domain: domain}, seen: map[uint64]struct{}{}}
		p.dns[k] = d
	}
	d.Queries++
	switch r.DNSType {
	case 10, 16, 99: // NULL, TXT, SPF: record types that carry arbitrary data back
		d.TXT++
	}
	d.SubLenTotal += int64(len(sub))
	d.SubLenMax = max(d.SubLenMax, len(sub))
	d.EntropyTotal += entropy(sub)
	if len(d.seen) < MaxDistinctLabels {
		d.seen[maphash.String(dnsSeed, sub)] = struct{}{}
		d.Distinct = len(d.seen)
	} else {
		d.DistinctCapped = true
	}
}

// entropy is the Shannon entropy of s in bits per character, over its bytes.
func entropy(s string) float64 {
	if len(s) == 0 {
		return 0
	}
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	h := 0.0
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// DNSDomains implements View.
func (m *Memory) DNSDomains() iter.Seq[*DNSDomain] {
	return func(yield func(*DNSDomain) bool) {
		for _, d := range m.dns {
			if !yield(d) {
				return
			}
		}
	}
}
