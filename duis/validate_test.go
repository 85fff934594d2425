package duis

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/opendcc/opendcc/internal/interop"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/internal/tools/duisgen/gen"
	"github.com/opendcc/opendcc/internal/xmlsafe"
)

// TestGeneratedUpToDate regenerates types_gen.go and schema_gen.go from
// the reference schema in memory and compares them with the committed
// files (run `go generate ./duis` when it fails).
func TestGeneratedUpToDate(t *testing.T) {
	dir := refdata.Path(t, "duis", "schema")
	files, err := gen.Generate(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{gen.SchemaFile, gen.TypesFile} {
		have, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(have, files[name]) {
			t.Errorf("%s is stale: run `go generate ./duis` (or go run ../internal/tools/duisgen -out . in duis/)", name)
		}
	}
	// Deterministic: a second run gives the same bytes.
	again, err := gen.Generate(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if !bytes.Equal(b, again[name]) {
			t.Errorf("%s: the generator is not deterministic", name)
		}
	}
}

func TestInvalidSamplesRejected(t *testing.T) {
	cases := []struct {
		file, path, reason string
		gate               error
	}{
		{file: "readfw-response-invalid.xml", path: "/sr:Response/sr:Body/sr:ResponseMessage/sr:ServiceReference", reason: "11.2.11.2"},
		{file: "ECS17b_4.1.1_SINGLE_SUCCESS_REQUEST_DUIS-invalid.XML", path: "/sr:Request/sr:Header/sr:RequestID", reason: "pattern"},
		{file: "duis-xxe.xml", path: "/", gate: xmlsafe.ErrDoctype},
	}
	for _, c := range cases {
		data, err := os.ReadFile(refdata.Path(t, "duis", "samples", c.file))
		if err != nil {
			t.Fatal(err)
		}
		err = Validate(data)
		var ve *ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: Validate = %v, want a *ValidationError", c.file, err)
			continue
		}
		if ve.Path != c.path || !strings.Contains(ve.Reason, c.reason) {
			t.Errorf("%s: got %v; want path %s, reason containing %q", c.file, err, c.path, c.reason)
		}
		if c.gate != nil {
			if !errors.Is(err, c.gate) {
				t.Errorf("%s: %v does not wrap %v", c.file, err, c.gate)
			}
			if _, err := Decode(data); !errors.Is(err, c.gate) {
				t.Errorf("%s: Decode = %v, want %v", c.file, err, c.gate)
			}
			if _, err := Compact(data); !errors.Is(err, c.gate) {
				t.Errorf("%s: Compact = %v, want %v", c.file, err, c.gate)
			}
		}
	}
}

const inventory = `<?xml version="1.0" encoding="UTF-8"?>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4">
  <sr:Header>
    <sr:RequestID>90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000</sr:RequestID>
    <sr:CommandVariant>8</sr:CommandVariant>
    <sr:ServiceReference>8.2</sr:ServiceReference>
    <sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant>
  </sr:Header>
  <sr:Body>
    <sr:ReadInventory>
      <sr:DeviceID>00-DB-12-34-56-78-90-A2</sr:DeviceID>
    </sr:ReadInventory>
  </sr:Body>
</sr:Request>`

// TestValidateErrors pins the error shape (path with the document's
// prefixes, line, reason) for the main kinds of violation.
func TestValidateErrors(t *testing.T) {
	if err := Validate([]byte(inventory)); err != nil {
		t.Fatalf("base document: %v", err)
	}
	cases := []struct {
		name, old, new string
		want           string // substring of Error()
	}{
		{"missing required", "<sr:CommandVariant>8</sr:CommandVariant>", "",
			"/sr:Request/sr:Header/sr:ServiceReference (line 6): unexpected element sr:ServiceReference; expected sr:CommandVariant, sr:FirstInSequence, sr:PrecedingServiceRequestID"},
		{"unknown element", "<sr:DeviceID>", "<sr:Nope/><sr:DeviceID>",
			"/sr:Request/sr:Body/sr:ReadInventory/sr:Nope (line 11): unexpected element sr:Nope; expected sr:DeviceID"},
		{"order", "<sr:ServiceReference>8.2</sr:ServiceReference>\n    <sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant>",
			"<sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant><sr:ServiceReference>8.2</sr:ServiceReference>",
			"unexpected element sr:ServiceReferenceVariant; expected sr:ServiceReference"},
		{"enumeration", "<sr:CommandVariant>8</sr:CommandVariant>", "<sr:CommandVariant>10</sr:CommandVariant>",
			"/sr:Request/sr:Header/sr:CommandVariant (line 5): \"10\" is not a valid sr:CommandVariant: not one of the enumerated values"},
		{"pattern", "00-DB-12-34-56-78-90-A2", "00-DB-12-34-56-78-90-AZ", "does not match pattern"},
		{"incomplete", "<sr:DeviceID>00-DB-12-34-56-78-90-A2</sr:DeviceID>", "",
			"/sr:Request/sr:Body/sr:ReadInventory (line 10): content is incomplete; expected sr:DeviceID"},
		{"two body children", "</sr:ReadInventory>", "</sr:ReadInventory><sr:ReadInventory/>",
			"/sr:Request/sr:Body/sr:ReadInventory (line 12): unexpected element sr:ReadInventory; no more elements are allowed here"},
		{"text in element content", "<sr:Body>", "<sr:Body>hello", "/sr:Request/sr:Body (line 9): text not allowed in element-only content"},
		{"missing attribute", ` schemaVersion="5.4"`, "", "/sr:Request (line 2): missing required attribute schemaVersion"},
		{"bad attribute", ` schemaVersion="5.4"`, ` schemaVersion="5.4.1"`, "attribute schemaVersion"},
		{"unknown attribute", ` schemaVersion="5.4"`, ` schemaVersion="5.4" foo="1"`, "attribute foo is not allowed"},
		{"xsi ignored", ` schemaVersion="5.4"`, ` schemaVersion="5.4" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="x y"`, ""},
		{"xsi:nil refused", ` schemaVersion="5.4"`, ` schemaVersion="5.4" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"`, "not nillable"},
		{"wrong namespace", `<sr:DeviceID>00-DB-12-34-56-78-90-A2</sr:DeviceID>`, `<DeviceID>00-DB-12-34-56-78-90-A2</DeviceID>`, "unexpected element DeviceID"},
		{"unbound prefix", "<sr:DeviceID>", "<x:DeviceID>", "undeclared namespace prefix"},
		{"not well-formed", "</sr:ReadInventory>", "</sr:ReadInventor>", "does not match"},
		{"two roots", "</sr:Request>", `</sr:Request><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"/>`, "more than one root"},
	}
	for _, c := range cases {
		doc := strings.Replace(inventory, c.old, c.new, 1)
		if doc == inventory {
			t.Fatalf("%s: replacement did not apply", c.name)
		}
		err := Validate([]byte(doc))
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: unexpected error %v", c.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v\nwant it to contain %q", c.name, err, c.want)
		}
	}
	// Not a DUIS document at all.
	for _, doc := range []string{`<a/>`, `<sr:Header xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"/>`, "", "<?xml version=\"1.0\"?>"} {
		if err := Validate([]byte(doc)); err == nil {
			t.Errorf("%q: want an error", doc)
		}
	}
}

// TestValidateDocumentAgrees checks that validating a parsed etree gives
// the same verdicts as Validate on the whole corpus.
func TestValidateDocumentAgrees(t *testing.T) {
	for _, f := range corpus(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if xmlsafe.Check(data, 0) != nil {
			continue
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil {
			t.Fatal(err)
		}
		a, b := Validate(data), ValidateDocument(doc)
		if (a == nil) != (b == nil) {
			t.Errorf("%s: Validate %v, ValidateDocument %v", filepath.Base(f), a, b)
		}
		if a != nil && b != nil && a.(*ValidationError).Path != b.(*ValidationError).Path {
			t.Errorf("%s: paths differ: %v / %v", filepath.Base(f), a, b)
		}
	}
}

// TestWhitespaceAgreesWithJava pins deviation 1 of docs/xsd-validation.md:
// where libxml2 2.9 refuses whitespace (or '+') around dateTime and
// unsigned values, the DCC Boxed Java tool (Xerces) accepts them, as XSD
// 1.0 requires, and so do we. Unsigned responses are schema-checked by
// the tool without a signature.
func TestWhitespaceAgreesWithJava(t *testing.T) {
	j := interop.NewJavaTool(t)
	base := `<?xml version="1.0" encoding="UTF-8" standalone="no"?><sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.1">` +
		`<sr:Header><sr:ResponseCode>I0</sr:ResponseCode><sr:ResponseDateTime>DT</sr:ResponseDateTime></sr:Header>` +
		`<sr:Body><sr:DeviceAlertMessage><sr:AlertCode>8F20</sr:AlertCode><sr:ThrottledAlertSequenceId>N</sr:ThrottledAlertSequenceId>` +
		`<sr:GBCSPayload>AAAA</sr:GBCSPayload></sr:DeviceAlertMessage></sr:Body></sr:Response>`
	for _, c := range []struct {
		dt, n string
		valid bool
	}{
		{"2022-06-23T13:42:52.264Z", "5", true},
		{" 2022-06-23T13:42:52.264Z\n", "5", true},
		{"2022-06-23T13:42:52.264Z", " 5\n", true},
		{"2022-06-23T13:42:52.264Z", "+5", true},
		{"2022-06-23T13:42:52.264Z", "x", false},
		{"2022-06-23 13:42:52", "5", false},
	} {
		doc := []byte(strings.Replace(strings.Replace(base, "DT", c.dt, 1), ">N<", ">"+c.n+"<", 1))
		r := j.Validate(doc)
		ours := Validate(doc)
		if (r.RC == interop.RCOK) != c.valid || (ours == nil) != c.valid {
			t.Errorf("dateTime %q, unsignedInt %q: want valid=%v; Java rc %d, ours %v", c.dt, c.n, c.valid, r.RC, ours)
		}
	}
}
