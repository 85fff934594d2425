package e2e

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/server"
)

// TestTemplates sends every DUIS request template to `serve --profile
// dccboxed` in-process, as `opendcc send` would (sign with a fresh counter,
// the critical two-step, wait for the asynchronous answer), and checks the
// outcome its name says: SUCCESS — I99 then a signed I0 carrying the
// device's GBCS answer that verifies (device requests), or the synchronous
// I0/I99 (non-device, local delivery). It prints the counts per outcome and
// lists every template that does not get it; mappings OpenDCC does not have
// yet (HTTP 501) are counted and listed apart.
func TestTemplates(t *testing.T) {
	dir := refdata.Path(t, "duis", "templates")
	files, _ := filepath.Glob(filepath.Join(dir, "*.XML"))
	// Device templates first: the non-device ones change the inventory
	// (8.3 decommissions the ESME, 8.14.3 withdraws the hub). Among the
	// device ones, 6.23 Update Security Credentials (CoS) last: it hands
	// the ESME's supplier cells to supplier 2, after which the device
	// refuses supplier 1's critical commands.
	rank := func(f string) int {
		switch {
		case nonDevice(f):
			return 2
		case strings.Contains(filepath.Base(f), "_6.23_"):
			return 1
		}
		return 0
	}
	sort.SliceStable(files, func(i, j int) bool {
		ri, rj := rank(files[i]), rank(files[j])
		if ri != rj {
			return ri < rj
		}
		return files[i] < files[j]
	})
	h := newHarness(t, func(c *server.Config) { c.DeviceDeadline = 5 * time.Second })
	s, c := h.s, h.c
	sec := gbcs.NewSecurity(s.Fleet.KeyStore(), 0) // the DCC's view: device certificates

	counts := map[string]int{}
	var failures, unsupported []string
	for _, f := range files {
		name := filepath.Base(f)
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.Send(context.Background(), doc)
		outcome := describe(res, err)
		counts[outcome]++
		switch {
		case strings.HasPrefix(outcome, "HTTP 501"):
			unsupported = append(unsupported, fmt.Sprintf("%s: %v", name, err))
		case nonDevice(f):
			// Their outcomes depend on the inventory state the templates
			// assume; dcc.TestNonDeviceTemplates checks each against
			// docs/nondevice.md.
			t.Logf("non-device %s: %s", name, outcome)
		case exceptions[name] != "":
			if res == nil || res.Ack == nil || res.Ack.Code != strings.Fields(exceptions[name])[0] {
				failures = append(failures, fmt.Sprintf("%s: %s, documented as %s", name, outcome, exceptions[name]))
			}
		case !expected(name, res, err, sec):
			failures = append(failures, fmt.Sprintf("%s: %s %v", name, outcome, err))
		}
	}
	var keysSorted []string
	for k := range counts {
		keysSorted = append(keysSorted, k)
	}
	sort.Strings(keysSorted)
	t.Logf("templates: %d", len(files))
	for _, k := range keysSorted {
		t.Logf("  %-28s %d", k, counts[k])
	}
	t.Logf("not mapped yet (HTTP 501): %d", len(unsupported))
	for _, u := range unsupported {
		t.Logf("  %s", u)
	}
	for _, f := range failures {
		t.Errorf("unexpected outcome: %s", f)
	}
}

// exceptions are SUCCESS templates whose scenario the dccboxed profile's
// registration data does not give, with the outcome they get and why.
var exceptions = map[string]string{
	// URP: supplier 2 reads the gas prepayment log of a device it is not
	// known to — a change-of-supplier scenario. In the profile, supplier 1
	// is the registered gas supplier (its 52 gas templates need that), so
	// supplier 2 is not eligible for the device: E4.
	"GCS16b_4.14_URP_SUCCESS_REQUEST_DUIS.XML": "E4 (supplier 2 is not the registered gas supplier in the profile)",
}

// describe names the outcome: "I99 → I0", "I0", "E4", "HTTP 501", ...
func describe(res *client.Result, err error) string {
	if err != nil && (res == nil || res.Ack == nil) {
		if s := err.Error(); strings.Contains(s, "HTTP 501") {
			return "HTTP 501"
		}
		return "error"
	}
	if res.Final != nil {
		return res.Ack.Code + " → " + res.Final.Code
	}
	if errors.Is(err, client.ErrTimeout) {
		return res.Ack.Code + " → (no answer)"
	}
	return res.Ack.Code
}

// expected: a SUCCESS template of a device service ends in I0 with a GBCS
// payload that parsed and whose MAC or signature verified; a non-device or
// local-delivery one in I0 or I99.
func expected(name string, res *client.Result, err error, sec *gbcs.Security) bool {
	if err != nil || res == nil || res.Ack == nil {
		return false
	}
	o := res.Outcome()
	if o.Code != "I0" && o.Code != "I99" {
		return false
	}
	if res.Final == nil {
		return true // synchronous: non-device or local delivery
	}
	m := payloadRE.FindSubmatch(o.Raw)
	if m == nil {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(string(m[1]))
	if err != nil {
		return false
	}
	g, err := gbcs.Parse(raw)
	if err != nil || g.Kind() != gbcs.KindResponse {
		return false
	}
	if g.MACHeader {
		return sec.VerifyMAC(g) == nil
	}
	return sec.VerifySignature(g) == nil
}

var payloadRE = regexp.MustCompile(`<sr:GBCSPayload>([^<]*)<`)

// quietLog discards the server's log unless OPENDCC_TEST_LOG is set.
func quietLog() *slog.Logger {
	if v := os.Getenv("OPENDCC_TEST_LOG"); v != "" {
		opts := &slog.HandlerOptions{}
		if v == "debug" {
			opts.Level = slog.LevelDebug
		}
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// nonDevice: the template names a non-device SRV (its name starts with it).
func nonDevice(path string) bool {
	name := filepath.Base(path)
	return name[0] >= '0' && name[0] <= '9'
}
