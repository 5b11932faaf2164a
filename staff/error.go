package staff

import (
	"errors"
	"strings"
	"time"
)

// Error codes. A code says what kind of failure it is; the site turns it into
// an HTTP status and a localised page. Codes are stable.
const (
	ECONFLICT     = "conflict"     // the action clashes with the current state
	EINTERNAL     = "internal"     // a failure that is not the caller's fault
	EINVALID      = "invalid"      // the input is wrong; Field names the form field
	ENOTFOUND     = "not_found"    // the thing does not exist
	EUNAUTHORIZED = "unauthorized" // wrong name or password, or no live session
	EUNAVAILABLE  = "unavailable"  // too busy, or too many failed logins: try again later
)

// Message keys the site translates. They are stable: the site's catalogues
// are keyed by them. A key never carries user data.
const (
	KeyInternal = "staff.err.internal"
	KeyBusy     = "staff.err.busy"

	KeyNameInvalid        = "staff.err.name.invalid"
	KeyNameTaken          = "staff.err.name.taken"
	KeyAccountNotFound    = "staff.err.account.not_found"
	KeyDisplayNameEmpty   = "staff.err.display_name.empty"
	KeyDisplayNameTooLong = "staff.err.display_name.too_long"
	KeyRoleInvalid        = "staff.err.role.invalid"
	KeyLastAdmin          = "staff.err.last_admin"
	KeyPasswordTooShort   = "staff.err.password.too_short"
	KeyPasswordTooLong    = "staff.err.password.too_long"
	KeyPasswordInvalid    = "staff.err.password.invalid" // not UTF-8, or holds NUL
	KeyLoginFailed        = "staff.err.login.failed"
	KeyLoginThrottled     = "staff.err.login.throttled"
	KeySessionEnded       = "staff.err.session.ended"
	KeyText               = "staff.err.text" // invalid UTF-8 or control characters; Field says where
	KeyReplyTitleEmpty    = "staff.err.reply.title.empty"
	KeyReplyTitleTooLong  = "staff.err.reply.title.too_long"
	KeyReplyBodyEmpty     = "staff.err.reply.body.empty"
	KeyReplyBodyTooLong   = "staff.err.reply.body.too_long"
	KeyReplyLang          = "staff.err.reply.lang"
	KeyReplyOrder         = "staff.err.reply.order"
	KeyReplyNotFound      = "staff.err.reply.not_found"
	KeyModTarget          = "staff.err.mod.target"
	KeyModAction          = "staff.err.mod.action"
	KeyModDetailTooLong   = "staff.err.mod.detail.too_long"
)

// MessageKeys lists every message key above (for the site's catalogue test).
func MessageKeys() []string {
	return []string{KeyInternal, KeyBusy, KeyNameInvalid, KeyNameTaken, KeyAccountNotFound,
		KeyDisplayNameEmpty, KeyDisplayNameTooLong, KeyRoleInvalid, KeyLastAdmin,
		KeyPasswordTooShort, KeyPasswordTooLong, KeyPasswordInvalid, KeyLoginFailed,
		KeyLoginThrottled, KeySessionEnded, KeyText, KeyReplyTitleEmpty, KeyReplyTitleTooLong,
		KeyReplyBodyEmpty, KeyReplyBodyTooLong, KeyReplyLang, KeyReplyOrder, KeyReplyNotFound,
		KeyModTarget, KeyModAction, KeyModDetailTooLong}
}

// Error is the staff package's error. Code, Field, Key and RetryAfter are
// safe to show (Key through the site's translations); Field names the form
// field at fault, if any. Err is the internal cause: never shown.
type Error struct {
	Code  string
	Field string
	Key   string
	// RetryAfter is, for a throttled login, how long until the next try is
	// taken (the site may show it, rounded up to seconds).
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("staff: ")
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

func newErr(code, field, key string) *Error { return &Error{Code: code, Field: field, Key: key} }

// NotFound is the ENOTFOUND error with key; for storage implementations.
func NotFound(key string) *Error { return &Error{Code: ENOTFOUND, Key: key} }

// Conflict is the ECONFLICT error with key; for storage implementations.
func Conflict(key string) *Error { return &Error{Code: ECONFLICT, Key: key} }

// Internal wraps a cause as an EINTERNAL error whose safe text is generic.
func Internal(err error) *Error { return &Error{Code: EINTERNAL, Key: KeyInternal, Err: err} }

// Busy wraps a cause (an ended context, a closed store) as EUNAVAILABLE.
func Busy(err error) *Error { return &Error{Code: EUNAVAILABLE, Key: KeyBusy, Err: err} }

// Errors is a list of field errors returned together, so a form can show
// every problem next to its field at once. Its code is EINVALID.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// ErrorCode returns the code of err: "" for nil, EINTERNAL for errors that
// are not staff errors.
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

// ErrorKey returns the message key of err (KeyInternal for errors that are
// not staff errors).
func ErrorKey(err error) string {
	if err == nil {
		return ""
	}
	var es Errors
	if errors.As(err, &es) && len(es) > 0 {
		return es[0].Key
	}
	var e *Error
	if errors.As(err, &e) && e.Key != "" {
		return e.Key
	}
	return KeyInternal
}

// FieldErrors lists the field errors in err (one or many), for a form to
// show next to its fields. Errors without a field are not included.
func FieldErrors(err error) map[string]*Error {
	m := map[string]*Error{}
	var es Errors
	if errors.As(err, &es) {
		for _, e := range es {
			if e.Field != "" {
				if _, ok := m[e.Field]; !ok {
					m[e.Field] = e
				}
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
