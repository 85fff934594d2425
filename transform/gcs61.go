package transform

import "time"

// 4.17 Read Daily Consumption Log on the GPF (GCS61, annex template of
// 0x00A0: Get Sampled Data, SampleID 1 = Daily Consumption Log, SampleType
// 0). The annex's mapping table gives the two variable fields:
// EarliestSampleTime = fromDateTime (ReadLogPeriod start) and
// NumberOfSamples = (toDateTime − fromDateTime) / (1 day). A partial day
// counts as one (so the samples cover the whole period), and the count is
// kept in the annex range 1–731 (the log holds 731 days).
//
// The RTDS SUCCESS command contradicts this rule (2014-12-22 and 731 for a
// request of 2014-12-10 … 2014-12-20, i.e. 10 samples): the annex wins and
// TestRTDS counts the pair as structural.
func init() {
	gbzFields["GCS61"] = map[string]gbzResolver{
		"EarliestSampleTime (UTCTime)": pathField((*ctx).utcAt, "ReadLogPeriod/StartDateTime"),
		"NumberOfSamples (UINT16)": func(c *ctx, f gbzField) ([]byte, error) {
			ts, te, err := c.readLogPeriod()
			if err != nil {
				return nil, err
			}
			return le16(dailySamples(te.Sub(ts))), nil
		},
	}
}

// dailySamples is the number of daily log entries a period asks for: whole
// days, a partial day rounded up, 1..731.
func dailySamples(d time.Duration) uint16 {
	const day = 24 * time.Hour
	n := (d + day - 1) / day
	switch {
	case n < 1:
		return 1
	case n > 731:
		return 731
	}
	return uint16(n)
}
