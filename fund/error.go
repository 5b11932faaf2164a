package fund

import (
	"errors"
	"strings"
)

// Error codes. Codes are stable; the site turns them into a status.
const (
	EINVALID  = "invalid"   // the input is wrong; Field names the form field
	ENOTFOUND = "not_found" // no entry with that ID
	EINTERNAL = "internal"  // a failure that is not the caller's fault
)

// Message keys the site translates (site/i18n/*.json). A key never carries
// user data.
const (
	KeyRequired  = "fund.err.required"   // an empty required field
	KeyTooLong   = "fund.err.too_long"   // over the field's length limit
	KeyText      = "fund.err.text"       // invalid UTF-8 or control characters
	KeyTime      = "fund.err.time"       // not a time of day as HH:MM
	KeyTimeOrder = "fund.err.time_order" // the start is not before the end
	KeyDays      = "fund.err.days"       // no weekday chosen
	KeyServices  = "fund.err.services"   // an unknown service
	KeyKind      = "fund.err.kind"       // an unknown kind of contact
	KeyPhone     = "fund.err.phone"      // not a phone number
	KeyEmail     = "fund.err.email"      // not an e-mail address
	KeyTelegram  = "fund.err.telegram"   // not a Telegram @username
	KeyTooMany   = "fund.err.too_many"   // too many time windows
	KeyOrder     = "fund.err.order"      // position out of range
	KeyNotFound  = "fund.err.not_found"
	KeyInternal  = "fund.err.internal"
)

// MessageKeys lists every message key above (for the site's catalogue test).
func MessageKeys() []string {
	return []string{KeyRequired, KeyTooLong, KeyText, KeyTime, KeyTimeOrder, KeyDays, KeyServices,
		KeyKind, KeyPhone, KeyEmail, KeyTelegram, KeyTooMany, KeyOrder, KeyNotFound, KeyInternal}
}

// Error is the fund's error. Code, Field and Key are safe to show (Key
// through the site's translations); Field names the form field at fault,
// e.g. "name.ru", "from" or "hours.1.to". Err is the internal cause: never
// shown.
type Error struct {
	Code  string
	Field string
	Key   string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("fund: ")
	b.WriteString(e.Code)
	if e.Field != "" {
		b.WriteString(" ")
		b.WriteString(e.Field)
	}
	if e.Key != "" {
		b.WriteString(": ")
		b.WriteString(e.Key)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// NotFound is the error for an ID that does not exist; cause may be nil.
func NotFound(cause error) *Error { return &Error{Code: ENOTFOUND, Key: KeyNotFound, Err: cause} }

// Internal wraps a cause as an EINTERNAL error whose safe text is generic.
func Internal(cause error) *Error { return &Error{Code: EINTERNAL, Key: KeyInternal, Err: cause} }

// Errors is every field error of one entry, returned together so a form
// can show each next to its field. Its code is EINVALID.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// ErrorCode returns the code of err: "" for nil, EINTERNAL for an error that
// is not the fund's.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var es Errors
	if errors.As(err, &es) && len(es) > 0 {
		return es[0].Code
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// FieldErrors maps each field at fault in err to its first error.
func FieldErrors(err error) map[string]*Error {
	m := map[string]*Error{}
	var es Errors
	if errors.As(err, &es) {
		for _, e := range es {
			if _, ok := m[e.Field]; !ok && e.Field != "" {
				m[e.Field] = e
			}
		}
		return m
	}
	var e *Error
	if errors.As(err, &e) && e.Field != "" {
		m[e.Field] = e
	}
	return m
}
