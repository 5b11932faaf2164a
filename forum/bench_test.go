package forum_test

import (
	"context"
	"fmt"
	"html/template"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tropa/forum"
	"tropa/internal/store"
)

// A sized board: posts spread over threads of 10 in one section, plus one
// long thread of 200 posts.
type board struct {
	e    *env
	long forum.ThreadID
}

var (
	boardsMu sync.Mutex
	boards   = map[int]*board{}
)

// fill builds a board of n posts straight through the repository (the
// rendering is not what is measured here), 64 writers at a time.
func fill(b *testing.B, n int) *board {
	boardsMu.Lock()
	defer boardsMu.Unlock()
	if bd, ok := boards[n]; ok {
		return bd
	}
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e := &env{t: b, db: db, repo: repo, clock: newClock(), ctx: context.Background()}
	e.svc = forum.NewService(repo, e.clock.Now, forum.Options{KDF: testKDF})
	if err := e.svc.Seed(e.ctx); err != nil {
		b.Fatal(err)
	}
	sec, _ := repo.SectionBySlug(e.ctx, "hiv")
	src := strings.Repeat("Текст ответа про тестирование. ", 12)
	post := forum.Post{Author: forum.Author{Kind: forum.Anonymous}, Hour: 480000, Source: src, HTML: template.HTML("<p>" + src + "</p>")}
	newThread := func(i int) forum.ThreadID {
		th, err := repo.CreateThread(e.ctx, forum.NewThread{
			Thread:   forum.Thread{Section: sec.ID, Title: fmt.Sprintf("Вопрос %d", i), Created: 480000, LastActive: 480000},
			Question: post,
		})
		if err != nil {
			b.Fatal(err)
		}
		return th.ID
	}
	reply := func(id forum.ThreadID) {
		_, _, err := repo.AddPost(e.ctx, id, func(t *forum.Thread) (*forum.Post, error) {
			t.Replies++
			p := post
			return &p, nil
		})
		if err != nil {
			b.Error(err)
		}
	}
	bd := &board{e: e, long: newThread(-1)}
	for i := 1; i < 200; i++ {
		reply(bd.long)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= (n-200)/10 {
					return
				}
				id := newThread(i)
				for j := 1; j < 10; j++ {
					reply(id)
				}
			}
		}()
	}
	wg.Wait()
	boards[n] = bd
	return bd
}

func sizes(b *testing.B) []int {
	if testing.Short() {
		return []int{1_000}
	}
	if os.Getenv("FORUM_BENCH_1M") != "" { // ~1 GB of memory, a minute to fill
		return []int{1_000, 100_000, 1_000_000}
	}
	return []int{1_000, 100_000}
}

// sectionCursors walks a section from page 1 by its Older cursors and
// returns the cursor of every page (page 1's is "").
func sectionCursors(b *testing.B, bd *board, slug string) []string {
	cs := []string{""}
	for {
		sp, err := bd.e.svc.SectionPageAt(bd.e.ctx, slug, forum.PageAt{Older: cs[len(cs)-1]})
		if err != nil {
			b.Fatal(err)
		}
		if sp.Older == "" {
			return cs
		}
		cs = append(cs, sp.Older)
	}
}

// BenchmarkSectionPage shows a section page costs the same at 1k, 100k
// and 1M posts: the listing is a seek in one index range, never the whole
// section, and page 4 (by its cursor) costs what page 1 costs.
//
//	go test ./forum -run '^$' -bench 'SectionPage|ThreadPage' -benchmem
func BenchmarkSectionPage(b *testing.B) {
	for _, n := range sizes(b) {
		for _, page := range []int{1, 4} {
			b.Run(fmt.Sprintf("posts=%d/page=%d", n, page), func(b *testing.B) {
				bd := fill(b, n)
				at := forum.PageAt{Older: sectionCursors(b, bd, "hiv")[page-1]}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					sp, err := bd.e.svc.SectionPageAt(bd.e.ctx, "hiv", at)
					if err != nil || len(sp.Threads) != forum.SectionPageSize {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkSectionPageDeep is the middle and the last page of the section
// (~5,000 pages at 1M posts), by cursor (what the site does) and by number
// (forum.SectionPage, which walks every index key before the page: what the
// site did before cursors).
//
//	FORUM_BENCH_1M=1 go test ./forum -run '^$' -bench SectionPageDeep -benchmem
func BenchmarkSectionPageDeep(b *testing.B) {
	for _, n := range sizes(b) {
		for _, how := range []string{"cursor", "numbered"} {
			for _, where := range []string{"mid", "last"} {
				b.Run(fmt.Sprintf("posts=%d/%s/page=%s", n, how, where), func(b *testing.B) {
					bd := fill(b, n)
					cs := sectionCursors(b, bd, "hiv")
					page := len(cs)
					if where == "mid" {
						page = len(cs)/2 + 1
					}
					b.ReportMetric(float64(page), "page")
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						var err error
						if how == "cursor" {
							_, err = bd.e.svc.SectionPageAt(bd.e.ctx, "hiv", forum.PageAt{Older: cs[page-1]})
						} else {
							_, err = bd.e.svc.SectionPage(bd.e.ctx, "hiv", page)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}

// BenchmarkThreadPage shows a thread page costs the same at 1k and 100k
// posts, on its first and last page: a page is a seek to its first post.
func BenchmarkThreadPage(b *testing.B) {
	for _, n := range sizes(b) {
		for _, page := range []int{1, 4} {
			b.Run(fmt.Sprintf("posts=%d/page=%d", n, page), func(b *testing.B) {
				bd := fill(b, n)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					tp, err := bd.e.svc.ThreadPage(bd.e.ctx, bd.long, page, forum.Viewer{})
					if err != nil || len(tp.Posts) != forum.ThreadPageSize {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkThreadPageDeep shows a thread page costs the same on page 1 and
// on page 500 of a 25,000-post thread: posts are keyed by their number, so
// a page is a seek to its first post (no cursor needed).
//
//	go test ./forum -run '^$' -bench ThreadPageDeep -benchmem
func BenchmarkThreadPageDeep(b *testing.B) {
	const posts = 25_000
	e := mustOpen(b)
	sec, _ := e.repo.SectionBySlug(e.ctx, "hiv")
	src := strings.Repeat("Текст ответа про тестирование. ", 12)
	post := forum.Post{Author: forum.Author{Kind: forum.Anonymous}, Hour: 480000, Source: src, HTML: template.HTML("<p>" + src + "</p>")}
	th, err := e.repo.CreateThread(e.ctx, forum.NewThread{
		Thread:   forum.Thread{Section: sec.ID, Title: "Длинная тема", Created: 480000, LastActive: 480000},
		Question: post,
	})
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) < posts {
				_, _, err := e.repo.AddPost(e.ctx, th.ID, func(t *forum.Thread) (*forum.Post, error) {
					t.Replies++
					p := post
					return &p, nil
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, page := range []int{1, 250, posts / forum.ThreadPageSize} {
		b.Run(fmt.Sprintf("page=%d", page), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				tp, err := e.svc.ThreadPage(e.ctx, th.ID, page, forum.Viewer{})
				if err != nil || len(tp.Posts) != forum.ThreadPageSize {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReply is the whole reply path (validation, receipt check,
// Markdown, sanitising, group commit) with 64 concurrent posters, durable
// on disk.
//
//	go test ./forum -run '^$' -bench Reply -benchtime 20000x
func BenchmarkReply(b *testing.B) {
	db, err := store.Open(store.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer repo.Close()
	svc := forum.NewService(repo, nil, forum.Options{KDF: testKDF})
	ctx := context.Background()
	if err := svc.Seed(ctx); err != nil {
		b.Fatal(err)
	}
	var ids []forum.ThreadID
	for i := 0; i < 100; i++ {
		res, err := svc.Ask(ctx, forum.AskInput{Section: "hiv", Title: fmt.Sprintf("Вопрос %d", i), Body: "текст"})
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, res.Thread.ID)
	}
	body := strings.Repeat("Спасибо, *очень* помогло. Ещё вопрос про [пункт](http://fund.onion/bus).\n", 12)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := svc.Reply(ctx, forum.ReplyInput{Thread: ids[i%int64(len(ids))], Body: body}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "replies/s")
}

// BenchmarkReceiptHash is the cost of one receipt hash with the production
// parameters (forum.DefaultKDF): what opening a receipt costs.
//
//	go test ./forum -run '^$' -bench ReceiptHash -benchtime 20x
func BenchmarkReceiptHash(b *testing.B) {
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer repo.Close()
	svc := forum.NewService(repo, nil, forum.Options{ForeignReceiptChecks: -1})
	ctx := context.Background()
	if err := svc.Seed(ctx); err != nil {
		b.Fatal(err)
	}
	res, err := svc.Ask(ctx, forum.AskInput{Section: "hiv", Title: "Вопрос", Body: "текст"})
	if err != nil {
		b.Fatal(err)
	}
	receipt := res.Receipt.Format()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := svc.OpenReceipt(ctx, receipt); err != nil {
			b.Fatal(err)
		}
	}
}
