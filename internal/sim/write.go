package sim

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// WriteFilterlog writes records as pfSense filterlog syslog lines (RFC 3164 prefix, one line per
// connection's first packet, as pfSense logs it: the length is one packet's, at most the MTU).
func WriteFilterlog(w io.Writer, recs []flow.Record) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	var buf []byte
	for i := range recs {
		r := &recs[i]
		t := time.Unix(0, r.Time).UTC()
		buf = t.AppendFormat(buf[:0], time.Stamp)
		buf = append(buf, " pfSense filterlog[64125]: "...)
		iface := "igb0"
		if r.Dir == flow.DirOut {
			iface = "igb1"
		}
		buf = fmt.Appendf(buf, "5,,,1000000103,%s,match,%s,%s,4,0x0,,64,%d,0,DF,%d,%s,%d,%s,%s,",
			iface, r.Action, dirName(r.Dir), 1000+i%60000, r.Proto, flow.ProtoName(r.Proto), min(20+r.BytesOut/max(r.PktsOut, 1), 1500), r.Src, r.Dst)
		switch r.Proto {
		case flow.ProtoTCP:
			buf = fmt.Appendf(buf, "%d,%d,0,S,%d,,64240,,mss;sackOK;TS;nop;wscale\n", r.SrcPort, r.DstPort, 1000000+i)
		case flow.ProtoUDP:
			buf = fmt.Appendf(buf, "%d,%d,%d\n", r.SrcPort, r.DstPort, r.BytesOut)
		default:
			buf = append(buf, "request,1,1\n"...)
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func dirName(d flow.Direction) string {
	if d == flow.DirIn {
		return "in"
	}
	return "out"
}

// WriteCSV writes records in seed 003's layout:
// timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload.
func WriteCSV(w io.Writer, recs []flow.Record) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	bw.WriteString("timestamp,src_ip,dst_ip,src_port,dst_port,protocol,payload\n")
	var buf []byte
	for i := range recs {
		buf = appendCSV(buf[:0], &recs[i])
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func appendCSV(buf []byte, r *flow.Record) []byte {
	buf = time.Unix(0, r.Time).UTC().AppendFormat(buf, "2006-01-02 15:04:05")
	buf = append(buf, ',')
	buf = r.Src.AppendTo(buf)
	buf = append(buf, ',')
	buf = r.Dst.AppendTo(buf)
	buf = append(buf, ',')
	buf = strconv.AppendUint(buf, uint64(r.SrcPort), 10)
	buf = append(buf, ',')
	buf = strconv.AppendUint(buf, uint64(r.DstPort), 10)
	buf = append(buf, ',')
	buf = append(buf, flow.ProtoName(r.Proto)...)
	buf = append(buf, ',')
	buf = strconv.AppendUint(buf, r.BytesOut, 10)
	return append(buf, '\n')
}

// WriteNames writes a hosts-style "IP name" map, sorted by address.
func WriteNames(w io.Writer, names map[netip.Addr][]string) error {
	addrs := make([]netip.Addr, 0, len(names))
	for a := range names {
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	bw := bufio.NewWriter(w)
	for _, a := range addrs {
		for _, n := range names[a] {
			fmt.Fprintf(bw, "%s %s\n", a, n)
		}
	}
	return bw.Flush()
}

// EndOf returns the time of the scenario's last record, the "now" that places year-less syslog
// timestamps in the right year.
func EndOf(sc *Scenario) time.Time {
	if len(sc.Records) == 0 {
		return time.Now()
	}
	return time.Unix(0, sc.Records[len(sc.Records)-1].Time).UTC()
}

// Formats are the output formats WriteScenario knows.
var Formats = []string{"csv", "csv-noheader", "filterlog", "pcap", "zeek", "zeek-json"}

// FormatError is an output format WriteScenario does not know.
type FormatError struct{ Format string }

func (e *FormatError) Error() string {
	return fmt.Sprintf("format %q: want one of %s", e.Format, strings.Join(Formats, ", "))
}

// scenarioFiles returns the files a format writes: name → writer of the records.
func scenarioFiles(format string) (map[string]func(io.Writer, []flow.Record) error, error) {
	switch format {
	case "filterlog":
		return map[string]func(io.Writer, []flow.Record) error{"flows.log": WriteFilterlog}, nil
	case "csv":
		return map[string]func(io.Writer, []flow.Record) error{"flows.csv": WriteCSV}, nil
	case "csv-noheader":
		return map[string]func(io.Writer, []flow.Record) error{"flows.csv": WriteCSVHeaderless}, nil
	case "pcap":
		return map[string]func(io.Writer, []flow.Record) error{"capture.pcap": WritePcap}, nil
	case "zeek", "zeek-json":
		js := format == "zeek-json"
		return map[string]func(io.Writer, []flow.Record) error{
			"conn.log": func(w io.Writer, r []flow.Record) error { return WriteZeekConn(w, r, js) },
			"dns.log":  func(w io.Writer, r []flow.Record) error { return WriteZeekDNS(w, r, js) },
		}, nil
	}
	return nil, &FormatError{format}
}

// WriteScenario writes sc in format. When out is a directory (an existing one, or a path ending
// in /), it writes the format's files, rdns.txt and truth.json there; "-" writes the flows to
// stdout (formats of one file only).
func WriteScenario(sc *Scenario, format, out string, stdout io.Writer) error {
	files, err := scenarioFiles(format)
	if err != nil {
		return err
	}
	if st, err := os.Stat(out); (err == nil && st.IsDir()) || strings.HasSuffix(out, "/") {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		for name, write := range files {
			if err := createWith(filepath.Join(out, name), func(w io.Writer) error { return write(w, sc.Records) }); err != nil {
				return err
			}
		}
		if err := createWith(filepath.Join(out, "rdns.txt"), func(w io.Writer) error { return WriteNames(w, sc.Names) }); err != nil {
			return err
		}
		return createWith(filepath.Join(out, "truth.json"), func(w io.Writer) error {
			e := json.NewEncoder(w)
			e.SetIndent("", "  ")
			return e.Encode(sc.Truth)
		})
	}
	if len(files) != 1 {
		return fmt.Errorf("format %s writes %d files: give --out a directory", format, len(files))
	}
	for _, write := range files {
		if out == "-" || out == "" {
			return write(stdout, sc.Records)
		}
		return createWith(out, func(w io.Writer) error { return write(w, sc.Records) })
	}
	return nil
}

func createWith(path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
