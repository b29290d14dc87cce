package carddav_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav"
	"github.com/obmen/obmen/internal/dav/carddav"
	"github.com/obmen/obmen/internal/dav/davtest"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// serve starts the CardDAV server over s for alice (a manager).
func serve(t *testing.T, s *store.Store, admin crm.Actor) (*client, crm.User) {
	t.Helper()
	alice := davtest.Manager(t, s, admin, "alice")
	h := dav.New(s, slog.New(slog.DiscardHandler))
	h.Add(carddav.NewService(s, nil))
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &client{t: t, base: srv.URL, login: "alice", pass: "alice-Secret-1"}, alice
}

var ctagRe = regexp.MustCompile(`getctag>([^<]*)</`)

func (c *client) ctag(book string) string {
	c.t.Helper()
	code, _, body := c.do("PROPFIND", book, `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><cs:getctag/></d:prop></d:propfind>`, "Depth", "0")
	m := ctagRe.FindStringSubmatch(body)
	if code != http.StatusMultiStatus || m == nil {
		c.t.Fatalf("getctag of %s: %d %s", book, code, body)
	}
	return m[1]
}

// TestKeptPropertyMovesBook: a card changed only in what the CRM keeps
// verbatim (a PHOTO, an X- property) is a change of the book as much as
// a CRM field's: another client hears of it by sync-collection and by
// getctag, and the contact's history says the card changed.
func TestKeptPropertyMovesBook(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ac, _ := serve(t, s, admin)
		book := "/dav/principals/alice/addressbooks/contacts/"
		href := book + "5e7a1c2d.vcf"
		if code, _, body := ac.do("PUT", href, newCard, "If-None-Match", "*"); code != http.StatusCreated {
			t.Fatalf("create: %d %s", code, body)
		}
		_, _, tok := ac.sync(book, "")
		before := ac.ctag(book)
		for i, edit := range []string{
			// A PHOTO that is a URL is kept verbatim (an inline one is
			// the contact's photo, TestCardPhoto).
			strings.Replace(newCard, "END:VCARD", "PHOTO;VALUE=uri:https://example.org/face.jpg\r\nEND:VCARD", 1),
			strings.Replace(newCard, "keep me", "keep me too", 1),
		} {
			if code, _, body := ac.do("PUT", href, edit); code/100 != 2 {
				t.Fatalf("edit %d: %d %s", i, code, body)
			}
			changed, gone, next := ac.sync(book, tok)
			if len(changed) != 1 || changed[0] != href || len(gone) != 0 || next == tok {
				t.Errorf("edit %d: sync-collection from %s: %v %v → %s", i, tok, changed, gone, next)
			}
			if after := ac.ctag(book); after == before {
				t.Errorf("edit %d: getctag stayed %s", i, after)
			} else {
				before = after
			}
			tok = next
		}
		// The same card again changes nothing: nothing to hear of.
		edit := strings.Replace(newCard, "keep me", "keep me too", 1)
		if code, _, body := ac.do("PUT", href, edit); code/100 != 2 {
			t.Fatalf("same card: %d %s", code, body)
		}
		if changed, gone, next := ac.sync(book, tok); len(changed)+len(gone) != 0 || next != tok {
			t.Errorf("the same card again: %v %v %s→%s", changed, gone, tok, next)
		}
		dc, err := s.DAVCardByName(context.Background(), "5e7a1c2d.vcf")
		if err != nil {
			t.Fatal(err)
		}
		tl, err := s.Timeline(context.Background(), store.EntityContact, dc.ContactID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var props []string
		for _, it := range tl {
			if it.Event != nil && it.Event.Action == "update" {
				if c, ok := it.Event.Changes["vcard"]; ok {
					props = append(props, string(c.New))
				}
			}
		}
		if len(props) != 2 || !strings.Contains(strings.Join(props, " "), "PHOTO") || !strings.Contains(strings.Join(props, " "), "X-CUSTOM-THING") {
			t.Errorf("the history of the card's changes: %v", props)
		}
	})
}

// syncPage runs a sync-collection with <limit><nresults>n; truncated
// when the answer says 507 for the book itself.
func (c *client) syncPage(book, token string, n int) (changed, gone []string, next string, truncated bool) {
	c.t.Helper()
	body := strings.Replace(davtest.SyncBody(token), "<d:prop>", "<d:limit><d:nresults>"+strconv.Itoa(n)+"</d:nresults></d:limit><d:prop>", 1)
	code, _, resp := c.do("REPORT", book, body, "Depth", "1")
	if code != http.StatusMultiStatus {
		c.t.Fatalf("sync-collection with a limit: %d %s", code, resp)
	}
	for _, r := range strings.Split(resp, "<d:response>")[1:] {
		href := regexp.MustCompile(`<d:href>([^<]*)</d:href>`).FindStringSubmatch(r)[1]
		switch {
		case strings.Contains(r, "507 Insufficient Storage"):
			if href != book || !strings.Contains(r, "number-of-matches-within-limits") {
				c.t.Errorf("the 507 response: %s", r)
			}
			truncated = true
		case strings.Contains(r, "404 Not Found") && !strings.Contains(r, "<d:propstat>"):
			gone = append(gone, href)
		default:
			changed = append(changed, href)
		}
	}
	m := tokenRe.FindStringSubmatch(resp)
	if m == nil {
		c.t.Fatalf("no sync-token in %s", resp)
	}
	return changed, gone, m[1], truncated
}

// TestSyncLimit: RFC 6578 §3.7 — a sync-collection with a limit answers
// at most that many members, a 507 for the book and a token that goes
// on; the pages together are the whole answer, and a change made while
// the client pages is not lost.
func TestSyncLimit(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		ac, alice := serve(t, s, admin)
		book := "/dav/principals/alice/addressbooks/contacts/"
		var ids []int64
		for i := range 7 {
			c, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Контакт " + strconv.Itoa(i), Meta: crm.Meta{AssignedByID: alice.ID}})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, c.ID)
		}
		href := func(id int64) string { return book + strconv.FormatInt(id, 10) + ".vcf" }
		// A first sync in pages of 3; a contact of the first page changes
		// before the second is asked for.
		seen := map[string]int{}
		tok, pages := "", 0
		for {
			changed, gone, next, more := ac.syncPage(book, tok, 3)
			pages++
			if len(changed)+len(gone) > 3 || len(gone) != 0 {
				t.Fatalf("page %d: %v %v", pages, changed, gone)
			}
			for _, h := range changed {
				seen[h]++
			}
			if pages == 1 {
				if _, err := s.UpdateContact(ctx, admin, ids[0], func(c *crm.Contact) error { c.Position = "Новая"; return nil }); err != nil {
					t.Fatal(err)
				}
			}
			tok = next
			if !more {
				break
			}
			if pages > 5 {
				t.Fatal("the pages do not end")
			}
		}
		if pages != 3 || len(seen) != 7 {
			t.Errorf("first sync: %d pages, %d cards: %v", pages, len(seen), seen)
		}
		for h, n := range seen {
			if n != 1 {
				t.Errorf("%s sent %d times", h, n)
			}
		}
		// The change made while paging comes with the next sync.
		changed, gone, tok := ac.sync(book, tok)
		if len(changed) != 1 || changed[0] != href(ids[0]) || len(gone) != 0 {
			t.Errorf("after the pages: %v %v", changed, gone)
		}
		// An incremental sync in pages: two changed, two deleted.
		for _, id := range ids[1:3] {
			if _, err := s.UpdateContact(ctx, admin, id, func(c *crm.Contact) error { c.Position = "Ещё"; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids[3:5] {
			if err := s.Delete(ctx, admin, store.EntityContact, id); err != nil {
				t.Fatal(err)
			}
		}
		var allChanged, allGone []string
		for pages = 0; ; {
			changed, gone, next, more := ac.syncPage(book, tok, 1)
			pages++
			if len(changed)+len(gone) != 1 {
				t.Fatalf("incremental page %d: %v %v", pages, changed, gone)
			}
			allChanged, allGone, tok = append(allChanged, changed...), append(allGone, gone...), next
			if !more || pages > 6 {
				break
			}
		}
		slices.Sort(allChanged)
		slices.Sort(allGone)
		wantChanged, wantGone := []string{href(ids[1]), href(ids[2])}, []string{href(ids[3]), href(ids[4])}
		slices.Sort(wantChanged)
		slices.Sort(wantGone)
		if pages != 4 || !slices.Equal(allChanged, wantChanged) || !slices.Equal(allGone, wantGone) {
			t.Errorf("incremental in pages: %d pages, changed %v, gone %v", pages, allChanged, allGone)
		}
		if changed, gone, again := ac.sync(book, tok); len(changed)+len(gone) != 0 || again != tok {
			t.Errorf("after the last page: %v %v %s→%s", changed, gone, tok, again)
		}
		// A limit the answer is within: no 507.
		if _, _, _, more := ac.syncPage(book, tok, 10); more {
			t.Errorf("a limit not reached truncated the answer")
		}
		for _, bad := range []string{"0", "-1", "много"} {
			body := strings.Replace(davtest.SyncBody(tok), "<d:prop>", "<d:limit><d:nresults>"+bad+"</d:nresults></d:limit><d:prop>", 1)
			if code, _, resp := ac.do("REPORT", book, body, "Depth", "1"); code != http.StatusBadRequest || !strings.Contains(resp, "nresults") {
				t.Errorf("nresults %q: %d %s", bad, code, resp)
			}
		}
		if code, _, resp := ac.do("REPORT", book, davtest.SyncBody(tok+".x.Zm9v"), "Depth", "1"); code != http.StatusForbidden {
			t.Errorf("a malformed page token: %d %s", code, resp)
		}
	})
}

// TestHomeSetDepth1: a Depth 1 PROPFIND of the address book home set
// answers each book's getctag, sync-token and privileges.
func TestHomeSetDepth1(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ac, _ := serve(t, s, admin)
		home := "/dav/principals/alice/addressbooks/"
		code, _, body := ac.do("PROPFIND", home, `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:resourcetype/><cs:getctag/><d:sync-token/><d:current-user-privilege-set/></d:prop></d:propfind>`, "Depth", "1")
		if code != http.StatusMultiStatus {
			t.Fatalf("PROPFIND: %d %s", code, body)
		}
		for _, book := range []string{"contacts/", "people/"} {
			i := strings.Index(body, "<d:href>"+home+book+"</d:href>")
			if i < 0 {
				t.Errorf("%s not listed: %s", book, body)
				continue
			}
			r := body[i:]
			if j := strings.Index(r, "</d:response>"); j > 0 {
				r = r[:j]
			}
			for _, want := range []string{"getctag>", "urn:obmen:sync:", "<d:write/>"} {
				if !strings.Contains(r, want) || strings.Contains(r, "404") {
					t.Errorf("%s: no %s or a 404 in %s", book, want, r)
				}
			}
		}
	})
}
