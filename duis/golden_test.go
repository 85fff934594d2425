package duis

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/opendcc/opendcc/internal/interop"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenMessages are built in code (not copied from reference data) and
// pin the encoder's exact output.
func goldenMessages() map[string]*Message {
	ack := &Message{Response: &Response{
		SchemaVersion: "5.4",
		Header: ResponseHeader{
			RequestID:        ptr("90-B3-D5-1F-30-01-00-00:88-73-84-57-00-2F-96-6C:1658482675800"),
			ResponseCode:     "E65",
			ResponseDateTime: "2022-07-22T09:37:56.134Z",
		},
		Body: ResponseBody{ResponseMessage: &ResponseMessage{ServiceReference: "11.2", ServiceReferenceVariant: "11.2"}},
	}}
	req := &Message{Request: &Request{
		SchemaVersion: "5.4",
		Header: RequestHeader{
			RequestID:               "90-B3-D5-1F-30-01-00-00:90-B3-D5-1F-30-00-00-02:1000",
			CommandVariant:          "8",
			ServiceReference:        "8.2",
			ServiceReferenceVariant: "8.2",
		},
		Body: RequestBody{ReadInventory: &ReadInventory{DeviceID: ptr("00-DB-12-34-56-78-90-A2")}},
		Signature: &DSSignatureType{
			SignedInfo: DSSignedInfoType{
				CanonicalizationMethod: DSCanonicalizationMethodType{Algorithm: "http://www.w3.org/2001/10/xml-exc-c14n#"},
				SignatureMethod:        DSSignatureMethodType{Algorithm: "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"},
				Reference: []DSReferenceType{{
					URI:          ptr(""),
					DigestMethod: DSDigestMethodType{Algorithm: "http://www.w3.org/2001/04/xmlenc#sha256"},
					DigestValue:  "ZGVm\r\nYXVsdA==",
				}},
			},
			SignatureValue: DSSignatureValueType{Value: "ZGVmYXVsdA=="},
			Object: []DSObjectType{{
				Id:   ptr("o1"),
				Text: "note & <x> \"q\"",
				Any: []AnyElement{{
					Space: "urn:example", Local: "Foo",
					Attrs: []AnyAttr{{Local: "a", Value: "1\t2"}},
					Children: []AnyElement{
						{Space: "urn:example", Local: "Bar", Text: "x"},
						{Local: "NoNamespace"},
						{Space: NamespaceSR, Local: "DeviceID", Text: "00-DB-12-34-56-78-90-A2"},
					},
				}},
			}},
		},
	}}
	return map[string]*Message{"encode-ack.xml": ack, "encode-request-object.xml": req}
}

func TestEncodeGolden(t *testing.T) {
	for name, m := range goldenMessages() {
		out, err := Encode(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := Validate(out); err != nil {
			t.Errorf("%s: invalid: %v", name, err)
		}
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(append(out, '\n'), want) {
			t.Errorf("%s: Encode differs from the golden file (go test -run TestEncodeGolden -update):\n got %s\nwant %s", name, out, want)
		}
		m2, err := Decode(out)
		if err != nil {
			t.Fatalf("%s: Decode: %v", name, err)
		}
		if out2, _ := Encode(m2); !bytes.Equal(out, out2) {
			t.Errorf("%s: not byte-stable:\n%s\n%s", name, out, out2)
		}
	}
}

func TestEncodeRefusals(t *testing.T) {
	if _, err := Encode(&Message{}); err == nil {
		t.Error("Encode of an empty Message: want an error")
	}
	if _, err := Encode(&Message{Request: &Request{}, Response: &Response{}}); err == nil {
		t.Error("Encode of two roots: want an error")
	}
	m := goldenMessages()["encode-ack.xml"]
	m.Response.Header.ResponseCode = "E\x01"
	if _, err := Encode(m); err == nil {
		t.Error("a control character: want an error")
	}
}

func TestDecodeRefusals(t *testing.T) {
	for _, c := range []struct{ name, doc string }{
		{"not DUIS", `<a/>`},
		{"unknown child", `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Bogus/></sr:Request>`},
		{"unknown attribute", `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" x="1"/>`},
		{"text in element content", `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">text</sr:Request>`},
		{"child of a simple element", `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"><sr:Header><sr:RequestID><sr:X/></sr:RequestID></sr:Header></sr:Request>`},
		{"malformed", `<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">`},
		{"DOCTYPE", `<!DOCTYPE x [<!ENTITY e "e">]><x/>`},
	} {
		if _, err := Decode([]byte(c.doc)); err == nil {
			t.Errorf("%s: want an error", c.name)
		}
	}
	// Values are not checked by Decode: an invalid request still decodes,
	// so an error response can echo its RequestID.
	m, err := Decode([]byte(`<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="x"><sr:Header><sr:RequestID>bad</sr:RequestID></sr:Header></sr:Request>`))
	if err != nil || m.Request.Header.RequestID != "bad" {
		t.Errorf("lenient decode: %v %+v", err, m)
	}
}

// TestGoldenFilesAgainstXMLLint: xmllint agrees the golden outputs are valid.
func TestGoldenFilesAgainstXMLLint(t *testing.T) {
	var files []string
	for name := range goldenMessages() {
		files = append(files, filepath.Join("testdata", name))
	}
	for f, v := range interop.XMLLintValidate(t, files) {
		if !v.Valid {
			t.Errorf("%s: xmllint: %s", f, v.Message)
		}
	}
}
