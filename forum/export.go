package forum

// Export and import of the board as JSON, for moving a board to another
// installation and for backups an operator can read.
//
// An export holds what the board shows staff: sections, threads, posts with
// their author's kind and staff signature, moderation flags and reports. It
// never holds what opens an asker's threads: no receipts, no receipt hashes,
// no asker IDs. An asker appears only as the "asker" author kind inside their
// own thread, which is all a reader of that thread sees anyway. A private
// thread therefore comes back without its asker: after an import nobody can
// open it with a receipt.
//
// Import adds to a board and never duplicates: a thread is known by a hash of
// its creation hour, title and question (Identity), so a thread the board
// already has, whether it came from this file or was born here, is skipped.
// Everything in a file is checked before anything is written; a thread is
// written whole or not at all (see ImportChunk), so an interrupted import is
// finished by running it again.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The file format. A new version is a new number; this code reads only
// ExportVersion.
const (
	ExportFormat  = "tropa-forum-export"
	ExportVersion = 1
)

// Limits of an export file beyond the forum's text limits.
const (
	SlugMax        = 64
	DescriptionMax = 300
	// maxExportHour is 2200-01-01: an hour past it is a time given in
	// seconds or milliseconds, not hours.
	maxExportHour Hour = 2016168
	// maxPosts bounds a thread's posts (the store numbers them in 31 bits).
	maxPosts = 1 << 31
)

// Export is the whole file. Threads are listed section by section, in each
// section as its page lists them (pinned first, then latest activity first),
// public before private; import keeps that order.
type Export struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// ExportedHour is when the export was made (hours since 1970-01-01
	// 00:00 UTC, like every hour in the file).
	ExportedHour    Hour            `json:"exported_hour"`
	PrivateIncluded bool            `json:"private_included"`
	Sections        []ExportSection `json:"sections"`
	Threads         []ExportThread  `json:"threads"`

	threadLines []int // where each thread starts in the file read
}

// ExportSection is a section.
type ExportSection struct {
	Slug        string     `json:"slug"`
	Order       int        `json:"order"`
	Title       ExportL10n `json:"title"`
	Description ExportL10n `json:"description"`
}

// ExportL10n is a text in both languages; Russian is required where a text
// is.
type ExportL10n struct {
	RU string `json:"ru"`
	EN string `json:"en,omitempty"`
}

// ExportThread is a thread and its posts.
type ExportThread struct {
	Section    string       `json:"section"` // the section's slug
	Title      string       `json:"title"`
	Private    bool         `json:"private,omitempty"`
	Pinned     bool         `json:"pinned,omitempty"`
	Locked     bool         `json:"locked,omitempty"`
	Answered   bool         `json:"answered,omitempty"`
	Awaiting   bool         `json:"awaiting,omitempty"`
	Created    Hour         `json:"created_hour"`
	LastActive Hour         `json:"last_active_hour"`
	Posts      []ExportPost `json:"posts"`
}

// ExportPost is a post. Posts are numbered from 1 (the question) without
// gaps; a deleted post keeps its number and loses its text.
type ExportPost struct {
	N       int    `json:"n"`
	Author  string `json:"author"`             // "anonymous", "asker" or "staff"
	Name    string `json:"name,omitempty"`     // staff display name
	StaffID string `json:"staff_id,omitempty"` // staff account
	Hour    Hour   `json:"hour"`
	// Source is the Markdown as written. A hidden post keeps it (staff may
	// show the post again); a deleted one has none.
	Source  string         `json:"source,omitempty"`
	Hidden  bool           `json:"hidden,omitempty"`
	Deleted bool           `json:"deleted,omitempty"`
	Reports []ExportReport `json:"reports,omitempty"`
}

// ExportReport is a visitor's report of a post, open or resolved.
type ExportReport struct {
	Reason     ReportReason `json:"reason"`
	Note       string       `json:"note,omitempty"`
	Hour       Hour         `json:"hour"`
	Resolved   bool         `json:"resolved,omitempty"`
	ResolvedBy string       `json:"resolved_by,omitempty"` // staff account
}

// ExportReportRef is a report with the post it is about: the thread (in an
// ExportIndex) and the post number.
type ExportReportRef struct {
	Thread ThreadID `json:"thread,omitempty"`
	N      int      `json:"n"`
	ExportReport
}

// ---- export ---------------------------------------------------------------

// ExportIndex is the first step of an export: the file's header and
// sections, the threads to export in file order, and the reports on them.
// Threads' posts are read next, a part at a time (ExportThread), so a large
// board never has to fit in one answer.
type ExportIndex struct {
	Header  Export            `json:"header"` // Threads empty
	Threads []ExportRef       `json:"threads"`
	Reports []ExportReportRef `json:"reports,omitempty"`
}

// ExportRef names a thread to export; Posts is its count when listed (a
// hint for reading it in parts).
type ExportRef struct {
	ID    ThreadID `json:"id"`
	Posts int      `json:"posts"`
}

// ReportsByThread groups the index's reports by thread and post number.
func (x *ExportIndex) ReportsByThread() map[ThreadID]map[int][]ExportReport {
	m := map[ThreadID]map[int][]ExportReport{}
	for _, r := range x.Reports {
		if m[r.Thread] == nil {
			m[r.Thread] = map[int][]ExportReport{}
		}
		m[r.Thread][r.N] = append(m[r.Thread][r.N], r.ExportReport)
	}
	return m
}

const allRows = 1<<31 - 1

// ExportIndex lists what an export holds, as of now: every section, the
// public threads and, with includePrivate, the private ones, and the reports
// on their posts, oldest first.
func (s *Service) ExportIndex(ctx context.Context, includePrivate bool) (*ExportIndex, error) {
	secs, err := s.repo.Sections(ctx)
	if err != nil {
		return nil, err
	}
	x := &ExportIndex{Header: Export{Format: ExportFormat, Version: ExportVersion, ExportedHour: s.hour(),
		PrivateIncluded: includePrivate, Sections: make([]ExportSection, 0, len(secs))}}
	listed := map[ThreadID]bool{}
	for _, sec := range secs {
		x.Header.Sections = append(x.Header.Sections, ExportSection{Slug: sec.Slug, Order: sec.Order,
			Title:       ExportL10n{RU: sec.Title.RU, EN: sec.Title.EN},
			Description: ExportL10n{RU: sec.Description.RU, EN: sec.Description.EN}})
		for _, private := range []bool{false, true} {
			if private && !includePrivate {
				continue
			}
			ts, err := s.repo.Threads(ctx, sec.ID, private, 0, allRows)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				x.Threads = append(x.Threads, ExportRef{ID: t.ID, Posts: t.Posts})
				listed[t.ID] = true
			}
		}
	}
	rs, err := s.repo.Reports(ctx, false, 0, allRows)
	if err != nil {
		return nil, err
	}
	for i := len(rs) - 1; i >= 0; i-- { // newest first: turn them round
		r := rs[i]
		if listed[r.Post.Thread] {
			x.Reports = append(x.Reports, ExportReportRef{Thread: r.Post.Thread, N: r.Post.N, ExportReport: ExportReport{
				Reason: r.Reason, Note: r.Note, Hour: r.Hour, Resolved: r.Resolved, ResolvedBy: r.ResolvedBy}})
		}
	}
	return x, nil
}

// ExportThread reads a thread's fields and up to limit of its posts from
// post from (1-based), and returns them with the thread's number of posts.
// A private thread is ENOTFOUND unless includePrivate. Reports are left to
// the index. Errors: ENOTFOUND "err.thread.not_found" (deleted meanwhile).
func (s *Service) ExportThread(ctx context.Context, id ThreadID, from, limit int, includePrivate bool) (*ExportThread, int, error) {
	t, err := s.repo.Thread(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if t.Private && !includePrivate {
		return nil, 0, newErr(ENOTFOUND, "", KeyThreadNotFound)
	}
	sec, err := s.repo.Section(ctx, t.Section)
	if err != nil {
		return nil, 0, err
	}
	from = max(from, 1)
	// The thread's count bounds the read: posts added since belong to a
	// later export, as the thread's fields read here do not show them.
	ps, err := s.repo.Posts(ctx, id, from, min(limit, t.Posts-from+1))
	if err != nil {
		return nil, 0, err
	}
	out := &ExportThread{Section: sec.Slug, Title: t.Title, Private: t.Private, Pinned: t.Pinned, Locked: t.Locked,
		Answered: t.Answered, Awaiting: t.Awaiting, Created: t.Created, LastActive: t.LastActive,
		Posts: make([]ExportPost, 0, len(ps))}
	for _, p := range ps {
		out.Posts = append(out.Posts, ExportPost{N: p.N, Author: p.Author.Kind.String(), Name: p.Author.Name,
			StaffID: p.Author.StaffID, Hour: p.Hour, Source: p.Source, Hidden: p.Hidden, Deleted: p.Deleted})
	}
	return out, t.Posts, nil
}

// ExportWriter writes an export file a thread at a time, so a large board
// never sits in memory whole. The output is indented JSON, with <, > and &
// left as they are (Markdown holds them often).
type ExportWriter struct {
	w   io.Writer
	n   int
	err error
}

// NewExportWriter writes h's header fields and sections to w; Thread writes
// each thread, Close the end.
func NewExportWriter(w io.Writer, h *Export) (*ExportWriter, error) {
	x := &ExportWriter{w: w}
	var b bytes.Buffer
	b.WriteString("{\n")
	for _, f := range []struct {
		name string
		v    any
	}{{"format", h.Format}, {"version", h.Version}, {"exported_hour", h.ExportedHour},
		{"private_included", h.PrivateIncluded}, {"sections", nonNil(h.Sections)}} {
		b.WriteString(`  "` + f.name + `": `)
		if err := encodeIndented(&b, f.v, "  "); err != nil {
			return nil, err
		}
		b.WriteString(",\n")
	}
	b.WriteString(`  "threads": [`)
	_, x.err = w.Write(b.Bytes())
	return x, x.err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func encodeIndented(b *bytes.Buffer, v any, prefix string) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// Thread writes one thread.
func (x *ExportWriter) Thread(t *ExportThread) error {
	if x.err != nil {
		return x.err
	}
	var b bytes.Buffer
	if x.n > 0 {
		b.WriteByte(',')
	}
	b.WriteString("\n    ")
	if err := encodeIndented(&b, t, "    "); err != nil {
		x.err = err
		return err
	}
	x.n++
	_, x.err = x.w.Write(b.Bytes())
	return x.err
}

// Close ends the file.
func (x *ExportWriter) Close() error {
	if x.err != nil {
		return x.err
	}
	end := "\n  ]\n}\n"
	if x.n == 0 {
		end = "]\n}\n"
	}
	_, x.err = io.WriteString(x.w, end)
	return x.err
}

// ---- reading a file -------------------------------------------------------

// ImportError says where an export file is wrong: Path is like
// "threads[3].posts[1]" ("" for the file as a whole), Post the post's number
// when one is at fault, Field the JSON field, Line the line in the file
// where the thread (or the syntax error) is, when known. Err is what is
// wrong: a forum *Error (its Key says what) or a plain error.
type ImportError struct {
	Path  string
	Post  int
	Field string
	Line  int
	Err   error
}

// Location is where, in words: `threads[3] (line 120), post 2, field "source"`.
func (e *ImportError) Location() string {
	var parts []string
	if e.Path != "" {
		p := e.Path
		if e.Line > 0 {
			p += " (line " + strconv.Itoa(e.Line) + ")"
		}
		parts = append(parts, p)
	} else if e.Line > 0 {
		parts = append(parts, "line "+strconv.Itoa(e.Line))
	}
	if e.Post > 0 {
		parts = append(parts, "post "+strconv.Itoa(e.Post))
	}
	if e.Field != "" {
		parts = append(parts, `field "`+e.Field+`"`)
	}
	return strings.Join(parts, ", ")
}

func (e *ImportError) Error() string {
	if l := e.Location(); l != "" {
		return l + ": " + e.Err.Error()
	}
	return e.Err.Error()
}

func (e *ImportError) Unwrap() error { return e.Err }

// DecodeExport reads and checks a whole export file. It refuses unknown
// fields, other formats and versions, and any text the forum would refuse
// (every title and body goes through CleanTitle and CleanBody); texts come
// back normalised as the forum stores them. Errors: *ImportError.
func DecodeExport(r io.Reader) (*Export, error) {
	e := &Export{}
	lr := &lineReader{r: r}
	if err := e.decode(lr); err != nil {
		if lr.err != nil { // the reader's failure, not the file's
			return nil, lr.err
		}
		return nil, err
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	return e, nil
}

// lineReader notes where the lines of what it reads start, so an error can
// name its line without the file being kept in memory.
type lineReader struct {
	r   io.Reader
	off int64
	nl  []int64 // offsets of the newlines read
	err error   // a read error other than EOF
}

func (l *lineReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		l.nl = append(l.nl, l.off+int64(i+j))
		i += j + 1
	}
	l.off += int64(n)
	if err != nil && err != io.EOF {
		l.err = err
	}
	return n, err
}

// line is the 1-based line of byte offset off.
func (l *lineReader) line(off int64) int {
	return sort.Search(len(l.nl), func(i int) bool { return l.nl[i] >= off }) + 1
}

// syntaxError is a JSON syntax error at an offset in the whole file.
type syntaxError struct {
	msg string
	off int64 // of the offending byte
}

func (e *syntaxError) Error() string { return e.msg }

// decodeValue decodes the next value of dec. The Decoder counts a syntax
// error's offset from an earlier point than the file's start, so the value
// is scanned again from what the Decoder still holds to place it.
func decodeValue(dec *json.Decoder, v any) error {
	err := dec.Decode(v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return err
	}
	start := dec.InputOffset() // a failed Decode stays at the value
	rest, _ := io.ReadAll(dec.Buffered())
	var raw json.RawMessage
	if err := json.NewDecoder(bytes.NewReader(rest)).Decode(&raw); errors.As(err, &se) {
		return &syntaxError{msg: se.Error(), off: start + se.Offset - 1}
	}
	return &syntaxError{msg: se.Error(), off: start}
}

// jsonErr turns a decoding error into an ImportError at path.
func jsonErr(lr *lineReader, path string, line int, err error) *ImportError {
	ie := &ImportError{Path: path, Line: line, Err: err}
	var se *json.SyntaxError
	var xe *syntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &xe):
		ie.Line = lr.line(xe.off)
		ie.Err = fmt.Errorf("not valid JSON: %s", strings.TrimPrefix(xe.msg, "json: "))
	case errors.As(err, &se): // from Token, whose offsets are the file's
		ie.Line = lr.line(se.Offset - 1)
		ie.Err = fmt.Errorf("not valid JSON: %s", strings.TrimPrefix(se.Error(), "json: "))
	case errors.As(err, &te):
		ie.Field = strings.TrimPrefix(te.Field, "ExportThread.") // threadJSON's embedding
		ie.Err = fmt.Errorf("a JSON %s where %s is expected", te.Value, jsonKind(te.Type.Kind().String()))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		ie.Err = errors.New("the file ends too early: not valid JSON")
	default:
		ie.Err = errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
	return ie
}

func jsonKind(k string) string {
	switch {
	case strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "a whole number"
	case k == "bool":
		return "true or false"
	case k == "string":
		return "a string"
	case k == "slice":
		return "a list"
	case k == "struct":
		return "an object"
	}
	return "a " + k
}

// strict decodes one JSON value refusing unknown fields.
func strict(raw []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// threadJSON is a thread as read: its posts are decoded one by one, so an
// error inside one names it.
type threadJSON struct {
	ExportThread
	Posts []json.RawMessage `json:"posts"`
}

func (e *Export) decode(lr *lineReader) error {
	dec := json.NewDecoder(lr)
	fail := func(path string, line int, err error) *ImportError {
		return jsonErr(lr, path, line, err)
	}
	if tok, err := dec.Token(); err != nil {
		return fail("", 0, err)
	} else if tok != json.Delim('{') {
		return &ImportError{Line: 1, Err: errors.New("not an export: the file is not a JSON object")}
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("", 0, err)
		}
		key := tok.(string)
		line := lr.line(dec.InputOffset())
		if seen[key] {
			return &ImportError{Field: key, Line: line, Err: errors.New("given twice")}
		}
		seen[key] = true
		var dst any
		switch key {
		case "format":
			dst = &e.Format
		case "version":
			dst = &e.Version
		case "exported_hour":
			dst = &e.ExportedHour
		case "private_included":
			dst = &e.PrivateIncluded
		case "sections", "threads":
			if err := e.decodeList(lr, dec, key); err != nil {
				return err
			}
			continue
		default:
			return &ImportError{Field: key, Line: line, Err: errors.New("unknown field")}
		}
		if err := decodeValue(dec, dst); err != nil {
			ie := fail("", line, err)
			ie.Field = key
			return ie
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return fail("", 0, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return &ImportError{Line: lr.line(dec.InputOffset()), Err: errors.New("more data after the end of the export")}
	}
	for _, f := range []string{"format", "version"} {
		if !seen[f] {
			return &ImportError{Field: f, Err: errors.New("missing: not a tropa forum export")}
		}
	}
	return nil
}

// decodeList reads the sections or threads array, element by element.
func (e *Export) decodeList(lr *lineReader, dec *json.Decoder, key string) error {
	start := lr.line(dec.InputOffset())
	tok, err := dec.Token()
	if err != nil {
		return jsonErr(lr, key, start, err)
	}
	if tok == nil { // null: none
		return nil
	}
	if tok != json.Delim('[') {
		return &ImportError{Field: key, Line: start, Err: errors.New("must be a list")}
	}
	for i := 0; dec.More(); i++ {
		path := key + "[" + strconv.Itoa(i) + "]"
		var raw json.RawMessage
		if err := decodeValue(dec, &raw); err != nil {
			return jsonErr(lr, path, 0, err)
		}
		line := lr.line(dec.InputOffset() - int64(len(raw)))
		if key == "sections" {
			var s ExportSection
			if err := strict(raw, &s); err != nil {
				return jsonErr(lr, path, line, err)
			}
			e.Sections = append(e.Sections, s)
			continue
		}
		var tj threadJSON
		if err := strict(raw, &tj); err != nil {
			return jsonErr(lr, path, line, err)
		}
		t := tj.ExportThread
		t.Posts = make([]ExportPost, len(tj.Posts))
		for j, pr := range tj.Posts {
			if err := strict(pr, &t.Posts[j]); err != nil {
				ie := jsonErr(lr, path+".posts["+strconv.Itoa(j)+"]", line, err)
				ie.Post = j + 1
				return ie
			}
		}
		e.Threads = append(e.Threads, t)
		e.threadLines = append(e.threadLines, line)
	}
	if _, err := dec.Token(); err != nil { // ']'
		return jsonErr(lr, key, start, err)
	}
	return nil
}

// check validates and normalises a decoded file.
func (e *Export) check() error {
	if e.Format != ExportFormat {
		return &ImportError{Field: "format", Err: fmt.Errorf("%q is not %q: not a tropa forum export", e.Format, ExportFormat)}
	}
	if e.Version != ExportVersion {
		return &ImportError{Field: "version", Err: fmt.Errorf("version %d: this tropa reads version %d", e.Version, ExportVersion)}
	}
	if err := checkHour(e.ExportedHour); err != nil {
		return &ImportError{Field: "exported_hour", Err: err}
	}
	slugs := map[string]bool{}
	for i := range e.Sections {
		s := &e.Sections[i]
		path := "sections[" + strconv.Itoa(i) + "]"
		if field, err := s.clean(); err != nil {
			return &ImportError{Path: path, Field: field, Err: err}
		}
		if slugs[s.Slug] {
			return &ImportError{Path: path, Field: "slug", Err: fmt.Errorf("section %q is listed twice", s.Slug)}
		}
		slugs[s.Slug] = true
	}
	for i := range e.Threads {
		t := &e.Threads[i]
		path := "threads[" + strconv.Itoa(i) + "]"
		line := 0
		if i < len(e.threadLines) {
			line = e.threadLines[i]
		}
		if !slugs[t.Section] {
			return &ImportError{Path: path, Line: line, Field: "section", Err: fmt.Errorf("no section %q in the file's sections", t.Section)}
		}
		if t.Private && !e.PrivateIncluded {
			return &ImportError{Path: path, Line: line, Field: "private", Err: errors.New(`a private thread in a file whose "private_included" is false`)}
		}
		if err := t.clean(); err != nil {
			err.Path, err.Line = path+err.Path, line
			return err
		}
	}
	return nil
}

func checkHour(h Hour) error {
	if h < 1 || h > maxExportHour {
		return fmt.Errorf("%d is not an hour (hours since 1970-01-01 00:00 UTC, between 1 and %d)", h, maxExportHour)
	}
	return nil
}

func validSlug(s string) bool {
	if s == "" || len(s) > SlugMax || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validStaffID: a staff account name (2 to 32 of a-z, 0-9, '.', '_', '-')
// or the seed's "seed"; empty is allowed.
func validStaffID(s string) bool {
	if len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// cleanLine checks a one-line text of min to max runes.
func cleanLine(field, s string, min, max int) (string, error) {
	t, e := cleanText(field, s)
	if e != nil {
		return "", e
	}
	t = strings.Join(strings.Fields(t), " ")
	if n := utf8.RuneCountInString(t); n < min || n > max {
		return "", fmt.Errorf("must be %d to %d characters, not %d", min, max, n)
	}
	return t, nil
}

// clean checks and normalises a section; it returns the field at fault.
func (s *ExportSection) clean() (string, error) {
	if !validSlug(s.Slug) {
		return "slug", fmt.Errorf("%q is not a slug: 1 to %d of a-z, 0-9 and single inner '-'", s.Slug, SlugMax)
	}
	var err error
	if s.Title.RU, err = cleanLine("title", s.Title.RU, 1, TitleMax); err != nil {
		return "title.ru", err
	}
	if s.Title.EN, err = cleanLine("title", s.Title.EN, 0, TitleMax); err != nil {
		return "title.en", err
	}
	if s.Description.RU, err = cleanLine("description", s.Description.RU, 0, DescriptionMax); err != nil {
		return "description.ru", err
	}
	if s.Description.EN, err = cleanLine("description", s.Description.EN, 0, DescriptionMax); err != nil {
		return "description.en", err
	}
	return "", nil
}

// clean checks and normalises a thread's fields and posts. The error's Path
// is relative to the thread (".posts[1]").
func (t *ExportThread) clean() *ImportError {
	if field, err := t.cleanFields(); err != nil {
		return &ImportError{Field: field, Err: err}
	}
	if len(t.Posts) == 0 {
		return &ImportError{Field: "posts", Err: errors.New("a thread needs its question: post 1")}
	}
	if len(t.Posts) >= maxPosts {
		return &ImportError{Field: "posts", Err: errors.New("too many posts")}
	}
	for j := range t.Posts {
		p := &t.Posts[j]
		if field, err := p.clean(j + 1); err != nil {
			return &ImportError{Path: ".posts[" + strconv.Itoa(j) + "]", Post: j + 1, Field: field, Err: err}
		}
	}
	return nil
}

// cleanFields checks the thread's own fields (not its posts).
func (t *ExportThread) cleanFields() (string, error) {
	title, err := CleanTitle(t.Title)
	if err != nil {
		return "title", err
	}
	t.Title = title
	if err := checkHour(t.Created); err != nil {
		return "created_hour", err
	}
	if err := checkHour(t.LastActive); err != nil {
		return "last_active_hour", err
	}
	return "", nil
}

func parseAuthor(s string) (AuthorKind, bool) {
	for _, k := range []AuthorKind{Anonymous, AskerAuthor, Staff} {
		if s == k.String() {
			return k, true
		}
	}
	return 0, false
}

// clean checks and normalises post n; it returns the field at fault.
func (p *ExportPost) clean(n int) (string, error) {
	if p.N != n {
		return "n", fmt.Errorf("post number %d where %d is due: posts are numbered 1, 2, 3... in order", p.N, n)
	}
	kind, ok := parseAuthor(p.Author)
	if !ok {
		return "author", fmt.Errorf("%q is not an author: anonymous, asker or staff", p.Author)
	}
	if n == 1 && kind == Anonymous {
		return "author", errors.New("the question (post 1) is the asker's or staff's")
	}
	if err := checkHour(p.Hour); err != nil {
		return "hour", err
	}
	switch {
	case p.Deleted && n == 1:
		return "deleted", errors.New("the question cannot be deleted (delete the thread instead)")
	case p.Deleted && (p.Source != "" || p.Name != "" || p.StaffID != "" || p.Hidden):
		return "deleted", errors.New("a deleted post keeps no source, name, staff_id or hidden flag")
	case p.Deleted:
	default:
		src, err := CleanBody(p.Source)
		if err != nil {
			return "source", err
		}
		p.Source = src
		if kind == Staff {
			name, e := cleanStaffName(p.Name)
			if e != nil {
				return "name", e
			}
			p.Name = name
		}
	}
	if kind != Staff && (p.Name != "" || p.StaffID != "") {
		return "name", errors.New("only staff posts carry a name and staff_id")
	}
	if !validStaffID(p.StaffID) {
		return "staff_id", fmt.Errorf("%q is not a staff account name", p.StaffID)
	}
	for k := range p.Reports {
		if field, err := p.Reports[k].clean(); err != nil {
			return "reports[" + strconv.Itoa(k) + "]." + field, err
		}
	}
	return "", nil
}

// clean checks and normalises a report; it returns the field at fault.
func (r *ExportReport) clean() (string, error) {
	if !validReason(r.Reason) {
		return "reason", fmt.Errorf("%q is not a report reason", r.Reason)
	}
	note, e := cleanNote(r.Note)
	if e != nil {
		return "note", e
	}
	r.Note = note
	if err := checkHour(r.Hour); err != nil {
		return "hour", err
	}
	if !validStaffID(r.ResolvedBy) || (r.ResolvedBy != "" && !r.Resolved) {
		return "resolved_by", errors.New("a staff account name, on resolved reports only")
	}
	return "", nil
}

// post turns a checked post into the forum's, rendered.
func (p *ExportPost) post() Post {
	kind, _ := parseAuthor(p.Author)
	out := Post{N: p.N, Author: Author{Kind: kind, Name: p.Name, StaffID: p.StaffID}, Hour: p.Hour,
		Source: p.Source, Hidden: p.Hidden, Deleted: p.Deleted}
	if !p.Deleted {
		out.HTML = Render(p.Source)
	}
	return out
}

// ---- identity and plan ----------------------------------------------------

// Identity names a thread across boards: a hash of its creation hour, title
// and question. Nothing changes them once a thread exists (moving it to
// another section does not), so the thread keeps it through any number of
// exports and imports. Two threads with one identity are the same question
// asked twice in one hour; import counts them (see PlanImport).
//
// A thread staff started (byStaff: its question is a staff post) is known
// by its title and text alone: the seeded opening threads are written
// anew, at another hour, by every installation's first start, and must not
// come twice when a board moves to a new one.
func Identity(created Hour, title, question string, byStaff bool) string {
	h := sha256.New()
	var b [8]byte
	if byStaff {
		h.Write([]byte("tropa/staff-thread/v1\x00"))
	} else {
		h.Write([]byte("tropa/thread/v1\x00"))
		binary.BigEndian.PutUint64(b[:], uint64(created))
		h.Write(b[:])
	}
	binary.BigEndian.PutUint64(b[:], uint64(len(title)))
	h.Write(b[:])
	h.Write([]byte(title))
	h.Write([]byte(question))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// Identity is the thread's identity (see Identity).
func (t *ExportThread) Identity() string {
	if len(t.Posts) == 0 {
		return Identity(t.Created, t.Title, "", false)
	}
	return Identity(t.Created, t.Title, t.Posts[0].Source, t.Posts[0].Author == Staff.String())
}

// BoardIdentity is what an import needs to know of the board it adds to.
type BoardIdentity struct {
	Sections []string       `json:"sections"` // slugs
	Threads  map[string]int `json:"threads"`  // identity → threads having it
}

// BoardIdentity lists the board's sections and the identities of all its
// threads, public and private.
func (s *Service) BoardIdentity(ctx context.Context) (*BoardIdentity, error) {
	secs, err := s.repo.Sections(ctx)
	if err != nil {
		return nil, err
	}
	b := &BoardIdentity{Sections: []string{}, Threads: map[string]int{}}
	for _, sec := range secs {
		b.Sections = append(b.Sections, sec.Slug)
		for _, private := range []bool{false, true} {
			ts, err := s.repo.Threads(ctx, sec.ID, private, 0, allRows)
			if err != nil {
				return nil, err
			}
			for _, t := range ts {
				ps, err := s.repo.Posts(ctx, t.ID, 1, 1)
				if err != nil {
					return nil, err
				}
				if len(ps) == 1 {
					b.Threads[Identity(t.Created, t.Title, ps[0].Source, ps[0].Author.Kind == Staff)]++
				}
			}
		}
	}
	return b, nil
}

// ImportPlan is what importing a file into a board does.
type ImportPlan struct {
	Sections []int // indexes in the file of the sections to create
	Threads  []int // indexes in the file of the threads to write, in the order to write them
	Present  int   // threads of the file the board has already
}

// PlanImport decides what importing e into board b writes: the sections b
// lacks (by slug) and the threads it lacks (by identity: a file with n
// threads of one identity adds n-m to a board with m). The threads are
// ordered so that each section's page on the new board lists them as the
// file does: the store orders a section's threads by when they were
// written, so each section's list is written from its end, and the lists
// are interleaved by last activity, oldest first. On a board that had
// threads already, imported threads list above those (as the most recent).
func PlanImport(e *Export, b *BoardIdentity) *ImportPlan {
	p := &ImportPlan{}
	have := map[string]bool{}
	for _, s := range b.Sections {
		have[s] = true
	}
	for i, s := range e.Sections {
		if !have[s.Slug] {
			p.Sections = append(p.Sections, i)
		}
	}
	// Which threads: the first m of an identity are on the board.
	seen := map[string]int{}
	type list struct {
		section       string
		private, pins bool
	}
	var order []list
	lists := map[list][]int{}
	for i := range e.Threads {
		t := &e.Threads[i]
		id := t.Identity()
		seen[id]++
		if seen[id] <= b.Threads[id] {
			p.Present++
			continue
		}
		l := list{t.Section, t.Private, t.Pinned}
		if _, ok := lists[l]; !ok {
			order = append(order, l)
		}
		lists[l] = append(lists[l], i)
	}
	// Each list from its end, merged by last activity.
	heads := make([]int, len(order)) // position from the end of each list
	for n := 0; n < len(e.Threads)-p.Present; n++ {
		best := -1
		var bestT *ExportThread
		for k, l := range order {
			ts := lists[l]
			if heads[k] >= len(ts) {
				continue
			}
			t := &e.Threads[ts[len(ts)-1-heads[k]]]
			if best < 0 || t.LastActive < bestT.LastActive {
				best, bestT = k, t
			}
		}
		ts := lists[order[best]]
		p.Threads = append(p.Threads, ts[len(ts)-1-heads[best]])
		heads[best]++
	}
	return p
}

// ---- writing --------------------------------------------------------------

// ImportRepository is the storage an import writes through, beyond
// Repository (the store's ForumRepo has it).
type ImportRepository interface {
	// ImportParts writes parts in order, in one atomic write, and returns
	// each part's thread ID.
	ImportParts(ctx context.Context, parts []ImportPart) ([]ThreadID, error)
	// AbortImport erases a thread whose parts were not all written.
	AbortImport(ctx context.Context, stage ThreadID) error
}

// ImportPart is one write of an imported thread, as the store takes it. A
// thread is begun (Stage 0, Total posts), given its posts and reports in
// one or more parts, and made visible by the part that carries Thread; a
// whole thread can be one part. Until then nothing shows it, and a store
// reopened after an interruption erases it.
type ImportPart struct {
	Stage ThreadID // 0 begins a thread
	Total int      // the thread's posts, on the first part
	// Posts, numbered within 1..Total, each number once over all parts.
	Posts []Post
	// Reports, with Post.N set; they are filed when the thread shows.
	Reports []Report
	// Thread, on the last part, is the thread's record: Section and the
	// flags and hours. The store counts Posts and Replies; Asker is zero.
	Thread *Thread
}

// ImportChunk is ImportPart as a running tropa's admin socket carries it:
// small enough for one request, in the file's terms. Reports come apart
// from their posts so that neither a long thread nor a much-reported post
// has to fit in one request.
type ImportChunk struct {
	Stage   ThreadID          `json:"stage,omitempty"`
	Total   int               `json:"total,omitempty"`
	Posts   []ExportPost      `json:"posts,omitempty"`
	Reports []ExportReportRef `json:"reports,omitempty"`
	// Thread, on the last chunk, carries the thread's fields; its Posts
	// are ignored.
	Thread *ExportThread `json:"thread,omitempty"`
}

func (s *Service) importRepo() (ImportRepository, error) {
	ir, ok := s.repo.(ImportRepository)
	if !ok {
		return nil, Internal(errors.New("forum: this storage cannot import"))
	}
	return ir, nil
}

// ImportSections creates the sections the board lacks (found by slug) as
// secs gives them; the board's own sections stay as they are. It checks
// them all first and returns how many it created.
func (s *Service) ImportSections(ctx context.Context, secs []ExportSection) (int, error) {
	secs = append([]ExportSection(nil), secs...)
	for i := range secs {
		if field, err := secs[i].clean(); err != nil {
			return 0, &ImportError{Path: "sections[" + strconv.Itoa(i) + "]", Field: field, Err: err}
		}
	}
	n := 0
	for _, es := range secs {
		_, err := s.repo.SectionBySlug(ctx, es.Slug)
		if err == nil {
			continue
		}
		if ErrorCode(err) != ENOTFOUND {
			return n, err
		}
		sec := Section{Slug: es.Slug, Order: es.Order, Title: L10n{RU: es.Title.RU, EN: es.Title.EN},
			Description: L10n{RU: es.Description.RU, EN: es.Description.EN}}
		if _, err := s.repo.CreateSection(ctx, sec, nil); err != nil {
			if ErrorCode(err) == ECONFLICT {
				continue // made meanwhile
			}
			return n, err
		}
		n++
	}
	return n, nil
}

// ImportChunks checks chunks as DecodeExport checks a file and writes them
// in one atomic write, in order. It returns each chunk's thread ID (the
// Stage of the chunks that continue it). Errors: *ImportError (EINVALID
// content), ENOTFOUND "err.section.not_found", and the store's refusals of
// a part that does not fit the thread begun (ECONFLICT).
func (s *Service) ImportChunks(ctx context.Context, chunks []ImportChunk) ([]ThreadID, error) {
	ir, err := s.importRepo()
	if err != nil {
		return nil, err
	}
	parts := make([]ImportPart, len(chunks))
	sections := map[string]SectionID{}
	for i, c := range chunks {
		path := "chunks[" + strconv.Itoa(i) + "]"
		if c.Stage == 0 && (c.Total < 1 || c.Total >= maxPosts) {
			return nil, &ImportError{Path: path, Field: "total", Err: errors.New("a thread needs 1 post or more")}
		}
		part := ImportPart{Stage: c.Stage, Total: c.Total}
		reports := append([]ExportReportRef(nil), c.Reports...)
		for j := range c.Posts {
			p := c.Posts[j]
			if p.N < 1 {
				return nil, &ImportError{Path: path, Field: "n", Err: errors.New("posts are numbered from 1")}
			}
			p.Reports = append([]ExportReport(nil), p.Reports...)
			if field, err := p.clean(p.N); err != nil {
				return nil, &ImportError{Path: path, Post: p.N, Field: field, Err: err}
			}
			part.Posts = append(part.Posts, p.post())
			for _, r := range p.Reports {
				reports = append(reports, ExportReportRef{N: p.N, ExportReport: r})
			}
		}
		for _, r := range reports {
			if field, err := r.clean(); err != nil {
				return nil, &ImportError{Path: path, Post: r.N, Field: "reports." + field, Err: err}
			}
			part.Reports = append(part.Reports, Report{Post: PostRef{N: r.N}, Reason: r.Reason, Note: r.Note,
				Hour: r.Hour, Resolved: r.Resolved, ResolvedBy: r.ResolvedBy})
		}
		if t := c.Thread; t != nil {
			tc := *t
			if field, err := tc.cleanFields(); err != nil {
				return nil, &ImportError{Path: path + ".thread", Field: field, Err: err}
			}
			sid, ok := sections[tc.Section]
			if !ok {
				sec, err := s.repo.SectionBySlug(ctx, tc.Section)
				if err != nil {
					return nil, err
				}
				sid = sec.ID
				sections[tc.Section] = sid
			}
			part.Thread = &Thread{Section: sid, Title: tc.Title, Private: tc.Private, Pinned: tc.Pinned,
				Locked: tc.Locked, Answered: tc.Answered, Awaiting: tc.Awaiting, Created: tc.Created,
				LastActive: tc.LastActive}
		}
		parts[i] = part
	}
	return ir.ImportParts(ctx, parts)
}

// AbortImport erases a thread begun by ImportChunks and not finished.
func (s *Service) AbortImport(ctx context.Context, stage ThreadID) error {
	ir, err := s.importRepo()
	if err != nil {
		return err
	}
	return ir.AbortImport(ctx, stage)
}
