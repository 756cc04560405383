package sellerapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/souk-market/souk"
	"github.com/souk-market/souk/protocol"
	"github.com/souk-market/souk/sellerkit"
	"github.com/souk-market/souk/usage"
)

// ParseUsage reads the body of a usage push,
// {"usage_records":[{instance_id, begin_time, end_time, usage_value, metering_sn, record_time?}, …]},
// into records, or returns EINVALID naming what is wrong (the first record
// at fault by its index and metering_sn). Unknown members are ignored.
// Times are yyyyMMdd'T'HHmmss'Z' (KooGallery's form) or yyyyMMddHHmmss,
// UTC; usage_value is a decimal string or number read exactly
// (usage.ParseQuantity). It never panics on any input.
func ParseUsage(body []byte) ([]usage.Record, error) {
	var push sellerkit.UsagePush
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&push); err != nil {
		var typ *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.EOF):
			return nil, souk.Errorf(souk.EINVALID, "The request body is empty: send {\"usage_records\": [...]}.")
		case errors.As(err, &typ):
			return nil, souk.Errorf(souk.EINVALID, "%s: want a JSON %s.", typ.Field, typ.Type.Kind())
		default:
			return nil, souk.Errorf(souk.EINVALID, "The request body is not valid JSON {\"usage_records\": [...]}: %v.", err)
		}
	}
	if dec.More() {
		return nil, souk.Errorf(souk.EINVALID, "The request body has more than one JSON value.")
	}
	switch n := len(push.UsageRecords); {
	case n == 0:
		return nil, souk.Errorf(souk.EINVALID, "usage_records: at least one record is required.")
	case n > usage.MaxRecords:
		return nil, souk.Errorf(souk.EINVALID, "usage_records: %d records, at most %d a push.", n, usage.MaxRecords)
	}
	recs := make([]usage.Record, len(push.UsageRecords))
	for i, w := range push.UsageRecords {
		bad := func(field string, err error) error {
			return souk.Errorf(souk.EINVALID, "usage_records[%d] (metering_sn %.64q): %s: %v. The batch was refused; nothing was stored.", i, w.MeteringSN, field, err)
		}
		r := usage.Record{InstanceID: w.InstanceID, MeteringSN: w.MeteringSN}
		var err error
		if r.Quantity, err = usage.ParseQuantity(string(w.UsageValue)); err != nil {
			return nil, bad("usage_value", err)
		}
		if r.Begin, err = parseUsageTime(w.BeginTime); err != nil {
			return nil, bad("begin_time", err)
		}
		if r.End, err = parseUsageTime(w.EndTime); err != nil {
			return nil, bad("end_time", err)
		}
		if w.RecordTime != "" {
			if r.Recorded, err = parseUsageTime(w.RecordTime); err != nil {
				return nil, bad("record_time", err)
			}
		}
		recs[i] = r
	}
	return recs, nil
}

func parseUsageTime(s string) (time.Time, error) {
	switch len(s) {
	case 0:
		return time.Time{}, errors.New("is required")
	case len(sellerkit.UsageTimeLayout):
		if t, err := time.ParseInLocation(sellerkit.UsageTimeLayout, s, time.UTC); err == nil {
			return t, nil
		}
	case len(protocol.TimeLayout):
		if t, err := protocol.ParseTime(s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%.30q: want yyyyMMdd'T'HHmmss'Z' (UTC)", s)
}
