package staff

import (
	"context"
	"slices"
	"unicode/utf8"
)

// Log appends a moderation action to its target's history, at the
// current hour (e.Hour is ignored). The history is append-only: nothing
// edits or removes an entry. Errors: Errors (EINVALID) on "target",
// "staff", "action", "detail".
func (s *Service) Log(ctx context.Context, e ModEntry) error {
	var errs Errors
	if !ValidTarget(e.Target) {
		errs = append(errs, newErr(EINVALID, "target", KeyModTarget))
	}
	if !ValidName(e.Staff) {
		errs = append(errs, newErr(EINVALID, "staff", KeyNameInvalid))
	}
	if !slices.Contains(ModActions, e.Action) {
		errs = append(errs, newErr(EINVALID, "action", KeyModAction))
	}
	detail, de := cleanLine("detail", e.Detail)
	switch {
	case de != nil:
		errs = append(errs, de)
	case utf8.RuneCountInString(detail) > ModDetailMax:
		errs = append(errs, newErr(EINVALID, "detail", KeyModDetailTooLong))
	}
	if len(errs) > 0 {
		return errs
	}
	e.Detail = detail
	e.Hour = s.hour()
	return s.repo.AddModEntry(ctx, e)
}

// History lists a target's moderation history, newest first, up to
// HistoryMax entries. Only admins may read it; the site checks
// ActionManageStaff. Errors: EINVALID "staff.err.mod.target".
func (s *Service) History(ctx context.Context, target string) ([]ModEntry, error) {
	if !ValidTarget(target) {
		return nil, newErr(EINVALID, "target", KeyModTarget)
	}
	return s.repo.ModHistory(ctx, target, HistoryMax)
}
