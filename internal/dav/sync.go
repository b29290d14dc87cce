package dav

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
)

// tokenPrefix makes a sync token the URI RFC 6578 asks for.
const tokenPrefix = "urn:obmen:sync:"

// TokenURI is the sync-token of a change-log id under an access epoch
// ("" when the user sees everything).
func TokenURI(seq int64, epoch string) string {
	if epoch == "" {
		return tokenPrefix + strconv.FormatInt(seq, 10)
	}
	return tokenPrefix + strconv.FormatInt(seq, 10) + "-" + epoch
}

// ctag is the getctag of a collection: its token, without the URI.
func ctag(seq int64, epoch string) string {
	return strings.TrimPrefix(TokenURI(seq, epoch), tokenPrefix)
}

// resume is a sync-token as read: seq and epoch, and, for one given with
// a truncated answer (RFC 6578 §3.7), where the next page starts — the
// changes since since, the members after the href after (in href
// order) — and seq then is the snapshot the pages are of, the token the
// last page gives.
type resume struct {
	seq   int64
	epoch string
	paged bool
	since int64
	after string
}

// pageToken is the sync-token of a truncated answer: the next request
// goes on from after, and the last page answers TokenURI(seq, epoch).
func pageToken(seq int64, epoch string, since int64, after string) string {
	return TokenURI(seq, epoch) + "." + strconv.FormatInt(since, 10) + "." + base64.RawURLEncoding.EncodeToString([]byte(after))
}

// parseResume reads a sync-token; "" is a first sync (0).
func parseResume(s string) (resume, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return resume{}, true
	}
	rest, ok := strings.CutPrefix(s, tokenPrefix)
	if !ok {
		return resume{}, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) != 1 && len(parts) != 3 {
		return resume{}, false
	}
	num, epoch, _ := strings.Cut(parts[0], "-")
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return resume{}, false
	}
	r := resume{seq: n, epoch: epoch}
	if len(parts) == 3 {
		since, err := strconv.ParseInt(parts[1], 10, 64)
		after, err2 := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil || err2 != nil || since < 0 || since > n || len(after) == 0 {
			return resume{}, false
		}
		r.paged, r.since, r.after = true, since, string(after)
	}
	return r, true
}

// limitOf reads a sync-collection's DAV:limit (RFC 5323 §5.17): at most
// nresults members in the answer; 0 when there is none.
func limitOf(root *node) (int, error) {
	l := root.child(nsDAV, "limit")
	if l == nil {
		return 0, nil
	}
	nr := l.child(nsDAV, "nresults")
	if nr == nil {
		return 0, fmt.Errorf("dav: <limit> without <nresults>")
	}
	n, err := strconv.Atoi(strings.TrimSpace(nr.Text))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("dav: <nresults>%s</nresults>: a whole number of at least 1 is wanted", clipText(nr.Text))
	}
	return n, nil
}

func clipText(s string) string {
	if r := []rune(s); len(r) > 40 {
		return string(r[:40]) + "…"
	}
	return s
}

const maxBody = 4 << 20

// bufferWriter keeps what a go-webdav handler answers, to be rewritten.
type bufferWriter struct {
	h    http.Header
	code int
	buf  bytes.Buffer
}

func newBuffer() *bufferWriter              { return &bufferWriter{h: http.Header{}} }
func (b *bufferWriter) Header() http.Header { return b.h }
func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.code == 0 {
		b.code = http.StatusOK
	}
	return b.buf.Write(p)
}
func (b *bufferWriter) WriteHeader(code int) {
	if b.code == 0 {
		b.code = code
	}
}

func (b *bufferWriter) copyTo(w http.ResponseWriter, body []byte) {
	for k, v := range b.h {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	if b.code == 0 {
		b.code = http.StatusOK
	}
	w.WriteHeader(b.code)
	_, _ = w.Write(body)
}

func samePath(a, b string) bool {
	return path.Clean(a) == path.Clean(b)
}

// report serves a sync-collection REPORT itself and hands the others
// (multiget, query) to go-webdav.
func (h *Handler) report(w http.ResponseWriter, r *http.Request, s *Service) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, "dav: read the request: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(body) > maxBody {
		http.Error(w, "dav: the REPORT body is over 4 MB", http.StatusRequestEntityTooLarge)
		return
	}
	root, perr := parseXML(bytes.NewReader(body))
	if perr != nil || !root.is(nsDAV, "sync-collection") {
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.Handler.ServeHTTP(w, r)
		return
	}
	raw := strings.TrimSpace(root.child(nsDAV, "sync-token").textOrEmpty())
	tok, ok := parseResume(raw)
	if !ok {
		davError(w, http.StatusForbidden, "valid-sync-token", "the sync-token is not one this server gave")
		return
	}
	if raw != "" && tok.epoch != epochFrom(r.Context()) {
		davError(w, http.StatusForbidden, "valid-sync-token", "what you may see has changed since this sync-token: sync afresh")
		return
	}
	limit, err := limitOf(root)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	since := tok.seq
	if tok.paged {
		since = tok.since
	}
	ch, err := s.Syncer.Changes(r.Context(), r.URL.Path, since)
	if errors.Is(err, ErrNotCollection) {
		davError(w, http.StatusForbidden, "valid-sync-token", "sync-collection is answered on a collection only: "+r.URL.Path)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if tok.seq > ch.Token {
		davError(w, http.StatusForbidden, "valid-sync-token", "the sync-token is newer than the collection")
		return
	}
	next := TokenURI(ch.Token, epochFrom(r.Context()))
	truncated := false
	if tok.paged || limit > 0 {
		// Pages in href order, all of one snapshot: the first page's
		// token. A member changed while the client pages is sent again
		// (or later, from the snapshot), never missed.
		snap := ch.Token
		if tok.paged {
			snap = tok.seq
		}
		var last string
		ch, truncated, last = page(ch, tok.after, limit)
		next = TokenURI(snap, epochFrom(r.Context()))
		if truncated {
			next = pageToken(snap, epochFrom(r.Context()), since, last)
		}
	}
	h.syncAnswer(w, r, s, root, ch, next, truncated)
}

// page keeps, of the members changed, those after after in href order,
// at most limit of them (0: all); truncated when some are left, last the
// href the next page goes on after.
func page(ch Changes, after string, limit int) (Changes, bool, string) {
	type member struct {
		href string
		gone bool
	}
	all := make([]member, 0, len(ch.Changed)+len(ch.Deleted))
	for _, h := range ch.Changed {
		all = append(all, member{h, false})
	}
	for _, h := range ch.Deleted {
		all = append(all, member{h, true})
	}
	slices.SortFunc(all, func(a, b member) int { return strings.Compare(a.href, b.href) })
	if after != "" {
		i, _ := slices.BinarySearchFunc(all, after, func(m member, h string) int {
			if m.href <= h {
				return -1
			}
			return 1
		})
		all = all[i:]
	}
	truncated := limit > 0 && len(all) > limit
	if truncated {
		all = all[:limit]
	}
	out := Changes{Token: ch.Token, Changed: []string{}, Deleted: []string{}}
	for _, m := range all {
		if m.gone {
			out.Deleted = append(out.Deleted, m.href)
		} else {
			out.Changed = append(out.Changed, m.href)
		}
	}
	last := ""
	if len(all) > 0 {
		last = all[len(all)-1].href
	}
	return out, truncated, last
}

// syncAnswer writes a sync-collection's multistatus: the changed
// members' properties, the gone ones as 404, with truncated a 507 for
// the collection itself (RFC 6578 §3.7), and the sync-token next.
func (h *Handler) syncAnswer(w http.ResponseWriter, r *http.Request, s *Service, root *node, ch Changes, next string, truncated bool) {
	ms := el(nsDAV, "multistatus")
	if len(ch.Changed) > 0 {
		// The changed members' properties come from go-webdav, by a
		// multiget of their hrefs with the prop element the client sent.
		mg := el(s.Multiget[0], s.Multiget[1])
		if p := root.child(nsDAV, "prop"); p != nil {
			mg.Kids = append(mg.Kids, p)
		} else {
			mg.Kids = append(mg.Kids, el(nsDAV, "prop", el(nsDAV, "getetag")))
		}
		for _, href := range ch.Changed {
			mg.Kids = append(mg.Kids, text(nsDAV, "href", href))
		}
		sub, err := http.NewRequestWithContext(r.Context(), "REPORT", r.URL.Path, bytes.NewReader(mg.marshal()))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		sub.Header.Set("Content-Type", "application/xml; charset=utf-8")
		sub.Header.Set("Depth", "1")
		bw := newBuffer()
		s.Handler.ServeHTTP(bw, sub)
		if bw.code != http.StatusMultiStatus {
			bw.copyTo(w, bw.buf.Bytes())
			return
		}
		got, err := parseXML(&bw.buf)
		if err != nil {
			h.fail(w, r, fmt.Errorf("dav: the multiget of a sync-collection: %w", err))
			return
		}
		ms.Kids = append(ms.Kids, got.Kids...)
	}
	for _, href := range ch.Deleted {
		ms.Kids = append(ms.Kids, el(nsDAV, "response", text(nsDAV, "href", href), text(nsDAV, "status", "HTTP/1.1 404 Not Found")))
	}
	if truncated {
		ms.Kids = append(ms.Kids, el(nsDAV, "response", text(nsDAV, "href", r.URL.EscapedPath()),
			text(nsDAV, "status", "HTTP/1.1 507 Insufficient Storage"),
			el(nsDAV, "error", el(nsDAV, "number-of-matches-within-limits")),
			text(nsDAV, "responsedescription", "more members changed than the limit asked for: go on from this sync-token")))
	}
	ms.Kids = append(ms.Kids, text(nsDAV, "sync-token", next))
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	_, _ = w.Write(ms.marshal())
}

func (n *node) textOrEmpty() string {
	if n == nil {
		return ""
	}
	return n.Text
}

// davError answers a DAV precondition error (RFC 4918 §16) with a
// readable message beside it.
func davError(w http.ResponseWriter, code int, condition, msg string) {
	e := el(nsDAV, "error", el(nsDAV, condition), text(nsDAV, "responsedescription", msg))
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(e.marshal())
}

// ReadOnlyer is a Syncer that has read-only collections (a colleague's
// calendar): their current-user-privilege-set is read alone, so clients
// do not offer to edit them.
type ReadOnlyer interface {
	ReadOnly(ctx context.Context, path string) bool
}

// propfind lets go-webdav answer and then fills in, for each collection
// the Syncer knows that the answer lists — the one asked for, or, on a
// Depth 1 PROPFIND of the home set (how DAVx⁵ and Thunderbird list the
// calendars and books), each child — the properties go-webdav reports
// missing: getctag, sync-token, supported-report-set and
// current-user-privilege-set (read alone for a read-only collection).
func (h *Handler) propfind(w http.ResponseWriter, r *http.Request, s *Service) {
	_, err := s.Syncer.Token(r.Context(), r.URL.Path)
	if errors.Is(err, ErrNotCollection) && !strings.HasSuffix(r.URL.Path, "/") {
		s.Handler.ServeHTTP(w, r) // an object: nothing to add
		return
	}
	if err != nil && !errors.Is(err, ErrNotCollection) {
		h.fail(w, r, err)
		return
	}
	bw := newBuffer()
	s.Handler.ServeHTTP(bw, r)
	if bw.code != http.StatusMultiStatus {
		bw.copyTo(w, bw.buf.Bytes())
		return
	}
	ms, err := parseXML(bytes.NewReader(bw.buf.Bytes()))
	if err != nil {
		h.fail(w, r, fmt.Errorf("dav: go-webdav's PROPFIND answer: %w", err))
		return
	}
	reports := el(nsDAV, "supported-report-set")
	for _, rep := range append([][2]string{{nsDAV, "sync-collection"}, s.Multiget}, s.Reports...) {
		reports.Kids = append(reports.Kids, el(nsDAV, "supported-report", el(nsDAV, "report", el(rep[0], rep[1]))))
	}
	privileges := func(names ...string) *node {
		set := el(nsDAV, "current-user-privilege-set")
		for _, n := range names {
			set.Kids = append(set.Kids, el(nsDAV, "privilege", el(nsDAV, n)))
		}
		return set
	}
	ro, _ := s.Syncer.(ReadOnlyer)
	for _, resp := range ms.Kids {
		if !resp.is(nsDAV, "response") {
			continue
		}
		p := hrefPath(resp.child(nsDAV, "href").textOrEmpty())
		if !strings.HasSuffix(p, "/") && !samePath(p, r.URL.Path) {
			continue // a member object
		}
		tok, err := s.Syncer.Token(r.Context(), p)
		if errors.Is(err, ErrNotCollection) {
			continue
		}
		if err != nil {
			h.fail(w, r, err)
			return
		}
		values := map[[2]string]*node{
			{nsCS, "getctag"}:                     text(nsCS, "getctag", ctag(tok, epochFrom(r.Context()))),
			{nsDAV, "sync-token"}:                 text(nsDAV, "sync-token", TokenURI(tok, epochFrom(r.Context()))),
			{nsDAV, "supported-report-set"}:       reports,
			{nsDAV, "current-user-privilege-set"}: privileges("read", "write", "write-content", "bind", "unbind"),
		}
		if ro != nil && ro.ReadOnly(r.Context(), p) {
			values[[2]string{nsDAV, "current-user-privilege-set"}] = privileges("read")
		}
		fillMissing(resp, values)
	}
	bw.copyTo(w, ms.marshal())
}

func hrefPath(href string) string {
	if i := strings.Index(href, "://"); i >= 0 {
		if j := strings.Index(href[i+3:], "/"); j >= 0 {
			href = href[i+3+j:]
		}
	}
	if p, err := unescapePath(href); err == nil {
		return p
	}
	return href
}

// fillMissing moves the properties of values that a response lists as
// 404 into its 200 propstat, with their values.
func fillMissing(resp *node, values map[[2]string]*node) {
	var found []*node
	var kept []*node
	for _, ps := range resp.Kids {
		if !ps.is(nsDAV, "propstat") || !strings.Contains(ps.child(nsDAV, "status").textOrEmpty(), "404") {
			kept = append(kept, ps)
			continue
		}
		prop := ps.child(nsDAV, "prop")
		var rest []*node
		for _, p := range prop.Kids {
			if v, ok := values[[2]string{p.Name.Space, p.Name.Local}]; ok {
				found = append(found, v)
				continue
			}
			rest = append(rest, p)
		}
		if prop != nil {
			prop.Kids = rest
		}
		if len(rest) > 0 {
			kept = append(kept, ps)
		}
	}
	resp.Kids = kept
	if len(found) == 0 {
		return
	}
	for _, ps := range resp.Kids {
		if ps.is(nsDAV, "propstat") && strings.Contains(ps.child(nsDAV, "status").textOrEmpty(), "200") {
			if prop := ps.child(nsDAV, "prop"); prop != nil {
				prop.Kids = append(prop.Kids, found...)
				return
			}
		}
	}
	resp.Kids = append(resp.Kids, el(nsDAV, "propstat", el(nsDAV, "prop", found...), text(nsDAV, "status", "HTTP/1.1 200 OK")))
}

func unescapePath(p string) (string, error) { return url.PathUnescape(p) }
