package staff

import (
	"context"
	"slices"
	"unicode/utf8"
)

// Replies lists every saved reply, in both languages, in their order
// (Order, then ID).
func (s *Service) Replies(ctx context.Context) ([]SavedReply, error) {
	return s.repo.Replies(ctx)
}

// Reply returns one saved reply. Errors: ENOTFOUND
// "staff.err.reply.not_found".
func (s *Service) Reply(ctx context.Context, id ReplyID) (*SavedReply, error) {
	return s.repo.Reply(ctx, id)
}

// cleanReply validates and normalises r in place.
func cleanReply(r *SavedReply) error {
	var errs Errors
	title, e := cleanLine("title", r.Title)
	switch n := utf8.RuneCountInString(title); {
	case e != nil:
		errs = append(errs, e)
	case n == 0:
		errs = append(errs, newErr(EINVALID, "title", KeyReplyTitleEmpty))
	case n > ReplyTitleMax:
		errs = append(errs, newErr(EINVALID, "title", KeyReplyTitleTooLong))
	}
	body, e := cleanText("body", r.Body)
	switch n := utf8.RuneCountInString(body); {
	case e != nil:
		errs = append(errs, e)
	case n == 0:
		errs = append(errs, newErr(EINVALID, "body", KeyReplyBodyEmpty))
	case n > ReplyBodyMax:
		errs = append(errs, newErr(EINVALID, "body", KeyReplyBodyTooLong))
	}
	if !slices.Contains(Languages, r.Lang) {
		errs = append(errs, newErr(EINVALID, "lang", KeyReplyLang))
	}
	if r.Order < 0 || r.Order > ReplyOrderMax {
		errs = append(errs, newErr(EINVALID, "order", KeyReplyOrder))
	}
	if len(errs) > 0 {
		return errs
	}
	r.Title, r.Body = title, body
	return nil
}

// SaveReply validates r and stores it: a new reply (ID 0) gets the next ID
// (set in r) and, with Order 0, goes to the end of the list; an existing
// one is replaced. Errors: Errors (EINVALID) on "title", "body", "lang",
// "order"; ENOTFOUND "staff.err.reply.not_found".
func (s *Service) SaveReply(ctx context.Context, r *SavedReply) error {
	if err := cleanReply(r); err != nil {
		return err
	}
	if r.ID == 0 && r.Order == 0 {
		rs, err := s.repo.Replies(ctx)
		if err != nil {
			return err
		}
		for _, x := range rs {
			r.Order = max(r.Order, x.Order+1)
		}
		r.Order = min(r.Order, ReplyOrderMax)
	}
	r.Updated = s.hour()
	return s.repo.SaveReply(ctx, r)
}

// DeleteReply removes a saved reply. Errors: ENOTFOUND.
func (s *Service) DeleteReply(ctx context.Context, id ReplyID) error {
	return s.repo.DeleteReply(ctx, id)
}

// Seed stores the first saved replies once in the life of the store (never
// again, even after staff deleted them all).
func (s *Service) Seed(ctx context.Context) error {
	rs := SeedReplies()
	h := s.hour()
	for i := range rs {
		if err := cleanReply(&rs[i]); err != nil {
			return Internal(err)
		}
		rs[i].Updated = h
	}
	_, err := s.repo.SeedReplies(ctx, rs)
	return err
}

// SeedReplies returns the saved replies a new store starts with.
func SeedReplies() []SavedReply {
	return []SavedReply{
		{
			Lang:  "ru",
			Order: 1,
			Title: "Где пройти тест на ВИЧ бесплатно и анонимно",
			Body: `Здравствуйте! Бесплатно и анонимно пройти тест на ВИЧ можно в автобусе фонда: там есть кабинет для тестирования и кабинет врача. Где и когда стоят автобусы — на странице [«Расписание автобусов»](/ru/services/schedule).

- Анонимно — значит, имя не записывают: вам дают код. Если сомневаетесь, спросите на месте, как устроена анонимность.
- Положительный экспресс-тест — ещё не диагноз: результат подтверждают анализом крови в Центре СПИД. Мы поможем пройти этот путь.
- Если риск был недавно, посмотрите ответ про «период окна» — иногда тест нужно повторить.

Если не нашли удобную остановку, напишите здесь, в каком районе вам удобнее, — подскажем.`,
		},
		{
			Lang:  "ru",
			Order: 2,
			Title: "Период окна: когда тест покажет ВИЧ",
			Body: `Ни один тест не находит ВИЧ сразу после риска. Есть «период окна» — время, за которое тест начинает видеть инфекцию:

- анализ на сам вирус (ПЦР) — 10–33 дня;
- анализ из вены на антиген и антитела (тест 4-го поколения) — 18–45 дней;
- экспресс-тест из пальца на антиген и антитела — 18–90 дней;
- тесты только на антитела, в том числе большинство экспресс-тестов и самотестов, — 23–90 дней.

Отрицательный результат внутри периода окна нужно повторить, когда окно пройдёт. Положительный экспресс-тест или самотест — не диагноз: его подтверждают анализом крови.

Если риск был меньше 72 часов назад, срочно обратитесь к врачу: есть **постконтактная профилактика (ПКП)** — таблетки на 28 дней, и начать их нужно как можно раньше.

Подробнее — на странице [«ВИЧ: бесплатное анонимное тестирование»](/ru/hiv).`,
		},
		{
			Lang:  "ru",
			Order: 3,
			Title: "Расписание автобусов фонда",
			Body: `Где и когда стоят автобусы фонда, смотрите на странице [«Расписание автобусов»](/ru/services/schedule). Это же расписание мы публикуем в Telegram-канале фонда.

В автобусе: бесплатный анонимный тест на ВИЧ, стерильные иглы и шприцы, презервативы, консультации врача, психолога и юриста.

Если остановки рядом с вами нет или расписание изменилось, напишите здесь — подскажем, как быть.`,
		},
	}
}
