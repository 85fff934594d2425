package transform

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/opendcc/opendcc/gbcs"
)

// deviceMatches reports whether the use case targets the device type, from
// the annex's target-device column (gbcs.UseCase.TargetDevices) and, where
// that column is empty, the GBCS naming (ECS electricity, GCS gas, CCS CHF,
// PCS PPMID).
func deviceMatches(uc *gbcs.UseCase, dt DeviceType) bool {
	td := uc.TargetDevices
	switch {
	case strings.Contains(td, "All"):
		return true
	case strings.Contains(td, "ZigBee Device"):
		return dt != ESME && dt != HCALCS
	case strings.Contains(td, string(dt)):
		return true
	}
	if strings.TrimSpace(strings.TrimPrefix(td, "rtds:")) != "" {
		return false
	}
	switch {
	case strings.HasPrefix(uc.Name, "ECS"):
		return dt == ESME
	case strings.HasPrefix(uc.Name, "GCS"):
		return dt == GSME || dt == GPF
	case strings.HasPrefix(uc.Name, "CCS"), strings.HasPrefix(uc.Name, "DBCH"):
		return dt == CHF
	case strings.HasPrefix(uc.Name, "PCS"):
		return dt == PPMID
	}
	return false
}

// candidates lists the SRV's use cases (all their message codes) that
// target the device.
func (c *ctx) candidates() []*gbcs.UseCase {
	var out []*gbcs.UseCase
	for _, name := range c.srv.GBCSUseCases {
		for _, uc := range gbcs.LookupUseCase(name) {
			if deviceMatches(uc, c.dev.Type) {
				out = append(out, uc)
			}
		}
	}
	// combined catalogue entries such as "CCS05/CCS04"
	for _, cu := range combinedUseCases() {
		if !deviceMatches(cu.uc, c.dev.Type) {
			continue
		}
		for _, part := range cu.parts {
			if slices.Contains(c.srv.GBCSUseCases, part) {
				out = append(out, cu.uc)
				break
			}
		}
	}
	return out
}

// combinedUseCases lists the catalogue's combined entries ("CCS05/CCS04")
// in catalogue order with their parts, once: candidates ran through the
// whole catalogue, copied, for every command.
var combinedUseCases = sync.OnceValue(func() []combinedUseCase {
	var out []combinedUseCase
	for _, uc := range gbcs.UseCases() {
		if strings.Contains(uc.Name, "/") {
			out = append(out, combinedUseCase{uc, strings.Split(uc.Name, "/")})
		}
	}
	return out
})

type combinedUseCase struct {
	uc    *gbcs.UseCase
	parts []string
}

// chooser picks the use case from the device-filtered candidates by request
// content. The map is keyed by SRV.
var choosers = map[string]func(c *ctx, cands []*gbcs.UseCase) (string, error){}

func (c *ctx) chooseUseCase() (*gbcs.UseCase, error) {
	cands := c.candidates()
	if len(cands) == 0 {
		return nil, fmt.Errorf("%w: SRV %s (%s) does not apply to %s", ErrDeviceType, c.srv.Variant, strings.Join(c.srv.GBCSUseCases, ","), c.dev.Type)
	}
	name := ""
	if ch, ok := choosers[c.srv.Variant]; ok {
		n, err := ch(c, cands)
		if err != nil {
			return nil, err
		}
		name = n
	} else {
		names := map[string]bool{}
		for _, uc := range cands {
			names[uc.Name] = true
		}
		if len(names) > 1 {
			return nil, &UnsupportedError{SRV: c.srv.Variant, UseCase: joinNames(cands), Reason: "no rule to choose the use case by request content"}
		}
		name = cands[0].Name
	}
	// "CS02b#0103": the use case's message code 0x0103
	code := -1
	if i := strings.IndexByte(name, '#'); i >= 0 {
		v, err := strconv.ParseUint(name[i+1:], 16, 16)
		if err != nil {
			return nil, fmt.Errorf("transform: bad use case selector %q", name)
		}
		name, code = name[:i], int(v)
	}
	var picked []*gbcs.UseCase
	for _, uc := range cands {
		if uc.Name == name && (code < 0 || int(uc.MessageCode) == code) {
			picked = append(picked, uc)
		}
	}
	switch len(picked) {
	case 0:
		return nil, fmt.Errorf("%w: SRV %s: use case %s does not apply to %s", ErrDeviceType, c.srv.Variant, name, c.dev.Type)
	case 1:
		return picked[0], nil
	}
	return nil, &UnsupportedError{SRV: c.srv.Variant, UseCase: name, Reason: "several message codes; no rule to choose"}
}

func joinNames(ucs []*gbcs.UseCase) string {
	var s []string
	for _, u := range ucs {
		if len(s) == 0 || s[len(s)-1] != u.Name {
			s = append(s, u.Name)
		}
	}
	return strings.Join(s, ",")
}

// has reports whether the body has a value at path ("A/B/C"; "A[2]/B"
// indexes a repeated element from 0).
func (c *ctx) has(path string) bool {
	_, ok := lookup(c.body, path)
	return ok
}

// str returns the text at path.
func (c *ctx) str(path string) (string, bool) {
	v, ok := lookup(c.body, path)
	if !ok {
		return "", false
	}
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return strings.TrimSpace(v.String()), true
	case reflect.Bool:
		return strconv.FormatBool(v.Bool()), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10), true
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'f', -1, 64), true
	}
	return "", true // present, structured
}

// need returns the text at path or an ErrRequest.
func (c *ctx) need(path string) (string, error) {
	s, ok := c.str(path)
	if !ok {
		return "", c.errf("missing %s", path)
	}
	return s, nil
}

// count returns the number of repeated elements at path.
func (c *ctx) count(path string) int {
	parent, last := "", path
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		parent, last = path[:i], path[i+1:]
	}
	v, ok := lookup(c.body, parent)
	if !ok {
		return 0
	}
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0
	}
	f := v.FieldByName(last)
	if !f.IsValid() {
		return 0
	}
	if f.Kind() == reflect.Slice {
		return f.Len()
	}
	if f.Kind() == reflect.Pointer && f.IsNil() {
		return 0
	}
	return 1
}

func lookup(v reflect.Value, path string) (reflect.Value, bool) {
	if path == "" {
		return v, v.IsValid()
	}
	for _, seg := range strings.Split(path, "/") {
		idx := -1
		if i := strings.IndexByte(seg, '['); i >= 0 && strings.HasSuffix(seg, "]") {
			n, err := strconv.Atoi(seg[i+1 : len(seg)-1])
			if err != nil {
				return reflect.Value{}, false
			}
			idx, seg = n, seg[:i]
		}
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		if v.Kind() != reflect.Struct {
			return reflect.Value{}, false
		}
		v = v.FieldByName(seg)
		if !v.IsValid() {
			return reflect.Value{}, false
		}
		for v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		if v.Kind() == reflect.Slice {
			if idx < 0 {
				if v.Len() == 0 {
					return reflect.Value{}, false
				}
				if v.Type().Elem().Kind() == reflect.Uint8 {
					continue
				}
				idx = 0
			}
			if idx >= v.Len() {
				return reflect.Value{}, false
			}
			v = v.Index(idx)
		} else if idx > 0 {
			return reflect.Value{}, false
		}
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}, false
		}
		v = v.Elem()
	}
	return v, true
}
