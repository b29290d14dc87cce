package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/obmen/obmen/internal/address"
	"github.com/obmen/obmen/internal/app"
	"github.com/obmen/obmen/internal/config"
)

// regionsFlag collects --region, given once per region or as a list.
type regionsFlag []int

func (r *regionsFlag) String() string { return fmt.Sprint([]int(*r)) }

func (r *regionsFlag) Set(s string) error {
	v, err := address.ParseRegions(s)
	if err != nil {
		return err
	}
	*r = append(*r, v...)
	return nil
}

var _ flag.Value = (*regionsFlag)(nil)

func addressCmd(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "import" {
		return usageError{"address: expected import"}
	}
	fs := newFlags("address import", &cfg, stderr)
	var regions regionsFlag
	fs.Var(&regions, "region", "import only this region code (repeat or list: --region 77 --region 50, --region 16,02)")
	batch := fs.Int("batch", 2000, "records per transaction")
	if err := parse(fs, args[1:], 1); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := app.NewLogger(cfg, stderr)
	d, err := app.OpenDB(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.Close()
	start := time.Now()
	im := &address.Importer{DB: d, Log: log, Regions: regions, Batch: *batch, Progress: progressPrinter(stderr)}
	st, err := im.Import(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(stdout, "address import: %d files (%d finished earlier), %d records read, %d kept, in %s (%.0f records/s)\n",
		st.Files, st.Skipped, st.Records, st.Kept, el.Round(time.Millisecond), float64(st.Records)/max(el.Seconds(), 0.001))
	return nil
}

// progressPrinter draws one updating line per file on a terminal; written
// to a file or a pipe it prints one line when a file is finished.
func progressPrinter(w io.Writer) func(address.Progress) {
	tty := false
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	var last time.Time
	return func(p address.Progress) {
		line := fmt.Sprintf("[%d/%d] %s: %d records", p.FileIndex, p.Files, p.File, p.Records)
		if p.Size > 0 {
			line += fmt.Sprintf(" (%d%%)", min(100, p.Bytes*100/p.Size))
		}
		switch {
		case p.AlreadyRan:
			line += " — finished by an earlier run, skipped"
		case p.Resumed > 0:
			line += fmt.Sprintf(" — resumed after %d", p.Resumed)
		}
		if !tty {
			if p.Done {
				fmt.Fprintln(w, line)
			}
			return
		}
		if !p.Done && time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "\r\033[K%s", line)
		if p.Done {
			fmt.Fprintln(w)
		}
	}
}
