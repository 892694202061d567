package engine

import (
	"hash/maphash"
	"iter"
	"math"
	"net/netip"
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

// addDNS folds one query into its host and registered domain.
func (p *partition) addDNS(r *flow.Record) {
	if p.dns == nil {
		p.dns = map[dnsKey]*dnsAcc{}
	}
	foldDNS(p.dns, r.Src, r.DNSQuery, r.DNSType, 1)
}

// foldDNS folds n queries of type qtype for name query, asked by host, into its host and
// registered domain. Both engines go through it: the embedded one once per record (n = 1), the
// ClickHouse backend once per (host, query, type) count its SQL returns, so the split into
// registered domain and subdomain, the distinct count and the entropy come from one piece of code.
//
// Queries that are not names under a public suffix (bare hostnames, reverse lookups stay in
// in-addr.arpa) are kept whole. The name is lower-cased and its final dot dropped; the subdomain
// is what precedes the registered domain. Per query: Queries += n, TXT += n for types 10, 16 and
// 99, SubLenTotal += n·len(sub), EntropyTotal += n·H(sub). Distinct counts distinct subdomains up
// to MaxDistinctLabels; DistinctCapped is set once a subdomain beyond the cap is seen, so both
// are the same whatever order the queries come in.
func foldDNS(dns map[dnsKey]*dnsAcc, host netip.Addr, query string, qtype uint16, n int64) {
	q := strings.TrimSuffix(strings.ToLower(query), ".")
	if q == "" || n <= 0 {
		return
	}
	domain, err := publicsuffix.EffectiveTLDPlusOne(q)
	if err != nil {
		domain = q
	}
	sub := strings.TrimSuffix(strings.TrimSuffix(q, domain), ".")
	k := dnsKey{host: host.As16(), domain: domain}
	d := dns[k]
	if d == nil {
		d = &dnsAcc{DNSDomain: DNSDomain{Host: host.Unmap(), Domain: domain}, seen: map[uint64]struct{}{}}
		dns[k] = d
	}
	d.Queries += n
	switch qtype {
	case 10, 16, 99: // NULL, TXT, SPF: record types that carry arbitrary data back
		d.TXT += n
	}
	d.SubLenTotal += n * int64(len(sub))
	d.SubLenMax = max(d.SubLenMax, len(sub))
	d.EntropyTotal += float64(n) * entropy(sub)
	h := maphash.String(dnsSeed, sub)
	if len(d.seen) < MaxDistinctLabels {
		d.seen[h] = struct{}{}
		d.Distinct = len(d.seen)
	} else if _, ok := d.seen[h]; !ok {
		d.DistinctCapped = true // a subdomain beyond the cap: Distinct is now a lower bound
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
