package store_test

import (
	"context"
	"html/template"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tropa/forum"
	"tropa/internal/store"
)

// BenchmarkGroupCommit measures durable replies per second with 64
// concurrent posters on disk (SyncWrites on): group commit (up to 256
// replies a transaction) against one transaction per reply.
//
//	go test ./internal/store -run '^$' -bench GroupCommit -benchtime 20000x
func BenchmarkGroupCommit(b *testing.B) {
	for _, c := range []struct {
		name   string
		maxOps int
	}{{"batched", 256}, {"one-txn-per-reply", 1}} {
		b.Run(c.name, func(b *testing.B) {
			db := mustOpenDB(b, store.Options{Dir: b.TempDir()}) // SyncWrites on
			r, err := store.NewForumRepo(db, store.BatchOptions{MaxOps: c.maxOps})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			ctx := context.Background()
			sec := mustSection(b, r, "s")
			const threads = 100
			ids := make([]forum.ThreadID, threads)
			for i := range ids {
				th, err := r.CreateThread(ctx, newThread(sec.ID, "Тема", false))
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = th.ID
			}
			// A ~1 KB reply as the service stores it: source and HTML.
			src := strings.Repeat("Ответ на вопрос о тестировании. ", 16)
			html := template.HTML("<p>" + src + "</p>")
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
						_, _, err := r.AddPost(ctx, ids[i%threads], func(t *forum.Thread) (*forum.Post, error) {
							t.Replies++
							t.LastActive = 101
							return &forum.Post{Hour: 101, Source: src, HTML: html}, nil
						})
						if err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "replies/s")
		})
	}
}
