package store

import (
	"errors"
	"fmt"
	"io"
)

// Backup writes a consistent snapshot of the whole store to w: Badger's
// backup stream, read at one timestamp while writes go on. Badger's own
// DB.Backup is not that: outside managed mode each of its producer
// goroutines opens its own read transaction, so key ranges come from
// different moments (a test caught a section counting a thread its listing
// lacked). One producer means one transaction, one snapshot. The stream is
// PLAINTEXT even when the store is encrypted at rest: the caller must
// encrypt it (cmd/tropa writes it through keys.SealWriter). It returns the
// snapshot's version.
func (db *DB) Backup(w io.Writer) (uint64, error) {
	st := db.bdb.NewStream()
	st.LogPrefix = "tropa backup"
	st.NumGo = 1
	v, err := st.Backup(w, 0)
	if err != nil {
		return 0, fmt.Errorf("store: backup: %w", err)
	}
	return v, nil
}

// ErrNotEmpty is returned by Load into a store that holds records.
var ErrNotEmpty = errors.New("store: the store is not empty")

// Load reads a stream written by Backup into db, which must be empty.
func (db *DB) Load(r io.Reader) error {
	empty := true
	if err := db.ForEach(nil, func(_, _ []byte) error { empty = false; return errStop }); err != nil && !errors.Is(err, errStop) {
		return err
	}
	if !empty {
		return ErrNotEmpty
	}
	if err := db.bdb.Load(r, 256); err != nil {
		return fmt.Errorf("store: load: %w", err)
	}
	return nil
}
