package site

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
)

type diskFullErr struct{}

func (diskFullErr) Error() string  { return "store: write refused: disk full" }
func (diskFullErr) DiskFull() bool { return true }

// A write the store refused for lack of disk space is the 503 "cannot save
// now" page however it is wrapped; any other 503 stays a 500.
func TestDiskFullPage(t *testing.T) {
	s := &Site{errors: map[string]*cached{}}
	for _, st := range []int{500, 503} {
		for _, lang := range Languages {
			s.errors[fmt.Sprintf("%s/%d", lang, st)] = compress(st, []byte(fmt.Sprintf("page %s %d", lang, st)))
		}
	}
	e := echo.New()
	for _, c := range []struct {
		err  error
		want int
	}{
		{echo.NewHTTPError(http.StatusInternalServerError).SetInternal(fmt.Errorf("forum: internal: %w", diskFullErr{})), 503},
		{fmt.Errorf("wrapped: %w", diskFullErr{}), 503},
		{echo.NewHTTPError(http.StatusServiceUnavailable), 500},
		{errors.New("other"), 500},
	} {
		req := httptest.NewRequest(http.MethodPost, "/en/t/1/reply", nil)
		rec := httptest.NewRecorder()
		s.handleError(c.err, e.NewContext(req, rec))
		if rec.Code != c.want || rec.Body.String() != fmt.Sprintf("page en %d", c.want) {
			t.Errorf("%v: %d %q, want the en %d page", c.err, rec.Code, rec.Body.String(), c.want)
		}
	}
}
