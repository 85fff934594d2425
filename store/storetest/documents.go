package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// Documents: a request's meta and an outbox message's payload are large
// and written once; the SQL stores keep them apart from their rows (see
// store/internal/sqlcore). These tests check that nothing of that shows
// through the API.

// doc is a document of n bytes made of tag (distinct documents differ from
// their first byte on).
func doc(tag string, n int) []byte {
	b := bytes.Repeat([]byte(tag+"."), n/(len(tag)+1)+1)
	return b[:n]
}

// testDocuments: metas and payloads read back unchanged through every
// reader, after every update of their rows; an empty one reads back nil; a
// duplicate insert (outside a transaction or inside one that commits all
// the same) keeps the first document; a rolled-back one leaves none.
func testDocuments(t *testing.T, s store.Store) {
	rq, ob := s.Requests(), s.Outbox()
	const R = 30
	reqs := make([]store.Request, R)
	for i := range reqs {
		r := NewRequest(uint64(1+i%3), uint64(i+1))
		r.Meta = doc(fmt.Sprintf("meta%d", i), 2000+i*37)
		if i%10 == 9 {
			r.Meta = nil
		}
		r.Deadline = T0.Add(time.Duration(i+1) * time.Second)
		must(t, rq.InsertRequest(ctx, r))
		reqs[i] = r
	}
	wantReq := func(stage string, got store.Request) {
		t.Helper()
		for _, r := range reqs {
			if r.ID == got.ID {
				if !bytes.Equal(got.Meta, r.Meta) || (r.Meta == nil) != (got.Meta == nil) || !bytes.Equal(got.GBCS, r.GBCS) {
					t.Fatalf("%s: request %s: meta %d bytes %.12q, want %d bytes %.12q", stage, r.ID, len(got.Meta), got.Meta, len(r.Meta), r.Meta)
				}
				return
			}
		}
		t.Fatalf("%s: unknown request %s", stage, got.ID)
	}
	checkAll := func(stage string) {
		t.Helper()
		for _, r := range reqs {
			got, err := rq.GetRequest(ctx, r.ID)
			must(t, err)
			wantReq(stage+" GetRequest", got)
			got, err = rq.RequestByCounter(ctx, r.Originator, r.Counter)
			must(t, err)
			wantReq(stage+" RequestByCounter", got)
		}
	}
	checkAll("accepted")
	// Duplicates: the first meta stays, outside and inside a transaction
	// that commits after the ErrExists.
	dup := reqs[0]
	dup.Meta = []byte("other meta")
	wantErr(t, rq.InsertRequest(ctx, dup), store.ErrExists)
	dupCounter := reqs[1]
	dupCounter.ID, dupCounter.Meta = "other id", []byte("other meta")
	wantErr(t, rq.InsertRequest(ctx, dupCounter), store.ErrExists)
	must(t, s.InTx(ctx, func(tx store.Repos) error {
		wantErr(t, tx.Requests().InsertRequest(ctx, dup), store.ErrExists)
		return tx.Requests().InsertRequest(ctx, NewRequest(7, 1)) // the transaction goes on
	}))
	checkAll("after duplicates")
	od, err := rq.Overdue(ctx, T0.Add(time.Hour), 2*R)
	must(t, err)
	if len(od) != R {
		t.Fatalf("overdue: %d", len(od))
	}
	for _, r := range od {
		wantReq("Overdue", r)
	}
	for i, r := range reqs {
		if i%2 == 0 {
			ok, err := rq.MarkSent(ctx, r.ID, T0.Add(time.Second), T0.Add(time.Minute))
			wantBool(t, ok, err, true)
		}
	}
	checkAll("sent")
	for _, st := range []store.RequestState{store.RequestAccepted, store.RequestSent} {
		un, err := rq.Unfinished(ctx, st, "", 2*R)
		must(t, err)
		for _, r := range un {
			if r.ID != NewRequest(7, 1).ID {
				wantReq("Unfinished "+string(st), r)
			}
		}
	}
	for i, r := range reqs {
		ok, err := rq.Finish(ctx, r.ID, store.RequestResponded, "I0", doc(fmt.Sprintf("resp%d", i), 170), T0.Add(time.Minute))
		wantBool(t, ok, err, true)
	}
	checkAll("finished")
	for i, r := range reqs {
		got, err := rq.GetRequest(ctx, r.ID)
		must(t, err)
		if !bytes.Equal(got.Response, doc(fmt.Sprintf("resp%d", i), 170)) {
			t.Fatalf("response of %s: %.12q", r.ID, got.Response)
		}
	}

	// Outbox payloads.
	const M = 30
	msgs := make([]store.OutboxMessage, M)
	for i := range msgs {
		m := store.OutboxMessage{ID: fmt.Sprintf("D%03d", i), Recipient: EUI(uint64(1 + i%2)), Kind: "response",
			Payload: doc(fmt.Sprintf("payload%d", i), 1900+i*41), CreatedAt: T0, NextAttempt: T0.Add(time.Duration(i) * time.Millisecond)}
		if i%10 == 9 {
			m.Payload = nil
		}
		ok, err := ob.Enqueue(ctx, m)
		wantBool(t, ok, err, true)
		msgs[i] = m
	}
	wantMsg := func(stage string, got store.OutboxMessage) {
		t.Helper()
		for _, m := range msgs {
			if m.ID == got.ID {
				if !bytes.Equal(got.Payload, m.Payload) || (m.Payload == nil) != (got.Payload == nil) {
					t.Fatalf("%s: message %s: payload %d bytes %.12q, want %d bytes %.12q", stage, m.ID, len(got.Payload), got.Payload,
						len(m.Payload), m.Payload)
				}
				return
			}
		}
		t.Fatalf("%s: unknown message %s", stage, got.ID)
	}
	checkMsgs := func(stage string) {
		t.Helper()
		for _, m := range msgs {
			got, err := ob.GetMessage(ctx, m.ID)
			must(t, err)
			wantMsg(stage, got)
		}
	}
	checkMsgs("enqueued")
	dupMsg := msgs[0]
	dupMsg.Payload = []byte("other payload")
	ok, err := ob.Enqueue(ctx, dupMsg)
	wantBool(t, ok, err, false)
	must(t, s.InTx(ctx, func(tx store.Repos) error {
		ok, err := tx.Outbox().Enqueue(ctx, dupMsg)
		wantBool(t, ok, err, false)
		return nil
	}))
	checkMsgs("after duplicates")
	und, err := ob.Undelivered(ctx, eui.EUI64{}, T0, 2*M)
	must(t, err)
	if len(und) != M {
		t.Fatalf("undelivered: %d", len(und))
	}
	for _, m := range und {
		wantMsg("Undelivered", m)
	}
	cl, err := ob.Claim(ctx, "w1", T0.Add(time.Second), time.Minute, 2*M)
	must(t, err)
	if len(cl) != M {
		t.Fatalf("claimed: %d", len(cl))
	}
	for _, m := range cl {
		wantMsg("Claim", m)
	}
	for i, m := range msgs {
		if i%2 == 0 {
			ok, err := ob.Retry(ctx, m.ID, "w1", T0.Add(time.Hour), "HTTP 503")
			wantBool(t, ok, err, true)
		} else {
			ok, err := ob.Delivered(ctx, m.ID, T0.Add(2*time.Second))
			wantBool(t, ok, err, true)
		}
	}
	checkMsgs("retried or delivered")
	ok, err = ob.Requeue(ctx, msgs[1].ID, T0.Add(3*time.Second))
	wantBool(t, ok, err, true)
	cl, err = ob.Claim(ctx, "w2", T0.Add(3*time.Second), time.Minute, 2*M)
	must(t, err)
	if len(cl) != 1 || cl[0].ID != msgs[1].ID {
		t.Fatalf("claimed after requeue: %d", len(cl))
	}
	wantMsg("Claim after Requeue", cl[0])
	checkMsgs("requeued")

	// A rolled-back transaction leaves neither rows nor documents behind,
	// and the next insert reads back its own documents.
	boom := errors.New("boom")
	r := NewRequest(8, 1)
	r.Meta = doc("rolled back", 3000)
	_, err = AcceptTx(ctx, s, r, func(tx store.Repos) error {
		_, err := tx.Outbox().Enqueue(ctx, store.OutboxMessage{ID: "rolled back", Recipient: EUI(8), Payload: doc("rolled back", 2000)})
		if err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	_, err = rq.GetRequest(ctx, r.ID)
	wantErr(t, err, store.ErrNotFound)
	r.Meta = doc("committed", 2500)
	ok, err = AcceptTx(ctx, s, r, nil)
	wantBool(t, ok, err, true)
	got, err := rq.GetRequest(ctx, r.ID)
	must(t, err)
	if !bytes.Equal(got.Meta, r.Meta) {
		t.Fatalf("meta after a rollback: %.12q", got.Meta)
	}
	ack, err := ob.GetMessage(ctx, "ack:"+r.ID)
	must(t, err)
	if !bytes.Equal(ack.Payload, r.GBCS) {
		t.Fatalf("payload after a rollback: %.12q", ack.Payload)
	}
	checkAll("end")
	checkMsgs("end")
}

// DocCounter counts the documents a store keeps apart from their rows:
// request metas and outbox payloads (rows of request_meta and
// outbox_payload in the SQL stores).
type DocCounter func(t testing.TB, s store.Store) (metas, payloads int)

// RunDocumentsDeleted checks, with the backend's own count of stored
// documents, that a document is stored with its row only: not for an empty
// one, not for a duplicate, not for a rolled-back transaction (alone or
// among concurrent ones that commit), and that Purge deletes the payloads
// with their messages.
func RunDocumentsDeleted(t *testing.T, open Opener, count DocCounter) {
	s := open(t)
	// Times long before now: the messages that AcceptTx enqueues (created
	// now, expiring in DefaultOutboxRetention) are neither due nor expired.
	t0 := past
	want := func(stage string, metas, payloads int) {
		t.Helper()
		m, p := count(t, s)
		if m != metas || p != payloads {
			t.Fatalf("%s: %d metas and %d payloads stored, want %d and %d", stage, m, p, metas, payloads)
		}
	}
	want("empty", 0, 0)
	rq, ob := s.Requests(), s.Outbox()
	// 10 requests with a meta, 2 without; 10 messages with a payload
	// expiring at t0+1h, 2 without, 10 with one expiring at t0+2h.
	for i := range 12 {
		r := NewRequest(1, uint64(i+1))
		r.Meta = doc(fmt.Sprint(i), 2000)
		if i >= 10 {
			r.Meta = nil
		}
		must(t, rq.InsertRequest(ctx, r))
	}
	for i := range 22 {
		m := store.OutboxMessage{ID: fmt.Sprintf("P%02d", i), Recipient: EUI(1), Payload: doc(fmt.Sprint(i), 1900),
			CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		if i >= 10 {
			m.ExpiresAt = t0.Add(2 * time.Hour)
		}
		if i == 10 || i == 11 {
			m.Payload = nil
		}
		ok, err := ob.Enqueue(ctx, m)
		wantBool(t, ok, err, true)
	}
	want("inserted", 10, 20)
	// Duplicates, outside and inside committed transactions.
	dup := NewRequest(1, 1)
	dup.Meta = []byte("dup")
	wantErr(t, rq.InsertRequest(ctx, dup), store.ErrExists)
	ok, err := ob.Enqueue(ctx, store.OutboxMessage{ID: "P00", Recipient: EUI(1), Payload: []byte("dup")})
	wantBool(t, ok, err, false)
	must(t, s.InTx(ctx, func(tx store.Repos) error {
		wantErr(t, tx.Requests().InsertRequest(ctx, dup), store.ErrExists)
		ok, err := tx.Outbox().Enqueue(ctx, store.OutboxMessage{ID: "P00", Recipient: EUI(1), Payload: []byte("dup")})
		wantBool(t, ok, err, false)
		return nil
	}))
	want("after duplicates", 10, 20)
	// Rolled back, alone and among concurrent transactions that commit
	// (a group commit rolls back the failing item's savepoint only).
	boom := errors.New("boom")
	_, err = AcceptTx(ctx, s, NewRequest(2, 1), func(store.Repos) error { return boom })
	wantErr(t, err, boom)
	want("after a rollback", 10, 20)
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := NewRequest(uint64(100+i), 1)
			r.Meta = doc(fmt.Sprint("c", i), 2000)
			ok, err := AcceptTx(ctx, s, r, func(store.Repos) error {
				if i%3 == 0 {
					return boom
				}
				return nil
			})
			if (i%3 == 0) != errors.Is(err, boom) || (err == nil && !ok) {
				t.Errorf("item %d: %v %v", i, ok, err)
			}
			mu.Lock()
			if ok && err == nil {
				accepted++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if accepted != 26 {
		t.Fatalf("accepted %d of 40", accepted)
	}
	// Each accepted one stored a meta and a payload (its ack: the GBCS).
	want("after concurrent transactions", 10+accepted, 20+accepted)
	// Updates do not touch the documents.
	for i := range 12 {
		ok, err := rq.Finish(ctx, NewRequest(1, uint64(i+1)).ID, store.RequestResponded, "I0", []byte{1}, t0)
		wantBool(t, ok, err, true)
	}
	cl, err := ob.Claim(ctx, "w", t0, time.Minute, 100)
	must(t, err)
	for _, m := range cl {
		if _, err := ob.Delivered(ctx, m.ID, t0); err != nil {
			t.Fatal(err)
		}
	}
	want("after updates", 10+accepted, 20+accepted)
	// Purge deletes the payloads of the messages it deletes, only those.
	n, err := ob.Purge(ctx, t0.Add(time.Hour))
	must(t, err)
	if n != 10 {
		t.Fatalf("purged %d", n)
	}
	want("after the first purge", 10+accepted, 10+accepted)
	for i := 10; i < 22; i++ {
		got, err := ob.GetMessage(ctx, fmt.Sprintf("P%02d", i))
		must(t, err)
		if i >= 12 && !bytes.Equal(got.Payload, doc(fmt.Sprint(i), 1900)) {
			t.Fatalf("P%02d after purge: %.12q", i, got.Payload)
		}
	}
	// A purge in a transaction that rolls back deletes nothing.
	err = s.InTx(ctx, func(tx store.Repos) error {
		n, err := tx.Outbox().Purge(ctx, t0.Add(2*time.Hour))
		if err != nil || n != 12 {
			return fmt.Errorf("purge in tx: %d %v", n, err)
		}
		return boom
	})
	wantErr(t, err, boom)
	want("after a rolled-back purge", 10+accepted, 10+accepted)
	n, err = ob.Purge(ctx, t0.Add(2*time.Hour))
	must(t, err)
	if n != 12 {
		t.Fatalf("purged %d", n)
	}
	want("after the second purge", 10+accepted, accepted)
	// Many at once (more than one delete statement's worth of payloads).
	for i := range 150 {
		ok, err := ob.Enqueue(ctx, store.OutboxMessage{ID: fmt.Sprintf("Q%03d", i), Recipient: EUI(1), Payload: []byte{byte(i), 1},
			CreatedAt: t0, ExpiresAt: t0.Add(3 * time.Hour)})
		wantBool(t, ok, err, true)
	}
	want("150 more", 10+accepted, accepted+150)
	n, err = ob.Purge(ctx, t0.Add(3*time.Hour))
	must(t, err)
	if n != 150 {
		t.Fatalf("purged %d", n)
	}
	want("after the third purge", 10+accepted, accepted)
}

// V1Statement is a statement with '?' placeholders.
type V1Statement struct {
	Query string
	Args  []any
}

// past is a time long before now (and T0), at which the messages
// enqueued with the current time are neither due nor expired.
var past = T0.AddDate(-3, 0, 0)

// V1Meta and V1Payload are the documents of V1Rows.
var (
	V1Meta    = doc("v1 meta", 2100)
	V1Payload = doc("v1 payload", 1900)
)

// V1Rows writes rows as schema version 1 (0001_init.sql) stored them, meta
// and payload inside their rows: two requests (one with a meta, one with an
// empty one) and two outbox messages (likewise), for the migration tests
// of the SQL stores; CheckMigrated checks them after the migration.
func V1Rows() []V1Statement {
	const reqSQL = `INSERT INTO requests(id, originator, target, counter, srv, command_variant, role, gbcs, execute_at, state, outcome,
		response, deadline, accepted_at, sent_at, finished_at, meta) VALUES (?, ?, ?, ?, '4.1.1', 1, 'IS', ?, 0, ?, ?, ?, 0, ?, 0, ?, ?)`
	const obSQL = `INSERT INTO outbox(id, recipient, url, kind, request_id, payload, attempts, next_attempt, created_at, expires_at,
		delivered_at) VALUES (?, ?, '', 'response', ?, ?, 1, ?, ?, ?, ?)`
	enc := func(c uint64) int64 { return int64(c ^ 1<<63) }
	a, b := NewRequest(1, 1), NewRequest(1, 2)
	return []V1Statement{
		{reqSQL, []any{a.ID, a.Originator.Hex(), a.Target.Hex(), enc(1), a.GBCS, "responded", "I0", []byte{1, 2, 3}, T0.UnixNano(),
			T0.Add(time.Second).UnixNano(), V1Meta}},
		{reqSQL, []any{b.ID, b.Originator.Hex(), b.Target.Hex(), enc(2), b.GBCS, "accepted", "", []byte{}, T0.UnixNano(), int64(0), []byte{}}},
		{obSQL, []any{"V1", EUI(1).Hex(), a.ID, V1Payload, T0.UnixNano(), T0.UnixNano(), past.UnixNano(), T0.UnixNano()}},
		{obSQL, []any{"V2", EUI(1).Hex(), b.ID, []byte{}, T0.UnixNano(), T0.UnixNano(), T0.Add(2 * time.Hour).UnixNano(), int64(0)}},
	}
}

// CheckMigrated checks a store migrated from a database that V1Rows
// wrote: the rows read back with their documents; new rows and documents
// go in alongside; Purge deletes the migrated payload with its message.
// count, if not nil, counts the stored documents.
func CheckMigrated(t *testing.T, s store.Store, count DocCounter) {
	a, b := NewRequest(1, 1), NewRequest(1, 2)
	got, err := s.Requests().GetRequest(ctx, a.ID)
	must(t, err)
	if !bytes.Equal(got.Meta, V1Meta) || got.State != store.RequestResponded || !bytes.Equal(got.Response, []byte{1, 2, 3}) ||
		!bytes.Equal(got.GBCS, a.GBCS) || got.Counter != 1 || !got.FinishedAt.Equal(T0.Add(time.Second)) {
		t.Fatalf("migrated request: %+v", got)
	}
	got, err = s.Requests().RequestByCounter(ctx, b.Originator, 2)
	must(t, err)
	if got.ID != b.ID || got.Meta != nil || got.State != store.RequestAccepted {
		t.Fatalf("migrated request without meta: %+v", got)
	}
	m, err := s.Outbox().GetMessage(ctx, "V1")
	must(t, err)
	if !bytes.Equal(m.Payload, V1Payload) || m.Attempts != 1 || !m.DeliveredAt.Equal(T0) || m.RequestID != a.ID {
		t.Fatalf("migrated message: %+v", m)
	}
	m, err = s.Outbox().GetMessage(ctx, "V2")
	must(t, err)
	if m.Payload != nil || !m.DeliveredAt.IsZero() {
		t.Fatalf("migrated message without payload: %+v", m)
	}
	if count != nil {
		if mc, pc := count(t, s); mc != 1 || pc != 1 {
			t.Fatalf("migrated documents: %d metas, %d payloads", mc, pc)
		}
	}
	// New rows next to the migrated ones.
	c := NewRequest(1, 3)
	c.Meta = doc("new meta", 2000)
	ok, err := AcceptTx(ctx, s, c, nil)
	wantBool(t, ok, err, true)
	for id, want := range map[string][]byte{a.ID: V1Meta, b.ID: nil, c.ID: c.Meta} {
		got, err := s.Requests().GetRequest(ctx, id)
		must(t, err)
		if !bytes.Equal(got.Meta, want) {
			t.Fatalf("meta of %s after a new insert: %.12q", id, got.Meta)
		}
	}
	m, err = s.Outbox().GetMessage(ctx, "ack:"+c.ID)
	must(t, err)
	if !bytes.Equal(m.Payload, c.GBCS) {
		t.Fatalf("new payload: %.12q", m.Payload)
	}
	n, err := s.Outbox().Purge(ctx, past)
	must(t, err)
	if n != 1 {
		t.Fatalf("purged %d", n)
	}
	if _, err := s.Outbox().GetMessage(ctx, "V1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("V1 after purge: %v", err)
	}
	if count != nil {
		if mc, pc := count(t, s); mc != 2 || pc != 1 {
			t.Fatalf("documents at the end: %d metas, %d payloads", mc, pc)
		}
	}
}
