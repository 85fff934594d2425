package sqlcore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

const deviceCols = `id, type, status, status_since, manufacturer, model, firmware, smets_version, esme_variant,
	chf, gpf, meter, import_mpxn, secondary_mpan, export_mpan, uprn, csp_region, version, created_at, updated_at`

func scanDevice(row Row) (store.Device, error) {
	var d store.Device
	var id, typ, status, chf, gpf, meter string
	var since, created, updated int64
	err := row.Scan(&id, &typ, &status, &since, &d.Manufacturer, &d.Model, &d.FirmwareVersion, &d.SMETSVersion, &d.ESMEVariant,
		&chf, &gpf, &meter, &d.ImportMPxN, &d.SecondaryImportMPAN, &d.ExportMPAN, &d.UPRN, &d.CSPRegion, &d.Version, &created, &updated)
	if err != nil {
		return d, err
	}
	d.Type, d.Status = store.DeviceType(typ), store.DeviceStatus(status)
	d.StatusSince, d.Created, d.Updated = tm(since), tm(created), tm(updated)
	for _, p := range []struct {
		s string
		e *eui.EUI64
	}{{id, &d.ID}, {chf, &d.CHF}, {gpf, &d.GPF}, {meter, &d.Meter}} {
		if *p.e, err = euiParse(p.s); err != nil {
			return d, err
		}
	}
	return d, nil
}

func euiOpt(e eui.EUI64) string {
	if e.IsZero() {
		return ""
	}
	return e.Hex()
}

func (r *repos) AddDevice(ctx context.Context, d store.Device, reason string) error {
	if d.ID.IsZero() || d.Type == "" || d.Status == "" {
		return fmt.Errorf("store: device needs ID, Type and Status")
	}
	now := time.Now()
	since := d.StatusSince
	if since.IsZero() {
		since = now
	}
	defer r.deviceWrite()()
	return r.atomic(ctx, func(q Querier) error {
		n, err := r.exec(ctx, q, `INSERT INTO devices(`+deviceCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT DO NOTHING`,
			euiStr(d.ID), string(d.Type), string(d.Status), ns(since), d.Manufacturer, d.Model, d.FirmwareVersion, d.SMETSVersion, d.ESMEVariant,
			euiOpt(d.CHF), euiOpt(d.GPF), euiOpt(d.Meter), d.ImportMPxN, d.SecondaryImportMPAN, d.ExportMPAN, d.UPRN, d.CSPRegion,
			now.UnixNano(), now.UnixNano())
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: device %s", store.ErrExists, d.ID)
		}
		_, err = r.exec(ctx, q, `INSERT INTO device_status_history(device_id, from_status, to_status, at, reason) VALUES (?, '', ?, ?, ?)`,
			euiStr(d.ID), string(d.Status), ns(since), reason)
		return err
	})
}

func (r *repos) GetDevice(ctx context.Context, id eui.EUI64) (store.Device, error) {
	if r.dc == nil || r.devicesDirty {
		return r.getDevice(ctx, id)
	}
	d, ok, gen, fill := r.dc.get(id)
	if ok {
		return d, nil
	}
	d, err := r.getDevice(ctx, id)
	if err == nil && fill {
		r.dc.put(d.ID, d, gen)
	}
	return d, err
}

func (r *repos) getDevice(ctx context.Context, id eui.EUI64) (store.Device, error) {
	d, err := scanDevice(r.row(ctx, r.r, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, euiStr(id)))
	return d, wrapNF(err, "device %s", id)
}

func (r *repos) UpdateDevice(ctx context.Context, d store.Device) (store.Device, error) {
	var out store.Device
	defer r.deviceWrite()()
	err := r.atomic(ctx, func(q Querier) error {
		n, err := r.exec(ctx, q, `UPDATE devices SET type = ?, manufacturer = ?, model = ?, firmware = ?, smets_version = ?, esme_variant = ?,
			chf = ?, gpf = ?, meter = ?, import_mpxn = ?, secondary_mpan = ?, export_mpan = ?, uprn = ?, csp_region = ?,
			version = version + 1, updated_at = ? WHERE id = ? AND version = ?`,
			string(d.Type), d.Manufacturer, d.Model, d.FirmwareVersion, d.SMETSVersion, d.ESMEVariant,
			euiOpt(d.CHF), euiOpt(d.GPF), euiOpt(d.Meter), d.ImportMPxN, d.SecondaryImportMPAN, d.ExportMPAN, d.UPRN, d.CSPRegion,
			time.Now().UnixNano(), euiStr(d.ID), d.Version)
		if err != nil {
			return err
		}
		out, err = scanDevice(r.row(ctx, q, `SELECT `+deviceCols+` FROM devices WHERE id = ?`, euiStr(d.ID)))
		if err != nil {
			return wrapNF(err, "device %s", d.ID)
		}
		if n == 0 {
			return fmt.Errorf("%w: device %s is at version %d, not %d", store.ErrConflict, d.ID, out.Version, d.Version)
		}
		return nil
	})
	return out, err
}

func (r *repos) SetStatus(ctx context.Context, id eui.EUI64, expect, to store.DeviceStatus, at time.Time, reason string) (store.Device, error) {
	if at.IsZero() {
		at = time.Now()
	}
	var out store.Device
	defer r.deviceWrite()()
	err := r.atomic(ctx, func(q Querier) error {
		d, err := scanDevice(r.row(ctx, q, `SELECT `+deviceCols+` FROM devices WHERE id = ?`+r.d.ForUpdate, euiStr(id)))
		if err != nil {
			return wrapNF(err, "device %s", id)
		}
		if expect != "" && d.Status != expect {
			out = d
			return fmt.Errorf("%w: device %s is %s, not %s", store.ErrConflict, id, d.Status, expect)
		}
		if d.Status == to {
			out = d
			return nil
		}
		if !store.ValidTransition(d.Status, to) {
			out = d
			return fmt.Errorf("%w: device %s %s → %s", store.ErrInvalidTransition, id, d.Status, to)
		}
		now := time.Now().UnixNano()
		if _, err := r.exec(ctx, q, `UPDATE devices SET status = ?, status_since = ?, version = version + 1, updated_at = ? WHERE id = ?`,
			string(to), ns(at), now, euiStr(id)); err != nil {
			return err
		}
		if _, err := r.exec(ctx, q, `INSERT INTO device_status_history(device_id, from_status, to_status, at, reason) VALUES (?, ?, ?, ?, ?)`,
			euiStr(id), string(d.Status), string(to), ns(at), reason); err != nil {
			return err
		}
		d.Status, d.StatusSince, d.Version, d.Updated = to, tm(ns(at)), d.Version+1, tm(now)
		out = d
		return nil
	})
	return out, err
}

func (r *repos) StatusHistory(ctx context.Context, id eui.EUI64) ([]store.StatusChange, error) {
	rows, err := r.query(ctx, r.r, `SELECT from_status, to_status, at, reason FROM device_status_history WHERE device_id = ? ORDER BY seq`, euiStr(id))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hs []store.StatusChange
	for rows.Next() {
		var h store.StatusChange
		var from, to string
		var at int64
		if err := rows.Scan(&from, &to, &at, &h.Reason); err != nil {
			return nil, err
		}
		h.Device, h.From, h.To, h.At = id, store.DeviceStatus(from), store.DeviceStatus(to), tm(at)
		hs = append(hs, h)
	}
	return hs, rows.Err()
}

func (r *repos) DeleteDevice(ctx context.Context, id eui.EUI64) error {
	defer r.deviceWrite()()
	return r.atomic(ctx, func(q Querier) error {
		n, err := r.exec(ctx, q, `DELETE FROM devices WHERE id = ?`, euiStr(id))
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("%w: device %s", store.ErrNotFound, id)
		}
		_, err = r.exec(ctx, q, `DELETE FROM device_status_history WHERE device_id = ?`, euiStr(id))
		return err
	})
}

func (r *repos) ListDevices(ctx context.Context, f store.DeviceFilter) ([]store.Device, error) {
	var where []string
	var args []any
	if f.MPxN != "" {
		where = append(where, `(import_mpxn = ? OR secondary_mpan = ? OR export_mpan = ?)`)
		args = append(args, f.MPxN, f.MPxN, f.MPxN)
	}
	if f.UPRN != "" {
		where = append(where, `uprn = ?`)
		args = append(args, f.UPRN)
	}
	if !f.CHF.IsZero() {
		where = append(where, `chf = ?`)
		args = append(args, euiStr(f.CHF))
	}
	if !f.Meter.IsZero() {
		where = append(where, `meter = ?`)
		args = append(args, euiStr(f.Meter))
	}
	q := `SELECT ` + deviceCols + ` FROM devices`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY id`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := r.query(ctx, r.r, q, args...)
	return collect(rows, err, scanDevice)
}
