package dcc

// E30 (sec-rules.md §1.4, "Time-out – Future Dated command"): a command
// future-dated in the Device pattern is answered by the device at once and
// executed at its time, which the device reports with 8F66/8F67. If no such
// alert has come a device deadline after the execution time, the DCC tells
// the User with a response E30 (OpenDCC's reading of the code; the window
// is the same deadline as for any device answer, `serve --device-deadline`).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/store"
)

const holdKindFDAwait = "future-dated-await"

func fdAwaitHoldID(requestID string) string { return "future-dated-await:" + requestID }

// awaitExecution records, in the accepting transaction, that the Device-
// pattern command of request r must be reported executed by executeAt +
// the device deadline.
func (p *Pipeline) awaitExecution(ctx context.Context, tx store.Repos, r store.Request, executeAt, now time.Time) error {
	_, err := tx.Holds().PutHold(ctx, store.Hold{ID: fdAwaitHoldID(r.ID), Kind: holdKindFDAwait, Owner: r.Originator,
		RequestID: r.ID, ReleaseAt: executeAt.Add(p.deadline()), CreatedAt: now})
	return err
}

// executionReported ends the wait: an 8F66/8F67 alert for the request came.
func (p *Pipeline) executionReported(ctx context.Context, requestID string) {
	p.Store.Holds().CancelHold(ctx, fdAwaitHoldID(requestID))
}

// futureDatedTimeout sends E30 for a Device-pattern request whose
// execution was not reported in time. The response echoes the RequestID;
// its ResponseID is the DCC's (DCC:User:request counter), distinct from the
// device's immediate answer and stable across redeliveries.
func (p *Pipeline) futureDatedTimeout(ctx context.Context, h store.Hold) error {
	r, err := p.Store.Requests().GetRequest(ctx, h.RequestID)
	if errors.Is(err, store.ErrNotFound) {
		p.Store.Holds().DoneHold(ctx, h.ID, p.owner)
		return nil
	}
	if err != nil {
		return err
	}
	requestID := metaRequestID(r.Meta)
	if requestID == "" {
		requestID = r.ID
	}
	now := p.now()
	rid := fmt.Sprintf("%s:%s:%d", p.ACB, r.Originator, r.Counter)
	parts := ResponseParts{RequestID: requestID, ResponseID: rid, Code: "E30", Time: now}
	if srv, ok := duis.LookupSRV(r.SRV); ok {
		parts.SR, parts.SRV = srv.ServiceReference, srv.Variant
	}
	doc, err := p.Signer.Response(parts)
	if err != nil {
		return err
	}
	msg := store.OutboxMessage{ID: "e30:" + r.ID, Recipient: r.Originator, Kind: "response", RequestID: r.ID, Payload: doc, CreatedAt: now, NextAttempt: now}
	err = p.Store.InTx(ctx, func(tx store.Repos) error {
		if ok, err := tx.Holds().DoneHold(ctx, h.ID, p.owner); err != nil || !ok {
			return err // reported meanwhile, or another process took it
		}
		_, err := tx.Outbox().Enqueue(ctx, msg)
		return err
	})
	if err == nil {
		p.Metrics.final("E30", r.AcceptedAt, now)
		p.poke()
	}
	return err
}
