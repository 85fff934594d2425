package correlate

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/internal/refdata"
)

// rtdsPair is a critical DUIS request template with the RTDS Pre-Command of
// the same scenario.
type rtdsPair struct {
	srv, stem    string
	request, hex string // file paths
}

// criticalPairs finds every critical request template and its RTDS
// Pre-Command (RTDS-4.5.0/<srv>_<usecase>/<stem>_PRECOMMAND_GBCS.HEX); the
// second result lists the templates without one.
func criticalPairs(t testing.TB) (pairs []rtdsPair, unmatched []string) {
	dir := refdata.Dir(t)
	tmpl, _ := filepath.Glob(filepath.Join(dir, "duis", "templates", "*_REQUEST_DUIS.XML"))
	for _, f := range tmpl {
		stem := strings.TrimSuffix(filepath.Base(f), "_REQUEST_DUIS.XML")
		parts := strings.SplitN(stem, "_", 3)
		if len(parts) < 2 {
			continue
		}
		srv, ok := duis.LookupSRV(parts[1])
		if !ok || !srv.Critical {
			continue
		}
		hex, _ := filepath.Glob(filepath.Join(dir, "gbcs", "rtds", "RTDS-4.5.0", srv.Variant+"_*", stem+"_PRECOMMAND_GBCS.HEX"))
		if len(hex) != 1 {
			unmatched = append(unmatched, stem)
			continue
		}
		pairs = append(pairs, rtdsPair{srv: srv.Variant, stem: stem, request: f, hex: hex[0]})
	}
	return pairs, unmatched
}

func readPair(t testing.TB, p rtdsPair) ([]byte, []byte) {
	t.Helper()
	req, err := os.ReadFile(p.request)
	if err != nil {
		t.Fatal(err)
	}
	h, err := os.ReadFile(p.hex)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := DecodePreCommand(h)
	if err != nil {
		t.Fatal(err)
	}
	return req, pc
}

// TestRTDSPairs: every critical template with an RTDS Pre-Command correlates.
func TestRTDSPairs(t *testing.T) {
	pairs, unmatched := criticalPairs(t)
	count := map[string]int{}
	known := 0
	for _, p := range pairs {
		req, pc := readPair(t, p)
		r, err := Check(req, pc)
		if err != nil {
			t.Errorf("%s: %v", p.stem, err)
			continue
		}
		if os.Getenv("CORRELATE_VERBOSE") != "" {
			t.Logf("%s\n%s", p.stem, r)
		}
		if !r.OK() {
			if k := knownReferenceDifferences(p, r); k != "" {
				t.Logf("%s: reference data differs as documented (%s)", p.stem, k)
				known++
			} else {
				t.Errorf("%s: %d differences:\n%s", p.stem, len(r.Differences), r)
				continue
			}
		}
		count[p.srv]++
	}
	var srvs []string
	for s := range count {
		srvs = append(srvs, s)
	}
	sort.Strings(srvs)
	var b strings.Builder
	total := 0
	for _, s := range srvs {
		b.WriteString(" " + s + ":" + itoa(count[s]))
		total += count[s]
	}
	t.Logf("pairs checked: %d of %d (OK: %d, documented certificate differences: %d); per SRV:%s", total, len(pairs), total-known, known, b.String())
	t.Logf("critical templates without an RTDS Pre-Command: %d %v", len(unmatched), unmatched)
	if len(pairs) == 0 {
		t.Fatal("no pairs found")
	}
}

// knownReferenceDifferences accepts the one known inconsistency of the
// reference data: the RTDS 4.5.0 CS02b/CS02g Pre-Commands carry other
// certificate instances than the (re-issued, 2025) certificates of the DUIS
// templates — CS02b the same key and subject under a new serial, CS02g the
// supplier's certificates where the template asks for the load
// controller's. Those differences are real and Check must report them; any
// other difference fails the test.
func knownReferenceDifferences(p rtdsPair, r *Report) string {
	if p.srv != "6.15.1" {
		return ""
	}
	for _, d := range r.Differences {
		if !strings.HasPrefix(d.Field, "ReplacementCertificates/") {
			return ""
		}
	}
	return fmt.Sprintf("%d certificate field(s) differ", len(r.Differences))
}

func itoa(i int) string {
	return strings.TrimSpace(strings.Repeat(" ", 0) + func() string {
		b := []byte{}
		if i == 0 {
			return "0"
		}
		for i > 0 {
			b = append([]byte{byte('0' + i%10)}, b...)
			i /= 10
		}
		return string(b)
	}())
}
