package google

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	people "google.golang.org/api/people/v1"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// personFields are read with every person: all a mapping may name.
const personFields = "names,nicknames,organizations,biographies,birthdays,phoneNumbers,emailAddresses,addresses,metadata"

// pageSize is the People API's largest page of connections.
const pageSize = 1000

// contactView is a contact's mapped fields keyed by the CRM field, each
// in the shape Google keeps it (an address as Google's parts), so the
// hashes of both sides compare.
func (r *run) contactView(c crm.Contact) map[string]any {
	v := map[string]any{}
	for _, p := range r.s.Settings.ContactFields {
		switch p.CRM {
		case "honorific":
			v[p.CRM] = c.Honorific
		case "name":
			v[p.CRM] = c.Name
		case "second_name":
			v[p.CRM] = c.SecondName
		case "last_name":
			v[p.CRM] = c.LastName
		case "position":
			v[p.CRM] = c.Position
		case "birthdate":
			v[p.CRM] = c.Birthdate
		case "comments":
			v[p.CRM] = c.Comments
		case "source_description":
			v[p.CRM] = c.SourceDescription
		case "phones":
			v[p.CRM] = commKeys(c.Phones, true)
		case "emails":
			v[p.CRM] = commKeys(c.Emails, false)
		case "address":
			v[p.CRM] = addrParts(c.Address)
		case "other_address":
			v[p.CRM] = addrParts(c.OtherAddress)
		}
	}
	return v
}

func commKeys(cs []crm.Comm, phone bool) []string {
	out := []string{}
	for _, c := range cs {
		out = append(out, commKey(c.Value, phone))
	}
	return out
}

func commKey(v string, phone bool) string {
	if phone {
		return crm.PhoneKey(v)
	}
	return strings.ToLower(strings.TrimSpace(v))
}

// addrParts is an address as Google's parts: postal code, country,
// region, city, street address (street and house), extended (flat).
func addrParts(a crm.Address) []string {
	street := strings.TrimSpace(strings.Join(slices.DeleteFunc([]string{strings.TrimSpace(a.Street), strings.TrimSpace(a.House)}, func(s string) bool { return s == "" }), ", "))
	return []string{a.Postcode, a.Country, a.Region, a.City, street, a.Flat}
}

func first[T any](xs []*T) *T {
	if len(xs) == 0 {
		return nil
	}
	return xs[0]
}

// personView is a person's mapped fields keyed by the CRM field.
func (r *run) personView(p *people.Person) map[string]any {
	v := map[string]any{}
	for _, pr := range r.s.Settings.ContactFields {
		v[pr.CRM] = personValue(p, pr.Google)
	}
	return v
}

func personValue(p *people.Person, field string) any {
	n, o := first(p.Names), first(p.Organizations)
	if n == nil {
		n = &people.Name{}
	}
	if o == nil {
		o = &people.Organization{}
	}
	switch field {
	case "names.honorificPrefix":
		return n.HonorificPrefix
	case "names.givenName":
		return n.GivenName
	case "names.middleName":
		return n.MiddleName
	case "names.familyName":
		return n.FamilyName
	case "nicknames.value":
		if k := first(p.Nicknames); k != nil {
			return k.Value
		}
		return ""
	case "organizations.name":
		return o.Name
	case "organizations.title":
		return o.Title
	case "organizations.department":
		return o.Department
	case "biographies.value":
		if b := first(p.Biographies); b != nil {
			return b.Value
		}
		return ""
	case "birthdays.date":
		if b := first(p.Birthdays); b != nil && b.Date != nil && b.Date.Year > 0 && b.Date.Month > 0 && b.Date.Day > 0 {
			return fmt.Sprintf("%04d-%02d-%02d", b.Date.Year, b.Date.Month, b.Date.Day)
		}
		return ""
	case "phoneNumbers":
		out := []string{}
		for _, ph := range p.PhoneNumbers {
			out = append(out, commKey(ph.Value, true))
		}
		return out
	case "emailAddresses":
		out := []string{}
		for _, e := range p.EmailAddresses {
			out = append(out, commKey(e.Value, false))
		}
		return out
	case "addresses.home", "addresses.work":
		typ := strings.TrimPrefix(field, "addresses.")
		for _, a := range p.Addresses {
			if a.Type == typ {
				return []string{a.PostalCode, a.Country, a.Region, a.City, a.StreetAddress, a.ExtendedAddress}
			}
		}
		return []string{"", "", "", "", "", ""}
	}
	return nil
}

// applyPerson writes the person's mapped fields into the contact.
func (r *run) applyPerson(c *crm.Contact, p *people.Person) {
	for _, pr := range r.s.Settings.ContactFields {
		val := personValue(p, pr.Google)
		s, _ := val.(string)
		switch pr.CRM {
		case "honorific":
			c.Honorific = s
		case "name":
			c.Name = s
		case "second_name":
			c.SecondName = s
		case "last_name":
			c.LastName = s
		case "position":
			c.Position = s
		case "birthdate":
			c.Birthdate = s
		case "comments":
			c.Comments = s
		case "source_description":
			c.SourceDescription = s
		case "phones":
			var out []crm.Comm
			for _, ph := range p.PhoneNumbers {
				out = append(out, crm.Comm{Value: ph.Value, ValueType: keepType(c.Phones, ph.Value, true, phoneTypeFrom(ph.Type))})
			}
			c.Phones = out
		case "emails":
			var out []crm.Comm
			for _, e := range p.EmailAddresses {
				out = append(out, crm.Comm{Value: e.Value, ValueType: keepType(c.Emails, e.Value, false, emailTypeFrom(e.Type))})
			}
			c.Emails = out
		case "address", "other_address":
			parts := val.([]string)
			a := crm.Address{Postcode: parts[0], Country: parts[1], Region: parts[2], City: parts[3], Street: parts[4], Flat: parts[5]}
			if pr.CRM == "address" {
				c.Address = a
			} else {
				c.OtherAddress = a
			}
		}
	}
}

// keepType keeps the type a value already has in the CRM.
func keepType(cs []crm.Comm, v string, phone bool, def string) string {
	k := commKey(v, phone)
	for _, c := range cs {
		if commKey(c.Value, phone) == k && c.ValueType != "" {
			return c.ValueType
		}
	}
	return def
}

func phoneTypeFrom(t string) string {
	switch strings.ToLower(t) {
	case "mobile":
		return "MOBILE"
	case "home":
		return "HOME"
	case "homefax", "workfax", "otherfax":
		return "FAX"
	case "pager":
		return "PAGER"
	case "work", "main", "workmobile":
		return "WORK"
	}
	return "OTHER"
}

func phoneTypeTo(t string) string {
	switch t {
	case "MOBILE":
		return "mobile"
	case "HOME":
		return "home"
	case "FAX":
		return "workFax"
	case "PAGER":
		return "pager"
	case "WORK":
		return "work"
	}
	return "other"
}

func emailTypeFrom(t string) string {
	switch strings.ToLower(t) {
	case "home":
		return "HOME"
	case "work":
		return "WORK"
	}
	return "OTHER"
}

func emailTypeTo(t string) string {
	switch t {
	case "HOME":
		return "home"
	case "WORK":
		return "work"
	}
	return "other"
}

// applyContact writes the contact's mapped fields into the person and
// returns the person fields to update. Fields the mapping does not name
// are left as the person has them.
func (r *run) applyContact(p *people.Person, c crm.Contact) []string {
	var fields []string
	touch := func(f string) {
		if !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	name := func() *people.Name {
		if len(p.Names) == 0 {
			p.Names = []*people.Name{{}}
		}
		touch("names")
		return p.Names[0]
	}
	org := func() *people.Organization {
		if len(p.Organizations) == 0 {
			p.Organizations = []*people.Organization{{}}
		}
		touch("organizations")
		return p.Organizations[0]
	}
	for _, pr := range r.s.Settings.ContactFields {
		var s string
		switch pr.CRM {
		case "honorific":
			s = c.Honorific
		case "name":
			s = c.Name
		case "second_name":
			s = c.SecondName
		case "last_name":
			s = c.LastName
		case "position":
			s = c.Position
		case "birthdate":
			s = c.Birthdate
		case "comments":
			s = c.Comments
		case "source_description":
			s = c.SourceDescription
		}
		switch pr.Google {
		case "names.honorificPrefix":
			name().HonorificPrefix = s
		case "names.givenName":
			name().GivenName = s
		case "names.middleName":
			name().MiddleName = s
		case "names.familyName":
			name().FamilyName = s
		case "nicknames.value":
			touch("nicknames")
			p.Nicknames = nil
			if s != "" {
				p.Nicknames = []*people.Nickname{{Value: s}}
			}
		case "organizations.name":
			org().Name = s
		case "organizations.title":
			org().Title = s
		case "organizations.department":
			org().Department = s
		case "biographies.value":
			touch("biographies")
			p.Biographies = nil
			if s != "" {
				p.Biographies = []*people.Biography{{Value: s, ContentType: "TEXT_PLAIN"}}
			}
		case "birthdays.date":
			touch("birthdays")
			p.Birthdays = nil
			if t, err := time.Parse(time.DateOnly, s); err == nil {
				p.Birthdays = []*people.Birthday{{Date: &people.Date{Year: int64(t.Year()), Month: int64(t.Month()), Day: int64(t.Day())}}}
			}
		case "phoneNumbers":
			touch("phoneNumbers")
			p.PhoneNumbers = nil
			for _, ph := range c.Phones {
				p.PhoneNumbers = append(p.PhoneNumbers, &people.PhoneNumber{Value: ph.Value, Type: phoneTypeTo(ph.ValueType)})
			}
		case "emailAddresses":
			touch("emailAddresses")
			p.EmailAddresses = nil
			for _, e := range c.Emails {
				p.EmailAddresses = append(p.EmailAddresses, &people.EmailAddress{Value: e.Value, Type: emailTypeTo(e.ValueType)})
			}
		case "addresses.home", "addresses.work":
			touch("addresses")
			typ := strings.TrimPrefix(pr.Google, "addresses.")
			a := c.Address
			if pr.CRM == "other_address" {
				a = c.OtherAddress
			}
			parts := addrParts(a)
			p.Addresses = slices.DeleteFunc(p.Addresses, func(x *people.Address) bool { return x.Type == typ })
			if strings.Join(parts, "") != "" {
				p.Addresses = append(p.Addresses, &people.Address{Type: typ, PostalCode: parts[0], Country: parts[1], Region: parts[2],
					City: parts[3], StreetAddress: parts[4], ExtendedAddress: parts[5]})
			}
		}
	}
	return fields
}

// personUpdated is when the person last changed in Google (zero when
// Google does not say).
func personUpdated(p *people.Person) time.Time {
	var at time.Time
	if p.Metadata != nil {
		for _, s := range p.Metadata.Sources {
			if s.Type == "CONTACT" {
				if t, err := time.Parse(time.RFC3339Nano, s.UpdateTime); err == nil && t.After(at) {
					at = t
				}
			}
		}
	}
	return at
}

// listPeople reads every page of connections after token ("": all of
// them); it returns the persons and the next sync token.
func (r *run) listPeople(ctx context.Context, token string) ([]*people.Person, string, error) {
	return pages(func(page string) ([]*people.Person, string, string, error) {
		call := r.people.People.Connections.List("people/me").PersonFields(personFields).PageSize(pageSize).RequestSyncToken(true).Context(ctx)
		if token != "" {
			call = call.SyncToken(token)
		}
		if page != "" {
			call = call.PageToken(page)
		}
		resp, err := call.Do()
		if err != nil {
			return nil, "", "", err
		}
		return resp.Connections, resp.NextPageToken, resp.NextSyncToken, nil
	})
}

// contacts runs the contacts' side of a sync.
func (r *run) contacts(ctx context.Context) error {
	side := &r.res.Contacts
	set := r.s.Settings
	byRec, byRemote, err := r.sv.links(ctx, r.s.ID, linkContact)
	if err != nil {
		return err
	}
	token := r.s.peopleToken
	persons, next, err := r.listPeople(ctx, token)
	if token != "" && expiredPeopleToken(err) {
		r.sv.d.log().Info("google: the People sync token expired, listing all contacts", "user", r.s.UserID)
		token = ""
		persons, next, err = r.listPeople(ctx, "")
	}
	if err != nil {
		return fmt.Errorf("google: list the contacts: %w", err)
	}
	side.Full = token == ""
	cache := map[string]*people.Person{}
	push := map[int64]bool{} // records Obmen's version of which wins
	seen := map[string]bool{}
	for _, p := range persons {
		seen[p.ResourceName] = true
		if p.Metadata != nil && p.Metadata.Deleted {
			r.remoteGone(ctx, contactKind, byRec, byRemote, p.ResourceName, push)
			continue
		}
		cache[p.ResourceName] = p
		r.pullPerson(ctx, p, byRec, byRemote, push)
	}
	if side.Full {
		// A full listing names every live contact: a linked one it does
		// not name was deleted in Google meanwhile.
		for rn := range byRemote {
			if !seen[rn] {
				r.remoteGone(ctx, contactKind, byRec, byRemote, rn, push)
			}
		}
	}
	if set.push() {
		if err := r.pushContacts(ctx, byRec, cache, push); err != nil {
			return err
		}
	}
	r.s.peopleToken = next
	r.s.contactsCur = r.upTo
	return nil
}

// pullPerson brings one live person into Obmen.
func (r *run) pullPerson(ctx context.Context, p *people.Person, byRec map[int64]*link, byRemote map[string]*link, push map[int64]bool) {
	side := &r.res.Contacts
	set := r.s.Settings
	rv := r.personView(p)
	rh := hashView(rv)
	l := byRemote[p.ResourceName]
	if l == nil {
		c, found, err := r.matchContact(ctx, p, byRec)
		if err != nil {
			r.res.fail(&side.ToObmen, "%s: %v", p.ResourceName, err)
			return
		}
		switch {
		case found:
			l = &link{Kind: linkContact, RecordID: c.ID, RemoteID: p.ResourceName, ETag: p.Etag, RemoteHash: rh}
			lv := hashView(r.contactView(c))
			if lv != rh && set.pull() && (!set.push() || (set.Conflict == LaterWins && personUpdated(p).After(c.UpdatedAt))) {
				if c, err = r.updateContact(ctx, c.ID, p); err != nil {
					r.res.fail(&side.ToObmen, "contact %d (%s): %v", l.RecordID, p.ResourceName, err)
					return
				}
				side.ToObmen.Updated++
				lv = hashView(r.contactView(c))
			} else if lv != rh {
				push[c.ID] = true
			}
			l.LocalHash = lv
		case set.pull():
			c := crm.Contact{}
			c.AssignedByID = r.s.UserID
			r.applyPerson(&c, p)
			c, err = r.sv.d.Store.CreateContact(ctx, r.actor, c)
			if err != nil {
				r.res.fail(&side.ToObmen, "%s: %v", p.ResourceName, err)
				return
			}
			side.ToObmen.Created++
			l = &link{Kind: linkContact, RecordID: c.ID, RemoteID: p.ResourceName, ETag: p.Etag, RemoteHash: rh, LocalHash: hashView(r.contactView(c))}
		default:
			return
		}
		if err := r.sv.saveLink(ctx, r.s.ID, l); err != nil {
			r.res.fail(&side.ToObmen, "%v", err)
			return
		}
		byRec[l.RecordID], byRemote[l.RemoteID] = l, l
		return
	}
	if rh == l.RemoteHash {
		if l.ETag != p.Etag {
			l.ETag = p.Etag
			_ = r.sv.saveLink(ctx, r.s.ID, l)
		}
		return
	}
	// Changed in Google since the last run.
	l.ETag, l.RemoteHash = p.Etag, rh
	c, err := r.sv.d.Store.GetContact(ctx, l.RecordID)
	if err != nil {
		// Deleted in Obmen: its deletion goes to Google by the change log.
		_ = r.sv.saveLink(ctx, r.s.ID, l)
		return
	}
	localChanged := hashView(r.contactView(c)) != l.LocalHash
	switch {
	case !set.pull():
		// Obmen → Google only: Google's edits are overwritten.
		push[c.ID] = true
		side.ToObmen.Skipped++
	case localChanged && set.push() && (set.Conflict == ObmenWins || !personUpdated(p).After(c.UpdatedAt)):
		push[c.ID] = true
		side.ToObmen.Skipped++
	default:
		c, err = r.updateContact(ctx, c.ID, p)
		if err != nil {
			r.res.fail(&side.ToObmen, "contact %d (%s): %v", l.RecordID, p.ResourceName, err)
			return
		}
		side.ToObmen.Updated++
		l.LocalHash = hashView(r.contactView(c))
	}
	if err := r.sv.saveLink(ctx, r.s.ID, l); err != nil {
		r.res.fail(&side.ToObmen, "%v", err)
	}
}

func (r *run) updateContact(ctx context.Context, id int64, p *people.Person) (crm.Contact, error) {
	return r.sv.d.Store.UpdateContact(ctx, r.actor, id, func(c *crm.Contact) error {
		r.applyPerson(c, p)
		return nil
	})
}

// matchContact finds, for a person never paired, the user's contact with
// one of its e-mails or phones that is paired with no other person.
func (r *run) matchContact(ctx context.Context, p *people.Person, byRec map[int64]*link) (crm.Contact, bool, error) {
	var tries []store.ListParams
	for _, e := range p.EmailAddresses {
		if e.Value != "" {
			tries = append(tries, store.ListParams{Email: e.Value})
		}
	}
	for _, ph := range p.PhoneNumbers {
		if ph.Value != "" {
			tries = append(tries, store.ListParams{Phone: ph.Value})
		}
	}
	for _, lp := range tries {
		lp.Limit = 20
		lp.Filters = []store.Filter{{Field: "assigned_by_id", Op: "eq", Value: fmt.Sprint(r.s.UserID)}}
		cs, _, err := r.sv.d.Store.ListContacts(ctx, lp)
		if err != nil {
			return crm.Contact{}, false, err
		}
		for _, c := range cs {
			if byRec[c.ID] == nil {
				return c, true, nil
			}
		}
	}
	return crm.Contact{}, false, nil
}

// userContacts are the ids of the user's live contacts.
func (r *run) userContacts(ctx context.Context) (map[int64]bool, error) {
	rows, err := r.sv.d.DB.Reader().QueryContext(ctx, "SELECT id FROM contacts WHERE assigned_by_id = $1 AND deleted_at = 0", r.s.UserID)
	if err != nil {
		return nil, fmt.Errorf("google: the user's contacts: %w", err)
	}
	defer rows.Close()
	ids := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("google: the user's contacts: %w", err)
		}
		ids[id] = true
	}
	return ids, rows.Err()
}

// pushContacts sends Obmen's changes since the cursor to Google.
func (r *run) pushContacts(ctx context.Context, byRec map[int64]*link, cache map[string]*people.Person, push map[int64]bool) error {
	side := &r.res.Contacts
	var ids map[int64]bool
	var err error
	if r.s.contactsCur < 0 {
		ids, err = r.userContacts(ctx)
	} else {
		ids, err = r.changed(ctx, store.EntityContact, r.s.contactsCur)
	}
	if err != nil {
		return err
	}
	for id := range push {
		ids[id] = true
	}
	order := make([]int64, 0, len(ids))
	for id := range ids {
		order = append(order, id)
	}
	slices.Sort(order)
	var creates []crm.Contact
	for _, id := range order {
		l := byRec[id]
		c, err := r.sv.d.Store.GetContact(ctx, id)
		if err != nil || c.DeletedAt != nil || c.AssignedByID != r.s.UserID {
			if l == nil || (err == nil && c.DeletedAt == nil) {
				continue // not the user's (any more): left as it is in Google
			}
			if _, err := r.people.People.DeleteContact(l.RemoteID).Context(ctx).Do(); err != nil && apiStatus(err) != http.StatusNotFound {
				r.res.fail(&side.ToGoogle, "contact %d (%s): delete: %v", id, l.RemoteID, err)
				continue
			}
			side.ToGoogle.Deleted++
			delete(byRec, id)
			if err := r.sv.dropLink(ctx, r.s.ID, linkContact, id); err != nil {
				r.res.fail(&side.ToGoogle, "%v", err)
			}
			continue
		}
		lh := hashView(r.contactView(c))
		if l != nil && lh == l.LocalHash && !push[id] {
			continue
		}
		if l == nil {
			creates = append(creates, c) // in batches, below
			continue
		}
		got, err := r.updatePerson(ctx, l, cache[l.RemoteID], c)
		if err != nil {
			r.res.fail(&side.ToGoogle, "contact %d (%s): update: %v", id, l.RemoteID, err)
			continue
		}
		side.ToGoogle.Updated++
		l.RemoteID, l.ETag, l.LocalHash, l.RemoteHash = got.ResourceName, got.Etag, lh, hashView(r.personView(got))
		byRec[id] = l
		if err := r.sv.saveLink(ctx, r.s.ID, l); err != nil {
			r.res.fail(&side.ToGoogle, "%v", err)
		}
	}
	return r.createPeople(ctx, byRec, creates)
}

// batchSize is the most contacts people.batchCreateContacts takes.
const batchSize = 200

// createPeople creates the contacts new to Google, 200 a request
// (people.batchCreateContacts): a first sync of thousands stays within
// the People API's per-user write quota, where one request per contact
// would meet 429 after a few dozen.
func (r *run) createPeople(ctx context.Context, byRec map[int64]*link, cs []crm.Contact) error {
	side := &r.res.Contacts
	for len(cs) > 0 {
		batch := cs[:min(batchSize, len(cs))]
		cs = cs[len(batch):]
		req := &people.BatchCreateContactsRequest{ReadMask: personFields}
		for _, c := range batch {
			p := &people.Person{}
			r.applyContact(p, c)
			req.Contacts = append(req.Contacts, &people.ContactToCreate{ContactPerson: p})
		}
		resp, err := r.people.People.BatchCreateContacts(req).Context(ctx).Do()
		if err != nil {
			for _, c := range batch {
				r.res.fail(&side.ToGoogle, "contact %d: create: %v", c.ID, err)
			}
			continue
		}
		for i, c := range batch {
			if i >= len(resp.CreatedPeople) || resp.CreatedPeople[i].Person == nil || resp.CreatedPeople[i].Person.ResourceName == "" {
				msg := "no person in Google's answer"
				if i < len(resp.CreatedPeople) && resp.CreatedPeople[i].Status != nil {
					msg = resp.CreatedPeople[i].Status.Message
				}
				r.res.fail(&side.ToGoogle, "contact %d: create: %s", c.ID, msg)
				continue
			}
			got := resp.CreatedPeople[i].Person
			side.ToGoogle.Created++
			l := &link{Kind: linkContact, RecordID: c.ID, RemoteID: got.ResourceName, ETag: got.Etag,
				LocalHash: hashView(r.contactView(c)), RemoteHash: hashView(r.personView(got))}
			byRec[c.ID] = l
			if err := r.sv.saveLink(ctx, r.s.ID, l); err != nil {
				r.res.fail(&side.ToGoogle, "%v", err)
			}
		}
	}
	return nil
}

// updatePerson writes the contact over its twin: the twin as last read
// (or read now) with the mapped fields replaced, under its etag; a stale
// etag (400 FAILED_PRECONDITION) reads it again once; a twin gone from
// Google (404) is created anew.
func (r *run) updatePerson(ctx context.Context, l *link, base *people.Person, c crm.Contact) (*people.Person, error) {
	for attempt := 0; attempt < 2; attempt++ {
		if base == nil {
			got, err := r.people.People.Get(l.RemoteID).PersonFields(personFields).Context(ctx).Do()
			if apiStatus(err) == http.StatusNotFound {
				p := &people.Person{}
				r.applyContact(p, c)
				return r.people.People.CreateContact(p).PersonFields(personFields).Context(ctx).Do()
			}
			if err != nil {
				return nil, err
			}
			base = got
		}
		fields := r.applyContact(base, c)
		got, err := r.people.People.UpdateContact(l.RemoteID, base).UpdatePersonFields(strings.Join(fields, ",")).PersonFields(personFields).Context(ctx).Do()
		if err == nil {
			return got, nil
		}
		if s := apiStatus(err); s != http.StatusBadRequest && s != http.StatusPreconditionFailed && s != http.StatusNotFound {
			return nil, err
		}
		base = nil
	}
	return nil, fmt.Errorf("google: %s changed in Google while being updated", l.RemoteID)
}
