package duis

//go:generate go run ../internal/tools/catalogen -meanings catalogdata/response-code-meanings.tsv -out .

import "strings"

// CommandVariant is the DUIS CommandVariant (1..9): what the User sends
// (Service Request or Signed Pre-Command) and what the DCC does with it.
type CommandVariant uint8

// Command variants, named after their DUIS meaning (duis.md §1.2).
const (
	CVSendToDevice           CommandVariant = 1 // Service Request -> command over the SM WAN
	CVLocalDelivery          CommandVariant = 2 // Service Request -> command returned for local delivery
	CVSendAndLocal           CommandVariant = 3 // both 1 and 2
	CVTransform              CommandVariant = 4 // critical: Pre-Command returned for the User to sign
	CVSignedSendToDevice     CommandVariant = 5 // Signed Pre-Command -> over the SM WAN
	CVSignedLocalDelivery    CommandVariant = 6 // Signed Pre-Command -> local delivery
	CVSignedSendAndLocal     CommandVariant = 7 // both 5 and 6
	CVNonDevice              CommandVariant = 8 // DCC-only service, synchronous response
	CVInternal               CommandVariant = 9 // internal to the DCC; never valid from a User
	minCommandVariant                       = CVSendToDevice
	maxCommandVariant                       = CVInternal
	commandVariantWebService                = "SDSTSDSDX"
)

// WebService names the DUIS web service (and DCC Boxed URL suffix) a
// command variant is sent to: "S" Send Command, "T" Transform, "D"
// Non-Device; "" for CV 9 and invalid values.
func (cv CommandVariant) WebService() string {
	if cv < minCommandVariant || cv > maxCommandVariant || cv == CVInternal {
		return ""
	}
	return commandVariantWebService[cv-1 : cv]
}

// Role is a DCC User Role eligible for services (SEC Appendix E).
type Role string

// User roles.
const (
	RoleIS  Role = "IS"  // Import Supplier
	RoleES  Role = "ES"  // Export Supplier
	RoleGS  Role = "GS"  // Gas Supplier
	RoleED  Role = "ED"  // Electricity Distributor
	RoleGT  Role = "GT"  // Gas Transporter
	RoleRSA Role = "RSA" // Registered Supplier Agent
	RoleOU  Role = "OU"  // Other User
)

// FutureDatedPattern says how a future-dated request is executed.
type FutureDatedPattern uint8

// Future-dated response patterns from the DUIS request matrix.
const (
	FutureDatedNone         FutureDatedPattern = iota // not future-datable
	FutureDatedDSP                                    // the DCC holds the request and releases it at its time
	FutureDatedDevice                                 // the device stores the command; outcome by alert 8F66/8F67
	FutureDatedDSPAndDevice                           // either (6.23)
)

func (p FutureDatedPattern) String() string {
	return [...]string{"No", "DSP", "Device", "DSP & Device"}[p]
}

// SRV describes one Service Reference Variant.
type SRV struct {
	Variant          string // e.g. "4.1.1"
	Name             string
	ServiceReference string // the family, e.g. "4.1"
	BodyElement      string // local name of the sr:Body child
	Critical         bool
	NonDevice        bool
	OnDemand         bool
	DCCSchedulable   bool
	FutureDated      FutureDatedPattern
	AllowedCV        []CommandVariant
	// EligibleRoles is empty for 7.16 and 8.5, whose eligibility the public
	// matrix leaves blank; callers decide (see docs/).
	EligibleRoles    []Role
	GBCSUseCases     []string
	GBCSMessageTypes string
}

// AllowsCV reports whether cv is a valid command variant for the SRV.
func (s *SRV) AllowsCV(cv CommandVariant) bool {
	for _, c := range s.AllowedCV {
		if c == cv {
			return true
		}
	}
	return false
}

// Eligible reports whether role may use the SRV.
func (s *SRV) Eligible(role Role) bool {
	for _, r := range s.EligibleRoles {
		if r == role {
			return true
		}
	}
	return false
}

var (
	srvByVariant = map[string]*SRV{}
	srvByBody    = map[string]*SRV{}
	rcByCode     = map[string]*ResponseCodeInfo{}
)

func init() {
	for i := range srvTable {
		s := &srvTable[i]
		srvByVariant[s.Variant] = s
		srvByBody[s.BodyElement] = s
	}
	for i := range responseCodeTable {
		rcByCode[responseCodeTable[i].Code] = &responseCodeTable[i]
	}
}

// LookupSRV finds a Service Reference Variant by its number ("8.2").
func LookupSRV(variant string) (*SRV, bool) {
	s, ok := srvByVariant[strings.TrimSpace(variant)]
	return s, ok
}

// LookupSRVByBody finds the SRV whose request body element has this local name.
func LookupSRVByBody(local string) (*SRV, bool) {
	s, ok := srvByBody[local]
	return s, ok
}

// SRVs returns all Service Reference Variants in catalogue order. The slice
// is shared: do not modify it.
func SRVs() []SRV { return srvTable }

// ResponseCodeInfo is one DUIS response code.
type ResponseCodeInfo struct {
	Code    string
	Meaning string
	// Published is false when no public source gives the meaning and it was
	// derived from the code's shape.
	Published bool
}

// IsSuccess reports whether the code is informational (I0 or I99).
func (r *ResponseCodeInfo) IsSuccess() bool { return strings.HasPrefix(r.Code, "I") }

// LookupResponseCode finds a response code of the DUIS 5.4 enumeration.
func LookupResponseCode(code string) (*ResponseCodeInfo, bool) {
	r, ok := rcByCode[code]
	return r, ok
}

// ResponseCodes returns all response codes in schema order (shared slice).
func ResponseCodes() []ResponseCodeInfo { return responseCodeTable }
