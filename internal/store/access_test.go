package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestManagerScope: a scoped request sees and changes only the records its
// user is responsible for; to it, the others do not exist. A grant lifts
// the limit; products stay shared.
func TestManagerScope(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		anna, err := s.CreateUser(bg, admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		oleg, err := s.CreateUser(bg, admin, crm.User{Login: "oleg", Role: crm.RoleManager}, "oleg-password-1")
		if err != nil {
			t.Fatal(err)
		}
		mine, err := s.CreateLead(bg, admin, crm.Lead{Title: "Моя", Meta: crm.Meta{AssignedByID: anna.ID}, Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-00-01"}}}})
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := s.CreateLead(bg, admin, crm.Lead{Title: "Чужая", Meta: crm.Meta{AssignedByID: oleg.ID}, Comms: crm.Comms{Phones: []crm.Comm{{Value: "+7 912 000-00-01"}}}})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		if _, err := s.CreateActivity(bg, admin, crm.Activity{Kind: "call", Subject: "Олегу", StartAt: &at, Meta: crm.Meta{AssignedByID: oleg.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateProduct(bg, admin, crm.Product{Name: "Общий товар", Active: true}); err != nil {
			t.Fatal(err)
		}
		ctx, err := s.ScopeFor(bg, anna)
		if err != nil {
			t.Fatal(err)
		}
		annaActor := crm.Actor{UserID: anna.ID}
		notFound := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s of another's lead: %v, want not found", what, err)
			}
		}

		ls, _, err := s.ListLeads(ctx, store.ListParams{})
		if err != nil || len(ls) != 1 || ls[0].ID != mine.ID {
			t.Fatalf("list: %+v %v", ls, err)
		}
		if ls, _, _ := s.ListLeads(ctx, store.ListParams{Phone: "89120000001"}); len(ls) != 1 {
			t.Fatalf("find by phone: %d leads", len(ls))
		}
		if _, err := s.GetLead(ctx, mine.ID); err != nil {
			t.Fatalf("get own: %v", err)
		}
		_, err = s.GetLead(ctx, theirs.ID)
		notFound("get", err)
		_, err = s.UpdateLead(ctx, annaActor, theirs.ID, func(l *crm.Lead) error { l.Title = "взлом"; return nil })
		notFound("update", err)
		notFound("delete", s.Delete(ctx, annaActor, store.EntityLead, theirs.ID))
		_, err = s.Timeline(ctx, store.EntityLead, theirs.ID, 10)
		notFound("timeline", err)
		_, err = s.AddComment(ctx, annaActor, store.EntityLead, theirs.ID, "привет")
		notFound("comment", err)
		_, err = s.ConvertLead(ctx, annaActor, theirs.ID, store.ConvertOptions{Deal: true})
		notFound("convert", err)
		if cal, err := s.Calendar(ctx, 0, at.Add(-time.Hour), at.Add(time.Hour)); err != nil || len(cal) != 0 {
			t.Fatalf("calendar of everyone, scoped: %d %v", len(cal), err)
		}
		if ps, _, _ := s.ListProducts(ctx, store.ListParams{}); len(ps) != 1 {
			t.Fatalf("products are shared: %d", len(ps))
		}
		if got, _ := s.GetLead(bg, theirs.ID); got.Title != "Чужая" || got.DeletedAt != nil {
			t.Fatalf("another's lead changed: %+v", got)
		}
		// The recycle bin shows only one's own.
		if err := s.Delete(bg, admin, store.EntityLead, theirs.ID); err != nil {
			t.Fatal(err)
		}
		if bin, _ := s.RecycleBin(ctx, "", 10); len(bin) != 0 {
			t.Fatalf("bin shows %+v", bin)
		}
		notFound("restore", s.Restore(ctx, annaActor, store.EntityLead, theirs.ID))
		if err := s.Restore(bg, admin, store.EntityLead, theirs.ID); err != nil {
			t.Fatal(err)
		}

		// An admin's grant lifts the limit; admins are never limited.
		if err := s.SetSeesAll(bg, admin, anna.ID, true); err != nil {
			t.Fatal(err)
		}
		ctx, _ = s.ScopeFor(bg, anna)
		if ls, _, _ := s.ListLeads(ctx, store.ListParams{}); len(ls) != 2 {
			t.Fatalf("with the grant: %d leads", len(ls))
		}
		if err := s.SetSeesAll(bg, admin, anna.ID, false); err != nil {
			t.Fatal(err)
		}
		if all, _ := s.SeesAll(bg, anna); all {
			t.Fatal("grant not taken back")
		}
		u, _ := s.UserByLogin(bg, "admin")
		if all, _ := s.SeesAll(bg, u); !all {
			t.Fatal("an admin is limited")
		}
	})
}

// A manager sees and changes the requisites of their own accounts only.
func TestManagerScopeRequisites(t *testing.T) {
	storetest.EachStore(t, func(t *testing.T, s *store.Store, admin crm.Actor) {
		bg := context.Background()
		anna, err := s.CreateUser(bg, admin, crm.User{Login: "anna", Role: crm.RoleManager}, "anna-password-1")
		if err != nil {
			t.Fatal(err)
		}
		mine, err := s.CreateAccount(bg, admin, crm.Account{Title: "Моя", Meta: crm.Meta{AssignedByID: anna.ID}})
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := s.CreateAccount(bg, admin, crm.Account{Title: "Чужая", Meta: crm.Meta{AssignedByID: admin.UserID}})
		if err != nil {
			t.Fatal(err)
		}
		rq, err := s.CreateRequisite(bg, admin, theirs.ID, crm.Requisite{PresetID: 1, Name: "Реквизиты", INN: "7707083893"})
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := s.ScopeFor(bg, anna)
		if err != nil {
			t.Fatal(err)
		}
		as := crm.Actor{UserID: anna.ID}
		if _, err := s.GetRequisite(ctx, rq.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another's requisite: %v", err)
		}
		if _, err := s.RequisitesOf(ctx, store.EntityAccount, theirs.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("another's account's requisites: %v", err)
		}
		if _, err := s.UpdateRequisite(ctx, as, rq.ID, crm.Requisite{PresetID: 1, Name: "x", INN: "7707083893"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("change another's requisite: %v", err)
		}
		if err := s.DeleteRequisite(ctx, as, rq.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("delete another's requisite: %v", err)
		}
		if _, err := s.CreateRequisite(ctx, as, theirs.ID, crm.Requisite{PresetID: 1, Name: "x", INN: "7707083893"}); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("add to another's account: %v", err)
		}
		own, err := s.CreateRequisite(ctx, as, mine.ID, crm.Requisite{PresetID: 1, Name: "Мои", INN: "7707083893"})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.RequisitesOf(ctx, store.EntityAccount, mine.ID); err != nil || len(got) != 1 || got[0].ID != own.ID {
			t.Errorf("own requisites: %v %v", got, err)
		}
		if _, err := s.GetRequisite(bg, rq.ID); err != nil {
			t.Errorf("unscoped read: %v", err)
		}
	})
}
