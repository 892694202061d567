package hunt

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flowhunt/flowhunt/internal/detect"
	"github.com/flowhunt/flowhunt/internal/eval"
	"github.com/flowhunt/flowhunt/internal/report"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// minQuality is the precision and recall every implemented threat category must reach.
const minQuality = 0.9

// TestQuality runs the office scenario at small scale with seeds never used to tune the
// detectors, each in a different input format, hunts it as a user would, and asserts precision
// and recall ≥ 0.9 for every category with a registered detector (detect.Detectors), and that
// no benign look-alike is flagged in the category it imitates. Categories without a detector yet
// are reported in the log, not asserted.
func TestQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("accuracy suite: several simulated scenarios")
	}
	implemented := map[string]bool{}
	for _, d := range detect.Detectors {
		implemented[d.Category] = true
	}
	for _, tc := range []struct {
		seed   uint64
		hosts  int
		days   int
		format string
		names  bool // pass rdns.txt (formats without DNS logs)
		// cannot lists categories the format lacks the fields for: their detector must say so
		// in a note instead of being scored.
		cannot []string
	}{
		{101, 70, 2, "csv", true, []string{detect.LongConn}},                     // no durations
		{202, 70, 2, "zeek", false, nil},                                         // names come from dns.log
		{303, 70, 2, "filterlog", true, []string{detect.Exfil, detect.LongConn}}, // one packet per connection: no volumes, no durations
		{404, 90, 3, "zeek-json", false, nil},                                    // a bigger, longer network
	} {
		t.Run(tc.format, func(t *testing.T) {
			sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: tc.hosts, Days: tc.days, Seed: tc.seed}})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir() + "/"
			if err := sim.WriteScenario(sc, tc.format, dir, nil); err != nil {
				t.Fatal(err)
			}
			opts := Options{Paths: []string{dir}, Internal: sc.Truth.Internal, Detect: detect.Defaults()}
			opts.Ingest.Now = sim.EndOf(sc)
			if tc.names {
				opts.DNSMaps = []string{filepath.Join(dir, "rdns.txt")}
			}
			res, err := Run(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			var doc bytes.Buffer
			if err := report.JSON(&doc, res.Report); err != nil {
				t.Fatal(err)
			}
			var f eval.Findings
			if err := json.Unmarshal(doc.Bytes(), &f); err != nil {
				t.Fatal(err)
			}
			score := eval.Score(&sc.Truth, &f)
			var table bytes.Buffer
			eval.Table(&table, score)
			t.Logf("seed %d, %s:\n%s", tc.seed, tc.format, table.String())
			for _, c := range tc.cannot {
				noted := false
				for _, n := range res.Report.Notes {
					noted = noted || n.Detector == c
				}
				if !noted {
					t.Errorf("%s: %s cannot run on %s input, but no note says so", tc.format, c, tc.format)
				}
			}
			for _, row := range score.Rows {
				if !implemented[row.Category] || slices.Contains(tc.cannot, row.Category) {
					continue
				}
				if row.Precision < minQuality || row.Recall < minQuality {
					t.Errorf("%s: precision %.2f recall %.2f, want ≥ %.1f (missed %v, wrong %v)",
						row.Category, row.Precision, row.Recall, minQuality, row.Missed, row.Wrong)
				}
			}
			for _, ip := range score.LookAlikesFlagged {
				if la := sc.Truth.LookAlikes[ip]; implemented[la.Imitates] {
					t.Errorf("look-alike %s (%s) flagged as %s", ip, la.What, la.Imitates)
				}
			}
		})
	}
}
