//go:build !linux

package store

// startTrim pages out table mappings on Linux only (rss_linux.go).
func startTrim(dir string) (stop func()) { return func() {} }
