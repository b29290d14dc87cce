package exchange

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// ErrUpload is wrapped by every refusal of an uploaded name or archive.
var ErrUpload = errors.New("upload refused")

// CleanName checks a file name 1C sends (filename=import_files/ab/c.jpg)
// or that an archive holds, and returns it as a relative slash path:
// absolute names, drive letters, backslashes, "..", empty parts and
// control characters are refused.
func CleanName(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: empty file name", ErrUpload)
	}
	if len(name) > 512 {
		return "", fmt.Errorf("%w: file name longer than 512 bytes", ErrUpload)
	}
	if strings.ContainsAny(name, "\\:\x00") || strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("%w: file name %q is absolute or not a plain relative path", ErrUpload, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%w: file name %q has control characters", ErrUpload, name)
		}
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" || part == "." || part == ".." {
			return "", fmt.Errorf("%w: file name %q has an empty, \".\" or \"..\" part", ErrUpload, name)
		}
	}
	if c := path.Clean(name); c != name {
		return "", fmt.Errorf("%w: file name %q is not clean", ErrUpload, name)
	}
	return name, nil
}

// within joins a clean name to dir.
func within(dir, name string) (string, error) {
	clean, err := CleanName(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.FromSlash(clean)), nil
}

// AppendChunk appends one uploaded chunk to dir/name. A chunk that does
// not arrive whole (the connection broke, it is larger than maxChunk, the
// file would pass maxFile) is cut off again: the file is as before.
func AppendChunk(dir, name string, body io.Reader, maxChunk, maxFile int64) (int64, error) {
	p, err := within(dir, name)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, fmt.Errorf("exchange: upload %s: %w", name, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("exchange: upload %s: %w", name, err)
	}
	defer f.Close()
	before, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, fmt.Errorf("exchange: upload %s: %w", name, err)
	}
	limit := maxChunk
	if room := maxFile - before; room < limit {
		limit = room
	}
	n, err := io.Copy(f, io.LimitReader(body, limit+1))
	if err == nil && n > limit {
		if limit < maxChunk {
			err = fmt.Errorf("%w: %s would be larger than %d bytes", ErrUpload, name, maxFile)
		} else {
			err = fmt.Errorf("%w: a chunk of %s is larger than file_limit (%d bytes)", ErrUpload, name, maxChunk)
		}
	} else if err != nil {
		err = fmt.Errorf("%w: %s arrived incomplete after %d bytes: %w", ErrUpload, name, n, err)
	}
	if err != nil {
		_ = f.Truncate(before)
		return 0, err
	}
	if err := f.Sync(); err != nil {
		_ = f.Truncate(before)
		return 0, fmt.Errorf("exchange: upload %s: %w", name, err)
	}
	return before + n, nil
}

// ZipLimits cap what an archive may unpack to.
type ZipLimits struct {
	MaxFiles    int
	MaxUnpacked int64 // total bytes
	MaxRatio    int64 // unpacked / packed, per file and overall
}

// IsZip reports whether a file starts like a zip archive.
func IsZip(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4)
	_, err = io.ReadFull(f, b)
	return err == nil && string(b) == "PK\x03\x04"
}

// zipComplete reports whether an archive can be opened: its last chunk,
// which holds the central directory, has arrived.
func zipComplete(p string) bool {
	zr, err := zip.OpenReader(p)
	if err != nil {
		return false
	}
	zr.Close()
	return true
}

// Unzip unpacks the archive at src into dir, refusing zip-slip names
// (absolute, "..", backslashes), symlinks, and archives that would unpack
// beyond the limits, before or while writing (the sizes in the directory
// may lie). On error, what was written is removed.
func Unzip(src, dir string, lim ZipLimits) (files []string, err error) {
	zr, err := zip.OpenReader(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not a readable zip archive: %w", ErrUpload, filepath.Base(src), err)
	}
	defer zr.Close()
	var written []string
	defer func() {
		if err != nil {
			for _, p := range written {
				_ = os.Remove(p)
			}
			files = nil
		}
	}()
	if lim.MaxFiles > 0 && len(zr.File) > lim.MaxFiles {
		return nil, fmt.Errorf("%w: archive holds %d files, more than %d", ErrUpload, len(zr.File), lim.MaxFiles)
	}
	var packed, total int64
	for _, zf := range zr.File {
		if zf.FileInfo().IsDir() {
			continue
		}
		if zf.Mode()&os.ModeSymlink != 0 || !zf.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: archive entry %q is not a regular file", ErrUpload, zf.Name)
		}
		p, err := within(dir, zf.Name)
		if err != nil {
			return nil, fmt.Errorf("archive entry: %w", err)
		}
		packed += int64(zf.CompressedSize64)
		if int64(zf.UncompressedSize64) < 0 || total+int64(zf.UncompressedSize64) > lim.MaxUnpacked {
			return nil, fmt.Errorf("%w: archive unpacks to more than %d bytes", ErrUpload, lim.MaxUnpacked)
		}
		n, err := unzipOne(zf, p, lim.MaxUnpacked-total, lim.MaxRatio)
		if n > 0 || err == nil {
			written = append(written, p)
		}
		if err != nil {
			return nil, err
		}
		total += n
		if lim.MaxRatio > 0 && total > 1<<20 && total > lim.MaxRatio*max(packed, 1) {
			return nil, fmt.Errorf("%w: archive unpacks %d times its size (zip bomb?), more than %d", ErrUpload, total/max(packed, 1), lim.MaxRatio)
		}
		files = append(files, filepath.ToSlash(zf.Name))
	}
	return files, nil
}

func unzipOne(zf *zip.File, p string, room, ratio int64) (int64, error) {
	rc, err := zf.Open()
	if err != nil {
		return 0, fmt.Errorf("%w: archive entry %q: %w", ErrUpload, zf.Name, err)
	}
	defer rc.Close()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, fmt.Errorf("exchange: unzip %s: %w", zf.Name, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("exchange: unzip %s: %w", zf.Name, err)
	}
	defer f.Close()
	// Trust no size in the archive: stop at the room left, and at the
	// ratio to the entry's packed size.
	limit := room
	if ratio > 0 {
		if r := ratio * max(int64(zf.CompressedSize64), 1024); r < limit {
			limit = r
		}
	}
	n, err := io.Copy(f, io.LimitReader(rc, limit+1))
	if err != nil {
		return n, fmt.Errorf("%w: archive entry %q is damaged: %w", ErrUpload, zf.Name, err)
	}
	if n > limit {
		if limit < room {
			return n, fmt.Errorf("%w: archive entry %q unpacks more than %d times its size (zip bomb?)", ErrUpload, zf.Name, ratio)
		}
		return n, fmt.Errorf("%w: archive unpacks to more than the limit", ErrUpload)
	}
	return n, nil
}
