package carddav_test

import (
	"context"
	"io"
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

type client struct {
	t           *testing.T
	base        string
	login, pass string
}

func (c *client) do(method, path, body string, hdr ...string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth(c.login, c.pass)
	if strings.HasPrefix(body, "<") {
		req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	} else if body != "" {
		req.Header.Set("Content-Type", "text/vcard; charset=utf-8")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var tokenRe = regexp.MustCompile(`<d:sync-token>([^<]*)</d:sync-token>`)

// sync runs a sync-collection and returns the hrefs changed, gone (404)
// and the new token.
func (c *client) sync(book, token string) (changed, gone []string, next string) {
	c.t.Helper()
	code, _, body := c.do("REPORT", book, davtest.SyncBody(token), "Depth", "1")
	if code != http.StatusMultiStatus {
		c.t.Fatalf("sync-collection: %d %s", code, body)
	}
	for _, resp := range strings.Split(body, "<d:response>")[1:] {
		href := regexp.MustCompile(`<d:href>([^<]*)</d:href>`).FindStringSubmatch(resp)[1]
		if strings.Contains(resp, "404 Not Found") && !strings.Contains(resp, "<d:propstat>") {
			gone = append(gone, href)
		} else {
			changed = append(changed, href)
		}
	}
	m := tokenRe.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no sync-token in %s", body)
	}
	return changed, gone, m[1]
}

const newCard = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:5e7a1c2d-0000-4000-8000-000000000001\r\nN:Сидоров;Пётр;;;\r\nFN:Пётр Сидоров\r\n" +
	"TEL;TYPE=CELL:+7 916 000-11-22\r\nEMAIL;TYPE=WORK:petr@example.org\r\nX-CUSTOM-THING;X-P=1:keep me\r\nEND:VCARD\r\n"

// TestCardDAV drives the server over HTTP as a client would: discovery,
// listing, a first and an incremental sync-collection, create, change
// (If-Match), delete, and a manager who never sees another's contacts.
func TestCardDAV(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		ctx := context.Background()
		alice, err := s.CreateUser(ctx, admin, crm.User{Login: "alice", Role: crm.RoleManager, FirstName: "Алиса"}, "alice-Secret-1")
		if err != nil {
			t.Fatal(err)
		}
		bob, err := s.CreateUser(ctx, admin, crm.User{Login: "bob", Role: crm.RoleManager, FirstName: "Боб"}, "bob-Secret-1")
		if err != nil {
			t.Fatal(err)
		}
		acc, err := s.CreateAccount(ctx, admin, crm.Account{Title: "ООО Ромашка", Meta: crm.Meta{AssignedByID: alice.ID}})
		if err != nil {
			t.Fatal(err)
		}
		a1, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Анна", LastName: "Смирнова", Position: "Бухгалтер", AccountIDs: []int64{acc.ID},
			Meta: crm.Meta{AssignedByID: alice.ID}})
		if err != nil {
			t.Fatal(err)
		}
		b1, err := s.CreateContact(ctx, admin, crm.Contact{Name: "Борис", LastName: "Секретов", Meta: crm.Meta{AssignedByID: bob.ID}})
		if err != nil {
			t.Fatal(err)
		}
		h := dav.New(s, slog.New(slog.DiscardHandler))
		h.Add(carddav.NewService(s, nil))
		mux := http.NewServeMux()
		h.Register(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		ac := &client{t: t, base: srv.URL, login: "alice", pass: "alice-Secret-1"}
		home := "/dav/principals/alice/addressbooks/"
		book := home + "contacts/"
		people := home + "people/"
		a1href := book + strconv.FormatInt(a1.ID, 10) + ".vcf"
		b1href := book + strconv.FormatInt(b1.ID, 10) + ".vcf"

		code, _, body := ac.do("PROPFIND", "/dav/principals/alice/", `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop><card:addressbook-home-set/></d:prop></d:propfind>`, "Depth", "0")
		if code != http.StatusMultiStatus || !strings.Contains(body, home) {
			t.Fatalf("principal: %d %s", code, body)
		}
		code, _, body = ac.do("PROPFIND", home, `<?xml version="1.0"?><d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:displayname/></d:prop></d:propfind>`, "Depth", "1")
		if code != http.StatusMultiStatus || !strings.Contains(body, book) || !strings.Contains(body, people) || !strings.Contains(body, "Контакты Obmen") {
			t.Fatalf("home set: %d %s", code, body)
		}
		code, _, body = ac.do("PROPFIND", book, `<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/ns/"><d:prop><d:getetag/><cs:getctag/><d:sync-token/><d:supported-report-set/></d:prop></d:propfind>`, "Depth", "1")
		if code != http.StatusMultiStatus || !strings.Contains(body, a1href) || strings.Contains(body, b1href) ||
			!strings.Contains(body, "getctag>") || !strings.Contains(body, "urn:obmen:sync:") || !strings.Contains(body, "sync-collection") {
			t.Fatalf("book: %d %s", code, body)
		}
		if strings.Contains(body, "Секретов") {
			t.Fatalf("bob's contact in alice's book: %s", body)
		}

		changed, gone, tok1 := ac.sync(book, "")
		if len(changed) != 1 || changed[0] != a1href || len(gone) != 0 {
			t.Fatalf("first sync: %v %v", changed, gone)
		}
		// Nothing changed: nothing to fetch, the same token.
		changed, gone, again := ac.sync(book, tok1)
		if len(changed)+len(gone) != 0 || again != tok1 {
			t.Fatalf("no-change sync: %v %v %s→%s", changed, gone, tok1, again)
		}
		code, _, body = ac.do("REPORT", book, davtest.SyncBody("urn:obmen:sync:99999999"), "Depth", "1")
		if code != http.StatusForbidden || !strings.Contains(body, "valid-sync-token") {
			t.Errorf("a token from the future: %d %s", code, body)
		}

		// Create.
		href := book + "5e7a1c2d.vcf"
		code, hdr, body := ac.do("PUT", href, newCard, "If-None-Match", "*")
		if code != http.StatusCreated || hdr.Get("ETag") == "" {
			t.Fatalf("create: %d %s", code, body)
		}
		etag := hdr.Get("ETag")
		code, _, _ = ac.do("PUT", href, newCard, "If-None-Match", "*")
		if code != http.StatusPreconditionFailed {
			t.Errorf("create over an existing card: %d", code)
		}
		ids, err := s.DAVContactIDs(store.WithScopeOf(ctx, &store.Scope{UserID: alice.ID, See: []int64{alice.ID}, Edit: []int64{alice.ID}}), false, nil)
		if err != nil || len(ids) != 2 {
			t.Fatalf("alice's contacts after create: %v %v", ids, err)
		}
		created, err := s.GetContact(ctx, ids[1])
		if err != nil {
			t.Fatal(err)
		}
		if created.LastName != "Сидоров" || created.AssignedByID != alice.ID || len(created.Phones) != 1 || created.Phones[0].ValueType != "MOBILE" {
			t.Errorf("created contact: %+v", created)
		}
		code, hdr, body = ac.do("GET", href, "")
		if code != http.StatusOK || !strings.Contains(body, "X-CUSTOM-THING;X-P=1:keep me") || hdr.Get("ETag") != etag {
			t.Errorf("get: %d %q (PUT said %q) %s", code, hdr.Get("ETag"), etag, body)
		}

		// Change, with If-Match.
		changedCard := strings.Replace(newCard, "FN:Пётр Сидоров\r\n", "FN:Пётр Сидоров\r\nTITLE:Снабженец\r\n", 1)
		code, _, _ = ac.do("PUT", href, changedCard, "If-Match", `"stale"`)
		if code != http.StatusPreconditionFailed {
			t.Errorf("change with a stale ETag: %d", code)
		}
		code, hdr, body = ac.do("PUT", href, changedCard, "If-Match", etag)
		if code/100 != 2 {
			t.Fatalf("change: %d %s", code, body)
		}
		if hdr.Get("ETag") == etag {
			t.Errorf("the ETag did not change")
		}
		if c, _ := s.GetContact(ctx, created.ID); c.Position != "Снабженец" {
			t.Errorf("position after change: %q", c.Position)
		}
		// A card the CRM refuses: a readable 422, nothing stored.
		bad := strings.Replace(changedCard, "petr@example.org", "not an e-mail", 1)
		code, _, body = ac.do("PUT", href, bad)
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "emails[0]") {
			t.Errorf("a refused card: %d %s", code, body)
		}
		code, _, body = ac.do("PUT", href, "BEGIN:VCARD\r\nVERSION:3.0\r\nnonsense\r\nEND:VCARD\r\n")
		if code != http.StatusBadRequest || !strings.Contains(body, "vCard line 3") {
			t.Errorf("a malformed card: %d %s", code, body)
		}

		changed, gone, tok2 := ac.sync(book, tok1)
		if len(changed) != 1 || changed[0] != href || len(gone) != 0 {
			t.Fatalf("sync after create: %v %v", changed, gone)
		}
		// The people book has the linked contact only.
		changed, _, _ = ac.sync(people, "")
		if len(changed) != 1 || !strings.HasSuffix(changed[0], "/people/"+strconv.FormatInt(a1.ID, 10)+".vcf") {
			t.Errorf("people: %v", changed)
		}
		code, _, body = ac.do("GET", people+strconv.FormatInt(a1.ID, 10)+".vcf", "")
		if code != http.StatusOK || !strings.Contains(body, "ORG:ООО Ромашка") {
			t.Errorf("people card: %d %s", code, body)
		}

		// Bob's contact: not there for alice, whatever she tries; his
		// changes are not hers to hear of.
		if code, _, _ := ac.do("GET", b1href, ""); code != http.StatusNotFound {
			t.Errorf("GET bob's contact: %d", code)
		}
		if code, _, _ := ac.do("PUT", b1href, newCard); code != http.StatusForbidden {
			t.Errorf("PUT over bob's contact: %d", code)
		}
		if code, _, _ := ac.do("DELETE", b1href, ""); code != http.StatusNotFound {
			t.Errorf("DELETE bob's contact: %d", code)
		}
		if c, err := s.GetContact(ctx, b1.ID); err != nil || c.DeletedAt != nil || c.Name != "Борис" {
			t.Errorf("bob's contact after alice's tries: %+v %v", c, err)
		}
		if _, err := s.UpdateContact(ctx, crm.Actor{UserID: bob.ID}, b1.ID, func(c *crm.Contact) error { c.Position = "Тайный"; return nil }); err != nil {
			t.Fatal(err)
		}
		changed, gone, tok3 := ac.sync(book, tok2)
		if len(changed)+len(gone) != 0 {
			t.Errorf("alice hears of bob's change: %v %v", changed, gone)
		}
		// A contact given to bob leaves alice's book.
		if _, err := s.UpdateContact(ctx, admin, a1.ID, func(c *crm.Contact) error { c.AssignedByID = bob.ID; return nil }); err != nil {
			t.Fatal(err)
		}
		changed, gone, tok4 := ac.sync(book, tok3)
		if len(changed) != 0 || len(gone) != 1 || gone[0] != a1href {
			t.Errorf("after reassigning: %v %v", changed, gone)
		}

		// A grant changes what alice sees without an event: her token is
		// refused, so that her client syncs afresh, and bob's contacts
		// are hers to see then.
		if err := s.SetGrants(ctx, admin, alice.ID, []store.Grant{{OwnerID: bob.ID}}); err != nil {
			t.Fatal(err)
		}
		code, _, body = ac.do("REPORT", book, davtest.SyncBody(tok4), "Depth", "1")
		if code != http.StatusForbidden || !strings.Contains(body, "valid-sync-token") {
			t.Errorf("an old token after a grant: %d %s", code, body)
		}
		changed, _, _ = ac.sync(book, "")
		if !slices.Contains(changed, b1href) {
			t.Errorf("bob's contact after the grant: %v", changed)
		}
		if err := s.SetGrants(ctx, admin, alice.ID, nil); err != nil {
			t.Fatal(err)
		}
		_, _, tok4 = ac.sync(book, "")

		// Delete: to the recycle bin, and the next sync says so.
		code, _, body = ac.do("DELETE", href, "")
		if code/100 != 2 {
			t.Fatalf("delete: %d %s", code, body)
		}
		if c, _ := s.GetContact(ctx, created.ID); c.DeletedAt == nil {
			t.Errorf("the contact is not in the recycle bin")
		}
		changed, gone, _ = ac.sync(book, tok4)
		if len(changed) != 0 || len(gone) != 1 || gone[0] != href {
			t.Errorf("after delete: %v %v", changed, gone)
		}

		// A card made in the people book works for the company its ORG
		// names; one naming no company the CRM has is refused.
		withOrg := strings.Replace(strings.Replace(newCard, "5e7a1c2d-0000-4000-8000-000000000001", "people-1", 1), "FN:Пётр Сидоров\r\n", "FN:Пётр Сидоров\r\nORG:ООО Ромашка;Склад\r\n", 1)
		code, _, body = ac.do("PUT", people+"people-1.vcf", withOrg, "If-None-Match", "*")
		if code != http.StatusCreated {
			t.Fatalf("create in people: %d %s", code, body)
		}
		dc, err := s.DAVCardByName(ctx, "people-1.vcf")
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := s.GetContact(ctx, dc.ContactID); len(c.AccountIDs) != 1 || c.AccountIDs[0] != acc.ID {
			t.Errorf("the people card's contact: %+v", c.AccountIDs)
		}
		code, _, body = ac.do("PUT", people+"people-2.vcf", strings.Replace(withOrg, "ООО Ромашка", "ООО Неизвестная", 1), "If-None-Match", "*")
		if code != http.StatusUnprocessableEntity || !strings.Contains(body, "ООО Неизвестная") {
			t.Errorf("a people card of an unknown company: %d %s", code, body)
		}
	})
}
