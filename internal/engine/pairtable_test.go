package engine

import (
	"math/rand/v2"
	"testing"
)

// TestPairTable checks the table against a Go map over key sets that grow it many times,
// including keys that differ in one byte only and the all-zero key.
func TestPairTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name string
		key  func(i int) pairKey4
	}{
		{"random", func(int) pairKey4 {
			var k pairKey4
			for j := range k.src {
				k.src[j], k.dst[j] = byte(rng.Uint32()), byte(rng.Uint32())
			}
			k.dport, k.proto = uint16(rng.Uint32()), uint8(rng.Uint32())
			return k
		}},
		{"ports of one pair", func(i int) pairKey4 {
			return pairKey4{src: [4]byte{10, 0, 0, 1}, dst: [4]byte{10, 0, 0, 2}, dport: uint16(i), proto: uint8(i >> 16)}
		}},
		{"sequential sources", func(i int) pairKey4 {
			return pairKey4{src: [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, dst: [4]byte{8, 8, 8, 8}, dport: 53, proto: 17}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := newPairTable(4)
			want := map[pairKey4]int32{}
			zero := pairKey4{}
			tab.put(&zero, tab.hash(&zero), 0)
			want[zero] = 0
			for i := 1; i < 200_000; i++ {
				k := tc.key(i)
				h := tab.hash(&k)
				if _, ok := want[k]; ok {
					if _, found := tab.get(&k, h); !found {
						t.Fatalf("key %v stored but not found", k)
					}
					continue
				}
				if _, found := tab.get(&k, h); found {
					t.Fatalf("key %v found before it was stored", k)
				}
				want[k] = int32(len(want))
				tab.put(&k, h, want[k])
			}
			if tab.n != len(want) || 2*tab.n > len(tab.slots) {
				t.Fatalf("table holds %d keys in %d slots, want %d keys at most half full", tab.n, len(tab.slots), len(want))
			}
			for k, i := range want {
				got, ok := tab.get(&k, tab.hash(&k))
				if !ok || got != i {
					t.Fatalf("get(%v) = %d, %v; want %d", k, got, ok, i)
				}
			}
			keys := make([]pairKey4, 0, 16)
			for k := range want {
				if keys = append(keys, k); len(keys) == cap(keys) {
					break
				}
			}
			hs := make([]uint64, len(keys))
			tab.prefetch(keys, hs)
			for i := range keys {
				if hs[i] != tab.hash(&keys[i]) {
					t.Fatalf("prefetch hash %d differs from hash", i)
				}
			}
		})
	}
}

// TestPairTableSeeded: two tables hash the same key differently, so crafted keys that collide
// in one run do not in the next.
func TestPairTableSeeded(t *testing.T) {
	k := pairKey4{src: [4]byte{10, 0, 0, 1}, dst: [4]byte{1, 2, 3, 4}, dport: 443, proto: 6}
	a, b := newPairTable(1), newPairTable(1)
	if a.hash(&k) == b.hash(&k) {
		t.Fatalf("two tables share a hash seed")
	}
}
