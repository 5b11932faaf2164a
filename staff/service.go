package staff

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"sync"
	"time"
)

// Options tune a Service. The zero value is the production setting.
type Options struct {
	// Params are the Argon2id parameters for new password hashes (zero:
	// DefaultParams). Raising them later keeps old passwords working; each
	// is rehashed at its next successful login.
	Params Params
	// HashConcurrency bounds the password hashes computed at once (zero: 2),
	// so a flood of logins cannot exhaust memory.
	HashConcurrency int
	// SessionTTL is how long a session lives unused (zero: 2 hours).
	SessionTTL time.Duration
	// SessionRefresh is how often, at most, using a session moves its
	// expiry (zero: 1 minute): not a write per request.
	SessionRefresh time.Duration
	// Throttle slows down repeated failed logins.
	Throttle ThrottleOptions
	// Rand is the source of salts and session tokens (nil: crypto/rand).
	Rand io.Reader
}

// Service holds the staff rules. It is safe for concurrent use. Make one
// per store: the login throttle lives in it.
type Service struct {
	repo     Repository
	now      Clock
	opts     Options
	sem      chan struct{}
	throttle *throttle
	// dummy is a hash with the current parameters that no password
	// matches: an unknown name is checked against it, so it costs what a
	// known one costs.
	dummy string

	// acctMu serialises the account changes that look at other accounts
	// (the last admin must stay). The store is one process's alone, so an
	// in-process lock is enough.
	acctMu sync.Mutex
}

// NewService returns the staff service over repo. A nil clock is time.Now.
func NewService(repo Repository, clock Clock, opts Options) *Service {
	if clock == nil {
		clock = time.Now
	}
	if opts.Params == (Params{}) {
		opts.Params = DefaultParams
	}
	if opts.HashConcurrency <= 0 {
		opts.HashConcurrency = 2
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 2 * time.Hour
	}
	if opts.SessionRefresh <= 0 {
		opts.SessionRefresh = time.Minute
	}
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	s := &Service{
		repo:     repo,
		now:      clock,
		opts:     opts,
		sem:      make(chan struct{}, opts.HashConcurrency),
		throttle: newThrottle(opts.Throttle, clock),
	}
	d := phc{p: opts.Params, salt: make([]byte, saltLen), hash: make([]byte, hashLen)}
	_, _ = io.ReadFull(opts.Rand, d.salt)
	_, _ = io.ReadFull(opts.Rand, d.hash)
	s.dummy = d.String()
	return s
}

func (s *Service) hour() Hour { return HourOf(s.now()) }

// ---- accounts -------------------------------------------------------------

// NewAccount is what AddAccount takes.
type NewAccount struct {
	Name        string
	DisplayName string
	Role        Role
	Password    string
}

// AddAccount creates an account. Errors: Errors (EINVALID) on "name",
// "display_name", "role", "password"; ECONFLICT "staff.err.name.taken";
// EUNAVAILABLE "staff.err.busy" when ctx ends while waiting to hash.
func (s *Service) AddAccount(ctx context.Context, in NewAccount) (*Account, error) {
	var errs Errors
	name, e := cleanName("name", in.Name)
	if e != nil {
		errs = append(errs, e)
	}
	display, err := CleanDisplayName(in.DisplayName)
	if err != nil {
		errs = append(errs, err.(*Error))
	}
	if !in.Role.Valid() {
		errs = append(errs, newErr(EINVALID, "role", KeyRoleInvalid))
	}
	pw, err := checkPassword(in.Password)
	if err != nil {
		errs = append(errs, err.(*Error))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	h, err := s.newHash(ctx, pw)
	if err != nil {
		return nil, err
	}
	rec := AccountRecord{
		Account:  Account{Name: name, DisplayName: display, Role: in.Role, Created: s.hour()},
		Password: h,
		Gen:      1,
	}
	if err := s.repo.CreateAccount(ctx, rec); err != nil {
		return nil, err
	}
	return &rec.Account, nil
}

// Account returns one account. Errors: ENOTFOUND
// "staff.err.account.not_found".
func (s *Service) Account(ctx context.Context, name string) (*Account, error) {
	n, e := cleanName("name", name)
	if e != nil {
		return nil, NotFound(KeyAccountNotFound)
	}
	rec, err := s.repo.Account(ctx, n)
	if err != nil {
		return nil, err
	}
	return &rec.Account, nil
}

// Accounts lists every account in name order.
func (s *Service) Accounts(ctx context.Context) ([]Account, error) {
	recs, err := s.repo.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Account, len(recs))
	for i, r := range recs {
		out[i] = r.Account
	}
	return out, nil
}

// SetPassword replaces an account's password and ends all its sessions.
// Errors: EINVALID on "password"; ENOTFOUND; EUNAVAILABLE.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	n, e := cleanName("name", name)
	if e != nil {
		return NotFound(KeyAccountNotFound)
	}
	pw, err := checkPassword(password)
	if err != nil {
		return err
	}
	h, err := s.newHash(ctx, pw)
	if err != nil {
		return err
	}
	_, err = s.repo.UpdateAccount(ctx, n, func(a *AccountRecord) error {
		a.Password = h
		a.Gen++
		return nil
	})
	return err
}

// EndSessions logs an account out everywhere. Errors: ENOTFOUND.
func (s *Service) EndSessions(ctx context.Context, name string) error {
	n, e := cleanName("name", name)
	if e != nil {
		return NotFound(KeyAccountNotFound)
	}
	_, err := s.repo.UpdateAccount(ctx, n, func(a *AccountRecord) error {
		a.Gen++
		return nil
	})
	return err
}

// SetDisplayName changes the name shown on an account's posts from now on
// (posts already written keep theirs). Errors: EINVALID on
// "display_name"; ENOTFOUND.
func (s *Service) SetDisplayName(ctx context.Context, name, display string) (*Account, error) {
	n, e := cleanName("name", name)
	if e != nil {
		return nil, NotFound(KeyAccountNotFound)
	}
	d, err := CleanDisplayName(display)
	if err != nil {
		return nil, err
	}
	rec, err := s.repo.UpdateAccount(ctx, n, func(a *AccountRecord) error {
		a.DisplayName = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rec.Account, nil
}

// SetRole changes an account's role; it takes effect at the account's next
// request. Errors: EINVALID on "role"; ENOTFOUND; ECONFLICT
// "staff.err.last_admin" for the only admin.
func (s *Service) SetRole(ctx context.Context, name string, role Role) (*Account, error) {
	n, e := cleanName("name", name)
	if e != nil {
		return nil, NotFound(KeyAccountNotFound)
	}
	if !role.Valid() {
		return nil, newErr(EINVALID, "role", KeyRoleInvalid)
	}
	s.acctMu.Lock()
	defer s.acctMu.Unlock()
	if role != RoleAdmin {
		if err := s.keepAnAdmin(ctx, n); err != nil {
			return nil, err
		}
	}
	rec, err := s.repo.UpdateAccount(ctx, n, func(a *AccountRecord) error {
		a.Role = role
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &rec.Account, nil
}

// RemoveAccount deletes an account and ends its sessions. Its posts and
// moderation history keep its name. Errors: ENOTFOUND; ECONFLICT
// "staff.err.last_admin" for the only admin (add another admin first).
func (s *Service) RemoveAccount(ctx context.Context, name string) error {
	n, e := cleanName("name", name)
	if e != nil {
		return NotFound(KeyAccountNotFound)
	}
	s.acctMu.Lock()
	defer s.acctMu.Unlock()
	if err := s.keepAnAdmin(ctx, n); err != nil {
		return err
	}
	return s.repo.DeleteAccount(ctx, n)
}

// keepAnAdmin refuses to take away name's admin role when it is the only
// admin: nobody could then manage staff from the staff pages.
func (s *Service) keepAnAdmin(ctx context.Context, name string) error {
	recs, err := s.repo.Accounts(ctx)
	if err != nil {
		return err
	}
	admins, isAdmin := 0, false
	for _, r := range recs {
		if r.Role == RoleAdmin {
			admins++
			isAdmin = isAdmin || r.Name == name
		}
	}
	if isAdmin && admins == 1 {
		return Conflict(KeyLastAdmin)
	}
	return nil
}

// ---- login and sessions ---------------------------------------------------

const tokenLen = 32

var tokenEncoding = base64.RawURLEncoding

func loginFailed() *Error { return newErr(EUNAUTHORIZED, "", KeyLoginFailed) }

func sessionEnded() *Error { return newErr(EUNAUTHORIZED, "", KeySessionEnded) }

// Login checks a name and password and starts a new session: a fresh token
// every time, so a token planted before login is worth nothing after it.
// The token is for the site's cookie; only its SHA-256 is stored.
//
// A wrong name and a wrong password fail alike, at the same cost (an
// unknown name is checked against a dummy hash). After ThrottleOptions.Free
// failures for a name, the next try is taken only after a growing wait;
// earlier tries are refused unchecked.
//
// Errors: EUNAUTHORIZED "staff.err.login.failed"; EUNAVAILABLE
// "staff.err.login.throttled" (with RetryAfter) or "staff.err.busy".
func (s *Service) Login(ctx context.Context, name, password string) (string, *Account, error) {
	n := NormalizeName(name)
	valid := ValidName(n)
	if valid {
		if wait := s.throttle.begin(n); wait > 0 {
			return "", nil, &Error{Code: EUNAVAILABLE, Key: KeyLoginThrottled, RetryAfter: wait}
		}
	}
	token, acct, ok, err := s.login(ctx, n, valid, password)
	if valid {
		switch {
		case err != nil:
			s.throttle.abort(n)
		default:
			s.throttle.end(n, ok)
		}
	}
	if err != nil {
		return "", nil, err
	}
	if !ok {
		return "", nil, loginFailed()
	}
	return token, acct, nil
}

// login does Login's work between the throttle's begin and end. ok false
// with a nil error is a failed login.
func (s *Service) login(ctx context.Context, n string, valid bool, password string) (string, *Account, bool, error) {
	var rec *AccountRecord
	if valid {
		var err error
		rec, err = s.repo.Account(ctx, n)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return "", nil, false, err
		}
	}
	stored := s.dummy
	if rec != nil {
		stored = rec.Password
	}
	// A password no account can have still costs one hash, of bounded
	// input.
	long := len(password) > 4*PasswordMax
	if long {
		password = password[:4*PasswordMax]
	}
	ok, err := s.verify(ctx, stored, password)
	if err != nil {
		return "", nil, false, err
	}
	if rec == nil || !ok || long {
		return "", nil, false, nil
	}
	s.rehash(ctx, rec, password)

	raw := make([]byte, tokenLen)
	if _, err := io.ReadFull(s.opts.Rand, raw); err != nil {
		return "", nil, false, Internal(err)
	}
	sum := sha256.Sum256(raw)
	sess := SessionRecord{Name: rec.Name, Gen: rec.Gen, Expires: s.now().Add(s.opts.SessionTTL).Unix()}
	if err := s.repo.CreateSession(ctx, sum[:], sess, s.opts.SessionTTL); err != nil {
		if ErrorCode(err) == ENOTFOUND {
			// Removed, or the password changed, while we checked.
			return "", nil, false, nil
		}
		return "", nil, false, err
	}
	return tokenEncoding.EncodeToString(raw), &rec.Account, true, nil
}

// rehash replaces a hash made with weaker parameters than the current ones,
// now that the password is known to be right. A failure only means it is
// tried again at the next login.
func (s *Service) rehash(ctx context.Context, rec *AccountRecord, password string) {
	h, err := parsePHC(rec.Password)
	if err != nil || !h.p.below(s.opts.Params) {
		return
	}
	pw, err := checkPassword(password)
	if err != nil {
		return // set before the rules were tightened: keep it as it is
	}
	nh, err := s.newHash(ctx, pw)
	if err != nil {
		return
	}
	old := rec.Password
	_, _ = s.repo.UpdateAccount(ctx, rec.Name, func(a *AccountRecord) error {
		if a.Password == old {
			a.Password = nh
		}
		return nil
	})
}

// sessionHash decodes a token to the digest it is stored under.
func sessionHash(token string) ([]byte, bool) {
	if len(token) != tokenEncoding.EncodedLen(tokenLen) {
		return nil, false
	}
	raw, err := tokenEncoding.DecodeString(token)
	if err != nil || len(raw) != tokenLen {
		return nil, false
	}
	sum := sha256.Sum256(raw)
	return sum[:], true
}

// Session returns the account a session token belongs to, with its current
// role and display name, and keeps the session alive: its expiry moves to
// SessionTTL from now, at most once per SessionRefresh. Errors:
// EUNAUTHORIZED "staff.err.session.ended" for a token that is unknown,
// expired, logged out, or whose account was removed or changed password.
func (s *Service) Session(ctx context.Context, token string) (*Account, error) {
	hash, ok := sessionHash(token)
	if !ok {
		return nil, sessionEnded()
	}
	sess, err := s.repo.Session(ctx, hash)
	if ErrorCode(err) == ENOTFOUND {
		return nil, sessionEnded()
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if now.Unix() >= sess.Expires {
		_ = s.repo.DeleteSession(ctx, hash)
		return nil, sessionEnded()
	}
	rec, err := s.repo.Account(ctx, sess.Name)
	if ErrorCode(err) == ENOTFOUND || (err == nil && rec.Gen != sess.Gen) {
		_ = s.repo.DeleteSession(ctx, hash)
		return nil, sessionEnded()
	}
	if err != nil {
		return nil, err
	}
	ttl := s.opts.SessionTTL
	if time.Unix(sess.Expires, 0).Sub(now) <= ttl-s.opts.SessionRefresh {
		sess.Expires = now.Add(ttl).Unix()
		// A failed refresh only shortens the session; the request goes on.
		_ = s.repo.TouchSession(ctx, hash, *sess, ttl)
	}
	return &rec.Account, nil
}

// Logout ends the session for good: its record is deleted. An unknown or
// expired token is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	hash, ok := sessionHash(token)
	if !ok {
		return nil
	}
	return s.repo.DeleteSession(ctx, hash)
}
