package ingest

import (
	"net/netip"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// ExportDecoder decodes NetFlow v5, v9 and IPFIX export datagrams into flow records, keeping
// templates per exporter. Placeholder until the NetFlow decoder lands.
type ExportDecoder struct{}

// NewExportDecoder returns a decoder with no templates learned.
func NewExportDecoder() *ExportDecoder { return &ExportDecoder{} }

// Decode decodes one datagram that exporter sent. It reports false when payload is not a NetFlow
// or IPFIX datagram at all. Each flow record goes to emit (which may reuse nothing of it after
// returning); each flow set it cannot decode (unknown template, damage) goes to skip with a
// reason and a detail.
func (d *ExportDecoder) Decode(exporter netip.AddrPort, payload []byte, emit func(*flow.Record), skip func(reason, detail string)) bool {
	return false
}
