package metrics

import "tropa/forum"

// The forum's storage reports its writes here (internal/store's
// CountedForumRepo): the questions visitors ask, public and private, and
// each question's first staff answer with its delay in hours. Nothing of
// the thread is kept.

// Asked counts nt if it is a visitor's question; call it after the thread
// was stored.
func (r *Recorder) Asked(nt forum.NewThread) {
	if nt.Question.Author.Kind != forum.AskerAuthor {
		return // a staff thread (an announcement, a mirrored topic)
	}
	if nt.Thread.Private {
		r.Inc(QuestionsPrivate)
	} else {
		r.Inc(QuestionsPublic)
	}
}

// WatchPost wraps the function an AddPost runs so that it notices a
// question's first staff answer; call commit after the post was stored.
// fn may run more than once (a retried transaction): the last run counts.
func (r *Recorder) WatchPost(fn func(t *forum.Thread) (*forum.Post, error)) (watched func(t *forum.Thread) (*forum.Post, error), commit func()) {
	var first bool
	var delay int64
	watched = func(t *forum.Thread) (*forum.Post, error) {
		answered, created, asked := t.Answered, t.Created, t.Asker != 0
		p, err := fn(t)
		first = err == nil && p != nil && p.Author.Kind == forum.Staff && !answered && asked
		if first {
			delay = int64(p.Hour - created)
		}
		return p, err
	}
	commit = func() {
		if first {
			r.FirstAnswer(delay)
		}
	}
	return watched, commit
}
