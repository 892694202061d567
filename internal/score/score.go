// Package score combines detector findings into one ranked score per host, keeping every finding
// as the host's evidence, and pivots from a destination to the internal hosts that reached it.
package score

import (
	"cmp"
	"net/netip"
	"slices"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/engine"
)

// Host is one ranked host.
type Host struct {
	Addr     netip.Addr
	Score    float64
	Flagged  bool // at least one finding is flagged
	Findings []detect.Finding
}

// Categories returns the categories of the host's flagged findings (all findings when none is).
func (h *Host) Categories() []string {
	var out []string
	for _, f := range h.Findings {
		if (f.Flagged || !h.Flagged) && !slices.Contains(out, f.Category) {
			out = append(out, f.Category)
		}
	}
	return out
}

// Rank groups findings by host and scores each host by the noisy-OR of its flagged findings,
// S = 1 − Π(1 − sᵢ): independent pieces of evidence add up, no single weak one can push a host
// over a strong one, and S stays in [0,1]. Hosts with no flagged finding are dropped unless all is
// set; they are then scored by the noisy-OR of their candidates. Findings within a host are
// ordered flagged first, then by score; hosts by score, then address.
func Rank(findings []detect.Finding, all bool) []Host {
	by := map[netip.Addr]*Host{}
	for _, f := range findings {
		h := by[f.Host]
		if h == nil {
			h = &Host{Addr: f.Host}
			by[f.Host] = h
		}
		h.Findings = append(h.Findings, f)
		h.Flagged = h.Flagged || f.Flagged
	}
	out := make([]Host, 0, len(by))
	for _, h := range by {
		if !h.Flagged && !all {
			continue
		}
		if !all {
			h.Findings = slices.DeleteFunc(h.Findings, func(f detect.Finding) bool { return !f.Flagged })
		}
		miss := 1.0
		for _, f := range h.Findings {
			if f.Flagged || !h.Flagged {
				miss *= 1 - f.Score
			}
		}
		h.Score = 1 - miss
		slices.SortStableFunc(h.Findings, func(a, b detect.Finding) int {
			if a.Flagged != b.Flagged {
				if a.Flagged {
					return -1
				}
				return 1
			}
			if c := cmp.Compare(b.Score, a.Score); c != 0 {
				return c
			}
			return cmp.Compare(a.Category, b.Category)
		})
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b Host) int {
		if a.Flagged != b.Flagged {
			if a.Flagged {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	return out
}

// Contact is one internal host's traffic to a pivot destination.
type Contact struct {
	Host        netip.Addr
	Flows       int64
	BytesSent   uint64
	Ports       []uint16
	First, Last int64
}

// Pivot lists every internal host that originated flows to dst, most flows first.
func Pivot(v engine.View, dst netip.Addr) []Contact {
	by := map[netip.Addr]*Contact{}
	for p := range v.Pairs() {
		if p.Dst != dst || !v.Scope().Contains(p.Src) {
			continue
		}
		c := by[p.Src]
		if c == nil {
			c = &Contact{Host: p.Src, First: p.First, Last: p.Last}
			by[p.Src] = c
		}
		c.Flows += p.Count
		c.BytesSent += p.BytesOut
		c.First, c.Last = min(c.First, p.First), max(c.Last, p.Last)
		if !slices.Contains(c.Ports, p.DstPort) {
			c.Ports = append(c.Ports, p.DstPort)
		}
	}
	out := make([]Contact, 0, len(by))
	for _, c := range by {
		slices.Sort(c.Ports)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Contact) int {
		if c := cmp.Compare(b.Flows, a.Flows); c != 0 {
			return c
		}
		return a.Host.Compare(b.Host)
	})
	return out
}
