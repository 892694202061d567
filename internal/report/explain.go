package report

import (
	"cmp"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/engine"
	"github.com/flowhunt/flowhunt/internal/score"
)

// Explain writes everything known about one host: its findings (flagged and candidates) with the
// numbers behind them, its top peers with names, and sparklines of the flows it originated per
// hour of day and over the whole span. host is nil when no detector said anything about it.
func Explain(w io.Writer, addr netip.Addr, host *score.Host, v engine.View) error {
	h, seen := v.Host(addr)
	if !seen {
		fmt.Fprintf(w, "%s: not seen in the input\n", addr)
		return nil
	}
	where := "external"
	if h.Internal {
		where = "internal"
	}
	fmt.Fprintf(w, "%s (%s)", addr, where)
	if host != nil {
		fmt.Fprintf(w, "  score %.2f  %s", host.Score, strings.Join(host.Categories(), ","))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  originated %d flows to %d hosts on %d ports (%s sent, %s received); answered %d flows\n",
		h.ConnsOut, h.Peers, h.DstPorts, detect.HumanBytes(h.BytesSent), detect.HumanBytes(h.BytesReceived), h.ConnsIn)

	fmt.Fprintln(w, "\nfindings:")
	if host == nil || len(host.Findings) == 0 {
		fmt.Fprintln(w, "  none")
	} else {
		for _, f := range host.Findings {
			state := "flagged"
			if !f.Flagged {
				state = "candidate"
			}
			fmt.Fprintf(w, "  %s %.2f (%s): %s\n", f.Category, f.Score, state, Printable(f.Reason))
			if len(f.Peers) > 0 {
				fmt.Fprintf(w, "    peers: %s\n", Printable(strings.Join(f.Peers, " ")))
			}
			keys := make([]string, 0, len(f.Evidence))
			for k := range f.Evidence {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			var ev []string
			for _, k := range keys {
				ev = append(ev, fmt.Sprintf("%s=%v", k, f.Evidence[k]))
			}
			if len(ev) > 0 {
				fmt.Fprintf(w, "    evidence: %s\n", Printable(strings.Join(ev, " ")))
			}
		}
	}

	type peer struct {
		dst         netip.Addr
		flows       int64
		sent        uint64
		ports       []uint16
		first, last int64
	}
	var peers []*peer
	for p := range v.PairsFrom(addr) {
		if len(peers) == 0 || peers[len(peers)-1].dst != p.Dst {
			peers = append(peers, &peer{dst: p.Dst, first: p.First, last: p.Last})
		}
		pe := peers[len(peers)-1]
		pe.flows += p.Count
		pe.sent += p.BytesOut
		pe.ports = append(pe.ports, p.DstPort)
		pe.first, pe.last = min(pe.first, p.First), max(pe.last, p.Last)
	}
	slices.SortStableFunc(peers, func(a, b *peer) int { return cmp.Compare(b.flows, a.flows) })
	fmt.Fprintf(w, "\ntop peers (%d in all):\n", len(peers))
	for _, pe := range peers[:min(len(peers), 10)] {
		names := ""
		if ns := v.Names(pe.dst); len(ns) > 0 {
			names = "  " + Printable(strings.Join(ns[:min(len(ns), 3)], ","))
		}
		fmt.Fprintf(w, "  %-39s %8d flows %10s sent  ports %s  %s .. %s  seen by %d internal hosts%s\n",
			pe.dst, pe.flows, detect.HumanBytes(pe.sent), portsText(pe.ports), timeText(pe.first), timeText(pe.last), v.Prevalence(pe.dst), names)
	}

	if len(h.Hourly) > 0 {
		hod := h.HourOfDay(nil)
		fmt.Fprintf(w, "\nflows per hour of day (UTC 00-23): %s\n", Sparkline(hod[:]))
		first, last := h.Hourly[0].Hour, h.Hourly[len(h.Hourly)-1].Hour
		span := make([]uint64, last-first+1)
		for _, hc := range h.Hourly {
			span[hc.Hour-first] += uint64(hc.Flows)
		}
		fmt.Fprintf(w, "flows per hour, %s to %s: %s\n", timeText(first*3600e9), timeText(last*3600e9), Sparkline(downsample(span, 96)))
	}
	return nil
}

// Sparkline draws values as a row of block characters, the tallest for the maximum; zero is a
// space, so quiet hours show as gaps.
func Sparkline(values []uint64) string {
	const ticks = "▁▂▃▄▅▆▇█"
	blocks := []rune(ticks)
	var top uint64
	for _, x := range values {
		top = max(top, x)
	}
	var b strings.Builder
	for _, x := range values {
		if x == 0 || top == 0 {
			b.WriteRune(' ')
			continue
		}
		b.WriteRune(blocks[min(len(blocks)-1, int(uint64(len(blocks)-1)*x/top))])
	}
	return b.String()
}

// downsample sums values into at most n buckets.
func downsample(values []uint64, n int) []uint64 {
	if len(values) <= n {
		return values
	}
	out := make([]uint64, n)
	for i, x := range values {
		out[i*n/len(values)] += x
	}
	return out
}

func portsText(ports []uint16) string {
	slices.Sort(ports)
	ports = slices.Compact(ports)
	var s []string
	for _, p := range ports[:min(len(ports), 5)] {
		s = append(s, fmt.Sprint(p))
	}
	if len(ports) > 5 {
		s = append(s, fmt.Sprintf("+%d", len(ports)-5))
	}
	return strings.Join(s, ",")
}

func timeText(ns int64) string { return time.Unix(0, ns).UTC().Format("2006-01-02 15:04") }
