package store

// The key schema. Every key tropa writes is built in this file, so the whole
// layout of the database can be read in one place.
//
// Layout (IDs are big-endian uint64 so that prefix iteration is ordered):
//
//	m/<name>                      metadata (schema version, seeded flags)
//
// Values carry a leading version byte.
const (
	prefixMeta = "m/"
)

func metaKey(name string) []byte { return []byte(prefixMeta + name) }

// Forum keys. All forum keys start with "f/"; IDs are big-endian uint64 and
// post numbers big-endian uint32, so prefix iteration is in ID order.
//
//	f/c/<name>                               counter (uint64): section, thread, asker, act, report
//	f/sec/<sid>                              section record
//	f/slug/<slug>                            -> section ID
//	f/t/<tid>                                thread record
//	f/p/<tid><n:4>                           post n of a thread (1 = the question)
//	f/sa/<sid><vis:1><pin:1><^act><tid>      a section's thread list, value = thread record;
//	                                         vis 0 public, 1 private; pin 0 pinned, 1 not;
//	                                         ^act = inverted activity sequence: newest first
//	f/q/<wait><tid>                          unanswered queue, oldest wait first; value = thread record
//	f/rh/<hash:32>                           receipt lookup hash -> asker ID (and KDF set)
//	f/ak/<asker><^tid>                       an asker's threads, newest first
//	f/r/<rid>                                report record
//	f/ro/<rid>                               open reports, oldest first
//	f/purge/<tid>                            a deleted thread whose posts are still being erased
//	f/imp/<tid>                              an imported thread still being written (forum_import.go);
//	                                         its f/purge/ marker erases it if the import stops
//
// The activity sequence (f/c/act) orders activity without storing times:
// posts themselves keep only the hour.
const (
	prefixForum        = "f/"
	prefixFCounter     = "f/c/"
	prefixFSection     = "f/sec/"
	prefixFSlug        = "f/slug/"
	prefixFThread      = "f/t/"
	prefixFPost        = "f/p/"
	prefixFActivity    = "f/sa/"
	prefixFQueue       = "f/q/"
	prefixFReceipt     = "f/rh/"
	prefixFAskerThread = "f/ak/"
	prefixFReport      = "f/r/"
	prefixFReportOpen  = "f/ro/"
	prefixFPurge       = "f/purge/"
	prefixFImport      = "f/imp/"
)

// Counter names.
const (
	ctrSection = "section"
	ctrThread  = "thread"
	ctrAsker   = "asker"
	ctrAct     = "act"
	ctrReport  = "report"
)

func keyU64(prefix string, ids ...uint64) []byte {
	k := make([]byte, len(prefix), len(prefix)+8*len(ids))
	copy(k, prefix)
	for _, id := range ids {
		k = appendU64(k, id)
	}
	return k
}

func fCounterKey(name string) []byte       { return []byte(prefixFCounter + name) }
func fSectionKey(id uint64) []byte         { return keyU64(prefixFSection, id) }
func fSlugKey(slug string) []byte          { return []byte(prefixFSlug + slug) }
func fThreadKey(id uint64) []byte          { return keyU64(prefixFThread, id) }
func fPostPrefix(thread uint64) []byte     { return keyU64(prefixFPost, thread) }
func fReceiptKey(hash []byte) []byte       { return append([]byte(prefixFReceipt), hash...) }
func fReportKey(id uint64) []byte          { return keyU64(prefixFReport, id) }
func fReportOpenKey(id uint64) []byte      { return keyU64(prefixFReportOpen, id) }
func fPurgeKey(thread uint64) []byte       { return keyU64(prefixFPurge, thread) }
func fQueueKey(wait, thread uint64) []byte { return keyU64(prefixFQueue, wait, thread) }
func fImportKey(thread uint64) []byte      { return keyU64(prefixFImport, thread) }

func fPostKey(thread uint64, n uint32) []byte {
	return appendU32(fPostPrefix(thread), n)
}

// fActivityPrefix is the start of one section's public or private list.
func fActivityPrefix(section uint64, private bool) []byte {
	k := keyU64(prefixFActivity, section)
	if private {
		return append(k, 1)
	}
	return append(k, 0)
}

func fActivityKey(section uint64, private, pinned bool, act, thread uint64) []byte {
	k := fActivityPrefix(section, private)
	if pinned {
		k = append(k, 0)
	} else {
		k = append(k, 1)
	}
	k = appendU64(k, ^act)
	return appendU64(k, thread)
}

func fAskerThreadPrefix(asker uint64) []byte { return keyU64(prefixFAskerThread, asker) }

func fAskerThreadKey(asker, thread uint64) []byte {
	return appendU64(fAskerThreadPrefix(asker), ^thread)
}

// appendU64 and appendU32 append big-endian integers (kept here, without an
// import, so the forum's keys stay an append to this file).
func appendU64(b []byte, v uint64) []byte {
	return append(b, byte(v>>56), byte(v>>48), byte(v>>40), byte(v>>32), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

func appendU32(b []byte, v uint32) []byte {
	return append(b, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// Fund keys (package fund: the mobile units' stops, doctors, contacts). All
// start with "u/"; IDs are big-endian uint64, so prefix iteration is in ID
// order. Values are a version byte and the record as JSON.
//
//	u/c/<kind>      counter (uint64) of IDs: stop, doctor, contact
//	u/s/<id>        stop record
//	u/d/<id>        doctor record
//	u/k/<id>        contact record
//	m/fund.seeded   the example data was written once (never again)
const (
	prefixUCounter = "u/c/"
	prefixUStop    = "u/s/"
	prefixUDoctor  = "u/d/"
	prefixUContact = "u/k/"
	metaFundSeeded = "fund.seeded"
)

func uCounterKey(kind string) []byte             { return []byte(prefixUCounter + kind) }
func uRecordKey(prefix string, id uint64) []byte { return keyU64(prefix, id) }

// Staff keys (package staff: accounts, sessions, saved replies, moderation
// history). All start with "s/". Values are a version byte and the record
// as JSON, like the fund's. Login names and moderation targets never hold
// '/', so "<name>/" and "<target>/" end a prefix unambiguously.
//
//	s/a/<name>                 account (display name, role, password hash, generation)
//	s/s/<sha256(token):32>     session, written with Badger's TTL: gone by itself once idle
//	s/as/<name>/<sha256:32>    an account's sessions (empty value, same TTL), to end them together
//	s/c/<kind>                 counter (uint64) of IDs: reply, mod
//	s/r/<id>                   saved reply
//	s/m/<target>/<^seq>        moderation entry; ^seq = inverted mod counter: newest first
//	m/staff.replies-seeded     the first saved replies were written once (never again)
const (
	prefixSAccount     = "s/a/"
	prefixSSession     = "s/s/"
	prefixSAcctSession = "s/as/"
	prefixSCounter     = "s/c/"
	prefixSReply       = "s/r/"
	prefixSMod         = "s/m/"
	metaStaffSeeded    = "staff.replies-seeded"
)

func sAccountKey(name string) []byte        { return []byte(prefixSAccount + name) }
func sSessionKey(hash []byte) []byte        { return append([]byte(prefixSSession), hash...) }
func sAcctSessionPrefix(name string) []byte { return []byte(prefixSAcctSession + name + "/") }
func sCounterKey(kind string) []byte        { return []byte(prefixSCounter + kind) }
func sReplyKey(id uint64) []byte            { return keyU64(prefixSReply, id) }
func sModPrefix(target string) []byte       { return []byte(prefixSMod + target + "/") }

func sAcctSessionKey(name string, hash []byte) []byte {
	return append(sAcctSessionPrefix(name), hash...)
}

func sModKey(target string, seq uint64) []byte { return appendU64(sModPrefix(target), ^seq) }

// Maintenance keys (gc.go).
//
//	g/flush   a marker written and then dropped with DropPrefix, which is
//	          Badger's only way to flush the memtable (and its write-ahead
//	          log) while running, so deleted records leave the disk
const keyFlushMarker = "g/flush"

// The fund's outreach tools (package fund: page revisions, news, bookings)
// and the outreach metrics (package metrics). Values are a version byte and
// JSON, except the metrics' totals (a version byte and a big-endian uint64).
// Page slugs and languages never hold '/', so "<lang>/<slug>/" ends a
// prefix unambiguously; dates are YYYY-MM-DD, so they sort in time order.
//
//	p/r/<lang>/<slug>/<n:4>        page revision n; the newest is the page
//	n/c                            counter (uint64) of news IDs
//	n/p/<id>                       news post
//	n/l/<lang>/<^id>               a language's news, newest first (empty value)
//	b/<stop:8><date:10><code:6>    booking (test, done), with Badger's TTL: gone
//	                               at the end of the day after its date
//	x/d/<day:4><counter>           a day's total of one counter
//	x/h/<week:4><bucket:1>         a week's count of first answers in one delay bucket
const (
	prefixPageRev    = "p/r/"
	keyNewsCounter   = "n/c"
	prefixNewsPost   = "n/p/"
	prefixNewsLang   = "n/l/"
	prefixBooking    = "b/"
	prefixMetricDay  = "x/d/"
	prefixMetricHist = "x/h/"
)

func pageRevPrefix(lang, slug string) []byte { return []byte(prefixPageRev + lang + "/" + slug + "/") }
func pageRevKey(lang, slug string, n int) []byte {
	return appendU32(pageRevPrefix(lang, slug), uint32(n))
}
func newsPostKey(id uint64) []byte              { return keyU64(prefixNewsPost, id) }
func newsLangPrefix(lang string) []byte         { return []byte(prefixNewsLang + lang + "/") }
func newsLangKey(lang string, id uint64) []byte { return appendU64(newsLangPrefix(lang), ^id) }
func bookingStopPrefix(stop uint64) []byte      { return keyU64(prefixBooking, stop) }
func bookingDayPrefix(stop uint64, date string) []byte {
	return append(bookingStopPrefix(stop), date...)
}
func bookingKey(stop uint64, date, code string) []byte {
	return append(bookingDayPrefix(stop, date), code...)
}
func metricDayKey(day uint32, counter string) []byte {
	return append(appendU32([]byte(prefixMetricDay), day), counter...)
}
func metricHistKey(week uint32, bucket uint8) []byte {
	return append(appendU32([]byte(prefixMetricHist), week), bucket)
}
