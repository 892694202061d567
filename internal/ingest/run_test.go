package ingest

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

const seedCSV = "timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload\n" +
	"2021-08-18 10:02:11,120.18.2.84,80.155.115.153,50123,443,tcp,312\n" +
	"2021-08-18 10:03:11,120.18.2.84,80.155.115.153,50124,443,tcp,298\n" +
	"2021-08-18 10:04:11,120.18.54.9,78.161.198.188,50999,80,tcp,1200\n"

func TestCompressionByMagic(t *testing.T) {
	dir := t.TempDir()
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write([]byte(seedCSV))
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write([]byte(seedCSV))
	zw.Close()
	files := map[string][]byte{"plain.txt": []byte(seedCSV), "a.dat": gz.Bytes(), "b.dat": zs.Bytes()}
	if bz, err := exec.LookPath("bzip2"); err == nil {
		cmd := exec.Command(bz, "-c")
		cmd.Stdin = strings.NewReader(seedCSV)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		files["c.dat"] = out
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		recs, st, err := readFiles(t, []string{p}, Options{})
		if err != nil || len(recs) != 3 || st.Skipped != 0 || st.Format != "csv" {
			t.Errorf("%s: %d records, stats %+v, err %v", name, len(recs), st, err)
		}
	}
}

func TestBadInputs(t *testing.T) {
	// Empty file: noted, not an error.
	_, st, err := readText(t, "empty.csv", "", Options{})
	if err != nil || st.Ignored != "empty" {
		t.Errorf("empty: stats %+v err %v", st, err)
	}
	// Binary garbage named on the command line: an error naming the file and the formats tried.
	_, _, err = readText(t, "blob", "\x00\x01\x02\xff\xfe garbage\n\x00", Options{})
	var nf *NoFormatError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "blob") || len(nf.Tried) != len(sniffers()) {
		t.Errorf("garbage: err %v", err)
	}
	// The same garbage found in a directory is listed as ignored, and the rest is read.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "blob"), []byte("\x00\x01\x02 garbage\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "flows.csv"), []byte(seedCSV), 0o644)
	os.WriteFile(filepath.Join(dir, ".hidden.csv"), []byte(seedCSV), 0o644)
	_, st, err = readFiles(t, []string{dir}, Options{})
	if err != nil || st.Ignored != "not a recognised log format" {
		t.Errorf("dir: first file stats %+v err %v", st, err)
	}
	// Missing file: an InputError naming it.
	_, _, err = readFiles(t, []string{filepath.Join(dir, "nope.csv")}, Options{})
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "nope.csv") {
		t.Errorf("missing: err %v", err)
	}
}

func TestLineTooLongAndCRLF(t *testing.T) {
	long := "2021-08-18 10:02:11,120.18.2.84,80.155.115.153,50123,443,tcp," + strings.Repeat("9", maxLine+10) + "\n"
	content := strings.ReplaceAll(seedCSV, "\n", "\r\n") + long + "2021-08-18 10:09:11,120.18.2.84,80.155.115.153,50125,443,tcp,77\n"
	recs, st, err := readText(t, "long.csv", content, Options{BlockSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[3].BytesOut != 77 || recs[0].BytesOut != 312 {
		t.Errorf("records %d (last %+v)", len(recs), recs[len(recs)-1])
	}
	if st.Skipped != 1 || st.Skips[0].Reason != "line too long" || st.Skips[0].FirstLine != 5 || st.Lines != 6 {
		t.Errorf("stats %+v", st)
	}
}

func TestManyFilesMerged(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	os.WriteFile(a, []byte(seedCSV), 0o644)
	os.WriteFile(b, []byte(seedCSV+"2021-08-18 10:05:11,120.18.2.84,not-an-ip,1,2,tcp,3\n"), 0o644)
	recs, _, err := readFiles(t, []string{a, b}, Options{Workers: 2})
	if err != nil || len(recs) != 6 {
		t.Fatalf("records %d err %v", len(recs), err)
	}
}

func TestStdin(t *testing.T) {
	// Compressed data on stdin is detected by magic bytes like any file.
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write([]byte(seedCSV))
	gw.Close()
	p := filepath.Join(t.TempDir(), "stdin.gz")
	os.WriteFile(p, gz.Bytes(), 0o644)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()
	recs, st, err := readFiles(t, []string{"-"}, Options{})
	if err != nil || len(recs) != 3 || st.Name != "stdin" || st.Format != "csv" {
		t.Fatalf("stdin: %d records, stats %+v, err %v", len(recs), st, err)
	}
}

// TestFormatAliases: the names the CSV reader reports for its dialects are accepted by --format.
func TestFormatAliases(t *testing.T) {
	const argus = "StartTime,Dur,Proto,SrcAddr,Sport,Dir,DstAddr,Dport,State,sTos,dTos,TotPkts,TotBytes,SrcBytes,Label\n" +
		"2018/04/03 13:36:04.384958,1.5,tcp,10.8.0.2,49152,   ->,93.184.216.34,443,FSPA_FSPA,0,0,12,4000,1000,\n"
	for _, name := range []string{"binetflow", "tsv", "csv"} {
		recs, fs, err := readText(t, "flows.txt", argus, Options{Format: name})
		if err != nil || len(recs) != 1 || fs.Format != "binetflow" || recs[0].BytesIn != 3000 {
			t.Errorf("--format %s: %d records, format %q, err %v", name, len(recs), fs.Format, err)
		}
	}
	if !slices.Contains(FormatNames(), "nfdump-csv") || !slices.Contains(FormatNames(), "binetflow") {
		t.Errorf("FormatNames() = %v: want the dialect names", FormatNames())
	}
}
