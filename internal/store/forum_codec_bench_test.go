package store

import (
	"bytes"
	"encoding/gob"
	"encoding/json"
	"html/template"
	"strings"
	"testing"

	"tropa/forum"
)

// BenchmarkCodec compares the hand-rolled record codec with JSON and gob
// for a typical post (why the store encodes by hand).
//
//	go test ./internal/store -run '^$' -bench Codec -benchmem
func BenchmarkCodec(b *testing.B) {
	src := strings.Repeat("Текст ответа про тестирование. ", 12)
	p := forum.Post{Thread: 7, N: 3, Author: forum.Author{Kind: forum.Staff, Name: "Команда фонда", StaffID: "anna"},
		Hour: 480000, Source: src, HTML: template.HTML("<p>" + src + "</p>")}
	b.Run("binary", func(b *testing.B) {
		var n int
		for i := 0; i < b.N; i++ {
			v := encodePost(&p)
			n = len(v)
			if _, err := decodePost(7, 3, v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "bytes")
	})
	b.Run("json", func(b *testing.B) {
		var n int
		for i := 0; i < b.N; i++ {
			v, _ := json.Marshal(&p)
			n = len(v)
			var q forum.Post
			if err := json.Unmarshal(v, &q); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "bytes")
	})
	b.Run("gob", func(b *testing.B) {
		var n int
		for i := 0; i < b.N; i++ {
			var buf bytes.Buffer
			if err := gob.NewEncoder(&buf).Encode(&p); err != nil {
				b.Fatal(err)
			}
			n = buf.Len()
			var q forum.Post
			if err := gob.NewDecoder(&buf).Decode(&q); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "bytes")
	})
}

// The codec reads back what it writes, for every record.
func TestCodecRoundTrip(t *testing.T) {
	s := forum.Section{ID: 3, Slug: "hiv", Order: -2, Title: forum.L10n{RU: "а", EN: "a"}, Description: forum.L10n{RU: "б", EN: "b"}, Threads: 5, PrivateThreads: 6}
	if got, err := decodeSection(encodeSection(&s)); err != nil || *got != s {
		t.Fatalf("section %+v %v", got, err)
	}
	th := threadRec{Thread: forum.Thread{ID: 1, Section: 2, Title: "т", Private: true, Locked: true, Awaiting: true, Posts: 9, Replies: 7, Created: -1, LastActive: 5, Asker: 4}, act: 11, wait: 12}
	if got, err := decodeThread(encodeThread(&th)); err != nil || *got != th {
		t.Fatalf("thread %+v %v", got, err)
	}
	p := forum.Post{Thread: 1, N: 2, Author: forum.Author{Kind: forum.Staff, Name: "н", StaffID: "s"}, Hour: 3, Source: "x", HTML: "<p>x</p>", Hidden: true}
	if got, err := decodePost(1, 2, encodePost(&p)); err != nil || got != p {
		t.Fatalf("post %+v %v", got, err)
	}
	r := forum.Report{ID: 1, Post: forum.PostRef{Thread: 2, N: 3}, Reason: forum.ReasonSpam, Note: "n", Hour: 4, Resolved: true, ResolvedBy: "a"}
	if got, err := decodeReport(encodeReport(&r)); err != nil || *got != r {
		t.Fatalf("report %+v %v", got, err)
	}
	// Truncated or unknown-version records are errors, never panics.
	full := encodePost(&p)
	for i := 0; i < len(full); i++ {
		if _, err := decodePost(1, 2, full[:i]); err == nil {
			t.Fatalf("truncated at %d decoded", i)
		}
	}
	bad := append([]byte{9}, full[1:]...)
	if _, err := decodePost(1, 2, bad); err == nil {
		t.Fatal("unknown version decoded")
	}
}
