package dcc

// 8.13 Return Local Command Response: a User that delivered a command
// locally (CV 2, 3, 6 or 7: the command came back in the synchronous
// answer and went to the device over its HAN, e.g. from an installer's
// hand-held) returns the device's answer, so that the DCC learns what the
// device did as if the answer had come over the WAN.

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/gbcs"
	"github.com/opendcc/opendcc/store"
)

// 8.13 response codes (OpenDCC's assignment; docs/nondevice.md).
const (
	// CodeLocalNoRequest: no local-delivery request of this User matches.
	CodeLocalNoRequest = "E081301"
	// CodeLocalNotVerified: not a GBCS response from the request's device,
	// or its MAC / signature does not verify with the device's certificate.
	CodeLocalNotVerified = "E081302"
	// CodeLocalNotTheAnswer: a verified device response, but to another
	// command (its counter is not the request's).
	CodeLocalNotTheAnswer = "E081303"
)

// returnLocalResponse carries out 8.13 in the request's transaction. The
// original request is named by OriginalRequestID or, when absent, found by
// the response's recipient and counter; it must be the User's own request
// for local delivery. The device's answer is verified like one from the WAN
// and its consequences for the inventory (commissioning, joins, the CHF's
// device log) applied; it is kept with the 8.13 request record (the
// original request's record is final already: its outcome was the local
// command). Answer I99.
func (h *Handler) returnLocalResponse(ctx context.Context, tx store.Repos, acc *Accepted, q *duis.ReturnLocalCommandResponse, now time.Time) (store.Request, []byte, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(q.DeviceGBCSResponse), ""))
	if err != nil {
		return store.Request{}, nil, reject(CodeLocalNotVerified, "DeviceGBCSResponse is not base64")
	}
	m, err := gbcs.Parse(raw)
	if err != nil || m.CRA != gbcs.CRAResponse {
		return store.Request{}, nil, reject(CodeLocalNotVerified, "DeviceGBCSResponse is not a GBCS response: %v", err)
	}
	var orig store.Request
	if q.OriginalRequestID != nil {
		id, perr := duis.ParseRequestID(*q.OriginalRequestID)
		if perr != nil {
			return store.Request{}, nil, reject(CodeLocalNoRequest, "OriginalRequestID %q", *q.OriginalRequestID)
		}
		orig, err = tx.Requests().GetRequest(ctx, id.Canonical())
	} else {
		orig, err = tx.Requests().RequestByCounter(ctx, m.Recipient, m.OriginatorCounter)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Request{}, nil, reject(CodeLocalNoRequest, "no such request")
	}
	if err != nil {
		return store.Request{}, nil, err
	}
	switch duis.CommandVariant(orig.CommandVariant) {
	case duis.CVLocalDelivery, duis.CVSendAndLocal, duis.CVSignedLocalDelivery, duis.CVSignedSendAndLocal:
	default:
		return store.Request{}, nil, reject(CodeLocalNoRequest, "request %s was not for local delivery (CV %d)", orig.ID, orig.CommandVariant)
	}
	if orig.Originator != acc.User.ID {
		return store.Request{}, nil, reject(CodeLocalNoRequest, "request %s is another User's", orig.ID)
	}
	if m.Originator != orig.Target {
		return store.Request{}, nil, reject(CodeLocalNotVerified, "the response comes from %s, the request was for %s", m.Originator, orig.Target)
	}
	if h.Pipeline == nil || h.Pipeline.Security == nil {
		return store.Request{}, nil, reject(CodeLocalNotVerified, "the DCC cannot verify device messages here")
	}
	// the device's certificates, for a simulated device not met yet
	if d, err := tx.Inventory().GetDevice(ctx, orig.Target); err == nil {
		h.Pipeline.provision(ctx, tx, d)
	}
	if err := h.Pipeline.verifyDevice(m); err != nil {
		return store.Request{}, nil, reject(CodeLocalNotVerified, "the response does not verify: %v", err)
	}
	if sent, err := gbcs.Parse(orig.GBCS); err == nil && sent.OriginatorCounter != m.OriginatorCounter {
		return store.Request{}, nil, reject(CodeLocalNotTheAnswer, "the response answers counter %d, the request's command had %d", m.OriginatorCounter, sent.OriginatorCounter)
	}
	if err := lifecycle(ctx, tx, orig, now); err != nil {
		return store.Request{}, nil, err
	}
	return orig, raw, nil
}
