package mail_test

import (
	"context"
	"strings"
	"testing"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/db"
	"github.com/obmen/obmen/internal/dedup"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/intake/mail"
	"github.com/obmen/obmen/internal/store"
	"github.com/obmen/obmen/internal/store/storetest"
)

// TestCollectorAnyLetterFromDovecot: a collector in "any e-mail" mode
// reads real-shaped letters (Thunderbird, Outlook in windows-1251, Gmail
// HTML with a KOI8-R sender) from a real Dovecot into leads — sender,
// subject, text, signature phone, attachments as the lead's files —
// skips and journals an auto-reply and a bounce, hands the leads out by
// the distribution rule of the mail channel, merges a second letter of
// the same sender by the duplicate rule, and never makes a second lead of
// a message delivered again.
func TestCollectorAnyLetterFromDovecot(t *testing.T) {
	dc := startDovecot(t)
	storetest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		e := newEnv(t, d)
		mgr, err := e.st.CreateUser(ctx, e.admin, crm.User{Login: "mgr", Role: crm.RoleManager}, "manager-password")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.SaveDistributionRule(ctx, e.admin, crm.DistributionRule{Name: "Почта", Active: true, Channel: crm.ChannelMail, UserIDs: []int64{mgr.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := dedup.SaveRule(ctx, e.st, e.admin, dedup.Rule{Entity: "lead", Keys: []string{"email"}, Action: dedup.Merge}); err != nil {
			t.Fatal(err)
		}
		login := nextUser()
		imc := dc.client(t, login)
		files := []string{"thunderbird.eml", "outlook-cp1251.eml", "gmail-html.eml", "autoreply.eml", "bounce.eml"}
		for _, f := range files {
			appendMsg(t, imc, "INBOX", string(readLetter(t, f)))
		}
		svc := e.service()
		c, err := svc.Create(ctx, mail.Collector{Name: "Входящие письма", Enabled: true, Mode: mail.ModeAny, Host: "127.0.0.1", Port: dc.Port,
			Security: mail.SecurityNone, Login: login, Password: dovecotPassword, UserID: e.admin.UserID, ProcessedFolder: "Processed", FailedFolder: "Failed"})
		if err != nil {
			t.Fatal(err)
		}
		if c.Mode != mail.ModeAny {
			t.Fatalf("mode %q", c.Mode)
		}
		if _, err := svc.Create(ctx, mail.Collector{Name: "x", Mode: "all", Host: "h", Login: "l", UserID: e.admin.UserID}); err == nil || !strings.Contains(err.Error(), "mode") {
			t.Errorf("unknown mode: %v", err)
		}
		st, err := svc.Run(ctx, c.ID)
		if err != nil {
			t.Fatalf("run: %v (%+v)", err, st)
		}
		if st.Messages != 5 || st.Taken != 5 || st.Created != 3 || st.Skipped != 2 || st.Failed != 0 {
			t.Errorf("stats = %+v", st)
		}
		leads := leadsByTitle(t, e.st)
		if len(leads) != 3 {
			t.Fatalf("leads: %v", leads)
		}
		tb := leads["Нужен расчёт баннера 3×6 м"]
		if tb.Name != "Сергей Королёв" || len(tb.Emails) != 1 || tb.Emails[0].Value != "korolev@example.ru" || len(tb.Phones) != 1 ||
			tb.SourceID != "EMAIL" || !strings.Contains(tb.Comments, "с люверсами по периметру") || tb.AssignedByID != mgr.ID {
			t.Errorf("thunderbird lead = %+v", tb)
		}
		ol := leads["Заявка на вывеску для магазина"]
		if ol.Name != "Иванова Мария Петровна" || !strings.Contains(ol.Comments, "Нужна световая вывеска") || len(ol.Phones) != 1 {
			t.Errorf("outlook lead = %+v", ol)
		}
		gm := leads["Вопрос по ценам"]
		if gm.Name != "Пётр Ёлкин" || !strings.Contains(gm.Comments, "Сколько стоит печать 100 листовок А5?") || strings.Contains(gm.Comments, "alert") {
			t.Errorf("gmail lead = %+v", gm)
		}
		fs, err := e.st.LeadFiles(ctx, tb.ID)
		if err != nil || len(fs) != 1 || fs[0].Name != "Макет 3x6.pdf" || fs[0].ContentType != "application/pdf" {
			t.Fatalf("thunderbird files = %+v, %v", fs, err)
		}
		f, err := e.st.GetLeadFile(ctx, tb.ID, fs[0].ID)
		if err != nil || !strings.HasPrefix(string(f.Data), "%PDF-1.4") || f.Size != int64(len(f.Data)) {
			t.Errorf("pdf = %d bytes, %v", len(f.Data), err)
		}
		if fs, _ := e.st.LeadFiles(ctx, ol.ID); len(fs) != 1 || fs[0].Name != "Реквизиты.docx" || fs[0].Size != 4+1024 {
			t.Errorf("outlook files = %+v", fs)
		}
		js, err := e.in.ListJournal(ctx, intake.JournalQuery{Source: intake.SourceMail, SourceID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		skipped := 0
		for _, j := range js {
			if j.Outcome == intake.OutcomeSkipped {
				skipped++
				if !strings.Contains(j.Error, "Auto-Submitted") {
					t.Errorf("skipped entry = %+v", j)
				}
			}
		}
		if skipped != 2 {
			t.Errorf("journal = %+v", js)
		}
		if n, f := count(t, imc, "Processed", mail.FlagDone); n != 5 || f != 5 {
			t.Errorf("Processed has %d (%d flagged), want 5", n, f)
		}

		// Delivered again (a new UID, the same Message-ID): no second lead.
		appendMsg(t, imc, "INBOX", string(readLetter(t, "thunderbird.eml")))
		// A second letter of the same sender: merged into the open lead
		// by the duplicate rule, its file added there.
		second := strings.Replace(string(readLetter(t, "thunderbird.eml")), "<7c1e0b2a-3f44-4c1b-9d0e-5a1f2b3c4d5e@example.ru>", "<second@example.ru>", 1)
		appendMsg(t, imc, "INBOX", second)
		st, err = svc.Run(ctx, c.ID)
		if err != nil || st.Finished != 1 || st.Taken != 1 || st.Created != 1 {
			t.Errorf("second run: %+v, %v", st, err)
		}
		if got := len(leadsByTitle(t, e.st)); got != 3 {
			t.Errorf("leads after redelivery and a second letter = %d, want 3", got)
		}
		if fs, _ := e.st.LeadFiles(ctx, tb.ID); len(fs) != 2 {
			t.Errorf("files of the merged lead = %+v", fs)
		}
		// A manager who may not see the lead cannot read its files.
		other, err := e.st.CreateUser(ctx, e.admin, crm.User{Login: "other", Role: crm.RoleManager}, "other-password-1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.st.GetLeadFile(store.WithScope(ctx, other.ID), tb.ID, fs[0].ID); err == nil {
			t.Error("another manager read the lead's file")
		}
	})
}
