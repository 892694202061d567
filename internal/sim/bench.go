package sim

import (
	"bufio"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// WriteBenchCSV streams n flows in seed 003's CSV layout for throughput benchmarks: 5,000
// internal hosts in 120.18.0.0/16 (a public range used internally, as in the seed) over one day
// in time order. Like real hosts, each has a working set of 20-200 destinations drawn from
// 200,000 external addresses by Zipf popularity, which takes 90% of its flows; the rest go to
// fresh Zipf draws. A destination serves one port. It
// holds no records in memory, so n can be any size.
func WriteBenchCSV(w io.Writer, n int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0xbe4c4))
	g := &gen{rng: rng}
	const hosts, externals = 5000, 200_000
	ext := make([]netip.Addr, externals)
	for i := range ext {
		ext[i] = g.rng4()
	}
	pick := zipf(externals, 1.05)
	working := make([][]int32, hosts)
	for h := range working {
		ws := make([]int32, 20+rng.IntN(181))
		for i := range ws {
			ws[i] = int32(pick(rng))
		}
		working[h] = ws
	}
	ports := []uint16{443, 443, 443, 80, 53, 123, 8080, 22}
	protos := []uint8{flow.ProtoTCP, flow.ProtoTCP, flow.ProtoTCP, flow.ProtoTCP, flow.ProtoUDP, flow.ProtoUDP, flow.ProtoTCP, flow.ProtoTCP}
	start := time.Date(2021, 8, 18, 0, 0, 0, 0, time.UTC).UnixNano()
	step := int64(24*time.Hour) / int64(max(n, 1))
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload\n")
	var buf []byte
	var r flow.Record
	for i := range n {
		h := rng.IntN(hosts)
		d := int32(pick(rng))
		if rng.IntN(10) != 0 {
			d = working[h][rng.IntN(len(working[h]))]
		}
		dst := ext[d]
		k := int(d) % len(ports) // a destination serves one service, as real servers do
		r = flow.Record{
			Time: start + int64(i)*step, Src: netip.AddrFrom4([4]byte{120, 18, byte(h >> 8), byte(h)}), Dst: dst,
			SrcPort: uint16(32768 + rng.IntN(28000)), DstPort: ports[k], Proto: protos[k], BytesOut: uint64(40 + rng.IntN(1400)),
		}
		buf = appendCSV(buf[:0], &r)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}
