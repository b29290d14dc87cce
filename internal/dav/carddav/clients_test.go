package carddav_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

func localCards(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	fs, err := filepath.Glob(filepath.Join(dir, "*.vcf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

func findCard(cards map[string]string, text string) string {
	for f, c := range cards {
		if strings.Contains(c, text) {
			return f
		}
	}
	return ""
}

// TestRealClients: Debian's vdirsyncer syncs alice's address book both
// ways — created, changed and deleted on each side — until nothing is
// left to sync, and khard lists and adds contacts in the synced folder;
// bob's contacts never reach alice's disk.
func TestRealClients(t *testing.T) {
	vdirsyncer := davtest.Tool(t, "vdirsyncer")
	khard := davtest.Tool(t, "khard")
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
		_, key, err := s.CreateAPIKey(ctx, admin, alice.ID, "vdirsyncer")
		if err != nil {
			t.Fatal(err)
		}
		mk := func(owner int64, name, last, phone string) crm.Contact {
			c, err := s.CreateContact(ctx, admin, crm.Contact{Name: name, LastName: last, Meta: crm.Meta{AssignedByID: owner},
				Comms: crm.Comms{Phones: []crm.Comm{{Value: phone, ValueType: "WORK"}}}})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		anna := mk(alice.ID, "Анна", "Смирнова", "+74951234567")
		doomed := mk(alice.ID, "Удалимов", "Дмитрий", "+74951234568")
		mk(bob.ID, "Борис", "Секретов", "+74951234569")

		h := dav.New(s, slog.New(slog.DiscardHandler))
		h.Add(carddav.NewService(s, nil))
		mux := http.NewServeMux()
		h.Register(mux)
		srv := httptest.NewServer(mux)
		defer srv.Close()

		dir := t.TempDir()
		local := filepath.Join(dir, "local")
		cfg := filepath.Join(dir, "vdirsyncer.conf")
		// The API key as an app password, as the profile page tells.
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`[general]
status_path = "%s/status/"

[pair obmen_contacts]
a = "obmen"
b = "local"
collections = ["contacts"]
conflict_resolution = "a wins"

[storage obmen]
type = "carddav"
url = "%s/"
username = "alice"
password = "%s"

[storage local]
type = "filesystem"
path = "%s/"
fileext = ".vcf"
`, dir, srv.URL, key, local)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "khard.conf"), []byte(`[addressbooks]
[[contacts]]
path = `+filepath.Join(local, "contacts")+`

[general]
default_action = list
editor = /bin/false
merge_editor = /bin/false

[vcard]
preferred_version = 3.0
`), 0o600); err != nil {
			t.Fatal(err)
		}
		vd := func() string { return davtest.Run(t, dir, "", vdirsyncer, "-c", cfg, "sync") }
		davtest.Run(t, dir, "y\ny\ny\n", vdirsyncer, "-c", cfg, "discover")
		vd()
		book := filepath.Join(local, "contacts")
		cards := localCards(t, book)
		if len(cards) != 2 || findCard(cards, "Смирнова") == "" || findCard(cards, "Удалимов") == "" {
			t.Fatalf("first sync: %v", cards)
		}
		if findCard(cards, "Секретов") != "" {
			t.Fatalf("bob's contact reached alice's disk")
		}

		// khard lists the synced cards and adds one.
		if out := davtest.Run(t, dir, "", khard, "-c", filepath.Join(dir, "khard.conf"), "list"); !strings.Contains(out, "Анна") || !strings.Contains(out, "Удалимов") {
			t.Errorf("khard list: %s", out)
		}
		davtest.Run(t, dir, "First name : Олег\nLast name : Кузнецов\nPhone :\n    cell : +7 916 123-45-67\nEmail :\n    work : oleg@example.org\n",
			khard, "-c", filepath.Join(dir, "khard.conf"), "new", "-a", "contacts")
		// A change made on disk.
		annaFile := findCard(localCards(t, book), "Смирнова")
		b, _ := os.ReadFile(annaFile)
		changed := regexp.MustCompile(`(?m)^END:VCARD`).ReplaceAllString(string(b), "TITLE:Главный бухгалтер\r\nEND:VCARD")
		if err := os.WriteFile(annaFile, []byte(changed), 0o600); err != nil {
			t.Fatal(err)
		}
		// And on the CRM side: one created, one deleted.
		mk(alice.ID, "Вера", "Новикова", "+74957654321")
		if err := s.Delete(ctx, admin, store.EntityContact, doomed.ID); err != nil {
			t.Fatal(err)
		}
		vd()
		cards = localCards(t, book)
		if findCard(cards, "Новикова") == "" || findCard(cards, "Удалимов") != "" || findCard(cards, "Кузнецов") == "" {
			t.Errorf("local cards after the second sync: %d %v", len(cards), keys(cards))
		}
		if c, _ := s.GetContact(ctx, anna.ID); c.Position != "Главный бухгалтер" {
			t.Errorf("the change on disk did not reach the CRM: %q", c.Position)
		}
		scope := store.WithScopeOf(ctx, &store.Scope{UserID: alice.ID, See: []int64{alice.ID}, Edit: []int64{alice.ID}})
		all, err := s.DAVContacts(scope, mustIDs(t, s, scope))
		if err != nil {
			t.Fatal(err)
		}
		var oleg crm.Contact
		for _, c := range all {
			if c.LastName == "Кузнецов" {
				oleg = c
			}
		}
		if oleg.ID == 0 || len(oleg.Phones) != 1 || oleg.Phones[0].ValueType != "MOBILE" || len(oleg.Emails) != 1 || oleg.AssignedByID != alice.ID {
			t.Fatalf("khard's contact in the CRM: %+v", oleg)
		}

		// Deleted on disk, changed in the CRM.
		if err := os.Remove(findCard(cards, "Новикова")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateContact(ctx, admin, oleg.ID, func(c *crm.Contact) error { c.Position = "Снабженец"; return nil }); err != nil {
			t.Fatal(err)
		}
		vd()
		cards = localCards(t, book)
		if f := findCard(cards, "Кузнецов"); f == "" || !strings.Contains(cards[f], "TITLE:Снабженец") {
			t.Errorf("the CRM's change did not reach the disk: %v", cards[f])
		}
		for _, c := range all {
			if c.LastName == "Новикова" {
				if got, _ := s.GetContact(ctx, c.ID); got.DeletedAt == nil {
					t.Errorf("the card deleted on disk is still live in the CRM")
				}
			}
		}
		// A photo set in the CRM reaches the disk inline; one put on
		// disk in its place reaches the CRM.
		if _, _, err := s.SetRecordPhoto(ctx, admin, store.EntityContact, anna.ID, "", picture(t, 30, false), store.PhotoUpload, false); err != nil {
			t.Fatal(err)
		}
		vd()
		annaFile = findCard(localCards(t, book), "Смирнова")
		b, _ = os.ReadFile(annaFile)
		photoLine := regexp.MustCompile(`(?m)^PHOTO[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*`)
		l := photoLine.FindString(string(b))
		if got, _ := cardPhoto(t, "\r\n"+strings.ReplaceAll(l, "\r\n", "\r\n")); !bytes.Equal(got, picture(t, 30, false)) {
			t.Fatalf("the CRM's photo on disk: %q", l)
		}
		jpg := picture(t, 120, true)
		withNew := photoLine.ReplaceAllString(string(b), "PHOTO;ENCODING=b;TYPE=JPEG:"+base64.StdEncoding.EncodeToString(jpg)+"\r\n")
		if err := os.WriteFile(annaFile, []byte(withNew), 0o600); err != nil {
			t.Fatal(err)
		}
		vd()
		if _, got, err := s.RecordPhoto(ctx, store.EntityContact, anna.ID, true); err != nil || !bytes.Equal(got, jpg) {
			t.Errorf("the photo put on disk did not reach the CRM: %v", err)
		}

		// Nothing is left to sync.
		if out := vd(); regexp.MustCompile(`(?i)copying|updating|deleting`).MatchString(out) {
			t.Errorf("a sync after the sync still had work:\n%s", out)
		}
	})
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, filepath.Base(k))
	}
	return out
}

func mustIDs(t *testing.T, s *store.Store, ctx context.Context) []int64 {
	t.Helper()
	ids, err := s.DAVContactIDs(ctx, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
