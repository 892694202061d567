package ingest

import "bytes"

// splitFields splits line on sep into sc.Fields without copying; the slices alias line.
func splitFields(sc *Scratch, line []byte, sep byte) [][]byte {
	f := sc.Fields[:0]
	for {
		i := bytes.IndexByte(line, sep)
		if i < 0 {
			f = append(f, line)
			break
		}
		f = append(f, line[:i])
		line = line[i+1:]
	}
	sc.Fields = f
	return f
}
