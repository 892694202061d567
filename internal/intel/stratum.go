package intel

import "bytes"

// stratumMethods are the JSON-RPC methods of the mining protocols: Stratum v1 as Bitcoin and
// Ethereum pools speak it (mining.*), and the Monero variant XMRig and its pools use (login,
// getjob, submit, keepalived; the pool pushes "job").
var stratumMethods = []string{
	"mining.subscribe", "mining.authorize", "mining.submit", "mining.notify",
	"mining.set_difficulty", "mining.extranonce.subscribe", "mining.configure",
	"login", "getjob", "submit", "keepalived", "job",
}

// StratumMethod returns the Stratum JSON-RPC method named in payload, the first bytes of one
// direction of a connection, or "" when payload is not a Stratum message. A message is a JSON
// object whose "method" member has one of the mining methods as its value:
//
//	{"id":1,"method":"mining.subscribe","params":["cgminer/4.10"]}
//	{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4A...","agent":"XMRig/6.21"}}
//
// The bare method names of the Monero dialect ("login", "submit") are common words, so they
// count only as the value of "method" in a payload that starts as a JSON object; an HTTP request
// or a TLS record never matches.
func StratumMethod(payload []byte) string {
	p := bytes.TrimLeft(payload, " \t\r\n")
	if len(p) == 0 || p[0] != '{' {
		return ""
	}
	i := bytes.Index(p, []byte(`"method"`))
	if i < 0 {
		return ""
	}
	rest := bytes.TrimLeft(p[i+len(`"method"`):], " \t")
	if len(rest) == 0 || rest[0] != ':' {
		return ""
	}
	rest = bytes.TrimLeft(rest[1:], " \t")
	if len(rest) == 0 || rest[0] != '"' {
		return ""
	}
	rest = rest[1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return ""
	}
	m := rest[:end]
	for _, s := range stratumMethods {
		if string(m) == s {
			return s
		}
	}
	return ""
}
