package eval

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/flowhunt/flowhunt/internal/sim"
)

func findings(t *testing.T, js string) *Findings {
	t.Helper()
	var f Findings
	if err := json.Unmarshal([]byte(js), &f); err != nil {
		t.Fatal(err)
	}
	return &f
}

func TestScore(t *testing.T) {
	truth := &sim.Truth{
		Hosts: map[string][]string{"10.0.0.1": {"miner"}, "10.0.0.2": {"miner", "beacon"}, "10.0.0.3": {"beacon"}},
		LookAlikes: map[string]sim.LookAlike{
			"10.0.0.9": {Imitates: "beacon", What: "NTP client"},
			"10.0.0.8": {Imitates: "miner", What: "dev port 3333"},
		},
	}
	f := findings(t, `{"hosts":[
	  {"ip":"10.0.0.1","findings":[{"category":"miner"},{"category":"talker"}]},
	  {"ip":"10.0.0.2","findings":[{"category":"beacon"},{"category":"miner","flagged":false}]},
	  {"ip":"10.0.0.9","findings":[{"category":"beacon","flagged":true}]},
	  {"ip":"10.0.0.8","findings":[{"category":"scan"}]}
	]}`)
	res := Score(truth, f)
	rows := map[string]Row{}
	for _, r := range res.Rows {
		rows[r.Category] = r
	}
	if len(rows) != 3 {
		t.Fatalf("rows %+v: want beacon, miner, scan (talker is informational)", res.Rows)
	}
	// beacon: 10.0.0.2 found, 10.0.0.3 missed, 10.0.0.9 wrongly flagged.
	if b := rows["beacon"]; b.TP != 1 || b.FP != 1 || b.FN != 1 || b.Precision != 0.5 || b.Recall != 0.5 || b.F1 != 0.5 {
		t.Errorf("beacon %+v", b)
	}
	// miner: 10.0.0.2's candidate (flagged false) is not a claim.
	if m := rows["miner"]; m.TP != 1 || m.FN != 1 || m.FP != 0 || m.Missed[0] != "10.0.0.2" || math.Abs(m.F1-2.0/3) > 1e-9 {
		t.Errorf("miner %+v", m)
	}
	// scan: nothing planted, one claimed: precision 0, recall vacuously 1.
	if s := rows["scan"]; s.FP != 1 || s.Precision != 0 || s.Recall != 1 {
		t.Errorf("scan %+v", s)
	}
	// A look-alike counts only when flagged in the category it imitates.
	if len(res.LookAlikesFlagged) != 1 || res.LookAlikesFlagged[0] != "10.0.0.9" {
		t.Errorf("look-alikes flagged %v", res.LookAlikesFlagged)
	}
}

func TestScoreEmpty(t *testing.T) {
	res := Score(&sim.Truth{Hosts: map[string][]string{}}, &Findings{})
	if len(res.Rows) != 0 || res.LookAlikesFlagged == nil {
		t.Errorf("%+v", res)
	}
}
