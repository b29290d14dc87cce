package webform

import (
	"context"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/store"
)

// check validates a submission against the form: required fields filled,
// values of the fields' types. It names every field at fault, as the form
// does, and normalizes the values that pass.
func check(f Form, sub submission) []*crm.FieldError {
	defs := catalogue[f.Module]
	var errs []*crm.FieldError
	for _, fl := range f.Fields {
		v := sub.values[fl.Name]
		if v == "" {
			if fl.Required {
				errs = append(errs, crm.Invalid(fl.Name, "required").(*crm.FieldError))
			}
			continue
		}
		n, err := checkValue(fl.Name, defs[fl.Name], v)
		if err != nil {
			fe, _ := crm.AsFieldError(err)
			errs = append(errs, fe)
			continue
		}
		sub.values[fl.Name] = n
	}
	return errs
}

// build readies the form's record from a checked submission: what it
// returns writes it inside the intake transaction. A lead — the hot path
// — is normalized, checked and encoded here, outside the shared write.
func build(ctx context.Context, in *intake.Service, f Form, sub submission) (func(t *store.Tx) (intake.Created, error), error) {
	st := in.Store()
	v := sub.values
	comms := crm.Comms{}
	if v["phone"] != "" {
		comms.Phones = []crm.Comm{{Value: v["phone"]}}
	}
	if v["email"] != "" {
		comms.Emails = []crm.Comm{{Value: v["email"]}}
	}
	source := "Веб-форма «" + f.Name + "»"
	if sub.referrer != "" {
		source += ", страница " + sub.referrer
	}
	// What a record without such columns keeps in its text.
	var extra []string
	for _, kv := range [][2]string{{"Имя", v["name"]}, {"Телефон", v["phone"]}, {"E-mail", v["email"]}} {
		if kv[1] != "" {
			extra = append(extra, kv[0]+": "+kv[1])
		}
	}
	for _, kv := range [][2]string{{"utm_source", sub.utm.UTMSource}, {"utm_medium", sub.utm.UTMMedium}, {"utm_campaign", sub.utm.UTMCampaign},
		{"utm_content", sub.utm.UTMContent}, {"utm_term", sub.utm.UTMTerm}, {"Google client id", sub.ga}, {"Yandex client id", sub.ym}} {
		if kv[1] != "" && f.Module != "leads" {
			extra = append(extra, kv[0]+": "+kv[1])
		}
	}
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if strings.TrimSpace(p) != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, "\n\n")
	}
	amount := func(s string) crm.Amount {
		a, _ := crm.ParseAmount(strings.ReplaceAll(strings.ReplaceAll(s, " ", ""), ",", "."))
		return a
	}
	switch f.Module {
	case "leads":
		l := crm.Lead{Title: v["title"], Name: v["name"], LastName: v["last_name"], SecondName: v["second_name"], CompanyTitle: v["company_title"],
			Position: v["position"], Comms: comms, Comments: v["comments"], SourceID: "WEB", SourceDescription: source, UTM: sub.utm,
			GAClientID: sub.ga, YMClientID: sub.ym, Address: crm.Address{City: v["city"]}, Opportunity: amount(v["opportunity"])}
		l.AssignedByID = f.UserID
		if l.Title == "" {
			l.Title = strings.TrimSpace(strings.Join([]string{l.LastName, l.Name, l.SecondName}, " "))
		}
		if l.Title == "" {
			l.Title = "Заявка: " + f.Name
		}
		plan, err := in.PlanFor(ctx, store.EntityLead, dedup.LeadProbe(&l))
		if err != nil {
			return nil, err
		}
		text := join(strings.Join(extra, "\n"), source)
		if plan.LinkContact != 0 {
			// A pending lead carries no links: this one is written (and
			// its link checked) inside the write.
			l.ContactID = plan.LinkContact
			return func(t *store.Tx) (intake.Created, error) {
				if err := t.AddLead(&l); err != nil {
					return intake.Created{}, fault(err)
				}
				return intake.Created{Entity: store.EntityLead, ID: l.ID, Title: l.Title, Text: text, Warning: plan.Warning()}, nil
			}, nil
		}
		if plan.MergeInto != 0 {
			return func(t *store.Tx) (intake.Created, error) {
				if err := intake.MergeLead(t, plan.MergeInto, l); err != nil {
					return intake.Created{}, fault(err)
				}
				return intake.Created{Entity: store.EntityLead, ID: plan.MergeInto, Title: l.Title, Text: text, Merged: true}, nil
			}, nil
		}
		p, err := st.PendingLead(ctx, crm.Actor{Integration: crm.IntegrationWebform}, &l)
		if err != nil {
			return nil, fault(err)
		}
		return func(t *store.Tx) (intake.Created, error) {
			if err := t.Insert(p); err != nil {
				return intake.Created{}, err
			}
			return intake.Created{Entity: store.EntityLead, ID: p.ID(), Title: l.Title, Text: text, Warning: plan.Warning()}, nil
		}, nil
	case "contacts":
		k := crm.Contact{Name: v["name"], LastName: v["last_name"], SecondName: v["second_name"], Position: v["position"], Comms: comms,
			Comments: join(v["comments"], strings.Join(extra[min(len(extra), countSet(v["name"], v["phone"], v["email"])):], "\n")),
			SourceID: "WEB", SourceDescription: source, Address: crm.Address{City: v["city"]}}
		k.AssignedByID = f.UserID
		if k.Name == "" && k.LastName == "" {
			k.Name = crm.FirstText(v["email"], v["phone"], "Посетитель сайта")
		}
		plan, err := in.PlanFor(ctx, store.EntityContact, dedup.ContactProbe(&k))
		if err != nil {
			return nil, err
		}
		return inTx(extra, source, func(t *store.Tx) (intake.Created, error) {
			c := intake.Created{Entity: store.EntityContact, ID: plan.MergeInto, Title: strings.TrimSpace(k.LastName + " " + k.Name), Merged: plan.MergeInto != 0, Warning: plan.Warning()}
			if c.Merged {
				return c, intake.MergeContact(t, plan.MergeInto, k)
			}
			err := t.AddContact(&k)
			c.ID = k.ID
			return c, err
		}), nil
	case "accounts":
		a := crm.Account{Title: v["title"], INN: v["inn"], Comms: comms, Comments: v["comments"], SourceID: "WEB", ActualAddress: crm.Address{City: v["city"]}}
		a.AssignedByID = f.UserID
		if a.Title == "" {
			a.Title = crm.FirstText(v["inn"], v["email"], v["phone"], "Компания с сайта")
		}
		plan, err := in.PlanFor(ctx, store.EntityAccount, dedup.AccountProbe(&a))
		if err != nil {
			return nil, err
		}
		return inTx(extra, source, func(t *store.Tx) (intake.Created, error) {
			c := intake.Created{Entity: store.EntityAccount, ID: plan.MergeInto, Title: a.Title, Merged: plan.MergeInto != 0, Warning: plan.Warning()}
			if c.Merged {
				return c, intake.MergeAccount(t, plan.MergeInto, a)
			}
			err := t.AddAccount(&a)
			c.ID = a.ID
			return c, err
		}), nil
	case "tickets":
		k := crm.Ticket{Title: crm.FirstText(v["title"], "Обращение: "+f.Name), Description: join(v["description"], strings.Join(extra, "\n"), source)}
		k.AssignedByID = f.UserID
		return inTx(extra, source, func(t *store.Tx) (intake.Created, error) {
			err := t.AddTicket(&k)
			return intake.Created{Entity: store.EntityTicket, ID: k.ID, Title: k.Title}, err
		}), nil
	default: // deals
		d := crm.Deal{Title: crm.FirstText(v["title"], "Сделка: "+f.Name), Opportunity: amount(v["opportunity"]), UTM: sub.utm,
			Comments: join(v["comments"], strings.Join(extra, "\n")), SourceID: "WEB", SourceDescription: source}
		d.AssignedByID = f.UserID
		return inTx(extra, source, func(t *store.Tx) (intake.Created, error) {
			err := t.AddDeal(&d)
			return intake.Created{Entity: store.EntityDeal, ID: d.ID, Title: d.Title}, err
		}), nil
	}
}

// inTx wraps a create inside the write: a field error becomes a fault
// named as the form names it.
func inTx(extra []string, source string, add func(t *store.Tx) (intake.Created, error)) func(t *store.Tx) (intake.Created, error) {
	return func(t *store.Tx) (intake.Created, error) {
		c, err := add(t)
		if err != nil {
			return c, fault(err)
		}
		c.Text = strings.Join(append(append([]string{}, extra...), source), "\n")
		return c, nil
	}
}

// fault renames a crm field error as the form's field.
func fault(err error) error {
	if fe, ok := crm.AsFieldError(err); ok {
		return &intake.Fault{Field: formField(fe.Field), Message: fe.Message, Code: fe.Code, Params: fe.Params}
	}
	return err
}

// formField names a record field as the form does.
func formField(f string) string {
	switch {
	case strings.HasPrefix(f, "phones"):
		return "phone"
	case strings.HasPrefix(f, "emails"):
		return "email"
	}
	return f
}

func countSet(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}
