// Package dccboxed holds the material that makes OpenDCC a drop-in for DCC
// Boxed users: the ZAZ1 test organisation certificates and keys that DCC
// Boxed, its signing tool and its Node-RED nodes use.
//
// keystore.json is the keystore.json of the public SmartDCCInnovation
// dccboxed-keystore repository (GPL-3.0 repository; its README states the
// file "can be used freely in other projects"), unchanged. Format:
// {eui: {digitalSignature|keyAgreement: {serialDecimal: {certificate,
// privateKey, role, name}}}}. It holds TEST keys only: never trust it in
// production.
package dccboxed

import _ "embed"

// KeystoreJSON is the DCC Boxed ZAZ1 keystore.
//
//go:embed keystore.json
var KeystoreJSON []byte

// KeystoreName is the value of --keystore/--trust that selects KeystoreJSON.
const KeystoreName = "dccboxed"
