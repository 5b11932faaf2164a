package forum

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// ReceiptDigits is the length of a receipt.
const ReceiptDigits = 16

// Receipt is an asker's secret: 16 random digits. It is never stored; the
// store keeps only its Argon2id hash. Its String method does not print it,
// so a stray log line or %v cannot leak it: use Format to show it.
type Receipt struct {
	d string // 16 ASCII digits, or "" for the zero receipt
}

// IsZero reports whether r is the zero Receipt (no receipt).
func (r Receipt) IsZero() bool { return r.d == "" }

// String hides the receipt.
func (r Receipt) String() string {
	if r.d == "" {
		return "receipt(none)"
	}
	return "receipt(hidden)"
}

// GoString hides the receipt from %#v too.
func (r Receipt) GoString() string { return r.String() }

// Format shows the receipt grouped 4-4-4-4, e.g. "1234 5678 9012 3456".
func (r Receipt) Format() string {
	if len(r.d) != ReceiptDigits {
		return ""
	}
	return r.d[0:4] + " " + r.d[4:8] + " " + r.d[8:12] + " " + r.d[12:16]
}

// FormatReceipt is Receipt.Format.
func FormatReceipt(r Receipt) string { return r.Format() }

// isReceiptSeparator reports the characters people put between groups of
// digits: spaces, dashes, dots.
func isReceiptSeparator(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '-', '.', '_', '\u00a0', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2212', '\u202f', '\u2007', '\u2009':
		return true
	}
	return false
}

// ParseReceipt reads a receipt typed in any grouping: digits with or
// without spaces or dashes. Anything else is EINVALID "err.receipt.invalid".
func ParseReceipt(s string) (Receipt, error) {
	var b [ReceiptDigits]byte
	n := 0
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			if n == ReceiptDigits {
				return Receipt{}, newErr(EINVALID, "receipt", KeyReceiptInvalid)
			}
			b[n] = byte(r)
			n++
		case isReceiptSeparator(r):
		default:
			return Receipt{}, newErr(EINVALID, "receipt", KeyReceiptInvalid)
		}
	}
	if n != ReceiptDigits {
		return Receipt{}, newErr(EINVALID, "receipt", KeyReceiptInvalid)
	}
	return Receipt{d: string(b[:])}, nil
}

var receiptSpace = new(big.Int).Exp(big.NewInt(10), big.NewInt(ReceiptDigits), nil)

// newReceipt draws 16 uniform digits from rnd (crypto/rand by default).
func newReceipt(rnd io.Reader) (Receipt, error) {
	n, err := rand.Int(rnd, receiptSpace)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{d: fmt.Sprintf("%016d", n)}, nil
}

// digitRuns returns the digits of every run of digits in s whose digits are
// joined only by separators ("1234 5678-9012" is one run "123456789012").
func digitRuns(s string) []string {
	var runs []string
	var cur []byte
	pendingSep := false
	flush := func() {
		if len(cur) > 0 {
			runs = append(runs, string(cur))
		}
		cur = cur[:0]
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			cur = append(cur, byte(r))
			pendingSep = false
		case isReceiptSeparator(r) && len(cur) > 0 && !pendingSep:
			pendingSep = true
		case isReceiptSeparator(r) && len(cur) > 0:
			// several separators in a row still join groups ("1234  5678")
		default:
			flush()
			pendingSep = false
		}
	}
	flush()
	return runs
}

// containsReceipt reports whether any text holds r in any grouping.
func containsReceipt(r Receipt, texts ...string) bool {
	if r.IsZero() {
		return false
	}
	for _, t := range texts {
		for _, run := range digitRuns(t) {
			if strings.Contains(run, r.d) {
				return true
			}
		}
	}
	return false
}

// receiptCandidates returns the distinct receipt-shaped numbers (exactly 16
// digits in one run) in texts, at most max of them.
func receiptCandidates(max int, texts ...string) []Receipt {
	var out []Receipt
	seen := map[string]bool{}
	for _, t := range texts {
		for _, run := range digitRuns(t) {
			if len(run) == ReceiptDigits && !seen[run] {
				seen[run] = true
				out = append(out, Receipt{d: run})
				if len(out) == max {
					return out
				}
			}
		}
	}
	return out
}

// KDFParams are the Argon2id parameters for receipt hashes.
type KDFParams struct {
	Time      uint32
	MemoryKiB uint32
	Threads   uint8
}

// DefaultKDF is ~50 ms per hash on the project's 2-core machine (AMD EPYC,
// Go 1.26): t=2 with 32 MiB measured 35 ms, t=3 with 32 MiB 50 ms, t=2 with
// 64 MiB 74 ms. Three passes over 32 MiB reach the target while two hashes
// in flight (the default concurrency) hold only 64 MiB. The receipt space
// (10^16) rather than the hash cost is what stops guessing; the hash makes a
// stolen store useless for finding receipts.
var DefaultKDF = KDFParams{Time: 3, MemoryKiB: 32 << 10, Threads: 1}

// kdf is one stored parameter set: parameters and this installation's salt.
type kdf struct {
	id   uint8
	p    KDFParams
	salt []byte
}

// String encodes the set like a PHC string without a hash:
// $argon2id$v=19$m=32768,t=3,p=1$<salt>.
func (k kdf) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s", argon2.Version, k.p.MemoryKiB, k.p.Time, k.p.Threads,
		base64.RawStdEncoding.EncodeToString(k.salt))
}

func parseKDF(id uint8, s string) (kdf, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return kdf{}, fmt.Errorf("forum: bad kdf record")
	}
	k := kdf{id: id}
	for _, kv := range strings.Split(parts[3], ",") {
		name, val, ok := strings.Cut(kv, "=")
		if !ok {
			return kdf{}, fmt.Errorf("forum: bad kdf record")
		}
		n, err := strconv.ParseUint(val, 10, 32)
		if err != nil {
			return kdf{}, fmt.Errorf("forum: bad kdf record")
		}
		switch name {
		case "m":
			k.p.MemoryKiB = uint32(n)
		case "t":
			k.p.Time = uint32(n)
		case "p":
			if n > 255 {
				return kdf{}, fmt.Errorf("forum: bad kdf record")
			}
			k.p.Threads = uint8(n)
		}
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 16 || k.p.Time == 0 || k.p.MemoryKiB == 0 || k.p.Threads == 0 {
		return kdf{}, fmt.Errorf("forum: bad kdf record")
	}
	k.salt = salt
	return k, nil
}

// encodeKDFs stores the sets one a line, oldest first: the line number is
// the set's id.
func encodeKDFs(ks []kdf) []byte {
	var b strings.Builder
	for _, k := range ks {
		b.WriteString(k.String())
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

func decodeKDFs(b []byte) ([]kdf, error) {
	var ks []kdf
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i > 255 {
			return nil, fmt.Errorf("forum: too many kdf records")
		}
		k, err := parseKDF(uint8(i), strings.TrimFunc(line, unicode.IsSpace))
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
	}
	return ks, nil
}

// hash computes a receipt's lookup hash under k, holding a slot of the
// semaphore so a flood of hashes cannot exhaust memory.
func (s *Service) hash(ctx context.Context, k kdf, r Receipt) ([]byte, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, &Error{Code: EUNAVAILABLE, Key: KeyBusy, Err: ctx.Err()}
	}
	defer func() { <-s.sem }()
	return argon2.IDKey([]byte(r.d), k.salt, k.p.Time, k.p.MemoryKiB, k.p.Threads, 32), nil
}
