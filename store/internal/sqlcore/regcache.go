package sqlcore

import (
	"context"
)

// regRow is a registration row as stored (times in the column encoding),
// so that a cached lookup compares exactly what the query compares.
type regRow struct {
	role, party string
	from, to    int64
}

// regCache keeps the registration rows of the MPxNs read by IsRegistered
// (never modified once stored), under writeCache's rules. Access control
// checks the User's registration for every request, inside the accepting
// transaction: the query ran on the group committer's serial path.
type regCache = writeCache[string, []regRow]

func newRegCache() *regCache { return newWriteCache[string, []regRow](maxCachedMPxNs, nil) }

// maxCachedMPxNs bounds the cache; maxCachedRegRows leaves an MPxN with a
// long history to the query.
const (
	maxCachedMPxNs   = 1 << 16
	maxCachedRegRows = 64
)

// regWrite marks the start of a registration write; the returned func
// marks its end (for a write inside a transaction, the transaction's end
// does).
func (r *repos) regWrite() func() {
	if r.rc == nil {
		return func() {}
	}
	if r.tx {
		if !r.regsDirty {
			r.regsDirty = true
			r.rc.beginWrite()
		}
		return func() {}
	}
	r.rc.beginWrite()
	return r.rc.endWrite
}

// cachedRegs returns the registration rows of mpxn from the cache, filling
// it if it may; ok false means the caller must query.
func (r *repos) cachedRegs(ctx context.Context, mpxn string) (rows []regRow, ok bool, err error) {
	if r.rc == nil {
		return nil, false, nil
	}
	rows, ok, gen, fill := r.rc.get(mpxn)
	if ok || !fill {
		return rows, ok, nil
	}
	q, err := r.query(ctx, r.r, `SELECT role, party, valid_from, valid_to FROM registrations WHERE mpxn = ? LIMIT ?`, mpxn, maxCachedRegRows+1)
	rows, err = collect(q, err, func(row Row) (regRow, error) {
		var g regRow
		return g, row.Scan(&g.role, &g.party, &g.from, &g.to)
	})
	if err != nil || len(rows) > maxCachedRegRows {
		return nil, false, err
	}
	if rows == nil {
		rows = []regRow{}
	}
	r.rc.put(mpxn, rows, gen)
	return rows, true, nil
}
