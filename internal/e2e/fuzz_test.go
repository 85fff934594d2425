package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/client"
	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/gbcs"
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
	e := newFuzzEnv(f)
	for i, tpl := range e.templates {
		f.Add(tpl.doc, tpl.ep, true)
		if i%40 == 0 {
			f.Add(tpl.doc, tpl.ep, false)
		}
	}
	e.start(f)
	f.Fuzz(func(t *testing.T, doc []byte, ep uint8, sign bool) {
		if sign {
			doc = e.sign(doc)
		}
		e.post(t, doc, ep)
	})
}

// FuzzServiceRequestFields keeps the request well-formed and signed and
// fuzzes one value: the text of one element of a template's Body (its
// fields in document order, the index taken modulo their number), escaped
// as XML text. The schema, the access checks and the GBCS builders then
// meet values the templates never carry (numbers out of range, odd dates,
// empty strings, long ones) on every service. The invariants are
// FuzzServiceRequest's. Seeds: every template with edge values in turn.
func FuzzServiceRequestFields(f *testing.F) {
	e := newFuzzEnv(f)
	values := []string{"", "0", "-1", "4294967296", "99999999999999999999999", "2026-02-30T25:61:00Z", "3000-12-31T00:00:00Z", "ZZ", "\u00ff\u00fe", strings.Repeat("9", 300)}
	for i := range e.templates {
		f.Add(uint16(i), uint8(i), values[i%len(values)])
	}
	e.start(f)
	f.Fuzz(func(t *testing.T, tpl uint16, field uint8, value string) {
		doc := e.templates[int(tpl)%len(e.templates)].doc
		body := bodyRE.FindIndex(doc)
		if body == nil {
			t.Skip("no sr:Body")
		}
		leaves := leafRE.FindAllSubmatchIndex(doc[body[0]:body[1]], -1)
		if len(leaves) == 0 {
			t.Skip("no leaf element in the Body")
		}
		m := leaves[int(field)%len(leaves)]
		var text bytes.Buffer
		xml.EscapeText(&text, []byte(value))
		at, end := body[0]+m[2], body[0]+m[3] // the leaf's text
		edited := append(append(append([]byte{}, doc[:at]...), text.Bytes()...), doc[end:]...)
		e.post(t, e.sign(edited), e.templates[int(tpl)%len(e.templates)].ep)
	})
}

// leafRE is an element holding only text; group 1 is the text. (bodyRE
// is the schedules tests'.)
var leafRE = regexp.MustCompile(`<sr:\w+>([^<]*)</sr:\w+>`)

// fuzzEnv is the fuzz targets' server, keys and templates.
type fuzzEnv struct {
	templates []fuzzTemplate
	keys      *keys
	url       string
	verify    xmldsig.VerifyOptions
	hc        *http.Client
	counters  counterClock

	sec     *gbcs.Security // checks the devices' answers as `opendcc gbcs parse` does
	mu      sync.Mutex
	finals  map[string][]byte // canonical RequestID → the first document delivered for it
	arrived *sync.Cond
}

// final waits up to d for the first document delivered for rid.
func (e *fuzzEnv) final(rid string, d time.Duration) []byte {
	id, err := duis.ParseRequestID(rid)
	if err != nil {
		return nil
	}
	timer := time.AfterFunc(d, func() {
		e.mu.Lock()
		e.arrived.Broadcast()
		e.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(d)
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		if b, ok := e.finals[id.Canonical()]; ok {
			delete(e.finals, id.Canonical())
			return b
		}
		if time.Now().After(deadline) {
			return nil
		}
		e.arrived.Wait()
	}
}

type fuzzTemplate struct {
	name string
	doc  []byte
	ep   uint8 // index into fuzzPaths: the endpoint its command variant needs
}

var (
	fuzzPaths        = []string{"/api/v1/serviceS", "/api/v1/serviceT", "/api/v1/serviceD"}
	commandVariantRE = regexp.MustCompile(`<sr:CommandVariant>(\d+)<`)
)

// stateChanging names the templates left out of the fuzz corpus: run in
// a random order they would decommission the profile's devices (8.3),
// withdraw its hub (8.14.x), change their details (8.4) or hand their
// security credentials to another party (6.21, 6.23), and most requests
// after them would stop at E5 or at the device instead of going through
// the checks and the builders. Their own tests cover them.
var stateChanging = regexp.MustCompile(`^8\.3_|^8\.4_|^8\.14\.|_6\.2[13]_`)

// newFuzzEnv reads the templates (before f.Add: the seeds come from them).
func newFuzzEnv(f testing.TB) *fuzzEnv {
	dir := refdata.Path(f, "duis", "templates")
	names, err := filepath.Glob(filepath.Join(dir, "*.XML"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no templates in %s: %v", dir, err)
	}
	e := &fuzzEnv{hc: &http.Client{Timeout: 20 * time.Second}}
	for _, n := range names {
		if stateChanging.MatchString(filepath.Base(n)) {
			continue
		}
		doc, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		var ep uint8 // the endpoint client.Endpoint gives its command variant
		if m := commandVariantRE.FindSubmatch(doc); m != nil {
			cv, _ := strconv.Atoi(string(m[1]))
			if path, err := client.Endpoint(cv); err == nil {
				ep = uint8(slices.Index(fuzzPaths, path))
			}
		}
		e.templates = append(e.templates, fuzzTemplate{filepath.Base(n), doc, ep})
	}
	return e
}

// start runs the server (once per fuzzing process).
func (e *fuzzEnv) start(f testing.TB) {
	e.finals = map[string][]byte{}
	e.arrived = sync.NewCond(&e.mu)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if id, err := duis.ParseRequestID(requestIDOf(b)); err == nil {
			e.mu.Lock()
			if _, seen := e.finals[id.Canonical()]; !seen {
				e.finals[id.Canonical()] = b
			}
			e.arrived.Broadcast()
			e.mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	f.Cleanup(sink.Close)
	srv := startDCCBoxed(f, sink.URL+"/duis/response")
	e.url = strings.TrimRight(srv.DUISURL, "/")
	e.sec = gbcs.NewSecurity(srv.Fleet.KeyStore(), 0) // the DCC's view: the devices' certificates
	e.keys = loadKeys(f)
	e.verify = xmldsig.VerifyOptions{Certificates: e.keys.store, Allowance: 5 * 365 * 24 * time.Hour}
}

// sign gives doc a fresh counter and the signature of its originator (of
// fuzzSigner when its RequestID does not parse); doc is returned as it is
// when it cannot be signed.
func (e *fuzzEnv) sign(doc []byte) []byte {
	signer := fuzzSigner
	if id, err := duis.ParseRequestID(requestIDOf(doc)); err == nil {
		signer = id.Originator
		id.Counter = e.counters.next()
		doc = replaceElement(doc, "RequestID", id.Canonical())
	}
	if key, cert, err := e.keys.store.XMLSigningKey(signer); err == nil {
		if signed, err := xmldsig.Sign(doc, key, cert); err == nil {
			return signed
		}
	}
	return doc
}

// post sends doc to endpoint ep, checks the answer and returns its code
// ("HTTP 501" for a request OpenDCC cannot map).
func (e *fuzzEnv) post(t *testing.T, doc []byte, ep uint8) string {
	path := fuzzPaths[int(ep)%len(fuzzPaths)]
	resp, err := e.hc.Post(e.url+path, "application/xml", bytes.NewReader(doc))
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
		r, err := client.ParseResponse(answer, e.verify, nil)
		if err != nil {
			t.Fatalf("POST %s: HTTP 200 but not a verified DUIS response: %v\n%.400s", path, err, answer)
		}
		if r.Code == "" {
			t.Fatalf("POST %s: a DUIS response without a ResponseCode: %.400s", path, answer)
		}
		// Nothing accepted is lost: an I99 for a device (serviceS) gets its
		// final outcome, signed, within the device deadline (5 s), unless it
		// is held to a future execution time. (The I99s of serviceD, 11.1 and
		// 11.4, are answered by the devices' alerts instead.)
		if r.Code == "I99" && path == fuzzPaths[0] && !bytes.Contains(doc, []byte("ExecutionDateTime>")) {
			rid := requestIDOf(doc)
			fin := e.final(rid, 15*time.Second)
			if fin == nil {
				t.Fatalf("POST %s: I99 for %s and no final outcome in 15 s\nrequest: %.2000s", path, rid, doc)
			}
			fr, err := client.ParseResponse(fin, e.verify, nil)
			if err != nil || fr.Code == "" {
				t.Fatalf("final outcome of %s: not a verified DUIS response (%v): %.400s", rid, err, fin)
			}
			// The device's answer in an I0 verifies and decodes, as
			// `opendcc gbcs parse` reads it (acceptance 1 of #6).
			if m := payloadRE.FindSubmatch(fin); fr.Code == "I0" && m != nil {
				raw, err := base64.StdEncoding.DecodeString(string(m[1]))
				if err != nil {
					t.Fatalf("final I0 of %s: GBCSPayload: %v", rid, err)
				}
				g := client.DecodeGBCS(raw, e.sec)
				if !g.OK || (g.MAC != "valid" && g.Signature != "valid") {
					t.Errorf("final I0 of %s: the device's answer does not verify and decode (MAC %s, signature %s): %s\nrequest: %.2000s", rid, g.MAC, g.Signature, g.Error, doc)
				}
			}
			return "I99 → " + fr.Code
		}
		return r.Code
	case http.StatusNotImplemented, http.StatusRequestEntityTooLarge:
	default:
		t.Fatalf("POST %s: HTTP %d: %.300s\nrequest: %.2000s", path, resp.StatusCode, answer, doc)
	}
	return fmt.Sprintf("HTTP %d", resp.StatusCode)
}

// edgeValues are the values TestSchemaValidEdgeValues tries in each leaf
// of a template's Body: bounds of the usual integer types, zero and one,
// far and near dates and times, both booleans, a short string. Only those
// the schema accepts in that place are sent.
var edgeValues = []string{
	"0", "1", "-1", "127", "255", "256", "32767", "65535", "2147483647", "4294967295",
	"9223372036854775807", "18446744073709551615", "-2147483648", "0.5",
	"2000-01-01T00:00:00Z", "2099-12-31T23:59:59Z", "2000-01-01", "2099-12-31", "00:00:00", "23:59:59",
	"true", "false", "A",
}

// TestSchemaValidEdgeValues sends every device template (the fuzz corpus:
// those that leave the profile's inventory as it is) with one Body value
// replaced by a value the schema accepts there and the templates do not
// carry, signed and on the endpoint its command variant needs:
//   - edge values (edgeValues), the first that fits in each leaf, for up to
//     4 leaves a template;
//   - every other member of the enumeration a leaf's value belongs to
//     (the enumerations of the DUIS schema), each (use case, element,
//     value) once.
//
// A hidden template may carry any of them. The DCC must answer each with a
// verified DUIS response or 501, and an I99 with its final outcome
// (fuzzEnv.post), which must not be E21. The answers other than I0 are
// logged with their counts.
func TestSchemaValidEdgeValues(t *testing.T) {
	xsdDoc, err := os.ReadFile(refdata.Path(t, "duis", "schema", "DUIS Schema V5.4.xsd"))
	if err != nil {
		t.Fatal(err)
	}
	enumOf := map[string][]string{} // member → the members of its enumerations
	for _, r := range enumRestrictionRE.FindAllSubmatch(xsdDoc, -1) {
		var members []string
		for _, m := range enumValueRE.FindAllSubmatch(r[1], -1) {
			members = append(members, string(m[1]))
		}
		for _, m := range members {
			enumOf[m] = append(enumOf[m], members...)
		}
	}
	e := newFuzzEnv(t)
	e.start(t)
	codes := map[string]int{}
	sent := 0
	seen := map[string]bool{}
	try := func(tpl fuzzTemplate, body []int, m []int, v string) bool {
		at, end := body[0]+m[2], body[0]+m[3]
		if v == string(tpl.doc[at:end]) {
			return false
		}
		edited := append(append(append([]byte{}, tpl.doc[:at]...), v...), tpl.doc[end:]...)
		if duis.Validate(edited) != nil {
			return false
		}
		code := e.post(t, e.sign(edited), tpl.ep)
		codes[code]++
		sent++
		switch code {
		case "I0", "I99 → I0":
		case "I99 → E21":
			// The simulated devices answer every command they can read: a
			// time-out means the DCC sent one they could not (e.g. URP
			// credentials that are no certificate).
			t.Errorf("%s, %s = %q: %s", tpl.name, leafName(tpl.doc[body[0]+m[0]:]), v, code)
		default:
			t.Logf("%s, %s = %q: %s", tpl.name, leafName(tpl.doc[body[0]+m[0]:]), v, code)
		}
		return true
	}
	for _, tpl := range e.templates {
		body := bodyRE.FindIndex(tpl.doc)
		if body == nil || nonDevice(tpl.name) {
			continue // non-device: their own tests
		}
		useCase, _, _ := strings.Cut(tpl.name, "_") // the GBCS use case the template is for
		leaves := leafRE.FindAllSubmatchIndex(tpl.doc[body[0]:body[1]], -1)
		n := 0
		for _, m := range leaves {
			cur := string(tpl.doc[body[0]+m[2] : body[0]+m[3]])
			if n < 4 && cur != "" {
				for _, v := range edgeValues {
					if try(tpl, body, m, v) {
						n++
						break // one value per leaf
					}
				}
			}
			for _, v := range enumOf[cur] {
				key := useCase + " " + leafName(tpl.doc[body[0]+m[0]:]) + " " + v
				if !seen[key] && try(tpl, body, m, v) {
					seen[key] = true
				}
			}
		}
	}
	if sent == 0 {
		t.Fatal("no schema-valid value was found")
	}
	t.Logf("schema-valid values sent: %d; answers: %v", sent, codes)
}

var (
	enumRestrictionRE = regexp.MustCompile(`(?s)<xs:restriction[^>]*>((?:\s*<xs:enumeration[^>]*/>|\s*<!--.*?-->)+)`)
	enumValueRE       = regexp.MustCompile(`<xs:enumeration value="([^"]*)"`)
)

// leafName is the local name of the element doc starts with.
func leafName(doc []byte) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(string(doc[:min(len(doc), 80)]), "<sr:"), ">")
	return name
}
