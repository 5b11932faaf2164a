package fund

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Message keys of the page and news checks (beside validate.go's).
const (
	KeyLang = "fund.err.lang" // not a language of the portal
	KeySlug = "fund.err.slug" // not a page's name
	KeyDate = "fund.err.date" // not a date as YYYY-MM-DD
)

// TextKeys lists the keys above (for the site's catalogue test).
func TextKeys() []string { return []string{KeyLang, KeySlug, KeyDate} }

// Langs are the languages pages and news are written in.
var Langs = []string{"ru", "en"}

func validLang(l string) bool { return l == "ru" || l == "en" }

// cleanBody tidies a Markdown text from a form: line ends made "\n",
// trailing spaces on each line and blank lines at both ends dropped.
func cleanBody(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// body checks a multi-line text: tabs and line breaks are the only control
// characters allowed.
func (c *checker) body(field, v string, required bool, max int) {
	switch {
	case v == "":
		if required {
			c.add(field, KeyRequired)
		}
	case !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		c.add(field, KeyText)
	case utf8.RuneCountInString(v) > max:
		c.add(field, KeyTooLong)
	}
}
