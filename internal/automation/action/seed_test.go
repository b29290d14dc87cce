package action

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/automation"
	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
)

// seedFailed checks a failed update's error and its seed output: "false"
// with the error text.
func seedFailed(t *testing.T, err error, field string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	var oe *automation.OutputError
	if !errors.As(err, &oe) {
		t.Fatalf("%v: no output beside the error", err)
	}
	out, _ := oe.Output.(updateOut)
	if del, ok := oe.Output.(deleteOut); ok {
		out = updateOut{Result: del.Result, Error: del.Error}
	}
	if co, ok := oe.Output.(commentOut); ok {
		out = updateOut{Result: co.Result, Error: co.Error}
	}
	if out.Result != "false" || out.Error != err.Error() {
		t.Fatalf("output %+v for %v", oe.Output, err)
	}
	if field != "" {
		wantField(t, err, field)
	}
}

func TestSeedUpdates(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := e.ctx
		mgr, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: "petrov", FirstName: "Пётр", LastName: "Петров", Email: "petrov@example.ru"}, "pw-123456789")
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range []string{"revenue", "employees", "currency"} {
			if _, err := e.s.CreateCustomField(ctx, e.admin, crm.CustomField{Entity: store.EntityAccount, Code: code, Label: code, Type: "string"}); err != nil {
				t.Fatal(err)
			}
		}
		pipe, err := e.s.CreatePipeline(ctx, e.admin, crm.Pipeline{Name: "Опт"})
		if err != nil {
			t.Fatal(err)
		}
		acc := id(e.ok(e.call(), "crm.account.create", map[string]any{"title": "Ромашка", "phones": []any{map[string]any{"value": "+7 900 000-00-01"}}}))
		acc2 := id(e.ok(e.call(), "crm.account.create", map[string]any{"title": "Лютик"}))
		ct := id(e.ok(e.call(), "crm.contact.create", map[string]any{"name": "Иван"}))
		ct2 := id(e.ok(e.call(), "crm.contact.create", map[string]any{"name": "Мария"}))
		lead := id(e.ok(e.call(), "crm.lead.create", map[string]any{"title": "Заявка"}))
		deal := id(e.ok(e.call(), "crm.deal.create", map[string]any{"title": "Поставка"}))

		cases := []struct {
			name, action string
			in           map[string]any
			field        string // the refused field; "" succeeds
			check        func(t *testing.T, out map[string]any)
		}{
			{"company: seed fields", "crm.company.update", map[string]any{"id": acc, "title": "Ромашка Плюс", "industry": "IT",
				"revenue": "1000000", "employees": "50-250", "currency": "RUB", "company_type": "CUSTOMER",
				"phone": []any{map[string]any{"VALUE": "+7 900 000-00-02", "VALUE_TYPE": "WORK"}}, "email": "info@romashka.ru, sales@romashka.ru",
				"messengers": "t.me/romashka", "responsible": "petrov", "comment": "Обновлено", "address": "ул. Ленина, 1",
				"address_apartment": "оф. 5", "address_city": "Казань", "contacts": []any{ct, ct2}}, "",
				func(t *testing.T, out map[string]any) {
					a, err := e.s.GetAccount(ctx, acc)
					if err != nil {
						t.Fatal(err)
					}
					if a.Title != "Ромашка Плюс" || a.Industry != "IT" || a.CompanyType != "CUSTOMER" || a.AssignedByID != mgr.ID ||
						a.Comments != "Обновлено" || a.ActualAddress.Street != "ул. Ленина, 1" || a.ActualAddress.Flat != "оф. 5" || a.ActualAddress.City != "Казань" {
						t.Errorf("account %+v", a)
					}
					if len(a.Phones) != 2 || len(a.Emails) != 2 || len(a.IMs) != 1 {
						t.Errorf("multi-fields: phones %v, emails %v, ims %v (the first phone is kept, new ones added)", a.Phones, a.Emails, a.IMs)
					}
					if a.Custom["UF_CRM_REVENUE"] != "1000000" || a.Custom["UF_CRM_EMPLOYEES"] != "50-250" || a.Custom["UF_CRM_CURRENCY"] != "RUB" {
						t.Errorf("custom %v", a.Custom)
					}
					for _, c := range []int64{ct, ct2} {
						got, _ := e.s.GetContact(ctx, c)
						if len(got.AccountIDs) != 1 || got.AccountIDs[0] != acc {
							t.Errorf("contact %d companies %v", c, got.AccountIDs)
						}
					}
					if out["result"] != "true" || out["error"] != "" || out["title"] != "Ромашка Плюс" {
						t.Errorf("output %v", out)
					}
				}},
			{"company: same phone again is not doubled", "crm.company.update", map[string]any{"id": acc, "phone": "+7 900 000-00-02"}, "",
				func(t *testing.T, out map[string]any) {
					if a, _ := e.s.GetAccount(ctx, acc); len(a.Phones) != 2 {
						t.Errorf("phones %v", a.Phones)
					}
				}},
			{"company: unknown responsible", "crm.company.update", map[string]any{"id": acc, "responsible": "nobody"}, "responsible", nil},
			{"company: missing", "crm.company.update", map[string]any{"id": int64(999999), "title": "x"}, "", nil},
			{"company: bad multi-field", "crm.company.update", map[string]any{"id": acc, "phone": []any{map[string]any{"VALUE_TYPE": "WORK"}}}, "phone[0]", nil},
			{"contact: seed fields", "crm.contact.update", map[string]any{"id": ct, "name": "Иван", "last_name": "Сидоров", "second_name": "Петрович",
				"birthday": "1990-05-01", "source": "Звонок", "companies": []any{acc, acc2}, "phone": "+7 901 111-22-33",
				"email": []any{map[string]any{"VALUE": "ivan@example.ru", "VALUE_TYPE": "HOME"}}, "messengers": "ivan_tg", "web": "https://ivan.example.ru",
				"post": "Директор", "responsible": mgr.ID, "comment": "VIP"}, "",
				func(t *testing.T, out map[string]any) {
					c, _ := e.s.GetContact(ctx, ct)
					if c.LastName != "Сидоров" || c.SecondName != "Петрович" || c.Birthdate != "1990-05-01" || c.SourceID != "CALL" ||
						len(c.AccountIDs) != 2 || len(c.Phones) != 1 || len(c.Emails) != 1 || c.Emails[0].ValueType != "HOME" ||
						len(c.IMs) != 1 || len(c.Webs) != 1 || c.Position != "Директор" || c.AssignedByID != mgr.ID || c.Comments != "VIP" {
						t.Errorf("contact %+v", c)
					}
				}},
			{"contact: unknown source", "crm.contact.update", map[string]any{"id": ct, "source": "Голубиная почта"}, "source", nil},
			{"contact: bad company id", "crm.contact.update", map[string]any{"id": ct, "companies": "1, x"}, "companies[1]", nil},
			{"lead: seed fields", "crm.lead.update", map[string]any{"id": lead, "title": "Заявка с сайта", "birthday": "1985-01-02", "name": "Анна",
				"last_name": "Смирнова", "second_name": "Игоревна", "status_description": "перезвонить", "status": "В работе", "honorific": "г-жа",
				"source": "WEB", "companies": []any{acc2}, "phone": "+7 902 000-00-00", "email": "anna@example.ru", "comment": "с сайта",
				"opportunity": "1500.50"}, "",
				func(t *testing.T, out map[string]any) {
					l, _ := e.s.GetLead(ctx, lead)
					if l.Title != "Заявка с сайта" || l.Birthdate != "1985-01-02" || l.StatusID != "IN_PROCESS" || l.StatusDescription != "перезвонить" ||
						l.Honorific != "г-жа" || l.SourceID != "WEB" || l.AccountID != acc2 || len(l.Phones) != 1 || len(l.Emails) != 1 ||
						l.Comments != "с сайта" || l.Opportunity.String() != "1500.50" {
						t.Errorf("lead %+v", l)
					}
				}},
			{"lead: unknown status", "crm.lead.update", map[string]any{"id": lead, "status": "Потерян навсегда"}, "status", nil},
			{"deal: seed fields", "crm.deal.update", map[string]any{"id": deal, "title": "Поставка оптом", "category": "Опт", "stage": "Новая",
				"probability": int64(40), "opportunity": "2000", "currency": "RUB", "company": acc, "responsible": "Пётр Петров",
				"comment": "срочно", "contacts": []any{ct, ct2}, "source": "EMAIL", "source_description": "из рассылки"}, "",
				func(t *testing.T, out map[string]any) {
					d, _ := e.s.GetDeal(ctx, deal)
					if d.Title != "Поставка оптом" || d.CategoryID != pipe.ID || d.StageID == "" || d.Probability != 40 || d.AccountID != acc ||
						d.AssignedByID != mgr.ID || d.Comments != "срочно" || len(d.ContactIDs) != 2 || d.SourceID != "EMAIL" ||
						d.SourceDescription != "из рассылки" || d.Currency != "RUB" {
						t.Errorf("deal %+v", d)
					}
				}},
			{"deal: unknown pipeline", "crm.deal.update", map[string]any{"id": deal, "category": "Розница"}, "category", nil},
			{"deal: stage of another pipeline", "crm.deal.update", map[string]any{"id": deal, "stage": "Подготовка документов"}, "stage", nil},
			{"deal: no custom field for type", "crm.deal.update", map[string]any{"id": deal, "type": "SALE"}, "type", nil},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				out, err := e.run(e.call(), tc.action, tc.in)
				if tc.check == nil {
					seedFailed(t, err, tc.field)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, out.(map[string]any))
			})
		}
	})
}

func TestUserInfo(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := e.ctx
		u, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: "ivanova", FirstName: "Ольга", MiddleName: "Петровна", LastName: "Иванова",
			Email: "olga@example.ru", Position: "Менеджер", Phones: []string{"+7 495 000-00-00"}}, "pw-123456789")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.s.SetUserProfile(ctx, e.admin, u.ID, crm.UserProfile{Gender: "f", Birthday: "1991-07-15", PersonalMobile: "+7 903 000-00-00",
			InternalPhone: "105", City: "Тверь", Skype: "olga.iv", Telegram: "@olga", PhotoURL: "https://example.ru/o.jpg", UserType: "extranet"}); err != nil {
			t.Fatal(err)
		}
		sales, err := e.s.CreateDepartment(ctx, e.admin, crm.Department{Name: "Продажи"})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.SetUserDepartments(ctx, e.admin, u.ID, []int64{sales.ID}); err != nil {
			t.Fatal(err)
		}
		for _, in := range []any{u.ID, "user_" + itoa(u.ID), []any{u.ID, e.admin.UserID}, itoa(u.ID)} {
			out := e.ok(e.call(), "user.info", map[string]any{"id": in})
			want := map[string]any{"id": u.ID, "name": "Ольга", "second_name": "Петровна", "last_name": "Иванова", "email": "olga@example.ru",
				"position": "Менеджер", "work_phone": "+7 495 000-00-00", "gender": "F", "birthday": "1991-07-15", "personal_mobile": "+7 903 000-00-00",
				"internal_phone": "105", "city": "Тверь", "skype": "olga.iv", "telegram": "@olga", "photo_url": "https://example.ru/o.jpg",
				"user_type": "extranet", "active": true, "online": false, "fax": "", "xing": ""}
			for k, v := range want {
				if out[k] != v {
					t.Errorf("input %v: %s = %#v, want %#v", in, k, out[k], v)
				}
			}
			ids, _ := out["department_ids"].([]any)
			names, _ := out["department_names"].([]any)
			if len(ids) != 1 || ids[0] != sales.ID || len(names) != 1 || names[0] != "Продажи" {
				t.Errorf("departments %v %v", ids, names)
			}
		}
		// A request signed in makes the user online.
		e.s.NoteSeen(ctx, u.ID)
		c := e.call()
		c.Now = func() time.Time { return time.Now().Add(5 * time.Minute) }
		if out := e.ok(c, "user.info", map[string]any{"id": u.ID}); out["online"] != true || out["last_seen_at"] == "" {
			t.Errorf("after a request: online %v, last seen %v", out["online"], out["last_seen_at"])
		}
		c.Now = func() time.Time { return time.Now().Add(OnlineWithin + time.Minute) }
		if out := e.ok(c, "user.info", map[string]any{"id": u.ID}); out["online"] != false {
			t.Errorf("long after: online %v", out["online"])
		}
		e.fails(e.call(), "user.info", map[string]any{"id": int64(999999)}, "id")
		e.fails(e.call(), "user.info", map[string]any{"id": "nobody"}, "id")
		// A user without a profile: the fields Obmen keeps on the user,
		// the rest empty.
		if out := e.ok(e.call(), "user.info", map[string]any{"id": e.admin.UserID}); out["user_type"] != "employee" || out["gender"] != "" {
			t.Errorf("admin: %v", out)
		}
	})
}

func TestSeedActivityTimeline(t *testing.T) {
	t.Parallel()
	eachEnv(t, func(t *testing.T, e *env) {
		ctx := e.ctx
		deal := id(e.ok(e.call(), "crm.deal.create", map[string]any{"title": "Сделка"}))
		acc := id(e.ok(e.call(), "crm.account.create", map[string]any{"title": "Фирма"}))
		cases := []struct {
			in    map[string]any
			field string
			check func(t *testing.T, a crm.Activity)
		}{
			{map[string]any{"title": "Позвонить", "type": "2", "content": "Обсудить оплату", "entity_type": "CRM_DEAL", "entity_id": deal,
				"importance": "высокая", "responsible": e.admin.UserID, "deadline": "2026-12-10T10:00:00Z", "communication": "+7 (900) 123-45-67"}, "",
				func(t *testing.T, a crm.Activity) {
					if a.Kind != crm.ActivityCall || a.Subject != "Позвонить" || a.Description != "Обсудить оплату" || a.OwnerType != store.EntityDeal ||
						a.OwnerID != deal || a.Priority != "high" || a.EndAt == nil || a.CommValue == "" || a.AssignedByID != e.admin.UserID {
						t.Errorf("activity %+v", a)
					}
				}},
			{map[string]any{"title": "Встреча", "type": "meeting", "entity_type": "company", "entity_id": []any{acc}, "importance": "low"}, "",
				func(t *testing.T, a crm.Activity) {
					if a.Kind != crm.ActivityMeeting || a.OwnerType != store.EntityAccount || a.OwnerID != acc || a.Priority != "low" {
						t.Errorf("activity %+v", a)
					}
				}},
			{map[string]any{"title": "x", "type": "танец", "entity_type": "deal", "entity_id": deal}, "type", nil},
			{map[string]any{"title": "x", "type": "call", "entity_type": "корабль", "entity_id": deal}, "entity_type", nil},
			{map[string]any{"title": "x", "type": "call", "entity_type": "deal", "entity_id": deal, "importance": "срочно"}, "importance", nil},
		}
		for i, tc := range cases {
			out, err := e.run(e.call(), "crm.activity.create", tc.in)
			if tc.check == nil {
				wantField(t, err, tc.field)
				continue
			}
			if err != nil {
				t.Fatalf("case %d: %v", i, err)
			}
			a, err := e.s.GetActivity(ctx, id(out.(map[string]any)))
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, a)
			if i == 0 {
				// The seed's delete: "true", and "false" with the error
				// for a missing one.
				if del := e.ok(e.call(), "crm.activity.delete", map[string]any{"id": a.ID}); del["result"] != "true" {
					t.Errorf("delete: %v", del)
				}
				_, err := e.run(e.call(), "crm.activity.delete", map[string]any{"id": int64(999999)})
				seedFailed(t, err, "")
			}
		}

		// The timeline: the seed's entity names, a title, an author.
		mgr, err := e.s.CreateUser(ctx, e.admin, crm.User{Login: "author"}, "pw-123456789")
		if err != nil {
			t.Fatal(err)
		}
		out := e.ok(e.call(), "crm.timeline.add", map[string]any{"entity": "CRM_DEAL", "id": deal, "title": "Счёт оплачен", "text": "Оплата 100 ₽", "author": "author"})
		if out["result"] != "true" || out["body"] != "Счёт оплачен\n\nОплата 100 ₽" || out["author_id"] != mgr.ID || out["entity"] != store.EntityDeal {
			t.Errorf("timeline: %v", out)
		}
		_, err = e.run(e.call(), "crm.timeline.add", map[string]any{"entity": "deal", "id": int64(999999), "text": "x"})
		seedFailed(t, err, "")
		// A manager's call may not post as someone else.
		c := e.call()
		c.Actor = crm.Actor{UserID: mgr.ID}
		_, err = e.run(c, "crm.timeline.add", map[string]any{"entity": "deal", "id": deal, "text": "x", "author": e.admin.UserID})
		if err == nil || !strings.Contains(err.Error(), "author") {
			t.Errorf("a manager posting as the admin: %v", err)
		}
	})
}
