package store

import (
	"bytes"
	"context"
	"errors"
	"sort"

	badger "github.com/dgraph-io/badger/v4"

	"tropa/forum"
)

// ForumRepo is the forum's storage: forum.Repository over Badger. Reads are
// Badger views; every write goes through one group-commit Batcher, so the
// forum's keys have a single writer.
type ForumRepo struct {
	db *DB
	b  *Batcher
}

var _ forum.Repository = (*ForumRepo)(nil)

// purgeChunk is how many posts of a deleted thread one write erases.
const purgeChunk = 1000

// NewForumRepo opens the forum's storage in db and finishes erasing any
// thread whose deletion was interrupted. Close it before db.
func NewForumRepo(db *DB, o BatchOptions) (*ForumRepo, error) {
	r := &ForumRepo{db: db, b: NewBatcher(db, o)}
	var todo []struct{ id, posts uint64 }
	err := db.bdb.View(func(txn *badger.Txn) error {
		return iterate(txn, []byte(prefixFPurge), nil, func(k, v []byte) error {
			n, err := decodeU64(v)
			if err != nil {
				return err
			}
			todo = append(todo, struct{ id, posts uint64 }{readU64(k[len(prefixFPurge):]), n})
			return nil
		})
	})
	if err == nil {
		for _, t := range todo {
			if err = r.purge(context.Background(), t.id, t.posts); err != nil {
				break
			}
		}
	}
	if err != nil {
		r.b.Close()
		return nil, err
	}
	return r, nil
}

// Close stops the forum's writer (not the store).
func (r *ForumRepo) Close() error { return r.b.Close() }

// ---- helpers --------------------------------------------------------------

func readU64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

func notFound(key string) *forum.Error {
	return &forum.Error{Code: forum.ENOTFOUND, Key: key}
}

// fail turns an error into a forum error: forum errors pass through, the
// rest become EINTERNAL (or EUNAVAILABLE for an ended context).
func fail(err error) error {
	if err == nil {
		return nil
	}
	var fe *forum.Error
	var fes forum.Errors
	if errors.As(err, &fe) || errors.As(err, &fes) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrClosed) {
		return &forum.Error{Code: forum.EUNAVAILABLE, Key: forum.KeyBusy, Err: err}
	}
	return forum.Internal(err)
}

// iterate calls fn with each key and value under prefix from start (nil:
// the prefix itself), in key order, until fn returns errStop.
func iterate(txn *badger.Txn, prefix, start []byte, fn func(k, v []byte) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	it := txn.NewIterator(opts)
	defer it.Close()
	if start == nil {
		start = prefix
	}
	for it.Seek(start); it.ValidForPrefix(prefix); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := fn(item.KeyCopy(nil), v); err != nil {
			if errors.Is(err, errStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

var errStop = errors.New("stop")

// page reads up to limit values under prefix after skipping offset keys.
// Skipping walks keys only; values are read for the page alone, so a page
// costs the same whatever the size of the store.
func page(txn *badger.Txn, prefix []byte, reverse bool, offset, limit int, fn func(k, v []byte) error) error {
	if limit <= 0 {
		return nil
	}
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false
	opts.Reverse = reverse
	it := txn.NewIterator(opts)
	defer it.Close()
	seek := prefix
	if reverse {
		seek = append(bytes.Clone(prefix), 0xff)
	}
	n := 0
	for it.Seek(seek); it.ValidForPrefix(prefix); it.Next() {
		if n < offset {
			n++
			continue
		}
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := fn(item.Key(), v); err != nil {
			return err
		}
		n++
		if n-offset >= limit {
			break
		}
	}
	return nil
}

func (r *ForumRepo) view(fn func(txn *badger.Txn) error) error {
	return fail(r.db.bdb.View(fn))
}

func (r *ForumRepo) write(ctx context.Context, fn func(tx *Tx) error) error {
	return fail(r.b.Do(ctx, fn))
}

func next(tx *Tx, name string) (uint64, error) {
	k := fCounterKey(name)
	var v uint64
	b, err := tx.Get(k)
	switch {
	case err == nil:
		if v, err = decodeU64(b); err != nil {
			return 0, err
		}
	case !errors.Is(err, ErrNotFound):
		return 0, err
	}
	v++
	tx.Set(k, encodeU64(v))
	return v, nil
}

func getSection(get func([]byte) ([]byte, error), id uint64) (*forum.Section, error) {
	b, err := get(fSectionKey(id))
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(forum.KeySectionNotFound)
	}
	if err != nil {
		return nil, err
	}
	return decodeSection(b)
}

func getThread(get func([]byte) ([]byte, error), id uint64) (*threadRec, error) {
	b, err := get(fThreadKey(id))
	if errors.Is(err, ErrNotFound) {
		return nil, notFound(forum.KeyThreadNotFound)
	}
	if err != nil {
		return nil, err
	}
	return decodeThread(b)
}

func getPost(get func([]byte) ([]byte, error), ref forum.PostRef) (forum.Post, error) {
	if ref.N < 1 || ref.N > 1<<31 {
		return forum.Post{}, notFound(forum.KeyPostNotFound)
	}
	b, err := get(fPostKey(uint64(ref.Thread), uint32(ref.N)))
	if errors.Is(err, ErrNotFound) {
		return forum.Post{}, notFound(forum.KeyPostNotFound)
	}
	if err != nil {
		return forum.Post{}, err
	}
	return decodePost(ref.Thread, ref.N, b)
}

func viewGet(txn *badger.Txn) func([]byte) ([]byte, error) {
	return func(k []byte) ([]byte, error) { return getValue(txn, k) }
}

// countThread adds d to the section's public or private thread count.
func countThread(tx *Tx, section uint64, private bool, d int) error {
	s, err := getSection(tx.Get, section)
	if err != nil {
		return err
	}
	if private {
		s.PrivateThreads += d
	} else {
		s.Threads += d
	}
	tx.Set(fSectionKey(section), encodeSection(s))
	return nil
}

func activityKey(t *threadRec) []byte {
	return fActivityKey(uint64(t.Section), t.Private, t.Pinned, t.act, uint64(t.ID))
}

// putThread writes a thread and keeps its index entries and its section's
// counters in step with it. old is nil for a new thread.
func putThread(tx *Tx, old, t *threadRec) error {
	if t.Awaiting && (old == nil || !old.Awaiting) {
		w, err := next(tx, ctrAct)
		if err != nil {
			return err
		}
		t.wait = w
	}
	if old == nil {
		if err := countThread(tx, uint64(t.Section), t.Private, 1); err != nil {
			return err
		}
	} else if old.Section != t.Section || old.Private != t.Private {
		if err := countThread(tx, uint64(t.Section), t.Private, 1); err != nil {
			return err
		}
		if err := countThread(tx, uint64(old.Section), old.Private, -1); err != nil {
			return err
		}
	}
	v := encodeThread(t)
	tx.Set(fThreadKey(uint64(t.ID)), v)
	ak := activityKey(t)
	if old != nil {
		if ok := activityKey(old); !bytes.Equal(ok, ak) {
			tx.Delete(ok)
		}
		if old.Awaiting && (!t.Awaiting || old.wait != t.wait) {
			tx.Delete(fQueueKey(old.wait, uint64(t.ID)))
		}
	}
	tx.Set(ak, v)
	if t.Awaiting {
		tx.Set(fQueueKey(t.wait, uint64(t.ID)), v)
	}
	return nil
}

// ---- metadata -------------------------------------------------------------

// UpdateMeta implements forum.Repository. The value is stored as given
// under m/<name>, like SetMeta.
func (r *ForumRepo) UpdateMeta(ctx context.Context, name string, fn func(old []byte) ([]byte, error)) ([]byte, error) {
	var out []byte
	err := r.write(ctx, func(tx *Tx) error {
		old, err := tx.Get(metaKey(name))
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		v, err := fn(old)
		if err != nil {
			return err
		}
		if !bytes.Equal(old, v) {
			tx.Set(metaKey(name), v)
		}
		out = v
		return nil
	})
	return out, err
}

// ---- sections -------------------------------------------------------------

// Sections implements forum.Repository.
func (r *ForumRepo) Sections(ctx context.Context) ([]forum.Section, error) {
	var out []forum.Section
	err := r.view(func(txn *badger.Txn) error {
		return iterate(txn, []byte(prefixFSection), nil, func(_, v []byte) error {
			s, err := decodeSection(v)
			if err != nil {
				return err
			}
			out = append(out, *s)
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out, err
}

// Section implements forum.Repository.
func (r *ForumRepo) Section(ctx context.Context, id forum.SectionID) (*forum.Section, error) {
	var s *forum.Section
	err := r.view(func(txn *badger.Txn) error {
		var err error
		s, err = getSection(viewGet(txn), uint64(id))
		return err
	})
	return s, err
}

// SectionBySlug implements forum.Repository.
func (r *ForumRepo) SectionBySlug(ctx context.Context, slug string) (*forum.Section, error) {
	var s *forum.Section
	err := r.view(func(txn *badger.Txn) error {
		b, err := getValue(txn, fSlugKey(slug))
		if errors.Is(err, ErrNotFound) {
			return notFound(forum.KeySectionNotFound)
		}
		if err != nil {
			return err
		}
		id, err := decodeU64(b)
		if err != nil {
			return err
		}
		s, err = getSection(viewGet(txn), id)
		return err
	})
	return s, err
}

// CreateSection implements forum.Repository.
func (r *ForumRepo) CreateSection(ctx context.Context, s forum.Section, opening *forum.NewThread) (*forum.Section, error) {
	var out *forum.Section
	err := r.write(ctx, func(tx *Tx) error {
		if s.Slug == "" {
			return &forum.Error{Code: forum.EINVALID, Field: "slug", Key: forum.KeySectionNotFound}
		}
		if _, err := tx.Get(fSlugKey(s.Slug)); err == nil {
			return &forum.Error{Code: forum.ECONFLICT, Field: "slug", Key: forum.KeySectionExists}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		id, err := next(tx, ctrSection)
		if err != nil {
			return err
		}
		sec := s
		sec.ID = forum.SectionID(id)
		sec.Threads, sec.PrivateThreads = 0, 0
		tx.Set(fSlugKey(s.Slug), encodeU64(id))
		tx.Set(fSectionKey(id), encodeSection(&sec))
		if opening != nil {
			nt := *opening
			nt.Thread.Section = sec.ID
			if _, err := createThread(tx, nt); err != nil {
				return err
			}
		}
		out, err = getSection(tx.Get, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ---- threads and posts ----------------------------------------------------

// Thread implements forum.Repository.
func (r *ForumRepo) Thread(ctx context.Context, id forum.ThreadID) (*forum.Thread, error) {
	var t *threadRec
	err := r.view(func(txn *badger.Txn) error {
		var err error
		t, err = getThread(viewGet(txn), uint64(id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &t.Thread, nil
}

func (r *ForumRepo) threadList(prefix []byte, reverse bool, offset, limit int) ([]forum.Thread, error) {
	out := make([]forum.Thread, 0, max(0, min(limit, 64)))
	err := r.view(func(txn *badger.Txn) error {
		return page(txn, prefix, reverse, offset, limit, func(_, v []byte) error {
			t, err := decodeThread(v)
			if err != nil {
				return err
			}
			out = append(out, t.Thread)
			return nil
		})
	})
	return out, err
}

// Threads implements forum.Repository.
func (r *ForumRepo) Threads(ctx context.Context, section forum.SectionID, private bool, offset, limit int) ([]forum.Thread, error) {
	return r.threadList(fActivityPrefix(uint64(section), private), false, offset, limit)
}

// ThreadSlice implements forum.Repository. A slice is a seek to its
// position in the section's activity index (f/sa/), the values of the
// threads listed and a few keys beyond each end: its cost does not depend
// on how deep in the list it starts, nor on the size of the store.
func (r *ForumRepo) ThreadSlice(ctx context.Context, q forum.ListQuery) (*forum.ThreadSlice, error) {
	out := &forum.ThreadSlice{}
	if q.Limit <= 0 {
		return out, nil
	}
	prefix := fActivityPrefix(uint64(q.Section), q.Private)
	err := r.view(func(txn *badger.Txn) error {
		if q.Before != nil {
			return sliceBefore(txn, prefix, positionKey(prefix, *q.Before), q.Limit, out)
		}
		var from []byte
		if q.After != nil {
			from = positionKey(prefix, *q.After)
		}
		skip := 0
		if q.After == nil {
			skip = max(q.Skip, 0)
		}
		if err := sliceAfter(txn, prefix, from, skip, q.Limit, out); err != nil {
			return err
		}
		switch {
		case q.After == nil:
			out.Newer = min(skip, q.Limit+1)
		case q.CountNewer && len(out.Pos) > 0:
			out.Newer = countBefore(txn, prefix, positionKey(prefix, out.Pos[0]), q.Limit+1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// positionKey is the activity index key of a position in the list under
// prefix (the key need not exist).
func positionKey(prefix []byte, p forum.Position) []byte {
	k := make([]byte, 0, len(prefix)+17)
	k = append(k, prefix...)
	if p.Pinned {
		k = append(k, 0)
	} else {
		k = append(k, 1)
	}
	k = appendU64(k, ^p.Seq)
	return appendU64(k, uint64(p.Thread))
}

// keyPosition reads the position out of an activity index key.
func keyPosition(prefix, k []byte) (forum.Position, error) {
	t := k[len(prefix):]
	if len(t) != 17 {
		return forum.Position{}, errCorrupt
	}
	return forum.Position{Pinned: t[0] == 0, Seq: ^readU64(t[1:9]), Thread: forum.ThreadID(readU64(t[9:17]))}, nil
}

// appendSlice decodes one index entry into out.
func appendSlice(prefix []byte, item *badger.Item, out *forum.ThreadSlice) error {
	pos, err := keyPosition(prefix, item.Key())
	if err != nil {
		return err
	}
	var t *threadRec
	if err := item.Value(func(v []byte) error {
		t, err = decodeThread(v)
		return err
	}); err != nil {
		return err
	}
	out.Threads = append(out.Threads, t.Thread)
	out.Pos = append(out.Pos, pos)
	return nil
}

func keyIterator(txn *badger.Txn, prefix []byte, reverse bool) *badger.Iterator {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = prefix
	opts.PrefetchValues = false // values are read for the listed threads alone
	opts.Reverse = reverse
	return txn.NewIterator(opts)
}

// sliceAfter lists up to limit threads after key from (exclusive; nil: the
// top of the list), having first skipped skip keys, and notes whether one
// more follows.
func sliceAfter(txn *badger.Txn, prefix, from []byte, skip, limit int, out *forum.ThreadSlice) error {
	it := keyIterator(txn, prefix, false)
	defer it.Close()
	if from == nil {
		it.Seek(prefix)
	} else {
		it.Seek(from)
		if it.ValidForPrefix(prefix) && bytes.Equal(it.Item().Key(), from) {
			it.Next()
		}
	}
	for ; skip > 0 && it.ValidForPrefix(prefix); it.Next() {
		skip--
	}
	for ; it.ValidForPrefix(prefix); it.Next() {
		if len(out.Threads) == limit {
			out.Older = true
			break
		}
		if err := appendSlice(prefix, it.Item(), out); err != nil {
			return err
		}
	}
	return nil
}

// countBefore counts the keys before key at, up to limit. It walks from
// the top of the list, forwards: at most limit keys, and Badger's forward
// iteration costs a fraction of its reverse iteration (which looks up
// every step in the memtables afresh).
func countBefore(txn *badger.Txn, prefix, at []byte, limit int) int {
	it := keyIterator(txn, prefix, false)
	defer it.Close()
	n := 0
	for it.Seek(prefix); n < limit && it.ValidForPrefix(prefix); it.Next() {
		if bytes.Compare(it.Item().Key(), at) >= 0 {
			break
		}
		n++
	}
	return n
}

// sliceBefore lists up to limit threads just before key at, in list
// order; counts up to limit+1 more before them; and notes whether any
// thread sits at or after at.
func sliceBefore(txn *badger.Txn, prefix, at []byte, limit int, out *forum.ThreadSlice) error {
	it := keyIterator(txn, prefix, true)
	var rev forum.ThreadSlice
	it.Seek(at)
	if it.ValidForPrefix(prefix) && bytes.Equal(it.Item().Key(), at) {
		it.Next()
	}
	for ; len(rev.Threads) < limit && it.ValidForPrefix(prefix); it.Next() {
		if err := appendSlice(prefix, it.Item(), &rev); err != nil {
			it.Close()
			return err
		}
	}
	more := it.ValidForPrefix(prefix)
	it.Close()
	for i := len(rev.Threads) - 1; i >= 0; i-- {
		out.Threads = append(out.Threads, rev.Threads[i])
		out.Pos = append(out.Pos, rev.Pos[i])
	}
	if more {
		out.Newer = countBefore(txn, prefix, positionKey(prefix, out.Pos[0]), limit+1)
	}
	fwd := keyIterator(txn, prefix, false)
	defer fwd.Close()
	fwd.Seek(at)
	out.Older = fwd.ValidForPrefix(prefix)
	return nil
}

// Unanswered implements forum.Repository.
func (r *ForumRepo) Unanswered(ctx context.Context, offset, limit int) ([]forum.Thread, error) {
	return r.threadList([]byte(prefixFQueue), false, offset, limit)
}

// Posts implements forum.Repository.
func (r *ForumRepo) Posts(ctx context.Context, thread forum.ThreadID, from, limit int) ([]forum.Post, error) {
	if from < 1 {
		from = 1
	}
	out := make([]forum.Post, 0, max(0, min(limit, 64)))
	if limit <= 0 || from > 1<<31 {
		return out, nil
	}
	err := r.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = fPostPrefix(uint64(thread))
		// Values are decoded in place (decoding copies the strings), so
		// prefetching, which copies every value first, only costs.
		opts.PrefetchValues = false
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(fPostKey(uint64(thread), uint32(from))); it.ValidForPrefix(opts.Prefix) && len(out) < limit; it.Next() {
			item := it.Item()
			k := item.Key()
			n := int(uint32(k[len(k)-4])<<24 | uint32(k[len(k)-3])<<16 | uint32(k[len(k)-2])<<8 | uint32(k[len(k)-1]))
			var p forum.Post
			err := item.Value(func(v []byte) error {
				var err error
				p, err = decodePost(thread, n, v)
				return err
			})
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// createThread stores a new thread in tx (see CreateThread).
func createThread(tx *Tx, nt forum.NewThread) (*threadRec, error) {
	t := &threadRec{Thread: nt.Thread}
	if t.Asker == 0 && nt.ReceiptHash != nil {
		rk := fReceiptKey(nt.ReceiptHash)
		if _, err := tx.Get(rk); err == nil {
			return nil, &forum.Error{Code: forum.ECONFLICT, Key: forum.KeyReceiptCollision}
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		a, err := next(tx, ctrAsker)
		if err != nil {
			return nil, err
		}
		t.Asker = forum.AskerID(a)
		tx.Set(rk, encodeReceiptRec(a, nt.KDF))
	}
	id, err := next(tx, ctrThread)
	if err != nil {
		return nil, err
	}
	if t.act, err = next(tx, ctrAct); err != nil {
		return nil, err
	}
	t.ID = forum.ThreadID(id)
	t.Posts, t.Replies = 1, 0
	q := nt.Question
	tx.Set(fPostKey(id, 1), encodePost(&q))
	if err := putThread(tx, nil, t); err != nil {
		return nil, err
	}
	if t.Asker != 0 {
		tx.Set(fAskerThreadKey(uint64(t.Asker), id), []byte{recV1})
	}
	return t, nil
}

// CreateThread implements forum.Repository.
func (r *ForumRepo) CreateThread(ctx context.Context, nt forum.NewThread) (*forum.Thread, error) {
	var out forum.Thread
	err := r.write(ctx, func(tx *Tx) error {
		if _, err := getSection(tx.Get, uint64(nt.Thread.Section)); err != nil {
			return err
		}
		t, err := createThread(tx, nt)
		if err != nil {
			return err
		}
		out = t.Thread
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// AddPost implements forum.Repository.
func (r *ForumRepo) AddPost(ctx context.Context, id forum.ThreadID, fn func(t *forum.Thread) (*forum.Post, error)) (*forum.Thread, *forum.Post, error) {
	var outT forum.Thread
	var outP forum.Post
	err := r.write(ctx, func(tx *Tx) error {
		old, err := getThread(tx.Get, uint64(id))
		if err != nil {
			return err
		}
		t := *old
		p, err := fn(&t.Thread)
		if err != nil {
			return err
		}
		if old.Posts >= 1<<31 {
			return &forum.Error{Code: forum.ECONFLICT, Key: forum.KeyThreadLocked}
		}
		t.ID, t.Posts = old.ID, old.Posts+1
		if t.act, err = next(tx, ctrAct); err != nil {
			return err
		}
		post := *p
		post.Thread, post.N = t.ID, t.Posts
		tx.Set(fPostKey(uint64(id), uint32(post.N)), encodePost(&post))
		if err := putThread(tx, old, &t); err != nil {
			return err
		}
		outT, outP = t.Thread, post
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return &outT, &outP, nil
}

// UpdateThread implements forum.Repository.
func (r *ForumRepo) UpdateThread(ctx context.Context, id forum.ThreadID, fn func(t *forum.Thread) error) (*forum.Thread, error) {
	var out forum.Thread
	err := r.write(ctx, func(tx *Tx) error {
		old, err := getThread(tx.Get, uint64(id))
		if err != nil {
			return err
		}
		t := *old
		if err := fn(&t.Thread); err != nil {
			return err
		}
		t.ID, t.Posts, t.Asker = old.ID, old.Posts, old.Asker
		if err := putThread(tx, old, &t); err != nil {
			return err
		}
		out = t.Thread
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdatePost implements forum.Repository.
func (r *ForumRepo) UpdatePost(ctx context.Context, ref forum.PostRef, fn func(t *forum.Thread, p *forum.Post) error) (*forum.Post, error) {
	var out forum.Post
	err := r.write(ctx, func(tx *Tx) error {
		old, err := getThread(tx.Get, uint64(ref.Thread))
		if err != nil {
			return err
		}
		p, err := getPost(tx.Get, ref)
		if err != nil {
			return err
		}
		t := *old
		if err := fn(&t.Thread, &p); err != nil {
			return err
		}
		t.ID, t.Posts, t.Asker = old.ID, old.Posts, old.Asker
		p.Thread, p.N = ref.Thread, ref.N
		tx.Set(fPostKey(uint64(ref.Thread), uint32(ref.N)), encodePost(&p))
		if t.Thread != old.Thread {
			if err := putThread(tx, old, &t); err != nil {
				return err
			}
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteThread implements forum.Repository. The thread leaves every index
// in one write; its posts are erased in chunks after it, and a marker
// (f/purge/) lets a restart finish the job.
func (r *ForumRepo) DeleteThread(ctx context.Context, id forum.ThreadID) error {
	var posts uint64
	err := r.write(ctx, func(tx *Tx) error {
		t, err := getThread(tx.Get, uint64(id))
		if err != nil {
			return err
		}
		if err := countThread(tx, uint64(t.Section), t.Private, -1); err != nil {
			return err
		}
		tx.Delete(fThreadKey(uint64(id)))
		tx.Delete(activityKey(t))
		if t.Awaiting {
			tx.Delete(fQueueKey(t.wait, uint64(id)))
		}
		if t.Asker != 0 {
			tx.Delete(fAskerThreadKey(uint64(t.Asker), uint64(id)))
		}
		posts = uint64(t.Posts)
		tx.Set(fPurgeKey(uint64(id)), encodeU64(posts))
		return nil
	})
	if err != nil {
		return err
	}
	return r.purge(ctx, uint64(id), posts)
}

func (r *ForumRepo) purge(ctx context.Context, id, posts uint64) error {
	ctx = context.WithoutCancel(ctx) // finish what was started
	for from := uint64(1); from <= posts; from += purgeChunk {
		to := min(from+purgeChunk-1, posts)
		err := r.write(ctx, func(tx *Tx) error {
			for n := from; n <= to; n++ {
				tx.Delete(fPostKey(id, uint32(n)))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return r.write(ctx, func(tx *Tx) error { tx.Delete(fPurgeKey(id)); return nil })
}

// ---- askers ---------------------------------------------------------------

// AskerThreads implements forum.Repository.
func (r *ForumRepo) AskerThreads(ctx context.Context, asker forum.AskerID, limit int) ([]forum.Thread, error) {
	var out []forum.Thread
	err := r.view(func(txn *badger.Txn) error {
		prefix := fAskerThreadPrefix(uint64(asker))
		var ids []uint64
		if err := page(txn, prefix, false, 0, limit, func(k, _ []byte) error {
			ids = append(ids, ^readU64(k[len(prefix):]))
			return nil
		}); err != nil {
			return err
		}
		for _, id := range ids {
			t, err := getThread(viewGet(txn), id)
			if err != nil {
				return err
			}
			out = append(out, t.Thread)
		}
		return nil
	})
	return out, err
}

// AskerByReceiptHash implements forum.Repository.
func (r *ForumRepo) AskerByReceiptHash(ctx context.Context, hash []byte) (forum.AskerID, error) {
	var id uint64
	err := r.view(func(txn *badger.Txn) error {
		b, err := getValue(txn, fReceiptKey(hash))
		if errors.Is(err, ErrNotFound) {
			return &forum.Error{Code: forum.ENOTFOUND, Field: "receipt", Key: forum.KeyReceiptUnknown}
		}
		if err != nil {
			return err
		}
		id, _, err = decodeReceiptRec(b)
		return err
	})
	return forum.AskerID(id), err
}

// RekeyReceipt implements forum.Repository.
func (r *ForumRepo) RekeyReceipt(ctx context.Context, oldHash, newHash []byte, kdf uint8) error {
	return r.write(ctx, func(tx *Tx) error {
		b, err := tx.Get(fReceiptKey(oldHash))
		if errors.Is(err, ErrNotFound) {
			return nil // moved meanwhile
		}
		if err != nil {
			return err
		}
		id, _, err := decodeReceiptRec(b)
		if err != nil {
			return err
		}
		tx.Delete(fReceiptKey(oldHash))
		tx.Set(fReceiptKey(newHash), encodeReceiptRec(id, kdf))
		return nil
	})
}

// ---- reports --------------------------------------------------------------

// AddReport implements forum.Repository.
func (r *ForumRepo) AddReport(ctx context.Context, rep forum.Report, check func(t *forum.Thread, p *forum.Post) error) (*forum.Report, error) {
	var out forum.Report
	err := r.write(ctx, func(tx *Tx) error {
		t, err := getThread(tx.Get, uint64(rep.Post.Thread))
		if err != nil {
			return err
		}
		p, err := getPost(tx.Get, rep.Post)
		if err != nil {
			return err
		}
		if err := check(&t.Thread, &p); err != nil {
			return err
		}
		id, err := next(tx, ctrReport)
		if err != nil {
			return err
		}
		out = rep
		out.ID = forum.ReportID(id)
		out.Resolved, out.ResolvedBy = false, ""
		tx.Set(fReportKey(id), encodeReport(&out))
		tx.Set(fReportOpenKey(id), []byte{recV1})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Reports implements forum.Repository.
func (r *ForumRepo) Reports(ctx context.Context, open bool, offset, limit int) ([]forum.Report, error) {
	var out []forum.Report
	err := r.view(func(txn *badger.Txn) error {
		if open {
			var ids []uint64
			if err := page(txn, []byte(prefixFReportOpen), false, offset, limit, func(k, _ []byte) error {
				ids = append(ids, readU64(k[len(prefixFReportOpen):]))
				return nil
			}); err != nil {
				return err
			}
			for _, id := range ids {
				b, err := getValue(txn, fReportKey(id))
				if err != nil {
					return err
				}
				rep, err := decodeReport(b)
				if err != nil {
					return err
				}
				out = append(out, *rep)
			}
			return nil
		}
		return page(txn, []byte(prefixFReport), true, offset, limit, func(_, v []byte) error {
			rep, err := decodeReport(v)
			if err != nil {
				return err
			}
			out = append(out, *rep)
			return nil
		})
	})
	return out, err
}

// UpdateReport implements forum.Repository.
func (r *ForumRepo) UpdateReport(ctx context.Context, id forum.ReportID, fn func(rep *forum.Report) error) (*forum.Report, error) {
	var out forum.Report
	err := r.write(ctx, func(tx *Tx) error {
		b, err := tx.Get(fReportKey(uint64(id)))
		if errors.Is(err, ErrNotFound) {
			return notFound(forum.KeyReportNotFound)
		}
		if err != nil {
			return err
		}
		rep, err := decodeReport(b)
		if err != nil {
			return err
		}
		if err := fn(rep); err != nil {
			return err
		}
		rep.ID = id
		tx.Set(fReportKey(uint64(id)), encodeReport(rep))
		if rep.Resolved {
			tx.Delete(fReportOpenKey(uint64(id)))
		} else {
			tx.Set(fReportOpenKey(uint64(id)), []byte{recV1})
		}
		out = *rep
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ForEach calls fn with every key and value under prefix (all keys for an
// empty prefix), in key order. It is for tests, audits and exports, never a
// page view.
func (db *DB) ForEach(prefix []byte, fn func(key, value []byte) error) error {
	return db.bdb.View(func(txn *badger.Txn) error {
		return iterate(txn, prefix, nil, fn)
	})
}
