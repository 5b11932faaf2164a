//go:build tropatest

package main

import (
	"os"

	"tropa/keys"
)

// Test builds only (go build -tags tropatest): with TROPA_TEST_PLAIN_STORE=1
// serve opens the store unencrypted (and so uncompressed), so the no-logs
// audit in e2e can search the files for request-derived text. Production
// builds do not contain this.
func init() {
	if os.Getenv("TROPA_TEST_PLAIN_STORE") == "1" {
		storeKeyFor = func(*keys.Ring) []byte { return nil }
	}
}
