package site

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// The board's page cache stays within its byte budget, and its count of
// bytes matches what it holds, whatever is replaced or evicted.
func TestBoardCacheByteBudget(t *testing.T) {
	s := &Site{opts: Options{Now: time.Now}, board: newBoardCache()}
	page := compress(http.StatusOK, make([]byte, 300<<10)) // ~300 KB, gzip'd to a few hundred bytes
	for i := 0; i < 200; i++ {
		key := fmt.Sprintf("ru/t/%d?1", i%150) // some keys twice
		if i%7 == 0 {
			s.board.changed(0) // a new version: the same key cached again
		}
		if _, err := s.cachedPage(key, 0, func() (*cached, error) { return page, nil }); err != nil {
			t.Fatal(err)
		}
		b := s.board
		b.mu.Lock()
		sum := 0
		for _, e := range b.pages {
			sum += e.size
		}
		if sum != b.bytes || b.bytes > maxBoardCacheBytes {
			b.mu.Unlock()
			t.Fatalf("after %d pages: %d cached bytes counted as %d (budget %d)", i+1, sum, b.bytes, maxBoardCacheBytes)
		}
		b.mu.Unlock()
	}
	if n := len(s.board.pages); n == 0 || n > maxBoardCacheBytes/(300<<10) {
		t.Fatalf("%d pages cached", n)
	}
}

// writeCached sends shared header values; what one response does to its
// headers must never reach another's.
func TestWriteCachedSharedHeaders(t *testing.T) {
	p := compress(http.StatusOK, []byte("<!doctype html><p>hello</p>"))
	e := echo.New()
	for _, ae := range []string{"", "gzip", "br;q=1, gzip;q=0.5", "gzip;q=0", "identity"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		rec := httptest.NewRecorder()
		if err := writeCached(e.NewContext(req, rec), p); err != nil {
			t.Fatal(err)
		}
		rec.Header().Add("Vary", "Cookie")
		rec.Header().Set("Content-Type", "text/plain")
		wantGzip := ae == "gzip" || ae == "br;q=1, gzip;q=0.5"
		want := len(p.raw)
		if wantGzip {
			want = len(p.gz)
		}
		if got := rec.Header().Get("Content-Length"); got != fmt.Sprint(want) || rec.Body.Len() != want {
			t.Errorf("Accept-Encoding %q: Content-Length %s, body %d bytes, want %d", ae, got, rec.Body.Len(), want)
		}
		if (rec.Header().Get("Content-Encoding") == "gzip") != wantGzip {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", ae, rec.Header().Get("Content-Encoding"))
		}
	}
	if varyEncoding.val[0] != "Accept-Encoding" || len(varyEncoding.val) != 1 || htmlType.val[0] != "text/html; charset=utf-8" {
		t.Fatalf("a response changed the shared header values: %q %q", varyEncoding.val, htmlType.val)
	}
}
