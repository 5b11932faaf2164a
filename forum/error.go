package forum

import (
	"errors"
	"strings"
)

// Error codes. A code says what kind of failure it is; the site turns it into
// an HTTP status and a localised page. Codes are stable.
const (
	ECONFLICT    = "conflict"    // the action clashes with the current state
	EFORBIDDEN   = "forbidden"   // the action is not allowed (e.g. a locked thread)
	EINTERNAL    = "internal"    // a failure that is not the caller's fault
	EINVALID     = "invalid"     // the input is wrong; Field names the form field
	ENOTFOUND    = "not_found"   // the thing does not exist or is not visible to the caller
	EUNAVAILABLE = "unavailable" // too busy right now; try again
)

// Message keys the site translates. They are stable: the site's catalogues
// are keyed by them. A key never carries user data.
const (
	KeyInternal = "err.internal"
	KeyBusy     = "err.busy"

	KeyTitleTooShort    = "err.title.too_short"
	KeyTitleTooLong     = "err.title.too_long"
	KeyBodyEmpty        = "err.body.empty"
	KeyBodyTooLong      = "err.body.too_long"
	KeyNoteTooLong      = "err.note.too_long"
	KeyNameEmpty        = "err.name.empty"
	KeyNameTooLong      = "err.name.too_long"
	keyInvalidUTF8      = ".invalid_utf8" // appended to "err.<field>"
	keyNUL              = ".nul"
	keyControlChar      = ".control_char"
	KeyContainsReceipt  = "err.text.contains_receipt"
	KeyReceiptInvalid   = "err.receipt.invalid"
	KeyReceiptUnknown   = "err.receipt.unknown"
	KeySectionNotFound  = "err.section.not_found"
	KeySectionExists    = "err.section.exists"
	KeyThreadNotFound   = "err.thread.not_found"
	KeyThreadLocked     = "err.thread.locked"
	KeyPostNotFound     = "err.post.not_found"
	KeyPostIsQuestion   = "err.post.is_question"
	KeyPageNotFound     = "err.page.not_found"
	KeyReportReason     = "err.report.reason"
	KeyReportNotFound   = "err.report.not_found"
	KeyReceiptCollision = "err.receipt.collision"
)

// Error is the forum's error. Code and Key are safe to show (through the
// site's translations); Field names the form field at fault, if any. Err is
// the internal cause: never shown, never logged with user data.
type Error struct {
	Code  string
	Field string
	Key   string
	Err   error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("forum: ")
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

// Errorf-style constructors kept short on purpose.
func newErr(code, field, key string) *Error { return &Error{Code: code, Field: field, Key: key} }

// Internal wraps a cause as an EINTERNAL error whose safe text is generic.
func Internal(err error) *Error { return &Error{Code: EINTERNAL, Key: KeyInternal, Err: err} }

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
// are not forum errors.
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

// ErrorKey returns the message key of err ("err.internal" for errors that
// are not forum errors).
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
