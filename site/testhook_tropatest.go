//go:build tropatest

package site

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Test builds only (go build -tags tropatest): the end-to-end tests drive
// the real binary through a browser and cannot read the captcha image, so
// this route tells them the digits of a live challenge. Production builds
// do not contain it.
func init() {
	testHooks = append(testHooks, func(s *Site, e *echo.Echo) {
		e.GET("/__test/captcha/:id", func(c echo.Context) error {
			ans, ok := s.CaptchaAnswer(c.Param("id"))
			if !ok {
				return echo.ErrNotFound
			}
			return c.String(http.StatusOK, ans)
		})
	})
}
