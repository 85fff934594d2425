package dlms

import (
	"fmt"
	"strings"
)

// DateTimeString renders a 12-byte COSEM date-time: year (2), month, day,
// weekday, hour, minute, second, hundredths, deviation (2, minutes, signed),
// clock status. Unspecified fields (0xFF, year 0xFFFF) print as '*';
// the GBCS activation patterns print as "now" (all zero, deviation 0x8000,
// status 0xFF) and "never" (all 0xFF, deviation 0x8000, status 0xFF).
func DateTimeString(b []byte) string {
	if len(b) != 12 {
		return ""
	}
	if allBytes(b[:9], 0x00) && b[9] == 0x80 && b[10] == 0x00 && b[11] == 0xff {
		return "now"
	}
	if allBytes(b[:9], 0xff) && b[9] == 0x80 && b[10] == 0x00 && b[11] == 0xff {
		return "never"
	}
	var sb strings.Builder
	sb.WriteString(dateString(b[:5]))
	sb.WriteByte(' ')
	sb.WriteString(timeString(b[5:9]))
	dev := uint16(b[9])<<8 | uint16(b[10])
	if dev != 0x8000 {
		fmt.Fprintf(&sb, " dev %+d", int16(dev))
	}
	if b[11] != 0xff {
		fmt.Fprintf(&sb, " status 0x%02x", b[11])
	}
	return sb.String()
}

// dateString renders a 5-byte COSEM date.
func dateString(b []byte) string {
	if len(b) != 5 {
		return ""
	}
	var sb strings.Builder
	year := uint16(b[0])<<8 | uint16(b[1])
	if year == 0xffff {
		sb.WriteString("****")
	} else {
		fmt.Fprintf(&sb, "%04d", year)
	}
	sb.WriteByte('-')
	sb.WriteString(special(b[2], map[byte]string{0xfd: "DST-end", 0xfe: "DST-begin"}))
	sb.WriteByte('-')
	sb.WriteString(special(b[3], map[byte]string{0xfd: "2nd-last", 0xfe: "last"}))
	if b[4] != 0xff {
		fmt.Fprintf(&sb, " wd%d", b[4])
	}
	return sb.String()
}

// timeString renders a 4-byte COSEM time.
func timeString(b []byte) string {
	if len(b) != 4 {
		return ""
	}
	s := special(b[0], nil) + ":" + special(b[1], nil) + ":" + special(b[2], nil)
	if b[3] != 0xff && b[3] != 0 {
		s += "." + special(b[3], nil)
	}
	return s
}

func special(v byte, names map[byte]string) string {
	if v == 0xff {
		return "**"
	}
	if s, ok := names[v]; ok {
		return s
	}
	return fmt.Sprintf("%02d", v)
}

func allBytes(b []byte, v byte) bool {
	for _, c := range b {
		if c != v {
			return false
		}
	}
	return true
}

// plausibleDateTime reports whether 12 octets look like a COSEM date-time,
// to label octet-strings that carry one (display only).
func plausibleDateTime(b []byte) bool {
	if DateTimeString(b) == "now" || DateTimeString(b) == "never" {
		return true
	}
	okRange := func(v, lo, hi byte, extra ...byte) bool {
		if v == 0xff || (v >= lo && v <= hi) {
			return true
		}
		for _, e := range extra {
			if v == e {
				return true
			}
		}
		return false
	}
	dev := uint16(b[9])<<8 | uint16(b[10])
	return okRange(b[2], 1, 12, 0xfd, 0xfe) && okRange(b[3], 1, 31, 0xfd, 0xfe) &&
		okRange(b[4], 1, 7) && okRange(b[5], 0, 23) && okRange(b[6], 0, 59) &&
		okRange(b[7], 0, 59) && okRange(b[8], 0, 99) &&
		(dev == 0x8000 || int16(dev) >= -720 && int16(dev) <= 840)
}
