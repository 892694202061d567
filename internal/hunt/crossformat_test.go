package hunt

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/eval"
	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/flowhunt/flowhunt/internal/ingest"
	"github.com/flowhunt/flowhunt/internal/report"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// TestCrossFormatPcapZeek simulates one office, writes it as Zeek TSV logs (conn.log, dns.log)
// and as a packet capture of the same traffic, hunts both with the same options, and asserts
// that every category flags the same hosts. The capture goes through the pcap reader's flow
// rebuilding, so this is the end-to-end check that a capture and Zeek's logs of it agree.
//
// Below the findings, the flows each input yields must be the same too; the test names the flows
// and fields that differ, which points at the writer or the reader. Compared per flow: start and
// duration (to the microsecond, Zeek's precision), addresses, responder port, protocol, bytes
// each way; not packets (the capture's segmentation is its own), not the client port (the pcap
// writer moves one that would merge two flows).
func TestCrossFormatPcapZeek(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates, writes and hunts one office twice")
	}
	sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: sim.MinOfficeHosts, Days: 2, Seed: 2718}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	zeekDir, pcapDir := filepath.Join(dir, "zeek")+"/", filepath.Join(dir, "pcap")+"/"
	for format, out := range map[string]string{"zeek": zeekDir, "pcap": pcapDir} {
		if err := sim.WriteScenario(sc, format, out, nil); err != nil {
			t.Fatal(err)
		}
	}
	inputs := []struct {
		name   string
		paths  []string
		format string // the format the summary must report for the flows
	}{
		{"zeek", []string{zeekDir + "conn.log", zeekDir + "dns.log"}, "zeek-conn"},
		{"pcap", []string{pcapDir + "capture.pcap"}, "pcap"},
	}
	flagged := make([]map[string][]string, len(inputs))
	for i, in := range inputs {
		opts := Options{Paths: in.paths, Internal: sc.Truth.Internal, Detect: detect.Defaults(), Version: "test"}
		opts.Ingest.Now = sim.EndOf(sc)
		res, err := Run(context.Background(), opts)
		if err != nil {
			t.Fatal(err)
		}
		sum := res.Report.Ingest
		if sum.Skipped != 0 || sum.Formats()[in.format] != 1 {
			t.Errorf("%s: formats %v, %d skipped; want %s and none skipped", in.name, sum.Formats(), sum.Skipped, in.format)
		}
		flagged[i] = flaggedByCategory(res.Report)
		logQuality(t, in.name, sc, res.Report)
	}

	var cats []string
	for _, m := range flagged {
		for c := range m {
			if !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
	}
	slices.Sort(cats)
	for _, c := range cats {
		z, p := flagged[0][c], flagged[1][c]
		if onlyZ, onlyP := minus(z, p), minus(p, z); len(onlyZ)+len(onlyP) > 0 {
			t.Errorf("%s: flagged from the Zeek logs only %v, from the capture only %v (both %v)", c, onlyZ, onlyP, minus(z, onlyZ))
		}
	}
	for _, c := range detect.Categories {
		if len(flagged[0][c])+len(flagged[1][c]) == 0 && slices.Contains(plantedCategories(sc), c) {
			t.Errorf("%s: nothing flagged from either input, so the comparison says nothing about it", c)
		}
	}
	compareFlows(t, inputs[0].paths, inputs[1].paths)
}

// flaggedByCategory maps each category to the hosts with a flagged finding in it, sorted.
func flaggedByCategory(r *report.Run) map[string][]string {
	out := map[string][]string{}
	for _, h := range r.Hosts {
		for _, f := range h.Findings {
			if f.Flagged && !slices.Contains(out[f.Category], h.Addr.String()) {
				out[f.Category] = append(out[f.Category], h.Addr.String())
			}
		}
	}
	for _, hs := range out {
		slices.Sort(hs)
	}
	return out
}

func plantedCategories(sc *sim.Scenario) []string {
	var cats []string
	for _, cs := range sc.Truth.Hosts {
		for _, c := range cs {
			if !slices.Contains(cats, c) {
				cats = append(cats, c)
			}
		}
	}
	return cats
}

// minus returns the elements of a not in b.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// logQuality logs precision and recall against the truth, for the reader of a failure.
func logQuality(t *testing.T, name string, sc *sim.Scenario, r *report.Run) {
	t.Helper()
	var doc bytes.Buffer
	if err := report.JSON(&doc, r); err != nil {
		t.Fatal(err)
	}
	var f eval.Findings
	if err := json.Unmarshal(doc.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	eval.Table(&table, eval.Score(&sc.Truth, &f))
	t.Logf("%s:\n%s", name, table.String())
}

// collector keeps copies of the records a reader emits.
type collector struct {
	mu   *sync.Mutex
	recs *[]flow.Record
}

func (c collector) Add(r *flow.Record) {
	cp := *r
	cp.DNSAnswers, cp.PayloadOut, cp.PayloadIn = slices.Clone(r.DNSAnswers), nil, nil
	c.mu.Lock()
	*c.recs = append(*c.recs, cp)
	c.mu.Unlock()
}

// flowKey is what a flow must agree on between the two inputs.
type flowKey struct {
	timeUS, durUS     int64
	src, dst          string
	dport             uint16
	proto             uint8
	bytesOut, bytesIn uint64
}

func (k flowKey) String() string {
	return fmt.Sprintf("%d.%06d %s → %s:%d proto %d for %v, %d B out, %d B in", k.timeUS/1e6, k.timeUS%1e6, k.src, k.dst, k.dport,
		k.proto, time.Duration(k.durUS)*time.Microsecond, k.bytesOut, k.bytesIn)
}

// compareFlows reads both inputs' flows and fails naming the ones that differ: flows only one
// input has, each conn.log one beside the capture flow with its start, addresses and port (then
// a field differs), and the DNS event counts.
func compareFlows(t *testing.T, zeekPaths, pcapPaths []string) {
	t.Helper()
	read := func(paths []string) (flows map[flowKey]int, dns int) {
		var mu sync.Mutex
		var recs []flow.Record
		if _, err := ingest.Run(context.Background(), paths, ingest.Options{}, func() ingest.Sink { return collector{&mu, &recs} }); err != nil {
			t.Fatal(err)
		}
		flows = map[flowKey]int{}
		for _, r := range recs {
			if r.Kind != flow.KindFlow {
				if r.DNSQuery != "" {
					dns++
				}
				continue
			}
			flows[flowKey{r.Time / 1e3, r.Duration / 1e3, r.Src.String(), r.Dst.String(), r.DstPort, r.Proto, r.BytesOut, r.BytesIn}]++
		}
		return flows, dns
	}
	z, zdns := read(zeekPaths)
	p, pdns := read(pcapPaths)
	if zdns != pdns {
		t.Errorf("DNS events: %d from dns.log, %d from the capture", zdns, pdns)
	}
	var onlyZ, onlyP []flowKey
	for k, n := range z {
		for range n - p[k] {
			onlyZ = append(onlyZ, k)
		}
	}
	for k, n := range p {
		for range n - z[k] {
			onlyP = append(onlyP, k)
		}
	}
	byTime := func(a, b flowKey) int {
		return cmp.Or(cmp.Compare(a.timeUS, b.timeUS), strings.Compare(a.src, b.src), strings.Compare(a.dst, b.dst))
	}
	if len(onlyZ)+len(onlyP) == 0 {
		return
	}
	slices.SortFunc(onlyZ, byTime)
	slices.SortFunc(onlyP, byTime)
	t.Errorf("flows: %d differ; only in conn.log %d, only in the capture %d", len(onlyZ)+len(onlyP), len(onlyZ), len(onlyP))
	for i, k := range onlyZ[:min(len(onlyZ), 10)] {
		near := "no capture flow with its start and addresses"
		for _, q := range onlyP {
			if q.timeUS == k.timeUS && q.src == k.src && q.dst == k.dst && q.dport == k.dport {
				near = "capture has " + q.String()
				break
			}
		}
		t.Errorf("  conn.log flow %d: %v; %s", i, k, near)
	}
	for i, k := range onlyP[:min(len(onlyP), 10)] {
		t.Errorf("  capture-only flow %d: %v", i, k)
	}
}
