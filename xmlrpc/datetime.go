package xmlrpc

import (
	"time"
)

// DateTime is a decoded <dateTime.iso8601> that also records whether the
// wire text carried a zone. Decode into a DateTime instead of a time.Time
// when that matters; a DateTime encodes as its Time.
//
// Without a zone the wall-clock fields are read in the decoder's location
// (UTC unless configured otherwise), so Time is always a usable instant.
type DateTime struct {
	Time    time.Time
	HasZone bool
}

// parseDateTime parses the accepted dateTime.iso8601 forms (see the package
// documentation). The text must already be trimmed. loc is used when the
// text has no zone.
func parseDateTime(b []byte, loc *time.Location) (DateTime, bool) {
	var year, month, day, hour, minute, second, nsec int
	i := 0
	num := func(n int) (int, bool) {
		if i+n > len(b) {
			return 0, false
		}
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		i += n
		return v, true
	}
	sep := func(c byte) bool {
		if i < len(b) && b[i] == c {
			i++
			return true
		}
		return false
	}
	var ok bool
	if year, ok = num(4); !ok {
		return DateTime{}, false
	}
	if sep('-') {
		if month, ok = num(2); !ok || !sep('-') {
			return DateTime{}, false
		}
		if day, ok = num(2); !ok {
			return DateTime{}, false
		}
	} else {
		if month, ok = num(2); !ok {
			return DateTime{}, false
		}
		if day, ok = num(2); !ok {
			return DateTime{}, false
		}
	}
	if !sep('T') {
		return DateTime{}, false
	}
	if hour, ok = num(2); !ok {
		return DateTime{}, false
	}
	if sep(':') {
		if minute, ok = num(2); !ok || !sep(':') {
			return DateTime{}, false
		}
		if second, ok = num(2); !ok {
			return DateTime{}, false
		}
	} else {
		if minute, ok = num(2); !ok {
			return DateTime{}, false
		}
		if second, ok = num(2); !ok {
			return DateTime{}, false
		}
	}
	if sep('.') {
		digits := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if digits < 9 {
				nsec = nsec*10 + int(b[i]-'0')
			}
			digits++
			i++
		}
		if digits == 0 {
			return DateTime{}, false
		}
		for d := digits; d < 9; d++ {
			nsec *= 10
		}
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || second > 59 {
		return DateTime{}, false
	}
	if i == len(b) {
		return inEncodableRange(DateTime{Time: time.Date(year, time.Month(month), day, hour, minute, second, nsec, loc)})
	}
	var offset int
	switch b[i] {
	case 'Z':
		i++
	case '+', '-':
		neg := b[i] == '-'
		i++
		oh, ok := num(2)
		if !ok {
			return DateTime{}, false
		}
		sep(':')
		om, ok := num(2)
		if !ok || oh > 23 || om > 59 {
			return DateTime{}, false
		}
		offset = oh*3600 + om*60
		if neg {
			offset = -offset
		}
	default:
		return DateTime{}, false
	}
	if i != len(b) {
		return DateTime{}, false
	}
	zone := time.UTC
	if offset != 0 {
		zone = time.FixedZone("", offset)
	}
	return inEncodableRange(DateTime{Time: time.Date(year, time.Month(month), day, hour, minute, second, nsec, zone), HasZone: true})
}

// inEncodableRange rejects a time whose instant falls outside years
// 0000-9999 in UTC (such as 00000101T00:00:00+01:00): every decoded value
// must re-encode, and the encoder writes the instant in UTC by default.
func inEncodableRange(dt DateTime) (DateTime, bool) {
	if y := dt.Time.UTC().Year(); y < 0 || y > 9999 {
		return DateTime{}, false
	}
	return dt, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// appendDateTime appends t, converted to loc, as YYYYMMDDTHH:MM:SS.
func appendDateTime(dst []byte, t time.Time, loc *time.Location) ([]byte, error) {
	t = t.In(loc)
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return dst, encodeErrorf("dateTime year %d outside 0000-9999", year)
	}
	hour, minute, second := t.Clock()
	dst = append(dst,
		byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10),
		byte('0'+int(month)/10), byte('0'+int(month)%10),
		byte('0'+day/10), byte('0'+day%10), 'T',
		byte('0'+hour/10), byte('0'+hour%10), ':',
		byte('0'+minute/10), byte('0'+minute%10), ':',
		byte('0'+second/10), byte('0'+second%10))
	return dst, nil
}
