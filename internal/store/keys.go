package store

// The key schema. Every key tropa writes is built in this file, so the whole
// layout of the database can be read in one place.
//
// Layout (IDs are big-endian uint64 so that prefix iteration is ordered):
//
//	m/<name>                      metadata (schema version, seeded flags)
//
// Values carry a leading version byte.
const (
	prefixMeta = "m/"
)

func metaKey(name string) []byte { return []byte(prefixMeta + name) }
