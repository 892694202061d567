package engine

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
)

// pairTable maps IPv4 pair keys to pair indexes. It exists for one reason the profile showed:
// with a million pairs the index lookup of every flow is a cache miss, and in a Go map that miss
// sits inside the lookup, where the CPU cannot overlap it with the next flow's. Here a batch
// first hashes every key and touches its slot (slotsOf: small independent iterations, many
// misses in flight), then probes slots that are already in cache.
//
// Open addressing with linear probing over 16-byte slots (four to a cache line), at most half
// full. The hash is keyed by a random seed per table, so log content (attacker-chosen addresses
// and ports) cannot aim flows at one probe chain.
type pairTable struct {
	slots []pairSlot // len is a power of two
	n     int        // occupied slots
	seed  uint64
}

type pairSlot struct {
	key pairKey4
	idx int32 // pair index + 1; 0 marks an empty slot
}

func newPairTable(capacity int) *pairTable {
	size := 16
	for size < 2*capacity {
		size <<= 1
	}
	return &pairTable{slots: make([]pairSlot, size), seed: rand.Uint64() | 1}
}

// hash mixes the key's 12 bytes with the table's seed (a multiply-fold as in wyhash).
func (t *pairTable) hash(k *pairKey4) uint64 {
	a := uint64(binary.LittleEndian.Uint32(k.src[:])) | uint64(binary.LittleEndian.Uint32(k.dst[:]))<<32
	b := uint64(k.dport) | uint64(k.proto)<<16 | uint64(k.pad)<<24
	hi, lo := bits.Mul64(a^t.seed, b^0x9e3779b97f4a7c15)
	hi2, lo2 := bits.Mul64(hi^lo, t.seed^0xbf58476d1ce4e5b9)
	return hi2 ^ lo2
}

// prefetch hashes each key into hs and loads the slot each hash starts at; the returned sum
// only keeps the compiler from dropping the loads.
func (t *pairTable) prefetch(keys []pairKey4, hs []uint64) int32 {
	mask := uint64(len(t.slots) - 1)
	var s int32
	for i := range keys {
		h := t.hash(&keys[i])
		hs[i] = h
		s += t.slots[h&mask].idx
	}
	return s
}

// get returns the index stored for k, whose hash is h.
func (t *pairTable) get(k *pairKey4, h uint64) (int32, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.idx == 0 {
			return 0, false
		}
		if s.key == *k {
			return s.idx - 1, true
		}
	}
}

// put stores idx for k (hash h), which must not be in the table yet.
func (t *pairTable) put(k *pairKey4, h uint64, idx int32) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.insert(k, h, idx+1)
	t.n++
}

func (t *pairTable) insert(k *pairKey4, h uint64, stored int32) {
	mask := uint64(len(t.slots) - 1)
	i := h & mask
	for t.slots[i].idx != 0 {
		i = (i + 1) & mask
	}
	t.slots[i] = pairSlot{key: *k, idx: stored}
}

func (t *pairTable) grow() {
	old := t.slots
	t.slots = make([]pairSlot, 2*len(old))
	for i := range old {
		if s := &old[i]; s.idx != 0 {
			t.insert(&s.key, t.hash(&s.key), s.idx)
		}
	}
}
