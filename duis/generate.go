package duis

// Generated from the DUIS 5.4 schema set by internal/tools/duisgen:
// types_gen.go (Go types, decoders and encoders) and schema_gen.go (the
// validation tables). TestGeneratedUpToDate fails when they are stale.
//go:generate go run ../internal/tools/duisgen -out .
