package repository

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
)

func TestClientAgainstHandler(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(f.handler)
	defer srv.Close()
	ctx := context.Background()
	cl := &Client{HTTP: srv.Client(), APIKey: "u3bg9gt38htd0j2"}

	// Organisation search with filters, then retrieval.
	res, err := cl.Search(ctx, srv.URL, Query{EUI: supplierEUI, Usage: UsageDigitalSigning, Role: smki.RoleSupplier, MatchRole: true})
	if err != nil || len(res) != 2 {
		t.Fatalf("org search: %v, %+v", err, res)
	}
	for _, r := range res {
		if r.Usage != UsageDigitalSigning || !r.HasRole || r.Role != smki.RoleSupplier {
			t.Errorf("org result %+v", r)
		}
	}
	got, err := cl.Retrieve(ctx, srv.URL, f.supplierDS.SerialHex())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Certificate.Raw, f.supplierDS.Raw) || got.SubjectName != supplierEUI.String() || got.SubjectAltName != "" || !got.HasRole || got.Usage != UsageDigitalSigning {
		t.Errorf("retrieve supplier DS: %+v", got)
	}

	// Device search (package functions, the default client), lower-case serial.
	res, err = Search(ctx, srv.URL+"/", Query{EUI: deviceEUI, Device: true})
	if err != nil || len(res) != 3 {
		t.Fatalf("device search: %v, %+v", err, res)
	}
	statuses := map[string]Status{}
	for _, r := range res {
		statuses[r.Serial] = r.Status
		if r.HasRole {
			t.Errorf("device result with a role: %+v", r)
		}
	}
	if statuses[f.revoked.SerialHex()] != StatusRevoked || statuses[f.devKA.SerialHex()] != StatusInUse {
		t.Errorf("device statuses %v", statuses)
	}
	got, err = Retrieve(ctx, srv.URL, f.devKA.SerialNumber.Text(16))
	if err != nil || !bytes.Equal(got.Certificate.Raw, f.devKA.Raw) || got.SubjectAltName != deviceEUI.String() || got.Usage != UsageKeyAgreement || got.Status != StatusInUse {
		t.Fatalf("retrieve device KA: %v %+v", err, got)
	}

	// FindDevice: KA in use only (the revoked one is filtered out).
	found, err := cl.FindDevice(ctx, srv.URL, deviceEUI, UsageKeyAgreement, StatusInUse)
	if err != nil || len(found) != 1 || !bytes.Equal(found[0].Certificate.Raw, f.devKA.Raw) {
		t.Fatalf("FindDevice KA: %v %+v", err, found)
	}
	found, err = cl.FindDevice(ctx, srv.URL, deviceEUI, UsageDigitalSigning, "")
	if err != nil || len(found) != 1 || !bytes.Equal(found[0].Certificate.Raw, f.devDS.Raw) {
		t.Fatalf("FindDevice DS: %v %+v", err, found)
	}

	// Nothing found: empty, no error; an unknown serial: ErrNotFound.
	if res, err := cl.Search(ctx, srv.URL, Query{EUI: eui.MustParse("00-DB-00-00-00-00-00-01"), Device: true}); err != nil || len(res) != 0 {
		t.Errorf("search for nothing: %v %+v", err, res)
	}
	if _, err := cl.Retrieve(ctx, srv.URL, "ABCDEF0123"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown serial: %v", err)
	}
	if _, err := cl.Retrieve(ctx, srv.URL, "xyz"); err == nil {
		t.Error("bad serial accepted")
	}

	// Requests the handler reads back as they were meant.
	q := Query{EUI: supplierEUI, Usage: UsageKeyAgreement, Status: StatusInUse, Role: smki.RoleSupplier, MatchRole: true}
	if back, err := ParseSearchRequest(SearchRequest(q)); err != nil || back != q {
		t.Errorf("SearchRequest round trip: %v %+v", err, back)
	}
	if back, err := ParseDataRequest(DataRequest(f.devKA.SerialNumber)); err != nil || back.Cmp(f.devKA.SerialNumber) != 0 {
		t.Errorf("DataRequest round trip: %v %v", err, back)
	}

	// A server that is not a repository.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == PathSearch {
			http.Error(w, "refused", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte("<html/>"))
	}))
	defer other.Close()
	if _, err := cl.Search(ctx, other.URL, Query{EUI: deviceEUI, Device: true}); !errors.Is(err, ErrRefused) {
		t.Errorf("401: %v", err)
	}
	if _, err := cl.Retrieve(ctx, other.URL, "01"); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("HTML answer: %v", err)
	}
	if _, err := cl.Search(ctx, "http://127.0.0.1:1", Query{EUI: deviceEUI, Device: true}); err == nil {
		t.Error("unreachable repository: no error")
	}
}
