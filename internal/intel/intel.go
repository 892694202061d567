// Package intel holds what flowhunt knows before it reads any log: embedded, versioned lists of
// mining pools and mining ports, and the loading of user-supplied name maps.
package intel

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

//go:embed pools.txt
var poolsTxt string

//go:embed ports.txt
var portsTxt string

// List is a parsed embedded list with its version line.
type List struct {
	Version string
	Entries []string
}

func parseList(text string) List {
	var l List
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "# version "); ok {
			l.Version = v
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		l.Entries = append(l.Entries, strings.ToLower(line))
	}
	return l
}

// Pools is the embedded mining-pool domain list.
type Pools struct {
	Version  string
	suffixes map[string]struct{}
}

// MiningPools returns the embedded pool list.
func MiningPools() *Pools {
	l := parseList(poolsTxt)
	p := &Pools{Version: l.Version, suffixes: make(map[string]struct{}, len(l.Entries))}
	for _, e := range l.Entries {
		p.suffixes[e] = struct{}{}
	}
	return p
}

// Match returns the pool domain name belongs to (the listed suffix), or "". Matching is by whole
// labels: "xmr.nanopool.org" matches "nanopool.org", "notnanopool.org" does not.
func (p *Pools) Match(name string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	for {
		if _, ok := p.suffixes[name]; ok {
			return name
		}
		i := strings.IndexByte(name, '.')
		if i < 0 {
			return ""
		}
		name = name[i+1:]
	}
}

// Len is the number of pool domains listed.
func (p *Pools) Len() int { return len(p.suffixes) }

// MiningPorts returns the embedded mining-port set and its version.
func MiningPorts() (map[uint16]bool, string) {
	l := parseList(portsTxt)
	ports := make(map[uint16]bool, len(l.Entries))
	for _, e := range l.Entries {
		n, err := strconv.ParseUint(e, 10, 16)
		if err != nil {
			panic(fmt.Sprintf("intel: bad embedded port %q", e)) // caught by tests
		}
		ports[uint16(n)] = true
	}
	return ports, l.Version
}

// NameMap maps addresses to names.
type NameMap map[netip.Addr][]string

// ReadHosts reads a hosts-file style map: one "IP name [name...]" per line, '#' comments. It
// returns an error naming the line of the first bad address; a file whose first meaningful line
// is not such a line is reported with ErrNotHosts so the caller can try it as a log instead.
func ReadHosts(r io.Reader, file string) (NameMap, error) {
	m := NameMap{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	seen := false
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		a, err := netip.ParseAddr(fields[0])
		if err != nil || len(fields) < 2 {
			if !seen {
				return nil, ErrNotHosts
			}
			return nil, fmt.Errorf("%s:%d: want \"IP name\", got %q", file, line, truncate(sc.Text(), 60))
		}
		seen = true
		a = a.Unmap()
		for _, n := range fields[1:] {
			m[a] = append(m[a], strings.TrimSuffix(strings.ToLower(n), "."))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if !seen {
		return nil, ErrNotHosts
	}
	return m, nil
}

// ErrNotHosts says a file is not a hosts-style map.
var ErrNotHosts = fmt.Errorf("not an \"IP name\" map")

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
