package interop

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestJavaToolValidateMatchesCLI runs every sample through the oracle and
// through the real CLI (`Validate - [CERT] < sample`, one JVM each) and
// requires the same exit code, stderr and stdout. The expected codes are
// pinned too, because they are what other packages' tests rely on; they are
// those of tool.jar 0.1.2, which bundles the DUIS 5.1 schema (hence the
// schema failures of the 5.3/5.4 samples and the unknown 2025 DSP serial).
func TestJavaToolValidateMatchesCLI(t *testing.T) {
	tests := []struct {
		sample, cert string
		rc           int
	}{
		{"readfw-response.xml", "", RCOK},
		{"readfw-response-badsignature.xml", "", RCInvalid},
		{"readfw-response-invalid.xml", "", RCInvalid},      // cvc-enumeration-valid
		{"readfw-response-no-serial.xml", "", RCMissingKey}, // "could not locate certificate for: unknown"
		{"readfw-response-nonexist-serial.xml", "", RCMissingKey},
		{"readfw-response-nonexist-serial.xml", "Z1-accessControlBroker-ds.pem", RCOK}, // KeyInfo is not signed
		{"readfw-response-no-signature.xml", "", RCOK},                                 // unsigned Response accepted
		{"readfw-response-resigned.xml", "", RCMissingKey},                             // 0F4889EF… not in the 0.1.2 library
		{"readfw-response-resigned.xml", "Z1-accessControlBroker-dSPXmlSign.pem", RCOK},
		{"read-inventory-response-4g.xml", "", RCInvalid},  // 5.1 schema: "4G Central"
		{"read-inventory-response-5.4.xml", "", RCInvalid}, // idem
		{"acknowledgement-error.xml", "", RCOK},
		{"message.xml", "", RCMissingKey}, // signed with Z1-ACB-ds, not in the library
		{"message2.xml", "", RCOK},
		{"duis-xxe.xml", "", RCError},                                   // DOCTYPE refused; the tool calls System.exit(2)
		{"ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML", "", RCInvalid}, // unsigned Request
		{"ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML", "", RCInvalid},
		{"ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-nonexist-businessid.XML", "", RCInvalid},
		{"ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-signed.XML", "", RCMissingKey}, // placeholder serial 1234567890
		{"ECS50_9.1_SUCCESS_REQUEST_DUIS.XML", "", RCMissingKey},
		{"ECS52_11.2_SUCCESS_RESPONSE_DUIS.XML", "", RCMissingKey},
	}
	cliTool := newToolCLI(t)
	j := NewJavaTool(t)
	// Items are "sample-path|cert-path", resolved here in the test goroutine.
	var items []string
	for _, tt := range tests {
		cert := ""
		if tt.cert != "" {
			cert = zaz1(t, tt.cert)
		}
		items = append(items, sample(t, tt.sample)+"|"+cert)
	}
	cli := parallelCLI(items, func(it string) cliResult {
		f, cert, _ := strings.Cut(it, "|")
		var args []string
		if cert != "" {
			args = append(args, cert)
		}
		return cliTool.run("Validate", f, args...)
	})
	for i, tt := range tests {
		t.Run(strings.TrimSuffix(tt.sample+"/"+tt.cert, "/"), func(t *testing.T) {
			doc, err := os.ReadFile(sample(t, tt.sample))
			if err != nil {
				t.Fatal(err)
			}
			var r JavaResult
			if tt.cert == "" {
				r = j.Validate(doc)
			} else {
				r = j.ValidateWithCert(doc, zaz1(t, tt.cert))
			}
			c := cli[items[i]]
			if r.RC != tt.rc {
				t.Errorf("oracle rc=%d, want %d: %s", r.RC, tt.rc, r.Message)
			}
			if c.rc != r.RC {
				t.Errorf("CLI rc=%d, oracle rc=%d", c.rc, r.RC)
			}
			if got, want := r.Message, strings.TrimSpace(string(c.stderr)); got != want {
				t.Errorf("stderr differs\noracle: %q\nCLI:    %q", got, want)
			}
			if !bytes.Equal(r.Output, c.stdout) {
				t.Errorf("stdout differs\noracle: %.300q\nCLI:    %.300q", r.Output, c.stdout)
			}
		})
	}
	// The batch entry point gives the same answers as the single-shot one.
	var files []string
	for _, tt := range tests {
		if tt.cert == "" {
			files = append(files, sample(t, tt.sample))
		}
	}
	for i, r := range j.ValidateFiles(files) {
		if c := cli[files[i]+"|"]; r.RC != c.rc {
			t.Errorf("ValidateFiles %s: rc=%d, CLI %d", filepath.Base(files[i]), r.RC, c.rc)
		}
	}
}

// sigValue masks the one random part of a Java signature: ECDSA draws a
// fresh nonce each time, so two correct signatures of one document differ
// only in SignatureValue.
var sigValue = regexp.MustCompile(`(?s)<ds:SignatureValue>.*?</ds:SignatureValue>`)

// TestJavaToolSignMatchesCLI signs with the oracle and with the real CLI
// (`Sign - --preserveCounter [CERT KEY] < file`) and requires the same exit
// code and stderr, and identical output apart from SignatureValue (so the
// same digest, key choice and serialisation). Each side's signed output must
// pass the other side's Validate.
func TestJavaToolSignMatchesCLI(t *testing.T) {
	const (
		dspPEM = "dsp-xml-sign-90B3D51F30000002-ds.pem"
		dspKey = "dsp-xml-sign-90B3D51F30000002-ds.key.pem" // the CLI reads key files as PEM text
	)
	tests := []struct {
		dir, file string
		cert, key string
		rc        int
	}{
		{"duis/samples", "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS.XML", "", "", RCOK},
		{"duis/samples", "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-signed.XML", "", "", RCOK}, // old signature dropped
		{"duis/samples", "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML", "", "", RCInvalid},
		{"duis/samples", "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-nonexist-businessid.XML", "", "", RCMissingKey},
		{"duis/samples", "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-nonexist-businessid.XML", dspPEM, dspKey, RCOK},
		{"duis/samples", "ECS50_9.1_SUCCESS_REQUEST_DUIS.XML", "", "", RCOK}, // other-user EUI, lower-case path
		{"duis/samples", "duis-xxe.xml", "", "", RCError},
		{"duis/templates", "CS08_11.2_SUCCESS_REQUEST_DUIS.XML", "", "", RCOK},
		{"duis/templates", "8.2_READ_INVENTORY_REQUEST_DUIS.XML", "", "", RCOK},
		{"duis/templates", "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS_REQUEST_DUIS.XML", "", "", RCOK},
	}
	cliTool := newToolCLI(t)
	j := NewJavaTool(t)
	dir := t.TempDir()
	var (
		jobs  []SignJob
		items []string // job index as a string, the key of the CLI results
	)
	for i, tt := range tests {
		job := SignJob{In: refdataFile(t, tt.dir, tt.file), Out: filepath.Join(dir, fmt.Sprint(i)+".xml"), PreserveCounter: true}
		if tt.cert != "" {
			job.Cert, job.Key = zaz1(t, tt.cert), zaz1(t, tt.key)
		}
		jobs = append(jobs, job)
		items = append(items, fmt.Sprint(i))
	}
	cli := parallelCLI(items, func(it string) cliResult {
		var i int
		fmt.Sscan(it, &i)
		args := []string{"--preserveCounter"}
		if jobs[i].Cert != "" {
			args = append(args, jobs[i].Cert, jobs[i].Key)
		}
		return cliTool.run("Sign", jobs[i].In, args...)
	})
	res := j.SignFiles(jobs)
	var cliSigned []string
	for i, tt := range tests {
		r, c := res[i], cli[items[i]]
		t.Run(tt.file+map[bool]string{true: "/explicit-key"}[tt.cert != ""], func(t *testing.T) {
			if r.RC != tt.rc {
				t.Errorf("oracle rc=%d, want %d: %s", r.RC, tt.rc, r.Message)
			}
			if c.rc != r.RC {
				t.Errorf("CLI rc=%d, oracle rc=%d", c.rc, r.RC)
			}
			if got, want := r.Message, strings.TrimSpace(string(c.stderr)); got != want {
				t.Errorf("stderr differs\noracle: %q\nCLI:    %q", got, want)
			}
			if got, want := sigValue.ReplaceAll(r.Output, nil), sigValue.ReplaceAll(c.stdout, nil); !bytes.Equal(got, want) {
				t.Errorf("signed output differs beyond SignatureValue\noracle: %.400q\nCLI:    %.400q", got, want)
			}
			written, err := os.ReadFile(jobs[i].Out)
			if err != nil || !bytes.Equal(written, r.Output) {
				t.Errorf("Out file does not hold Output (err %v)", err)
			}
			if r.RC != RCOK {
				return
			}
			f := filepath.Join(dir, items[i]+"-cli.xml")
			if err := os.WriteFile(f, c.stdout, 0o600); err != nil {
				t.Fatal(err)
			}
			cliSigned = append(cliSigned, f)
		})
	}
	// Cross-validation: the oracle accepts what the CLI signed, and the CLI
	// accepts what the oracle signed. Documents signed with an explicit key
	// outside the library still verify: the library has the same serial.
	for i, r := range j.ValidateFiles(cliSigned) {
		if r.RC != RCOK {
			t.Errorf("oracle rejects CLI-signed %s: rc=%d %s", cliSigned[i], r.RC, r.Message)
		}
	}
	var oracleSigned []string
	for i, r := range res {
		if r.RC == RCOK {
			oracleSigned = append(oracleSigned, jobs[i].Out)
		}
	}
	for f, c := range parallelCLI(oracleSigned, func(f string) cliResult { return cliTool.run("Validate", f) }) {
		if c.rc != RCOK {
			t.Errorf("CLI rejects oracle-signed %s: rc=%d %s", f, c.rc, c.stderr)
		}
	}
}

// TestJavaToolSignCounter checks the default (no --preserveCounter) path:
// the tool replaces the RequestID counter with the current epoch millis.
func TestJavaToolSignCounter(t *testing.T) {
	doc, err := os.ReadFile(refdataFile(t, "duis/templates", "CS08_11.2_SUCCESS_REQUEST_DUIS.XML"))
	if err != nil {
		t.Fatal(err)
	}
	j := NewJavaTool(t)
	before := time.Now().UnixMilli()
	signed, r := j.Sign(doc, false)
	if r.RC != RCOK {
		t.Fatalf("rc=%d: %s", r.RC, r.Message)
	}
	m := regexp.MustCompile(`<sr:RequestID>[^<]*:(\d+)</sr:RequestID>`).FindSubmatch(signed)
	if m == nil {
		t.Fatalf("no RequestID in %.300q", signed)
	}
	var counter int64
	for _, c := range m[1] {
		counter = counter*10 + int64(c-'0')
	}
	if counter < before || counter > time.Now().UnixMilli() {
		t.Errorf("counter %d is not the signing time (%d…)", counter, before)
	}
	if v := j.Validate(signed); v.RC != RCOK {
		t.Errorf("Validate of own output rc=%d: %s", v.RC, v.Message)
	}
	// A document that is not XML at all: the CLI exits 2 from inside the
	// parser helper; the oracle must report that and keep serving.
	if _, r := j.Sign([]byte("not xml"), true); r.RC != RCError {
		t.Errorf("Sign(not xml) rc=%d, want %d: %s", r.RC, RCError, r.Message)
	}
	if v := j.Validate(signed); v.RC != RCOK {
		t.Errorf("oracle did not survive a trapped exit: rc=%d %s", v.RC, v.Message)
	}
}

// TestJavaToolAllTemplates signs and re-validates all RTDS templates in one
// JVM, the volume the conformance suites need. It pins the outcome counts of
// tool.jar 0.1.2: rc 3 for the two templates whose originator (the load
// controller) has no key in the tool (duis.md §3.1), rc 10 for templates the
// bundled DUIS 5.1 schema rejects.
func TestJavaToolAllTemplates(t *testing.T) {
	templates := glob(t, "duis/templates", "*")
	j := NewJavaTool(t)
	dir := t.TempDir()
	jobs := make([]SignJob, len(templates))
	for i, f := range templates {
		jobs[i] = SignJob{In: f, Out: filepath.Join(dir, filepath.Base(f)), PreserveCounter: true}
	}
	start := time.Now()
	res := j.SignFiles(jobs)
	signTime := time.Since(start)
	count := map[int][]string{}
	var signed []string
	for i, r := range res {
		count[r.RC] = append(count[r.RC], filepath.Base(templates[i]))
		if r.RC == RCOK {
			signed = append(signed, jobs[i].Out)
		}
	}
	start = time.Now()
	vres := j.ValidateFiles(signed)
	t.Logf("signed %d templates in %v, validated %d in %v", len(templates), signTime, len(signed), time.Since(start))
	for _, rc := range slices.Sorted(maps.Keys(count)) {
		t.Logf("sign rc=%d: %d templates %s", rc, len(count[rc]), abbreviate(count[rc], 6))
	}
	for i, r := range vres {
		if r.RC != RCOK {
			t.Errorf("%s: Validate of the tool's own signature rc=%d: %s", filepath.Base(signed[i]), r.RC, r.Message)
		}
	}
	for rc := range count {
		if rc != RCOK && rc != RCMissingKey && rc != RCInvalid {
			t.Errorf("unexpected rc %d for %v", rc, count[rc])
		}
	}
	for _, name := range count[RCMissingKey] {
		if !strings.HasPrefix(name, "ECS47e") && !strings.Contains(name, "7.16") {
			t.Errorf("%s: rc 3, but only the load-controller templates should lack a key", name)
		}
	}
	if len(count[RCOK]) == 0 {
		t.Error("no template could be signed")
	}
}

func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + ", …"
}

func refdataFile(t testing.TB, dir, name string) string {
	t.Helper()
	return filepath.Join(refdataDir(t, dir), name)
}
