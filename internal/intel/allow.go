package intel

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/gaissmai/bart"
)

// AllowList is a user's list of known-good destinations: addresses, CIDRs and domain names (a
// name matches itself and its subdomains).
type AllowList struct {
	prefixes bart.Lite
	domains  map[string]bool
	n        int
}

// ReadAllowList reads one entry per line ("203.0.113.0/24", "198.51.100.7", "backup-provider.com"),
// '#' comments. A line that is neither an address, a CIDR nor a plausible domain name is an error
// naming the file and line.
func ReadAllowList(r io.Reader, file string) (*AllowList, error) {
	l := &AllowList{domains: map[string]bool{}}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		e := strings.TrimSpace(text)
		if e == "" {
			continue
		}
		l.n++
		if p, err := netip.ParsePrefix(e); err == nil {
			l.prefixes.Insert(p.Masked())
			continue
		}
		if a, err := netip.ParseAddr(e); err == nil {
			a = a.Unmap()
			l.prefixes.Insert(netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		name := strings.TrimSuffix(strings.ToLower(e), ".")
		if !plausibleDomain(name) {
			return nil, fmt.Errorf("%s:%d: %q is not an address, a CIDR or a domain name", file, line, truncate(e, 60))
		}
		l.domains[name] = true
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return l, nil
}

func plausibleDomain(s string) bool {
	if s == "" || len(s) > 253 || strings.Contains(s, "..") || strings.HasPrefix(s, ".") || strings.HasPrefix(s, "-") {
		return false
	}
	for _, c := range s {
		if !(c == '.' || c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// Len is the number of entries read.
func (l *AllowList) Len() int { return l.n }

// Allows reports whether the destination a, known by names, is on the list.
func (l *AllowList) Allows(a netip.Addr, names []string) bool {
	if l.prefixes.Lookup(a) {
		return true
	}
	for _, n := range names {
		n = strings.TrimSuffix(strings.ToLower(n), ".")
		for {
			if l.domains[n] {
				return true
			}
			i := strings.IndexByte(n, '.')
			if i < 0 {
				break
			}
			n = n[i+1:]
		}
	}
	return false
}
