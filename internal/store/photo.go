package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/obmen/obmen/internal/crm"
	"github.com/obmen/obmen/internal/events"
)

// Photo sources.
const (
	PhotoUpload = "upload"
	PhotoVK     = "vk"
	// PhotoCardDAV is a PHOTO a CardDAV client sent inline in a card.
	PhotoCardDAV = "carddav"
)

// photoOwner refuses a record kind that has no photo.
func photoOwner(ownerType string) error {
	if !slices.Contains(crm.PhotoOwnerTypes, ownerType) {
		return crm.Invalid("owner_type", "%q is not one of %s", ownerType, strings.Join(crm.PhotoOwnerTypes, ", "))
	}
	return nil
}

// photoRecord reads who is responsible for a record with a photo and
// whether it is in the recycle bin; ErrNotFound when it does not exist
// or the request may not see it.
func photoRecord(t txq, ownerType string, id int64) (assigned int64, deleted bool, err error) {
	assigned, deleted, err = recordState(t, ownerType, id)
	if err != nil {
		return 0, false, err
	}
	return assigned, deleted, allowed(t.ctx, ownerType, id, assigned)
}

// RecordPhoto returns the photo of a lead, contact or account the request
// may see, with its bytes when withData; ErrNotFound when it has none.
func (s *Store) RecordPhoto(ctx context.Context, ownerType string, ownerID int64, withData bool) (crm.Photo, []byte, error) {
	if err := photoOwner(ownerType); err != nil {
		return crm.Photo{}, nil, err
	}
	if _, _, err := photoRecord(s.rq(ctx), ownerType, ownerID); err != nil {
		return crm.Photo{}, nil, err
	}
	data := "''"
	if withData {
		data = "data"
	}
	p := crm.Photo{OwnerType: ownerType, OwnerID: ownerID}
	var b []byte
	err := s.db.Read.QueryRowContext(ctx, "SELECT file_name, content_type, size, sha256, source, updated_by_id, updated_at, "+data+
		" FROM record_photos WHERE owner_type = $1 AND owner_id = $2", ownerType, ownerID).
		Scan(&p.FileName, &p.ContentType, &p.Size, &p.SHA256, &p.Source, &p.UpdatedByID, &p.UpdatedAt, &b)
	if errors.Is(err, sql.ErrNoRows) {
		return p, nil, NotFound(ownerType+" photo", ownerID)
	}
	if err != nil {
		return p, nil, fmt.Errorf("store: photo of %s %d: %w", ownerType, ownerID, err)
	}
	if !withData {
		b = nil
	}
	return p, b, nil
}

// PhotoBytes is a record's photo with its bytes (nil when not asked).
type PhotoBytes struct {
	crm.Photo
	Data []byte
}

// PhotosOf are the photos of records of one kind by id, with their bytes
// when withData (a CardDAV listing reads only their hashes). The caller
// has read the records: no access rule is applied here.
func (s *Store) PhotosOf(ctx context.Context, ownerType string, ids []int64, withData bool) (map[int64]PhotoBytes, error) {
	if err := photoOwner(ownerType); err != nil {
		return nil, err
	}
	data := "''"
	if withData {
		data = "data"
	}
	out := make(map[int64]PhotoBytes, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), davChunk)
		args := append([]any{ownerType}, int64Args(ids[:n])...)
		ids = ids[n:]
		rows, err := s.db.Reader().QueryContext(ctx, "SELECT owner_id, file_name, content_type, size, sha256, source, updated_by_id, updated_at, "+data+
			" FROM record_photos WHERE owner_type = $1 AND owner_id IN ("+placeholders(2, n)+")", args...)
		if err != nil {
			return nil, fmt.Errorf("store: photos of %ss: %w", ownerType, err)
		}
		for rows.Next() {
			p := PhotoBytes{Photo: crm.Photo{OwnerType: ownerType}}
			if err := rows.Scan(&p.OwnerID, &p.FileName, &p.ContentType, &p.Size, &p.SHA256, &p.Source, &p.UpdatedByID, &p.UpdatedAt, &p.Data); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: photos of %ss: %w", ownerType, err)
			}
			if !withData {
				p.Data = nil
			}
			out[p.OwnerID] = p
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: photos of %ss: %w", ownerType, err)
		}
	}
	return out, nil
}

// PhotoURLs are the addresses of the photos of records of one kind that
// have one, by id: the REST photo route under baseURL, the picture's hash
// as its version (crm.PhotoURL). As PhotosOf, no access rule is applied:
// the caller has read the records. The photos a read under ctx's photo
// memo (WithPhotoMemo) already looked at are not read again.
func (s *Store) PhotoURLs(ctx context.Context, baseURL, ownerType string, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	memo := photoMemoOf(ctx)
	var unknown []int64
	for _, id := range ids {
		sum, ok := memo.get(ownerType, id)
		switch {
		case !ok:
			unknown = append(unknown, id)
		case sum != "":
			out[id] = crm.PhotoURL(baseURL, ownerType, id, sum)
		}
	}
	if len(unknown) == 0 {
		return out, nil
	}
	photos, err := s.PhotosOf(ctx, ownerType, unknown, false)
	if err != nil {
		return nil, err
	}
	for id, p := range photos {
		out[id] = crm.PhotoURL(baseURL, ownerType, id, p.SHA256)
	}
	return out, nil
}

type photoMemoKey struct{}

// photoMemo is what the folded reads of one request learnt of the photos
// of the records they read: the picture's hash, "" for none.
type photoMemo struct {
	mu sync.Mutex
	m  map[photoRef]string
}

type photoRef struct {
	owner string
	id    int64
}

// WithPhotoMemo lets the folded reads under ctx (PostgreSQL, fold.go) read
// the photos of the leads, contacts and companies they read in the same
// statement, for PhotoURLs: a contact found by phone costs one statement,
// not two (issue 21). For a request that reads and answers; a write under
// ctx forgets what was learnt.
func WithPhotoMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, photoMemoKey{}, &photoMemo{})
}

func photoMemoOf(ctx context.Context) *photoMemo {
	m, _ := ctx.Value(photoMemoKey{}).(*photoMemo)
	return m
}

func (m *photoMemo) get(owner string, id int64) (string, bool) {
	if m == nil {
		return "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	sum, ok := m.m[photoRef{owner, id}]
	return sum, ok
}

func (m *photoMemo) put(owner string, id int64, sum string) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[photoRef]string{}
	}
	m.m[photoRef{owner, id}] = sum
	m.mu.Unlock()
}

func (m *photoMemo) forget() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.m = nil
	m.mu.Unlock()
}

// SetRecordPhoto makes data the photo of a live lead, contact or account
// the actor may change: a JPEG, PNG, GIF or WebP picture (by its bytes)
// of at most crm.MaxImageBytes, else refused. With onlyIfEmpty (a
// profile import) a record that has a photo keeps it and false is
// returned. The same picture again writes nothing. A change writes the
// record's update event naming "photo" (old and new file name). The
// photo returned is the record's after the call: the one written, or the
// one it kept.
func (s *Store) SetRecordPhoto(ctx context.Context, actor crm.Actor, ownerType string, ownerID int64, name string, data []byte, source string, onlyIfEmpty bool) (crm.Photo, bool, error) {
	if err := photoOwner(ownerType); err != nil {
		return crm.Photo{}, false, err
	}
	var p crm.Photo
	changed := false
	err := s.Write(ctx, actor, func(t *Tx) error {
		var err error
		p, changed, err = t.setPhoto(ownerType, ownerID, name, data, source, onlyIfEmpty)
		return err
	})
	if err != nil {
		return crm.Photo{}, false, err
	}
	return p, changed, nil
}

// setPhoto is SetRecordPhoto inside a write (a CardDAV card's PHOTO is
// kept with the card's fields, in one transaction).
func (t *Tx) setPhoto(ownerType string, ownerID int64, name string, data []byte, source string, onlyIfEmpty bool) (crm.Photo, bool, error) {
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	old, err := t.mayChangePhoto(ownerType, ownerID)
	if err != nil {
		return crm.Photo{}, false, err
	}
	// After the access check: a request that may not change the
	// record learns nothing of it from what its upload is.
	ct, err := crm.SniffImage(data)
	if err != nil {
		return crm.Photo{}, false, err
	}
	if old.SHA256 == sum || (onlyIfEmpty && old.SHA256 != "") {
		return old, false, nil
	}
	p := crm.Photo{OwnerType: ownerType, OwnerID: ownerID, FileName: crm.ImageFileName(cmp.Or(name, "photo"), ct), ContentType: ct,
		Size: int64(len(data)), SHA256: sum, Source: source, UpdatedByID: t.actor.UserID, UpdatedAt: micro(t.now)}
	_, err = t.tx.ExecContext(t.ctx, `INSERT INTO record_photos (owner_type, owner_id, file_name, content_type, size, sha256, source, data, updated_by_id, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (owner_type, owner_id) DO UPDATE SET file_name = excluded.file_name, content_type = excluded.content_type, size = excluded.size,
			sha256 = excluded.sha256, source = excluded.source, data = excluded.data, updated_by_id = excluded.updated_by_id, updated_at = excluded.updated_at`,
		ownerType, ownerID, p.FileName, p.ContentType, p.Size, p.SHA256, p.Source, data, p.UpdatedByID, p.UpdatedAt)
	if err != nil {
		return crm.Photo{}, false, fmt.Errorf("store: photo of %s %d: %w", ownerType, ownerID, err)
	}
	t.Emit(ownerType, ownerID, events.Update, map[string]events.Change{"photo": photoChange(old.FileName, p.FileName)})
	return p, true, nil
}

// DeleteRecordPhoto removes the photo of a live record the actor may
// change; ErrNotFound when it has none.
func (s *Store) DeleteRecordPhoto(ctx context.Context, actor crm.Actor, ownerType string, ownerID int64) error {
	if err := photoOwner(ownerType); err != nil {
		return err
	}
	return s.Write(ctx, actor, func(t *Tx) error { return t.deletePhoto(ownerType, ownerID) })
}

// deletePhoto is DeleteRecordPhoto inside a write.
func (t *Tx) deletePhoto(ownerType string, ownerID int64) error {
	old, err := t.mayChangePhoto(ownerType, ownerID)
	if err != nil {
		return err
	}
	if old.SHA256 == "" {
		return NotFound(ownerType+" photo", ownerID)
	}
	if _, err := t.tx.ExecContext(t.ctx, "DELETE FROM record_photos WHERE owner_type = $1 AND owner_id = $2", ownerType, ownerID); err != nil {
		return fmt.Errorf("store: photo of %s %d: %w", ownerType, ownerID, err)
	}
	t.Emit(ownerType, ownerID, events.Update, map[string]events.Change{"photo": photoChange(old.FileName, "")})
	return nil
}

// mayChangePhoto locks the record, refuses a change its caller may not
// make or one of a record in the recycle bin, and returns the photo it
// has (without its bytes; SHA256 "" for none).
func (t *Tx) mayChangePhoto(ownerType string, ownerID int64) (crm.Photo, error) {
	p := crm.Photo{OwnerType: ownerType, OwnerID: ownerID}
	if err := t.lockRow(ownerType, ownerID); err != nil {
		return p, err
	}
	assigned, deleted, err := photoRecord(t.rq(), ownerType, ownerID)
	if err != nil {
		return p, err
	}
	if deleted {
		return p, NotFound(ownerType, ownerID)
	}
	if err := editable(t.ctx, ownerType, ownerID, assigned); err != nil {
		return p, err
	}
	err = t.tx.QueryRowContext(t.ctx, "SELECT file_name, content_type, size, sha256, source, updated_by_id, updated_at FROM record_photos WHERE owner_type = $1 AND owner_id = $2", ownerType, ownerID).
		Scan(&p.FileName, &p.ContentType, &p.Size, &p.SHA256, &p.Source, &p.UpdatedByID, &p.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return crm.Photo{OwnerType: ownerType, OwnerID: ownerID}, nil
	}
	if err != nil {
		return p, fmt.Errorf("store: photo of %s %d: %w", ownerType, ownerID, err)
	}
	return p, nil
}

// photoChange is the change event's entry for a photo: the file name of
// the picture before and after (null for none), as the history shows it.
func photoChange(old, cur string) events.Change {
	enc := func(v string) json.RawMessage {
		if v == "" {
			return json.RawMessage("null")
		}
		b, _ := json.Marshal(v)
		return b
	}
	return events.Change{Old: enc(old), New: enc(cur)}
}
