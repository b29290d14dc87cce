package action

import (
	"errors"
	"strconv"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRecords(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		ctx, s, a := e.ctx, e.s, e.admin
		must := func(id int64, err error) int64 {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		idOf := func(m *crm.Meta) int64 { return m.ID }
		ids := map[string]int64{}
		l, err := s.CreateLead(ctx, a, crm.Lead{Title: "Лид"})
		ids["lead"] = must(idOf(&l.Meta), err)
		c, err := s.CreateContact(ctx, a, crm.Contact{Name: "Иван"})
		ids["contact"] = must(idOf(&c.Meta), err)
		ac, err := s.CreateAccount(ctx, a, crm.Account{Title: "ООО"})
		ids["account"] = must(idOf(&ac.Meta), err)
		d, err := s.CreateDeal(ctx, a, crm.Deal{Title: "Сделка"})
		ids["deal"] = must(idOf(&d.Meta), err)
		o, err := s.CreateSalesOrder(ctx, a, crm.SalesOrder{})
		ids["sales_order"] = must(idOf(&o.Meta), err)
		inv, err := s.CreateInvoice(ctx, a, crm.Invoice{})
		ids["invoice"] = must(idOf(&inv.Meta), err)
		p, err := s.CreateProduct(ctx, a, crm.Product{Name: "Товар"})
		ids["product"] = must(idOf(&p.Meta), err)
		sv, err := s.CreateService(ctx, a, crm.Service{Name: "Услуга"})
		ids["service"] = must(idOf(&sv.Meta), err)
		cat, err := s.CreateCatalog(ctx, a, crm.Catalog{Name: "Каталог"})
		ids["catalog"] = must(idOf(&cat.Meta), err)
		tk, err := s.CreateTicket(ctx, a, crm.Ticket{Title: "Заявка"})
		ids["ticket"] = must(idOf(&tk.Meta), err)
		act, err := s.CreateActivity(ctx, a, crm.Activity{Kind: "task", Subject: "Задача"})
		ids["activity"] = must(idOf(&act.Meta), err)

		r := NewRecords(s)
		for entity, rid := range ids {
			m, err := r.Record(ctx, entity, rid)
			if err != nil || m["id"] != rid {
				t.Errorf("%s %d: %v %v", entity, rid, m, err)
			}
			if err := s.Delete(ctx, a, entity, rid); err != nil {
				t.Fatal(err)
			}
			if m, err := r.Record(ctx, entity, rid); err != nil || m["deleted_at"] == nil {
				t.Errorf("%s %d in the recycle bin: %v %v", entity, rid, m, err)
			}
			if _, err := r.Record(ctx, entity, 999999); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s 999999: %v", entity, err)
			}
		}
		if len(ids) != 11 {
			t.Fatal(len(ids))
		}
		if _, err := r.Record(ctx, "planet", 1); err == nil {
			t.Error("an unknown entity")
		}
	})
}
