package staff

import (
	"strings"
	"unicode/utf8"
)

// Text limits, in runes (after trimming).
const (
	NameMin = 2
	NameMax = 32
	// DisplayNameMax matches forum.StaffNameMax: the forum refuses a longer
	// signature on a staff post, so an account must not be given one.
	DisplayNameMax = 40
	ReplyTitleMax  = 100
	ReplyBodyMax   = 10000 // forum.BodyMax: a saved reply must fit in a post
	ReplyOrderMax  = 9999
	ModDetailMax   = 200
	modTargetMax   = 64
	// HistoryMax caps the entries History returns: a target's history is
	// short, and a page must stay bounded.
	HistoryMax = 200
)

// Languages a saved reply may be in.
var Languages = []string{"ru", "en"}

// NormalizeName folds a typed login name the way it is stored: trimmed and
// in lower case.
func NormalizeName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// ValidName reports whether s is a login name as stored: 2 to 32 of a-z,
// 0-9, '.', '_' and '-'.
func ValidName(s string) bool {
	if len(s) < NameMin || len(s) > NameMax {
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

func cleanName(field, s string) (string, *Error) {
	s = NormalizeName(s)
	if !ValidName(s) {
		return "", newErr(EINVALID, field, KeyNameInvalid)
	}
	return s, nil
}

// cleanText checks and normalises text as package forum does: valid UTF-8,
// no NUL, no control characters but newline and tab, line ends as LF,
// surrounding space trimmed. Bidi overrides count as control characters:
// they can make one name or address read as another.
func cleanText(field, s string) (string, *Error) {
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		return "", newErr(EINVALID, field, KeyText)
	}
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	for _, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return "", newErr(EINVALID, field, KeyText)
		}
	}
	return strings.TrimSpace(s), nil
}

// cleanLine is cleanText folded to one line with single spaces.
func cleanLine(field, s string) (string, *Error) {
	t, e := cleanText(field, s)
	if e != nil {
		return "", e
	}
	return strings.Join(strings.Fields(t), " "), nil
}

// CleanDisplayName validates a display name and returns it normalised to
// one line, as the forum will sign posts with it.
func CleanDisplayName(s string) (string, error) {
	t, e := cleanLine("display_name", s)
	if e != nil {
		return "", e
	}
	switch n := utf8.RuneCountInString(t); {
	case n == 0:
		return "", newErr(EINVALID, "display_name", KeyDisplayNameEmpty)
	case n > DisplayNameMax:
		return "", newErr(EINVALID, "display_name", KeyDisplayNameTooLong)
	}
	return t, nil
}

// ValidTarget reports whether s may name a moderation target: a kind, a
// colon and an identifier, e.g. "thread:12", "post:12:3", "section:hiv".
// Targets never hold '/', which the storage relies on.
func ValidTarget(s string) bool {
	kind, id, ok := strings.Cut(s, ":")
	if !ok || kind == "" || id == "" || len(s) > modTargetMax {
		return false
	}
	for i := 0; i < len(kind); i++ {
		if c := kind[i]; c < 'a' || c > 'z' {
			return false
		}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}
