package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowhunt/flowhunt/internal/engine"
)

func TestOffHours(t *testing.T) {
	f := func(name string, build func(n *exNet), want map[string]bool) {
		t.Helper()
		n := &exNet{}
		exOffice(n)
		build(n)
		fs, _ := OffHoursActivity(n.view(t), DefaultOffHours())
		got := map[string]bool{}
		for _, fd := range fs {
			if fd.Flagged {
				got[fd.Host.String()] = true
			}
		}
		if len(got) != len(want) {
			t.Errorf("%s: flagged %v, want %v (%+v)", name, got, want, fs)
		}
		for h := range want {
			if !got[h] {
				t.Errorf("%s: %s not flagged (%+v)", name, h, fs)
			}
		}
	}
	night := func(d, h, m int) time.Time {
		return exDay0.Add(time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	// Planted: a daytime user with irregular sessions at 01:00-04:00 to a rare destination.
	f("night sessions", func(n *exNet) {
		for d := range 2 {
			for _, m := range []int{5, 47, 130, 171} {
				n.add("10.0.0.15", "198.51.100.20", 443, night(d, 1, m), time.Second, 1, 5000)
			}
		}
	}, map[string]bool{"10.0.0.15": true})
	// Look-alike: a night-shift box that is active all night, every night, has a nocturnal baseline.
	f("night shift", func(n *exNet) {
		for d := range 2 {
			for k := range 40 {
				n.add("10.0.0.200", "198.51.100.30", 443, night(d, 22, k*13), time.Second, 1, 5000)
				n.add("10.0.0.200", "93.184.0.1", 443, night(d, 23, k*7), time.Second, 1, 5000)
			}
		}
	}, map[string]bool{})
	// Look-alike: a periodic beacon whose burst falls at night is the beacon detector's.
	f("night burst beacon", func(n *exNet) {
		n.add("10.0.0.16", "198.51.100.40", 443, night(1, 2, 0), time.Minute, 30, 300)
	}, map[string]bool{})
	// Look-alike: night traffic to destinations many hosts use (updates) is not rare.
	f("shared night service", func(n *exNet) {
		for u := range 5 {
			n.add("10.0.0.1"+string(rune('0'+u)), "203.0.113.9", 443, night(0, 3, u*9), 17*time.Minute, 4, 900)
		}
	}, map[string]bool{})
	// Look-alike: sessions started at 08:30, half an hour before this network's learned 09:00
	// working day: early, not night work.
	f("early start", func(n *exNet) {
		for d := range 3 {
			n.add("10.0.0.18", "198.51.100.60", 443, night(d, 8, 30), time.Second, 1, 5000)
		}
	}, map[string]bool{})
	// Too few flows.
	f("one visit", func(n *exNet) {
		n.add("10.0.0.17", "198.51.100.50", 443, night(0, 2, 0), time.Second, 2, 900)
	}, map[string]bool{})
}

// TestOffHoursOneHost: a capture of one workstation (sdft/012 is one) has no network to say what
// is rare: its night-only destination is a candidate, not a finding, and a note says why.
func TestOffHoursOneHost(t *testing.T) {
	n := &exNet{}
	for d := range 2 {
		day := exDay0.Add(time.Duration(d) * 24 * time.Hour)
		for s := range 60 {
			n.add("10.0.0.15", fmt.Sprintf("93.184.0.%d", s), 443, day.Add(9*time.Hour+time.Duration(s*7)*time.Minute), time.Second, 3, 1500)
		}
		for _, m := range []int{5, 47, 130, 171} {
			n.add("10.0.0.15", "198.51.100.20", 443, day.Add(time.Hour+time.Duration(m)*time.Minute), time.Second, 1, 5000)
		}
	}
	fs, notes := OffHoursActivity(n.view(t), DefaultOffHours())
	if len(fs) != 1 || fs[0].Flagged || fs[0].Score > 0.25 || fs[0].Peers[0] != "198.51.100.20:443" {
		t.Errorf("findings %+v: want one unflagged candidate for 198.51.100.20:443 scored at most 0.25", fs)
	}
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "1 internal host(s) talk to external addresses, 5 are needed") {
		t.Errorf("notes %+v: want the too-few-hosts note only (no learned hours)", notes)
	}
}

func TestOffHoursNoTimes(t *testing.T) {
	n := &exNet{}
	n.add("10.0.0.1", "198.51.100.7", 443, time.Unix(0, 0), 0, 3, 10)
	if fs, notes := OffHoursActivity(n.view(t), DefaultOffHours()); len(fs) != 0 || len(notes) != 1 {
		t.Errorf("no timestamps: %+v %+v", fs, notes)
	}
}

func TestOffHoursOffice(t *testing.T) {
	officeAccuracy(t, OffHours, func(v engine.View) []Finding { fs, _ := OffHoursActivity(v, DefaultOffHours()); return fs })
}

func TestLearnWorkHours(t *testing.T) {
	day := func(start, end int, floor, bump uint64) (c [24]uint64) {
		for h := range c {
			c[h] = floor
			if h >= start && h < end {
				c[h] += bump
			}
		}
		return c
	}
	f := func(name string, curve [24]uint64, wantStart, wantEnd int, wantOK bool) {
		t.Helper()
		s, e, ok := learnWorkHours(curve)
		if ok != wantOK || (ok && (s != wantStart || e != wantEnd)) {
			t.Errorf("%s: learned %02d-%02d %v, want %02d-%02d %v", name, s, e, ok, wantStart, wantEnd, wantOK)
		}
	}
	f("office", day(8, 18, 100, 400), 8, 18, true)
	f("office with a lunch dip above the cut", func() [24]uint64 { c := day(8, 18, 100, 400); c[12] = 360; return c }(), 8, 18, true)
	f("flat: servers only", day(0, 0, 500, 0), 0, 0, false)
	f("tiny bump", day(9, 17, 1000, 100), 0, 0, false)
	f("night shift across midnight", func() [24]uint64 {
		c := day(0, 6, 100, 400)
		c[22], c[23] = 500, 500
		return c
	}(), 0, 0, false)
	f("two-hour blip", day(13, 15, 100, 400), 0, 0, false)
	f("empty", [24]uint64{}, 0, 0, false)
}

func TestOffHoursLearnsHours(t *testing.T) {
	n := &exNet{}
	exOffice(n) // users active 09:00-13:00ish
	_, notes := OffHoursActivity(n.view(t), DefaultOffHours())
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "learned") {
		t.Errorf("notes %+v, want the learned hours", notes)
	}
}
