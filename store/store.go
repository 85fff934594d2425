// Package store is the state of the DCC core behind interfaces: the DCC User
// registry, the Smart Metering Inventory, registration data, anti-replay
// counters, accepted device requests, the user-delivery outbox and
// future-dated holds. Two implementations pass one conformance suite
// (store/storetest): store/sqlite (the embedded default, pure Go) and
// store/postgres (pgx). docs/storage.md gives the schema, the semantics and
// the benchmark figures.
//
// Times are stored with nanosecond precision in UTC; the zero time.Time means
// "unset" and round-trips as such. Times after MaxTime (2262-04-11, the end
// of int64 nanoseconds) are stored as MaxTime, and times before MinTime as
// MinTime: DUIS uses 3000-12-31 for "far in the future", and the DCC keeps
// some records until 9999-12-31; saturating keeps their order against every
// other time, where wrapping would not (3000-12-31 would become 1831 and be
// due at once). EUI-64s are stored in their bare 16-digit
// upper-case form.
package store

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/opendcc/opendcc/eui"
)

// MaxTime and MinTime bound the times a store keeps exactly (see the
// package comment).
var (
	MaxTime = time.Unix(0, math.MaxInt64).UTC()
	MinTime = time.Unix(0, math.MinInt64).UTC()
)

// Errors returned (possibly wrapped) by every implementation; test with
// errors.Is.
var (
	// ErrNotFound: no row with that key.
	ErrNotFound = errors.New("store: not found")
	// ErrExists: an insert found the key already present.
	ErrExists = errors.New("store: already exists")
	// ErrConflict: an optimistic-concurrency check (version or expected
	// status) failed, or a registration period overlaps another.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalidTransition: a device status change outside the life cycle
	// of Transitions.
	ErrInvalidTransition = errors.New("store: invalid status transition")
	// ErrCounterExhausted: Counters.Next found the counter at 2^64−1.
	ErrCounterExhausted = errors.New("store: counter exhausted")
)

// Store is one storage back end. Its repositories work outside any
// transaction (each call is atomic on its own); InTx groups calls that must
// commit together.
type Store interface {
	Repos
	// InTx runs fn in one transaction and commits if fn returns nil; any
	// error (or panic) rolls back. Inside fn use only the Repos passed to it:
	// with the sqlite store a call on the outer Store from inside fn waits
	// for the single writer connection and deadlocks.
	InTx(ctx context.Context, fn func(tx Repos) error) error
	// Close releases the connections. It is safe to call once.
	Close() error
}

// Repos groups the repositories by concern.
type Repos interface {
	Users() Users
	Inventory() Inventory
	Registrations() Registrations
	Counters() Counters
	Requests() Requests
	Outbox() Outbox
	Holds() Holds
}

// ---------------------------------------------------------------- users

// Role is a DCC User Role as written in DUIS and the SEC role list.
type Role string

// The SEC User Roles.
const (
	RoleImportSupplier          Role = "IS"
	RoleExportSupplier          Role = "ES"
	RoleGasSupplier             Role = "GS"
	RoleElectricityDistributor  Role = "ED"
	RoleGasTransporter          Role = "GT"
	RoleRegisteredSupplierAgent Role = "RSA"
	RoleOtherUser               Role = "OU"
)

// UserStatus is the status of a DCC User. Only Active users may send
// service requests (E3 otherwise); the rule is the core's.
type UserStatus string

// User statuses.
const (
	UserActive    UserStatus = "Active"
	UserSuspended UserStatus = "Suspended"
	UserWithdrawn UserStatus = "Withdrawn"
)

// CertUsage says what a user certificate is used for.
type CertUsage string

// Certificate usages.
const (
	// CertXMLSign: the Organisation XML-signing certificate (role code 0x87)
	// that signs the DUIS envelope.
	CertXMLSign CertUsage = "xmlsign"
	// CertDigitalSigning: the GBCS Organisation digital-signing
	// certificate that signs Pre-Commands of critical requests.
	CertDigitalSigning CertUsage = "ds"
	// CertKeyAgreement: the GBCS Organisation key-agreement certificate.
	CertKeyAgreement CertUsage = "ka"
)

// Certificate is one SMKI certificate held for a user. (Issuer, Serial)
// is unique across all users: it is what the XML signature's KeyInfo names.
type Certificate struct {
	Usage CertUsage
	// Role is the user role this certificate serves, or "" for any.
	Role Role
	// Issuer in RFC 2253 order as in DUIS KeyInfo, e.g. "CN=Z1,OU=07".
	Issuer string
	// Serial in decimal.
	Serial string
	DER    []byte
}

// User is a DCC User in the registry.
type User struct {
	ID          eui.EUI64
	Name        string
	Roles       []Role
	Status      UserStatus
	ResponseURL string
	Certs       []Certificate
	Created     time.Time // set by PutUser on first insert
	Updated     time.Time // set by PutUser
}

// HasRole reports whether u holds r.
func (u User) HasRole(r Role) bool {
	for _, x := range u.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// Users is the DCC User registry.
type Users interface {
	// PutUser inserts or replaces u, its roles and its certificates. A
	// certificate (Issuer, Serial) held by another user gives ErrConflict.
	PutUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id eui.EUI64) (User, error)
	// ListUsers returns all users ordered by ID.
	ListUsers(ctx context.Context) ([]User, error)
	SetUserStatus(ctx context.Context, id eui.EUI64, s UserStatus) error
	DeleteUser(ctx context.Context, id eui.EUI64) error
	// UserByCert finds the holder of the certificate (issuer, serial).
	UserByCert(ctx context.Context, issuer, serial string) (User, Certificate, error)
}

// ---------------------------------------------------------------- inventory

// DeviceType is the DUIS DeviceType.
type DeviceType string

// Device types.
const (
	DeviceESME   DeviceType = "ESME"
	DeviceGSME   DeviceType = "GSME"
	DeviceGPF    DeviceType = "GPF"
	DeviceCHF    DeviceType = "CHF"
	DeviceHCALCS DeviceType = "HCALCS"
	DevicePPMID  DeviceType = "PPMID"
	DeviceIHD    DeviceType = "IHD"
	DeviceCAD    DeviceType = "CAD"
)

// DeviceStatus is the SMI status (DUIS DeviceStatus).
type DeviceStatus string

// SMI statuses.
const (
	StatusPending                  DeviceStatus = "Pending"
	StatusWhitelisted              DeviceStatus = "Whitelisted"
	StatusInstalledNotCommissioned DeviceStatus = "InstalledNotCommissioned"
	StatusCommissioned             DeviceStatus = "Commissioned"
	StatusDecommissioned           DeviceStatus = "Decommissioned"
	StatusWithdrawn                DeviceStatus = "Withdrawn"
	StatusSuspended                DeviceStatus = "Suspended"
	StatusRecovery                 DeviceStatus = "Recovery"
	StatusRecovered                DeviceStatus = "Recovered"
)

// Transitions is the SMI status life cycle the store enforces in
// Inventory.SetStatus: Transitions[from][to]. A device is added in any
// status (12.2 pre-notification adds it as Pending; a profile may load it
// Commissioned). Setting the current status again is a no-op and always
// allowed. The SEC's own table (Appendix AC) could not be read; the choices
// are documented in docs/storage.md.
var Transitions = map[DeviceStatus]map[DeviceStatus]bool{
	StatusPending: {StatusWhitelisted: true, StatusInstalledNotCommissioned: true,
		StatusCommissioned: true, StatusDecommissioned: true, StatusWithdrawn: true},
	StatusWhitelisted: {StatusPending: true, StatusInstalledNotCommissioned: true,
		StatusCommissioned: true, StatusDecommissioned: true, StatusWithdrawn: true},
	StatusInstalledNotCommissioned: {StatusPending: true, StatusWhitelisted: true,
		StatusCommissioned: true, StatusDecommissioned: true, StatusWithdrawn: true},
	StatusCommissioned: {StatusInstalledNotCommissioned: true, StatusDecommissioned: true,
		StatusWithdrawn: true, StatusSuspended: true, StatusRecovery: true},
	StatusSuspended: {StatusCommissioned: true, StatusDecommissioned: true,
		StatusWithdrawn: true, StatusRecovery: true},
	StatusRecovery:       {StatusRecovered: true},
	StatusRecovered:      {StatusCommissioned: true, StatusDecommissioned: true, StatusWithdrawn: true},
	StatusDecommissioned: {StatusPending: true, StatusInstalledNotCommissioned: true},
	StatusWithdrawn:      {StatusPending: true, StatusInstalledNotCommissioned: true},
}

// ValidTransition reports whether Inventory.SetStatus allows from → to.
func ValidTransition(from, to DeviceStatus) bool {
	return from == to || Transitions[from][to]
}

// Device is one Smart Metering Inventory entry.
type Device struct {
	ID              eui.EUI64
	Type            DeviceType
	Status          DeviceStatus
	StatusSince     time.Time // when Status took effect
	Manufacturer    string    // hex manufacturer identifier as in DUIS
	Model           string    // hex model identifier as in DUIS
	FirmwareVersion string    // hex, as in DUIS
	SMETSVersion    string    // SMETS / CHTS version
	ESMEVariant     string
	// CHF is the Communications Hub Function the device is associated with
	// (meters, GPF, type 1 devices); zero if none.
	CHF eui.EUI64
	// GPF is the Gas Proxy Function of a GSME; zero if none.
	GPF eui.EUI64
	// Meter is the smart meter a type 1 device (PPMID, HCALCS, IHD) or a
	// CAD is joined to; zero if none.
	Meter               eui.EUI64
	ImportMPxN          string
	SecondaryImportMPAN string
	ExportMPAN          string
	UPRN                string
	CSPRegion           string
	// Version counts changes; UpdateDevice succeeds only when it matches.
	Version int64
	Created time.Time
	Updated time.Time
}

// StatusChange is one row of a device's SMI status history.
type StatusChange struct {
	Device eui.EUI64
	From   DeviceStatus // "" for the status the device was added with
	To     DeviceStatus
	At     time.Time
	Reason string
}

// DeviceFilter selects devices for ListDevices; empty fields match all.
// MPxN matches any of ImportMPxN, SecondaryImportMPAN and ExportMPAN.
type DeviceFilter struct {
	MPxN  string
	UPRN  string
	CHF   eui.EUI64
	Meter eui.EUI64
	Limit int // 0 means no limit
}

// Inventory is the Smart Metering Inventory.
type Inventory interface {
	// AddDevice inserts d (Version becomes 1) and its first history row.
	// ErrExists if the ID is taken.
	AddDevice(ctx context.Context, d Device, reason string) error
	GetDevice(ctx context.Context, id eui.EUI64) (Device, error)
	// UpdateDevice replaces the details of d (everything but Status,
	// StatusSince and Created) if d.Version matches the stored version
	// (ErrConflict otherwise) and increments the version.
	UpdateDevice(ctx context.Context, d Device) (Device, error)
	// SetStatus moves the device to status to, effective at, if its status
	// is expect (ErrConflict otherwise; "" accepts any) and the life cycle
	// allows it (ErrInvalidTransition). It appends a history row unless the
	// status is unchanged.
	SetStatus(ctx context.Context, id eui.EUI64, expect, to DeviceStatus, at time.Time, reason string) (Device, error)
	StatusHistory(ctx context.Context, id eui.EUI64) ([]StatusChange, error)
	// DeleteDevice removes the device and its history (8.4 DeleteDevice).
	DeleteDevice(ctx context.Context, id eui.EUI64) error
	// ListDevices returns matching devices ordered by ID.
	ListDevices(ctx context.Context, f DeviceFilter) ([]Device, error)
}

// ---------------------------------------------------------------- registration

// Registration is one period in which a party holds a role for a metering
// point: the registered supplier (IS, ES, GS), the network operator (ED, GT)
// or a supplier agent (RSA). From is inclusive, To exclusive; a zero To is
// open-ended.
type Registration struct {
	MPxN  string
	Role  Role
	Party eui.EUI64
	From  time.Time
	To    time.Time
}

// Registrations is the registration data used for eligibility (E4).
type Registrations interface {
	// AddRegistration stores r. A period overlapping another for the same
	// (MPxN, Role) gives ErrConflict.
	AddRegistration(ctx context.Context, r Registration) error
	// ChangeParty ends the open period of (mpxn, role) at from, if any, and
	// opens a new one for party: a change of supplier. ErrConflict if a
	// period starts at or after from.
	ChangeParty(ctx context.Context, mpxn string, role Role, party eui.EUI64, from time.Time) error
	// ListRegistrations lists the periods of mpxn ordered by role and From.
	ListRegistrations(ctx context.Context, mpxn string) ([]Registration, error)
	// RegisteredAt lists the periods of mpxn in effect at t.
	RegisteredAt(ctx context.Context, mpxn string, t time.Time) ([]Registration, error)
	// IsRegistered reports whether party held role for mpxn at t.
	IsRegistered(ctx context.Context, mpxn string, role Role, party eui.EUI64, t time.Time) (bool, error)
	// DeleteRegistrations removes every period of mpxn.
	DeleteRegistrations(ctx context.Context, mpxn string) error
}

// ---------------------------------------------------------------- counters

// CounterKey names one monotonic counter: a space (e.g. "duis" for the
// request counters of DUIS originators, "gbcs" for counters the DCC
// allocates) and the originator.
type CounterKey struct {
	Space      string
	Originator eui.EUI64
}

// Counters are the durable anti-replay counters. Values are unsigned 64-bit
// (the DUIS range 0 … 2^64−1) and compare as such.
type Counters interface {
	// Accept records c as the last accepted counter of k if c is strictly
	// greater than the last accepted one (or none was), atomically; it
	// reports whether c was accepted. A replay or stale counter returns
	// false, nil.
	Accept(ctx context.Context, k CounterKey, c uint64) (bool, error)
	// Last returns the last accepted counter; ok is false if none.
	Last(ctx context.Context, k CounterKey) (c uint64, ok bool, err error)
	// Next allocates and returns max(last+1, min): a value strictly greater
	// than every counter accepted or allocated for k, and at least min.
	Next(ctx context.Context, k CounterKey, min uint64) (uint64, error)
}

// ---------------------------------------------------------------- requests

// RequestState is where an accepted device request is.
type RequestState string

// Request states: accepted → sent → responded | failed | timed-out; the
// final states may also be reached straight from accepted.
const (
	RequestAccepted  RequestState = "accepted"
	RequestSent      RequestState = "sent"
	RequestResponded RequestState = "responded"
	RequestFailed    RequestState = "failed"
	RequestTimedOut  RequestState = "timed-out"
)

// Final reports whether s is a final state.
func (s RequestState) Final() bool {
	return s == RequestResponded || s == RequestFailed || s == RequestTimedOut
}

// Request is an accepted device request.
type Request struct {
	// ID is the DUIS RequestID "originator:target:counter", unique.
	ID         string
	Originator eui.EUI64
	Target     eui.EUI64
	// Counter is the RequestID counter; (Originator, Counter) is unique and
	// is what a device response carries back.
	Counter        uint64
	SRV            string // service reference variant, e.g. "4.1.1"
	CommandVariant int
	Role           Role      // the role the user acted in
	GBCS           []byte    // the command as sent to the device
	ExecuteAt      time.Time // future-dated execution time, zero if on demand
	State          RequestState
	// Outcome is the final DUIS response code (I0, E20, E21, E30, …).
	Outcome  string
	Response []byte // final payload (e.g. the device's GBCS response)
	// Deadline is when a request still unanswered times out (E21).
	Deadline   time.Time
	AcceptedAt time.Time
	SentAt     time.Time
	FinishedAt time.Time
	// Meta is opaque to the store (the core's own JSON).
	Meta []byte
}

// Requests holds accepted device requests.
type Requests interface {
	// InsertRequest stores r in state accepted (r.State is ignored).
	// ErrExists if the ID or (Originator, Counter) is taken.
	InsertRequest(ctx context.Context, r Request) error
	GetRequest(ctx context.Context, id string) (Request, error)
	// RequestByCounter finds the request that a device response with this
	// originator and counter answers.
	RequestByCounter(ctx context.Context, originator eui.EUI64, counter uint64) (Request, error)
	// MarkSent moves accepted → sent, setting SentAt and Deadline. It
	// reports false (and changes nothing) if the request is not in state
	// accepted, so a redelivered send cannot move it back. ErrNotFound if
	// absent.
	MarkSent(ctx context.Context, id string, at, deadline time.Time) (bool, error)
	// Finish moves a request that is not yet final to final state s with its
	// outcome and response. It reports true for exactly one caller; later
	// calls report false and change nothing. ErrNotFound if absent.
	Finish(ctx context.Context, id string, s RequestState, outcome string, response []byte, at time.Time) (bool, error)
	// Overdue lists up to limit unfinished requests whose deadline is set
	// and ≤ now, oldest deadline first.
	Overdue(ctx context.Context, now time.Time, limit int) ([]Request, error)
	// Unfinished lists up to limit requests in state s (accepted or sent)
	// with ID > after, ordered by ID: recovery after a restart pages through
	// them.
	Unfinished(ctx context.Context, s RequestState, after string, limit int) ([]Request, error)
	// CountByState counts requests per state.
	CountByState(ctx context.Context) (map[RequestState]int, error)
}

// ---------------------------------------------------------------- outbox

// OutboxMessage is a message to deliver to a user's Receive Response
// Service.
type OutboxMessage struct {
	// ID is the stable ResponseID; Enqueue is idempotent on it.
	ID        string
	Recipient eui.EUI64
	// URL overrides the recipient's ResponseURL when not empty.
	URL       string
	Kind      string // e.g. "response", "device-alert", "dcc-alert"
	RequestID string // the request answered, if any
	Payload   []byte
	// Attempts counts claims (a claim is an attempt, even if the worker
	// died).
	Attempts    int
	NextAttempt time.Time
	CreatedAt   time.Time
	// ExpiresAt: undelivered messages are kept until then (two days after
	// creation by default) and are not claimed afterwards.
	ExpiresAt   time.Time
	DeliveredAt time.Time // zero while undelivered
	LastError   string
	LeaseOwner  string
	LeaseUntil  time.Time
}

// DefaultOutboxRetention is how long undelivered messages are kept.
const DefaultOutboxRetention = 48 * time.Hour

// OutboxStats counts outbox rows at a time.
type OutboxStats struct {
	Undelivered int // not delivered, not expired
	Due         int // undelivered, due now and not leased
	Leased      int // undelivered with a live lease
	Delivered   int
	Expired     int // undelivered and past ExpiresAt
}

// Outbox is the durable queue of messages for users, delivered at least once.
type Outbox interface {
	// Enqueue stores m. It reports false and changes nothing if m.ID is
	// already there. Zero CreatedAt, NextAttempt and ExpiresAt default to
	// now, now and now + DefaultOutboxRetention.
	Enqueue(ctx context.Context, m OutboxMessage) (bool, error)
	GetMessage(ctx context.Context, id string) (OutboxMessage, error)
	// Claim leases up to limit due messages (undelivered, NextAttempt ≤ now,
	// not expired, no live lease) to owner until now+lease, oldest
	// NextAttempt first, and counts an attempt on each. Concurrent claimers
	// never get the same message while its lease lives; an expired lease
	// (the worker died) makes the message claimable again.
	Claim(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error)
	// Delivered marks the message delivered at `at` (whoever holds the
	// lease: the delivery happened). It reports false if it was already
	// delivered. ErrNotFound if absent.
	Delivered(ctx context.Context, id string, at time.Time) (bool, error)
	// Retry releases owner's lease and schedules the next attempt. It
	// reports false if owner no longer holds the lease or the message was
	// delivered meanwhile.
	Retry(ctx context.Context, id, owner string, next time.Time, lastErr string) (bool, error)
	// Requeue makes a delivered or undelivered, unexpired message due again
	// at `at` (redelivery on request). It reports false if it has expired.
	Requeue(ctx context.Context, id string, at time.Time) (bool, error)
	// Undelivered lists up to limit unexpired undelivered messages for
	// recipient (all recipients if zero), oldest first.
	Undelivered(ctx context.Context, recipient eui.EUI64, now time.Time, limit int) ([]OutboxMessage, error)
	// Purge deletes messages whose ExpiresAt ≤ now and returns how many.
	Purge(ctx context.Context, now time.Time) (int, error)
	Stats(ctx context.Context, now time.Time) (OutboxStats, error)
}

// ---------------------------------------------------------------- holds

// Hold is work held until a release time: a DSP-pattern future-dated
// request, or the next run of a DCC schedule.
type Hold struct {
	ID        string // unique; PutHold is idempotent on it
	Kind      string // e.g. "future-dated", "schedule"
	Owner     eui.EUI64
	RequestID string
	ReleaseAt time.Time
	Payload   []byte
	// Releases counts claims.
	Releases   int
	LeaseOwner string
	LeaseUntil time.Time
	CreatedAt  time.Time
}

// HoldFilter selects holds; empty fields match all.
type HoldFilter struct {
	Kind      string
	Owner     eui.EUI64
	RequestID string
	Limit     int
}

// Holds is the store of future-dated and scheduled work.
type Holds interface {
	// PutHold stores h; it reports false and changes nothing if h.ID exists.
	PutHold(ctx context.Context, h Hold) (bool, error)
	GetHold(ctx context.Context, id string) (Hold, error)
	ListHolds(ctx context.Context, f HoldFilter) ([]Hold, error)
	// ClaimHolds leases up to limit holds with ReleaseAt ≤ now and no live
	// lease to owner until now+lease, earliest first.
	ClaimHolds(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Hold, error)
	// DoneHold deletes a released hold if owner holds its lease; it reports
	// true for exactly one caller.
	DoneHold(ctx context.Context, id, owner string) (bool, error)
	// RescheduleHold releases owner's lease and sets a new release time
	// (the next run of a recurring schedule).
	RescheduleHold(ctx context.Context, id, owner string, next time.Time) (bool, error)
	// CancelHold deletes the hold whatever its lease; false if absent.
	CancelHold(ctx context.Context, id string) (bool, error)
}
