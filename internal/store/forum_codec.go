package store

import (
	"encoding/binary"
	"errors"
	"html/template"

	"tropa/forum"
)

// The forum's records are encoded by hand: a version byte, then fields as
// uvarints and length-prefixed strings, in a fixed order. It is several
// times smaller and faster than JSON or gob for these records (see
// BenchmarkCodec). A new field goes at the end under a new version byte;
// decoders keep reading the old versions.

const recV1 = 1

var errCorrupt = errors.New("store: corrupt forum record")

type enc struct{ b []byte }

func (e *enc) u(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) i(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) s(v string)   { e.u(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) byte(v uint8) { e.b = append(e.b, v) }

type dec struct {
	b   []byte
	err error
}

func (d *dec) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) i() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) s() string {
	n := d.u()
	if d.err != nil {
		return ""
	}
	if uint64(len(d.b)) < n {
		d.err = errCorrupt
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

func (d *dec) byte() uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errCorrupt
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

// version reads the leading version byte and checks it is one we know.
func (d *dec) version() {
	if v := d.byte(); d.err == nil && v != recV1 {
		d.err = errCorrupt
	}
}

func flags(bs ...bool) uint8 {
	var f uint8
	for i, b := range bs {
		if b {
			f |= 1 << i
		}
	}
	return f
}

func flag(f uint8, i int) bool { return f&(1<<i) != 0 }

// ---- sections -------------------------------------------------------------

func encodeSection(s *forum.Section) []byte {
	e := enc{b: make([]byte, 0, 256)}
	e.byte(recV1)
	e.u(uint64(s.ID))
	e.s(s.Slug)
	e.i(int64(s.Order))
	e.s(s.Title.RU)
	e.s(s.Title.EN)
	e.s(s.Description.RU)
	e.s(s.Description.EN)
	e.u(uint64(s.Threads))
	e.u(uint64(s.PrivateThreads))
	return e.b
}

func decodeSection(b []byte) (*forum.Section, error) {
	d := dec{b: b}
	d.version()
	s := &forum.Section{
		ID:    forum.SectionID(d.u()),
		Slug:  d.s(),
		Order: int(d.i()),
		Title: forum.L10n{RU: d.s(), EN: d.s()},
	}
	s.Description = forum.L10n{RU: d.s(), EN: d.s()}
	s.Threads = int(d.u())
	s.PrivateThreads = int(d.u())
	return s, d.err
}

// ---- threads --------------------------------------------------------------

// threadRec is a thread with the store's own ordering fields: act is the
// activity sequence of its last post, wait the sequence at which it started
// waiting for staff.
type threadRec struct {
	forum.Thread
	act  uint64
	wait uint64
}

func encodeThread(t *threadRec) []byte {
	e := enc{b: make([]byte, 0, 64+len(t.Title))}
	e.byte(recV1)
	e.u(uint64(t.ID))
	e.u(uint64(t.Section))
	e.s(t.Title)
	e.byte(flags(t.Private, t.Pinned, t.Locked, t.Answered, t.Awaiting))
	e.u(uint64(t.Posts))
	e.u(uint64(t.Replies))
	e.i(int64(t.Created))
	e.i(int64(t.LastActive))
	e.u(uint64(t.Asker))
	e.u(t.act)
	e.u(t.wait)
	return e.b
}

func decodeThread(b []byte) (*threadRec, error) {
	d := dec{b: b}
	d.version()
	t := &threadRec{}
	t.ID = forum.ThreadID(d.u())
	t.Section = forum.SectionID(d.u())
	t.Title = d.s()
	f := d.byte()
	t.Private, t.Pinned, t.Locked, t.Answered, t.Awaiting = flag(f, 0), flag(f, 1), flag(f, 2), flag(f, 3), flag(f, 4)
	t.Posts = int(d.u())
	t.Replies = int(d.u())
	t.Created = forum.Hour(d.i())
	t.LastActive = forum.Hour(d.i())
	t.Asker = forum.AskerID(d.u())
	t.act = d.u()
	t.wait = d.u()
	return t, d.err
}

// ---- posts ----------------------------------------------------------------

func encodePost(p *forum.Post) []byte {
	e := enc{b: make([]byte, 0, 32+len(p.Source)+len(p.HTML)+len(p.Author.Name))}
	e.byte(recV1)
	e.byte(uint8(p.Author.Kind))
	e.byte(flags(p.Hidden, p.Deleted))
	e.i(int64(p.Hour))
	e.s(p.Author.Name)
	e.s(p.Author.StaffID)
	e.s(p.Source)
	e.s(string(p.HTML))
	return e.b
}

func decodePost(thread forum.ThreadID, n int, b []byte) (forum.Post, error) {
	d := dec{b: b}
	d.version()
	p := forum.Post{Thread: thread, N: n}
	p.Author.Kind = forum.AuthorKind(d.byte())
	f := d.byte()
	p.Hidden, p.Deleted = flag(f, 0), flag(f, 1)
	p.Hour = forum.Hour(d.i())
	p.Author.Name = d.s()
	p.Author.StaffID = d.s()
	p.Source = d.s()
	p.HTML = template.HTML(d.s())
	return p, d.err
}

// ---- reports --------------------------------------------------------------

func encodeReport(r *forum.Report) []byte {
	e := enc{b: make([]byte, 0, 64+len(r.Note))}
	e.byte(recV1)
	e.u(uint64(r.ID))
	e.u(uint64(r.Post.Thread))
	e.u(uint64(r.Post.N))
	e.s(string(r.Reason))
	e.s(r.Note)
	e.i(int64(r.Hour))
	e.byte(flags(r.Resolved))
	e.s(r.ResolvedBy)
	return e.b
}

func decodeReport(b []byte) (*forum.Report, error) {
	d := dec{b: b}
	d.version()
	r := &forum.Report{ID: forum.ReportID(d.u())}
	r.Post.Thread = forum.ThreadID(d.u())
	r.Post.N = int(d.u())
	r.Reason = forum.ReportReason(d.s())
	r.Note = d.s()
	r.Hour = forum.Hour(d.i())
	r.Resolved = flag(d.byte(), 0)
	r.ResolvedBy = d.s()
	return r, d.err
}

// ---- small values ---------------------------------------------------------

// encodeU64 is a versioned uint64 value (counters, slug and receipt
// lookups, open-report and index markers).
func encodeU64(v uint64) []byte {
	b := make([]byte, 1, 10)
	b[0] = recV1
	return binary.AppendUvarint(b, v)
}

func decodeU64(b []byte) (uint64, error) {
	d := dec{b: b}
	d.version()
	v := d.u()
	return v, d.err
}

// encodeReceiptRec is an asker ID and the KDF set its hash was made with.
func encodeReceiptRec(asker uint64, kdf uint8) []byte {
	e := enc{b: make([]byte, 0, 12)}
	e.byte(recV1)
	e.byte(kdf)
	e.u(asker)
	return e.b
}

func decodeReceiptRec(b []byte) (asker uint64, kdf uint8, err error) {
	d := dec{b: b}
	d.version()
	kdf = d.byte()
	asker = d.u()
	return asker, kdf, d.err
}
