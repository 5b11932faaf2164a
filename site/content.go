package site

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

//go:embed content
var contentFS embed.FS

// infoPage is one Markdown page of the portal in one language, rendered
// once at start.
type infoPage struct {
	Slug        string
	Lang        string
	Title       string
	Nav         string
	Description string
	Reviewed    string // "YYYY-MM-DD" on medical pages
	Body        template.HTML
}

// markdown renders the fund's own page text. Raw HTML in it is not passed
// through (goldmark's default): pages carry no script, style or embed.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Typographer),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
)

// loadContent reads and renders every content/<lang>/<slug>.md.
func loadContent() (map[string]map[string]*infoPage, error) {
	out := map[string]map[string]*infoPage{}
	for _, lang := range Languages {
		out[lang] = map[string]*infoPage{}
		entries, err := fs.ReadDir(contentFS, "content/"+lang)
		if err != nil {
			return nil, fmt.Errorf("site: content/%s: %w", lang, err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".md") {
				continue
			}
			raw, err := contentFS.ReadFile(path.Join("content", lang, e.Name()))
			if err != nil {
				return nil, err
			}
			p, err := parsePage(raw)
			if err != nil {
				return nil, fmt.Errorf("site: content/%s/%s: %w", lang, e.Name(), err)
			}
			p.Slug = strings.TrimSuffix(e.Name(), ".md")
			p.Lang = lang
			out[lang][p.Slug] = p
		}
	}
	return out, nil
}

// parsePage splits the front matter ("---", "key: value" lines, "---") from
// the Markdown body and renders the body.
func parsePage(raw []byte) (*infoPage, error) {
	s := strings.ReplaceAll(string(raw), "\r\n", "\n")
	if !strings.HasPrefix(s, "---\n") {
		return nil, fmt.Errorf("no front matter")
	}
	fm, body, ok := strings.Cut(s[4:], "\n---\n")
	if !ok {
		return nil, fmt.Errorf("front matter not closed")
	}
	p := &infoPage{}
	for _, line := range strings.Split(fm, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("bad front matter line %q", line)
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
			v = v[1 : len(v)-1] // YAML-style quoting
		}
		switch strings.TrimSpace(k) {
		case "title":
			p.Title = v
		case "nav":
			p.Nav = v
		case "description":
			p.Description = v
		case "reviewed":
			p.Reviewed = v
		default:
			return nil, fmt.Errorf("unknown front matter key %q", k)
		}
	}
	if p.Title == "" {
		return nil, fmt.Errorf("no title")
	}
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(body), &buf); err != nil {
		return nil, err
	}
	p.Body = template.HTML(buf.String())
	return p, nil
}
