package site

import (
	"io"
	"log"
	"net/http"

	"github.com/labstack/echo/v4"
)

// StaffHandler is the staff interface: served only on the staff onion
// (client-authorized) and the loopback --staff-http address, never on the
// public onion.
func (s *Site) StaffHandler() http.Handler {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Logger.SetOutput(io.Discard)
	e.StdLogger = log.New(io.Discard, "", 0)
	e.HTTPErrorHandler = s.handleError
	e.Use(s.headers)
	s.registerStaff(e)
	return e
}

func (s *Site) registerStaff(e *echo.Echo) {
	e.GET("/", func(c echo.Context) error {
		return c.Redirect(http.StatusFound, "/"+Languages[0]+"/staff/")
	})
	for _, lang := range Languages {
		e.Match([]string{http.MethodGet, http.MethodHead}, "/"+lang+"/staff/", s.staffHome)
	}
}

type staffHomeData struct {
	layout
}

func (s *Site) staffHome(c echo.Context) error {
	lang := langOf(c.Request().URL.Path)
	d := staffHomeData{layout: s.boardFrame(lang, "/staff/", s.cat.T(lang, "staff.title"))}
	return s.renderForm(c, "staff_home", http.StatusOK, d)
}

func init() {
	kinds = append(kinds, "staff_home")
}
