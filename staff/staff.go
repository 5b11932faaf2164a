// Package staff owns the fund's outreach staff: their accounts and roles,
// password checks and login throttling, sessions, saved replies and the
// moderation history. It holds the rules; storage sits behind Repository,
// and pages, forms and cookies are the site's business.
//
// It must never import echo, bine or Badger, never keep a password or a
// session token in plaintext (only an Argon2id hash and a SHA-256 digest),
// never say whether an account exists to someone who is not logged in, and
// never record an exact time: it keeps hours, and a session's expiry.
package staff

import (
	"context"
	"time"
)

// Clock tells the time; tests inject their own.
type Clock func() time.Time

// Hour is a coarse time: Unix time divided by 3600, as in package forum.
type Hour int64

// HourOf truncates t to its hour.
func HourOf(t time.Time) Hour {
	s := t.Unix()
	if s < 0 {
		return Hour((s - 3599) / 3600)
	}
	return Hour(s / 3600)
}

// Time returns the start of the hour, in UTC.
func (h Hour) Time() time.Time { return time.Unix(int64(h)*3600, 0).UTC() }

// Role is what a staff member may do.
type Role string

const (
	// RoleOutreach is an outreach worker: answers questions and moderates.
	RoleOutreach Role = "outreach"
	// RoleAdmin also manages staff accounts and the portal's settings.
	RoleAdmin Role = "admin"
)

// Roles lists the roles in the order a form shows them.
var Roles = []Role{RoleOutreach, RoleAdmin}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleOutreach || r == RoleAdmin }

// Action is something a staff member may be allowed to do.
type Action uint8

const (
	ActionAnswer      Action = iota + 1 // answer questions, start staff threads, use saved replies
	ActionModerate                      // hide, delete, lock, pin, move; resolve reports
	ActionManageStaff                   // add, change and remove accounts; read the moderation history
	ActionSettings                      // the portal's settings and the services data
)

// Account is a staff member as the site sees it: never the password hash.
type Account struct {
	// Name is the login name, [a-z0-9._-]{2,32}. It is also the staff ID
	// posts carry internally (forum.Author.StaffID); visitors never see it.
	Name string `json:"name"`
	// DisplayName is what visitors see next to the staff badge.
	DisplayName string `json:"display_name"`
	Role        Role   `json:"role"`
	Created     Hour   `json:"created"`
}

// Can reports whether the account may do a. A nil account may do nothing.
func (a *Account) Can(x Action) bool {
	if a == nil {
		return false
	}
	switch x {
	case ActionAnswer, ActionModerate:
		return a.Role == RoleOutreach || a.Role == RoleAdmin
	case ActionManageStaff, ActionSettings:
		return a.Role == RoleAdmin
	}
	return false
}

// AccountRecord is an account as stored: the account, its password hash
// and its generation.
type AccountRecord struct {
	Account
	// Password is the Argon2id hash as a PHC string, with its parameters:
	// $argon2id$v=19$m=65536,t=3,p=2$<salt>$<hash>.
	Password string `json:"password"`
	// Gen changes whenever the password does; a session made under another
	// generation is void, even if it was written after the change.
	Gen uint64 `json:"gen"`
}

// SessionRecord is a session as stored, under the SHA-256 of its token.
type SessionRecord struct {
	Name string `json:"name"`
	Gen  uint64 `json:"gen"`
	// Expires is the Unix second the session ends unless used before.
	Expires int64 `json:"expires"`
}

// ReplyID identifies a saved reply.
type ReplyID uint64

// SavedReply is a canned answer staff insert into a reply and edit.
type SavedReply struct {
	ID    ReplyID `json:"id"`
	Title string  `json:"title"` // plain text, shown in the picker
	Body  string  `json:"body"`  // Markdown, as the forum takes it
	Lang  string  `json:"lang"`  // "ru" or "en"
	// Order is the position in the list, smallest first; ties go by ID.
	Order   int  `json:"order"`
	Updated Hour `json:"updated"`
}

// ModAction is one kind of moderation action.
type ModAction string

// Moderation actions. The site shows them translated under
// "staff.mod.<action>".
const (
	ModHide          ModAction = "hide"
	ModUnhide        ModAction = "unhide"
	ModDelete        ModAction = "delete"
	ModLock          ModAction = "lock"
	ModUnlock        ModAction = "unlock"
	ModPin           ModAction = "pin"
	ModUnpin         ModAction = "unpin"
	ModMove          ModAction = "move"
	ModMakePrivate   ModAction = "make-private"
	ModMakePublic    ModAction = "make-public"
	ModEdit          ModAction = "edit"
	ModResolveReport ModAction = "resolve-report"
)

// ModActions lists every moderation action.
var ModActions = []ModAction{ModHide, ModUnhide, ModDelete, ModLock, ModUnlock, ModPin, ModUnpin,
	ModMove, ModMakePrivate, ModMakePublic, ModEdit, ModResolveReport}

// ModEntry is one line of a target's moderation history.
type ModEntry struct {
	// Target names what was acted on: "thread:12", "post:12:3",
	// "report:5", "section:hiv".
	Target string    `json:"target"`
	Staff  string    `json:"staff"` // the account name at the time
	Action ModAction `json:"action"`
	// Detail is a short plain note, e.g. "to section hiv".
	Detail string `json:"detail,omitempty"`
	Hour   Hour   `json:"hour"`
}

// Repository is the storage staff need. Write methods are atomic and
// durable before they return. Not-found conditions are *Error values with
// code ENOTFOUND, never nil results.
type Repository interface {
	// Account returns one account (ENOTFOUND "staff.err.account.not_found").
	Account(ctx context.Context, name string) (*AccountRecord, error)
	// Accounts lists every account in name order.
	Accounts(ctx context.Context) ([]AccountRecord, error)
	// CreateAccount stores a new account (ECONFLICT "staff.err.name.taken"
	// if the name exists).
	CreateAccount(ctx context.Context, a AccountRecord) error
	// UpdateAccount changes an account with fn, which may refuse with an
	// error. When fn changes Gen, the account's sessions are deleted in the
	// same transaction.
	UpdateAccount(ctx context.Context, name string, fn func(a *AccountRecord) error) (*AccountRecord, error)
	// DeleteAccount removes an account and its sessions.
	DeleteAccount(ctx context.Context, name string) error

	// CreateSession stores a session under hash for ttl, only if its
	// account exists with generation s.Gen (else ENOTFOUND).
	CreateSession(ctx context.Context, hash []byte, s SessionRecord, ttl time.Duration) error
	// Session returns the session stored under hash (ENOTFOUND
	// "staff.err.session.ended").
	Session(ctx context.Context, hash []byte) (*SessionRecord, error)
	// TouchSession moves a session's expiry to s.Expires and its storage
	// TTL to ttl, if the session still exists (a session deleted meanwhile
	// stays deleted).
	TouchSession(ctx context.Context, hash []byte, s SessionRecord, ttl time.Duration) error
	// DeleteSession removes a session; a missing one is not an error.
	DeleteSession(ctx context.Context, hash []byte) error

	// Replies lists every saved reply, by Order then ID.
	Replies(ctx context.Context) ([]SavedReply, error)
	// Reply returns one saved reply (ENOTFOUND "staff.err.reply.not_found").
	Reply(ctx context.Context, id ReplyID) (*SavedReply, error)
	// SaveReply stores r: a new one (ID 0) gets the next ID, set in r; an
	// existing one is replaced (ENOTFOUND if it does not exist).
	SaveReply(ctx context.Context, r *SavedReply) error
	// DeleteReply removes a saved reply (ENOTFOUND if it does not exist).
	DeleteReply(ctx context.Context, id ReplyID) error
	// SeedReplies stores rs once in the life of the store and reports
	// whether it did; later calls write nothing, even after staff deleted
	// every saved reply.
	SeedReplies(ctx context.Context, rs []SavedReply) (bool, error)

	// AddModEntry appends to e.Target's moderation history.
	AddModEntry(ctx context.Context, e ModEntry) error
	// ModHistory lists up to limit entries of target's history, newest
	// first.
	ModHistory(ctx context.Context, target string, limit int) ([]ModEntry, error)
}
