package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/internal/dccboxed"
	"github.com/opendcc/opendcc/internal/refdata"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/xmldsig"
)

// FuzzParseResponse: whatever a server or an attacker posts to the
// client's Receive Response endpoint, ParseResponse returns a Response or
// an error; it never panics. Seeds: the reference data's DUIS responses
// when present, and a minimal unsigned response.
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte(`<?xml version="1.0" encoding="UTF-8"?><sr:Response xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway" schemaVersion="5.4"><sr:Header><sr:RequestID>90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1</sr:RequestID><sr:ResponseCode>I0</sr:ResponseCode><sr:ResponseDateTime>2026-11-28T10:00:00.000Z</sr:ResponseDateTime></sr:Header><sr:Body><sr:GBCSPayload>3gAB</sr:GBCSPayload></sr:Body></sr:Response>`))
	if dir, ok := refdata.Find(); ok {
		names, _ := filepath.Glob(filepath.Join(dir, "duis", "samples", "*"))
		for _, n := range names {
			if strings.Contains(strings.ToLower(filepath.Base(n)), "response") {
				if b, err := os.ReadFile(n); err == nil {
					f.Add(b)
				}
			}
		}
	}
	keys := smki.NewStore()
	if err := keys.LoadKeystoreJSON(dccboxed.KeystoreJSON); err != nil {
		f.Fatal(err)
	}
	sec := gbcs.NewSecurity(func() gbcs.KeyStore { k := gbcs.NewKeyring(); k.AddStore(keys); return k }(), 0)
	opts := xmldsig.VerifyOptions{Certificates: keys}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseResponse(data, opts, sec)
		if err == nil && r == nil {
			t.Fatal("no response and no error")
		}
	})
}
