package mail

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/intake"
	"github.com/obmen/obmen/internal/intake/order"
	"github.com/obmen/obmen/internal/store"
)

// takeLetter makes a lead of an ordinary e-mail (ModeAny) through the
// intake's lead path — duplicate rules, distribution, the calendar task,
// the journal — with the message's key and its attachments (as the
// lead's files) written in the lead's transaction. An automatic reply
// or a bounce makes no lead: it is journaled as skipped with its key.
func (s *Service) takeLetter(ctx context.Context, src intake.Source, raw []byte, record func(t *store.Tx, outcome string, journalID int64) error) outcomeErr {
	l, err := ParseLetter(raw)
	if err != nil {
		return outcomeErr{"", s.in.Fail(ctx, src, &intake.Fault{Field: "message", Message: err.Error()})}
	}
	if l.AutoReply != "" {
		err := s.in.Store().Write(ctx, crm.Actor{}, func(t *store.Tx) error {
			id, err := intake.JournalTx(t, intake.Entry{Source: src.Kind, SourceID: src.ID, Ref: src.Ref, Outcome: intake.OutcomeSkipped,
				Error: "automatic reply or bounce (" + l.AutoReply + ")"})
			if err != nil {
				return err
			}
			return record(t, intake.OutcomeSkipped, id)
		})
		if err != nil {
			return outcomeErr{"", err}
		}
		return outcomeErr{intake.OutcomeSkipped, nil}
	}
	o, keep, notes := letterOrder(l)
	shape := func(lead *crm.Lead) {
		lead.SourceID = "EMAIL"
		lead.SourceDescription = crm.ClipRunes("E-mail: "+l.FromEmail, 255)
		lead.LastName, lead.Name, lead.SecondName = "", crm.ClipRunes(l.FromName, 100), ""
		if len(notes) > 0 {
			lead.Comments = strings.TrimSpace(lead.Comments + "\n\n" + strings.Join(notes, "\n"))
		}
	}
	_, err = s.in.CreateLeadWith(ctx, src, o, shape, func(t *store.Tx, r *intake.Result) error {
		for _, a := range keep {
			if _, err := t.AddLeadFile(r.RecordID, a.Name, a.Type, a.Data); err != nil {
				if errors.Is(err, store.ErrFileRefused) {
					// A lead merged into by the duplicate rule may be full.
					s.log.Info("mail: attachment not kept", "lead", r.RecordID, "err", err)
					continue
				}
				return err
			}
		}
		return record(t, intake.OutcomeCreated, r.JournalID)
	})
	if err != nil {
		return outcomeErr{"", err}
	}
	return outcomeErr{intake.OutcomeCreated, nil}
}

// letterOrder maps a letter onto the intake's order: subject → title
// (else "Письмо от …"), the text → description, the sender's address and
// a phone from the signature; the attachments kept within the lead's
// bounds, and a note for each left out.
func letterOrder(l Letter) (o order.Order, keep []Attachment, notes []string) {
	o.Subject = l.Subject
	if o.Subject == "" {
		who := l.FromName
		if who == "" {
			who = l.FromEmail
		}
		o.Subject = "Письмо от " + who
	}
	o.Description = l.Text
	if e, ok := crm.NormalizeEmail(l.FromEmail); ok {
		o.Email = e
	} else if l.FromEmail != "" {
		notes = append(notes, "Адрес отправителя не распознан: "+l.FromEmail)
	}
	o.Phone = l.Phone
	for _, a := range l.Attachments {
		switch {
		case a.TooBig || len(a.Data) > store.MaxLeadFile:
			notes = append(notes, fmt.Sprintf("Вложение «%s» не сохранено: больше %d МБ.", a.Name, store.MaxLeadFile>>20))
		case len(keep) >= store.MaxLeadFiles:
			notes = append(notes, fmt.Sprintf("Вложение «%s» не сохранено: у лида не больше %d файлов.", a.Name, store.MaxLeadFiles))
		default:
			keep = append(keep, a)
		}
	}
	return o, keep, notes
}
