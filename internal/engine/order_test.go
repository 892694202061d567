package engine

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// TestPairOrderMatchesComparePairs: finish sorts by pairOrder, merging and the ClickHouse builder
// by comparePairs; both must order any mix of IPv4 and IPv6 pairs the same way.
func TestPairOrderMatchesComparePairs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	addrs := []netip.Addr{
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"),
		netip.MustParseAddr("255.255.255.255"), netip.MustParseAddr("::"), netip.MustParseAddr("::1"),
		netip.MustParseAddr("::ffff:0:1"), netip.MustParseAddr("fe80::1"), netip.MustParseAddr("2001:db8::1"),
		netip.MustParseAddr("ffff::1"),
	}
	for range 50 {
		var b [16]byte
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		addrs = append(addrs, netip.AddrFrom16(b).Unmap(), netip.AddrFrom4([4]byte(b[:4])))
	}
	ps := make([]Pair, 5000)
	for i := range ps {
		ps[i] = Pair{Src: addrs[rng.IntN(len(addrs))], Dst: addrs[rng.IntN(len(addrs))],
			DstPort: []uint16{0, 53, 443, 65535}[rng.IntN(4)], Proto: []uint8{1, 6, 17}[rng.IntN(3)]}
	}
	order := make([]pairOrder, len(ps))
	for i := range ps {
		order[i] = orderOf(&ps[i], int32(i))
	}
	slices.SortFunc(order, comparePairOrder)
	for j := 1; j < len(order); j++ {
		x, y := &ps[order[j-1].idx], &ps[order[j].idx]
		if comparePairs(x, y) > 0 {
			t.Fatalf("pairOrder puts %v→%v:%d/%d before %v→%v:%d/%d", x.Src, x.Dst, x.DstPort, x.Proto, y.Src, y.Dst, y.DstPort, y.Proto)
		}
		if (comparePairOrder(order[j-1], order[j]) == 0) != (comparePairs(x, y) == 0) {
			t.Fatalf("equality differs for %v→%v and %v→%v", x.Src, x.Dst, y.Src, y.Dst)
		}
	}
}
