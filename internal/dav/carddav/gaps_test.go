package carddav_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
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
			strings.Replace(newCard, "END:VCARD", "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ\r\nEND:VCARD", 1),
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
