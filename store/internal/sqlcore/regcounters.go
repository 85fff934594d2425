package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// ---------------------------------------------------------------- registrations

const farFuture = int64(1<<63 - 1)

func toCol(t time.Time) int64 { return ns(t) } // 0 = open-ended

func scanReg(row Row) (store.Registration, error) {
	var g store.Registration
	var role, party string
	var from, to int64
	if err := row.Scan(&g.MPxN, &role, &from, &to, &party); err != nil {
		return g, err
	}
	g.Role, g.From, g.To = store.Role(role), tm(from), tm(to)
	var err error
	g.Party, err = euiParse(party)
	return g, err
}

func (r *repos) AddRegistration(ctx context.Context, g store.Registration) error {
	if g.MPxN == "" || g.Role == "" || g.From.IsZero() {
		return fmt.Errorf("store: registration needs MPxN, Role and From")
	}
	if !g.To.IsZero() && !g.To.After(g.From) {
		return fmt.Errorf("store: registration To %v not after From %v", g.To, g.From)
	}
	defer r.regWrite()()
	return r.atomic(ctx, func(q Querier) error {
		if err := r.lock(ctx, q, "reg:"+g.MPxN); err != nil {
			return err
		}
		to := toCol(g.To)
		end := to
		if end == 0 {
			end = farFuture
		}
		// Overlap: existing.from < new.end AND new.from < existing.end.
		var one int
		err := r.row(ctx, q, `SELECT 1 FROM registrations WHERE mpxn = ? AND role = ? AND valid_from < ?
			AND (valid_to = 0 OR valid_to > ?) LIMIT 1`, g.MPxN, string(g.Role), end, ns(g.From)).Scan(&one)
		if err == nil {
			return fmt.Errorf("%w: registration of %s %s from %v overlaps another", store.ErrConflict, g.MPxN, g.Role, g.From)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		_, err = r.exec(ctx, q, `INSERT INTO registrations(mpxn, role, valid_from, valid_to, party) VALUES (?, ?, ?, ?, ?)`,
			g.MPxN, string(g.Role), ns(g.From), to, euiStr(g.Party))
		return err
	})
}

func (r *repos) ChangeParty(ctx context.Context, mpxn string, role store.Role, party eui.EUI64, from time.Time) error {
	if mpxn == "" || role == "" || from.IsZero() {
		return fmt.Errorf("store: ChangeParty needs MPxN, Role and From")
	}
	defer r.regWrite()()
	return r.atomic(ctx, func(q Querier) error {
		if err := r.lock(ctx, q, "reg:"+mpxn); err != nil {
			return err
		}
		var one int
		err := r.row(ctx, q, `SELECT 1 FROM registrations WHERE mpxn = ? AND role = ? AND valid_from >= ? LIMIT 1`, mpxn, string(role), ns(from)).Scan(&one)
		if err == nil {
			return fmt.Errorf("%w: %s %s has a period starting at or after %v", store.ErrConflict, mpxn, role, from)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if _, err := r.exec(ctx, q, `UPDATE registrations SET valid_to = ? WHERE mpxn = ? AND role = ? AND (valid_to = 0 OR valid_to > ?)`,
			ns(from), mpxn, string(role), ns(from)); err != nil {
			return err
		}
		_, err = r.exec(ctx, q, `INSERT INTO registrations(mpxn, role, valid_from, valid_to, party) VALUES (?, ?, ?, 0, ?)`,
			mpxn, string(role), ns(from), euiStr(party))
		return err
	})
}

func (r *repos) regs(ctx context.Context, sql string, args ...any) ([]store.Registration, error) {
	rows, err := r.query(ctx, r.r, sql, args...)
	return collect(rows, err, scanReg)
}

func (r *repos) ListRegistrations(ctx context.Context, mpxn string) ([]store.Registration, error) {
	return r.regs(ctx, `SELECT mpxn, role, valid_from, valid_to, party FROM registrations WHERE mpxn = ? ORDER BY role, valid_from`, mpxn)
}

func (r *repos) RegisteredAt(ctx context.Context, mpxn string, t time.Time) ([]store.Registration, error) {
	return r.regs(ctx, `SELECT mpxn, role, valid_from, valid_to, party FROM registrations
		WHERE mpxn = ? AND valid_from <= ? AND (valid_to = 0 OR valid_to > ?) ORDER BY role, valid_from`, mpxn, ns(t), ns(t))
}

func (r *repos) IsRegistered(ctx context.Context, mpxn string, role store.Role, party eui.EUI64, t time.Time) (bool, error) {
	if rows, ok, err := r.cachedRegs(ctx, mpxn); err != nil {
		return false, err
	} else if ok {
		// The query's condition, on the same column values.
		p, at := euiStr(party), ns(t)
		for _, g := range rows {
			if g.role == string(role) && g.party == p && g.from <= at && (g.to == 0 || g.to > at) {
				return true, nil
			}
		}
		return false, nil
	}
	var one int
	err := r.row(ctx, r.r, `SELECT 1 FROM registrations WHERE mpxn = ? AND role = ? AND party = ?
		AND valid_from <= ? AND (valid_to = 0 OR valid_to > ?) LIMIT 1`, mpxn, string(role), euiStr(party), ns(t), ns(t)).Scan(&one)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

func (r *repos) DeleteRegistrations(ctx context.Context, mpxn string) error {
	defer r.regWrite()()
	_, err := r.exec(ctx, r.w, `DELETE FROM registrations WHERE mpxn = ?`, mpxn)
	return err
}

// ---------------------------------------------------------------- counters

func (r *repos) Accept(ctx context.Context, k store.CounterKey, c uint64) (bool, error) {
	n, err := r.exec(ctx, r.w, `INSERT INTO counters(space, originator, last) VALUES (?, ?, ?)
		ON CONFLICT (space, originator) DO UPDATE SET last = excluded.last WHERE excluded.last > counters.last`,
		k.Space, euiStr(k.Originator), EncCounter(c))
	return n == 1, err
}

func (r *repos) Last(ctx context.Context, k store.CounterKey) (uint64, bool, error) {
	var v int64
	err := r.row(ctx, r.r, `SELECT last FROM counters WHERE space = ? AND originator = ?`, k.Space, euiStr(k.Originator)).Scan(&v)
	if errors.Is(err, store.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return DecCounter(v), true, nil
}

func (r *repos) Next(ctx context.Context, k store.CounterKey, min uint64) (uint64, error) {
	var v int64
	err := r.row(ctx, r.w, `INSERT INTO counters(space, originator, last) VALUES (?, ?, ?)
		ON CONFLICT (space, originator) DO UPDATE SET last = `+r.d.Greatest+`(counters.last + 1, excluded.last)
		WHERE counters.last < 9223372036854775807
		RETURNING last`, k.Space, euiStr(k.Originator), EncCounter(min)).Scan(&v)
	if errors.Is(err, store.ErrNotFound) {
		return 0, fmt.Errorf("%w: %s %s", store.ErrCounterExhausted, k.Space, k.Originator)
	}
	if err != nil {
		return 0, err
	}
	return DecCounter(v), nil
}
