package report

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/flowhunt/flowhunt/internal/score"
)

type pivotDoc struct {
	IP        string   `json:"ip"`
	Flows     int64    `json:"flows"`
	BytesSent uint64   `json:"bytes_sent"`
	Ports     []uint16 `json:"ports"`
	First     string   `json:"first"`
	Last      string   `json:"last"`
}

func pivotDocs(cs []score.Contact) []pivotDoc {
	out := make([]pivotDoc, 0, len(cs))
	for _, c := range cs {
		out = append(out, pivotDoc{IP: c.Host.String(), Flows: c.Flows, BytesSent: c.BytesSent, Ports: c.Ports,
			First: time.Unix(0, c.First).UTC().Format(time.RFC3339), Last: time.Unix(0, c.Last).UTC().Format(time.RFC3339)})
	}
	return out
}

// PivotJSON writes the hosts that reached a destination as a JSON array.
func PivotJSON(w io.Writer, cs []score.Contact) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(pivotDocs(cs))
}

// PivotTable writes the hosts that reached a destination as a table.
func PivotTable(w io.Writer, cs []score.Contact) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tFLOWS\tBYTES SENT\tPORTS\tFIRST\tLAST")
	for _, d := range pivotDocs(cs) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%v\t%s\t%s\n", d.IP, d.Flows, d.BytesSent, d.Ports, d.First, d.Last)
	}
	if len(cs) == 0 {
		fmt.Fprintln(tw, "(no internal host reached it)")
	}
	return tw.Flush()
}
