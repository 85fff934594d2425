package sqlcore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

const requestCols = `id, originator, target, counter, srv, command_variant, role, gbcs, execute_at, state, outcome, response,
	deadline, accepted_at, sent_at, finished_at, meta`

func scanRequest(row Row) (store.Request, error) {
	var q store.Request
	var orig, target, role, state string
	var counter, exec, deadline, acc, sent, fin int64
	err := row.Scan(&q.ID, &orig, &target, &counter, &q.SRV, &q.CommandVariant, &role, &q.GBCS, &exec, &state, &q.Outcome, &q.Response,
		&deadline, &acc, &sent, &fin, &q.Meta)
	if err != nil {
		return q, err
	}
	if q.Originator, err = euiParse(orig); err != nil {
		return q, err
	}
	if q.Target, err = euiParse(target); err != nil {
		return q, err
	}
	q.Counter, q.Role, q.State = DecCounter(counter), store.Role(role), store.RequestState(state)
	q.ExecuteAt, q.Deadline, q.AcceptedAt, q.SentAt, q.FinishedAt = tm(exec), tm(deadline), tm(acc), tm(sent), tm(fin)
	q.GBCS, q.Response, q.Meta = nonNil(q.GBCS), nonNil(q.Response), nonNil(q.Meta)
	return q, nil
}

func (r *repos) InsertRequest(ctx context.Context, q store.Request) error {
	if q.ID == "" {
		return fmt.Errorf("store: request without ID")
	}
	acc := q.AcceptedAt
	if acc.IsZero() {
		acc = time.Now()
	}
	n, err := r.exec(ctx, r.w, `INSERT INTO requests(`+requestCols+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted', '', ?, ?, ?, 0, 0, ?) ON CONFLICT DO NOTHING`,
		q.ID, euiStr(q.Originator), euiStr(q.Target), EncCounter(q.Counter), q.SRV, q.CommandVariant, string(q.Role), blob(q.GBCS),
		ns(q.ExecuteAt), blob(nil), ns(q.Deadline), ns(acc), blob(q.Meta))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: request %s", store.ErrExists, q.ID)
	}
	return nil
}

func (r *repos) GetRequest(ctx context.Context, id string) (store.Request, error) {
	q, err := scanRequest(r.row(ctx, r.r, `SELECT `+requestCols+` FROM requests WHERE id = ?`, id))
	return q, wrapNF(err, "request %s", id)
}

func (r *repos) RequestByCounter(ctx context.Context, originator eui.EUI64, counter uint64) (store.Request, error) {
	q, err := scanRequest(r.row(ctx, r.r, `SELECT `+requestCols+` FROM requests WHERE originator = ? AND counter = ?`,
		euiStr(originator), EncCounter(counter)))
	return q, wrapNF(err, "request from %s counter %d", originator, counter)
}

// changed turns a 0-row conditional update into false or ErrNotFound.
func (r *repos) changed(ctx context.Context, n int64, table, id string) (bool, error) {
	if n > 0 {
		return true, nil
	}
	var one int
	err := r.row(ctx, r.w, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	if err != nil {
		return false, wrapNF(err, "%s %s", table, id)
	}
	return false, nil
}

func (r *repos) MarkSent(ctx context.Context, id string, at, deadline time.Time) (bool, error) {
	n, err := r.exec(ctx, r.w, `UPDATE requests SET state = 'sent', sent_at = ?, deadline = ? WHERE id = ? AND state = 'accepted'`,
		ns(at), ns(deadline), id)
	if err != nil {
		return false, err
	}
	return r.changed(ctx, n, "requests", id)
}

func (r *repos) Finish(ctx context.Context, id string, s store.RequestState, outcome string, response []byte, at time.Time) (bool, error) {
	if !s.Final() {
		return false, fmt.Errorf("store: Finish with non-final state %q", s)
	}
	if at.IsZero() {
		at = time.Now()
	}
	n, err := r.exec(ctx, r.w, `UPDATE requests SET state = ?, outcome = ?, response = ?, finished_at = ?
		WHERE id = ? AND state IN ('accepted', 'sent')`, string(s), outcome, blob(response), ns(at), id)
	if err != nil {
		return false, err
	}
	return r.changed(ctx, n, "requests", id)
}

func (r *repos) requests(ctx context.Context, sql string, args ...any) ([]store.Request, error) {
	rows, err := r.query(ctx, r.r, sql, args...)
	return collect(rows, err, scanRequest)
}

func (r *repos) Overdue(ctx context.Context, now time.Time, limit int) ([]store.Request, error) {
	return r.requests(ctx, `SELECT `+requestCols+` FROM requests
		WHERE state IN ('accepted', 'sent') AND deadline <> 0 AND deadline <= ? ORDER BY deadline, id LIMIT ?`, ns(now), limit)
}

func (r *repos) Unfinished(ctx context.Context, s store.RequestState, after string, limit int) ([]store.Request, error) {
	if s != store.RequestAccepted && s != store.RequestSent {
		return nil, fmt.Errorf("store: Unfinished(%q): want accepted or sent", s)
	}
	return r.requests(ctx, `SELECT `+requestCols+` FROM requests WHERE state = ? AND id > ? ORDER BY id LIMIT ?`, string(s), after, limit)
}

func (r *repos) CountByState(ctx context.Context) (map[store.RequestState]int, error) {
	rows, err := r.query(ctx, r.r, `SELECT state, COUNT(*) FROM requests GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[store.RequestState]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		m[store.RequestState(s)] = n
	}
	return m, rows.Err()
}

// ---------------------------------------------------------------- outbox

const outboxCols = `id, recipient, url, kind, request_id, payload, attempts, next_attempt, created_at, expires_at, delivered_at,
	last_error, lease_owner, lease_until`

func scanOutbox(row Row) (store.OutboxMessage, error) {
	var m store.OutboxMessage
	var recip string
	var next, created, expires, delivered, lease int64
	err := row.Scan(&m.ID, &recip, &m.URL, &m.Kind, &m.RequestID, &m.Payload, &m.Attempts, &next, &created, &expires, &delivered,
		&m.LastError, &m.LeaseOwner, &lease)
	if err != nil {
		return m, err
	}
	m.Recipient, err = euiParse(recip)
	m.NextAttempt, m.CreatedAt, m.ExpiresAt, m.DeliveredAt, m.LeaseUntil = tm(next), tm(created), tm(expires), tm(delivered), tm(lease)
	m.Payload = nonNil(m.Payload)
	return m, err
}

func (r *repos) Enqueue(ctx context.Context, m store.OutboxMessage) (bool, error) {
	if m.ID == "" {
		return false, fmt.Errorf("store: outbox message without ID")
	}
	now := time.Now()
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	if m.NextAttempt.IsZero() {
		m.NextAttempt = m.CreatedAt
	}
	if m.ExpiresAt.IsZero() {
		m.ExpiresAt = m.CreatedAt.Add(store.DefaultOutboxRetention)
	}
	n, err := r.exec(ctx, r.w, `INSERT INTO outbox(id, recipient, url, kind, request_id, payload, attempts, next_attempt, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?) ON CONFLICT DO NOTHING`,
		m.ID, euiStr(m.Recipient), m.URL, m.Kind, m.RequestID, blob(m.Payload), ns(m.NextAttempt), ns(m.CreatedAt), ns(m.ExpiresAt))
	return n == 1, err
}

func (r *repos) GetMessage(ctx context.Context, id string) (store.OutboxMessage, error) {
	m, err := scanOutbox(r.row(ctx, r.r, `SELECT `+outboxCols+` FROM outbox WHERE id = ?`, id))
	return m, wrapNF(err, "outbox message %s", id)
}

func (r *repos) Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error) {
	if owner == "" || lease <= 0 || limit <= 0 {
		return nil, fmt.Errorf("store: Claim needs an owner, a lease and a limit")
	}
	t := ns(now)
	rows, err := r.query(ctx, r.w, `UPDATE outbox SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE delivered_at = 0 AND next_attempt <= ? AND expires_at > ? AND lease_until <= ?
			ORDER BY next_attempt, id LIMIT ?`+r.d.SkipLocked+`)
		AND delivered_at = 0 AND lease_until <= ?
		RETURNING `+outboxCols, owner, ns(now.Add(lease)), t, t, t, limit, t)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ms []store.OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(ms, func(i, j int) bool {
		if !ms[i].NextAttempt.Equal(ms[j].NextAttempt) {
			return ms[i].NextAttempt.Before(ms[j].NextAttempt)
		}
		return ms[i].ID < ms[j].ID
	})
	return ms, nil
}

func (r *repos) Delivered(ctx context.Context, id string, at time.Time) (bool, error) {
	if at.IsZero() {
		at = time.Now()
	}
	n, err := r.exec(ctx, r.w, `UPDATE outbox SET delivered_at = ?, lease_owner = '', lease_until = 0, last_error = ''
		WHERE id = ? AND delivered_at = 0`, ns(at), id)
	if err != nil {
		return false, err
	}
	return r.changed(ctx, n, "outbox", id)
}

func (r *repos) Retry(ctx context.Context, id, owner string, next time.Time, lastErr string) (bool, error) {
	n, err := r.exec(ctx, r.w, `UPDATE outbox SET next_attempt = ?, last_error = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND lease_owner = ? AND delivered_at = 0`, ns(next), lastErr, id, owner)
	if err != nil {
		return false, err
	}
	return r.changed(ctx, n, "outbox", id)
}

func (r *repos) Requeue(ctx context.Context, id string, at time.Time) (bool, error) {
	n, err := r.exec(ctx, r.w, `UPDATE outbox SET delivered_at = 0, next_attempt = ?, lease_owner = '', lease_until = 0
		WHERE id = ? AND expires_at > ?`, ns(at), id, ns(at))
	if err != nil {
		return false, err
	}
	return r.changed(ctx, n, "outbox", id)
}

func (r *repos) Undelivered(ctx context.Context, recipient eui.EUI64, now time.Time, limit int) ([]store.OutboxMessage, error) {
	q := `SELECT ` + outboxCols + ` FROM outbox WHERE delivered_at = 0 AND expires_at > ?`
	args := []any{ns(now)}
	if !recipient.IsZero() {
		q += ` AND recipient = ?`
		args = append(args, euiStr(recipient))
	}
	q += ` ORDER BY created_at, id LIMIT ?`
	args = append(args, limit)
	rows, err := r.query(ctx, r.r, q, args...)
	return collect(rows, err, scanOutbox)
}

func (r *repos) Purge(ctx context.Context, now time.Time) (int, error) {
	n, err := r.exec(ctx, r.w, `DELETE FROM outbox WHERE expires_at <= ?`, ns(now))
	return int(n), err
}

func (r *repos) Stats(ctx context.Context, now time.Time) (store.OutboxStats, error) {
	var s store.OutboxStats
	t := ns(now)
	err := r.row(ctx, r.r, `SELECT
		COALESCE(SUM(CASE WHEN delivered_at = 0 AND expires_at > ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN delivered_at = 0 AND expires_at > ? AND next_attempt <= ? AND lease_until <= ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN delivered_at = 0 AND expires_at > ? AND lease_until > ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN delivered_at <> 0 THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN delivered_at = 0 AND expires_at <= ? THEN 1 ELSE 0 END), 0)
		FROM outbox`, t, t, t, t, t, t, t).Scan(&s.Undelivered, &s.Due, &s.Leased, &s.Delivered, &s.Expired)
	return s, err
}

// ---------------------------------------------------------------- holds

const holdCols = `id, kind, owner, request_id, release_at, payload, releases, lease_owner, lease_until, created_at`

func scanHold(row Row) (store.Hold, error) {
	var h store.Hold
	var owner string
	var rel, lease, created int64
	err := row.Scan(&h.ID, &h.Kind, &owner, &h.RequestID, &rel, &h.Payload, &h.Releases, &h.LeaseOwner, &lease, &created)
	if err != nil {
		return h, err
	}
	h.Owner, err = euiParse(owner)
	h.ReleaseAt, h.LeaseUntil, h.CreatedAt = tm(rel), tm(lease), tm(created)
	h.Payload = nonNil(h.Payload)
	return h, err
}

func (r *repos) PutHold(ctx context.Context, h store.Hold) (bool, error) {
	if h.ID == "" || h.ReleaseAt.IsZero() {
		return false, fmt.Errorf("store: hold needs an ID and a release time")
	}
	if h.CreatedAt.IsZero() {
		h.CreatedAt = time.Now()
	}
	n, err := r.exec(ctx, r.w, `INSERT INTO holds(id, kind, owner, request_id, release_at, payload, releases, created_at)
		VALUES (?, ?, ?, ?, ?, ?, 0, ?) ON CONFLICT DO NOTHING`,
		h.ID, h.Kind, euiOpt(h.Owner), h.RequestID, ns(h.ReleaseAt), blob(h.Payload), ns(h.CreatedAt))
	return n == 1, err
}

func (r *repos) GetHold(ctx context.Context, id string) (store.Hold, error) {
	h, err := scanHold(r.row(ctx, r.r, `SELECT `+holdCols+` FROM holds WHERE id = ?`, id))
	return h, wrapNF(err, "hold %s", id)
}

func (r *repos) holds(ctx context.Context, q Querier, sql string, args ...any) ([]store.Hold, error) {
	rows, err := r.query(ctx, q, sql, args...)
	return collect(rows, err, scanHold)
}

func (r *repos) ListHolds(ctx context.Context, f store.HoldFilter) ([]store.Hold, error) {
	q := `SELECT ` + holdCols + ` FROM holds WHERE 1 = 1`
	var args []any
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	if !f.Owner.IsZero() {
		q += ` AND owner = ?`
		args = append(args, euiStr(f.Owner))
	}
	if f.RequestID != "" {
		q += ` AND request_id = ?`
		args = append(args, f.RequestID)
	}
	q += ` ORDER BY release_at, id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	return r.holds(ctx, r.r, q, args...)
}

func (r *repos) ClaimHolds(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Hold, error) {
	if owner == "" || lease <= 0 || limit <= 0 {
		return nil, fmt.Errorf("store: ClaimHolds needs an owner, a lease and a limit")
	}
	t := ns(now)
	hs, err := r.holds(ctx, r.w, `UPDATE holds SET lease_owner = ?, lease_until = ?, releases = releases + 1
		WHERE id IN (SELECT id FROM holds WHERE release_at <= ? AND lease_until <= ? ORDER BY release_at, id LIMIT ?`+r.d.SkipLocked+`)
		AND lease_until <= ?
		RETURNING `+holdCols, owner, ns(now.Add(lease)), t, t, limit, t)
	if err != nil {
		return nil, err
	}
	sort.Slice(hs, func(i, j int) bool {
		if !hs[i].ReleaseAt.Equal(hs[j].ReleaseAt) {
			return hs[i].ReleaseAt.Before(hs[j].ReleaseAt)
		}
		return hs[i].ID < hs[j].ID
	})
	return hs, nil
}

func (r *repos) DoneHold(ctx context.Context, id, owner string) (bool, error) {
	n, err := r.exec(ctx, r.w, `DELETE FROM holds WHERE id = ? AND lease_owner = ?`, id, owner)
	return n == 1, err
}

func (r *repos) RescheduleHold(ctx context.Context, id, owner string, next time.Time) (bool, error) {
	n, err := r.exec(ctx, r.w, `UPDATE holds SET release_at = ?, lease_owner = '', lease_until = 0 WHERE id = ? AND lease_owner = ?`,
		ns(next), id, owner)
	return n == 1, err
}

func (r *repos) CancelHold(ctx context.Context, id string) (bool, error) {
	n, err := r.exec(ctx, r.w, `DELETE FROM holds WHERE id = ?`, id)
	return n == 1, err
}
