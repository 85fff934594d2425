package gbcs

import (
	"fmt"
	"sort"
	"sync"
)

// Flag is a yes/no attribute of a use case that the sources may leave
// unknown or mark not applicable.
type Flag int8

// Flag values.
const (
	FlagUnknown Flag = iota
	FlagNo
	FlagYes
	FlagNotApplicable
)

func (f Flag) String() string {
	switch f {
	case FlagNo:
		return "No"
	case FlagYes:
		return "Yes"
	case FlagNotApplicable:
		return "N/A"
	}
	return "unknown"
}

// UseCase is one GBCS message code of the catalogue (generated from
// gbcs-usecases.tsv by internal/tools/gbcsgen).
type UseCase struct {
	MessageCode uint16
	Name        string // use case, e.g. "ECS17b"; alerts without one get a short label ("GCA")
	Title       string
	Category    string // "command/response", "alert" or "HAN-only command"
	// TargetDevices as the GBCS annex states it (e.g. "GPF (primary); GSME
	// (Supplier only)"), or "rtds:" and the devices seen in RTDS.
	TargetDevices string
	PayloadFormat string // "DLMS", "GBZ", "ASN.1", "DLMS/GBZ", or the HAN-only ZSE note
	MessageType   string // annex message type: SME.C.C, SME.C.NC, SME.A.C, SME.A.NC, …
	Critical      Flag
	// CriticalFromRTDS is set when Critical was inferred from RTDS framing
	// (signed command or alert) because the annex does not list the code.
	CriticalFromRTDS     bool
	FutureDatedCapable   Flag
	ReplayProtection     Flag
	ReadOrUpdate         string // "Read", "Update" or ""
	ResponseToOtherParty Flag
	RemotePartyRoles     []string // e.g. "Supplier", "Access Control Broker"
	DUISServiceReference string   // as the annex gives it, e.g. "6.11, 8.1"
	DUISSRVs             []string // Service Reference Variants, e.g. "4.1.1"
	DUISSRVNames         []string // "4.1.1 Read Instantaneous Import Registers (crit=No)"
	// DeviceToDevice marks the HAN-only commands a device sends to another
	// (PCS01/PCS02, PPMID to GSME).
	DeviceToDevice bool
}

// Alert reports whether the message code is an alert's.
func (u *UseCase) Alert() bool { return u.Category == "alert" }

func (u *UseCase) String() string { return fmt.Sprintf("0x%04X %s", u.MessageCode, u.Name) }

// AlertCode is a device alert (or event) code with what the project's
// sources say about it.
type AlertCode struct {
	Code uint16
	Name string
	// MessageCodes are the alert message codes seen carrying it.
	MessageCodes []uint16
	Source       string // where the name comes from
}

// LookupMessageCode finds the use case of a message code.
func LookupMessageCode(code uint16) (*UseCase, bool) {
	i := sort.Search(len(useCases), func(i int) bool { return useCases[i].MessageCode >= code })
	if i < len(useCases) && useCases[i].MessageCode == code {
		return &useCases[i], true
	}
	return nil, false
}

// LookupUseCase finds the message codes of a use case name ("ECS17b");
// CS02b, for one, has several.
func LookupUseCase(name string) []*UseCase {
	var out []*UseCase
	for _, i := range useCasesByName()[name] {
		out = append(out, &useCases[i])
	}
	return out
}

// useCasesByName indexes the catalogue by name (positions in code order):
// the transform looks names up for every command it builds, and a scan of
// the 240 entries was most of it.
var useCasesByName = sync.OnceValue(func() map[string][]int {
	m := map[string][]int{}
	for i := range useCases {
		m[useCases[i].Name] = append(m[useCases[i].Name], i)
	}
	return m
})

// UseCases lists the catalogue in message-code order. The slice is a copy;
// the pointed-to values are shared and must not be changed.
func UseCases() []*UseCase {
	out := make([]*UseCase, len(useCases))
	for i := range useCases {
		out[i] = &useCases[i]
	}
	return out
}

// LookupAlert finds an alert code.
func LookupAlert(code uint16) (*AlertCode, bool) {
	i := sort.Search(len(alertCodes), func(i int) bool { return alertCodes[i].Code >= code })
	if i < len(alertCodes) && alertCodes[i].Code == code {
		return &alertCodes[i], true
	}
	return nil, false
}

// AlertCodes lists the known alert codes in code order.
func AlertCodes() []*AlertCode {
	out := make([]*AlertCode, len(alertCodes))
	for i := range alertCodes {
		out[i] = &alertCodes[i]
	}
	return out
}
