package duis

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/beevik/etree"
)

// oldPath is what the DCC's intake did before ValidateDecode: Validate,
// then Decode, then a parse with etree for the Body's child and its
// ExecutionDateTime.
func oldPath(data []byte) (*Message, RequestInfo, error, error) {
	if err := Validate(data); err != nil {
		return nil, RequestInfo{}, err, nil
	}
	m, err := Decode(data)
	if err != nil {
		return nil, RequestInfo{}, nil, err
	}
	return m, etreeInfo(data), nil, nil
}

// etreeInfo is the intake's former bodyAndExecution, before the time parse.
func etreeInfo(data []byte) RequestInfo {
	var info RequestInfo
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return RequestInfo{Body: "etree: " + err.Error()}
	}
	var body *etree.Element
	for _, e := range doc.Root().ChildElements() {
		if e.Tag == "Body" {
			body = e
		}
	}
	if body == nil || len(body.ChildElements()) != 1 {
		return info
	}
	child := body.ChildElements()[0]
	info.Body = child.Tag
	for _, e := range child.ChildElements() {
		if e.Tag == "ExecutionDateTime" {
			info.HasExecutionDateTime = true
			info.ExecutionDateTime = strings.TrimSpace(e.Text())
			break
		}
	}
	return info
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return fmt.Sprintf("%T %v", err, err)
}

// compareParsePaths checks that ValidateDecode gives what Validate, Decode
// and the etree read gave: the same errors (type and text), the same
// decoded values and the same RequestInfo.
func compareParsePaths(t *testing.T, name string, data []byte) (valid bool) {
	t.Helper()
	wm, wi, wverr, wderr := oldPath(data)
	gm, gi, gverr, gderr := ValidateDecode(data)
	if errString(gverr) != errString(wverr) || errString(gderr) != errString(wderr) {
		t.Errorf("%s: ValidateDecode errors %s / %s, Validate and Decode %s / %s", name, errString(gverr), errString(gderr), errString(wverr), errString(wderr))
		return false
	}
	if !reflect.DeepEqual(gm, wm) {
		t.Errorf("%s: ValidateDecode decoded %+v, Decode %+v", name, gm, wm)
	}
	gi.ExecutionDateTime = strings.TrimSpace(gi.ExecutionDateTime)
	if gm != nil && gi != wi {
		t.Errorf("%s: RequestInfo %+v, etree read %+v", name, gi, wi)
	}
	return gverr == nil && gderr == nil
}

// TestValidateDecodeAgrees is the differential test of the intake's one-scan
// path against the former three parses, on every template and sample, on
// their mutants (the corpus of TestMutantsAgainstXMLLint), and on documents
// made to hit the paths where the two could differ.
func TestValidateDecodeAgrees(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 11))
	var docs, mutants, valid int
	for _, f := range corpus(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs++
		if compareParsePaths(t, f, data) {
			valid++
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil {
			continue
		}
		if Validate(data) != nil {
			continue
		}
		info, err := annotate(doc)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, m := range mutate(doc, info, rng) {
			b, err := m.doc.WriteToBytes()
			if err != nil {
				t.Fatal(err)
			}
			mutants++
			if compareParsePaths(t, fmt.Sprintf("%s mutant %d (%s)", f, k, m.op), b) {
				valid++
			}
		}
	}
	for i, d := range parseEdgeDocs {
		docs++
		if compareParsePaths(t, fmt.Sprintf("edge %d", i), []byte(d)) {
			valid++
		}
	}
	t.Logf("%d documents and %d mutants, %d valid: same verdicts, values and body", docs, mutants, valid)
}

const edgeHead = `<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1</sr:RequestID><sr:CommandVariant>1</sr:CommandVariant><sr:ServiceReference>4.1</sr:ServiceReference><sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:Header>`

func execDoc(edt string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1</sr:RequestID><sr:CommandVariant>2</sr:CommandVariant><sr:ServiceReference>4.1</sr:ServiceReference><sr:ServiceReferenceVariant>4.1.1</sr:ServiceReferenceVariant></sr:Header><sr:Body><sr:ReadInstantaneousImportRegisters><sr:ExecutionDateTime>` + edt + `</sr:ExecutionDateTime></sr:ReadInstantaneousImportRegisters></sr:Body></sr:Request>`
}

var parseEdgeDocs = []string{
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>`,
	"\ufeff" + edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>  <!-- c -->  `,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>x`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request><![CDATA[ ]]>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request><sr:Request/>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Requestx>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request></x>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/><sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters a="1" a="2"/></sr:Body></sr:Request>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters p:a="1"/></sr:Body></sr:Request>`,
	edgeHead + `<sr:Body><p:X/></sr:Body></sr:Request>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="x"/></sr:Body></sr:Request>`,
	edgeHead + `<sr:Body>text<sr:ReadInstantaneousImportRegisters/></sr:Body></sr:Request>`,
	edgeHead + `<sr:Body><?pi x?><sr:ReadInstantaneousImportRegisters/><!-- c --></sr:Body></sr:Request>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters>&amp;</sr:ReadInstantaneousImportRegisters></sr:Body></sr:Request>`,
	edgeHead + `<sr:Body><sr:ReadInstantaneousImportRegisters/></sr:Body><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/></sr:Request>`,
	`<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>`,
	`<x>&e;</x>`,
	``,
	`   `,
	`<a/>`,
	`<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"/>`,
	execDoc(`2030-01-01T00:00:00Z`),
	execDoc(` 2030-01-01T00:00:00.123Z `),
	execDoc(`2030-01-01<!-- c -->T00:00:00Z`),
	execDoc(`2030-01-01<?pi?>T00:00:00Z`),
	execDoc(`<?pi?>2030-01-01T00:00:00Z`),
	execDoc(`2030-01-01<![CDATA[T00:00:00Z]]>`),
	execDoc(`2030-01-01T00:00:00+01:00`),
	execDoc(`2030-02-30T00:00:00Z`),
	execDoc(`2030-01-01T00:00:00`),
	execDoc(`2030-01-01T00:00:00Z<x/>`),
	execDoc(``),
}

// FuzzValidateDecode: ValidateDecode agrees with Validate, Decode and the
// etree read on any input.
func FuzzValidateDecode(f *testing.F) {
	seedCorpus(f)
	for _, d := range parseEdgeDocs {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareParsePaths(t, "input", data)
	})
}
