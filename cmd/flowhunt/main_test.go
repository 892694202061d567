package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowhunt/flowhunt/internal/sim"
)

// cli runs flowhunt in-process and returns exit code, stdout and stderr.
func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// scenarioDir writes the seed-000 scenario (filterlog, rdns.txt, truth.json) into a temp dir.
func scenarioDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir() + "/"
	sc, err := sim.MinerNetwork(sim.Config{Hosts: 20, Days: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.WriteScenario(sc, "filterlog", dir, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "blob.bin")
	os.WriteFile(garbage, []byte("\x7fELF\x02\x01\x01\x00\x00garbage\n\x00\x01"), 0o644)
	f := func(name string, want int, stderrHas string, args ...string) {
		t.Helper()
		code, _, stderr := cli(t, args...)
		if code != want || !strings.Contains(stderr, stderrHas) {
			t.Errorf("%s: flowhunt %v = %d, stderr %q; want %d containing %q", name, args, code, stderr, want, stderrHas)
		}
	}
	f("missing file", 2, "nope.log", "hunt", filepath.Join(dir, "nope.log"))
	f("unrecognised file", 2, "blob.bin: not a recognised log format (tried", "hunt", garbage)
	f("no paths", 2, "at least one PATH", "hunt")
	f("bad flag", 2, "unknown flag", "hunt", "--nope", garbage)
	f("bad cidr", 2, "10.0.0.0/33", "hunt", "--internal", "10.0.0.0/33", scenarioDir(t))
	f("bad tz", 2, "--tz", "hunt", "--tz", "Mars/Olympus", garbage)
	f("bad output", 2, "-o", "hunt", "-o", "xml", garbage)
	f("bad category", 2, "--category", "hunt", "--category", "nonsense", garbage)
	f("bad format", 2, "--format", "hunt", "--format", "pcapng", garbage)
	f("unknown command", 2, "unknown command", "frobnicate")
	f("version", 0, "", "version")
}

func TestHuntOutputs(t *testing.T) {
	dir := scenarioDir(t)
	logPath, rdns := dir+"flows.log", dir+"rdns.txt"

	code, out, stderr := cli(t, "hunt", "--internal", "172.16.0.0/12", "--dns-map", rdns, "-o", "json", logPath)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Hosts []struct {
			IP       string `json:"ip"`
			Findings []struct {
				Category string `json:"category"`
			} `json:"findings"`
		} `json:"hosts"`
		Summary struct {
			Records  int64          `json:"records"`
			Internal []string       `json:"internal"`
			Formats  map[string]int `json:"formats"`
		} `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if doc.Summary.Records == 0 || doc.Summary.Formats["filterlog"] != 1 || doc.Summary.Internal[0] != "172.16.0.0/12" {
		t.Errorf("summary %+v", doc.Summary)
	}

	// The hand-on list: one ip column, the two miners.
	code, out, _ = cli(t, "hunt", "--internal", "172.16.0.0/12", "--dns-map", rdns, "-o", "ips", "--category", "miner", logPath)
	if code != 0 || out != "ip\n172.16.0.10\n172.16.0.5\n" {
		t.Errorf("ips: exit %d, got %q", code, out)
	}
	// CSV: header and one row per finding.
	code, out, _ = cli(t, "hunt", "--internal", "172.16.0.0/12", "--dns-map", rdns, "-o", "csv", "--category", "miner", logPath)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || lines[0] != "ip,category,score,peers,reason" || len(lines) != 3 || !strings.HasPrefix(lines[1], "172.16.0.10,miner,") {
		t.Errorf("csv: exit %d\n%s", code, out)
	}
	// Pivot from a pool address to its miner.
	pool := strings.Fields(grepLine(t, rdns, "nanopool"))[0]
	code, out, _ = cli(t, "hunt", "--internal", "172.16.0.0/12", "-o", "ips", "--pivot", pool, logPath)
	if code != 0 || out != "ip\n172.16.0.10\n" {
		t.Errorf("pivot %s: exit %d, got %q", pool, code, out)
	}
	// --out writes a file; table output carries the summary.
	outFile := filepath.Join(t.TempDir(), "r.txt")
	code, _, _ = cli(t, "hunt", "--internal", "172.16.0.0/12", "--dns-map", rdns, "-o", "table", "--out", outFile, logPath)
	table, _ := os.ReadFile(outFile)
	if code != 0 || !strings.Contains(string(table), "RANK") || !strings.Contains(string(table), "internal (given): 172.16.0.0/12") {
		t.Errorf("table: exit %d\n%s", code, table)
	}
}

func TestConfigFile(t *testing.T) {
	dir := scenarioDir(t)
	cfg := filepath.Join(t.TempDir(), "site.yaml")
	os.WriteFile(cfg, []byte("internal: [172.16.0.0/12]\ndns-map: "+dir+"rdns.txt\noutput: ips\ncategory: miner\ndetectors:\n  miner: {min_conns: 1}\n"), 0o644)
	code, out, stderr := cli(t, "hunt", "--config", cfg, dir+"flows.log")
	if code != 0 || out != "ip\n172.16.0.10\n172.16.0.5\n" {
		t.Errorf("config: exit %d, out %q, stderr %q", code, out, stderr)
	}
	// The command line wins over the file.
	code, out, _ = cli(t, "hunt", "--config", cfg, "--category", "talker", dir+"flows.log")
	if code != 0 || !strings.Contains(out, "172.16.0.4\n") { // the busy build server: a talker, not a miner
		t.Errorf("flag override: exit %d, out %q", code, out)
	}
	// A miner threshold above every host's count silences the detector.
	os.WriteFile(cfg, []byte("internal: [172.16.0.0/12]\ndns-map: "+dir+"rdns.txt\noutput: ips\ncategory: miner\ndetectors:\n  miner: {min_conns: 100000000}\n"), 0o644)
	if code, out, _ = cli(t, "hunt", "--config", cfg, dir+"flows.log"); code != 0 || out != "ip\n" {
		t.Errorf("threshold from config not applied: exit %d, out %q", code, out)
	}
	f := func(content, stderrHas string) {
		t.Helper()
		os.WriteFile(cfg, []byte(content), 0o644)
		code, _, stderr := cli(t, "hunt", "--config", cfg, dir+"flows.log")
		if code != 2 || !strings.Contains(stderr, stderrHas) {
			t.Errorf("config %q: exit %d, stderr %q; want 2 with %q", content, code, stderr, stderrHas)
		}
	}
	f("internl: [10.0.0.0/8]\n", `unknown key "internl"`)
	f("detectors:\n  miner: {min_cons: 3}\n", "min_cons")
	f("internal: [10.0.0.0/8\n", "site.yaml")
	f("infer-internal: maybe\n", "infer-internal")
}

func TestHelpAndCompletion(t *testing.T) {
	code, out, _ := cli(t, "hunt", "--help")
	if code != 0 || !strings.Contains(out, "--infer-internal") || !strings.Contains(out, "Examples:") {
		t.Errorf("help: exit %d\n%s", code, out)
	}
	code, out, _ = cli(t, "completion", "bash")
	if code != 0 || !strings.Contains(out, "bash completion") {
		t.Errorf("completion: exit %d", code)
	}
}

func TestDemo(t *testing.T) {
	// The default office demo finds every planted category and no look-alike.
	page := filepath.Join(t.TempDir(), "demo.html")
	code, out, stderr := cli(t, "demo", "--html", page) // two days: a nightly backup needs a second night to be routine
	if code != 0 || !strings.Contains(out, "benign look-alikes flagged: 0") {
		t.Fatalf("demo: exit %d\n%s\n%s", code, out, stderr)
	}
	if html, err := os.ReadFile(page); err != nil || !strings.HasPrefix(string(html), "<!DOCTYPE html>") || !strings.Contains(out, "HTML report with the plots of every finding: "+page) {
		t.Errorf("demo's HTML report at %s: %v, %d bytes; output:\n%s", page, err, len(html), out)
	}
	for _, cat := range []string{"beacon", "c2", "dns-tunnel", "exfil", "long-conn", "miner", "off-hours", "p2p", "scan"} {
		if !strings.Contains(out, "Planted "+cat) || !regexp.MustCompile(`(?m)^\s+`+cat+`\s+\d+\s+0\s+0\s+1\.00\s+1\.00\s+1\.00$`).MatchString(out) {
			t.Errorf("demo: %s not found perfectly:\n%s", cat, out)
		}
	}
	code, out, _ = cli(t, "demo", "--scenario", "miner", "--days", "1", "--html", filepath.Join(t.TempDir(), "miner.html"))
	if code != 0 || !strings.Contains(out, "172.16.0.10") || !strings.Contains(out, "miner:") {
		t.Errorf("miner demo: exit %d\n%s", code, out)
	}
	if code, _, stderr := cli(t, "demo", "--hosts", "3"); code != 2 || !strings.Contains(stderr, "at least 60 hosts") {
		t.Errorf("demo with 3 hosts: exit %d, %s", code, stderr)
	}
	if code, _, stderr := cli(t, "demo", "--format", "parquet"); code != 2 || !strings.Contains(stderr, "parquet") {
		t.Errorf("demo with a bad format: exit %d, %s", code, stderr)
	}
}

func grepLine(t *testing.T, path, substr string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, substr) {
			return l
		}
	}
	t.Fatalf("%s: no line with %q", path, substr)
	return ""
}

func TestEval(t *testing.T) {
	dir := scenarioDir(t)
	findings := filepath.Join(t.TempDir(), "f.json")
	if code, _, stderr := cli(t, "hunt", "--internal", "172.16.0.0/12", "--dns-map", dir+"rdns.txt", "-o", "json", "--out", findings, dir+"flows.log"); code != 0 {
		t.Fatalf("hunt: %s", stderr)
	}
	code, out, stderr := cli(t, "eval", "--truth", dir+"truth.json", findings)
	if code != 0 || !strings.Contains(out, "miner") || !strings.Contains(out, "benign look-alikes flagged: 0") {
		t.Fatalf("eval: exit %d\n%s%s", code, out, stderr)
	}
	code, out, _ = cli(t, "eval", "-o", "json", "--truth", dir+"truth.json", findings)
	var res struct {
		Categories []struct {
			Category      string
			TP, FP, FN    int
			Precision, F1 float64
		}
	}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || len(res.Categories) != 1 ||
		res.Categories[0].TP != 2 || res.Categories[0].FP != 0 || res.Categories[0].FN != 0 || res.Categories[0].F1 != 1 {
		t.Errorf("eval json: exit %d err %v\n%s", code, err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"hosts": [`), 0o644)
	f := func(name, stderrHas string, args ...string) {
		t.Helper()
		code, _, stderr := cli(t, append([]string{"eval"}, args...)...)
		if code != 2 || !strings.Contains(stderr, stderrHas) {
			t.Errorf("%s: exit %d, stderr %q; want 2 with %q", name, code, stderr, stderrHas)
		}
	}
	f("missing truth", "nope.json", "--truth", filepath.Join(dir, "nope.json"), findings)
	f("malformed findings", "bad.json: malformed JSON", "--truth", dir+"truth.json", bad)
	f("truth given as findings", "not the output of flowhunt hunt", "--truth", dir+"truth.json", dir+"truth.json")
	f("findings given as truth", "not a flowhunt truth.json", "--truth", findings, findings)
	f("no --truth", "--truth", findings)
	f("no findings", "exactly one", "--truth", dir+"truth.json")
}

func TestExplainFlag(t *testing.T) {
	dir := scenarioDir(t)
	code, out, stderr := cli(t, "hunt", "--internal", "172.16.0.0/12", "--dns-map", dir+"rdns.txt", "--explain", "172.16.0.10", dir+"flows.log")
	if code != 0 || !strings.Contains(out, "miner") || !strings.Contains(out, "nanopool") || !strings.Contains(out, "flows per hour of day") {
		t.Errorf("explain: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, _, stderr := cli(t, "hunt", "--explain", "nope", dir+"flows.log"); code != 2 || !strings.Contains(stderr, "--explain") {
		t.Errorf("bad --explain: exit %d %s", code, stderr)
	}
}

func TestAllowFlag(t *testing.T) {
	dir := scenarioDir(t)
	pool := strings.Fields(grepLine(t, dir+"rdns.txt", "nanopool"))[0]
	allow := filepath.Join(t.TempDir(), "allow.txt")
	os.WriteFile(allow, []byte("# our own pool, for the test\n"+pool+"\nsupportxmr.com\n"), 0o644)
	code, out, stderr := cli(t, "hunt", "--internal", "172.16.0.0/12", "--dns-map", dir+"rdns.txt", "--allow", allow, "-o", "ips", "--category", "miner", dir+"flows.log")
	if code != 0 || out != "ip\n" || !strings.Contains(stderr, "allow-listed destinations set aside") {
		t.Errorf("allow: exit %d out %q stderr %q", code, out, stderr)
	}
	os.WriteFile(allow, []byte("not a name!\n"), 0o644)
	if code, _, stderr := cli(t, "hunt", "--allow", allow, dir+"flows.log"); code != 2 || !strings.Contains(stderr, "allow.txt:1") {
		t.Errorf("bad allow list: exit %d %s", code, stderr)
	}
}

func TestWorkHoursFlags(t *testing.T) {
	var f huntFlags
	f.tz, f.workHours = "Asia/Jerusalem", "08-17"
	o, err := f.huntOptions([]string{"x"}, defaultDetect())
	if err != nil || o.Detect.OffHours.LearnHours || o.Detect.OffHours.WorkStart != 8 || o.Detect.Exfil.WorkEnd != 17 || o.Detect.OffHours.Location != "Asia/Jerusalem" || o.Ingest.Location.String() != "Asia/Jerusalem" {
		t.Errorf("options %+v, err %v", o.Detect.OffHours, err)
	}
	for _, bad := range []string{"19-07", "7", "0-25", "a-b"} {
		f.workHours = bad
		if _, err := f.huntOptions([]string{"x"}, defaultDetect()); err == nil {
			t.Errorf("--work-hours %q accepted", bad)
		}
	}
}

func TestHTMLFlag(t *testing.T) {
	dir := scenarioDir(t)
	page := filepath.Join(t.TempDir(), "report.html")
	code, _, stderr := cli(t, "hunt", "--internal", "172.16.0.0/12", "--dns-map", dir+"rdns.txt", "-o", "ips", "--html", page, dir+"flows.log")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	html, err := os.ReadFile(page)
	if err != nil || !bytes.Contains(html, []byte(`<script id="data" type="application/json">`)) || !bytes.Contains(html, []byte("172.16.0.10")) {
		t.Errorf("report: err %v, %d bytes", err, len(html))
	}
	if bytes.Contains(html, []byte(`src="http`)) || bytes.Contains(html, []byte(`href="http`)) {
		t.Error("report links the network")
	}
	if code, _, stderr := cli(t, "hunt", "--html", filepath.Join(t.TempDir(), "no", "such", "dir", "r.html"), dir+"flows.log"); code != 2 || !strings.Contains(stderr, "r.html") {
		t.Errorf("unwritable --html: exit %d %s", code, stderr)
	}
}
