package forum_test

import (
	"html/template"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"tropa/forum"
)

var nasty = []string{
	"<script>alert(1)</script>",
	"<SCRIPT SRC=//x.onion/x.js></SCRIPT>",
	"<img src=x onerror=alert(1)>",
	"![a](javascript:alert(1))",
	"![a](http://tracker.onion/pixel.gif)",
	"[a](javascript:alert(1))",
	"[a](JaVaScRiPt:alert(1))",
	"[a](java\tscript:alert(1))",
	"[a](&#106;avascript:alert(1))",
	"[a](<javascript:alert(1)>)",
	"[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
	"[a](vbscript:msgbox(1))",
	"[a](//evil.onion/x)",
	"[a](http://x.onion/\" onmouseover=\"alert(1))",
	"[a](http://x.onion/ \"title\" onclick=alert(1))",
	"<a href=\"javascript:alert(1)\">x</a>",
	"<iframe src=http://x.onion></iframe>",
	"<div style=\"background:url(http://x.onion)\">x</div>",
	"<svg onload=alert(1)>",
	"<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>",
	"<!-- <script>alert(1)</script> -->",
	"<style>@import 'http://x.onion/a.css';</style>",
	"<<script>script>alert(1)<</script>/script>",
	"`<script>alert(1)</script>`",
	"```html\n<script>alert(1)</script>\n```",
	"    <script>alert(1)</script>",
	"<http://x.onion/a?b=<script>>",
	"<javascript:alert(1)>",
	"www.example.com/\"onmouseover=\"alert(1)",
	"http://x.onion/?a=\"><script>alert(1)</script>",
	"[x]: javascript:alert(1)\n\n[x]",
	"[x]: http://a.onion \"t\"\n\n![x]",
	"> <img src=x>\n> [a](javascript:x)",
	"- <b onclick=x>a</b>\n- *<i style=x>*",
	"1. [a](http://ok.onion)\n2. ![b](/local.png)",
	"&lt;script&gt;alert(1)&lt;/script&gt;",
	"&#x3C;script&#x3E;",
	"<object data=x.swf></object><embed src=x>",
	"<form action=http://x.onion><input name=receipt></form>",
	"<base href=http://evil.onion/>",
	"<meta http-equiv=refresh content=0;url=http://evil.onion>",
	"<link rel=stylesheet href=http://x.onion/a.css>",
	"[" + strings.Repeat("[", 1000) + "a" + strings.Repeat("]", 1000) + "](x)",
	strings.Repeat("> ", 500) + "deep",
	strings.Repeat("*", 3000),
	strings.Repeat("- ", 1000) + "x",
	"\u202ehttp://evil.onion",
	"[](http://empty.onion)",
	"[a](/ru/hiv) [b](/../../etc)",
	"**bold** *em* ~~del~~\nnext line\n\npara",
}

// forbidden tags must never appear in rendered posts.
var allowedTags = map[string]bool{
	"p": true, "br": true, "em": true, "strong": true, "del": true,
	"ul": true, "ol": true, "li": true, "blockquote": true, "a": true,
}

func checkRendered(t *testing.T, in string, out template.HTML) {
	t.Helper()
	s := string(out)
	if !utf8.ValidString(s) && utf8.ValidString(in) {
		t.Fatalf("invalid UTF-8 out of valid input %q", in)
	}
	low := strings.ToLower(s)
	for _, bad := range []string{"<script", "<img", "<iframe", "<style", "<svg", "<object", "<embed", "<form", "<input", "<base", "<meta", "<link", "<math"} {
		if strings.Contains(low, bad) {
			t.Fatalf("%q rendered %q: contains %s", in, s, bad)
		}
	}
	z := html.NewTokenizer(strings.NewReader(s))
	depth := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("tokenizer: %v", z.Err())
			}
			return
		}
		if tt == html.CommentToken || tt == html.DoctypeToken {
			t.Fatalf("%q rendered %q: comment or doctype", in, s)
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken && tt != html.EndTagToken {
			continue
		}
		tok := z.Token()
		if !allowedTags[tok.Data] {
			t.Fatalf("%q rendered %q: tag <%s>", in, s, tok.Data)
		}
		if tok.Data == "blockquote" || tok.Data == "ul" || tok.Data == "ol" {
			if tt == html.StartTagToken {
				depth++
			} else if tt == html.EndTagToken {
				depth--
			}
			if depth > forum.MaxNesting {
				t.Fatalf("%q rendered %q: nested %d deep", in, s, depth)
			}
		}
		for _, a := range tok.Attr {
			name := strings.ToLower(a.Key)
			switch {
			case strings.HasPrefix(name, "on"), name == "style", name == "src", name == "srcset":
				t.Fatalf("%q rendered %q: attribute %s", in, s, name)
			case tok.Data == "a" && name == "href":
				v := strings.ToLower(strings.Map(func(r rune) rune {
					if r <= ' ' || r == 0x7f {
						return -1
					}
					return r
				}, a.Val))
				ok := strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") ||
					(strings.HasPrefix(v, "/") && !strings.HasPrefix(v, "//"))
				if !ok {
					t.Fatalf("%q rendered %q: href %q", in, s, a.Val)
				}
			case tok.Data == "a" && name == "rel":
			case tok.Data == "ol" && name == "start":
			default:
				t.Fatalf("%q rendered %q: attribute %s on %s", in, s, name, tok.Data)
			}
		}
	}
}

func TestRenderNasty(t *testing.T) {
	for _, in := range nasty {
		checkRendered(t, in, forum.Render(in))
	}
	// Links show their address, and only the address is a link.
	got := forum.Render("[помощь](http://help.onion/a)")
	want := `<p>помощь (<a href="http://help.onion/a" rel="nofollow noreferrer">http://help.onion/a</a>)</p>`
	if string(got) != want {
		t.Fatalf("link = %s", got)
	}
	if got := forum.Render("![фото](http://x.onion/p.jpg)"); strings.Contains(string(got), "<img") || !strings.Contains(string(got), "фото (") {
		t.Fatalf("image = %s", got)
	}
	if got := forum.Render("# заголовок\n\n    отступ\n\n<b>жирный</b>"); got != "<p># заголовок</p>\n<p>отступ</p>\n<p>&lt;b&gt;жирный&lt;/b&gt;</p>" {
		t.Fatalf("subset = %q", got)
	}
}

func FuzzRender(f *testing.F) {
	for _, s := range nasty {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 40000 {
			return
		}
		checkRendered(t, in, forum.Render(in))
		// What the service would store goes through the same pipeline.
		if body, err := forum.CleanBody(in); err == nil {
			checkRendered(t, body, forum.Render(body))
		}
	})
}
