package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs"
)

// TestNewestBuildableVariant: where the inventory does not record a
// device's GBCS version variants, the DCC sends the newest variant it has a
// mapping for. 4.18 Read Meter Balance on a GSME or its GPF has GCS60 and
// the newer GCS60a, which OpenDCC cannot build: it sends GCS60 (it used to
// answer HTTP 501), and the device's answer verifies.
func TestNewestBuildableVariant(t *testing.T) {
	h := newHarness(t, nil)
	sec := gbcs.NewSecurity(h.s.Fleet.KeyStore(), 0)
	for _, target := range []string{"00-DB-12-34-56-78-90-A1", "00-DB-12-34-56-78-90-A3"} { // the GSME, its GPF
		doc := strings.ReplaceAll(string(h.template("ECS82_4.18_SUCCESS_REQUEST_DUIS.XML")), "00-DB-12-34-56-78-90-A0:", target+":")
		res, err := h.c.Send(context.Background(), []byte(doc))
		if !expected("4.18 to "+target, res, err, sec) {
			t.Errorf("4.18 Read Meter Balance to %s: %s %v", target, describe(res, err), err)
		}
	}
}
