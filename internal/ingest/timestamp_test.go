package ingest

import (
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	jer, err := time.LoadLocation("Asia/Jerusalem")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	f := func(in string, loc *time.Location, want string) {
		t.Helper()
		ns, ok := parseTime([]byte(in), loc)
		if want == "" {
			if ok {
				t.Errorf("parseTime(%q) = %v, want failure", in, time.Unix(0, ns).UTC())
			}
			return
		}
		w, err := time.Parse(time.RFC3339Nano, want)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || ns != w.UnixNano() {
			t.Errorf("parseTime(%q) = %v (ok %v), want %v", in, time.Unix(0, ns).UTC().Format(time.RFC3339Nano), ok, want)
		}
	}
	utc := time.UTC
	f("1629280931", utc, "2021-08-18T10:02:11Z")                        // epoch s
	f("1629280931.5", utc, "2021-08-18T10:02:11.5Z")                    // epoch s with fraction
	f("1713484795.943239", utc, "2024-04-18T23:59:55.943239Z")          // Zeek
	f("1629280931123", utc, "2021-08-18T10:02:11.123Z")                 // epoch ms
	f("1629280931123456", utc, "2021-08-18T10:02:11.123456Z")           // epoch µs
	f("1629280931123456789", utc, "2021-08-18T10:02:11.123456789Z")     // epoch ns
	f("12.25", utc, "1970-01-01T00:00:12.25Z")                          // relative capture time
	f("2021-08-18 10:02:11", utc, "2021-08-18T10:02:11Z")               // pandas
	f("2021-08-18 10:02:11.123456", utc, "2021-08-18T10:02:11.123456Z") // pandas µs
	f("2021-08-18T10:02:11Z", utc, "2021-08-18T10:02:11Z")              // RFC 3339
	f("2021-08-18T10:02:11.5+02:00", utc, "2021-08-18T08:02:11.5Z")     // offset
	f("2021-08-18T10:02:11-0530", utc, "2021-08-18T15:32:11Z")          // offset without colon
	f("2011/08/16 10:33:19.384424", utc, "2011-08-16T10:33:19.384424Z") // Argus
	f("2021-08-18 10:02", utc, "2021-08-18T10:02:00Z")                  // no seconds
	f("2024-03-14 10:00:00", jer, "2024-03-14T08:00:00Z")               // naive in --tz (UTC+2)
	f("2024-07-14 10:00:00", jer, "2024-07-14T07:00:00Z")               // naive in --tz, summer (UTC+3)
	f("2024-07-14T10:00:00Z", jer, "2024-07-14T10:00:00Z")              // zone in the value wins
	f("", utc, "")
	f("abc", utc, "")
	f("-5", utc, "")
	f("1.", utc, "")
	f("1.2.3", utc, "")
	f("99999999999999999999999", utc, "")
	f("2021-13-18 10:02:11", utc, "")   // month 13
	f("2021-02-30 10:02:11", utc, "")   // no Feb 30
	f("2021-08-18 25:02:11", utc, "")   // hour 25
	f("2021-08-18X10:02:11", utc, "")   // bad separator
	f("2021-08-18 10:02:11+2", utc, "") // bad offset
	f("2021-08-18 10:02:11.", utc, "")  // empty fraction
	f("2021-08-18 10:02:11 junk", utc, "")
}

func TestParseSyslogTime(t *testing.T) {
	now := time.Date(2025, 1, 2, 12, 0, 0, 0, time.UTC)
	f := func(in, want string) {
		t.Helper()
		ns, ok := parseSyslogTime([]byte(in), now, time.UTC)
		if want == "" {
			if ok {
				t.Errorf("parseSyslogTime(%q) ok, want failure", in)
			}
			return
		}
		if w, _ := time.Parse(time.RFC3339, want); !ok || ns != w.UnixNano() {
			t.Errorf("parseSyslogTime(%q) = %v, want %s", in, time.Unix(0, ns).UTC(), want)
		}
	}
	f("Jan  2 10:15:22", "2025-01-02T10:15:22Z")
	f("Dec 31 23:59:59", "2024-12-31T23:59:59Z") // year rollover: not in the future
	f("Jan  3 01:00:00", "2025-01-03T01:00:00Z") // a day of clock skew is allowed
	f("Mar 14 10:15:22", "2024-03-14T10:15:22Z")
	f("Foo 14 10:15:22", "")
	f("Mar 32 10:15:22", "")
	f("Mar 14 10:15", "")
	f("Mar 14 24:15:22", "")
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"1629280931", "1629280931.123", "2021-08-18 10:02:11.5", "2021-08-18T10:02:11+02:00", "2011/08/16 10:33:19.384424", "Mar 14 10:15:22"} {
		f.Add(s)
	}
	now := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		ns, ok := parseTime([]byte(s), time.UTC)
		if ok {
			if len(s) >= 10 && (s[4] == '-' || s[4] == '/') {
				// An ISO time that parses keeps its year (±1 for a zone offset at New Year).
				y, _ := digits([]byte(s), 4)
				if got := time.Unix(0, ns).UTC().Year(); got < y-1 || got > y+1 {
					t.Errorf("%q parsed to year %d", s, got)
				}
			} else if ns < 0 {
				t.Errorf("epoch %q parsed negative: %d", s, ns)
			}
		}
		if ns, ok := parseSyslogTime([]byte(s), now, time.UTC); ok && ns > now.Add(25*time.Hour).UnixNano() {
			t.Errorf("syslog %q placed in the future: %v", s, time.Unix(0, ns))
		}
	})
}
