package engine

import (
	"slices"
	"testing"

	"github.com/flowhunt/flowhunt/internal/flow"
)

// TestPairTags checks that payload markers and IDS alerts reach the pair they belong to, from
// any shard, and that an alert without its flow is counted rather than turned into a flow.
func TestPairTags(t *testing.T) {
	stratum := fl("10.0.0.5", "198.51.100.7", 443, flow.ProtoTCP, 10)
	stratum.PayloadOut = []byte(`{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4A"}}`)
	stratum.PayloadIn = []byte(`{"id":1,"jsonrpc":"2.0","error":null,"result":{"id":"1"}}`)
	again := fl("10.0.0.5", "198.51.100.7", 443, flow.ProtoTCP, 70)
	again.PayloadOut = []byte(`{"id":1,"jsonrpc":"2.0","method":"login","params":{"login":"4A"}}`)
	web := fl("10.0.0.6", "203.0.113.9", 443, flow.ProtoTCP, 20)
	web.PayloadOut = []byte("\x16\x03\x01\x00\xc8\x01")
	alert := fl("10.0.0.6", "203.0.113.9", 443, flow.ProtoTCP, 21)
	alert.Kind, alert.Alert, alert.AlertSeverity = flow.KindEvent, "ET MALWARE Possible C2", 1
	orphan := fl("10.0.0.7", "192.0.2.1", 80, flow.ProtoTCP, 30)
	orphan.Kind, orphan.Alert = flow.KindEvent, "ET SCAN probe"
	recs := []flow.Record{alert, stratum, web, again, orphan}

	for _, shards := range []int{1, 3} {
		m := mergeRR(slices.Clone(recs), shards)
		got := map[string][]string{}
		for p := range m.Pairs() {
			got[p.Src.String()+">"+p.Dst.String()] = p.Tags
		}
		want := map[string][]string{
			"10.0.0.5>198.51.100.7": {"stratum:login"},
			"10.0.0.6>203.0.113.9":  {"alert:ET MALWARE Possible C2"},
		}
		if len(got) != len(want) {
			t.Errorf("%d shards: pairs %v, want %v (an orphan alert must not make a pair)", shards, got, want)
		}
		for k, w := range want {
			if !slices.Equal(got[k], w) {
				t.Errorf("%d shards: %s tags %q, want %q", shards, k, got[k], w)
			}
		}
		if m.OrphanTags() != 1 {
			t.Errorf("%d shards: orphan tags %d, want 1", shards, m.OrphanTags())
		}
		if f := m.Fields(); !f.Payload || !f.Alerts {
			t.Errorf("%d shards: fields %+v, want Payload and Alerts", shards, f)
		}
		if m.Flows() != 3 {
			t.Errorf("%d shards: flows %d, want 3 (events are not flows)", shards, m.Flows())
		}
	}
}

func TestAddTagCaps(t *testing.T) {
	var tags []string
	for _, s := range []string{"b", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		tags = AddTag(tags, s)
	}
	if want := []string{"a", "b", "c", "d", "e", "f", "g", "h"}; !slices.Equal(tags, want) {
		t.Errorf("tags %q, want %q", tags, want)
	}
	if v := TagValues([]string{"alert:x", "stratum:login", "alert:y"}, TagAlert); !slices.Equal(v, []string{"x", "y"}) {
		t.Errorf("TagValues = %q", v)
	}
}
