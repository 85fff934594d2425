package smki

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RevocationChecker reports whether a certificate has been revoked. The
// certificate identifies itself by issuer (RawIssuer, AuthorityKeyID) and
// serial number. *CRLSet implements it; xmldsig and gbcs take one as an
// optional hook.
type RevocationChecker interface {
	Revoked(cert *Certificate) bool
}

// Purpose is what a certificate is verified for.
type Purpose int

// Purposes.
const (
	// PurposeAny checks the chain only.
	PurposeAny Purpose = iota
	// PurposeXMLSigning: a DUIS XML signature — an organisation certificate
	// with digitalSignature. DCC Boxed signs with role 135 (xmlSign), 137
	// (dspXmlSign) and, for parties without an XML-signing certificate, with
	// their role certificates, so every organisation role is accepted unless
	// ChainOptions.Roles narrows it.
	PurposeXMLSigning
	// PurposeGBCSSigning: a GBCS Grouping Header signature — an
	// organisation or device certificate with digitalSignature.
	PurposeGBCSSigning
	// PurposeKeyAgreement: GBCS MACs and payload encryption — an
	// organisation or device certificate with keyAgreement.
	PurposeKeyAgreement
	// PurposePrepayment: a supplier's prepayment key (UTRNs) — an
	// organisation certificate with keyAgreement and role supplier (02).
	PurposePrepayment
)

var purposeNames = map[Purpose]string{
	PurposeAny: "any", PurposeXMLSigning: "xml-signing", PurposeGBCSSigning: "gbcs-signing",
	PurposeKeyAgreement: "key-agreement", PurposePrepayment: "prepayment",
}

func (p Purpose) String() string {
	if n, ok := purposeNames[p]; ok {
		return n
	}
	return fmt.Sprintf("Purpose(%d)", int(p))
}

// ParsePurpose reads a purpose name: any, xml-signing (xml), gbcs-signing
// (gbcs), key-agreement (ka), prepayment (pp).
func ParsePurpose(s string) (Purpose, error) {
	switch s {
	case "", "any":
		return PurposeAny, nil
	case "xml", "xml-signing":
		return PurposeXMLSigning, nil
	case "gbcs", "gbcs-signing", "ds":
		return PurposeGBCSSigning, nil
	case "ka", "key-agreement":
		return PurposeKeyAgreement, nil
	case "pp", "prepayment":
		return PurposePrepayment, nil
	}
	return 0, fmt.Errorf("smki: unknown purpose %q (any, xml, gbcs, ka, pp)", s)
}

// Chain verification errors; a *ChainError wraps one of them.
var (
	ErrUnknownIssuer     = errors.New("smki: issuer not found among the trust anchors and intermediates")
	ErrExpired           = errors.New("smki: certificate expired")
	ErrNotYetValid       = errors.New("smki: certificate not yet valid")
	ErrPathLength        = errors.New("smki: chain violates a pathLenConstraint")
	ErrPurpose           = errors.New("smki: certificate not usable for this purpose")
	ErrRevoked           = errors.New("smki: certificate revoked")
	ErrRevocationUnknown = errors.New("smki: revocation status unknown")
	ErrNoTrustAnchor     = errors.New("smki: no trust anchor given")
)

// ChainError says which certificate of a chain failed and why. Depth 0 is
// the certificate being verified. Err wraps one of the sentinels above,
// ErrSignatureCheck or ErrProfile.
type ChainError struct {
	Cert  *Certificate
	Depth int
	Err   error
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("%v (certificate %s at depth %d)", e.Err, e.Cert, e.Depth)
}

func (e *ChainError) Unwrap() error { return e.Err }

// ChainOptions configure VerifyChain.
type ChainOptions struct {
	// Roots are the trust anchors (self-signed root CA certificates).
	Roots []*Certificate
	// Intermediates are issuing CA certificates that chains may use.
	Intermediates []*Certificate

	// Now is the time the whole chain must be valid at, widened by
	// Allowance at both ends. The zero time skips validity checks (as
	// xmldsig.VerifyOptions.Now does).
	Now       time.Time
	Allowance time.Duration

	// Purpose checks the key usage, kind and role of the certificate.
	Purpose Purpose
	// Roles, when not empty, restricts an organisation certificate to
	// these remote-party roles.
	Roles []Role

	// Revocation, when set, is asked about every certificate of the chain
	// except the trust anchor.
	Revocation RevocationChecker
	// RequireRevocationInfo refuses (ErrRevocationUnknown) a certificate
	// whose issuer the Revocation checker knows nothing about, when the
	// checker can tell (it has a Covers(*Certificate) bool method, as
	// *CRLSet does).
	RequireRevocationInfo bool
}

// maxChainDepth bounds chain building (SMKI chains are 2 or 3 long).
const maxChainDepth = 8

// VerifyChain verifies cert up to one of opts.Roots and returns the chain,
// cert first and the root last. In order:
//
//  1. path building: the issuer of each certificate is a root or
//     intermediate whose subject is the certificate's issuer name and whose
//     subjectKeyIdentifier is its authorityKeyIdentifier (when both are
//     present), which is a CA, has keyCertSign when keyUsage is present,
//     and whose key verifies the ECDSA P-256/SHA-256 signature
//     (ErrUnknownIssuer, ErrSignatureCheck);
//  2. the SMKI profile of every certificate (CheckProfile; ErrProfile);
//  3. pathLenConstraint of each CA on the way (ErrPathLength);
//  4. validity of every certificate at Now ± Allowance (ErrExpired,
//     ErrNotYetValid);
//  5. revocation of every certificate but the root (ErrRevoked,
//     ErrRevocationUnknown);
//  6. the purpose: kind, key usage and role of cert (ErrPurpose).
//
// A root given as cert verifies as a chain of one. Errors are *ChainError.
func VerifyChain(cert *Certificate, opts ChainOptions) ([]*Certificate, error) {
	if cert == nil {
		return nil, errors.New("smki: VerifyChain: nil certificate")
	}
	if len(opts.Roots) == 0 {
		return nil, &ChainError{Cert: cert, Err: ErrNoTrustAnchor}
	}
	chain := []*Certificate{cert}
	for cur := cert; !isRoot(cur, opts.Roots); {
		if len(chain) > maxChainDepth {
			return nil, &ChainError{Cert: cur, Depth: len(chain) - 1, Err: fmt.Errorf("%w: chain longer than %d", ErrUnknownIssuer, maxChainDepth)}
		}
		parent, err := findIssuer(cur, chain, opts)
		if err != nil {
			return nil, &ChainError{Cert: cur, Depth: len(chain) - 1, Err: err}
		}
		chain = append(chain, parent)
		cur = parent
	}
	for i, c := range chain {
		if err := CheckProfile(c); err != nil {
			return nil, &ChainError{Cert: c, Depth: i, Err: err}
		}
	}
	// pathLenConstraint: a CA at depth i may be followed by at most
	// MaxPathLen non-self-issued intermediate CAs below it.
	for i := 1; i < len(chain); i++ {
		ca := chain[i]
		if !ca.HasMaxPathLen {
			continue
		}
		below := 0
		for j := 1; j < i; j++ {
			if !chain[j].IsSelfIssued() {
				below++
			}
		}
		if below > ca.MaxPathLen {
			return nil, &ChainError{Cert: ca, Depth: i, Err: fmt.Errorf("%w: %d CA certificates below, pathLen %d", ErrPathLength, below, ca.MaxPathLen)}
		}
	}
	if !opts.Now.IsZero() {
		for i, c := range chain {
			if opts.Now.Add(opts.Allowance).Before(c.NotBefore) {
				return nil, &ChainError{Cert: c, Depth: i, Err: fmt.Errorf("%w: valid from %s", ErrNotYetValid, c.NotBefore.Format(time.RFC3339))}
			}
			if opts.Now.Add(-opts.Allowance).After(c.NotAfter) {
				return nil, &ChainError{Cert: c, Depth: i, Err: fmt.Errorf("%w: valid until %s", ErrExpired, c.NotAfter.Format(time.RFC3339))}
			}
		}
	}
	if opts.Revocation != nil {
		cov, canTell := opts.Revocation.(interface{ Covers(*Certificate) bool })
		for i, c := range chain[:len(chain)-1] {
			if opts.Revocation.Revoked(c) {
				return nil, &ChainError{Cert: c, Depth: i, Err: fmt.Errorf("%w: serial %s", ErrRevoked, c.SerialHex())}
			}
			if opts.RequireRevocationInfo && canTell && !cov.Covers(c) {
				return nil, &ChainError{Cert: c, Depth: i, Err: fmt.Errorf("%w: no revocation list of %q", ErrRevocationUnknown, c.Issuer)}
			}
		}
	}
	if err := CheckPurpose(cert, opts.Purpose, opts.Roles); err != nil {
		return nil, &ChainError{Cert: cert, Err: err}
	}
	return chain, nil
}

func isRoot(c *Certificate, roots []*Certificate) bool {
	for _, r := range roots {
		if bytes.Equal(r.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// findIssuer picks the issuer of cur among roots and intermediates (roots
// first) not yet in the chain: name and key identifier candidates, then the
// first whose signature check passes.
func findIssuer(cur *Certificate, chain []*Certificate, opts ChainOptions) (*Certificate, error) {
	var firstErr error
	candidates := 0
	for _, pool := range [][]*Certificate{opts.Roots, opts.Intermediates} {
		for _, p := range pool {
			if p == nil || !bytes.Equal(p.RawSubject, cur.RawIssuer) {
				continue
			}
			if len(cur.AuthorityKeyID) > 0 && len(p.SubjectKeyID) > 0 && !bytes.Equal(cur.AuthorityKeyID, p.SubjectKeyID) {
				continue
			}
			inChain := false
			for _, c := range chain {
				if bytes.Equal(c.Raw, p.Raw) {
					inChain = true
				}
			}
			if inChain {
				continue
			}
			candidates++
			err := cur.CheckSignatureFrom(p)
			if err == nil {
				return p, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if candidates == 0 {
		aki := ""
		if len(cur.AuthorityKeyID) > 0 {
			aki = fmt.Sprintf(" key %X", cur.AuthorityKeyID)
		}
		return nil, fmt.Errorf("%w: issuer %q%s", ErrUnknownIssuer, cur.Issuer, aki)
	}
	return nil, firstErr
}

// CheckPurpose checks that c may be used for p (see the Purpose constants)
// and, when roles is not empty, that an organisation certificate has one of
// those roles. Errors wrap ErrPurpose.
func CheckPurpose(c *Certificate, p Purpose, roles []Role) error {
	var problems []string
	needKind := func(kinds ...Kind) {
		for _, k := range kinds {
			if c.Kind == k {
				return
			}
		}
		names := make([]string, len(kinds))
		for i, k := range kinds {
			names[i] = k.String()
		}
		problems = append(problems, fmt.Sprintf("a %s certificate, %s needs %s", c.Kind, p, strings.Join(names, " or ")))
	}
	needUsage := func(u KeyUsage) {
		if !c.HasKeyUsage || c.KeyUsage&u == 0 {
			problems = append(problems, fmt.Sprintf("keyUsage %q, %s needs %s", c.KeyUsage, p, u))
		}
	}
	switch p {
	case PurposeAny:
	case PurposeXMLSigning:
		needKind(KindOrganisation)
		needUsage(KeyUsageDigitalSignature)
	case PurposeGBCSSigning:
		needKind(KindOrganisation, KindDevice)
		needUsage(KeyUsageDigitalSignature)
	case PurposeKeyAgreement:
		needKind(KindOrganisation, KindDevice)
		needUsage(KeyUsageKeyAgreement)
	case PurposePrepayment:
		needKind(KindOrganisation)
		needUsage(KeyUsageKeyAgreement)
		if len(problems) == 0 && c.Role != RoleSupplier {
			problems = append(problems, fmt.Sprintf("role %d (%s), prepayment needs a supplier (02)", int(c.Role), c.Role))
		}
	default:
		return fmt.Errorf("%w: unknown purpose %d", ErrPurpose, int(p))
	}
	if len(problems) == 0 && len(roles) > 0 && c.Kind == KindOrganisation {
		ok := false
		for _, r := range roles {
			ok = ok || c.Role == r
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("role %d (%s) not among %v", int(c.Role), c.Role, roles))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrPurpose, strings.Join(problems, "; "))
	}
	return nil
}
