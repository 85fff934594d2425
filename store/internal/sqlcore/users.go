package sqlcore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

func joinRoles(rs []store.Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, ",")
}

func splitRoles(s string) []store.Role {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	rs := make([]store.Role, len(parts))
	for i, p := range parts {
		rs[i] = store.Role(p)
	}
	return rs
}

func (r *repos) PutUser(ctx context.Context, u store.User) error {
	if u.ID.IsZero() {
		return fmt.Errorf("store: user with zero ID")
	}
	now := time.Now()
	defer r.userWrite()()
	return r.atomic(ctx, func(q Querier) error {
		id := euiStr(u.ID)
		created := ns(u.Created)
		if created == 0 {
			created = now.UnixNano()
		}
		_, err := r.exec(ctx, q, `INSERT INTO users(id, name, roles, status, response_url, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, roles = excluded.roles, status = excluded.status,
				response_url = excluded.response_url, updated_at = excluded.updated_at`,
			id, u.Name, joinRoles(u.Roles), string(u.Status), u.ResponseURL, created, now.UnixNano())
		if err != nil {
			return err
		}
		if _, err := r.exec(ctx, q, `DELETE FROM user_certs WHERE user_id = ?`, id); err != nil {
			return err
		}
		for i, c := range u.Certs {
			n, err := r.exec(ctx, q, `INSERT INTO user_certs(issuer, serial, user_id, usage, role, seq, der)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				c.Issuer, c.Serial, id, string(c.Usage), string(c.Role), i, blob(c.DER))
			if err != nil {
				return err
			}
			if n == 0 {
				return fmt.Errorf("%w: certificate %s %s is held by another user or listed twice", store.ErrConflict, c.Issuer, c.Serial)
			}
		}
		return nil
	})
}

const userCols = `id, name, roles, status, response_url, created_at, updated_at`

func scanUser(row Row) (store.User, error) {
	var u store.User
	var id, roles, status string
	var created, updated int64
	if err := row.Scan(&id, &u.Name, &roles, &status, &u.ResponseURL, &created, &updated); err != nil {
		return u, err
	}
	var err error
	u.ID, err = euiParse(id)
	u.Roles = splitRoles(roles)
	u.Status = store.UserStatus(status)
	u.Created, u.Updated = tm(created), tm(updated)
	return u, err
}

func (r *repos) certs(ctx context.Context, q Querier, u *store.User) error {
	rows, err := r.query(ctx, q, `SELECT usage, role, issuer, serial, der FROM user_certs WHERE user_id = ? ORDER BY seq`, euiStr(u.ID))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c store.Certificate
		var usage, role string
		if err := rows.Scan(&usage, &role, &c.Issuer, &c.Serial, &c.DER); err != nil {
			return err
		}
		c.Usage, c.Role, c.DER = store.CertUsage(usage), store.Role(role), nonNil(c.DER)
		u.Certs = append(u.Certs, c)
	}
	return rows.Err()
}

// userWrite marks the start of a user write; the returned func marks its
// end (for a write inside a transaction, the transaction's end does).
func (r *repos) userWrite() func() {
	if r.uc == nil {
		return func() {}
	}
	if r.tx {
		if !r.usersDirty {
			r.usersDirty = true
			r.uc.beginWrite()
		}
		return func() {}
	}
	r.uc.beginWrite()
	return r.uc.endWrite
}

func (r *repos) GetUser(ctx context.Context, id eui.EUI64) (store.User, error) {
	if r.uc == nil || r.usersDirty {
		return r.getUser(ctx, id)
	}
	u, ok, gen, fill := r.uc.get(id)
	if ok {
		return u, nil
	}
	u, err := r.getUser(ctx, id)
	if err == nil && fill {
		r.uc.put(u.ID, u, gen)
	}
	return u, err
}

func (r *repos) getUser(ctx context.Context, id eui.EUI64) (store.User, error) {
	u, err := scanUser(r.row(ctx, r.r, `SELECT `+userCols+` FROM users WHERE id = ?`, euiStr(id)))
	if err != nil {
		return u, wrapNF(err, "user %s", id)
	}
	return u, r.certs(ctx, r.r, &u)
}

func (r *repos) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := r.query(ctx, r.r, `SELECT `+userCols+` FROM users ORDER BY id`)
	if err != nil {
		return nil, err
	}
	var us []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		us = append(us, u)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range us {
		if err := r.certs(ctx, r.r, &us[i]); err != nil {
			return nil, err
		}
	}
	return us, nil
}

func (r *repos) SetUserStatus(ctx context.Context, id eui.EUI64, s store.UserStatus) error {
	defer r.userWrite()()
	n, err := r.exec(ctx, r.w, `UPDATE users SET status = ?, updated_at = ? WHERE id = ?`, string(s), time.Now().UnixNano(), euiStr(id))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: user %s", store.ErrNotFound, id)
	}
	return nil
}

func (r *repos) DeleteUser(ctx context.Context, id eui.EUI64) error {
	defer r.userWrite()()
	return r.atomic(ctx, func(q Querier) error {
		if _, err := r.exec(ctx, q, `DELETE FROM user_certs WHERE user_id = ?`, euiStr(id)); err != nil {
			return err
		}
		n, err := r.exec(ctx, q, `DELETE FROM users WHERE id = ?`, euiStr(id))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: user %s", store.ErrNotFound, id)
		}
		return nil
	})
}

func (r *repos) UserByCert(ctx context.Context, issuer, serial string) (store.User, store.Certificate, error) {
	var c store.Certificate
	var uid, usage, role string
	err := r.row(ctx, r.r, `SELECT user_id, usage, role, issuer, serial, der FROM user_certs WHERE issuer = ? AND serial = ?`, issuer, serial).
		Scan(&uid, &usage, &role, &c.Issuer, &c.Serial, &c.DER)
	if err != nil {
		return store.User{}, c, wrapNF(err, "certificate %s %s", issuer, serial)
	}
	c.Usage, c.Role, c.DER = store.CertUsage(usage), store.Role(role), nonNil(c.DER)
	id, err := euiParse(uid)
	if err != nil {
		return store.User{}, c, err
	}
	u, err := r.GetUser(ctx, id)
	return u, c, err
}

// wrapNF adds context to ErrNotFound.
func wrapNF(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: "+format, append([]any{store.ErrNotFound}, args...)...)
	}
	return err
}
