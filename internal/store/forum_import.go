package store

import (
	"context"
	"errors"
	"fmt"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/forum"
)

// Importing threads (forum.ImportRepository). A thread that fits one write
// is written whole. A longer one is written in parts: the first reserves its
// ID and leaves two markers, f/imp/<tid> (how far the import got, and the
// reports to file at the end) and f/purge/<tid>, the same marker an
// interrupted deletion leaves; the last part writes the thread record and
// its indexes and drops both. Until then no index names the thread, so
// nobody sees a half-written one, and if the import stops, the next start of
// the store (NewForumRepo) erases its posts as it finishes a deletion. An
// f/imp/ marker whose f/purge/ one is gone is such a leftover and is swept
// by the next import.

// serve's board runs over the metrics wrapper, which must let imports
// through (uncounted: an imported thread is not a new question).
var (
	_ forum.ImportRepository = (*ForumRepo)(nil)
	_ forum.ImportRepository = (*CountedForumRepo)(nil)
)

// importStage is an imported thread still being written.
type importStage struct {
	total   uint64 // posts the thread has
	written uint64 // posts written so far
	replies uint64 // of those, posts after the question not deleted
	reports []forum.Report
}

func encodeImportStage(st *importStage) []byte {
	e := enc{b: make([]byte, 0, 16+64*len(st.reports))}
	e.byte(recV1)
	e.u(st.total)
	e.u(st.written)
	e.u(st.replies)
	e.u(uint64(len(st.reports)))
	for i := range st.reports {
		e.s(string(encodeReport(&st.reports[i])))
	}
	return e.b
}

func decodeImportStage(b []byte) (*importStage, error) {
	d := dec{b: b}
	d.version()
	st := &importStage{total: d.u(), written: d.u(), replies: d.u()}
	n := d.u()
	if d.err != nil || n > uint64(len(d.b)) {
		return nil, errCorrupt
	}
	for i := uint64(0); i < n; i++ {
		r, err := decodeReport([]byte(d.s()))
		if d.err != nil || err != nil {
			return nil, errCorrupt
		}
		st.reports = append(st.reports, *r)
	}
	return st, d.err
}

// importRefused is a part that does not fit the thread it continues: the
// caller's mistake, never the file's (the forum checked that).
func importRefused(format string, args ...any) error {
	return &forum.Error{Code: forum.ECONFLICT, Err: fmt.Errorf("store: import: "+format, args...)}
}

// ImportParts implements forum.ImportRepository.
func (r *ForumRepo) ImportParts(ctx context.Context, parts []forum.ImportPart) ([]forum.ThreadID, error) {
	stale, err := r.staleImports()
	if err != nil {
		return nil, fail(err)
	}
	out := make([]forum.ThreadID, len(parts))
	err = r.write(ctx, func(tx *Tx) error {
		for _, id := range stale {
			if _, err := tx.Get(fPurgeKey(id)); errors.Is(err, ErrNotFound) {
				tx.Delete(fImportKey(id))
			}
		}
		for i, p := range parts {
			id, err := importPart(tx, p)
			if err != nil {
				return err
			}
			out[i] = forum.ThreadID(id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// staleImports lists the f/imp/ markers left by an import that a restart
// erased.
func (r *ForumRepo) staleImports() ([]uint64, error) {
	var ids []uint64
	err := r.db.bdb.View(func(txn *badger.Txn) error {
		return iterate(txn, []byte(prefixFImport), nil, func(k, _ []byte) error {
			id := readU64(k[len(prefixFImport):])
			if _, err := getValue(txn, fPurgeKey(id)); errors.Is(err, ErrNotFound) {
				ids = append(ids, id)
			} else if err != nil {
				return err
			}
			return nil
		})
	})
	return ids, err
}

func importPart(tx *Tx, p forum.ImportPart) (uint64, error) {
	id := uint64(p.Stage)
	st := &importStage{}
	staged := id != 0
	if !staged {
		if p.Total < 1 || p.Total >= 1<<31 {
			return 0, importRefused("a thread of %d posts", p.Total)
		}
		var err error
		if id, err = next(tx, ctrThread); err != nil {
			return 0, err
		}
		st.total = uint64(p.Total)
	} else {
		b, err := tx.Get(fImportKey(id))
		if err == nil {
			_, err = tx.Get(fPurgeKey(id))
		}
		if errors.Is(err, ErrNotFound) {
			return 0, importRefused("no import of thread %d in progress (erased by a restart?)", id)
		}
		if err != nil {
			return 0, err
		}
		if st, err = decodeImportStage(b); err != nil {
			return 0, err
		}
	}
	for _, post := range p.Posts {
		if post.N < 1 || uint64(post.N) > st.total {
			return 0, importRefused("post %d of a thread of %d", post.N, st.total)
		}
		k := fPostKey(id, uint32(post.N))
		if _, err := tx.Get(k); err == nil {
			return 0, importRefused("post %d given twice", post.N)
		} else if !errors.Is(err, ErrNotFound) {
			return 0, err
		}
		post.Thread = forum.ThreadID(id)
		tx.Set(k, encodePost(&post))
		st.written++
		if post.N > 1 && !post.Deleted {
			st.replies++
		}
	}
	for _, rep := range p.Reports {
		if rep.Post.N < 1 || uint64(rep.Post.N) > st.total {
			return 0, importRefused("a report on post %d of a thread of %d", rep.Post.N, st.total)
		}
		st.reports = append(st.reports, rep)
	}
	if p.Thread == nil {
		if !staged {
			tx.Set(fPurgeKey(id), encodeU64(st.total))
		}
		tx.Set(fImportKey(id), encodeImportStage(st))
		return id, nil
	}

	// The last part: the thread shows.
	if st.written != st.total {
		return 0, importRefused("%d of %d posts written", st.written, st.total)
	}
	if _, err := getSection(tx.Get, uint64(p.Thread.Section)); err != nil {
		return 0, err
	}
	t := &threadRec{Thread: *p.Thread}
	t.ID, t.Posts, t.Replies, t.Asker = forum.ThreadID(id), int(st.total), int(st.replies), 0
	var err error
	if t.act, err = next(tx, ctrAct); err != nil {
		return 0, err
	}
	if err := putThread(tx, nil, t); err != nil {
		return 0, err
	}
	for _, rep := range st.reports {
		rid, err := next(tx, ctrReport)
		if err != nil {
			return 0, err
		}
		rep.ID = forum.ReportID(rid)
		rep.Post = forum.PostRef{Thread: t.ID, N: rep.Post.N}
		if !rep.Resolved {
			rep.ResolvedBy = ""
		}
		tx.Set(fReportKey(rid), encodeReport(&rep))
		if !rep.Resolved {
			tx.Set(fReportOpenKey(rid), []byte{recV1})
		}
	}
	if staged {
		tx.Delete(fImportKey(id))
		tx.Delete(fPurgeKey(id))
	}
	return id, nil
}

// AbortImport implements forum.ImportRepository: it erases what the parts
// of an unfinished thread wrote.
func (r *ForumRepo) AbortImport(ctx context.Context, stage forum.ThreadID) error {
	id := uint64(stage)
	var total uint64
	err := r.write(ctx, func(tx *Tx) error {
		b, err := tx.Get(fImportKey(id))
		if errors.Is(err, ErrNotFound) {
			return notFound(forum.KeyThreadNotFound)
		}
		if err != nil {
			return err
		}
		st, err := decodeImportStage(b)
		if err != nil {
			return err
		}
		total = st.total
		tx.Delete(fImportKey(id))
		return nil
	})
	if err != nil {
		return err
	}
	return r.purge(ctx, id, total)
}
