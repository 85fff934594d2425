package e2e

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/xmldsig"
)

// fuzzSigner signs fuzzed requests whose RequestID names no originator
// with a key: the dccboxed profile's test supplier.
var fuzzSigner = eui.MustParse("90-B3-D5-1F-30-01-00-00")

// FuzzServiceRequest posts whatever the fuzzer makes of the DCC Boxed
// templates to a running `serve --profile dccboxed`, to any of the three
// DUIS endpoints, signed with the originator's registered key (after a
// fresh counter, so that the checks past anti-replay run too) or as it is.
// Whatever it is sent, the DCC must answer with a DUIS response that
// verifies against its own certificate (an I-code, or an E-code for a
// rejection) or, for a request it cannot map, HTTP 501 (nothing recorded);
// never an internal error (HTTP 500), never a dropped connection (a
// handler panic), and it must keep serving. Seeds: every template, signed,
// on the endpoint its command variant needs, and a few unsigned.
func FuzzServiceRequest(f *testing.F) {
	dir := refdata.Path(f, "duis", "templates")
	names, err := filepath.Glob(filepath.Join(dir, "*.XML"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no templates in %s: %v", dir, err)
	}
	for i, n := range names {
		doc, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		ep := uint8(0) // serviceS
		switch {
		case nonDevice(n):
			ep = 2
		case bytes.Contains(doc, []byte("<sr:CommandVariant>4<")):
			ep = 1
		}
		f.Add(doc, ep, true)
		if i%40 == 0 {
			f.Add(doc, ep, false)
		}
	}
	sink := newReceiver(f)
	s := startDCCBoxed(f, sink.URL())
	k := loadKeys(f)
	verify := xmldsig.VerifyOptions{Certificates: k.store, Allowance: 5 * 365 * 24 * time.Hour}
	paths := []string{"/api/v1/serviceS", "/api/v1/serviceT", "/api/v1/serviceD"}
	var counters counterClock
	hc := &http.Client{Timeout: 20 * time.Second}
	f.Fuzz(func(t *testing.T, doc []byte, ep uint8, sign bool) {
		if sign {
			signer := fuzzSigner
			if id, err := duis.ParseRequestID(requestIDOf(doc)); err == nil {
				signer = id.Originator
				id.Counter = counters.next()
				doc = replaceElement(doc, "RequestID", id.Canonical())
			}
			if key, cert, err := k.store.XMLSigningKey(signer); err == nil {
				if signed, err := xmldsig.Sign(doc, key, cert); err == nil {
					doc = signed
				}
			}
		}
		path := paths[int(ep)%len(paths)]
		resp, err := hc.Post(strings.TrimRight(s.DUISURL, "/")+path, "application/xml", bytes.NewReader(doc))
		if err != nil {
			t.Fatalf("POST %s: %v (the connection failed: a handler panic?)", path, err)
		}
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("POST %s: reading the answer: %v", path, err)
		}
		switch resp.StatusCode {
		case http.StatusOK:
			r, err := client.ParseResponse(answer, verify, nil)
			if err != nil {
				t.Fatalf("POST %s: HTTP 200 but not a verified DUIS response: %v\n%.400s", path, err, answer)
			}
			if r.Code == "" {
				t.Fatalf("POST %s: a DUIS response without a ResponseCode: %.400s", path, answer)
			}
		case http.StatusNotImplemented, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("POST %s: HTTP %d: %.300s", path, resp.StatusCode, answer)
		}
	})
}
