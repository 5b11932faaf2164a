package forum

import (
	"bytes"
	"html/template"
	"net/url"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// Text limits, in runes (after trimming).
const (
	TitleMin     = 3
	TitleMax     = 150
	BodyMin      = 1
	BodyMax      = 10000
	NoteMax      = 300
	StaffNameMax = 40
)

// cleanText checks and normalises user text: valid UTF-8, no NUL, no
// control characters but newline and tab, CRLF and lone CR turned into LF,
// surrounding whitespace trimmed. Bidi overrides count as control
// characters: they can make a visible URL read as another one.
func cleanText(field, s string) (string, *Error) {
	if !utf8.ValidString(s) {
		return "", newErr(EINVALID, field, "err."+field+keyInvalidUTF8)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "", newErr(EINVALID, field, "err."+field+keyNUL)
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
			return "", newErr(EINVALID, field, "err."+field+keyControlChar)
		}
	}
	return strings.TrimSpace(s), nil
}

// CleanTitle validates a thread title and returns it normalised to one line.
func CleanTitle(s string) (string, error) {
	t, e := cleanText("title", s)
	if e != nil {
		return "", e
	}
	t = strings.Join(strings.Fields(t), " ")
	switch n := utf8.RuneCountInString(t); {
	case n < TitleMin:
		return "", newErr(EINVALID, "title", KeyTitleTooShort)
	case n > TitleMax:
		return "", newErr(EINVALID, "title", KeyTitleTooLong)
	}
	return t, nil
}

// CleanBody validates a post body (Markdown source) and returns it
// normalised.
func CleanBody(s string) (string, error) {
	t, e := cleanText("body", s)
	if e != nil {
		return "", e
	}
	switch n := utf8.RuneCountInString(t); {
	case n < BodyMin:
		return "", newErr(EINVALID, "body", KeyBodyEmpty)
	case n > BodyMax:
		return "", newErr(EINVALID, "body", KeyBodyTooLong)
	}
	return t, nil
}

func cleanNote(s string) (string, *Error) {
	t, e := cleanText("note", s)
	if e != nil {
		return "", e
	}
	if utf8.RuneCountInString(t) > NoteMax {
		return "", newErr(EINVALID, "note", KeyNoteTooLong)
	}
	return t, nil
}

func cleanStaffName(s string) (string, *Error) {
	t, e := cleanText("name", s)
	if e != nil {
		return "", e
	}
	t = strings.Join(strings.Fields(t), " ")
	switch n := utf8.RuneCountInString(t); {
	case n == 0:
		return "", newErr(EINVALID, "name", KeyNameEmpty)
	case n > StaffNameMax:
		return "", newErr(EINVALID, "name", KeyNameTooLong)
	}
	return t, nil
}

// The Markdown subset: paragraphs with hard line breaks, emphasis, strike,
// lists, block quotes and links. No headings, code, tables, raw HTML or
// images: an image is shown as its text and its address.
var md = goldmark.New(
	goldmark.WithParser(parser.NewParser(
		parser.WithBlockParsers(
			util.Prioritized(parser.NewListParser(), 300),
			util.Prioritized(parser.NewListItemParser(), 400),
			util.Prioritized(parser.NewBlockquoteParser(), 800),
			util.Prioritized(indentedParagraphs{parser.NewParagraphParser()}, 1000),
		),
		parser.WithInlineParsers(
			util.Prioritized(parser.NewLinkParser(), 200),
			util.Prioritized(parser.NewAutoLinkParser(), 300),
			util.Prioritized(parser.NewEmphasisParser(), 500),
		),
		parser.WithParagraphTransformers(parser.DefaultParagraphTransformers()...),
	)),
	goldmark.WithExtensions(extension.Strikethrough, extension.Linkify),
	goldmark.WithRendererOptions(
		html.WithHardWraps(),
		renderer.WithNodeRenderers(util.Prioritized(linkRenderer{}, 100)),
	),
)

// indentedParagraphs lets a paragraph start with four spaces: without the
// indented-code parser such lines would otherwise be dropped.
type indentedParagraphs struct{ parser.BlockParser }

func (indentedParagraphs) CanAcceptIndentedLine() bool { return true }

// policy is the last word on what HTML a post may hold, whatever the
// Markdown renderer does.
var policy = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "em", "strong", "del", "ul", "ol", "li", "blockquote")
	p.AllowAttrs("start").Matching(bluemonday.Integer).OnElements("ol")
	p.AllowAttrs("href").OnElements("a")
	p.AllowURLSchemes("http", "https")
	p.AllowRelativeURLs(true)
	p.RequireParseableURLs(true)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	return p
}()

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// Render turns Markdown source (already cleaned) into sanitised HTML. It is
// run once when a post is written; page views use the stored result.
func Render(src string) template.HTML {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if deepLine(src) {
		// Parsing thousands of nested openings on one line costs tens of
		// milliseconds; the answer is known already.
		return plainHTML(src)
	}
	source := []byte(src)
	doc := md.Parser().Parse(text.NewReader(source))
	if tooDeep(doc) {
		return plainHTML(src)
	}
	if err := md.Renderer().Render(buf, source, doc); err != nil {
		// goldmark only fails on writer errors; a bytes.Buffer has none.
		return plainHTML(src)
	}
	return template.HTML(bytes.TrimSpace(policy.SanitizeBytes(buf.Bytes())))
}

// MaxNesting is how deep quotes and lists may nest. Deeper text (5,000
// nested quotes fit in a post) would make a page heavy to lay out, so it
// is shown as plain text instead.
const MaxNesting = 8

func tooDeep(doc ast.Node) bool {
	depth, deep := 0, false
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n.Kind() {
		case ast.KindBlockquote, ast.KindList:
		default:
			return ast.WalkContinue, nil
		}
		if !entering {
			depth--
			return ast.WalkContinue, nil
		}
		depth++
		if depth > MaxNesting {
			deep = true
			return ast.WalkStop, nil
		}
		return ast.WalkContinue, nil
	})
	return deep
}

// deepLine reports whether a line opens more than MaxNesting quotes or
// list items at its start.
func deepLine(src string) bool {
	for _, line := range strings.Split(src, "\n") {
		if lineDepth(line) > MaxNesting {
			return true
		}
	}
	return false
}

// lineDepth counts the quote and list markers a line starts with.
func lineDepth(line string) int {
	n := 0
	for {
		line = strings.TrimLeft(line, " \t")
		switch {
		case strings.HasPrefix(line, ">"):
			line = line[1:]
		case len(line) >= 2 && strings.IndexByte("-*+", line[0]) >= 0 && (line[1] == ' ' || line[1] == '\t'):
			line = line[2:]
		default:
			i := 0
			for i < len(line) && i < 9 && line[i] >= '0' && line[i] <= '9' {
				i++
			}
			if i == 0 || i+1 >= len(line) || (line[i] != '.' && line[i] != ')') || (line[i+1] != ' ' && line[i+1] != '\t') {
				return n
			}
			line = line[i+2:]
		}
		n++
	}
}

// plainHTML shows text as escaped paragraphs and line breaks.
func plainHTML(src string) template.HTML {
	var b strings.Builder
	for i, para := range strings.Split(src, "\n\n") {
		para = strings.TrimSpace(para)
		if para == "" {
			continue
		}
		if i > 0 && b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(template.HTMLEscapeString(para), "\n", "<br>\n"))
		b.WriteString("</p>")
	}
	return template.HTML(b.String())
}

// linkRenderer shows every link's address: the words a link carries are
// plain text, followed by the address itself as the only clickable part, so
// a link cannot pretend to go somewhere else. Images become the same.
type linkRenderer struct{}

func (linkRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindLink, renderLink)
	reg.Register(ast.KindImage, renderImage)
	reg.Register(ast.KindAutoLink, renderAutoLink)
}

// safeURL reports whether a link target may become an href: http(s), or a
// path on this site.
func safeURL(dest string) bool {
	if dest == "" {
		return false
	}
	u, err := url.Parse(dest)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.Host != ""
	case "":
		return strings.HasPrefix(dest, "/") && !strings.HasPrefix(dest, "//") && u.Host == ""
	}
	return false
}

func writeAddress(w util.BufWriter, dest []byte) {
	d := string(dest)
	if safeURL(d) {
		_, _ = w.WriteString(`<a href="`)
		_, _ = w.Write(util.EscapeHTML(util.URLEscape(dest, true)))
		_, _ = w.WriteString(`">`)
		_, _ = w.Write(util.EscapeHTML(dest))
		_, _ = w.WriteString(`</a>`)
		return
	}
	_, _ = w.Write(util.EscapeHTML(dest))
}

func renderLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.Link)
	if len(n.Destination) == 0 {
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(" (")
	writeAddress(w, n.Destination)
	_, _ = w.WriteString(")")
	return ast.WalkContinue, nil
}

func renderImage(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.Image)
	_, _ = w.Write(util.EscapeHTML(nodeText(n, source)))
	if len(n.Destination) > 0 {
		_, _ = w.WriteString(" (")
		writeAddress(w, n.Destination)
		_, _ = w.WriteString(")")
	}
	return ast.WalkSkipChildren, nil
}

func renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	if n.AutoLinkType != ast.AutoLinkURL {
		_, _ = w.Write(util.EscapeHTML(n.Label(source)))
		return ast.WalkContinue, nil
	}
	label := n.Label(source)
	u := n.URL(source)
	if !safeURL(string(u)) {
		_, _ = w.Write(util.EscapeHTML(label))
		return ast.WalkContinue, nil
	}
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML(util.URLEscape(u, false)))
	_, _ = w.WriteString(`">`)
	_, _ = w.Write(util.EscapeHTML(label))
	_, _ = w.WriteString(`</a>`)
	return ast.WalkContinue, nil
}

// nodeText collects the plain text under n.
func nodeText(n ast.Node, source []byte) []byte {
	var b []byte
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch t := c.(type) {
		case *ast.Text:
			b = append(b, t.Segment.Value(source)...)
		case *ast.String:
			b = append(b, t.Value...)
		default:
			b = append(b, nodeText(c, source)...)
		}
	}
	return b
}
