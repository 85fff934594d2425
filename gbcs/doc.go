// Package gbcs is the Great Britain Companion Specification (SEC Schedule 8)
// message layer: the frames that carry every message between DCC Users, the
// DCC and smart metering devices, and the cryptography that protects them.
//
//   - Frames: the MAC Header (DLMS General-Ciphering, tag DD) wrapping the
//     Grouping Header (DLMS General-Signing, tag DF), Pre-Commands without a
//     signature field, and General Block Transfer (GBT) blocks. Parse and
//     Marshal round-trip byte for byte.
//   - Cryptography: ECDSA P-256 signatures over the Grouping Header, ECDH +
//     the concatenation KDF, the 12-byte GMAC of the MAC Header, and the
//     encryption of sensitive payloads. Keys come from a KeyStore.
//   - The use-case catalogue (message codes, alert codes), generated from
//     data by internal/tools/gbcsgen.
//   - UTRN prepayment top-up codes.
//
// The payload inside a message (DLMS A-XDR, ZigBee GBZ, ASN.1) is decoded by
// the sub-packages; this package hands them Message.Content and
// Message.MessageCode.
//
// The package is pure: bytes and keys in, values out. No network, storage or
// clock. Parse never panics on hostile input; its errors are *ParseError
// values carrying the byte offset.
//
// Byte layouts and crypto rules follow the project's GBCS notes, checked
// against the 1,275 messages of the RTDS 4.5.0 corpus (see docs/gbcs.md).
package gbcs

//go:generate go run ../internal/tools/gbcsgen -out catalog_gen.go
