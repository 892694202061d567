package detect

import (
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
	// Too few flows.
	f("one visit", func(n *exNet) {
		n.add("10.0.0.17", "198.51.100.50", 443, night(0, 2, 0), time.Second, 2, 900)
	}, map[string]bool{})
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
