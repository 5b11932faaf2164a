package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	badger "github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/table"
	"github.com/dgraph-io/badger/v4/y"
)

// A damaged store must be refused with a clear error, and nothing in it
// may change. Badger does neither for a damaged table file: it opens the
// tables in goroutines of its own, where a table cut short makes it index
// past the end of the file and panic (in table.initIndex), which no
// recover in Open can catch; and a table whose index fails its checksum is
// skipped with a log line ("Ignoring table"), its records silently gone
// from the open store. So before Badger opens the store, checkTables
// reads the footer and the index of every table the manifest lists,
// exactly as table.initIndex does, and refuses the store if one is
// missing, cut short or fails its checksum.

// ErrDamaged is matched (errors.Is) by every DamagedError.
var ErrDamaged = errors.New("store: damaged")

// DamagedError says which file of the store is damaged and how. Open
// returns it before anything in the directory was changed.
type DamagedError struct {
	Dir    string // the store's directory
	File   string // the damaged file's name in Dir ("" if not known)
	Reason string // what is wrong: "missing", "cut short or overwritten (…)"
}

func (e *DamagedError) Error() string {
	if e.File == "" {
		return fmt.Sprintf("store: the store in %s is damaged: %s", e.Dir, e.Reason)
	}
	return fmt.Sprintf("store: %s in %s is damaged: %s", e.File, e.Dir, e.Reason)
}

func (e *DamagedError) Is(target error) bool { return target == ErrDamaged }

// checkTables checks the manifest in dir and every table it lists. A
// missing manifest is left to Badger (a new store has none).
func checkTables(dir string) error {
	// Hold Badger's directory lock (shared) while checking: if a running
	// tropa holds it, its files are changing under us, and Badger's own
	// refusal ("Another process is using this Badger database") is the
	// right answer.
	d, err := os.Open(dir)
	if err != nil {
		return nil
	}
	defer d.Close()
	if err := syscall.Flock(int(d.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return nil
	}
	mf, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if err != nil {
		return nil
	}
	m, _, err := badger.ReplayManifestFile(mf, 0, badger.Options{})
	mf.Close()
	if err != nil {
		if strings.Contains(err.Error(), "version") || strings.Contains(err.Error(), "external magic") {
			// Written by another Badger version: not damage, Badger says so.
			return nil
		}
		first, _, _ := strings.Cut(err.Error(), "\n")
		return &DamagedError{Dir: dir, File: badger.ManifestFilename, Reason: "corrupt (" + first + ")"}
	}
	ids := make([]uint64, 0, len(m.Tables))
	for id := range m.Tables {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		name := table.IDToFilename(id)
		if reason := checkTable(filepath.Join(dir, name)); reason != "" {
			return &DamagedError{Dir: dir, File: name, Reason: reason}
		}
	}
	return nil
}

// checkTable reads a table's footer as table.initIndex does and returns
// what is wrong with it, or "".
//
// A table ends with: index, index length (4 bytes), checksum of the index
// (a protobuf pb.Checksum), checksum length (4 bytes); lengths big-endian.
func checkTable(path string) string {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "missing"
	}
	if err != nil {
		return "unreadable (" + err.Error() + ")"
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "unreadable (" + err.Error() + ")"
	}
	size := fi.Size()
	cut := fmt.Sprintf("cut short or overwritten (its index does not fit in its %d bytes)", size)
	read := func(off, n int64) ([]byte, bool) {
		if off < 0 || n < 0 || off+n > size {
			return nil, false
		}
		b := make([]byte, n)
		if _, err := f.ReadAt(b, off); err != nil && !(errors.Is(err, io.EOF) && off+n == size) {
			return nil, false
		}
		return b, true
	}
	pos := size - 4
	b, ok := read(pos, 4)
	if !ok {
		return cut
	}
	chkLen := int64(binary.BigEndian.Uint32(b))
	pos -= chkLen
	b, ok = read(pos, chkLen)
	if !ok {
		return cut
	}
	algo, sum, ok := parseChecksum(b)
	if !ok {
		return cut
	}
	pos -= 4
	b, ok = read(pos, 4)
	if !ok {
		return cut
	}
	idxLen := int64(binary.BigEndian.Uint32(b))
	pos -= idxLen
	idx, ok := read(pos, idxLen)
	if !ok {
		return cut
	}
	if y.CalculateChecksum(idx, algo) != sum {
		return "corrupt (its index fails its checksum)"
	}
	return ""
}

// parseChecksum decodes a pb.Checksum (field 1: algorithm, field 2: sum,
// both varints) without a protobuf library, refusing anything else.
func parseChecksum(b []byte) (algo pb.Checksum_Algorithm, sum uint64, ok bool) {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 || tag&7 != 0 {
			return 0, 0, false
		}
		b = b[n:]
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, 0, false
		}
		b = b[n:]
		switch tag >> 3 {
		case 1:
			if v != uint64(pb.Checksum_CRC32C) && v != uint64(pb.Checksum_XXHash64) {
				return 0, 0, false
			}
			algo = pb.Checksum_Algorithm(v)
		case 2:
			sum = v
		default:
			return 0, 0, false
		}
	}
	return algo, sum, true
}

// openBadger opens Badger and turns a panic in the calling goroutine
// (Badger checks some invariants with panics) into a DamagedError.
func openBadger(bo badger.Options) (bdb *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			first, _, _ := strings.Cut(fmt.Sprint(r), "\n")
			bdb, err = nil, &DamagedError{Dir: bo.Dir, Reason: "unreadable (Badger: " + strings.TrimSpace(first) + ")"}
		}
	}()
	return badger.Open(bo)
}
