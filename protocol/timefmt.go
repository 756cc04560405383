package protocol

import (
	"fmt"
	"time"
)

// The time formats of the spec, as Go layouts.
const (
	// TimeLayout is yyyyMMddHHmmss, in UTC: expireTime and most times (§3).
	TimeLayout = "20060102150405"
	// MilliLayout is yyyyMMddHHmmssSSS: statisticalTime (UTC) and the kit
	// timeStamp (in Profile.KitTimeZone).
	MilliLayout = "20060102150405.000"
)

// FormatTime formats t as yyyyMMddHHmmss in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime parses yyyyMMddHHmmss as UTC.
func ParseTime(s string) (time.Time, error) {
	if len(s) != len(TimeLayout) {
		return time.Time{}, fmt.Errorf("time %q: want yyyyMMddHHmmss", s)
	}
	t, err := time.ParseInLocation(TimeLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want yyyyMMddHHmmss", s)
	}
	return t, nil
}

// FormatMilli formats t as yyyyMMddHHmmssSSS in loc.
func FormatMilli(t time.Time, loc *time.Location) string {
	s := t.In(loc).Format(MilliLayout)
	return s[:14] + s[15:] // drop the dot Go needs to format milliseconds
}

// ParseMilli parses yyyyMMddHHmmssSSS in loc.
func ParseMilli(s string, loc *time.Location) (time.Time, error) {
	if len(s) != 17 {
		return time.Time{}, fmt.Errorf("time %q: want yyyyMMddHHmmssSSS", s)
	}
	t, err := time.ParseInLocation(MilliLayout, s[:14]+"."+s[14:], loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: want yyyyMMddHHmmssSSS", s)
	}
	return t, nil
}
