package ingest

import "github.com/flowhunt/flowhunt/internal/flow"

// Unidirectional flow exports (NetFlow v5/v9 and IPFIX without RFC 5103 reverse counters, and
// nfdump's CSV of them) record each direction of a connection as a flow of its own: the web
// server's answer is a "flow" from 93.184.216.34:443 to the client's port 51000. Read as it
// stands, every busy server would originate flows to hundreds of high ports of its clients (a
// vertical scan to the scan detector) and upload what its clients download. orientReply turns
// such a half round, the way nfdump -B and Zeek's likely_server_ports guess a connection's
// originator: the answer joins its connection's pair as bytes and packets received.

// serverPorts are registered service ports at or above 1024 that answer clients from a fixed
// port; below 1024 every port counts as a service.
var serverPorts = map[uint16]bool{
	1194: true, 1433: true, 1521: true, 1812: true, 1813: true, 1883: true, 1900: true, 2049: true,
	2375: true, 2376: true, 3128: true, 3268: true, 3269: true, 3306: true, 3389: true, 3478: true,
	4500: true, 5060: true, 5061: true, 5222: true, 5353: true, 5355: true, 5432: true, 5671: true,
	5672: true, 5900: true, 5985: true, 5986: true, 6379: true, 6443: true, 8080: true, 8443: true,
	8883: true, 9092: true, 9200: true, 9300: true, 11211: true, 27017: true,
}

func isServerPort(p uint16) bool { return p < 1024 || serverPorts[p] }

// orientReply turns a one-way record that goes from a service port to a client port (at or above
// 1024, not a service) into the reply half of the client's connection: addresses and ports
// swapped, its bytes and packets counted as received. It leaves records with reverse counters,
// ICMP and other port-less protocols, and ambiguous port pairs as they are, and reports whether it
// turned r round, as a flow.KindReply: it joins the client's pair without counting as another
// connection.
func orientReply(r *flow.Record) bool {
	if r.BytesIn != 0 || r.PktsIn != 0 {
		return false // a biflow already knows its originator
	}
	switch r.Proto {
	case flow.ProtoTCP, flow.ProtoUDP, flow.ProtoSCTP:
	default:
		return false
	}
	if !isServerPort(r.SrcPort) || isServerPort(r.DstPort) {
		return false
	}
	r.Src, r.Dst = r.Dst, r.Src
	r.SrcPort, r.DstPort = r.DstPort, r.SrcPort
	r.BytesIn, r.PktsIn, r.BytesOut, r.PktsOut = r.BytesOut, r.PktsOut, 0, 0
	r.Kind = flow.KindReply
	return true
}
