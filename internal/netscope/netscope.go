// Package netscope decides which addresses are internal: from CIDRs the user gives, from the
// private-range defaults, or inferred from how addresses behave in the data. Detectors only look
// at internal hosts, so every choice made here is reported back to the user.
package netscope

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"
)

// DefaultRanges are the ranges internal when the user names none: RFC 1918, shared address space
// (RFC 6598, carrier-grade NAT), IPv4 link-local, IPv6 unique-local and link-local.
var DefaultRanges = []string{
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
	"fc00::/7", "fe80::/10",
}

// Scope is a set of internal prefixes. The zero value contains nothing.
type Scope struct {
	table    bart.Lite
	prefixes []netip.Prefix
	// Inferred lists the prefixes added by inference, with the evidence for each.
	Inferred []Inferred
}

// Parse builds a Scope from CIDRs or bare addresses (taken as /32 or /128).
func Parse(cidrs []string) (*Scope, error) {
	s := &Scope{}
	for _, c := range cidrs {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		p, err := parsePrefix(c)
		if err != nil {
			return nil, err
		}
		s.Add(p)
	}
	return s, nil
}

func parsePrefix(c string) (netip.Prefix, error) {
	if !strings.Contains(c, "/") {
		a, err := netip.ParseAddr(c)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("internal range %q: not an address or CIDR", c)
		}
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(c)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("internal range %q: %v", c, err)
	}
	if p.Addr().Is4In6() {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p.Masked(), nil
}

// Default returns the scope of DefaultRanges.
func Default() *Scope {
	s, err := Parse(DefaultRanges)
	if err != nil {
		panic(err) // constant input
	}
	return s
}

// Add puts p in the scope.
func (s *Scope) Add(p netip.Prefix) {
	p = p.Masked()
	for _, q := range s.prefixes {
		if q == p {
			return
		}
	}
	s.table.Insert(p)
	s.prefixes = append(s.prefixes, p)
}

// Contains reports whether a is internal.
func (s *Scope) Contains(a netip.Addr) bool {
	return a.IsValid() && s.table.Lookup(a)
}

// Prefixes returns the prefixes in the order they were added.
func (s *Scope) Prefixes() []netip.Prefix { return s.prefixes }

// Strings returns the prefixes as CIDR strings, for reports.
func (s *Scope) Strings() []string {
	out := make([]string, len(s.prefixes))
	for i, p := range s.prefixes {
		out[i] = p.String()
	}
	return out
}
