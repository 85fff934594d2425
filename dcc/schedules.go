package dcc

// DCC Schedules (SR 5.1 Create, 5.2 Read, 5.3 Delete; sec-rules.md §1.5):
// a User asks the DCC to issue one of the DCC-schedulable device services
// (4.2, 4.6.x, 4.8.x, 4.10, 4.12.x, 4.14–4.17, 14.1) on a device at a
// frequency; each time the schedule fires the DCC issues the equivalent
// service request on the User's behalf and delivers the device's answer as
// a DSPScheduledMessage. The rules the public sources leave open are
// OpenDCC's choices, recorded in docs/nondevice.md ("DCC Schedules").

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/opendcc/opendcc/duis"
	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/store"
)

// Schedule response codes (SRV-specific, OpenDCC's; docs/nondevice.md).
const (
	// CodeScheduleMismatch: 5.1 names a scheduled SR that is not the
	// scheduled SRV's, or a body that is not the scheduled SRV's.
	CodeScheduleMismatch = "E050101"
	// CodeScheduleDates: 5.1 end date before its start date, or no run
	// left between now and the end date.
	CodeScheduleDates = "E050102"
	// CodeScheduleNotFound, CodeScheduleNotFoundDelete: 5.2 / 5.3 name no
	// schedule of the User.
	CodeScheduleNotFound       = "E050201"
	CodeScheduleNotFoundDelete = "E050301"
)

// holdKindSchedule marks the hold that carries a schedule and its next run.
const holdKindSchedule = "schedule"

// scheduleRecord is a schedule as held (store.Hold Payload, JSON).
type scheduleRecord struct {
	ID      uint64           `json:"id"`
	User    eui.EUI64        `json:"user"`
	Role    duis.Role        `json:"role"`
	Device  eui.EUI64        `json:"device"`
	SRV     string           `json:"srv"`
	Details duis.DSPSchedule `json:"details"`
	// Created is the RequestID of the 5.1 request.
	Created string `json:"created"`
	Runs    int    `json:"runs"`
}

func scheduleHoldID(id uint64) string { return "schedule:" + strconv.FormatUint(id, 10) }

// scheduleCounterKey allocates DSP Schedule IDs.
var scheduleCounterKey = store.CounterKey{Space: "dsp-schedule"}

// scheduleRunCounterKey is the counter space of the RequestIDs (and GBCS
// originator counters) of a User's scheduled runs: microseconds since
// 1970 or more, so that they sort after the millisecond counters most
// Users send, and unique by (User, counter) since InsertRequest refuses a
// taken pair (the run then takes the next value).
func scheduleRunCounterKey(user eui.EUI64) store.CounterKey {
	return store.CounterKey{Space: "schedule-run", Originator: user}
}

// scheduleFrequencies maps ScheduleFrequency onto a step in months or days.
var scheduleFrequencies = map[string]struct{ months, days int }{
	"Daily": {0, 1}, "Weekly": {0, 7}, "Monthly": {1, 0}, "Quarterly": {3, 0}, "Half-Yearly": {6, 0}, "Yearly": {12, 0},
}

// scheduleBodies maps the DSPSchedule choice element onto the body element
// of the scheduled SRV: the DSP form drops the "DSP" prefix.
func scheduleChoice(d *duis.DSPSchedule) (name string, val reflect.Value) {
	v := reflect.ValueOf(d).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if strings.HasPrefix(f.Name, "DSP") && f.Type.Kind() == reflect.Pointer && !v.Field(i).IsNil() {
			return strings.TrimPrefix(f.Name, "DSP"), v.Field(i)
		}
	}
	return "", reflect.Value{}
}

// scheduleBase is a schedule's first run (the start date at the execution
// start time, 00:00:00 UTC when absent) and its step.
func scheduleBase(d *duis.DSPSchedule) (time.Time, struct{ months, days int }, error) {
	f, ok := scheduleFrequencies[d.ScheduleFrequency]
	if !ok {
		return time.Time{}, f, fmt.Errorf("ScheduleFrequency %q", d.ScheduleFrequency)
	}
	start, err := parseDate(d.ScheduleStartDate)
	if err != nil {
		return time.Time{}, f, fmt.Errorf("ScheduleStartDate: %v", err)
	}
	if d.ScheduleExecutionStartTime != nil {
		tod, err := parseTimeOfDay(*d.ScheduleExecutionStartTime)
		if err != nil {
			return time.Time{}, f, fmt.Errorf("ScheduleExecutionStartTime: %v", err)
		}
		start = start.Add(tod)
	}
	return start, f, nil
}

// runAt is the n-th run: n days-steps later, or n month-steps later on the
// start date's day of the month, or the month's last day when it is
// shorter (a monthly schedule from the 31st runs on 28 or 29 February).
func runAt(first time.Time, f struct{ months, days int }, n int) time.Time {
	if f.months == 0 {
		return first.AddDate(0, 0, f.days*n)
	}
	y, m, day := first.Date()
	total := int(m) - 1 + f.months*n
	y, m = y+total/12, time.Month(total%12+1)
	if last := time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day(); day > last {
		day = last
	}
	h, mi, sec := first.Clock()
	return time.Date(y, m, day, h, mi, sec, first.Nanosecond(), time.UTC)
}

// lastRun is the end of the schedule: the end of its end date (none: far
// future).
func lastRun(d *duis.DSPSchedule) (time.Time, error) {
	if d.ScheduleEndDate == nil {
		return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), nil
	}
	end, err := parseDate(*d.ScheduleEndDate)
	if err != nil {
		return time.Time{}, fmt.Errorf("ScheduleEndDate: %v", err)
	}
	return end.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
}

// nextRun is the first run at or after `after` and its index; ok=false
// when the schedule has ended.
func nextRun(d *duis.DSPSchedule, after time.Time) (time.Time, int, bool, error) {
	end, err := lastRun(d)
	if err != nil {
		return time.Time{}, 0, false, err
	}
	first, f, err := scheduleBase(d)
	if err != nil {
		return time.Time{}, 0, false, err
	}
	n := 0
	if after.After(first) {
		// start one step before where `after` falls, in whole steps
		if f.months == 0 {
			n = int((after.Unix()-first.Unix())/86400)/f.days - 1
		} else {
			n = ((after.Year()-first.Year())*12+int(after.Month())-int(first.Month()))/f.months - 1
		}
		n = max(n, 0)
	}
	for {
		t := runAt(first, f, n)
		if t.After(end) {
			return time.Time{}, 0, false, nil
		}
		if !t.Before(after) {
			return t, n, true, nil
		}
		n++
	}
}

func parseDate(s string) (time.Time, error) {
	s = strings.TrimSuffix(s, "Z")
	if i := strings.IndexAny(s[min(len(s), 10):], "+-"); i >= 0 {
		s = s[:10+i] // a timezone on xs:date: OpenDCC runs schedules in UTC
	}
	return time.Parse("2006-01-02", s)
}

func parseTimeOfDay(s string) (time.Duration, error) {
	s = strings.TrimSuffix(s, "Z")
	if len(s) > 8 {
		if i := strings.IndexAny(s[8:], "+-"); i >= 0 {
			s = s[:8+i]
		}
	}
	t, err := time.Parse("15:04:05.999999999", s)
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute +
		time.Duration(t.Second())*time.Second + time.Duration(t.Nanosecond()), nil
}

// createSchedule carries out 5.1 inside the request's transaction.
func (h *Handler) createSchedule(ctx context.Context, tx store.Repos, acc *Accepted, q *duis.DSPSchedule, now time.Time) (*nonDeviceResult, error) {
	srv, ok := duis.LookupSRV(q.DSPScheduledServiceReferenceVariant)
	if !ok || !srv.DCCSchedulable || srv.ServiceReference != q.DSPScheduledServiceReference {
		return nil, reject(CodeScheduleMismatch, "DSPScheduledServiceReference %s / Variant %s is not a DCC-schedulable service", q.DSPScheduledServiceReference, q.DSPScheduledServiceReferenceVariant)
	}
	name, _ := scheduleChoice(q)
	if name != srv.BodyElement {
		return nil, reject(CodeScheduleMismatch, "the schedule's body DSP%s is not that of SRV %s (DSP%s)", name, srv.Variant, srv.BodyElement)
	}
	d, err := getDevice(ctx, tx, q.DeviceID)
	if err != nil {
		return nil, err
	}
	if !containsType(DeviceTypesFor(srv), DeviceType(d.Type)) {
		return nil, reject("E11", "SRV %s does not apply to %s %s", srv.Variant, d.Type, d.ID)
	}
	sched := *acc
	sched.SRV = srv
	if err := checkEligible(ctx, tx, &sched, d, now, false); err != nil {
		return nil, err
	}
	role, err := scheduleRole(ctx, tx, &sched, d, now)
	if err != nil {
		return nil, err
	}
	if q.ScheduleEndDate != nil {
		s, err1 := parseDate(q.ScheduleStartDate)
		e, err2 := parseDate(*q.ScheduleEndDate)
		if err1 == nil && err2 == nil && e.Before(s) {
			return nil, reject(CodeScheduleDates, "ScheduleEndDate %s is before ScheduleStartDate %s", *q.ScheduleEndDate, q.ScheduleStartDate)
		}
	}
	next, _, ok, err := nextRun(q, now)
	if err != nil {
		return nil, reject("E100", "schedule: %v", err)
	}
	if !ok {
		return nil, reject(CodeScheduleDates, "the schedule has no run left after %s", now.UTC().Format(time.RFC3339))
	}
	id, err := tx.Counters().Next(ctx, scheduleCounterKey, 1)
	if err != nil {
		return nil, err
	}
	rec := scheduleRecord{ID: id, User: acc.User.ID, Role: role, Device: d.ID, SRV: srv.Variant, Details: *q, Created: acc.ID.String()}
	payload, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	if _, err := tx.Holds().PutHold(ctx, store.Hold{ID: scheduleHoldID(id), Kind: holdKindSchedule, Owner: acc.User.ID,
		RequestID: acc.ID.Canonical(), ReleaseAt: next, Payload: payload, CreatedAt: now}); err != nil {
		return nil, err
	}
	sid := strconv.FormatUint(id, 10)
	return &nonDeviceResult{Code: "I0", Fill: func(rm *duis.ResponseMessage) { rm.DSPScheduleID = &sid }}, nil
}

// scheduleRole is the role the scheduled runs act in: the first of the
// User's roles eligible for the scheduled SRV under which the User is
// registered for the device.
func scheduleRole(ctx context.Context, tx store.Repos, acc *Accepted, d store.Device, at time.Time) (duis.Role, error) {
	sd := &StoreDirectory{Repos: tx, Ctx: ctx}
	for _, r := range eligibleRoles(acc) {
		ok, err := sd.Eligible(acc.User.ID, r, d.ID, at)
		if err != nil {
			return "", err
		}
		if ok {
			return r, nil
		}
	}
	return "", reject("E4", "user %s is not registered for device %s", acc.User.ID, d.ID)
}

// userSchedules lists the User's schedules selected by ID or device.
func userSchedules(ctx context.Context, tx store.Repos, user eui.EUI64, scheduleID, deviceID *string) ([]store.Hold, []scheduleRecord, error) {
	var hs []store.Hold
	if scheduleID != nil {
		id, err := strconv.ParseUint(strings.TrimSpace(*scheduleID), 10, 64)
		if err != nil {
			return nil, nil, reject(CodeScheduleNotFound, "DSPScheduleID %q", *scheduleID)
		}
		h, err := tx.Holds().GetHold(ctx, scheduleHoldID(id))
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, reject(CodeScheduleNotFound, "no schedule %d", id)
		}
		if err != nil {
			return nil, nil, err
		}
		hs = []store.Hold{h}
	} else {
		all, err := tx.Holds().ListHolds(ctx, store.HoldFilter{Kind: holdKindSchedule, Owner: user})
		if err != nil {
			return nil, nil, err
		}
		hs = all
	}
	var outH []store.Hold
	var out []scheduleRecord
	for _, h := range hs {
		var rec scheduleRecord
		if h.Kind != holdKindSchedule || json.Unmarshal(h.Payload, &rec) != nil || rec.User != user {
			continue // another User's schedule is not found for this one
		}
		if deviceID != nil {
			id, err := eui.Parse(*deviceID)
			if err != nil || id != rec.Device {
				continue
			}
		}
		outH = append(outH, h)
		out = append(out, rec)
	}
	if len(out) == 0 {
		return nil, nil, reject(CodeScheduleNotFound, "the User has no schedule that matches")
	}
	return outH, out, nil
}

// readSchedules carries out 5.2: I0 with DSPSchedulesRead (at most 99, the
// schema's limit, oldest first).
func readSchedules(ctx context.Context, tx store.Repos, acc *Accepted, q *duis.ReadSchedule) (*nonDeviceResult, error) {
	_, recs, err := userSchedules(ctx, tx, acc.User.ID, q.DSPScheduleID, q.DeviceID)
	if err != nil {
		return nil, err
	}
	read := &duis.DSPSchedulesRead{}
	for i, r := range recs {
		if i == 99 {
			break
		}
		read.DSPSchedules = append(read.DSPSchedules, duis.DSPSchedules{DSPScheduleID: strconv.FormatUint(r.ID, 10), DSPScheduleDetails: r.Details})
	}
	return &nonDeviceResult{Code: "I0", Fill: func(rm *duis.ResponseMessage) { rm.DSPSchedulesRead = read }}, nil
}

// deleteSchedules carries out 5.3: every selected schedule is removed
// (I99: success with no XML data); runs already issued complete.
func deleteSchedules(ctx context.Context, tx store.Repos, acc *Accepted, q *duis.DeleteSchedule, now time.Time) (*nonDeviceResult, error) {
	hs, _, err := userSchedules(ctx, tx, acc.User.ID, q.DSPScheduleID, q.DeviceID)
	if rj, ok := err.(*Rejection); ok && rj.Code == CodeScheduleNotFound {
		rj.Code = CodeScheduleNotFoundDelete
	}
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		if _, err := tx.Holds().CancelHold(ctx, h.ID); err != nil {
			return nil, err
		}
	}
	return &nonDeviceResult{Code: "I99"}, nil
}

// scheduleRun builds the service request a schedule's run issues: the
// scheduled SRV's body, with every ReadLogPeriodOffset turned into the
// ReadLogPeriod it gives on the run's date (dates in UTC).
func scheduleRun(rec scheduleRecord, at time.Time, counter uint64) (*duis.Request, duis.RequestID, error) {
	srv, ok := duis.LookupSRV(rec.SRV)
	if !ok {
		return nil, duis.RequestID{}, fmt.Errorf("schedule %d: unknown SRV %s", rec.ID, rec.SRV)
	}
	d := rec.Details
	_, choice := scheduleChoice(&d)
	body := reflect.ValueOf(&duis.RequestBody{}).Elem()
	f := body.FieldByName(srv.BodyElement)
	if !f.IsValid() || f.Kind() != reflect.Pointer {
		return nil, duis.RequestID{}, fmt.Errorf("schedule %d: SRV %s has no body element %s", rec.ID, rec.SRV, srv.BodyElement)
	}
	v := reflect.New(f.Type().Elem())
	switch src := choice.Interface().(type) {
	case *duis.ReadLogPeriodOffset:
		day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, time.UTC)
		start, err := offsetTime(day, src.StartDateOffset, src.StartTime)
		if err != nil {
			return nil, duis.RequestID{}, fmt.Errorf("schedule %d: start: %v", rec.ID, err)
		}
		end, err := offsetTime(day, src.EndDateOffset, src.EndTime)
		if err != nil {
			return nil, duis.RequestID{}, fmt.Errorf("schedule %d: end: %v", rec.ID, err)
		}
		p := v.Elem().FieldByName("ReadLogPeriod")
		if !p.IsValid() {
			return nil, duis.RequestID{}, fmt.Errorf("schedule %d: %s has no ReadLogPeriod", rec.ID, srv.BodyElement)
		}
		p.Set(reflect.ValueOf(duis.ReadLogPeriod{StartDateTime: start.Format("2006-01-02T15:04:05Z"), EndDateTime: end.Format("2006-01-02T15:04:05Z")}))
	default:
		if choice.Type() == f.Type() {
			v = choice // the same type in both forms (RecordNetworkDataGAS)
		}
	}
	if d.KAPublicSecurityCredential != nil {
		if k := v.Elem().FieldByName("KAPublicSecurityCredential"); k.IsValid() && k.Kind() == reflect.Pointer {
			s := *d.KAPublicSecurityCredential
			k.Set(reflect.ValueOf(&s))
		}
	}
	f.Set(v)
	id := duis.RequestID{Originator: rec.User, Target: rec.Device, Counter: counter}
	req := &duis.Request{SchemaVersion: "5.4", Body: body.Interface().(duis.RequestBody)}
	req.Header = duis.RequestHeader{RequestID: id.String(), CommandVariant: "1", ServiceReference: srv.ServiceReference, ServiceReferenceVariant: srv.Variant}
	return req, id, nil
}

func offsetTime(day time.Time, offset, tod string) (time.Time, error) {
	n, err := strconv.Atoi(strings.TrimSpace(offset))
	if err != nil {
		return time.Time{}, fmt.Errorf("date offset %q", offset)
	}
	d, err := parseTimeOfDay(tod)
	if err != nil {
		return time.Time{}, err
	}
	return day.AddDate(0, 0, n).Add(d), nil
}

// runSchedule issues the run of a schedule whose time has come and moves
// the hold to the next run (or ends it). A device that no longer exists or
// is out of service, or a User no longer registered for it in the
// schedule's role, ends the schedule with the DCC Alert DSPScheduleRemoval.
func (p *Pipeline) runSchedule(ctx context.Context, h store.Hold) error {
	var rec scheduleRecord
	if err := json.Unmarshal(h.Payload, &rec); err != nil {
		p.log().Error("unreadable schedule dropped", "hold", h.ID, "err", err)
		p.Store.Holds().DoneHold(ctx, h.ID, p.owner)
		return nil
	}
	now := p.now()
	at := h.ReleaseAt
	var sent *store.Request
	var dev store.Device
	var removal string
	err := p.Store.InTx(ctx, func(tx store.Repos) error {
		sent, removal = nil, ""
		d, err := tx.Inventory().GetDevice(ctx, rec.Device)
		if errors.Is(err, store.ErrNotFound) {
			removal = "the device is no longer in the inventory"
			return nil
		}
		if err != nil {
			return err
		}
		dev = d
		srv, _ := duis.LookupSRV(rec.SRV)
		if srv == nil || !StatusAllows(SMIStatus(d.Status), srv) {
			removal = fmt.Sprintf("the device is %s", d.Status)
			return nil
		}
		sd := &StoreDirectory{Repos: tx, Ctx: ctx}
		if err := p.provision(ctx, tx, d); err != nil {
			return err
		}
		if ok, err := sd.Eligible(rec.User, rec.Role, d.ID, now); err != nil {
			return err
		} else if !ok {
			removal = fmt.Sprintf("the User is no longer registered for the device as %s", rec.Role)
			return nil
		}
		for try := 0; try < 3; try++ {
			c, err := tx.Counters().Next(ctx, scheduleRunCounterKey(rec.User), uint64(now.UnixMicro()))
			if err != nil {
				return err
			}
			req, id, err := scheduleRun(rec, at, c)
			if err != nil {
				return err
			}
			acc := &Accepted{Request: Request{ID: id, CV: 1, SRV: srv, Body: srv.BodyElement, Endpoint: EndpointSend},
				User: User{ID: rec.User}, Role: rec.Role, Device: &Device{ID: d.ID, Type: DeviceType(d.Type), Status: SMIStatus(d.Status)}}
			msg, err := p.build(ctx, tx, acc, req, d, now)
			if err != nil {
				return err
			}
			if err := p.Security.WrapMAC(msg); err != nil {
				return fmt.Errorf("dcc: MAC of the scheduled command for %s: %w", d.ID, err)
			}
			cmd, err := msg.Marshal()
			if err != nil {
				return err
			}
			meta := requestMeta{RequestID: id.String(), Endpoint: EndpointSend, Body: srv.BodyElement, ScheduleID: strconv.FormatUint(rec.ID, 10)}.marshal()
			r := store.Request{ID: id.Canonical(), Originator: id.Originator, Target: id.Target, Counter: id.Counter,
				SRV: srv.Variant, CommandVariant: 1, Role: store.Role(rec.Role), GBCS: cmd, State: store.RequestAccepted,
				AcceptedAt: now, Deadline: now.Add(p.deadline()), Meta: meta}
			if err := tx.Requests().InsertRequest(ctx, r); errors.Is(err, store.ErrExists) {
				continue // a counter the User took: the next one
			} else if err != nil {
				return err
			}
			sent = &r
			return nil
		}
		return errors.New("no free counter for the scheduled run")
	})
	if err != nil {
		// the lease expires and the run is tried again
		return err
	}
	if removal != "" {
		return p.removeSchedule(ctx, h, rec, removal)
	}
	if err := p.enqueueCommand(ctx, sent.ID, dev, sent.GBCS); err != nil {
		p.log().Warn("queueing a scheduled run failed; it is sent on recovery", "request", sent.ID, "err", err)
	}
	rec.Runs++
	// the next run after this one and after now: runs missed while the DCC
	// was down are issued once, not each
	from := at.Add(time.Nanosecond)
	if now.After(from) {
		from = now
	}
	next, _, more, err := nextRun(&rec.Details, from)
	if err != nil || !more {
		p.Store.Holds().DoneHold(ctx, h.ID, p.owner)
		return nil
	}
	p.Store.Holds().RescheduleHold(ctx, h.ID, p.owner, next)
	return nil
}

// DCCAlertScheduleRemoval is the DCC Alert code OpenDCC gives
// DSPScheduleRemoval (the public sources do not map codes onto payloads;
// docs/nondevice.md).
const DCCAlertScheduleRemoval = "N999"

// removeSchedule ends a schedule the DCC can no longer run and tells its
// User with a DCC Alert, in one transaction (the alert is queued for
// delivery with the outbox's retries).
func (p *Pipeline) removeSchedule(ctx context.Context, h store.Hold, rec scheduleRecord, why string) error {
	msg, err := dccAlertMessage(p.Signer, p.ACB, rec.User, DCCAlertScheduleRemoval, duis.DCCAlert{
		DSPScheduleRemoval: &duis.DSPScheduleRemoval{DeviceID: rec.Device.String(), DSPScheduleID: strconv.FormatUint(rec.ID, 10)}}, p.now(), 0)
	if err != nil {
		return err
	}
	if err = p.endHoldWithAlert(ctx, h.ID, msg); err == nil {
		p.log().Info("schedule removed", "schedule", rec.ID, "device", rec.Device, "why", why)
	}
	return err
}

// metaScheduleID is the schedule a request's meta names ("" for a User's
// own request). requestMeta.marshal writes scheduleId last and a schedule
// ID has at most 13 digits, so only the meta's tail is looked at: finish
// calls this for every request.
func metaScheduleID(meta []byte) string {
	const key = `,"scheduleId":"`
	tail := meta[max(0, len(meta)-len(key)-16):]
	i := bytes.Index(tail, []byte(key))
	if i < 0 {
		return ""
	}
	id, _, ok := bytes.Cut(tail[i+len(key):], []byte(`"`))
	if !ok {
		return ""
	}
	return string(id)
}
