package site

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Languages the portal speaks, default first. The language of a page comes
// from its URL (/ru/…, /en/…), never from Accept-Language: Tor Browser sends
// English whatever its reader reads.
var Languages = []string{"ru", "en"}

//go:embed i18n/*.json
var catalogueFS embed.FS

// catalogue holds the interface strings of every language.
type catalogue struct {
	loc map[string]*i18n.Localizer
}

func loadCatalogue() (*catalogue, error) {
	b := i18n.NewBundle(language.Russian)
	b.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &catalogue{loc: map[string]*i18n.Localizer{}}
	for _, lang := range Languages {
		if _, err := b.LoadMessageFileFS(catalogueFS, "i18n/"+lang+".json"); err != nil {
			return nil, fmt.Errorf("site: i18n %s: %w", lang, err)
		}
		c.loc[lang] = i18n.NewLocalizer(b, lang)
	}
	return c, nil
}

// T returns the string key in lang. A missing key is a programming error
// caught by the catalogue test; at run time it shows the key itself.
func (c *catalogue) T(lang, key string, data ...any) string {
	l := c.loc[lang]
	if l == nil {
		l = c.loc[Languages[0]]
	}
	cfg := &i18n.LocalizeConfig{MessageID: key}
	if len(data) == 1 {
		cfg.TemplateData = data[0]
	}
	s, err := l.Localize(cfg)
	if err != nil {
		return key
	}
	return s
}

// N returns the plural form of key for count n (CLDR rules: Russian has
// one/few/many). The message may use {{.Count}}.
func (c *catalogue) N(lang, key string, n int) string {
	l := c.loc[lang]
	if l == nil {
		l = c.loc[Languages[0]]
	}
	s, err := l.Localize(&i18n.LocalizeConfig{MessageID: key, PluralCount: n, TemplateData: map[string]any{"Count": n}})
	if err != nil {
		return key
	}
	return s
}

// CatalogueKeys lists the message IDs of each language's file (for the test
// that both languages have every key).
func CatalogueKeys() (map[string][]string, error) {
	out := map[string][]string{}
	for _, lang := range Languages {
		raw, err := catalogueFS.ReadFile("i18n/" + lang + ".json")
		if err != nil {
			return nil, err
		}
		m := map[string]json.RawMessage{}
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%s: %w", lang, err)
		}
		for k := range m {
			out[lang] = append(out[lang], k)
		}
		sort.Strings(out[lang])
	}
	return out, nil
}
