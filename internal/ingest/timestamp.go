package ingest

import (
	"math"
	"time"
)

// parseTime reads a timestamp in any of the forms flow exports use and returns Unix nanoseconds:
//   - epoch numbers, integer or decimal, unit chosen by the integer part's digits: up to 10
//     seconds (this also keeps relative capture times like 12.5 as seconds), 11-13 milliseconds,
//     14-16 microseconds, more nanoseconds;
//   - ISO 8601 / RFC 3339 "2024-03-14T10:15:22.123Z", "+02:00", "+0200", and the common
//     "2024-03-14 10:15:22[.fff]" and "2024/03/14 10:15:22.fff" (Argus) forms.
//
// Timestamps without a zone are read in loc. It does not allocate.
func parseTime(b []byte, loc *time.Location) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	if len(b) >= 10 && (b[4] == '-' || b[4] == '/') {
		return parseISO(b, loc)
	}
	return parseEpoch(b)
}

// parseEpoch parses a non-negative decimal epoch with optional fraction (see parseTime).
func parseEpoch(b []byte) (int64, bool) {
	var ip uint64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		if ip > math.MaxInt64/10 {
			return 0, false
		}
		ip = ip*10 + uint64(b[i]-'0')
	}
	if i == 0 {
		return 0, false
	}
	var frac uint64 // fraction scaled to 1e9
	if i < len(b) {
		if b[i] != '.' {
			return 0, false
		}
		i++
		scale := uint64(100_000_000)
		digits := 0
		for ; i < len(b); i++ {
			c := b[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if scale > 0 {
				frac += uint64(c-'0') * scale
				scale /= 10
			}
			digits++
		}
		if digits == 0 {
			return 0, false
		}
	}
	// Pick the unit by the integer part's digits; reject what does not fit in Unix ns (past 2262).
	var unit uint64
	switch {
	case ip < 1e10: // seconds (up to 10 digits)
		unit = 1_000_000_000
	case ip < 1e13: // milliseconds (11-13 digits)
		unit, frac = 1_000_000, frac/1_000
	case ip < 1e16: // microseconds (14-16 digits)
		unit, frac = 1_000, frac/1_000_000
	default: // nanoseconds
		unit, frac = 1, 0
	}
	if ip > (math.MaxInt64-frac)/unit {
		return 0, false
	}
	return int64(ip*unit + frac), true
}

func digits(b []byte, n int) (int, bool) {
	if len(b) < n {
		return 0, false
	}
	v := 0
	for _, c := range b[:n] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseISO parses "YYYY-MM-DD[T| ]HH:MM[:SS[.frac]][Z|±HH[:]MM]" (also with '/' as date separator).
func parseISO(b []byte, loc *time.Location) (int64, bool) {
	year, ok1 := digits(b, 4)
	if !ok1 || len(b) < 16 || b[7] != b[4] || (b[10] != 'T' && b[10] != ' ') || b[13] != ':' {
		return 0, false
	}
	month, ok2 := digits(b[5:], 2)
	day, ok3 := digits(b[8:], 2)
	hour, ok4 := digits(b[11:], 2)
	minute, ok5 := digits(b[14:], 2)
	// Unix nanoseconds in an int64 span 1678-2262; logs older than 1970 are corrupt anyway.
	if !(ok2 && ok3 && ok4 && ok5) || year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 {
		return 0, false
	}
	rest := b[16:]
	sec, nsec := 0, 0
	if len(rest) > 0 && rest[0] == ':' {
		s, ok := digits(rest[1:], 2)
		if !ok || s > 60 {
			return 0, false
		}
		sec, rest = s, rest[3:]
		if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
			rest = rest[1:]
			scale, n := 100_000_000, 0
			for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
				nsec += int(rest[n]-'0') * scale
				scale /= 10
				n++
			}
			if n == 0 {
				return 0, false
			}
			rest = rest[n:]
		}
	}
	zone := loc
	offset, hasOffset := 0, false
	switch {
	case len(rest) == 0:
	case len(rest) == 1 && rest[0] == 'Z':
		zone, hasOffset = time.UTC, true
	case rest[0] == '+' || rest[0] == '-':
		h, ok := digits(rest[1:], 2)
		if !ok {
			return 0, false
		}
		m := 0
		switch {
		case len(rest) == 3:
		case len(rest) == 6 && rest[3] == ':':
			m, ok = digits(rest[4:], 2)
		case len(rest) == 5:
			m, ok = digits(rest[3:], 2)
		default:
			ok = false
		}
		if !ok || h > 23 || m > 59 {
			return 0, false
		}
		offset = h*3600 + m*60
		if rest[0] == '-' {
			offset = -offset
		}
		zone, hasOffset = time.UTC, true
	default:
		return 0, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, zone)
	if t.Day() != day { // Feb 30 and the like
		return 0, false
	}
	ns := t.UnixNano()
	if hasOffset {
		ns -= int64(offset) * 1e9
	}
	return ns, true
}

var monthAbbr = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseSyslogTime parses an RFC 3164 "Mar 14 10:15:22" (day may be space-padded), which carries no
// year: the year is the latest that does not place the time after now (plus a day's slack for
// clock skew). It returns the nanoseconds and the number of bytes consumed (always 15).
func parseSyslogTime(b []byte, now time.Time, loc *time.Location) (int64, bool) {
	if len(b) < 15 || b[3] != ' ' || b[6] != ' ' || b[9] != ':' || b[12] != ':' {
		return 0, false
	}
	month := 0
	for i, m := range monthAbbr {
		if string(b[:3]) == m {
			month = i + 1
			break
		}
	}
	if month == 0 {
		return 0, false
	}
	d := b[4:6]
	if d[0] == ' ' {
		d = d[1:]
	}
	day, ok := digits(d, len(d))
	h, ok2 := digits(b[7:], 2)
	mi, ok3 := digits(b[10:], 2)
	s, ok4 := digits(b[13:], 2)
	if !(ok && ok2 && ok3 && ok4) || day < 1 || day > 31 || h > 23 || mi > 59 || s > 60 {
		return 0, false
	}
	year := now.In(loc).Year()
	t := time.Date(year, time.Month(month), day, h, mi, s, 0, loc)
	if t.After(now.Add(24 * time.Hour)) {
		t = time.Date(year-1, time.Month(month), day, h, mi, s, 0, loc)
	}
	return t.UnixNano(), true
}
