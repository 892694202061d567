package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/chstore"
	"github.com/flowhunt/flowhunt/internal/sim"
)

// clickhouseURL returns the URL of a fresh database on the live test server (dropped when the
// test ends), or skips the test. FLOWHUNT_CLICKHOUSE may give host:port or a URL.
func clickhouseURL(t *testing.T) string {
	t.Helper()
	v := os.Getenv("FLOWHUNT_CLICKHOUSE")
	if v == "" {
		v = "127.0.0.1:9000"
	}
	if !strings.Contains(v, "://") {
		v = "clickhouse://" + v
	}
	cfg, err := chstore.ParseURL(v)
	if err != nil {
		t.Fatalf("FLOWHUNT_CLICKHOUSE: %v", err)
	}
	c, err := net.DialTimeout("tcp", cfg.Addr, time.Second)
	if err != nil {
		t.Skipf("no ClickHouse server answers on %s (run scripts/clickhouse.sh, or set FLOWHUNT_CLICKHOUSE): %v", cfg.Addr, err)
	}
	c.Close()
	var b [4]byte
	rand.Read(b[:])
	cfg.Database = "fhcli_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx := context.Background()
		if s, err := chstore.Open(ctx, cfg); err == nil {
			s.Drop(ctx)
			s.Close()
		}
	})
	return strings.TrimSuffix(strings.SplitN(v, "?", 2)[0], "/") + "/" + cfg.Database
}

// TestLoadThenHunt drives the CLI: load a Zeek scenario, load it again (skipped), hunt through
// ClickHouse, and get the same JSON findings as hunting the files.
func TestLoadThenHunt(t *testing.T) {
	url := clickhouseURL(t)
	sc, err := sim.Office(sim.OfficeConfig{Config: sim.Config{Hosts: 60, Days: 1, Seed: 21}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir() + "/"
	if err := sim.WriteScenario(sc, "zeek", dir, nil); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := cli(t, "load", "--engine", url, dir)
	if code != 0 || !strings.Contains(stderr, "loaded 2 files") || !strings.Contains(stderr, "ignored 2") {
		t.Fatalf("load: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = cli(t, "load", "--engine", url, dir+"conn.log", dir)
	if code != 0 || !strings.Contains(stderr, "loaded 0 files") || !strings.Contains(stderr, "skipped 3 already loaded") {
		t.Fatalf("second load: exit %d, stderr %q", code, stderr)
	}
	internal := strings.Join(sc.Truth.Internal, ",")
	code, fromCH, stderr := cli(t, "hunt", "--engine", url, "--internal", internal, "-o", "json")
	if code != 0 {
		t.Fatalf("hunt --engine: exit %d, stderr %q", code, stderr)
	}
	code, fromFiles, stderr := cli(t, "hunt", "--internal", internal, "-o", "json", dir)
	if code != 0 {
		t.Fatalf("hunt: exit %d, stderr %q", code, stderr)
	}
	type doc struct {
		Hosts   json.RawMessage `json:"hosts"`
		Summary struct {
			Records int64 `json:"records"`
		} `json:"summary"`
	}
	var a, b doc
	if err := json.Unmarshal([]byte(fromFiles), &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(fromCH), &b); err != nil {
		t.Fatal(err)
	}
	if string(a.Hosts) != string(b.Hosts) || len(a.Hosts) < 100 {
		t.Errorf("hosts differ between engines:\nfiles:      %.400s\nclickhouse: %.400s", a.Hosts, b.Hosts)
	}
	if a.Summary.Records != b.Summary.Records {
		t.Errorf("summary records %d (files) vs %d (clickhouse)", a.Summary.Records, b.Summary.Records)
	}

	// A time range keeps only what started in it.
	end := sim.EndOf(sc)
	code, ranged, stderr := cli(t, "hunt", "--engine", url, "--internal", internal, "-o", "json",
		"--from", end.Add(-time.Hour).Format(time.RFC3339), "--to", end.Add(time.Hour).Format(time.RFC3339))
	if code != 0 || ranged == fromCH {
		t.Errorf("hunt --from/--to: exit %d, stderr %q, same output as without a range: %v", code, stderr, ranged == fromCH)
	}
}

func TestLoadExitCodes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "clickhouse://" + ln.Addr().String() + "/netlogs?dial_timeout=1s"
	ln.Close()
	dir := scenarioDir(t)
	f := func(name string, want int, stderrHas string, args ...string) {
		t.Helper()
		code, _, stderr := cli(t, args...)
		if code != want || !strings.Contains(stderr, stderrHas) {
			t.Errorf("%s: flowhunt %v = %d, stderr %q; want %d containing %q", name, args, code, stderr, want, stderrHas)
		}
	}
	f("server down", 2, ln.Addr().String(), "load", "--engine", down, dir)
	f("server down, hunt", 2, "not reachable", "hunt", "--engine", down)
	f("no engine", 2, "needs --engine", "load", dir)
	f("no paths", 2, "at least one PATH", "load", "--engine", down)
	f("bad url", 2, "scheme", "load", "--engine", "http://x:8123/", dir)
	f("missing file", 2, "nope.log", "load", "--engine", down, filepath.Join(dir, "nope.log"))
	f("from without engine", 2, "need --engine", "hunt", "--from", "2024-01-01", dir)
	f("bad from", 2, "--from", "hunt", "--engine", down, "--from", "yesterday")
	f("from after to", 2, "not before", "hunt", "--engine", down, "--from", "2024-01-02", "--to", "2024-01-01")
	f("no paths, no engine", 2, "at least one PATH", "hunt")
}

// TestLoadExitCodesLive needs a server: hunting an empty database, or passing files to hunt
// --engine, are usage errors.
func TestLoadExitCodesLive(t *testing.T) {
	url := clickhouseURL(t)
	code, _, stderr := cli(t, "hunt", "--engine", url)
	if code != 2 || !strings.Contains(stderr, "run flowhunt load first") {
		t.Errorf("hunt on an empty database: exit %d, stderr %q", code, stderr)
	}
	dir := scenarioDir(t)
	if code, _, stderr := cli(t, "load", "-q", "--engine", url, dir); code != 0 || stderr != "" {
		t.Fatalf("load -q: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = cli(t, "hunt", "--engine", url, dir)
	if code != 2 || !strings.Contains(stderr, "flowhunt load") {
		t.Errorf("hunt --engine with PATHs: exit %d, stderr %q", code, stderr)
	}
}

// TestCredentialsNotEchoed passes a password by every route (URL, flag, config file,
// environment) and checks it appears in no help text and no error, with the server down and,
// when one runs, with the server refusing it.
func TestCredentialsNotEchoed(t *testing.T) {
	const secret = "pa55-Zq9-secret"
	t.Setenv(chstore.EnvPassword, secret)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()
	dir := scenarioDir(t)
	cfgFile := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(cfgFile, []byte("ch-password: "+secret+"\nch-user: alice\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	runs := [][]string{
		{"load", "--help"},
		{"hunt", "--help"},
		{"load", "--engine", "clickhouse://" + down + "/x?dial_timeout=1s", dir},
		{"load", "--engine", "clickhouse://alice:" + secret + "@" + down + "/x?dial_timeout=1s", dir},
		{"load", "--engine", "clickhouse://" + down + "/x?dial_timeout=1s", "--ch-password", secret, dir},
		{"load", "--engine", "clickhouse://" + down + "/x?dial_timeout=1s", "--config", cfgFile, dir},
		{"hunt", "--engine", "clickhouse://alice:" + secret + "@" + down + "/x?dial_timeout=1s"},
		{"load", "--engine", "clickhouse://alice:" + secret + "@" + down + "/bad-db!", dir},
	}
	if v := os.Getenv("FLOWHUNT_CLICKHOUSE"); v != "" || serverUp() {
		// The server's default user has no password: any password is refused.
		addr := "127.0.0.1:9000"
		if v != "" && !strings.Contains(v, "://") {
			addr = v
		}
		runs = append(runs, []string{"load", "--engine", "clickhouse://" + addr + "/x", dir},
			[]string{"hunt", "--engine", "clickhouse://default:" + secret + "@" + addr + "/x"})
	}
	for _, args := range runs {
		code, stdout, stderr := cli(t, args...)
		if strings.Contains(stdout+stderr, secret) {
			t.Errorf("flowhunt %v (exit %d) echoes the password:\n%s%s", args[:2], code, stdout, stderr)
		}
		if args[1] != "--help" && code != 2 {
			t.Errorf("flowhunt %v: exit %d, want 2; stderr %q", args[:2], code, stderr)
		}
	}
}

func serverUp() bool {
	c, err := net.DialTimeout("tcp", "127.0.0.1:9000", time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
