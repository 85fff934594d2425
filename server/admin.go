package server

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/opendcc/opendcc/eui"
	"github.com/opendcc/opendcc/smki"
	"github.com/opendcc/opendcc/store"
)

// AdminConfig configures the DCC User registry's config file and admin API
// (docs/admin.md).
type AdminConfig struct {
	// UsersFile is a JSON file of DCC Users loaded at start: each user in
	// it is inserted or replaced in the registry (the file wins over
	// earlier admin API changes to the users it lists; users it does not
	// list are left alone). The users' XML-signing certificates become
	// trusted for request verification.
	UsersFile string
	// Addr is the admin API's listen address, never the DUIS port. Empty
	// disables the API (`opendcc serve` defaults to 127.0.0.1:8090).
	Addr string
	// Token, when set, is the bearer token every admin call must carry.
	Token string
}

// adminURLs holds the admin API URL of each running Server (the Server
// struct belongs to server.go; AdminURL reads this).
var adminURLs sync.Map // *Server → string

// AdminURL is the http://host:port of the admin API, "" when disabled.
func (s *Server) AdminURL() string {
	v, _ := adminURLs.Load(s)
	u, _ := v.(string)
	return u
}

// startAdmin loads the users file and serves the admin API on its own
// listener (the DUIS mux is not used: the API must not be reachable on the
// DUIS port).
func (s *Server) startAdmin(ctx context.Context, cfg Config, _ *http.ServeMux) error {
	a := &admin{store: s.Store, trust: s.trust, token: cfg.Admin.Token, now: cfg.Now, server: s}
	if cfg.Admin.UsersFile != "" {
		n, err := a.loadUsersFile(ctx, cfg.Admin.UsersFile)
		if err != nil {
			return err
		}
		cfg.Log.Info("users file loaded", "file", cfg.Admin.UsersFile, "users", n)
	}
	if cfg.Admin.Addr == "" {
		return nil
	}
	u, err := s.serve(cfg.Admin.Addr, a.handler())
	if err != nil {
		return fmt.Errorf("admin API: %w", err)
	}
	adminURLs.Store(s, u)
	s.shutdown = append(s.shutdown, func() { adminURLs.Delete(s) })
	cfg.Log.Info("admin API serving", "url", u, "token", cfg.Admin.Token != "")
	return nil
}

type admin struct {
	store store.Store
	trust *smki.Store
	token string
	now   func() time.Time
	mu    sync.Mutex // serialises writes (validate, put, trust)
	// server gives the simulated-estate events (simevents.go).
	server *Server
}

// ---------------------------------------------------------------- JSON forms

// usersFileJSON is the users file: {"users": [...]}.
type usersFileJSON struct {
	Users []userJSON `json:"users"`
}

// userJSON is one user, in the users file, in PUT bodies and in responses.
type userJSON struct {
	ID           string     `json:"id,omitempty"`
	Name         string     `json:"name"`
	Roles        []string   `json:"roles"`
	Status       string     `json:"status,omitempty"`
	ResponseURL  string     `json:"responseUrl,omitempty"`
	Certificates []certJSON `json:"certificates"`
	// Read-only, in responses.
	Created *time.Time `json:"created,omitempty"`
	Updated *time.Time `json:"updated,omitempty"`
}

// certJSON is one certificate. In input exactly one source is given:
// File (users file only; relative to the file), PEM (inline), or
// TrustStore (the certificates of the user's EUI already trusted, e.g. the
// ZAZ1 keystore; Usage and Serial narrow the choice). Issuer, SerialNumber
// and Subject are output only (ignored on input).
type certJSON struct {
	Usage      string `json:"usage,omitempty"` // xmlsign | ds | ka
	Role       string `json:"role,omitempty"`  // the user role it serves, "" for any
	File       string `json:"file,omitempty"`
	PEM        string `json:"pem,omitempty"`
	TrustStore bool   `json:"trustStore,omitempty"`
	Serial     string `json:"serial,omitempty"` // hex, with TrustStore: pick this one
	// Output only.
	Issuer       string `json:"issuer,omitempty"`
	SerialNumber string `json:"serialNumber,omitempty"` // decimal, as in DUIS KeyInfo
	Subject      string `json:"subject,omitempty"`
}

var knownRoles = []store.Role{
	store.RoleImportSupplier, store.RoleExportSupplier, store.RoleGasSupplier,
	store.RoleElectricityDistributor, store.RoleGasTransporter,
	store.RoleRegisteredSupplierAgent, store.RoleOtherUser,
}

func parseRole(s string) (store.Role, error) {
	for _, r := range knownRoles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown role %q (want one of IS, ES, GS, ED, GT, RSA, OU)", s)
}

func parseStatus(s string) (store.UserStatus, error) {
	switch st := store.UserStatus(s); st {
	case store.UserActive, store.UserSuspended, store.UserWithdrawn:
		return st, nil
	}
	return "", fmt.Errorf("unknown status %q (want Active, Suspended or Withdrawn)", s)
}

func parseUsage(s string) (store.CertUsage, error) {
	switch u := store.CertUsage(s); u {
	case store.CertXMLSign, store.CertDigitalSigning, store.CertKeyAgreement:
		return u, nil
	}
	return "", fmt.Errorf("unknown usage %q (want xmlsign, ds or ka)", s)
}

// derivedUsage is the usage of a trust-store certificate, as the dccboxed
// profile assigns it.
func derivedUsage(c *smki.Certificate) store.CertUsage {
	switch {
	case c.Role.IsXMLSigning():
		return store.CertXMLSign
	case c.KeyUsage&smki.KeyUsageDigitalSignature != 0:
		return store.CertDigitalSigning
	}
	return store.CertKeyAgreement
}

// checkUsage: the certificate's keyUsage must allow the usage.
func checkUsage(c *smki.Certificate, u store.CertUsage) error {
	switch u {
	case store.CertXMLSign, store.CertDigitalSigning:
		if c.KeyUsage&smki.KeyUsageDigitalSignature == 0 {
			return fmt.Errorf("usage %s needs a digitalSignature certificate, %s has keyUsage %s", u, c, c.KeyUsage)
		}
	case store.CertKeyAgreement:
		if c.KeyUsage&smki.KeyUsageKeyAgreement == 0 {
			return fmt.Errorf("usage ka needs a keyAgreement certificate, %s has keyUsage %s", c, c.KeyUsage)
		}
	}
	return nil
}

// validated is a user ready for the store, with the certificates to trust.
type validated struct {
	user  store.User
	trust []*smki.Certificate // XML-signing certificates
}

// validateUser checks one user entry. id is the EUI the entry must have
// (from the URL path; zero: take it from the entry). baseDir resolves
// certificate files ("" forbids them: the admin API does not read server
// files).
func (a *admin) validateUser(j userJSON, id eui.EUI64, baseDir string) (validated, error) {
	var v validated
	if j.ID != "" {
		e, err := eui.Parse(j.ID)
		if err != nil {
			return v, fmt.Errorf("id: %v", err)
		}
		if !id.IsZero() && e != id {
			return v, fmt.Errorf("id %s does not match the URL's %s", e, id)
		}
		id = e
	}
	if id.IsZero() {
		return v, errors.New("id: missing (an EUI-64 such as 90-B3-D5-1F-30-01-00-00)")
	}
	u := store.User{ID: id, Name: j.Name, ResponseURL: j.ResponseURL, Status: store.UserActive}
	if len(j.Roles) == 0 {
		return v, errors.New("roles: at least one of IS, ES, GS, ED, GT, RSA, OU is required")
	}
	for _, rs := range j.Roles {
		r, err := parseRole(rs)
		if err != nil {
			return v, fmt.Errorf("roles: %v", err)
		}
		if !u.HasRole(r) {
			u.Roles = append(u.Roles, r)
		}
	}
	if j.Status != "" {
		st, err := parseStatus(j.Status)
		if err != nil {
			return v, fmt.Errorf("status: %v", err)
		}
		u.Status = st
	}
	if j.ResponseURL != "" && !strings.HasPrefix(j.ResponseURL, "http://") && !strings.HasPrefix(j.ResponseURL, "https://") {
		return v, fmt.Errorf("responseUrl %q: want an http:// or https:// URL", j.ResponseURL)
	}
	seen := map[string]bool{}
	add := func(c *smki.Certificate, usage store.CertUsage, role store.Role) {
		if seen[string(c.Raw)] {
			return
		}
		seen[string(c.Raw)] = true
		u.Certs = append(u.Certs, store.Certificate{Usage: usage, Role: role, Issuer: c.Issuer, Serial: c.SerialNumber.String(), DER: c.Raw})
		if usage == store.CertXMLSign {
			v.trust = append(v.trust, c)
		}
	}
	for i, cj := range j.Certificates {
		where := fmt.Sprintf("certificates[%d]", i)
		if err := a.certificate(cj, id, u, baseDir, add); err != nil {
			return v, fmt.Errorf("%s: %v", where, err)
		}
	}
	v.user = u
	return v, nil
}

func (a *admin) certificate(cj certJSON, id eui.EUI64, u store.User, baseDir string, add func(*smki.Certificate, store.CertUsage, store.Role)) error {
	var role store.Role
	if cj.Role != "" {
		r, err := parseRole(cj.Role)
		if err != nil {
			return fmt.Errorf("role: %v", err)
		}
		if !u.HasRole(r) {
			return fmt.Errorf("role %s is not one of the user's roles", r)
		}
		role = r
	}
	var usage store.CertUsage
	if cj.Usage != "" {
		var err error
		if usage, err = parseUsage(cj.Usage); err != nil {
			return err
		}
	}
	sources := 0
	for _, b := range []bool{cj.File != "", cj.PEM != "", cj.TrustStore} {
		if b {
			sources++
		}
	}
	if sources != 1 {
		return errors.New(`give exactly one of "file", "pem" or "trustStore": true`)
	}
	if cj.TrustStore {
		var want *big.Int
		if cj.Serial != "" {
			var ok bool
			if want, ok = new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(cj.Serial), "0x"), 16); !ok {
				return fmt.Errorf("serial %q: want hexadecimal", cj.Serial)
			}
		}
		n := 0
		for _, c := range a.trust.ByEUI(id) {
			if c.Kind != smki.KindOrganisation {
				continue
			}
			cu := derivedUsage(c)
			if want != nil && c.SerialNumber.Cmp(want) != 0 || want == nil && usage != "" && cu != usage {
				continue
			}
			if usage != "" {
				if err := checkUsage(c, usage); err != nil {
					return err
				}
				cu = usage
			}
			add(c, cu, role)
			n++
		}
		if n == 0 {
			what := "organisation certificates"
			if want != nil {
				what = "certificate with serial " + strings.ToUpper(want.Text(16))
			} else if usage != "" {
				what = string(usage) + " certificates"
			}
			return fmt.Errorf("trustStore: the trust store has no %s for %s", what, id)
		}
		return nil
	}
	if usage == "" {
		return errors.New(`usage: missing (xmlsign, ds or ka)`)
	}
	data := []byte(cj.PEM)
	src := "pem"
	if cj.File != "" {
		if baseDir == "" {
			return errors.New(`"file" is not accepted over the admin API: send the certificate as "pem"`)
		}
		path := cj.File
		if !filepath.IsAbs(path) {
			path = filepath.Join(baseDir, path)
		}
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return err
		}
		src = path
	}
	certs, err := parseCerts(data)
	if err != nil {
		return fmt.Errorf("%s: %v", src, err)
	}
	for _, c := range certs {
		if c.Kind != smki.KindOrganisation {
			return fmt.Errorf("%s: %s is not an organisation certificate", src, c)
		}
		if c.EUI != id {
			return fmt.Errorf("%s: certificate %s is for %s, not the user %s", src, c.SerialHex(), c.EUI, id)
		}
		if err := checkUsage(c, usage); err != nil {
			return fmt.Errorf("%s: %v", src, err)
		}
		add(c, usage, role)
	}
	return nil
}

// parseCerts reads every CERTIFICATE block of PEM data (or one DER
// certificate) with the SMKI parser.
func parseCerts(data []byte) ([]*smki.Certificate, error) {
	trimmed := bytes.TrimSpace(data)
	if !bytes.HasPrefix(trimmed, []byte("-----BEGIN")) {
		c, err := smki.ParseCertificate(data)
		if err != nil {
			return nil, err
		}
		return []*smki.Certificate{c}, nil
	}
	var out []*smki.Certificate
	rest := trimmed
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := smki.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no CERTIFICATE PEM block")
	}
	return out, nil
}

// loadUsersFile validates every entry, then upserts them in one
// transaction and trusts their XML-signing certificates.
func (a *admin) loadUsersFile(ctx context.Context, path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("users file: %w", err)
	}
	var f usersFileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return 0, fmt.Errorf("users file %s: %v", path, err)
	}
	base := filepath.Dir(path)
	var all []validated
	ids := map[eui.EUI64]int{}
	for i, j := range f.Users {
		where := fmt.Sprintf("users file %s: users[%d]", path, i)
		if j.ID != "" {
			where += " (" + j.ID + ")"
		}
		if j.Created != nil || j.Updated != nil {
			return 0, fmt.Errorf("%s: created/updated are set by the server", where)
		}
		v, err := a.validateUser(j, eui.EUI64{}, base)
		if err != nil {
			return 0, fmt.Errorf("%s: %v", where, err)
		}
		if k, dup := ids[v.user.ID]; dup {
			return 0, fmt.Errorf("%s: %s is also users[%d]", where, v.user.ID, k)
		}
		ids[v.user.ID] = i
		all = append(all, v)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	err = a.store.InTx(ctx, func(tx store.Repos) error {
		for i, v := range all {
			if err := tx.Users().PutUser(ctx, v.user); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return fmt.Errorf("users file %s: users[%d] (%s): a certificate is already held by another user: %w", path, i, v.user.ID, err)
				}
				return fmt.Errorf("users file %s: users[%d] (%s): %w", path, i, v.user.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, v := range all {
		if err := a.trustAll(v.trust); err != nil {
			return 0, fmt.Errorf("users file %s: %s: %w", path, v.user.ID, err)
		}
	}
	return len(all), nil
}

func (a *admin) trustAll(cs []*smki.Certificate) error {
	for _, c := range cs {
		if err := a.trust.Add(c, nil); err != nil {
			return err
		}
	}
	return nil
}

// ---------------------------------------------------------------- HTTP API

func (a *admin) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/v1/users", a.list)
	mux.HandleFunc("GET /admin/v1/users/{eui}", a.get)
	mux.HandleFunc("PUT /admin/v1/users/{eui}", a.put)
	mux.HandleFunc("DELETE /admin/v1/users/{eui}", a.delete)
	mux.HandleFunc("POST /admin/v1/users/{eui}/status", a.status)
	mux.HandleFunc("POST /admin/v1/sim/devices/{eui}/power", a.simPower)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(a.token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="opendcc-admin"`)
				writeErr(w, http.StatusUnauthorized, "missing or wrong bearer token")
				return
			}
		}
		mux.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeErr(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, map[string]string{"error": fmt.Sprintf(format, args...)})
}

func userOut(u store.User) userJSON {
	j := userJSON{ID: u.ID.String(), Name: u.Name, Status: string(u.Status), ResponseURL: u.ResponseURL, Roles: []string{}, Certificates: []certJSON{}}
	for _, r := range u.Roles {
		j.Roles = append(j.Roles, string(r))
	}
	if !u.Created.IsZero() {
		t := u.Created.UTC()
		j.Created = &t
	}
	if !u.Updated.IsZero() {
		t := u.Updated.UTC()
		j.Updated = &t
	}
	for _, c := range u.Certs {
		cj := certJSON{Usage: string(c.Usage), Role: string(c.Role), Issuer: c.Issuer, SerialNumber: c.Serial,
			PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.DER}))}
		if pc, err := smki.ParseCertificate(c.DER); err == nil {
			cj.Subject = pc.Subject
		}
		j.Certificates = append(j.Certificates, cj)
	}
	return j
}

func pathEUI(w http.ResponseWriter, r *http.Request) (eui.EUI64, bool) {
	id, err := eui.Parse(r.PathValue("eui"))
	if err != nil {
		writeErr(w, http.StatusBadRequest, "user id: %v", err)
		return id, false
	}
	return id, true
}

// decodeBody reads a JSON body of at most 1 MiB, refusing unknown fields.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeErr(w, http.StatusBadRequest, "body: %v", err)
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeErr(w, http.StatusBadRequest, "body: trailing data after the JSON object")
		return false
	}
	return true
}

func (a *admin) list(w http.ResponseWriter, r *http.Request) {
	us, err := a.store.Users().ListUsers(r.Context())
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "%v", err)
		return
	}
	out := usersFileJSON{Users: []userJSON{}}
	for _, u := range us {
		out.Users = append(out.Users, userOut(u))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *admin) get(w http.ResponseWriter, r *http.Request) {
	id, ok := pathEUI(w, r)
	if !ok {
		return
	}
	u, err := a.store.Users().GetUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeErr(w, http.StatusNotFound, "no user %s", id)
		return
	}
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, userOut(u))
}

func (a *admin) put(w http.ResponseWriter, r *http.Request) {
	id, ok := pathEUI(w, r)
	if !ok {
		return
	}
	var j userJSON
	if !decodeBody(w, r, &j) {
		return
	}
	v, err := a.validateUser(j, id, "")
	if err != nil {
		writeErr(w, http.StatusBadRequest, "user %s: %v", id, err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx := r.Context()
	_, err = a.store.Users().GetUser(ctx, id)
	created := errors.Is(err, store.ErrNotFound)
	if err != nil && !created {
		writeErr(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if err := a.store.Users().PutUser(ctx, v.user); err != nil {
		if errors.Is(err, store.ErrConflict) {
			writeErr(w, http.StatusConflict, "user %s: a certificate is already held by another user", id)
			return
		}
		writeErr(w, http.StatusInternalServerError, "%v", err)
		return
	}
	if err := a.trustAll(v.trust); err != nil {
		writeErr(w, http.StatusInternalServerError, "%v", err)
		return
	}
	u, err := a.store.Users().GetUser(ctx, id)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "%v", err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, userOut(u))
}

func (a *admin) delete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathEUI(w, r)
	if !ok {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx := r.Context()
	if _, err := a.store.Users().GetUser(ctx, id); errors.Is(err, store.ErrNotFound) {
		writeErr(w, http.StatusNotFound, "no user %s", id)
		return
	}
	if err := a.store.Users().DeleteUser(ctx, id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeErr(w, http.StatusNotFound, "no user %s", id)
			return
		}
		writeErr(w, http.StatusInternalServerError, "%v", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *admin) status(w http.ResponseWriter, r *http.Request) {
	id, ok := pathEUI(w, r)
	if !ok {
		return
	}
	var body struct {
		Status string `json:"status"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	st, err := parseStatus(body.Status)
	if err != nil {
		writeErr(w, http.StatusBadRequest, "status: %v", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx := r.Context()
	if err := a.store.Users().SetUserStatus(ctx, id, st); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			writeErr(w, http.StatusNotFound, "no user %s", id)
			return
		}
		writeErr(w, http.StatusInternalServerError, "%v", err)
		return
	}
	u, err := a.store.Users().GetUser(ctx, id)
	if err != nil {
		writeErr(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, userOut(u))
}
