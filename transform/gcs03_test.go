package transform

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// TestGCS03PaymentControl: 1.6 to prepayment on a GSME is GCS03. Its
// Proposed Payment Control Configuration is the annex's value for the two
// suspend-debt flags, and its Cut Off Value the DisablementThreshold, both
// little-endian ZCL. The annex's table, by SuspendDebtEmergency and
// SuspendDebtDisabled.
func TestGCS03PaymentControl(t *testing.T) {
	for _, tc := range []struct {
		emergency, disabled string
		want                uint16
	}{
		{"true", "true", 0b0000010010010111},
		{"true", "false", 0b0000000010010111},
		{"false", "true", 0b0000110010010111},
		{"0", "0", 0b0000100010010111},
	} {
		body := fmt.Sprintf("<sr:UpdatePaymentMode><sr:Prepayment><sr:SuspendDebtDisabled>%s</sr:SuspendDebtDisabled><sr:SuspendDebtEmergency>%s</sr:SuspendDebtEmergency><sr:DisablementThreshold>-1500</sr:DisablementThreshold></sr:Prepayment></sr:UpdatePaymentMode>", tc.disabled, tc.emergency)
		req := request(t, "1", "1.6", "1.6", body)
		m, err := Build(req, DeviceInfo{Type: GSME}, Options{Now: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		if m.MessageCode != 0x006D { // GCS03
			t.Fatalf("message code %#04x", m.MessageCode)
		}
		// ... Implementation Date/Time (0: now), configuration, cut-off value: the payload's end
		tail := append(append(le32(0), le16(tc.want)...), le32(uint32(0xFFFFFFFF-1500+1))...)
		if !bytes.HasSuffix(m.Content, tail) {
			t.Errorf("emergency %s, disabled %s: content % X, want it to end % X", tc.emergency, tc.disabled, m.Content, tail)
		}
	}
}
