// Package storetest is the conformance suite every store.Store
// implementation runs: Run(t, open) from the implementation's own test.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// Opener returns a fresh, empty, migrated store; it registers its own
// clean-up with t.Cleanup.
type Opener func(t testing.TB) store.Store

// Run runs every conformance test against stores from open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Users", testUsers},
		{"UserCertConflict", testUserCertConflict},
		{"Inventory", testInventory},
		{"StatusLifeCycle", testStatusLifeCycle},
		{"Registrations", testRegistrations},
		{"Counters", testCounters},
		{"CountersConcurrent", testCountersConcurrent},
		{"CounterNextConcurrent", testCounterNextConcurrent},
		{"Requests", testRequests},
		{"RequestFinishOnce", testRequestFinishOnce},
		{"Outbox", testOutbox},
		{"OutboxLeases", testOutboxLeases},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"Holds", testHolds},
		{"FarTimes", testFarTimes},
		{"Transactions", testTransactions},
		{"TransactionsConcurrent", testTransactionsConcurrent},
		{"TransactionsFailingAmongConcurrent", testTransactionsFailingAmongConcurrent},
		{"UserReadsAfterWrites", testUserReadsAfterWrites},
		{"DeviceReadsAfterWrites", testDeviceReadsAfterWrites},
		{"RegistrationReadsAfterWrites", testRegistrationReadsAfterWrites},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var ctx = context.Background()

// T0 is a fixed base time with a nanosecond part, to check precision.
var T0 = time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func wantBool(t testing.TB, got bool, err error, want bool) {
	t.Helper()
	must(t, err)
	if got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// EUI makes a test EUI-64 from a number.
func EUI(n uint64) eui.EUI64 {
	var e eui.EUI64
	for i := 7; i >= 0; i-- {
		e[i] = byte(n)
		n >>= 8
	}
	e[0] = 0x90
	return e
}

// ---------------------------------------------------------------- users

func testUsers(t *testing.T, s store.Store) {
	u := store.User{
		ID: eui.MustParse("90-B3-D5-1F-30-01-00-00"), Name: "GITTESTSUPPLIER",
		Roles: []store.Role{store.RoleImportSupplier, store.RoleGasSupplier}, Status: store.UserActive,
		ResponseURL: "http://127.0.0.1:8080/smartdcc/duis",
		Certs: []store.Certificate{
			{Usage: store.CertXMLSign, Issuer: "CN=Z1,OU=07", Serial: "50669612984035780968362471400449834504", DER: []byte{0x30, 1, 2}},
			{Usage: store.CertDigitalSigning, Role: store.RoleImportSupplier, Issuer: "CN=Z1,OU=07", Serial: "1", DER: []byte{0x30, 3}},
		},
	}
	_, err := s.Users().GetUser(ctx, u.ID)
	wantErr(t, err, store.ErrNotFound)
	must(t, s.Users().PutUser(ctx, u))
	got, err := s.Users().GetUser(ctx, u.ID)
	must(t, err)
	if got.ID != u.ID || got.Name != u.Name || !slices.Equal(got.Roles, u.Roles) || got.Status != u.Status || got.ResponseURL != u.ResponseURL {
		t.Fatalf("got %+v", got)
	}
	if got.Created.IsZero() || got.Updated.IsZero() || len(got.Certs) != 2 || got.Certs[1].Role != store.RoleImportSupplier ||
		!bytes.Equal(got.Certs[0].DER, u.Certs[0].DER) || got.Certs[0].Serial != u.Certs[0].Serial {
		t.Fatalf("got %+v", got)
	}
	if !got.HasRole(store.RoleGasSupplier) || got.HasRole(store.RoleOtherUser) {
		t.Fatal("HasRole")
	}
	gu, c, err := s.Users().UserByCert(ctx, "CN=Z1,OU=07", "50669612984035780968362471400449834504")
	must(t, err)
	if gu.ID != u.ID || c.Usage != store.CertXMLSign {
		t.Fatalf("UserByCert: %v %+v", gu.ID, c)
	}
	_, _, err = s.Users().UserByCert(ctx, "CN=Z1,OU=07", "2")
	wantErr(t, err, store.ErrNotFound)

	// Replace: certificates and roles are replaced, Created kept.
	u.Roles = []store.Role{store.RoleImportSupplier}
	u.Certs = u.Certs[1:]
	must(t, s.Users().PutUser(ctx, u))
	got2, err := s.Users().GetUser(ctx, u.ID)
	must(t, err)
	if len(got2.Roles) != 1 || len(got2.Certs) != 1 || !got2.Created.Equal(got.Created) {
		t.Fatalf("after replace: %+v", got2)
	}
	_, _, err = s.Users().UserByCert(ctx, "CN=Z1,OU=07", "50669612984035780968362471400449834504")
	wantErr(t, err, store.ErrNotFound)

	u2 := store.User{ID: EUI(2), Status: store.UserActive, Roles: []store.Role{store.RoleOtherUser}}
	must(t, s.Users().PutUser(ctx, u2))
	list, err := s.Users().ListUsers(ctx)
	must(t, err)
	if len(list) != 2 || list[0].ID != u2.ID || list[1].ID != u.ID || len(list[1].Certs) != 1 {
		t.Fatalf("list: %+v", list)
	}
	must(t, s.Users().SetUserStatus(ctx, u2.ID, store.UserSuspended))
	got, err = s.Users().GetUser(ctx, u2.ID)
	must(t, err)
	if got.Status != store.UserSuspended {
		t.Fatal(got.Status)
	}
	wantErr(t, s.Users().SetUserStatus(ctx, EUI(99), store.UserActive), store.ErrNotFound)
	must(t, s.Users().DeleteUser(ctx, u.ID))
	wantErr(t, s.Users().DeleteUser(ctx, u.ID), store.ErrNotFound)
	_, _, err = s.Users().UserByCert(ctx, "CN=Z1,OU=07", "1")
	wantErr(t, err, store.ErrNotFound)
}

func testUserCertConflict(t *testing.T, s store.Store) {
	c := store.Certificate{Usage: store.CertXMLSign, Issuer: "CN=Z1,OU=07", Serial: "42"}
	must(t, s.Users().PutUser(ctx, store.User{ID: EUI(1), Status: store.UserActive, Certs: []store.Certificate{c}}))
	err := s.Users().PutUser(ctx, store.User{ID: EUI(2), Status: store.UserActive, Certs: []store.Certificate{c}})
	wantErr(t, err, store.ErrConflict)
	// The failed PutUser left nothing behind.
	_, err = s.Users().GetUser(ctx, EUI(2))
	wantErr(t, err, store.ErrNotFound)
	u, _, err := s.Users().UserByCert(ctx, c.Issuer, c.Serial)
	must(t, err)
	if u.ID != EUI(1) {
		t.Fatal(u.ID)
	}
}

// ---------------------------------------------------------------- inventory

func testInventory(t *testing.T, s store.Store) {
	inv := s.Inventory()
	chf := store.Device{ID: EUI(0x10), Type: store.DeviceCHF, Status: store.StatusCommissioned, StatusSince: T0, UPRN: "100023336956"}
	esme := store.Device{ID: EUI(0x11), Type: store.DeviceESME, Status: store.StatusPending, Manufacturer: "1234", Model: "ABCD",
		FirmwareVersion: "0102", CHF: chf.ID, ImportMPxN: "1100000000001", ExportMPAN: "1100000000002", UPRN: "100023336956", CSPRegion: "North"}
	ppmid := store.Device{ID: EUI(0x12), Type: store.DevicePPMID, Status: store.StatusPending, CHF: chf.ID, Meter: esme.ID}
	for _, d := range []store.Device{chf, esme, ppmid} {
		must(t, inv.AddDevice(ctx, d, "pre-notification"))
	}
	wantErr(t, inv.AddDevice(ctx, esme, "again"), store.ErrExists)
	_, err := inv.GetDevice(ctx, EUI(0x99))
	wantErr(t, err, store.ErrNotFound)

	got, err := inv.GetDevice(ctx, esme.ID)
	must(t, err)
	if got.Type != esme.Type || got.Status != esme.Status || got.CHF != chf.ID || !got.GPF.IsZero() || got.ImportMPxN != esme.ImportMPxN ||
		got.ExportMPAN != esme.ExportMPAN || got.FirmwareVersion != "0102" || got.Version != 1 || got.StatusSince.IsZero() || got.CSPRegion != "North" {
		t.Fatalf("got %+v", got)
	}
	gchf, err := inv.GetDevice(ctx, chf.ID)
	must(t, err)
	if !gchf.StatusSince.Equal(T0) {
		t.Fatalf("StatusSince %v, want %v", gchf.StatusSince, T0)
	}

	// Update with optimistic version.
	got.FirmwareVersion = "0103"
	upd, err := inv.UpdateDevice(ctx, got)
	must(t, err)
	if upd.Version != 2 || upd.FirmwareVersion != "0103" || upd.Status != store.StatusPending {
		t.Fatalf("updated %+v", upd)
	}
	got.FirmwareVersion = "0104" // stale version 1
	_, err = inv.UpdateDevice(ctx, got)
	wantErr(t, err, store.ErrConflict)
	_, err = inv.UpdateDevice(ctx, store.Device{ID: EUI(0x99), Type: store.DeviceESME})
	wantErr(t, err, store.ErrNotFound)

	// Queries.
	for _, tc := range []struct {
		f    store.DeviceFilter
		want []eui.EUI64
	}{
		{store.DeviceFilter{}, []eui.EUI64{chf.ID, esme.ID, ppmid.ID}},
		{store.DeviceFilter{MPxN: "1100000000001"}, []eui.EUI64{esme.ID}},
		{store.DeviceFilter{MPxN: "1100000000002"}, []eui.EUI64{esme.ID}},
		{store.DeviceFilter{UPRN: "100023336956"}, []eui.EUI64{chf.ID, esme.ID}},
		{store.DeviceFilter{CHF: chf.ID}, []eui.EUI64{esme.ID, ppmid.ID}},
		{store.DeviceFilter{Meter: esme.ID}, []eui.EUI64{ppmid.ID}},
		{store.DeviceFilter{CHF: chf.ID, Limit: 1}, []eui.EUI64{esme.ID}},
		{store.DeviceFilter{MPxN: "nope"}, nil},
	} {
		ds, err := inv.ListDevices(ctx, tc.f)
		must(t, err)
		var ids []eui.EUI64
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("ListDevices(%+v) = %v, want %v", tc.f, ids, tc.want)
		}
	}

	must(t, inv.DeleteDevice(ctx, ppmid.ID))
	wantErr(t, inv.DeleteDevice(ctx, ppmid.ID), store.ErrNotFound)
	h, err := inv.StatusHistory(ctx, ppmid.ID)
	must(t, err)
	if len(h) != 0 {
		t.Fatalf("history after delete: %v", h)
	}
	// A deleted device can be pre-notified again.
	must(t, inv.AddDevice(ctx, ppmid, "again"))
}

func testStatusLifeCycle(t *testing.T, s store.Store) {
	inv := s.Inventory()
	id := EUI(0x20)
	must(t, inv.AddDevice(ctx, store.Device{ID: id, Type: store.DeviceESME, Status: store.StatusPending, StatusSince: T0}, "12.2"))
	steps := []struct {
		expect, to store.DeviceStatus
		err        error
	}{
		{"", store.StatusWhitelisted, nil},
		{store.StatusPending, store.StatusInstalledNotCommissioned, store.ErrConflict}, // wrong expectation
		{store.StatusWhitelisted, store.StatusInstalledNotCommissioned, nil},
		{"", store.StatusRecovered, store.ErrInvalidTransition},
		{"", store.StatusCommissioned, nil},
		{"", store.StatusCommissioned, nil}, // same status: no-op
		{"", store.StatusSuspended, nil},
		{"", store.StatusCommissioned, nil},
		{"", store.StatusDecommissioned, nil},
		{"", store.StatusCommissioned, store.ErrInvalidTransition},
	}
	at := T0
	for i, st := range steps {
		at = at.Add(time.Minute)
		d, err := inv.SetStatus(ctx, id, st.expect, st.to, at, fmt.Sprint("step ", i))
		if st.err != nil {
			wantErr(t, err, st.err)
			continue
		}
		must(t, err)
		if d.Status != st.to {
			t.Fatalf("step %d: status %s", i, d.Status)
		}
	}
	_, err := inv.SetStatus(ctx, EUI(0x99), "", store.StatusPending, at, "")
	wantErr(t, err, store.ErrNotFound)
	h, err := inv.StatusHistory(ctx, id)
	must(t, err)
	var path []string
	for _, c := range h {
		path = append(path, string(c.From)+">"+string(c.To))
	}
	want := []string{">Pending", "Pending>Whitelisted", "Whitelisted>InstalledNotCommissioned", "InstalledNotCommissioned>Commissioned",
		"Commissioned>Suspended", "Suspended>Commissioned", "Commissioned>Decommissioned"}
	if !slices.Equal(path, want) {
		t.Fatalf("history %v\nwant %v", path, want)
	}
	if !h[0].At.Equal(T0) || !h[1].At.Equal(T0.Add(time.Minute)) || h[1].Reason != "step 0" {
		t.Fatalf("history times/reasons: %+v", h[:2])
	}
	d, err := inv.GetDevice(ctx, id)
	must(t, err)
	if d.Status != store.StatusDecommissioned || !d.StatusSince.Equal(T0.Add(9*time.Minute)) || d.Version != 7 {
		t.Fatalf("device %+v", d)
	}
	// Every pair in the table is allowed, and a few are not.
	for from, tos := range store.Transitions {
		for to := range tos {
			if !store.ValidTransition(from, to) {
				t.Fatal(from, to)
			}
		}
	}
	if store.ValidTransition(store.StatusRecovery, store.StatusCommissioned) || store.ValidTransition(store.StatusDecommissioned, store.StatusCommissioned) {
		t.Fatal("lifecycle too lax")
	}
}

// ---------------------------------------------------------------- registrations

func testRegistrations(t *testing.T, s store.Store) {
	rg := s.Registrations()
	mpan := "1100000000001"
	sup1, sup2, dno := EUI(1), EUI(2), EUI(3)
	d1 := T0
	d2 := T0.Add(30 * 24 * time.Hour)
	must(t, rg.AddRegistration(ctx, store.Registration{MPxN: mpan, Role: store.RoleImportSupplier, Party: sup1, From: d1, To: d2}))
	must(t, rg.AddRegistration(ctx, store.Registration{MPxN: mpan, Role: store.RoleElectricityDistributor, Party: dno, From: d1}))
	// Overlaps.
	wantErr(t, rg.AddRegistration(ctx, store.Registration{MPxN: mpan, Role: store.RoleImportSupplier, Party: sup2, From: d1.Add(time.Hour)}), store.ErrConflict)
	wantErr(t, rg.AddRegistration(ctx, store.Registration{MPxN: mpan, Role: store.RoleImportSupplier, Party: sup2, From: d1.Add(-time.Hour), To: d1.Add(time.Second)}), store.ErrConflict)
	wantErr(t, rg.AddRegistration(ctx, store.Registration{MPxN: mpan, Role: store.RoleElectricityDistributor, Party: sup2, From: d2}), store.ErrConflict)
	// Adjacent periods are fine (To is exclusive).
	must(t, rg.AddRegistration(ctx, store.Registration{MPxN: mpan, Role: store.RoleImportSupplier, Party: sup2, From: d2}))

	for _, tc := range []struct {
		role  store.Role
		party eui.EUI64
		at    time.Time
		want  bool
	}{
		{store.RoleImportSupplier, sup1, d1, true},
		{store.RoleImportSupplier, sup1, d1.Add(-time.Nanosecond), false},
		{store.RoleImportSupplier, sup1, d2.Add(-time.Nanosecond), true},
		{store.RoleImportSupplier, sup1, d2, false},
		{store.RoleImportSupplier, sup2, d2, true},
		{store.RoleImportSupplier, sup2, d2.Add(1000 * time.Hour), true},
		{store.RoleExportSupplier, sup1, d1, false},
		{store.RoleElectricityDistributor, dno, d2, true},
		{store.RoleElectricityDistributor, sup1, d2, false},
	} {
		got, err := rg.IsRegistered(ctx, mpan, tc.role, tc.party, tc.at)
		must(t, err)
		if got != tc.want {
			t.Errorf("IsRegistered(%s, %s, %v) = %v", tc.role, tc.party, tc.at, got)
		}
	}
	at, err := rg.RegisteredAt(ctx, mpan, d1.Add(time.Hour))
	must(t, err)
	if len(at) != 2 || at[0].Role != store.RoleElectricityDistributor || at[1].Party != sup1 || !at[1].To.Equal(d2) || !at[0].To.IsZero() {
		t.Fatalf("RegisteredAt: %+v", at)
	}
	// Change of supplier on the open-ended period.
	d3 := d2.Add(10 * 24 * time.Hour)
	must(t, rg.ChangeParty(ctx, mpan, store.RoleImportSupplier, sup1, d3))
	wantErr(t, rg.ChangeParty(ctx, mpan, store.RoleImportSupplier, sup2, d3), store.ErrConflict)
	ok, err := rg.IsRegistered(ctx, mpan, store.RoleImportSupplier, sup2, d3)
	wantBool(t, ok, err, false)
	ok, err = rg.IsRegistered(ctx, mpan, store.RoleImportSupplier, sup1, d3)
	wantBool(t, ok, err, true)
	ok, err = rg.IsRegistered(ctx, mpan, store.RoleImportSupplier, sup2, d3.Add(-time.Nanosecond))
	wantBool(t, ok, err, true)
	// ChangeParty with no prior period just opens one.
	must(t, rg.ChangeParty(ctx, "7000000001", store.RoleGasSupplier, sup2, d1))
	all, err := rg.ListRegistrations(ctx, mpan)
	must(t, err)
	if len(all) != 4 {
		t.Fatalf("ListRegistrations: %+v", all)
	}
	must(t, rg.DeleteRegistrations(ctx, mpan))
	all, err = rg.ListRegistrations(ctx, mpan)
	must(t, err)
	if len(all) != 0 {
		t.Fatal(all)
	}
	g, err := rg.RegisteredAt(ctx, "7000000001", d1)
	must(t, err)
	if len(g) != 1 || g[0].Party != sup2 {
		t.Fatal(g)
	}
}

// ---------------------------------------------------------------- counters

func testCounters(t *testing.T, s store.Store) {
	c := s.Counters()
	k := store.CounterKey{Space: "duis", Originator: EUI(1)}
	_, ok, err := c.Last(ctx, k)
	wantBool(t, ok, err, false)
	steps := []struct {
		v    uint64
		want bool
	}{
		{0, true}, {0, false}, {5, true}, {5, false}, {4, false}, {1<<63 - 1, true}, {1 << 63, true},
		{1<<63 - 1, false}, {1<<63 + 1, true}, {math.MaxUint64, true}, {math.MaxUint64, false}, {7, false},
	}
	for _, st := range steps {
		got, err := c.Accept(ctx, k, st.v)
		must(t, err)
		if got != st.want {
			t.Fatalf("Accept(%d) = %v, want %v", st.v, got, st.want)
		}
	}
	last, ok, err := c.Last(ctx, k)
	must(t, err)
	if !ok || last != math.MaxUint64 {
		t.Fatal(last, ok)
	}
	// Another originator and another space are independent.
	k2 := store.CounterKey{Space: "duis", Originator: EUI(2)}
	ok, err = c.Accept(ctx, k2, 3)
	wantBool(t, ok, err, true)
	k3 := store.CounterKey{Space: "gbcs", Originator: EUI(1)}
	ok, err = c.Accept(ctx, k3, 3)
	wantBool(t, ok, err, true)

	// Next.
	k4 := store.CounterKey{Space: "alloc", Originator: EUI(1)}
	for _, st := range []struct{ min, want uint64 }{{10, 10}, {0, 11}, {5, 12}, {100, 100}, {0, 101}} {
		v, err := c.Next(ctx, k4, st.min)
		must(t, err)
		if v != st.want {
			t.Fatalf("Next(min %d) = %d, want %d", st.min, v, st.want)
		}
	}
	ok, err = c.Accept(ctx, k4, 101)
	wantBool(t, ok, err, false)
	ok, err = c.Accept(ctx, k4, 200)
	wantBool(t, ok, err, true)
	v, err := c.Next(ctx, k4, 0)
	must(t, err)
	if v != 201 {
		t.Fatal(v)
	}
	_, err = c.Next(ctx, k, 0) // at MaxUint64
	wantErr(t, err, store.ErrCounterExhausted)
}

func testCountersConcurrent(t *testing.T, s store.Store) {
	// G goroutines race to accept the same counters 1..N for one
	// originator, each in a different order. Every value may be accepted by
	// at most one of them, and N must end as the last.
	const G, N = 8, 150
	k := store.CounterKey{Space: "duis", Originator: EUI(7)}
	accepted := make([]atomic.Int32, N+1)
	var wg sync.WaitGroup
	errs := make(chan error, G)
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 1))
			vals := make([]uint64, N)
			for i := range vals {
				vals[i] = uint64(i + 1)
			}
			if g%2 == 1 { // half ascending, half in a partly shuffled order
				r.Shuffle(N, func(i, j int) {
					if i/10 == j/10 {
						vals[i], vals[j] = vals[j], vals[i]
					}
				})
			}
			for _, v := range vals {
				ok, err := s.Counters().Accept(ctx, k, v)
				if err != nil {
					errs <- err
					return
				}
				if ok {
					accepted[v].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for v := 1; v <= N; v++ {
		n := accepted[v].Load()
		if n > 1 {
			t.Fatalf("counter %d accepted %d times", v, n)
		}
		total += int(n)
	}
	last, _, err := s.Counters().Last(ctx, k)
	must(t, err)
	if last != N || accepted[N].Load() != 1 {
		t.Fatalf("last %d", last)
	}
	t.Logf("%d goroutines × %d counters: %d accepted once, none twice", G, N, total)
}

func testCounterNextConcurrent(t *testing.T, s store.Store) {
	const G, N = 8, 50
	k := store.CounterKey{Space: "alloc", Originator: EUI(8)}
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	var failed atomic.Value
	for range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range N {
				v, err := s.Counters().Next(ctx, k, 1)
				if err != nil {
					failed.Store(err)
					return
				}
				mu.Lock()
				if seen[v] {
					failed.Store(fmt.Errorf("value %d allocated twice", v))
				}
				seen[v] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	for v := uint64(1); v <= G*N; v++ {
		if !seen[v] {
			t.Fatalf("value %d never allocated", v)
		}
	}
}

// ---------------------------------------------------------------- requests

// NewRequest makes a test request from originator number o with counter c.
func NewRequest(o, c uint64) store.Request {
	orig, target := EUI(o), EUI(0x1000+c%7)
	return store.Request{
		ID:         fmt.Sprintf("%s:%s:%d", orig, target, c),
		Originator: orig, Target: target, Counter: c,
		SRV: "4.1.1", CommandVariant: 1, Role: store.RoleImportSupplier,
		GBCS: bytes.Repeat([]byte{0xDD}, 120), AcceptedAt: T0, Meta: []byte(`{"k":1}`),
	}
}

func testRequests(t *testing.T, s store.Store) {
	rq := s.Requests()
	a := NewRequest(1, 1<<63+5) // counter above the int64 range
	a.ExecuteAt = T0.Add(time.Hour)
	must(t, rq.InsertRequest(ctx, a))
	wantErr(t, rq.InsertRequest(ctx, a), store.ErrExists)
	dupCounter := NewRequest(1, 1<<63+5)
	dupCounter.ID = "other"
	wantErr(t, rq.InsertRequest(ctx, dupCounter), store.ErrExists)

	got, err := rq.GetRequest(ctx, a.ID)
	must(t, err)
	if got.State != store.RequestAccepted || got.Counter != a.Counter || got.Originator != a.Originator || got.Target != a.Target ||
		!bytes.Equal(got.GBCS, a.GBCS) || !got.ExecuteAt.Equal(a.ExecuteAt) || !got.AcceptedAt.Equal(T0) || got.SRV != "4.1.1" ||
		got.CommandVariant != 1 || got.Role != store.RoleImportSupplier || string(got.Meta) != `{"k":1}` || got.Response != nil || !got.SentAt.IsZero() {
		t.Fatalf("got %+v", got)
	}
	byc, err := rq.RequestByCounter(ctx, a.Originator, a.Counter)
	must(t, err)
	if byc.ID != a.ID {
		t.Fatal(byc.ID)
	}
	_, err = rq.RequestByCounter(ctx, a.Originator, a.Counter+1)
	wantErr(t, err, store.ErrNotFound)
	_, err = rq.GetRequest(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)

	ok, err := rq.MarkSent(ctx, a.ID, T0.Add(time.Second), T0.Add(time.Minute))
	wantBool(t, ok, err, true)
	ok, err = rq.MarkSent(ctx, a.ID, T0.Add(2*time.Second), T0.Add(2*time.Minute))
	wantBool(t, ok, err, false)
	_, err = rq.MarkSent(ctx, "nope", T0, T0)
	wantErr(t, err, store.ErrNotFound)

	b := NewRequest(1, 10)
	c := NewRequest(2, 10)
	c.Deadline = T0.Add(30 * time.Second) // deadline set at accept
	must(t, rq.InsertRequest(ctx, b))
	must(t, rq.InsertRequest(ctx, c))

	od, err := rq.Overdue(ctx, T0.Add(time.Minute), 10)
	must(t, err)
	if len(od) != 2 || od[0].ID != c.ID || od[1].ID != a.ID {
		t.Fatalf("overdue %v", ids(od))
	}
	od, err = rq.Overdue(ctx, T0.Add(59*time.Second), 10)
	must(t, err)
	if len(od) != 1 {
		t.Fatalf("overdue %v", ids(od))
	}

	ok, err = rq.Finish(ctx, a.ID, store.RequestResponded, "I0", []byte{1, 2, 3}, T0.Add(3*time.Second))
	wantBool(t, ok, err, true)
	ok, err = rq.Finish(ctx, a.ID, store.RequestTimedOut, "E21", nil, T0.Add(4*time.Second))
	wantBool(t, ok, err, false)
	ok, err = rq.MarkSent(ctx, a.ID, T0, T0)
	wantBool(t, ok, err, false)
	_, err = rq.Finish(ctx, a.ID, store.RequestSent, "", nil, T0)
	if err == nil {
		t.Fatal("Finish to a non-final state accepted")
	}
	_, err = rq.Finish(ctx, "nope", store.RequestFailed, "E20", nil, T0)
	wantErr(t, err, store.ErrNotFound)
	got, err = rq.GetRequest(ctx, a.ID)
	must(t, err)
	if got.State != store.RequestResponded || got.Outcome != "I0" || !bytes.Equal(got.Response, []byte{1, 2, 3}) ||
		!got.FinishedAt.Equal(T0.Add(3*time.Second)) || !got.SentAt.Equal(T0.Add(time.Second)) || !got.Deadline.Equal(T0.Add(time.Minute)) {
		t.Fatalf("finished %+v", got)
	}
	// Finished requests are neither overdue nor unfinished.
	od, err = rq.Overdue(ctx, T0.Add(time.Hour), 10)
	must(t, err)
	if len(od) != 1 || od[0].ID != c.ID {
		t.Fatalf("overdue %v", ids(od))
	}
	// Finish straight from accepted.
	ok, err = rq.Finish(ctx, c.ID, store.RequestFailed, "E20", nil, T0)
	wantBool(t, ok, err, true)

	for i := range 25 {
		must(t, rq.InsertRequest(ctx, NewRequest(3, uint64(100+i))))
	}
	var all []store.Request
	after := ""
	for {
		page, err := rq.Unfinished(ctx, store.RequestAccepted, after, 10)
		must(t, err)
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		after = page[len(page)-1].ID
	}
	if len(all) != 26 { // b and the 25
		t.Fatalf("unfinished: %d", len(all))
	}
	if _, err := rq.Unfinished(ctx, store.RequestResponded, "", 1); err == nil {
		t.Fatal("Unfinished(responded) accepted")
	}
	counts, err := rq.CountByState(ctx)
	must(t, err)
	if counts[store.RequestAccepted] != 26 || counts[store.RequestResponded] != 1 || counts[store.RequestFailed] != 1 || counts[store.RequestSent] != 0 {
		t.Fatalf("counts %v", counts)
	}
}

func ids(rs []store.Request) []string {
	var s []string
	for _, r := range rs {
		s = append(s, r.ID)
	}
	return s
}

func testRequestFinishOnce(t *testing.T, s store.Store) {
	// Racing finishers (a response and a timeout, a worker and its redelivery):
	// exactly one wins per request.
	const R, G = 20, 6
	var reqs []store.Request
	for i := range R {
		r := NewRequest(9, uint64(i+1))
		must(t, s.Requests().InsertRequest(ctx, r))
		reqs = append(reqs, r)
	}
	wins := make([]atomic.Int32, R)
	var wg sync.WaitGroup
	var failed atomic.Value
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, r := range reqs {
				st, code := store.RequestResponded, "I0"
				if g%2 == 1 {
					st, code = store.RequestTimedOut, "E21"
				}
				ok, err := s.Requests().Finish(ctx, r.ID, st, code, []byte{byte(g)}, T0)
				if err != nil {
					failed.Store(err)
					return
				}
				if ok {
					wins[i].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	for i := range wins {
		if n := wins[i].Load(); n != 1 {
			t.Fatalf("request %d finished %d times", i, n)
		}
	}
}

// ---------------------------------------------------------------- outbox

func testOutbox(t *testing.T, s store.Store) {
	ob := s.Outbox()
	u1, u2 := EUI(1), EUI(2)
	m := store.OutboxMessage{ID: "R1", Recipient: u1, Kind: "response", RequestID: "Q1", Payload: []byte("<xml/>"),
		CreatedAt: T0, NextAttempt: T0}
	ok, err := ob.Enqueue(ctx, m)
	wantBool(t, ok, err, true)
	m2 := m
	m2.Payload = []byte("changed")
	ok, err = ob.Enqueue(ctx, m2)
	wantBool(t, ok, err, false)
	got, err := ob.GetMessage(ctx, "R1")
	must(t, err)
	if string(got.Payload) != "<xml/>" || !got.ExpiresAt.Equal(T0.Add(store.DefaultOutboxRetention)) || got.Attempts != 0 ||
		got.Recipient != u1 || got.Kind != "response" || got.RequestID != "Q1" || !got.DeliveredAt.IsZero() {
		t.Fatalf("got %+v", got)
	}
	_, err = ob.GetMessage(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)
	// Later and other-recipient messages.
	_, err = ob.Enqueue(ctx, store.OutboxMessage{ID: "R2", Recipient: u2, CreatedAt: T0, NextAttempt: T0.Add(time.Minute)})
	must(t, err)
	_, err = ob.Enqueue(ctx, store.OutboxMessage{ID: "R3", Recipient: u1, CreatedAt: T0, NextAttempt: T0.Add(-time.Second), URL: "http://x/"})
	must(t, err)

	cl, err := ob.Claim(ctx, "w1", T0, 10*time.Second, 10)
	must(t, err)
	if len(cl) != 2 || cl[0].ID != "R3" || cl[1].ID != "R1" || cl[0].Attempts != 1 || cl[0].LeaseOwner != "w1" ||
		!cl[0].LeaseUntil.Equal(T0.Add(10*time.Second)) || cl[0].URL != "http://x/" {
		t.Fatalf("claimed %+v", cl)
	}
	st, err := ob.Stats(ctx, T0)
	must(t, err)
	if st != (store.OutboxStats{Undelivered: 3, Due: 0, Leased: 2}) {
		t.Fatalf("stats %+v", st)
	}
	// Nothing more is due now.
	cl2, err := ob.Claim(ctx, "w2", T0.Add(time.Second), 10*time.Second, 10)
	must(t, err)
	if len(cl2) != 0 {
		t.Fatalf("claimed again: %v", cl2)
	}
	ok, err = ob.Delivered(ctx, "R1", T0.Add(time.Second))
	wantBool(t, ok, err, true)
	ok, err = ob.Delivered(ctx, "R1", T0.Add(2*time.Second))
	wantBool(t, ok, err, false)
	_, err = ob.Delivered(ctx, "nope", T0)
	wantErr(t, err, store.ErrNotFound)
	ok, err = ob.Retry(ctx, "R3", "w2", T0.Add(time.Minute), "x") // not the owner
	wantBool(t, ok, err, false)
	ok, err = ob.Retry(ctx, "R3", "w1", T0.Add(30*time.Second), "HTTP 503")
	wantBool(t, ok, err, true)
	ok, err = ob.Retry(ctx, "R1", "w1", T0.Add(30*time.Second), "x") // delivered
	wantBool(t, ok, err, false)

	cl, err = ob.Claim(ctx, "w2", T0.Add(time.Minute), 10*time.Second, 10)
	must(t, err)
	if len(cl) != 2 || cl[0].ID != "R3" || cl[1].ID != "R2" || cl[0].Attempts != 2 || cl[0].LastError != "HTTP 503" {
		t.Fatalf("claimed %+v", cl)
	}
	und, err := ob.Undelivered(ctx, u1, T0, 10)
	must(t, err)
	if len(und) != 1 || und[0].ID != "R3" {
		t.Fatalf("undelivered %+v", und)
	}
	und, err = ob.Undelivered(ctx, eui.EUI64{}, T0, 10)
	must(t, err)
	if len(und) != 2 {
		t.Fatalf("undelivered all %+v", und)
	}
	for _, id := range []string{"R2", "R3"} {
		ok, err = ob.Retry(ctx, id, "w2", T0.Add(time.Hour), "HTTP 500")
		wantBool(t, ok, err, true)
	}
	// Requeue a delivered message for redelivery.
	ok, err = ob.Requeue(ctx, "R1", T0.Add(2*time.Minute))
	wantBool(t, ok, err, true)
	cl, err = ob.Claim(ctx, "w3", T0.Add(2*time.Minute), time.Second, 10)
	must(t, err)
	if len(cl) != 1 || cl[0].ID != "R1" || cl[0].Attempts != 2 {
		t.Fatalf("claimed after requeue %+v", cl)
	}

	// Expiry: not claimable, counted as expired, purged.
	exp := T0.Add(store.DefaultOutboxRetention)
	cl, err = ob.Claim(ctx, "w4", exp, time.Second, 10)
	must(t, err)
	if len(cl) != 0 {
		t.Fatalf("claimed expired: %v", cl)
	}
	ok, err = ob.Requeue(ctx, "R2", exp)
	wantBool(t, ok, err, false)
	st, err = ob.Stats(ctx, exp)
	must(t, err)
	if st.Expired != 3 || st.Undelivered != 0 {
		t.Fatalf("stats at expiry %+v", st)
	}
	n, err := ob.Purge(ctx, exp.Add(-time.Nanosecond))
	must(t, err)
	if n != 0 {
		t.Fatal(n)
	}
	n, err = ob.Purge(ctx, exp)
	must(t, err)
	if n != 3 {
		t.Fatal(n)
	}
}

func testOutboxLeases(t *testing.T, s store.Store) {
	ob := s.Outbox()
	_, err := ob.Enqueue(ctx, store.OutboxMessage{ID: "L1", Recipient: EUI(1), CreatedAt: T0})
	must(t, err)
	cl, err := ob.Claim(ctx, "dead-worker", T0, 30*time.Second, 1)
	must(t, err)
	if len(cl) != 1 {
		t.Fatal(cl)
	}
	// The worker dies: no ack. Until the lease ends nobody gets it…
	cl, err = ob.Claim(ctx, "w2", T0.Add(30*time.Second-time.Nanosecond), 30*time.Second, 1)
	must(t, err)
	if len(cl) != 0 {
		t.Fatal("claimed under a live lease")
	}
	// …then it is claimable again, with the attempt counted.
	cl, err = ob.Claim(ctx, "w2", T0.Add(30*time.Second), 30*time.Second, 1)
	must(t, err)
	if len(cl) != 1 || cl[0].Attempts != 2 || cl[0].LeaseOwner != "w2" {
		t.Fatalf("%+v", cl)
	}
	// The dead worker's late Retry is refused; its late ack is honoured
	// (the message did reach the user).
	ok, err := ob.Retry(ctx, "L1", "dead-worker", T0.Add(time.Hour), "late")
	wantBool(t, ok, err, false)
	ok, err = ob.Delivered(ctx, "L1", T0.Add(31*time.Second))
	wantBool(t, ok, err, true)
	ok, err = ob.Retry(ctx, "L1", "w2", T0.Add(time.Hour), "late")
	wantBool(t, ok, err, false)
	if _, err := ob.Claim(ctx, "", T0, time.Second, 1); err == nil {
		t.Fatal("Claim without owner")
	}
}

func testOutboxConcurrentClaims(t *testing.T, s store.Store) {
	const M, W = 300, 8
	for i := range M {
		_, err := s.Outbox().Enqueue(ctx, store.OutboxMessage{ID: fmt.Sprintf("C%04d", i), Recipient: EUI(uint64(i % 5)),
			CreatedAt: T0, NextAttempt: T0.Add(time.Duration(i) * time.Millisecond), Payload: []byte("x")})
		must(t, err)
	}
	now := T0.Add(time.Hour)
	claims := make([]atomic.Int32, M)
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range W {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprint("worker-", w)
			for {
				ms, err := s.Outbox().Claim(ctx, owner, now, time.Hour, 7)
				if err != nil {
					failed.Store(err)
					return
				}
				if len(ms) == 0 {
					return
				}
				for _, m := range ms {
					var i int
					fmt.Sscanf(m.ID, "C%04d", &i)
					claims[i].Add(1)
					if _, err := s.Outbox().Delivered(ctx, m.ID, now); err != nil {
						failed.Store(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	for i := range claims {
		if n := claims[i].Load(); n != 1 {
			t.Fatalf("message %d claimed %d times", i, n)
		}
	}
	st, err := s.Outbox().Stats(ctx, now)
	must(t, err)
	if st.Delivered != M || st.Undelivered != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// ---------------------------------------------------------------- holds

func testHolds(t *testing.T, s store.Store) {
	hs := s.Holds()
	h1 := store.Hold{ID: "H1", Kind: "future-dated", Owner: EUI(1), RequestID: "Q1", ReleaseAt: T0.Add(time.Hour), Payload: []byte("p1")}
	h2 := store.Hold{ID: "H2", Kind: "schedule", Owner: EUI(2), ReleaseAt: T0.Add(2 * time.Hour)}
	for _, h := range []store.Hold{h1, h2} {
		ok, err := hs.PutHold(ctx, h)
		wantBool(t, ok, err, true)
	}
	ok, err := hs.PutHold(ctx, h1)
	wantBool(t, ok, err, false)
	got, err := hs.GetHold(ctx, "H1")
	must(t, err)
	if got.Kind != h1.Kind || got.Owner != h1.Owner || got.RequestID != "Q1" || !got.ReleaseAt.Equal(h1.ReleaseAt) || string(got.Payload) != "p1" || got.CreatedAt.IsZero() {
		t.Fatalf("got %+v", got)
	}
	_, err = hs.GetHold(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)
	l, err := hs.ListHolds(ctx, store.HoldFilter{Kind: "schedule"})
	must(t, err)
	if len(l) != 1 || l[0].ID != "H2" {
		t.Fatal(l)
	}
	l, err = hs.ListHolds(ctx, store.HoldFilter{Owner: EUI(1), RequestID: "Q1"})
	must(t, err)
	if len(l) != 1 || l[0].ID != "H1" {
		t.Fatal(l)
	}
	cl, err := hs.ClaimHolds(ctx, "r1", T0.Add(time.Hour-time.Nanosecond), time.Minute, 10)
	must(t, err)
	if len(cl) != 0 {
		t.Fatal("claimed before release time")
	}
	cl, err = hs.ClaimHolds(ctx, "r1", T0.Add(3*time.Hour), time.Minute, 10)
	must(t, err)
	if len(cl) != 2 || cl[0].ID != "H1" || cl[0].Releases != 1 || cl[0].LeaseOwner != "r1" {
		t.Fatalf("%+v", cl)
	}
	cl, err = hs.ClaimHolds(ctx, "r2", T0.Add(3*time.Hour), time.Minute, 10)
	must(t, err)
	if len(cl) != 0 {
		t.Fatal("claimed under a live lease")
	}
	ok, err = hs.DoneHold(ctx, "H1", "r2")
	wantBool(t, ok, err, false)
	ok, err = hs.DoneHold(ctx, "H1", "r1")
	wantBool(t, ok, err, true)
	ok, err = hs.DoneHold(ctx, "H1", "r1")
	wantBool(t, ok, err, false)
	// A recurring schedule: reschedule to its next run.
	ok, err = hs.RescheduleHold(ctx, "H2", "r1", T0.Add(26*time.Hour))
	wantBool(t, ok, err, true)
	cl, err = hs.ClaimHolds(ctx, "r2", T0.Add(25*time.Hour), time.Minute, 10)
	must(t, err)
	if len(cl) != 0 {
		t.Fatal(cl)
	}
	// Lease expiry makes it claimable again by someone else.
	cl, err = hs.ClaimHolds(ctx, "r2", T0.Add(26*time.Hour), time.Minute, 10)
	must(t, err)
	if len(cl) != 1 || cl[0].Releases != 2 {
		t.Fatal(cl)
	}
	cl, err = hs.ClaimHolds(ctx, "r3", T0.Add(26*time.Hour+time.Minute), time.Minute, 10)
	must(t, err)
	if len(cl) != 1 || cl[0].LeaseOwner != "r3" {
		t.Fatal(cl)
	}
	ok, err = hs.CancelHold(ctx, "H2")
	wantBool(t, ok, err, true)
	ok, err = hs.CancelHold(ctx, "H2")
	wantBool(t, ok, err, false)
}

// testFarTimes: times beyond int64 nanoseconds (DUIS's 3000-12-31, the
// DCC's 9999-12-31 "never") keep their order: a hold released then is not
// due now, and reads back as store.MaxTime. UnixNano wraps 3000-12-31 to
// 1831, which released such holds at once.
func testFarTimes(t *testing.T, s store.Store) {
	hs := s.Holds()
	for i, at := range []time.Time{time.Date(3000, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)} {
		id := fmt.Sprintf("far%d", i)
		ok, err := hs.PutHold(ctx, store.Hold{ID: id, Kind: "far", ReleaseAt: at})
		wantBool(t, ok, err, true)
		got, err := hs.GetHold(ctx, id)
		must(t, err)
		if !got.ReleaseAt.Equal(store.MaxTime) {
			t.Errorf("release %v reads back as %v, want %v", at, got.ReleaseAt, store.MaxTime)
		}
	}
	cl, err := hs.ClaimHolds(ctx, "far", time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC), time.Minute, 10)
	must(t, err)
	if len(cl) != 0 {
		t.Fatalf("far-future holds claimed in 2262: %+v", cl)
	}
	long := store.Hold{ID: "long-ago", Kind: "far", ReleaseAt: time.Date(1066, 10, 14, 0, 0, 0, 0, time.UTC)}
	ok, err := hs.PutHold(ctx, long)
	wantBool(t, ok, err, true)
	cl, err = hs.ClaimHolds(ctx, "far", T0, time.Minute, 10)
	must(t, err)
	if len(cl) != 1 || cl[0].ID != "long-ago" || !cl[0].ReleaseAt.Equal(store.MinTime) {
		t.Fatalf("the hold due since 1066: %+v", cl)
	}
	rq := s.Requests()
	r := NewRequest(9, 9)
	r.ExecuteAt = time.Date(3000, 12, 31, 0, 0, 0, 0, time.UTC)
	must(t, rq.InsertRequest(ctx, r))
	got, err := rq.GetRequest(ctx, r.ID)
	must(t, err)
	if !got.ExecuteAt.Equal(store.MaxTime) {
		t.Errorf("execution time %v reads back as %v", r.ExecuteAt, got.ExecuteAt)
	}
}

// ---------------------------------------------------------------- transactions

// AcceptTx is what the core does on accepting a device request: the
// counter, the request and the work item commit together or not at all.
func AcceptTx(ctx context.Context, s store.Store, r store.Request, extra func(tx store.Repos) error) (bool, error) {
	accepted := false
	err := s.InTx(ctx, func(tx store.Repos) error {
		ok, err := tx.Counters().Accept(ctx, store.CounterKey{Space: "duis", Originator: r.Originator}, r.Counter)
		if err != nil || !ok {
			return err
		}
		if err := tx.Requests().InsertRequest(ctx, r); err != nil {
			return err
		}
		if _, err := tx.Outbox().Enqueue(ctx, store.OutboxMessage{ID: "ack:" + r.ID, Recipient: r.Originator, RequestID: r.ID,
			Payload: r.GBCS}); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(tx); err != nil {
				return err
			}
		}
		accepted = true
		return nil
	})
	return accepted, err
}

func testTransactions(t *testing.T, s store.Store) {
	r := NewRequest(1, 100)
	ok, err := AcceptTx(ctx, s, r, nil)
	wantBool(t, ok, err, true)
	ok, err = AcceptTx(ctx, s, r, nil) // replay: stale counter
	wantBool(t, ok, err, false)

	// A failure after the counter moved rolls the counter back too.
	boom := errors.New("boom")
	r2 := NewRequest(1, 200)
	_, err = AcceptTx(ctx, s, r2, func(store.Repos) error { return boom })
	wantErr(t, err, boom)
	last, _, err := s.Counters().Last(ctx, store.CounterKey{Space: "duis", Originator: r.Originator})
	must(t, err)
	if last != 100 {
		t.Fatalf("counter after rollback: %d", last)
	}
	_, err = s.Requests().GetRequest(ctx, r2.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.Outbox().GetMessage(ctx, "ack:"+r2.ID)
	wantErr(t, err, store.ErrNotFound)

	// A store error inside (duplicate request) rolls everything back.
	r3 := NewRequest(1, 300)
	r3.ID = r.ID
	_, err = AcceptTx(ctx, s, r3, nil)
	wantErr(t, err, store.ErrExists)
	last, _, _ = s.Counters().Last(ctx, store.CounterKey{Space: "duis", Originator: r.Originator})
	if last != 100 {
		t.Fatalf("counter after failed insert: %d", last)
	}

	// A panic rolls back and propagates.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("panic swallowed")
			}
		}()
		AcceptTx(ctx, s, NewRequest(1, 400), func(store.Repos) error { panic("x") })
	}()
	_, err = s.Requests().GetRequest(ctx, NewRequest(1, 400).ID)
	wantErr(t, err, store.ErrNotFound)

	// Reads inside a transaction see its own writes; the store is usable
	// after all of the above.
	err = s.InTx(ctx, func(tx store.Repos) error {
		must(t, tx.Inventory().AddDevice(ctx, store.Device{ID: EUI(5), Type: store.DeviceGSME, Status: store.StatusPending}, ""))
		if _, err := tx.Inventory().SetStatus(ctx, EUI(5), store.StatusPending, store.StatusWhitelisted, T0, ""); err != nil {
			return err
		}
		d, err := tx.Inventory().GetDevice(ctx, EUI(5))
		if err != nil {
			return err
		}
		if d.Status != store.StatusWhitelisted {
			return fmt.Errorf("in-tx read %s", d.Status)
		}
		ok, err := tx.Requests().Finish(ctx, r.ID, store.RequestResponded, "I0", nil, T0)
		if err != nil || !ok {
			return fmt.Errorf("finish in tx: %v %v", ok, err)
		}
		_, err = tx.Outbox().Enqueue(ctx, store.OutboxMessage{ID: "final:" + r.ID, Recipient: r.Originator})
		return err
	})
	must(t, err)
	got, err := s.Requests().GetRequest(ctx, r.ID)
	must(t, err)
	if got.State != store.RequestResponded {
		t.Fatal(got.State)
	}
}

func testTransactionsConcurrent(t *testing.T, s store.Store) {
	// Many goroutines accept requests from a few originators, all through
	// AcceptTx, with overlapping counters: every counter of an originator
	// is accepted at most once and each accepted one has its request and
	// outbox row.
	const G, N, O = 8, 40, 3
	var wg sync.WaitGroup
	var failed atomic.Value
	var acceptedN atomic.Int32
	for g := range G {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range N {
				r := NewRequest(uint64(20+(g+i)%O), uint64(i+1))
				ok, err := AcceptTx(ctx, s, r, nil)
				if err != nil {
					failed.Store(err)
					return
				}
				if ok {
					acceptedN.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		t.Fatal(err)
	}
	counts, err := s.Requests().CountByState(ctx)
	must(t, err)
	st, err := s.Outbox().Stats(ctx, time.Now())
	must(t, err)
	if int(acceptedN.Load()) != counts[store.RequestAccepted] || st.Undelivered != counts[store.RequestAccepted] || acceptedN.Load() > O*N {
		t.Fatalf("accepted %d, requests %v, outbox %+v", acceptedN.Load(), counts, st)
	}
	t.Logf("%d accepted of %d attempts", acceptedN.Load(), G*N)
}

// testTransactionsFailingAmongConcurrent: transactions that fail (or
// panic) among concurrent ones that commit leave nothing written and their
// counters unconsumed, whatever the store groups into one commit; writes
// outside transactions interleave.
func testTransactionsFailingAmongConcurrent(t *testing.T, s store.Store) {
	errCheck := errors.New("check failed")
	const n = 120
	failed := func(i int) bool { return i%5 == 1 || (i%5 == 2 && i%3 == 0) }
	req := func(i int) store.Request { return NewRequest(uint64(100+i), uint64(1000+i)) }
	var wg sync.WaitGroup
	errs := make([]error, n)
	oks := make([]bool, n)
	panics := make([]any, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if i%7 == 0 {
				if _, err := s.Outbox().Enqueue(ctx, store.OutboxMessage{ID: fmt.Sprintf("plain:%d", i), Recipient: EUI(1), Payload: []byte{1}}); err != nil {
					t.Error(err)
				}
			}
			defer func() { panics[i] = recover() }()
			oks[i], errs[i] = AcceptTx(ctx, s, req(i), func(tx store.Repos) error {
				switch {
				case i%5 == 1:
					return errCheck
				case failed(i):
					panic("boom")
				}
				return nil
			})
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		r := req(i)
		_, err := s.Requests().GetRequest(ctx, r.ID)
		last, consumed, cerr := s.Counters().Last(ctx, store.CounterKey{Space: "duis", Originator: r.Originator})
		must(t, cerr)
		switch {
		case i%5 == 1:
			wantErr(t, errs[i], errCheck)
		case failed(i):
			if panics[i] != "boom" {
				t.Fatalf("item %d: panic %v, want boom", i, panics[i])
			}
		default:
			must(t, errs[i])
			if !oks[i] {
				t.Fatalf("item %d not accepted", i)
			}
		}
		if failed(i) {
			wantErr(t, err, store.ErrNotFound)
			if consumed {
				t.Fatalf("item %d failed but its counter is consumed (%d)", i, last)
			}
			if _, err := s.Outbox().GetMessage(ctx, "ack:"+r.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("item %d failed but its outbox message exists: %v", i, err)
			}
		} else {
			must(t, err)
			if !consumed || last != r.Counter {
				t.Fatalf("item %d: counter %d %v, want %d", i, last, consumed, r.Counter)
			}
		}
	}
	for i := 0; i < n; i += 7 {
		ok, err := s.Outbox().Delivered(ctx, fmt.Sprintf("plain:%d", i), T0)
		if err != nil || !ok {
			t.Fatalf("plain:%d: %v %v", i, ok, err)
		}
	}
}

// testDeviceReadsAfterWrites: a device read again after a write
// (committed, or rolled back, inside or outside a transaction) is the
// committed one, whatever the store caches.
func testDeviceReadsAfterWrites(t *testing.T, s store.Store) {
	id := EUI(0x7D)
	status := func(want store.DeviceStatus) {
		t.Helper()
		for i := 0; i < 2; i++ {
			d, err := s.Inventory().GetDevice(ctx, id)
			must(t, err)
			if d.Status != want {
				t.Fatalf("status %s, want %s", d.Status, want)
			}
		}
	}
	must(t, s.Inventory().AddDevice(ctx, store.Device{ID: id, Type: store.DeviceESME, Status: store.StatusCommissioned, StatusSince: T0}, "test"))
	status(store.StatusCommissioned)
	errNo := errors.New("no")
	wantErr(t, s.InTx(ctx, func(tx store.Repos) error {
		if _, err := tx.Inventory().SetStatus(ctx, id, "", store.StatusSuspended, T0.Add(time.Second), "test"); err != nil {
			t.Fatal(err)
		}
		if d, err := tx.Inventory().GetDevice(ctx, id); err != nil || d.Status != store.StatusSuspended {
			t.Fatalf("in tx: %v %v", d.Status, err)
		}
		return errNo
	}), errNo)
	status(store.StatusCommissioned)
	must(t, s.InTx(ctx, func(tx store.Repos) error {
		_, err := tx.Inventory().SetStatus(ctx, id, "", store.StatusSuspended, T0.Add(time.Second), "test")
		return err
	}))
	status(store.StatusSuspended)
	d, err := s.Inventory().SetStatus(ctx, id, "", store.StatusCommissioned, T0.Add(2*time.Second), "test")
	must(t, err)
	status(store.StatusCommissioned)
	d.UPRN = "u1"
	_, err = s.Inventory().UpdateDevice(ctx, d)
	must(t, err)
	if d, _ := s.Inventory().GetDevice(ctx, id); d.UPRN != "u1" {
		t.Fatalf("after UpdateDevice: %+v", d)
	}
	must(t, s.Inventory().DeleteDevice(ctx, id))
	_, err = s.Inventory().GetDevice(ctx, id)
	wantErr(t, err, store.ErrNotFound)
}

// testUserReadsAfterWrites: a user read again after a write (committed, or
// rolled back, inside or outside a transaction) is the committed one,
// whatever the store caches.
func testUserReadsAfterWrites(t *testing.T, s store.Store) {
	id := EUI(77)
	status := func(want store.UserStatus) {
		t.Helper()
		for i := 0; i < 2; i++ {
			u, err := s.Users().GetUser(ctx, id)
			must(t, err)
			if u.Status != want {
				t.Fatalf("status %s, want %s", u.Status, want)
			}
		}
	}
	must(t, s.Users().PutUser(ctx, store.User{ID: id, Name: "u", Roles: []store.Role{store.RoleImportSupplier}, Status: store.UserActive}))
	status(store.UserActive)
	errNo := errors.New("no")
	wantErr(t, s.InTx(ctx, func(tx store.Repos) error {
		must(t, tx.Users().SetUserStatus(ctx, id, store.UserSuspended))
		if u, err := tx.Users().GetUser(ctx, id); err != nil || u.Status != store.UserSuspended {
			t.Fatalf("in tx: %v %v", u.Status, err)
		}
		return errNo
	}), errNo)
	status(store.UserActive)
	must(t, s.InTx(ctx, func(tx store.Repos) error { return tx.Users().SetUserStatus(ctx, id, store.UserSuspended) }))
	status(store.UserSuspended)
	must(t, s.Users().SetUserStatus(ctx, id, store.UserActive))
	status(store.UserActive)
	u, err := s.Users().GetUser(ctx, id)
	must(t, err)
	u.Roles[0] = store.RoleGasSupplier // the caller's copy
	u.ResponseURL = "http://x"
	must(t, s.Users().PutUser(ctx, u))
	if u, _ := s.Users().GetUser(ctx, id); u.ResponseURL != "http://x" || u.Roles[0] != store.RoleGasSupplier {
		t.Fatalf("after PutUser: %+v", u)
	}
	must(t, s.Users().DeleteUser(ctx, id))
	_, err = s.Users().GetUser(ctx, id)
	wantErr(t, err, store.ErrNotFound)
}

// testRegistrationReadsAfterWrites: an eligibility check after a
// registration write (committed, or rolled back, inside or outside a
// transaction) sees the committed registrations, whatever the store caches.
func testRegistrationReadsAfterWrites(t *testing.T, s store.Store) {
	const mpxn = "2200000000077"
	a, b := EUI(0x7E), EUI(0x7F)
	regs := s.Registrations()
	is := func(party eui.EUI64, at time.Time, want bool) {
		t.Helper()
		for i := 0; i < 2; i++ {
			ok, err := regs.IsRegistered(ctx, mpxn, store.RoleImportSupplier, party, at)
			wantBool(t, ok, err, want)
		}
	}
	is(a, T0, false)
	must(t, regs.AddRegistration(ctx, store.Registration{MPxN: mpxn, Role: store.RoleImportSupplier, Party: a, From: T0}))
	is(a, T0, true)
	is(a, T0.Add(-1), false)
	is(b, T0, false)
	errNo := errors.New("no")
	wantErr(t, s.InTx(ctx, func(tx store.Repos) error {
		must(t, tx.Registrations().ChangeParty(ctx, mpxn, store.RoleImportSupplier, b, T0.Add(time.Hour)))
		ok, err := tx.Registrations().IsRegistered(ctx, mpxn, store.RoleImportSupplier, b, T0.Add(time.Hour))
		wantBool(t, ok, err, true)
		return errNo
	}), errNo)
	is(b, T0.Add(time.Hour), false)
	is(a, T0.Add(time.Hour), true)
	must(t, s.InTx(ctx, func(tx store.Repos) error {
		return tx.Registrations().ChangeParty(ctx, mpxn, store.RoleImportSupplier, b, T0.Add(time.Hour))
	}))
	is(a, T0.Add(time.Hour), false)
	is(a, T0.Add(time.Hour-1), true)
	is(b, T0.Add(time.Hour), true)
	must(t, regs.ChangeParty(ctx, mpxn, store.RoleImportSupplier, a, T0.Add(2*time.Hour)))
	is(b, T0.Add(2*time.Hour), false)
	is(a, T0.Add(2*time.Hour), true)
	must(t, regs.DeleteRegistrations(ctx, mpxn))
	is(a, T0.Add(2*time.Hour), false)
	is(a, T0, false)
}
