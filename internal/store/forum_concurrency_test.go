package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"tropa/forum"
	"tropa/internal/store"
)

// TestConcurrentAsksAndReplies: questions and replies from many visitors at
// once share group-commit transactions; afterwards every section's counters
// match its listings and every thread's counter matches its posts.
func TestConcurrentAsksAndReplies(t *testing.T) {
	db, err := store.Open(store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	repo, err := store.NewForumRepo(db, store.BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	svc := forum.NewService(repo, nil, forum.Options{KDF: forum.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}, HashConcurrency: 8})
	ctx := context.Background()
	if err := svc.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	seeded, err := repo.Threads(ctx, 1, false, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; n < 150; n++ {
				th := seeded[(w+n)%len(seeded)]
				if _, err := svc.Reply(ctx, forum.ReplyInput{Thread: th.ID, Body: fmt.Sprintf("reply %d from %d", n, w)}); err != nil {
					t.Error(err)
				}
				if n%3 == 0 {
					if _, err := svc.Ask(ctx, forum.AskInput{Section: "hiv", Title: "concurrent question", Body: "body", Private: n%2 == 0}); err != nil {
						t.Error(err)
					}
				}
			}
		}(w)
	}
	wg.Wait()
	secs, err := repo.Sections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secs {
		for _, private := range []bool{false, true} {
			ts, err := repo.Threads(ctx, s.ID, private, 0, 100000)
			if err != nil {
				t.Fatal(err)
			}
			want := s.Threads
			if private {
				want = s.PrivateThreads
			}
			if len(ts) != want {
				t.Errorf("section %s private=%v counts %d threads, lists %d", s.Slug, private, want, len(ts))
			}
			for _, th := range ts {
				ps, err := repo.Posts(ctx, th.ID, 1, 1<<20)
				if err != nil {
					t.Fatal(err)
				}
				if len(ps) != th.Posts {
					t.Errorf("thread %d counts %d posts, holds %d", th.ID, th.Posts, len(ps))
				}
			}
		}
	}
}
