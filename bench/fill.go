package main

import (
	"context"
	"fmt"
	"html/template"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tropa/forum"
	"tropa/internal/store"
	"tropa/keys"
)

// A data directory is filled the way `tropa serve` would open it (keys/,
// store/ encrypted with the store key, the board seeded), through the forum
// service or the store's ForumRepo, before tropa starts on it.

type boardDB struct {
	db   *store.DB
	repo *store.ForumRepo
	svc  *forum.Service
}

// openBoard opens dataDir like serve.go does. noSync turns SyncWrites off
// (fills only); maxOps sizes the group-commit batches.
func openBoard(dataDir string, noSync bool, maxOps int) (*boardDB, error) {
	storeDir := filepath.Join(dataDir, "store")
	ring, err := keys.Open(filepath.Join(dataDir, "keys"), nil, dirHasFiles(storeDir))
	if err != nil {
		return nil, err
	}
	db, err := store.Open(store.Options{Dir: storeDir, Key: ring.StoreKey(), NoSync: noSync})
	if err != nil {
		return nil, err
	}
	repo, err := store.NewForumRepo(db, store.BatchOptions{MaxOps: maxOps})
	if err != nil {
		db.Close()
		return nil, err
	}
	svc := forum.NewService(repo, nil, forum.Options{})
	if err := svc.Seed(context.Background()); err != nil {
		repo.Close()
		db.Close()
		return nil, err
	}
	return &boardDB{db: db, repo: repo, svc: svc}, nil
}

func (b *boardDB) close() error {
	b.repo.Close()
	return b.db.Close()
}

// ---- texts --------------------------------------------------------------------

var sentences = []string{
	"Здравствуйте, подскажите, пожалуйста, где можно бесплатно и анонимно сдать тест на ВИЧ в Петербурге.",
	"Спасибо за ответ, всё понятно.",
	"Экспресс-тест из пальца показывает антитела, поэтому после риска лучше подождать период окна и повторить.",
	"В мобильном пункте фонда тест делают без паспорта и без записи, результат готов примерно через пятнадцать минут.",
	"Если риск был недавно, не ждите: постконтактную профилактику нужно начать как можно скорее.",
	"Гепатит C сейчас излечим, курс таблеток обычно длится от восьми до двенадцати недель.",
	"Не делитесь инструментарием: через общую посуду, фильтры и воду гепатит передаётся так же, как через иглы.",
	"При передозировке звоните 112 или 103, переверните человека на бок и не оставляйте его одного.",
	"Можно ли сделать тест, если я не гражданин России и у меня нет полиса?",
	"Да, в Центре СПИД можно обследоваться анонимно, вам дадут код вместо имени.",
	"Положительный экспресс-тест — ещё не диагноз, результат обязательно подтверждают анализом крови.",
	"Расписание мобильного пункта на эту неделю есть в разделе «Услуги фонда».",
	"Я боюсь идти в поликлинику, там могут сообщить по месту работы?",
	"Нет, медицинская тайна защищена законом, а анонимный тест вообще не связан с вашим именем.",
	"Прививка от гепатита B защищает надолго, её можно сделать бесплатно по полису.",
	"Налоксон снимает действие опиоидов на время, поэтому скорую вызывать всё равно нужно.",
	"Вчера друг потерял сознание, дышал редко и хрипло, губы посинели, мы очень испугались.",
	"Терапия подавляет вирус, и при неопределяемой вирусной нагрузке партнёр остаётся в безопасности.",
	"Консультант встретит вас у автобуса, объяснит порядок обследования и ответит на вопросы без осуждения.",
	"Сколько стоит лечение гепатита за свой счёт, и бывают ли бесплатные квоты в городских больницах?",
	"Стерильные шприцы, спиртовые салфетки и презервативы выдают в пункте обмена каждый вторник.",
	"Смешивать алкоголь, снотворные и опиоиды особенно опасно: дыхание может остановиться во сне.",
	"Мне страшно узнать результат, но жить в неизвестности ещё тяжелее, посоветуйте, с чего начать.",
	"Анализ на вирусную нагрузку сдают натощак утром, направление выписывает инфекционист.",
	"Справку для работодателя давать не обязательно, диагноз относится к врачебной тайне.",
	"Женщины во время беременности получают профилактику, и ребёнок почти всегда рождается здоровым.",
	"Побочные эффекты современных схем обычно слабые и проходят за первые недели приёма.",
	"Волонтёры фонда сопровождают до кабинета врача, если одному идти тревожно.",
	"Мобильная лаборатория стоит возле метро по четвергам с полудня до вечера.",
	"Пожалуйста, напишите подробнее, какие препараты и в каком количестве были приняты.",
}

// vocabulary: the words of sentences, from which bodies draw whole
// sentences (two in five) or random phrases, so that a page compresses
// about as well as real text (gzip ~3x) rather than 10x.
var vocabulary = func() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range sentences {
		for _, w := range strings.Fields(s) {
			w = strings.Trim(w, ".,?!:«»")
			if w != "" && !seen[strings.ToLower(w)] {
				seen[strings.ToLower(w)] = true
				out = append(out, strings.ToLower(w))
			}
		}
	}
	return out
}()

func sentence(r *rand.Rand) string {
	if r.IntN(5) < 2 {
		return sentences[r.IntN(len(sentences))]
	}
	n := 6 + r.IntN(14)
	words := make([]string, n)
	for i := range words {
		words[i] = vocabulary[r.IntN(len(vocabulary))]
	}
	s := strings.Join(words, " ")
	first := []rune(s)
	return strings.ToUpper(string(first[0])) + string(first[1:]) + "."
}

// body returns a Markdown reply of a few sentences, sometimes with a list
// or emphasis, 100-1,500 bytes.
func body(r *rand.Rand) string {
	var sb strings.Builder
	paras := 1 + r.IntN(3)
	for p := 0; p < paras; p++ {
		if p > 0 {
			sb.WriteString("\n\n")
		}
		switch r.IntN(6) {
		case 0:
			for i := 0; i < 2+r.IntN(3); i++ {
				sb.WriteString("- " + sentence(r) + "\n")
			}
		case 1:
			sb.WriteString("**" + sentence(r) + "** ")
			fallthrough
		default:
			for i := 0; i < 1+r.IntN(3); i++ {
				if i > 0 {
					sb.WriteString(" ")
				}
				sb.WriteString(sentence(r))
			}
		}
	}
	return strings.TrimSpace(sb.String())
}

func title(r *rand.Rand, i int) string {
	t := sentence(r)
	if len([]rune(t)) > 90 {
		t = string([]rune(t)[:90])
	}
	return fmt.Sprintf("%s (вопрос %d)", strings.TrimRight(t, ".?!,"), i)
}

// ---- the board of P1-P3, P5 -----------------------------------------------------

// fillBoard seeds dataDir and adds the 100-post thread of P2 (a staff
// question and 99 anonymous replies, through the forum service) and the
// threads P3 posts into.
func fillBoard(dataDir string, targets int) (thread uint64, targetIDs []uint64, err error) {
	b, err := openBoard(dataDir, true, 0)
	if err != nil {
		return 0, nil, err
	}
	defer b.close()
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	t, err := b.svc.StaffThread(ctx, "hiv", "bench", forum.StaffTeamName, "Где сдать тест на ВИЧ анонимно и бесплатно: вопросы и ответы", body(r), false)
	if err != nil {
		return 0, nil, err
	}
	for i := 0; i < 99; i++ {
		if i%10 == 9 {
			_, err = b.svc.StaffReply(ctx, t.ID, "bench", forum.StaffTeamName, body(r))
		} else {
			_, err = b.svc.Reply(ctx, forum.ReplyInput{Thread: t.ID, Body: body(r)})
		}
		if err != nil {
			return 0, nil, err
		}
	}
	for i := 0; i < targets; i++ {
		tt, err := b.svc.StaffThread(ctx, "hepatitis", "bench", forum.StaffTeamName, title(r, i), body(r), false)
		if err != nil {
			return 0, nil, err
		}
		targetIDs = append(targetIDs, uint64(tt.ID))
	}
	return uint64(t.ID), targetIDs, nil
}

// ---- P4: sized stores --------------------------------------------------------------

// sizedBoard describes a filled store.
type sizedBoard struct {
	posts    int
	threads  []uint64 // thread IDs in creation order
	sizes    []int    // posts in each thread (the question included)
	sections []string
	took     time.Duration
	bytes    int64 // store size on disk
}

// threadSize is the number of posts of the i-th thread: 1..99, 50 on
// average, the same sequence in every store so that samples compare.
func threadSize(i int) int { return 1 + (i*37)%99 }

// fillSized writes about n posts into a new data dir, straight through the
// store's ForumRepo (the forum's own write path, group-committed) with
// SyncWrites off and 256 writers, posts pre-rendered once per text.
func fillSized(ctx context.Context, dataDir string, n int) (*sizedBoard, error) {
	start := time.Now()
	b, err := openBoard(dataDir, true, 1024)
	if err != nil {
		return nil, err
	}
	secs, err := b.svc.Sections(ctx)
	if err != nil {
		b.close()
		return nil, err
	}
	sb := &sizedBoard{}
	for _, s := range secs {
		sb.sections = append(sb.sections, s.Slug)
	}
	// A pool of pre-rendered texts (rendering is not what P4 measures).
	r := rand.New(rand.NewPCG(3, 4))
	type text struct {
		src  string
		html template.HTML
	}
	pool := make([]text, 512)
	for i := range pool {
		src := body(r)
		pool[i] = text{src, forum.Render(src)}
	}
	// Threads: sizes from threadSize until n posts; hours spread over
	// the past year, older threads first.
	var total int
	for i := 0; total < n; i++ {
		sz := min(threadSize(i), n-total)
		sb.sizes = append(sb.sizes, sz)
		total += sz
	}
	sb.posts = total
	nThreads := len(sb.sizes)
	now := forum.HourOf(time.Now())
	hourOf := func(i int) forum.Hour { return now - forum.Hour(24*365*(nThreads-i)/nThreads) }
	sb.threads = make([]uint64, nThreads)

	const writers = 256
	var next atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	var done atomic.Int64
	stopProgress := make(chan struct{})
	go func() {
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				logf("  fill: %d of %d posts (%.0f/s)", done.Load(), total, float64(done.Load())/time.Since(start).Seconds())
			}
		}
	}()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= nThreads {
					return
				}
				if err := ctx.Err(); err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("fill stopped at the time budget: %w", err) })
					return
				}
				sec := secs[i%len(secs)]
				h := hourOf(i)
				q := pool[(i*7)%len(pool)]
				th, err := b.repo.CreateThread(ctx, forum.NewThread{
					Thread: forum.Thread{Section: sec.ID, Title: fmt.Sprintf("Вопрос номер %d о тестировании и лечении", i),
						Created: h, LastActive: h},
					Question: forum.Post{N: 1, Author: forum.Author{Kind: forum.Staff, Name: forum.StaffTeamName, StaffID: "bench"},
						Hour: h, Source: q.src, HTML: q.html},
				})
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				sb.threads[i] = uint64(th.ID)
				done.Add(1)
				for k := 1; k < sb.sizes[i]; k++ {
					p := pool[(i*31+k*17)%len(pool)]
					_, _, err := b.repo.AddPost(ctx, th.ID, func(t *forum.Thread) (*forum.Post, error) {
						t.Replies++
						t.LastActive = h
						return &forum.Post{Author: forum.Author{Kind: forum.Anonymous}, Hour: h, Source: p.src, HTML: p.html}, nil
					})
					if err != nil {
						errOnce.Do(func() { firstErr = err })
						return
					}
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(stopProgress)
	if err := b.close(); err != nil && firstErr == nil {
		firstErr = err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	sb.took = time.Since(start)
	sb.bytes = dirSize(filepath.Join(dataDir, "store"))
	return sb, nil
}
