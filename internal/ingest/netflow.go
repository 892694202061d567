package ingest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/flowhunt/flowhunt/internal/flow"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
)

// NetFlow v5, NetFlow v9 (RFC 3954) and IPFIX (RFC 7011) export datagrams, decoded by goflow2's
// decoders (netflowlegacy for v5, netflow for v9 and IPFIX); this file maps what they decode to
// flow.Record.
//
// Mapping, v9 field numbers = IPFIX element IDs:
//   - Src/Dst: sourceIPv4Address 8 / destinationIPv4Address 12, or the IPv6 pair 27/28 when the
//     IPv4 pair is absent or all zeros; v4-mapped IPv6 addresses are unmapped.
//   - SrcPort/DstPort 7/11, Proto 4. ICMP and ICMPv6 carry type and code as Zeek does: SrcPort =
//     type, DstPort = code, taken from icmpTypeCode 32 (v4, and v9's ICMP_TYPE) or 139 (v6), or
//     from icmpType/Code 176/177 and 178/179, or else from the destination port, where v5 and most
//     v9 exporters put type×256 + code.
//   - NetFlow is unidirectional, so the counters are the originator's: BytesOut = IN_BYTES /
//     octetDeltaCount 1, else octetTotalCount 85, else initiatorOctets 231, else OUT_BYTES /
//     postOctetDeltaCount 23 (the same packets counted at egress, when only that is exported);
//     PktsOut alike from 2, 86, 298, 24. BytesIn/PktsIn stay 0, except from RFC 5103 biflow
//     reverse elements (enterprise 29305: reverse 1/2, or 85/86) or responderOctets/Packets
//     232/299. Counters are as exported: a sampling rate is not multiplied in.
//   - Times, in Unix ns. v5 and v9: first/last switched 22/21 are milliseconds of the exporter's
//     sysUptime, so time = export time − (sysUptime − switched) ms, the difference taken as a
//     signed 32-bit number so that uptime wrap-around (49.7 days) and a switched time a little
//     ahead of the header's uptime both come out right. The export time is unix_secs + unix_nsecs
//     for v5 and unix_secs alone for v9, which has no fraction (so v9 times may read up to 1 s
//     early, as in every collector). IPFIX: flowStart/EndSeconds 150/151, Milliseconds 152/153,
//     Microseconds 154/155 and Nanoseconds 156/157 (NTP format), Start/EndDeltaMicroseconds
//     158/159 (before the export time), or sysUpTime-relative 22/21 added to
//     systemInitTimeMilliseconds 160, from the record or from an options record of the same
//     exporter and observation domain (softflowd sends it so). The most precise start and end
//     present win. Time = start, Duration = end − start (0 when negative); with only one end,
//     flowDurationMilliseconds/Microseconds 161/162 give the other. A record with no time
//     element at all gets the export time and Duration 0 (or 161/162).
//   - forwardingStatus 89 (RFC 7270: status in the top two bits of its low byte): forwarded
//     0b01 → ActionPass, dropped 0b10 → ActionBlock. flowDirection 61: ingress → DirIn, egress →
//     DirOut.
//   - Every record is a KindFlow.
//
// Templates are kept per exporter (address and port: an RFC 7011 transport session), version and
// source ID / observation domain, across datagrams. A data set whose template has not arrived is
// skipped ("unknown template") and decodes once it has. Options templates and options data are
// consumed, not emitted; only systemInitTimeMilliseconds is kept from them.

// Skip reasons of ExportDecoder.
const (
	skipUnknownTemplate = "unknown template"
	skipBadNetFlow      = "bad NetFlow datagram"
	skipNoInitTime      = "no IPFIX system init time"
	skipNoAddress       = "NetFlow record without IP addresses"
)

// Limits on what a stream of datagrams can make the decoder keep.
const (
	maxTemplateFields = 1 << 20 // fields over all templates kept (about 16 MB)
)

// NetFlow header sizes: a shorter datagram is not NetFlow.
const (
	nfV5HeaderLen    = 24
	nfV5RecordLen    = 48
	nfV9HeaderLen    = 20
	ipfixHeaderLen   = 16
	enterpriseBiflow = 29305 // RFC 5103 reverse information elements
	ntpUnixOffset    = 2208988800
)

// ExportDecoder decodes NetFlow v5, v9 and IPFIX export datagrams into flow records, keeping
// templates per exporter (see the mapping above). It is not safe for concurrent use: give each
// goroutine its own.
type ExportDecoder struct {
	templates templateStore
	// initTimes holds systemInitTimeMilliseconds per exporter and observation domain, from IPFIX
	// options data, for records timed by flowStart/EndSysUpTime.
	initTimes map[exportDomain]uint64

	buf   bytes.Buffer // the datagram being decoded, a copy the library may read from
	v5    netflowlegacy.PacketNetFlowV5
	v9    netflow.NFv9Packet
	ipfix netflow.IPFIXPacket
	rec   flow.Record
}

// NewExportDecoder returns a decoder with no templates learned.
func NewExportDecoder() *ExportDecoder {
	return &ExportDecoder{
		templates: templateStore{m: make(map[templateKey]any)},
		initTimes: make(map[exportDomain]uint64),
	}
}

// Decode decodes one datagram that exporter sent. It reports false when payload is not a NetFlow
// or IPFIX datagram at all (too short for its version's header, or another version). Each flow
// record goes to emit (which may reuse nothing of it after returning); each flow set it cannot
// decode (unknown template, damage) goes to skip with a reason and a detail.
func (d *ExportDecoder) Decode(exporter netip.AddrPort, payload []byte, emit func(*flow.Record), skip func(reason, detail string)) bool {
	if len(payload) < 2 {
		return false
	}
	switch binary.BigEndian.Uint16(payload) {
	case 5:
		if len(payload) < nfV5HeaderLen {
			return false
		}
		d.decodeV5(exporter, payload, emit, skip)
	case 9:
		if len(payload) < nfV9HeaderLen {
			return false
		}
		d.decodeTemplated(exporter, payload, emit, skip)
	case 10:
		if len(payload) < ipfixHeaderLen {
			return false
		}
		d.decodeTemplated(exporter, payload, emit, skip)
	default:
		return false
	}
	return true
}

func (d *ExportDecoder) load(payload []byte) {
	d.buf.Reset()
	d.buf.Write(payload)
}

// decodeV5 maps a v5 datagram: a header and count fixed 48-byte records.
func (d *ExportDecoder) decodeV5(exporter netip.AddrPort, payload []byte, emit func(*flow.Record), skip func(reason, detail string)) {
	d.load(payload)
	// The library sizes Records by the header's count (up to 65,535, 4 MB) and leaves those the
	// datagram does not hold zero: it is told the count of records present instead.
	count := int(binary.BigEndian.Uint16(payload[2:]))
	n := min(count, (len(payload)-nfV5HeaderLen)/nfV5RecordLen)
	binary.BigEndian.PutUint16(d.buf.Bytes()[2:], uint16(n))
	d.v5.Records = nil
	if err := netflowlegacy.DecodeMessageVersion(&d.buf, &d.v5); err != nil {
		skip(skipBadNetFlow, fmt.Sprintf("%v (from %s)", err, exporter))
		return
	}
	p := &d.v5
	exportNs := int64(p.UnixSecs)*1e9 + int64(p.UnixNSecs)
	r := &d.rec
	for i := range p.Records {
		v := &p.Records[i]
		r.Reset()
		r.Kind = flow.KindFlow
		r.Src = netip.AddrFrom4(be32(uint32(v.SrcAddr)))
		r.Dst = netip.AddrFrom4(be32(uint32(v.DstAddr)))
		r.SrcPort, r.DstPort, r.Proto = v.SrcPort, v.DstPort, v.Proto
		if isICMP(r.Proto) {
			r.SrcPort, r.DstPort = v.DstPort>>8, v.DstPort&0xff
		}
		r.BytesOut, r.PktsOut = uint64(v.DOctets), uint64(v.DPkts)
		orientReply(r) // v5 is one-way: an answer joins its connection
		start := uptimeTime(exportNs, p.SysUptime, v.First)
		end := uptimeTime(exportNs, p.SysUptime, v.Last)
		if start < 0 {
			start, end = exportNs, exportNs
		}
		r.Time, r.Duration = start, max(end-start, 0)
		emit(r)
	}
	if n < count {
		skip(skipBadNetFlow, fmt.Sprintf("v5 header counts %d records, datagram of %d bytes holds %d (from %s)",
			count, len(payload), n, exporter))
	}
}

func be32(v uint32) [4]byte {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], v)
	return a
}

// uptimeTime converts a sysUptime-relative switched time (ms) to Unix ns: exportNs − (uptime −
// switched) ms, the difference signed so that wrap-around and small clock skew both work.
func uptimeTime(exportNs int64, uptimeMs, switchedMs uint32) int64 {
	return exportNs - int64(int32(uptimeMs-switchedMs))*1e6
}

func isICMP(p uint8) bool { return p == flow.ProtoICMP || p == flow.ProtoICMPv6 }

// exportHeader is what the records of one v9 or IPFIX datagram are timed and keyed by.
type exportHeader struct {
	version  uint16
	exporter netip.AddrPort
	domain   uint32
	exportNs int64
	uptimeMs uint32 // v9 header's sysUptime
	initMs   uint64 // IPFIX systemInitTimeMilliseconds from options data
	hasInit  bool
}

// decodeTemplated decodes a v9 or IPFIX datagram with goflow2 and maps its data sets.
func (d *ExportDecoder) decodeTemplated(exporter netip.AddrPort, payload []byte, emit func(*flow.Record), skip func(reason, detail string)) {
	version := binary.BigEndian.Uint16(payload)
	end, err := setsEnd(version, payload)
	if err != nil {
		skip(skipBadNetFlow, fmt.Sprintf("%v (from %s)", err, exporter))
		return
	}
	d.load(payload[:end])
	if version == 9 {
		// The v9 header's count is of records, which the library takes as a bound on flow sets;
		// exporters that count wrong would lose sets, so decode to the end of the datagram.
		binary.BigEndian.PutUint16(d.buf.Bytes()[2:4], 0xffff)
	}
	d.templates.exporter = exporter
	d.v9.FlowSets, d.ipfix.FlowSets = nil, nil
	err = netflow.DecodeMessageVersion(&d.buf, &d.templates, &d.v9, &d.ipfix)

	h := exportHeader{version: version, exporter: exporter}
	var sets []any
	if version == 9 {
		h.domain, h.exportNs = d.v9.SourceId, int64(d.v9.UnixSeconds)*1e9
		h.uptimeMs = d.v9.SystemUptime
		sets = d.v9.FlowSets
	} else {
		h.domain, h.exportNs = d.ipfix.ObservationDomainId, int64(d.ipfix.ExportTime)*1e9
		sets = d.ipfix.FlowSets
	}
	// Options first, so that an init time sent in the same datagram times its records.
	key := exportDomain{exporter, h.domain}
	for _, s := range sets {
		if o, ok := s.(netflow.OptionsDataFlowSet); ok {
			for i := range o.Records {
				if ms, ok := findUint(o.Records[i].OptionsValues, netflow.IPFIX_FIELD_systemInitTimeMilliseconds); ok {
					d.initTimes[key] = ms
				} else if ms, ok := findUint(o.Records[i].ScopesValues, netflow.IPFIX_FIELD_systemInitTimeMilliseconds); ok {
					d.initTimes[key] = ms
				}
			}
		}
	}
	h.initMs, h.hasInit = d.initTimes[key]
	for _, s := range sets {
		switch s := s.(type) {
		case netflow.DataFlowSet:
			d.mapDataSet(&h, s, emit, skip)
		case netflow.RawFlowSet:
			skip(skipUnknownTemplate, fmt.Sprintf("template %d from %s domain %d", s.Id, exporter, h.domain))
		}
	}
	// The library stops at the first damaged set and returns what it decoded before; unknown
	// templates are not damage (they are reported per set above).
	if err != nil && !errors.Is(err, netflow.ErrorTemplateNotFound) {
		skip(skipBadNetFlow, fmt.Sprintf("%v (from %s)", err, exporter))
	}
}

// setsEnd checks the framing of a v9 or IPFIX datagram's sets and returns where the last whole
// set ends: every set must be at least its 4-byte header and fit in the datagram (the IPFIX
// message length, which must fit too). Up to 3 trailing bytes (padding some exporters add after
// the last set) are dropped.
func setsEnd(version uint16, p []byte) (int, error) {
	off, end := nfV9HeaderLen, len(p)
	if version == 10 {
		off = ipfixHeaderLen
		n := int(binary.BigEndian.Uint16(p[2:]))
		if n < ipfixHeaderLen || n > len(p) {
			return 0, fmt.Errorf("IPFIX message length %d, datagram %d bytes", n, len(p))
		}
		end = n
	}
	for end-off >= 4 {
		n := int(binary.BigEndian.Uint16(p[off+2:]))
		if n < 4 || off+n > end {
			return 0, fmt.Errorf("flow set %d at byte %d: length %d, %d bytes left", binary.BigEndian.Uint16(p[off:]), off, n, end-off)
		}
		off += n
	}
	return off, nil
}

// mapDataSet emits the records of one decoded data set.
func (d *ExportDecoder) mapDataSet(h *exportHeader, s netflow.DataFlowSet, emit func(*flow.Record), skip func(reason, detail string)) {
	noAddr, noInit := 0, 0
	r := &d.rec
	for i := range s.Records {
		r.Reset()
		switch mapRecord(h, s.Records[i].Values, r) {
		case recordOK:
			emit(r)
		case recordNoAddress:
			noAddr++
		case recordNoInitTime:
			noInit++
		}
	}
	if noAddr > 0 {
		skip(skipNoAddress, fmt.Sprintf("%d records of template %d from %s domain %d", noAddr, s.Id, h.exporter, h.domain))
	}
	if noInit > 0 {
		skip(skipNoInitTime, fmt.Sprintf("%d records of template %d from %s domain %d timed by flowStartSysUpTime, no systemInitTimeMilliseconds yet",
			noInit, s.Id, h.exporter, h.domain))
	}
}

type recordResult uint8

const (
	recordOK recordResult = iota
	recordNoAddress
	recordNoInitTime
)

// Time precision ranks: a more precise element wins over a coarser one.
const (
	precNone = iota
	precUptime
	precDelta
	precSeconds
	precMillis
	precMicros
	precNanos
)

// recordFields collects the elements of one data record before they are resolved into a Record.
type recordFields struct {
	src4, dst4, src6, dst6 netip.Addr
	sport, dport           uint16
	proto                  uint8

	// Counters by rank (best first); the reverse ones from RFC 5103 elements or responder*.
	bytes, pkts             [4]uint64
	hasBytes, hasPkts       [4]bool
	revBytes, revPkts       [4]uint64
	hasRevBytes, hasRevPkts [4]bool

	icmpTypeCode         uint16
	icmpType, icmpCode   uint8
	hasTypeCode, hasType bool
	hasCode              bool

	start, end         int64 // Unix ns of absolute elements
	startPrec, endPrec int
	startUp, endUp     uint32 // sysUpTime ms
	hasStartUp         bool
	hasEndUp           bool
	initMs             uint64
	hasInit            bool
	durationNs         int64
	hasDuration        bool

	status, direction       uint8
	hasStatus, hasDirection bool
}

// Counter ranks, best first: see the mapping in the file comment.
const (
	rankDelta = iota
	rankTotal
	rankInitiator
	rankPost
)

// mapRecord fills r from one data record's values.
func mapRecord(h *exportHeader, values []netflow.DataField, r *flow.Record) recordResult {
	var f recordFields
	for i := range values {
		f.add(h, &values[i])
	}
	switch {
	case f.src6.IsValid() && f.dst6.IsValid() && (!f.src4.IsValid() || !f.dst4.IsValid() || f.src4.IsUnspecified() && f.dst4.IsUnspecified()):
		r.Src, r.Dst = f.src6.Unmap(), f.dst6.Unmap()
	case f.src4.IsValid() && f.dst4.IsValid():
		r.Src, r.Dst = f.src4, f.dst4
	default:
		return recordNoAddress
	}
	r.Kind = flow.KindFlow
	r.Proto, r.SrcPort, r.DstPort = f.proto, f.sport, f.dport
	if isICMP(r.Proto) {
		switch {
		case f.hasTypeCode:
			r.SrcPort, r.DstPort = f.icmpTypeCode>>8, f.icmpTypeCode&0xff
		case f.hasType || f.hasCode:
			r.SrcPort, r.DstPort = uint16(f.icmpType), uint16(f.icmpCode)
		default:
			r.SrcPort, r.DstPort = f.dport>>8, f.dport&0xff
		}
	}
	r.BytesOut, r.PktsOut = bestCounter(&f.bytes, &f.hasBytes), bestCounter(&f.pkts, &f.hasPkts)
	r.BytesIn, r.PktsIn = bestCounter(&f.revBytes, &f.hasRevBytes), bestCounter(&f.revPkts, &f.hasRevPkts)
	if !slices.Contains(f.hasRevBytes[:], true) && !slices.Contains(f.hasRevPkts[:], true) {
		orientReply(r) // one direction of a connection: an answer joins its connection
	}
	if f.hasStatus {
		switch f.status >> 6 {
		case 1:
			r.Action = flow.ActionPass
		case 2:
			r.Action = flow.ActionBlock
		}
	}
	if f.hasDirection {
		switch f.direction {
		case 0:
			r.Dir = flow.DirIn
		case 1:
			r.Dir = flow.DirOut
		}
	}
	return f.times(h, r)
}

// add records one element.
func (f *recordFields) add(h *exportHeader, v *netflow.DataField) {
	b, _ := v.Value.([]byte)
	if v.PenProvided {
		if v.Pen != enterpriseBiflow {
			return
		}
		switch v.Type {
		case netflow.IPFIX_FIELD_octetDeltaCount:
			f.counter(b, &f.revBytes[rankDelta], &f.hasRevBytes[rankDelta])
		case netflow.IPFIX_FIELD_octetTotalCount:
			f.counter(b, &f.revBytes[rankTotal], &f.hasRevBytes[rankTotal])
		case netflow.IPFIX_FIELD_packetDeltaCount:
			f.counter(b, &f.revPkts[rankDelta], &f.hasRevPkts[rankDelta])
		case netflow.IPFIX_FIELD_packetTotalCount:
			f.counter(b, &f.revPkts[rankTotal], &f.hasRevPkts[rankTotal])
		}
		return
	}
	switch v.Type {
	case netflow.IPFIX_FIELD_sourceIPv4Address:
		if len(b) == 4 {
			f.src4 = netip.AddrFrom4([4]byte(b))
		}
	case netflow.IPFIX_FIELD_destinationIPv4Address:
		if len(b) == 4 {
			f.dst4 = netip.AddrFrom4([4]byte(b))
		}
	case netflow.IPFIX_FIELD_sourceIPv6Address:
		if len(b) == 16 {
			f.src6 = netip.AddrFrom16([16]byte(b))
		}
	case netflow.IPFIX_FIELD_destinationIPv6Address:
		if len(b) == 16 {
			f.dst6 = netip.AddrFrom16([16]byte(b))
		}
	case netflow.IPFIX_FIELD_sourceTransportPort:
		n, _ := beUint(b)
		f.sport = uint16(n)
	case netflow.IPFIX_FIELD_destinationTransportPort:
		n, _ := beUint(b)
		f.dport = uint16(n)
	case netflow.IPFIX_FIELD_protocolIdentifier:
		n, _ := beUint(b)
		f.proto = uint8(n)
	case netflow.IPFIX_FIELD_octetDeltaCount:
		f.counter(b, &f.bytes[rankDelta], &f.hasBytes[rankDelta])
	case netflow.IPFIX_FIELD_octetTotalCount:
		f.counter(b, &f.bytes[rankTotal], &f.hasBytes[rankTotal])
	case netflow.IPFIX_FIELD_initiatorOctets:
		f.counter(b, &f.bytes[rankInitiator], &f.hasBytes[rankInitiator])
	case netflow.IPFIX_FIELD_postOctetDeltaCount:
		f.counter(b, &f.bytes[rankPost], &f.hasBytes[rankPost])
	case netflow.IPFIX_FIELD_packetDeltaCount:
		f.counter(b, &f.pkts[rankDelta], &f.hasPkts[rankDelta])
	case netflow.IPFIX_FIELD_packetTotalCount:
		f.counter(b, &f.pkts[rankTotal], &f.hasPkts[rankTotal])
	case netflow.IPFIX_FIELD_initiatorPackets:
		f.counter(b, &f.pkts[rankInitiator], &f.hasPkts[rankInitiator])
	case netflow.IPFIX_FIELD_postPacketDeltaCount:
		f.counter(b, &f.pkts[rankPost], &f.hasPkts[rankPost])
	case netflow.IPFIX_FIELD_responderOctets:
		f.counter(b, &f.revBytes[rankInitiator], &f.hasRevBytes[rankInitiator])
	case netflow.IPFIX_FIELD_responderPackets:
		f.counter(b, &f.revPkts[rankInitiator], &f.hasRevPkts[rankInitiator])
	case netflow.IPFIX_FIELD_icmpTypeCodeIPv4, netflow.IPFIX_FIELD_icmpTypeCodeIPv6:
		if n, ok := beUint(b); ok {
			f.icmpTypeCode, f.hasTypeCode = uint16(n), true
		}
	case netflow.IPFIX_FIELD_icmpTypeIPv4, netflow.IPFIX_FIELD_icmpTypeIPv6:
		if n, ok := beUint(b); ok {
			f.icmpType, f.hasType = uint8(n), true
		}
	case netflow.IPFIX_FIELD_icmpCodeIPv4, netflow.IPFIX_FIELD_icmpCodeIPv6:
		if n, ok := beUint(b); ok {
			f.icmpCode, f.hasCode = uint8(n), true
		}
	case netflow.IPFIX_FIELD_forwardingStatus:
		if n, ok := beUint(b); ok {
			f.status, f.hasStatus = uint8(n), true
		}
	case netflow.IPFIX_FIELD_flowDirection:
		if n, ok := beUint(b); ok {
			f.direction, f.hasDirection = uint8(n), true
		}
	case netflow.IPFIX_FIELD_flowStartSysUpTime:
		if n, ok := beUint(b); ok {
			f.startUp, f.hasStartUp = uint32(n), true
		}
	case netflow.IPFIX_FIELD_flowEndSysUpTime:
		if n, ok := beUint(b); ok {
			f.endUp, f.hasEndUp = uint32(n), true
		}
	case netflow.IPFIX_FIELD_systemInitTimeMilliseconds:
		if n, ok := beUint(b); ok {
			f.initMs, f.hasInit = n, true
		}
	case netflow.IPFIX_FIELD_flowStartSeconds, netflow.IPFIX_FIELD_flowEndSeconds:
		if n, ok := beUint(b); ok && n <= 1<<33 {
			f.setTime(v.Type == netflow.IPFIX_FIELD_flowStartSeconds, int64(n)*1e9, precSeconds)
		}
	case netflow.IPFIX_FIELD_flowStartMilliseconds, netflow.IPFIX_FIELD_flowEndMilliseconds:
		if n, ok := beUint(b); ok && n <= 1<<43 {
			f.setTime(v.Type == netflow.IPFIX_FIELD_flowStartMilliseconds, int64(n)*1e6, precMillis)
		}
	case netflow.IPFIX_FIELD_flowStartMicroseconds, netflow.IPFIX_FIELD_flowEndMicroseconds:
		if len(b) == 8 {
			// RFC 7011 §6.1.9: the low 11 bits of a microsecond NTP fraction are not significant.
			f.setTime(v.Type == netflow.IPFIX_FIELD_flowStartMicroseconds, ntpTime(binary.BigEndian.Uint64(b)&^0x7ff), precMicros)
		}
	case netflow.IPFIX_FIELD_flowStartNanoseconds, netflow.IPFIX_FIELD_flowEndNanoseconds:
		if len(b) == 8 {
			f.setTime(v.Type == netflow.IPFIX_FIELD_flowStartNanoseconds, ntpTime(binary.BigEndian.Uint64(b)), precNanos)
		}
	case netflow.IPFIX_FIELD_flowStartDeltaMicroseconds, netflow.IPFIX_FIELD_flowEndDeltaMicroseconds:
		if n, ok := beUint(b); ok && n <= 1<<40 {
			f.setTime(v.Type == netflow.IPFIX_FIELD_flowStartDeltaMicroseconds, h.exportNs-int64(n)*1e3, precDelta)
		}
	case netflow.IPFIX_FIELD_flowDurationMilliseconds:
		if n, ok := beUint(b); ok && n <= 1<<40 {
			f.durationNs, f.hasDuration = int64(n)*1e6, true
		}
	case netflow.IPFIX_FIELD_flowDurationMicroseconds:
		if n, ok := beUint(b); ok && n <= 1<<50 && !f.hasDuration {
			f.durationNs, f.hasDuration = int64(n)*1e3, true
		}
	}
}

// bestCounter returns the best-ranked counter present, 0 when none is.
func bestCounter(v *[4]uint64, has *[4]bool) uint64 {
	for i := range v {
		if has[i] {
			return v[i]
		}
	}
	return 0
}

func (f *recordFields) counter(b []byte, dst *uint64, has *bool) {
	if n, ok := beUint(b); ok {
		*dst, *has = n, true
	}
}

// setTime keeps an absolute start or end time when it is more precise than the one held.
func (f *recordFields) setTime(start bool, ns int64, prec int) {
	if start {
		if prec > f.startPrec {
			f.start, f.startPrec = ns, prec
		}
		return
	}
	if prec > f.endPrec {
		f.end, f.endPrec = ns, prec
	}
}

// ntpTime converts an NTP timestamp (seconds since 1900 in the high 32 bits, a binary fraction
// in the low 32) to Unix ns. Seconds below 2^31 are taken as NTP era 1 (from 2036), since no
// flow starts before 1968.
func ntpTime(v uint64) int64 {
	sec := int64(v >> 32)
	if sec < 1<<31 {
		sec += 1 << 32
	}
	frac := int64((v & 0xffffffff) * 1e9 >> 32)
	return (sec-ntpUnixOffset)*1e9 + frac
}

// times resolves the start and end of the flow into r.Time and r.Duration.
func (f *recordFields) times(h *exportHeader, r *flow.Record) recordResult {
	uptime := func(ms uint32) (int64, bool) {
		switch {
		case h.version == 9:
			return uptimeTime(h.exportNs, h.uptimeMs, ms), true
		case f.hasInit:
			return int64(f.initMs+uint64(ms)) * 1e6, f.initMs < 1<<43
		case h.hasInit:
			return int64(h.initMs+uint64(ms)) * 1e6, h.initMs < 1<<43
		}
		return 0, false
	}
	if f.hasStartUp && f.startPrec == precNone {
		ns, ok := uptime(f.startUp)
		if !ok {
			return recordNoInitTime
		}
		f.start, f.startPrec = ns, precUptime
	}
	if f.hasEndUp && f.endPrec == precNone {
		ns, ok := uptime(f.endUp)
		if !ok {
			return recordNoInitTime
		}
		f.end, f.endPrec = ns, precUptime
	}
	start, end := f.start, f.end
	switch {
	case f.startPrec != precNone && f.endPrec != precNone:
	case f.startPrec != precNone:
		end = start + f.durationNs
	case f.endPrec != precNone:
		start = end - f.durationNs
	default:
		start, end = h.exportNs, h.exportNs+f.durationNs
	}
	if start < 0 {
		// Before 1970: the exporter's clock or uptime is wrong; the export time is all there is.
		start, end = h.exportNs, h.exportNs
	}
	r.Time, r.Duration = start, max(end-start, 0)
	return recordOK
}

// beUint reads a big-endian unsigned integer of 1 to 8 bytes (IPFIX reduced-size encoding).
func beUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n, true
}

// findUint returns the first non-enterprise element of type t in values.
func findUint(values []netflow.DataField, t uint16) (uint64, bool) {
	for i := range values {
		if values[i].Type == t && !values[i].PenProvided {
			b, _ := values[i].Value.([]byte)
			return beUint(b)
		}
	}
	return 0, false
}

// exportDomain is one exporter's source ID (v9) or observation domain (IPFIX).
type exportDomain struct {
	exporter netip.AddrPort
	domain   uint32
}

type templateKey struct {
	exportDomain
	version uint16
	id      uint16
}

// templateStore is the library's template system, keyed by exporter as well: the library knows
// only version, domain and template ID, so Decode sets exporter before each datagram.
type templateStore struct {
	exporter netip.AddrPort
	m        map[templateKey]any
	fields   int // over all templates kept, bounded by maxTemplateFields
}

var _ netflow.NetFlowTemplateSystem = (*templateStore)(nil)

func (s *templateStore) key(version uint16, domain uint32, id uint16) templateKey {
	return templateKey{exportDomain{s.exporter, domain}, version, id}
}

// AddTemplate keeps a template, replacing one of the same ID. A template without fields is a
// withdrawal (RFC 7011 §8.1). A template all of whose fields are empty is refused: the library
// would decode its data set forever, taking nothing from it.
func (s *templateStore) AddTemplate(version uint16, domain uint32, id uint16, t any) error {
	fields, size, variable := templateShape(t)
	k := s.key(version, domain, id)
	if fields == 0 {
		s.remove(k)
		return nil
	}
	if size == 0 && !variable {
		return fmt.Errorf("template %d: all %d fields have length 0", id, fields)
	}
	old, _, _ := templateShape(s.m[k])
	if s.fields-old+fields > maxTemplateFields {
		return fmt.Errorf("template %d: more than %d template fields kept", id, maxTemplateFields)
	}
	s.fields += fields - old
	s.m[k] = t
	return nil
}

func (s *templateStore) GetTemplate(version uint16, domain uint32, id uint16) (any, error) {
	if t, ok := s.m[s.key(version, domain, id)]; ok {
		return t, nil
	}
	return nil, netflow.ErrorTemplateNotFound
}

func (s *templateStore) RemoveTemplate(version uint16, domain uint32, id uint16) (any, error) {
	k := s.key(version, domain, id)
	t, ok := s.m[k]
	if !ok {
		return nil, netflow.ErrorTemplateNotFound
	}
	s.remove(k)
	return t, nil
}

func (s *templateStore) remove(k templateKey) {
	if t, ok := s.m[k]; ok {
		n, _, _ := templateShape(t)
		s.fields -= n
		delete(s.m, k)
	}
}

// GetTemplates is not used by the decoders; it returns nothing.
func (s *templateStore) GetTemplates() netflow.FlowBaseTemplateSet { return nil }

// templateShape returns a template's number of fields, the total of its fixed lengths and whether
// it has a variable-length field.
func templateShape(t any) (fields, size int, variable bool) {
	var lists [2][]netflow.Field
	switch t := t.(type) {
	case netflow.TemplateRecord:
		lists[0] = t.Fields
	case netflow.NFv9OptionsTemplateRecord:
		lists[0], lists[1] = t.Scopes, t.Options
	case netflow.IPFIXOptionsTemplateRecord:
		lists[0], lists[1] = t.Scopes, t.Options
	}
	for _, l := range lists {
		for _, f := range l {
			fields++
			if f.Length == 0xffff {
				variable = true
			} else {
				size += int(f.Length)
			}
		}
	}
	return fields, size, variable
}
