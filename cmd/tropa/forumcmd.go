package main

// tropa forum export | import: the board as a JSON file (format: forum/export.go).
//
// Both run as admin commands, in the serving process over its socket or on
// the store opened here, like the staff commands; but a board does not fit
// one request (at most maxAdminRequest) or one answer (16 MB), so both
// talk in parts over one connection (adminConn): export asks for an index,
// then for threads' posts 200 at a time, and streams the file out as they
// come; import checks the whole file here first, then writes it a few
// threads (or part of a long thread) per request.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"tropa/forum"
)

func init() {
	register(&command{name: "forum", summary: "export the board as JSON, or import such a file", run: runForum})
	registerAdmin("forum.export.index", adminFunc(adminForumExportIndex))
	registerAdmin("forum.export.threads", adminFunc(adminForumExportThreads))
	registerAdmin("forum.import.board", adminFunc(adminForumImportBoard))
	registerAdmin("forum.import.sections", adminFunc(adminForumImportSections))
	registerAdmin("forum.import.write", adminFunc(adminForumImportWrite))
	registerAdmin("forum.import.abort", adminFunc(adminForumImportAbort))
}

// Sizes of the parts; tests make them small.
var (
	// exportPostsPerCall bounds the posts one export answer carries: 200
	// of the longest (10,000 characters, ~60 KB escaped) stay under the
	// 16 MB an answer may have.
	exportPostsPerCall = 200
	// importSocketBudget bounds the chunks of one import request to a
	// running tropa; a single post (at most ~61 KB as JSON) always fits.
	importSocketBudget = maxAdminRequest - 1024
	// importDirectBudget is the same on the direct path, where only the
	// store's transaction size bounds a write.
	importDirectBudget = 256 << 10
)

const forumUsage = `Usage: tropa forum COMMAND [flags]

Commands:
  export [--include-private] > FILE
                  write the board as JSON to stdout
  import FILE [--dry-run]
                  add the sections and threads of FILE (- for stdin) that
                  the board lacks

An export holds the sections, the threads and their posts (Markdown source,
author kind, staff signature, hidden and deleted flags) and the reports on
them. It never holds receipts or anything tying threads to an asker: an
asker shows only as "asker" inside their own thread. Hidden posts keep
their text, for staff may show them again. Private threads are left out
unless --include-private; then the file holds private questions: keep it
as safe as the store.

Import never duplicates: a thread is known by its creation hour, title and
question (one staff started, such as a section's opening thread, by its
title and text alone), so importing a file twice, or into the board it came
from, adds nothing. The whole file is checked first: if anything in it is wrong,
nothing is imported and the error says where. Imported private threads have
no asker: receipts do not move with a board, so their askers cannot open
them again; only staff see them. On a board that had threads, imported ones
list above them, as the most recent.

Both take --data DIR (default ./data) and --passphrase-file FILE (or
TROPA_PASSPHRASE). While tropa serves DIR they go through DIR/tropa.sock
(the site shows imported threads at once); otherwise they open the store
here, and import creates DIR if there is none.
`

// runForum is `tropa forum export|import`.
func runForum(args []string, stdout, stderr io.Writer) error {
	return group("forum", forumUsage, map[string]func([]string, io.Writer, io.Writer) error{
		"export": forumExport, "import": forumImport,
	})(args, stdout, stderr)
}

// ---- one connection for many requests ---------------------------------------

// adminConn sends admin requests the way callAdmin does, but chooses the
// path once: to the running tropa's socket, or to the store opened here
// and kept open until Close.
type adminConn struct {
	sock       string
	d          *AdminDeps
	closeStore func() error
	budget     int // bytes of import chunks a request may carry
}

func dialAdmin(ctx context.Context, t adminTarget) (*adminConn, error) {
	sock := filepath.Join(t.data, statusSocket)
	conn, err := net.DialTimeout("unix", sock, 2*time.Second)
	switch {
	case err == nil:
		conn.Close()
		return &adminConn{sock: sock, budget: importSocketBudget}, nil
	case errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED):
		d, closeStore, err := openAdminDirect(ctx, t)
		if err != nil {
			return nil, err
		}
		return &adminConn{d: d, closeStore: closeStore, budget: importDirectBudget}, nil
	default:
		return nil, fmt.Errorf("cannot reach the running tropa at %s: %w (run this as the user tropa runs as)", sock, err)
	}
}

func (c *adminConn) call(ctx context.Context, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return err
	}
	var rep adminReply
	if c.d != nil {
		rep = execAdmin(ctx, c.d, body)
	} else if rep, err = postAdmin(ctx, c.sock, body); err != nil {
		return err
	}
	if !rep.OK {
		if rep.Error == nil {
			return errors.New("the command failed without saying why")
		}
		return errors.New(rep.Error.Message)
	}
	if out != nil {
		if err := json.Unmarshal(rep.Result, out); err != nil {
			return fmt.Errorf("unreadable answer: %w", err)
		}
	}
	return nil
}

func (c *adminConn) Close() error {
	if c.closeStore == nil {
		return nil
	}
	return c.closeStore()
}

// ---- export -------------------------------------------------------------------

type exportIndexRequest struct {
	Cmd            string `json:"cmd"`
	IncludePrivate bool   `json:"include_private,omitempty"`
}

// exportThreadsRequest asks for threads' posts: the first of IDs from post
// From, the others from 1, as many as fit one answer.
type exportThreadsRequest struct {
	Cmd            string           `json:"cmd"`
	IDs            []forum.ThreadID `json:"ids"`
	From           int              `json:"from,omitempty"`
	IncludePrivate bool             `json:"include_private,omitempty"`
}

type exportThreadsItem struct {
	ID      forum.ThreadID      `json:"id"`
	Missing bool                `json:"missing,omitempty"` // deleted since the index
	Total   int                 `json:"total,omitempty"`   // the thread's posts
	Thread  *forum.ExportThread `json:"thread,omitempty"`  // its fields and the posts read
}

func forumExport(args []string, stdout, stderr io.Writer) (err error) {
	t := adminTarget{stderr: stderr}
	fs := newFlags("forum export", "forum export [flags] > FILE", stderr)
	adminFlags(fs, &t)
	private := fs.Bool("include-private", false, "include private threads (the file then holds private questions; their askers stay out of it)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx := context.Background()
	c, err := dialAdmin(ctx, t)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := c.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close the store: %w", cerr)
		}
	}()
	var idx forum.ExportIndex
	if err := c.call(ctx, exportIndexRequest{Cmd: "forum.export.index", IncludePrivate: *private}, &idx); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(stdout, 64<<10)
	w, err := forum.NewExportWriter(bw, &idx.Header)
	if err != nil {
		return err
	}
	reports := idx.ReportsByThread()
	refs := idx.Threads
	var (
		cur            *forum.ExportThread // the thread being read, when it takes several answers
		curTotal       int
		threads, posts int
		nreports       int
	)
	for next, from := 0, 1; next < len(refs); {
		req := exportThreadsRequest{Cmd: "forum.export.threads", From: from, IncludePrivate: *private}
		for k, budget := next, exportPostsPerCall; k < len(refs) && budget > 0; k++ {
			req.IDs = append(req.IDs, refs[k].ID)
			budget -= max(1, refs[k].Posts)
		}
		var res []exportThreadsItem
		if err := c.call(ctx, req, &res); err != nil {
			return err
		}
		if len(res) == 0 || len(res) > len(req.IDs) {
			return errors.New("the running tropa answered an export request with nothing")
		}
		for _, it := range res {
			if it.ID != refs[next].ID {
				return fmt.Errorf("the export answer is out of order (thread %d for %d)", it.ID, refs[next].ID)
			}
			if it.Missing || it.Thread == nil {
				cur, next, from = nil, next+1, 1
				continue
			}
			if cur == nil {
				cur, curTotal = it.Thread, it.Total
			} else {
				cur.Posts = append(cur.Posts, it.Thread.Posts...)
			}
			if len(cur.Posts) < curTotal && len(it.Thread.Posts) > 0 {
				from = len(cur.Posts) + 1 // the answer ended inside this thread
				break
			}
			cur.Posts = cur.Posts[:min(len(cur.Posts), curTotal)]
			for i := range cur.Posts {
				cur.Posts[i].Reports = reports[refs[next].ID][cur.Posts[i].N]
				nreports += len(cur.Posts[i].Reports)
			}
			if err := w.Thread(cur); err != nil {
				return err
			}
			threads++
			posts += len(cur.Posts)
			cur, next, from = nil, next+1, 1
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	kind := "public"
	if *private {
		kind = "public and private"
	}
	fmt.Fprintf(stderr, "exported %d sections and %d %s threads (%d posts, %d reports)\n",
		len(idx.Header.Sections), threads, kind, posts, nreports)
	return nil
}

// ---- import -------------------------------------------------------------------

type importSectionsRequest struct {
	Cmd      string                `json:"cmd"`
	Sections []forum.ExportSection `json:"sections"`
}

type importWriteRequest struct {
	Cmd    string              `json:"cmd"`
	Chunks []forum.ImportChunk `json:"chunks"`
}

type importAbortRequest struct {
	Cmd   string         `json:"cmd"`
	Stage forum.ThreadID `json:"stage"`
}

func forumImport(args []string, stdout, stderr io.Writer) (err error) {
	t := adminTarget{stderr: stderr}
	fs := newFlags("forum import", "forum import FILE [flags]", stderr)
	adminFlags(fs, &t)
	dry := fs.Bool("dry-run", false, "check the file and say what it would add, writing nothing")
	file, err := parseOneArg(fs, args, "FILE")
	if err != nil {
		return err
	}
	t.create = !*dry

	// Everything in the file is checked before the board is touched.
	var in io.Reader = stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	e, err := forum.DecodeExport(in)
	if err != nil {
		return fmt.Errorf("%s: %s; nothing was imported", file, forumMessage(err))
	}

	ctx := context.Background()
	var board forum.BoardIdentity
	c := &adminConn{budget: importDirectBudget}
	if *dry && !dirHasFiles(filepath.Join(t.data, "store")) && !fileExists(filepath.Join(t.data, statusSocket)) {
		// Nothing here yet: the file would go in whole.
	} else {
		if c, err = dialAdmin(ctx, t); err != nil {
			return err
		}
		defer func() {
			if cerr := c.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("close the store: %w", cerr)
			}
		}()
		if err := c.call(ctx, struct {
			Cmd string `json:"cmd"`
		}{"forum.import.board"}, &board); err != nil {
			return err
		}
	}
	plan := forum.PlanImport(e, &board)
	steps := packImport(e, plan, c.budget)
	var posts, reports int
	for _, i := range plan.Threads {
		for _, p := range e.Threads[i].Posts {
			posts++
			reports += len(p.Reports)
		}
	}
	adds := fmt.Sprintf("%d sections and %d threads (%d posts, %d reports)", len(plan.Sections), len(plan.Threads), posts, reports)
	if *dry {
		fmt.Fprintf(stdout, "%s: would add %s; %d threads of the file are on the board already\n", file, adds, plan.Present)
		return nil
	}
	if len(plan.Sections) == 0 && len(plan.Threads) == 0 {
		fmt.Fprintf(stdout, "nothing to add: the board has the file's %d sections and %d threads\n", len(e.Sections), len(e.Threads))
		return nil
	}

	if len(plan.Sections) > 0 {
		req := importSectionsRequest{Cmd: "forum.import.sections"}
		for _, i := range plan.Sections {
			req.Sections = append(req.Sections, e.Sections[i])
		}
		if err := c.call(ctx, req, nil); err != nil {
			return fmt.Errorf("%v; nothing was imported", err)
		}
	}
	done := 0
	var stage forum.ThreadID // the long thread being written
	for _, st := range steps {
		if st.continues {
			st.chunks[0].Stage = stage
		}
		var ids []forum.ThreadID
		if err := c.call(ctx, importWriteRequest{Cmd: "forum.import.write", Chunks: st.chunks}, &ids); err != nil || len(ids) != len(st.chunks) {
			if err == nil {
				err = errors.New("the running tropa answered an import request wrongly")
			}
			if st.continues {
				// Best effort: a restart of the store would erase it too.
				_ = c.call(ctx, importAbortRequest{Cmd: "forum.import.abort", Stage: stage}, nil)
			}
			return fmt.Errorf("%v; %d of the %d threads to add were imported: run the import again to add the rest (it skips what the board has)", err, done, len(plan.Threads))
		}
		stage = ids[len(ids)-1]
		for _, ch := range st.chunks {
			if ch.Thread != nil {
				done++
			}
		}
	}
	fmt.Fprintf(stdout, "added %s; %d threads of the file were on the board already\n", adds, plan.Present)
	return nil
}

// importStep is one import request.
type importStep struct {
	chunks []forum.ImportChunk
	// continues: chunks[0] goes on with the thread the previous step's
	// last chunk began (its Stage is known once that step is answered).
	continues bool
}

// chunkOverhead is what a chunk's JSON holds besides its posts and reports,
// and the request's own envelope, rounded up.
const chunkOverhead = 256

func jsonSize(v any) int {
	b, _ := json.Marshal(v) // as the request will be encoded
	return len(b) + 1       // and a comma
}

// packImport cuts the threads plan writes into requests of at most budget
// bytes: whole threads several to a request, a longer thread over several
// requests of its own. Reports travel apart from their posts, so no post
// with many reports is too big to send.
func packImport(e *forum.Export, plan *forum.ImportPlan, budget int) []importStep {
	room := budget - chunkOverhead
	var steps []importStep
	var cur []forum.ImportChunk
	curSize := 0
	flush := func() {
		if len(cur) > 0 {
			steps = append(steps, importStep{chunks: cur})
			cur, curSize = nil, 0
		}
	}
	for _, i := range plan.Threads {
		t := e.Threads[i]
		meta := t
		meta.Posts = nil
		posts := make([]forum.ExportPost, len(t.Posts))
		var reports []forum.ExportReportRef
		for j, p := range t.Posts {
			for _, r := range p.Reports {
				reports = append(reports, forum.ExportReportRef{N: p.N, ExportReport: r})
			}
			p.Reports = nil
			posts[j] = p
		}
		whole := forum.ImportChunk{Total: len(posts), Posts: posts, Reports: reports, Thread: &meta}
		if size := jsonSize(whole) + chunkOverhead; size <= room {
			if curSize+size > room {
				flush()
			}
			cur = append(cur, whole)
			curSize += size
			continue
		}

		// A long thread: its own requests, one chunk each.
		flush()
		ch := forum.ImportChunk{Total: len(posts)}
		size, first := 0, true
		emit := func() {
			steps = append(steps, importStep{chunks: []forum.ImportChunk{ch}, continues: !first})
			ch, size, first = forum.ImportChunk{}, 0, false
		}
		for _, p := range posts {
			s := jsonSize(p)
			if size+s > room && size > 0 {
				emit()
			}
			ch.Posts = append(ch.Posts, p)
			size += s
		}
		for _, r := range reports {
			s := jsonSize(r)
			if size+s > room && size > 0 {
				emit()
			}
			ch.Reports = append(ch.Reports, r)
			size += s
		}
		if size+jsonSize(meta) > room && size > 0 {
			emit()
		}
		ch.Thread = &meta
		emit()
	}
	flush()
	return steps
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// parseOneArg parses flags given before or after the one positional
// argument, named what in the usage.
func parseOneArg(fs *flag.FlagSet, args []string, what string) (string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", err
			}
			return "", errUsage
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fmt.Fprintf(fs.Output(), "tropa %s: give one %s\n", fs.Name(), what)
		fs.Usage()
		return "", errUsage
	}
	return pos[0], nil
}

// ---- the admin commands -------------------------------------------------------

func boardOf(d *AdminDeps) (*forum.Service, error) {
	if d.Board == nil {
		return nil, errors.New("the running tropa does not take forum commands (an older version?): upgrade it, or stop it and run this again")
	}
	return d.Board, nil
}

// boardChanged tells the site what changed, when it listens.
func boardChanged(d *AdminDeps, id forum.ThreadID) {
	if d.OnBoardChange != nil {
		d.OnBoardChange(id)
	}
}

func adminForumExportIndex(ctx context.Context, d *AdminDeps, r exportIndexRequest) (any, error) {
	b, err := boardOf(d)
	if err != nil {
		return nil, err
	}
	x, err := b.ExportIndex(ctx, r.IncludePrivate)
	return x, forumFailure(err)
}

func adminForumExportThreads(ctx context.Context, d *AdminDeps, r exportThreadsRequest) (any, error) {
	b, err := boardOf(d)
	if err != nil {
		return nil, err
	}
	out := []exportThreadsItem{}
	budget := exportPostsPerCall
	for i, id := range r.IDs {
		if budget <= 0 {
			break
		}
		from := 1
		if i == 0 {
			from = max(1, r.From)
		}
		t, total, err := b.ExportThread(ctx, id, from, budget, r.IncludePrivate)
		if forum.ErrorCode(err) == forum.ENOTFOUND {
			out = append(out, exportThreadsItem{ID: id, Missing: true})
			budget--
			continue
		}
		if err != nil {
			return nil, forumFailure(err)
		}
		out = append(out, exportThreadsItem{ID: id, Total: total, Thread: t})
		budget -= max(1, len(t.Posts))
		if from+len(t.Posts) <= total {
			break // the rest of this thread comes in the next answer
		}
	}
	return out, nil
}

func adminForumImportBoard(ctx context.Context, d *AdminDeps, _ struct{}) (any, error) {
	b, err := boardOf(d)
	if err != nil {
		return nil, err
	}
	bi, err := b.BoardIdentity(ctx)
	return bi, forumFailure(err)
}

func adminForumImportSections(ctx context.Context, d *AdminDeps, r importSectionsRequest) (any, error) {
	b, err := boardOf(d)
	if err != nil {
		return nil, err
	}
	n, err := b.ImportSections(ctx, r.Sections)
	if n > 0 {
		boardChanged(d, 0)
	}
	return n, forumFailure(err)
}

func adminForumImportWrite(ctx context.Context, d *AdminDeps, r importWriteRequest) (any, error) {
	b, err := boardOf(d)
	if err != nil {
		return nil, err
	}
	ids, err := b.ImportChunks(ctx, r.Chunks)
	if err != nil {
		return nil, forumFailure(err)
	}
	shown := false
	for i, ch := range r.Chunks {
		if ch.Thread != nil {
			boardChanged(d, ids[i])
			shown = true
		}
	}
	if shown {
		boardChanged(d, 0)
	}
	return ids, nil
}

func adminForumImportAbort(ctx context.Context, d *AdminDeps, r importAbortRequest) (any, error) {
	b, err := boardOf(d)
	if err != nil {
		return nil, err
	}
	return nil, forumFailure(b.AbortImport(ctx, r.Stage))
}

// ---- messages -----------------------------------------------------------------

// forumFailure makes a forum error one line of English for the operator
// (the admin reply carries only a message for errors that are not staff
// ones).
func forumFailure(err error) error {
	if err == nil {
		return nil
	}
	return errors.New(forumMessage(err))
}

// forumMessages are the operator's English for the forum's message keys
// that an export file or an import can meet.
var forumMessages = map[string]string{
	forum.KeyInternal:        "internal error",
	forum.KeyBusy:            "the store is busy or closing: try again",
	forum.KeyTitleTooShort:   fmt.Sprintf("the title is too short: at least %d characters", forum.TitleMin),
	forum.KeyTitleTooLong:    fmt.Sprintf("the title is too long: at most %d characters", forum.TitleMax),
	forum.KeyBodyEmpty:       "the text is empty",
	forum.KeyBodyTooLong:     fmt.Sprintf("the text is too long: at most %d characters", forum.BodyMax),
	forum.KeyNoteTooLong:     fmt.Sprintf("the note is too long: at most %d characters", forum.NoteMax),
	forum.KeyNameEmpty:       "the staff name is empty",
	forum.KeyNameTooLong:     fmt.Sprintf("the staff name is too long: at most %d characters", forum.StaffNameMax),
	forum.KeySectionNotFound: "no such section",
	forum.KeySectionExists:   "a section with that slug exists",
	forum.KeyThreadNotFound:  "no such thread",
	forum.KeyPostNotFound:    "no such post",
}

func forumMessage(err error) string {
	var ie *forum.ImportError
	if errors.As(err, &ie) {
		msg := forumMessage(ie.Err)
		if loc := ie.Location(); loc != "" {
			return loc + ": " + msg
		}
		return msg
	}
	var fes forum.Errors
	if errors.As(err, &fes) {
		parts := make([]string, len(fes))
		for i, e := range fes {
			parts[i] = forumMessage(e)
		}
		return strings.Join(parts, "; ")
	}
	var fe *forum.Error
	if !errors.As(err, &fe) {
		return strings.ReplaceAll(err.Error(), "\n", " ")
	}
	switch {
	case fe.Key == "" || fe.Key == forum.KeyInternal:
		if fe.Err != nil {
			return strings.ReplaceAll(fe.Err.Error(), "\n", " ")
		}
	case strings.HasSuffix(fe.Key, ".invalid_utf8"):
		return "not valid UTF-8"
	case strings.HasSuffix(fe.Key, ".nul"):
		return "holds a NUL character"
	case strings.HasSuffix(fe.Key, ".control_char"):
		return "holds a control character (only line breaks and tabs are allowed)"
	}
	if m, ok := forumMessages[fe.Key]; ok {
		if fe.Code == forum.EUNAVAILABLE && fe.Err != nil {
			return m + " (" + fe.Err.Error() + ")"
		}
		return m
	}
	return fe.Key
}
