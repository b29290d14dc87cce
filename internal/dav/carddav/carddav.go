// Package carddav serves each user two address books over CardDAV, on
// go-webdav's carddav.Handler: "contacts", the contacts the user may see,
// and "people", those of them who work for an account. A card created,
// changed or deleted in a client changes the contact through the store
// (access rules, validation, the change log); a refused change answers
// a DAV error with a readable message in English and Russian.
package carddav

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dav"
	"github.com/obmen/obmen/internal/dav/card"
	"github.com/obmen/obmen/internal/store"
)

// Segment is the address books' home set under the principal.
const Segment = "addressbooks"

// The books.
const (
	BookContacts = "contacts"
	BookPeople   = "people"
)

// Backend is the carddav.Backend over the store.
type Backend struct {
	store *store.Store
	// Message, when set, gives a validation error's message in Russian.
	Message func(*crm.FieldError) string
}

// NewService returns the CardDAV collection type for dav.Handler.Add.
func NewService(s *store.Store, message func(*crm.FieldError) string) dav.Service {
	b := &Backend{store: s, Message: message}
	h := &carddav.Handler{Backend: b, Prefix: dav.PrincipalsPrefix}
	return dav.Service{
		Segment: Segment, Handler: &guard{b: b, next: h},
		HomeSet: carddav.NewAddressBookHomeSet, Capability: carddav.CapabilityAddressBook,
		Multiget: [2]string{"urn:ietf:params:xml:ns:carddav", "addressbook-multiget"},
		Reports:  [][2]string{{"urn:ietf:params:xml:ns:carddav", "addressbook-query"}},
		Syncer:   b,
	}
}

// guard does, before go-webdav, what it does not: it reads a PUT's card
// with card.Parse (which names the line at fault, where go-webdav would
// drop a line it cannot read), caps its size, and honours If-Match on
// DELETE.
type guard struct {
	b    *Backend
	next http.Handler
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPut:
		body, err := io.ReadAll(io.LimitReader(r.Body, card.MaxBytes+1))
		if err != nil {
			http.Error(w, "carddav: read the card: "+err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := card.Parse(bytes.NewReader(body)); err != nil {
			status := http.StatusBadRequest
			if len(body) > card.MaxBytes {
				status = http.StatusRequestEntityTooLarge
			}
			http.Error(w, err.Error()+" / карточка vCard не прочитана: "+err.Error(), status)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	case http.MethodGet, http.MethodHead:
		// go-webdav would write the card with go-vcard's encoder, whose
		// parameter order varies from one answer to the next; the card
		// is written as its ETag was computed.
		if _, name, err := split(r.Context(), r.URL.Path); err == nil && name != "" {
			ctx := r.Context()
			if r.Method == http.MethodGet {
				ctx = withPhotoData(ctx)
			}
			ao, err := g.b.GetAddressObject(ctx, r.URL.Path, nil)
			if err != nil {
				if isStatus(err, http.StatusNotFound) {
					http.Error(w, err.Error(), http.StatusNotFound)
					return
				}
				g.next.ServeHTTP(w, r)
				return
			}
			enc, err := card.Bytes(ao.Card)
			if err != nil {
				http.Error(w, "carddav: internal error", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", vcard.MIMEType+"; charset=utf-8")
			w.Header().Set("ETag", `"`+ao.ETag+`"`)
			// HEAD reads no picture: ContentLength counts it from its size.
			n := int64(len(enc))
			if r.Method == http.MethodHead {
				n = ao.ContentLength
			}
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			if !ao.ModTime.IsZero() {
				w.Header().Set("Last-Modified", ao.ModTime.UTC().Format(http.TimeFormat))
			}
			if r.Method == http.MethodGet {
				_, _ = w.Write(enc)
			}
			return
		}
	case "REPORT":
		// A multiget (a client's, or the one dav makes for a
		// sync-collection) would load its cards one by one through
		// GetAddressObject: they are loaded in bulk first.
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, "carddav: read the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if asksCards(body) {
			var flush func()
			w, r, flush = servingCards(w, r)
			defer flush()
		}
		if hrefs, ok := multigetHrefs(body); ok {
			ctx, err := g.b.preload(r.Context(), hrefs)
			if err != nil {
				http.Error(w, "carddav: internal error", http.StatusInternalServerError)
				return
			}
			r = r.WithContext(ctx)
		}
	case "PROPFIND":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "carddav: read the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if asksCards(body) {
			var flush func()
			w, r, flush = servingCards(w, r)
			defer flush()
		}
	case http.MethodDelete:
		if m := webdav.ConditionalMatch(r.Header.Get("If-Match")); m.IsSet() && !m.IsWildcard() {
			ao, err := g.b.GetAddressObject(r.Context(), r.URL.Path, nil)
			want, _ := m.ETag()
			if err == nil && ao.ETag != want {
				http.Error(w, "the card changed since you read it / карточка изменилась с тех пор, как вы её прочли", http.StatusPreconditionFailed)
				return
			}
		}
	}
	g.next.ServeHTTP(w, r)
}

// servingCards readies a PROPFIND or REPORT whose answer carries the
// cards themselves: their photos are read with them, and the answer is
// held to be written by flush. go-webdav writes those cards with
// go-vcard's encoder, which escapes every comma: a 4.0 photo's data: URI
// would read "base64\," to a client that takes a URI as it is.
func servingCards(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, *http.Request, func()) {
	bw := &bufWriter{ResponseWriter: w}
	return bw, r.WithContext(withPhotoData(r.Context())), bw.flush
}

// bufWriter holds a PROPFIND's or REPORT's answer to write it with a 4.0
// photo's data: URI unescaped.
type bufWriter struct {
	http.ResponseWriter
	code int
	buf  bytes.Buffer
}

func (b *bufWriter) WriteHeader(code int)        { b.code = code }
func (b *bufWriter) Write(p []byte) (int, error) { return b.buf.Write(p) }

var escapedDataURI = []byte(";base64\\,")

func (b *bufWriter) flush() {
	out := bytes.ReplaceAll(b.buf.Bytes(), escapedDataURI, []byte(";base64,"))
	b.ResponseWriter.Header().Del("Content-Length")
	if b.code != 0 {
		b.ResponseWriter.WriteHeader(b.code)
	}
	_, _ = b.ResponseWriter.Write(out)
}

type photoDataKey struct{}

// withPhotoData marks a request whose answer carries the cards
// themselves: their photos are read with them. Elsewhere (a PROPFIND or a
// sync asking for ETags, a PUT, a DELETE) only their hashes are, for the
// ETags: a listing of thousands of contacts reads no picture.
func withPhotoData(ctx context.Context) context.Context {
	return context.WithValue(ctx, photoDataKey{}, true)
}

func wantsPhotoData(ctx context.Context) bool { v, _ := ctx.Value(photoDataKey{}).(bool); return v }

// asksCards reports whether a PROPFIND or REPORT body asks for the cards
// (address-data, or every property; an empty PROPFIND is allprop).
func asksCards(body []byte) bool {
	return len(bytes.TrimSpace(body)) == 0 || bytes.Contains(body, []byte("address-data")) || bytes.Contains(body, []byte("allprop"))
}

// multigetHrefs are the hrefs of an addressbook-multiget body.
func multigetHrefs(body []byte) ([]string, bool) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var hrefs []string
	first, inHref := true, false
	for {
		tok, err := d.Token()
		if err != nil {
			return hrefs, !first && err == io.EOF
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if first {
				if t.Name.Local != "addressbook-multiget" {
					return nil, false
				}
				first = false
			}
			inHref = t.Name.Space == "DAV:" && t.Name.Local == "href"
		case xml.EndElement:
			inHref = false
		case xml.CharData:
			if inHref {
				h := strings.TrimSpace(string(t))
				if u, err := url.Parse(h); err == nil {
					h = u.Path
				}
				hrefs = append(hrefs, h)
			}
		}
	}
}

type preloadKey struct{}

// preload renders the cards at hrefs in bulk into the context, where
// GetAddressObject finds them.
func (b *Backend) preload(ctx context.Context, hrefs []string) (context.Context, error) {
	byBook := map[string][]string{}
	var names []string
	for _, h := range hrefs {
		book, name, err := split(ctx, h)
		if err != nil || name == "" {
			continue
		}
		byBook[book] = append(byBook[book], name)
		names = append(names, name)
	}
	named, err := b.store.DAVCardsByName(ctx, names)
	if err != nil {
		return ctx, err
	}
	cache := map[string]*carddav.AddressObject{}
	for book, names := range byBook {
		var ids []int64
		for _, n := range names {
			if dc, ok := named[n]; ok {
				ids = append(ids, dc.ContactID)
			} else if m := numericName.FindStringSubmatch(n); m != nil {
				id, _ := strconv.ParseInt(m[1], 10, 64)
				ids = append(ids, id)
			}
		}
		for len(ids) > 0 {
			n := min(len(ids), 500)
			cs, err := b.store.DAVContacts(ctx, ids[:n])
			if err != nil {
				return ctx, err
			}
			aos, err := b.objects(ctx, book, cs)
			if err != nil {
				return ctx, err
			}
			for i := range aos {
				cache[aos[i].Path] = &aos[i]
			}
			ids = ids[n:]
		}
	}
	return context.WithValue(ctx, preloadKey{}, cache), nil
}

func userOf(ctx context.Context) (dav.User, error) {
	u, ok := dav.UserFrom(ctx)
	if !ok {
		return u, webdav.NewHTTPError(http.StatusUnauthorized, errors.New("carddav: no user"))
	}
	return u, nil
}

func homeOf(u dav.User) string { return dav.PrincipalPath(u.Login) + Segment + "/" }

// CurrentUserPrincipal is the signed-in user's principal.
func (b *Backend) CurrentUserPrincipal(ctx context.Context) (string, error) {
	u, err := userOf(ctx)
	if err != nil {
		return "", err
	}
	return dav.PrincipalPath(u.Login), nil
}

// AddressBookHomeSetPath is where the user's books are.
func (b *Backend) AddressBookHomeSetPath(ctx context.Context) (string, error) {
	u, err := userOf(ctx)
	if err != nil {
		return "", err
	}
	return homeOf(u), nil
}

func books(u dav.User) []carddav.AddressBook {
	data := []carddav.AddressDataType{{ContentType: vcard.MIMEType, Version: "3.0"}, {ContentType: vcard.MIMEType, Version: "4.0"}}
	return []carddav.AddressBook{
		{Path: homeOf(u) + BookContacts + "/", Name: "Контакты Obmen", Description: "Контакты CRM, которые вы видите",
			MaxResourceSize: card.MaxBytes, SupportedAddressData: data},
		{Path: homeOf(u) + BookPeople + "/", Name: "Люди компаний Obmen", Description: "Контакты, связанные с компаниями",
			MaxResourceSize: card.MaxBytes, SupportedAddressData: data},
	}
}

// ListAddressBooks lists the two books.
func (b *Backend) ListAddressBooks(ctx context.Context) ([]carddav.AddressBook, error) {
	u, err := userOf(ctx)
	if err != nil {
		return nil, err
	}
	return books(u), nil
}

// split reads a path as a book and a card name ("" for the book itself).
func split(ctx context.Context, p string) (book, name string, err error) {
	u, err := userOf(ctx)
	if err != nil {
		return "", "", err
	}
	rest, ok := strings.CutPrefix(p, homeOf(u))
	if !ok {
		return "", "", webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("carddav: %s is not in your address books", p))
	}
	book, name, _ = strings.Cut(rest, "/")
	if book != BookContacts && book != BookPeople {
		return "", "", webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("carddav: no address book %q", book))
	}
	if strings.Contains(name, "/") {
		return "", "", webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("carddav: no card %q", name))
	}
	return book, name, nil
}

// GetAddressBook returns one of the books.
func (b *Backend) GetAddressBook(ctx context.Context, p string) (*carddav.AddressBook, error) {
	book, name, err := split(ctx, p)
	if err != nil {
		return nil, err
	}
	if name != "" {
		return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("carddav: %s is a card, not a book", p))
	}
	u, _ := userOf(ctx)
	for _, ab := range books(u) {
		if strings.HasSuffix(ab.Path, "/"+book+"/") {
			return &ab, nil
		}
	}
	return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("carddav: no address book %q", book))
}

var errFixedBooks = webdav.NewHTTPError(http.StatusForbidden,
	errors.New("the address books are the CRM's and cannot be created or deleted / адресные книги задаёт CRM, их нельзя создать или удалить"))

// CreateAddressBook is refused: the books are fixed.
func (b *Backend) CreateAddressBook(context.Context, *carddav.AddressBook) error {
	return errFixedBooks
}

// DeleteAddressBook is refused: the books are fixed.
func (b *Backend) DeleteAddressBook(context.Context, string) error { return errFixedBooks }

var numericName = regexp.MustCompile(`^([1-9][0-9]{0,18})\.vcf$`)

// resolve finds the contact a card name stands for: a name a client
// gave, else {id}.vcf. 0 when there is none.
func (b *Backend) resolve(ctx context.Context, name string) (int64, store.DAVCard, error) {
	dc, err := b.store.DAVCardByName(ctx, name)
	if err == nil {
		return dc.ContactID, dc, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return 0, dc, err
	}
	if m := numericName.FindStringSubmatch(name); m != nil {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		cards, err := b.store.DAVCards(ctx, []int64{id})
		if err != nil {
			return 0, dc, err
		}
		if c, ok := cards[id]; ok && c.Name != name {
			return 0, dc, nil // the contact's card has a name of its own
		}
		return id, cards[id], nil
	}
	return 0, dc, nil
}

// objects renders contacts as the cards of book.
func (b *Backend) objects(ctx context.Context, book string, cs []crm.Contact) ([]carddav.AddressObject, error) {
	u, err := userOf(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(cs))
	var accIDs []int64
	for _, c := range cs {
		ids = append(ids, c.ID)
		if len(c.AccountIDs) > 0 {
			accIDs = append(accIDs, c.AccountIDs[0])
		}
	}
	cards, err := b.store.DAVCards(ctx, ids)
	if err != nil {
		return nil, err
	}
	titles, err := b.store.AccountTitles(ctx, accIDs)
	if err != nil {
		return nil, err
	}
	withData := wantsPhotoData(ctx)
	photos, err := b.store.PhotosOf(ctx, store.EntityContact, ids, withData)
	if err != nil {
		return nil, err
	}
	out := make([]carddav.AddressObject, 0, len(cs))
	for _, c := range cs {
		if book == BookPeople && len(c.AccountIDs) == 0 {
			continue
		}
		org := ""
		if len(c.AccountIDs) > 0 {
			org = titles[c.AccountIDs[0]]
		}
		dc := cards[c.ID]
		var ph *card.Photo
		mod := c.UpdatedAt
		if p, ok := photos[c.ID]; ok {
			ph = &card.Photo{ContentType: p.ContentType, SHA256: p.SHA256, Size: p.Size, Data: p.Data}
			if t := time.UnixMicro(p.UpdatedAt); t.After(mod) {
				mod = t // a new photo is a change of the card
			}
		}
		vc, err := card.Render(c, org, card.Stored{UID: dc.UID, Raw: dc.Raw}, ph)
		if err != nil {
			return nil, err
		}
		enc, err := card.Bytes(vc)
		if err != nil {
			return nil, err
		}
		size := int64(len(enc)) + card.PhotoBytes(vc, ph)
		etag := card.PhotoETag(enc, ph)
		card.AddPhoto(vc, ph)
		name := dc.Name
		if name == "" {
			name = strconv.FormatInt(c.ID, 10) + ".vcf"
		}
		out = append(out, carddav.AddressObject{Path: homeOf(u) + book + "/" + name, ModTime: mod,
			ContentLength: size, ETag: etag, Card: vc})
	}
	return out, nil
}

func notFound(p string) error {
	return webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("carddav: no card %s / нет такой карточки", p))
}

// GetAddressObject renders one card.
func (b *Backend) GetAddressObject(ctx context.Context, p string, _ *carddav.AddressDataRequest) (*carddav.AddressObject, error) {
	if cache, ok := ctx.Value(preloadKey{}).(map[string]*carddav.AddressObject); ok {
		if ao, ok := cache[p]; ok {
			return ao, nil
		}
	}
	book, name, err := split(ctx, p)
	if err != nil {
		return nil, err
	}
	id, _, err := b.resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	if id == 0 {
		return nil, notFound(p)
	}
	cs, err := b.store.DAVContacts(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	aos, err := b.objects(ctx, book, cs)
	if err != nil {
		return nil, err
	}
	if len(aos) == 0 {
		return nil, notFound(p)
	}
	return &aos[0], nil
}

// ListAddressObjects renders every card of a book.
func (b *Backend) ListAddressObjects(ctx context.Context, p string, _ *carddav.AddressDataRequest) ([]carddav.AddressObject, error) {
	book, _, err := split(ctx, p)
	if err != nil {
		return nil, err
	}
	ids, err := b.store.DAVContactIDs(ctx, book == BookPeople, nil)
	if err != nil {
		return nil, err
	}
	out := make([]carddav.AddressObject, 0, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), 500)
		cs, err := b.store.DAVContacts(ctx, ids[:n])
		if err != nil {
			return nil, err
		}
		aos, err := b.objects(ctx, book, cs)
		if err != nil {
			return nil, err
		}
		out = append(out, aos...)
		ids = ids[n:]
	}
	return out, nil
}

// QueryAddressObjects filters a book's cards as the query asks.
func (b *Backend) QueryAddressObjects(ctx context.Context, p string, q *carddav.AddressBookQuery) ([]carddav.AddressObject, error) {
	aos, err := b.ListAddressObjects(ctx, p, nil)
	if err != nil {
		return nil, err
	}
	return carddav.Filter(q, aos)
}

var errPrecondition = errors.New("the card changed since you read it / карточка изменилась с тех пор, как вы её прочли")

// PutAddressObject creates or changes a contact from a card.
func (b *Backend) PutAddressObject(ctx context.Context, p string, vc vcard.Card, opts *carddav.PutAddressObjectOptions) (*carddav.AddressObject, error) {
	u, err := userOf(ctx)
	if err != nil {
		return nil, err
	}
	book, name, err := split(ctx, p)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return nil, webdav.NewHTTPError(http.StatusMethodNotAllowed, errors.New("carddav: PUT a card into a book, not the book"))
	}
	id, prev, err := b.resolve(ctx, name)
	if err != nil {
		return nil, err
	}
	var cur *carddav.AddressObject
	if id != 0 {
		cur, err = b.GetAddressObject(ctx, p, nil)
		if err != nil && !isStatus(err, http.StatusNotFound) {
			return nil, err
		}
		if cur == nil {
			// A contact the user may not see, in the recycle bin, or
			// not in this book: not theirs to overwrite.
			return nil, webdav.NewHTTPError(http.StatusForbidden,
				fmt.Errorf("the card %s is not yours to change / эту карточку вам менять нельзя", name))
		}
	}
	if opts != nil {
		if opts.IfNoneMatch.IsWildcard() && cur != nil {
			return nil, webdav.NewHTTPError(http.StatusPreconditionFailed, fmt.Errorf("the card %s exists already / карточка %s уже есть", name, name))
		}
		if opts.IfMatch.IsSet() {
			want, _ := opts.IfMatch.ETag()
			if cur == nil || (!opts.IfMatch.IsWildcard() && want != cur.ETag) {
				return nil, webdav.NewHTTPError(http.StatusPreconditionFailed, errPrecondition)
			}
		}
	}
	photo, hasPhoto, err := card.InlinePhoto(vc)
	if err != nil {
		return nil, webdav.NewHTTPError(http.StatusBadRequest, fmt.Errorf("%v / фото (PHOTO) в карточке не прочитано: %v", err, err))
	}
	sum := ""
	if hasPhoto {
		sum = card.PhotoSHA256(photo)
	}
	raw, err := card.Bytes(card.ForStorage(vc, sum))
	if err != nil {
		return nil, webdav.NewHTTPError(http.StatusBadRequest, err)
	}
	dc := store.DAVCard{Name: name, UID: vc.Value(vcard.FieldUID), Raw: string(raw)}
	// The photo follows the card only where the client changed it: a
	// picture other than the one it sent last is set; a photo it had and
	// took out is removed. One it echoes, or a card that never had one
	// (an old client's, that never knew of a photo set in the CRM),
	// leaves the CRM's photo as it is.
	had, hadSum := card.SentPhoto(prev.Raw)
	if id == 0 {
		had, hadSum = false, ""
	}
	switch {
	case hasPhoto && (!had || sum != hadSum):
		dc.Photo = photo
	case !hasPhoto && had:
		dc.DropPhoto = true
	}
	var saved crm.Contact
	if id == 0 {
		c := crm.Contact{}
		c.AssignedByID = u.ID
		card.Apply(vc, &c)
		if book == BookPeople {
			// A person of a company: the card's ORG names the account.
			org, _, _ := strings.Cut(vc.Value(vcard.FieldOrganization), ";")
			org = strings.TrimSpace(org)
			if org == "" {
				return nil, webdav.NewHTTPError(http.StatusUnprocessableEntity, errors.New(
					"a new card in «Люди компаний Obmen» needs its company (ORG) / новой карточке в книге «Люди компаний Obmen» нужна организация (ORG) — компания из CRM"))
			}
			aid, err := b.store.AccountIDByTitle(ctx, org)
			if errors.Is(err, store.ErrNotFound) {
				return nil, webdav.NewHTTPError(http.StatusUnprocessableEntity, fmt.Errorf(
					"no company %q in the CRM that you can see / в CRM нет видимой вам компании «%s»: создайте её или добавьте карточку в «Контакты Obmen»", org, org))
			}
			if err != nil {
				return nil, err
			}
			c.AccountIDs = []int64{aid}
		}
		saved, err = b.store.SaveContactCard(ctx, u.Actor, 0, c, nil, dc)
	} else {
		saved, err = b.store.SaveContactCard(ctx, u.Actor, id, crm.Contact{}, func(c *crm.Contact) error {
			card.Apply(vc, c)
			return nil
		}, dc)
	}
	if err != nil {
		return nil, b.refusal(err)
	}
	aos, err := b.objects(ctx, book, []crm.Contact{saved})
	if err != nil {
		return nil, err
	}
	if len(aos) == 0 {
		return &carddav.AddressObject{Path: p}, nil
	}
	return &aos[0], nil
}

// DeleteAddressObject moves a contact to the recycle bin.
func (b *Backend) DeleteAddressObject(ctx context.Context, p string) error {
	u, err := userOf(ctx)
	if err != nil {
		return err
	}
	if _, err := b.GetAddressObject(ctx, p, nil); err != nil {
		return err
	}
	_, name, _ := split(ctx, p)
	id, _, err := b.resolve(ctx, name)
	if err != nil {
		return err
	}
	if err := b.store.Delete(ctx, u.Actor, store.EntityContact, id); err != nil {
		return b.refusal(err)
	}
	return nil
}

// isStatus reports whether err is go-webdav's HTTP error of code (its
// type is internal to go-webdav; its text starts with the code).
func isStatus(err error, code int) bool {
	return err != nil && strings.HasPrefix(err.Error(), strconv.Itoa(code)+" ")
}

// refusal turns a store error into a DAV answer a person can read.
func (b *Backend) refusal(err error) error {
	if fes := crm.AllFieldErrors(err); len(fes) > 0 {
		var en, ru []string
		for _, fe := range fes {
			en = append(en, fe.Field+": "+fe.Message)
			msg := fe.Message
			if b.Message != nil {
				msg = b.Message(fe)
			}
			ru = append(ru, fe.Field+": "+msg)
		}
		return webdav.NewHTTPError(http.StatusUnprocessableEntity, fmt.Errorf("the CRM refused the card: %s / CRM не приняла карточку: %s",
			strings.Join(en, "; "), strings.Join(ru, "; ")))
	}
	switch {
	case errors.Is(err, store.ErrForbidden):
		return webdav.NewHTTPError(http.StatusForbidden, fmt.Errorf("you may read this contact but not change it / этот контакт вам доступен только для чтения"))
	case errors.Is(err, store.ErrNotFound):
		return webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no such contact / такого контакта нет"))
	case errors.Is(err, store.ErrConflict):
		return webdav.NewHTTPError(http.StatusConflict, fmt.Errorf("%v / конфликт: карточка с этим именем уже есть", err))
	}
	return err
}

// Token is the sync token (and getctag) of a book.
func (b *Backend) Token(ctx context.Context, p string) (int64, error) {
	_, name, err := split(ctx, p)
	if err != nil || name != "" {
		return 0, dav.ErrNotCollection
	}
	return b.store.DAVLastChange(ctx)
}

// Changes lists the cards of a book changed or gone since a token.
func (b *Backend) Changes(ctx context.Context, p string, since int64) (dav.Changes, error) {
	u, err := userOf(ctx)
	if err != nil {
		return dav.Changes{}, err
	}
	book, name, err := split(ctx, p)
	if err != nil || name != "" {
		return dav.Changes{}, dav.ErrNotCollection
	}
	tok, err := b.store.DAVLastChange(ctx)
	if err != nil {
		return dav.Changes{}, err
	}
	ch := dav.Changes{Token: tok, Changed: []string{}, Deleted: []string{}}
	var cand []int64 // nil: every card (a first sync)
	var left map[int64]bool
	if since > 0 {
		if left, err = b.store.DAVChangedContacts(ctx, since, tok); err != nil {
			return ch, err
		}
		if len(left) == 0 {
			return ch, nil
		}
		cand = make([]int64, 0, len(left))
		for id := range left {
			cand = append(cand, id)
		}
		slices.Sort(cand)
	}
	vis, err := b.store.DAVContactIDs(ctx, book == BookPeople, cand)
	if err != nil {
		return ch, err
	}
	seen := make(map[int64]bool, len(vis))
	for _, id := range vis {
		seen[id] = true
	}
	all := vis
	for _, id := range cand {
		if !seen[id] && left[id] {
			all = append(all, id)
		}
	}
	cards, err := b.store.DAVCards(ctx, all)
	if err != nil {
		return ch, err
	}
	href := func(id int64) string {
		n := cards[id].Name
		if n == "" {
			n = strconv.FormatInt(id, 10) + ".vcf"
		}
		return homeOf(u) + book + "/" + n
	}
	for _, id := range all {
		if seen[id] {
			ch.Changed = append(ch.Changed, href(id))
		} else {
			ch.Deleted = append(ch.Deleted, href(id))
		}
	}
	return ch, nil
}
